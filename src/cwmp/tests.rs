//! Tests of SOAP envelope decoding.

use super::*;
use proptest::prelude::*;

const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// [`super::decode_noting`], checked against quick-xml reading the same body: every test of
/// this module runs both readers and asserts the same envelopes, error and limits.
fn decode_noting(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
) -> Result<Vec<Envelope>, MalformedXml> {
    let mut reference_hit = LimitSet::default();
    let reference = decode_by_quick_xml(body, content_type, limits, &mut reference_hit);
    let result = super::decode_noting(body, content_type, limits, hit);
    assert_eq!(result, reference, "the readers differ on {body:?}");
    assert_eq!(
        hit.names(),
        reference_hit.names(),
        "limits differ on {body:?}"
    );
    result
}

/// [`super::decode`] through the checked [`decode_noting`].
fn decode(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
) -> Result<Vec<Envelope>, MalformedXml> {
    decode_noting(body, content_type, limits, &mut LimitSet::default())
}

/// Whether the faster reader reads `body` by itself (UTF-8, default limits).
fn lean_reads(body: &str) -> bool {
    lean::decode_text(body, &DecodeLimits::default(), &mut LimitSet::default()).is_some()
}

fn decode_ok(body: &str) -> Vec<Envelope> {
    decode(body.as_bytes(), None, &DecodeLimits::default())
        .unwrap_or_else(|err| panic!("{err}\n{body}"))
}

fn decode_err(body: &[u8]) -> MalformedXml {
    match decode(body, None, &DecodeLimits::default()) {
        Ok(envelopes) => panic!("decoded {envelopes:?}"),
        Err(err) => err,
    }
}

/// An envelope with `env` as SOAP prefix, `cwmp` as cwmp prefix (empty: default namespace).
fn envelope(env: &str, cwmp: &str, version: &str, rpc_body: &str) -> String {
    let (decl, q) = if cwmp.is_empty() {
        (
            format!("xmlns=\"urn:dslforum-org:cwmp-{version}\""),
            String::new(),
        )
    } else {
        (
            format!("xmlns:{cwmp}=\"urn:dslforum-org:cwmp-{version}\""),
            format!("{cwmp}:"),
        )
    };
    format!(
        "<{env}:Envelope xmlns:{env}=\"{SOAP}\" {decl}><{env}:Header><{q}ID {env}:mustUnderstand=\"1\">42</{q}ID></{env}:Header>\
         <{env}:Body>{}</{env}:Body></{env}:Envelope>",
        rpc_body.replace("Q:", &q)
    )
}

fn other(name: &str, args: &[(&str, &str)]) -> Rpc {
    Rpc::Other {
        name: name.to_owned(),
        args: args
            .iter()
            .map(|(path, value)| ((*path).to_owned(), (*value).to_owned()))
            .collect(),
    }
}

#[test]
fn every_namespace_version_with_any_prefix() {
    for (minor, version) in ["1-0", "1-1", "1-2", "1-3", "1-4"].iter().enumerate() {
        for (env, cwmp) in [
            ("s", "cwmp"),
            ("soapenv", "c"),
            ("SOAP-ENV", ""),
            ("soap-env", "x"),
        ] {
            let body = envelope(
                env,
                cwmp,
                version,
                "<Q:InformResponse><MaxEnvelopes>2</MaxEnvelopes></Q:InformResponse>",
            );
            let envelopes = decode_ok(&body);
            assert_eq!(envelopes.len(), 1);
            let only = &envelopes[0];
            assert_eq!(only.ns, Some(CwmpNs::V1(minor as u8)), "{body}");
            assert_eq!(only.header.id.as_deref(), Some("42"), "{body}");
            assert_eq!(
                only.rpc,
                Rpc::InformResponse {
                    max_envelopes: Some(2)
                },
                "{body}"
            );
        }
    }
}

#[test]
fn other_cwmp_namespaces_are_unknown_and_foreign_ones_are_none() {
    let body = envelope(
        "s",
        "cwmp",
        "2-0",
        "<Q:Reboot><CommandKey>k</CommandKey></Q:Reboot>",
    );
    let only = decode_ok(&body).remove(0);
    assert_eq!(
        only.ns,
        Some(CwmpNs::Unknown("urn:dslforum-org:cwmp-2-0".to_owned()))
    );
    assert_eq!(only.rpc, other("Reboot", &[("CommandKey", "k")]));
    assert_eq!(CwmpNs::V1(3).to_string(), "urn:dslforum-org:cwmp-1-3");
    assert_eq!(CwmpNs::from_uri("urn:example:cwmp-1-0"), None);

    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP}\" xmlns:v=\"urn:vendor\"><s:Body><v:Hello><A>1</A></v:Hello></s:Body></s:Envelope>"
    );
    let only = decode_ok(&body).remove(0);
    assert_eq!(only.ns, None);
    assert_eq!(only.rpc, other("Hello", &[("A", "1")]));
}

#[test]
fn namespace_declared_but_unused_is_reported() {
    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP}\" xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\"><s:Body/></s:Envelope>"
    );
    let only = decode_ok(&body).remove(0);
    assert_eq!(only.ns, Some(CwmpNs::V1(2)));
    assert_eq!(only.rpc, Rpc::Empty);
}

#[test]
fn two_envelopes_in_one_body() {
    let first = envelope(
        "soap",
        "cwmp",
        "1-0",
        "<Q:InformResponse><MaxEnvelopes>1</MaxEnvelopes></Q:InformResponse>",
    );
    let second = envelope(
        "soap",
        "cwmp",
        "1-0",
        "<Q:Download><CommandKey>ck</CommandKey><FileType>1 Firmware Upgrade Image</FileType>\
         <URL>http://fs/fw.bin</URL><FileSize>10</FileSize><DelaySeconds>5</DelaySeconds></Q:Download>",
    );
    let body = format!("<?xml version=\"1.0\"?>\n{first}\r\n  {second}\n");
    let envelopes = decode_ok(&body);
    assert_eq!(envelopes.len(), 2);
    assert_eq!(envelopes[0].rpc.name(), "InformResponse");
    let Rpc::Download(download) = &envelopes[1].rpc else {
        panic!("{:?}", envelopes[1].rpc);
    };
    assert_eq!(download.command_key, "ck");
    assert_eq!(download.file_type, "1 Firmware Upgrade Image");
    assert_eq!(download.url, "http://fs/fw.bin");
    assert_eq!(download.file_size, Some(10));
    assert_eq!(download.delay_seconds, Some(5));

    // Whole documents concatenated, each with its declaration, are tolerated too.
    let body = format!("<?xml version=\"1.0\"?>{first}<?xml version=\"1.0\"?>{second}");
    let names: Vec<_> = decode_ok(&body)
        .iter()
        .map(|e| e.rpc.name().to_owned())
        .collect();
    assert_eq!(names, ["InformResponse", "Download"]);
}

#[test]
fn entities_char_refs_and_cdata_are_resolved() {
    let body = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:Download><URL> http://fs/get?a=1&amp;b=&#x41;&#66;&lt;&gt;&quot;&apos; </URL>\
         <Username><![CDATA[a<b&c]]></Username><Password>p&amp;<![CDATA[&amp;]]>\r\nq</Password></Q:Download>",
    );
    let Rpc::Download(download) = decode_ok(&body).remove(0).rpc else {
        panic!("not a Download");
    };
    assert_eq!(download.url, "http://fs/get?a=1&b=AB<>\"'");
    assert_eq!(download.username, "a<b&c");
    assert_eq!(download.password, "p&&amp;\nq");
}

#[test]
fn dtd_entities_are_never_expanded() {
    let body = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\
         <s:Envelope xmlns:s=\"{SOAP}\"><s:Body><X><A>&lol2;</A></X></s:Body></s:Envelope>"
    );
    assert_eq!(
        decode_ok(&body).remove(0).rpc,
        other("X", &[("A", "&lol2;")])
    );
}

#[test]
fn header_fields() {
    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP}\" xmlns:c=\"urn:dslforum-org:cwmp-1-4\"><s:Header>\
         <c:ID s:mustUnderstand=\"1\"> id-1 </c:ID><c:HoldRequests>1</c:HoldRequests>\
         <c:NoMoreRequests> false </c:NoMoreRequests><c:SessionTimeout>60</c:SessionTimeout>\
         <c:SupportedCWMPVersions>1.0,1.4</c:SupportedCWMPVersions><c:UseCWMPVersion>1.4</c:UseCWMPVersion>\
         <w:ID xmlns:w=\"urn:other\">foreign</w:ID></s:Header><s:Body><c:GetRPCMethods/></s:Body></s:Envelope>"
    );
    let only = decode_ok(&body).remove(0);
    assert_eq!(
        only.header,
        Header {
            id: Some("id-1".to_owned()),
            hold_requests: Some(true),
            no_more_requests: Some(false),
            session_timeout: Some(60),
            supported_cwmp_versions: Some("1.0,1.4".to_owned()),
            use_cwmp_version: Some("1.4".to_owned()),
        }
    );
    assert_eq!(only.ns, Some(CwmpNs::V1(4)));
    assert_eq!(only.rpc, other("GetRPCMethods", &[]));

    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP}\"><s:Header><HoldRequests>TRUE</HoldRequests>\
         <NoMoreRequests>yes</NoMoreRequests><SessionTimeout>-1</SessionTimeout></s:Header><s:Body/></s:Envelope>"
    );
    let header = decode_ok(&body).remove(0).header;
    assert_eq!(header.hold_requests, Some(true));
    assert_eq!(header.no_more_requests, None);
    assert_eq!(header.session_timeout, None);
}

#[test]
fn inform_with_events_parameters_and_types() {
    let body = envelope(
        "soapenv",
        "cwmp",
        "1-0",
        "<Q:Inform><DeviceId><Manufacturer>Acme</Manufacturer><OUI>00AABB</OUI>\
         <ProductClass>Box</ProductClass><SerialNumber>S1</SerialNumber></DeviceId>\
         <Event><EventStruct><EventCode>7 TRANSFER COMPLETE</EventCode><CommandKey/></EventStruct>\
         <EventStruct><EventCode>M Download</EventCode><CommandKey>ck1</CommandKey></EventStruct></Event>\
         <MaxEnvelopes>2</MaxEnvelopes><CurrentTime>2026-01-01T00:00:00Z</CurrentTime><RetryCount>3</RetryCount>\
         <ParameterList><ParameterValueStruct><Name>A.B</Name><Value xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"xsd:unsignedInt\">5</Value></ParameterValueStruct>\
         <ParameterValueStruct><Name>A.C</Name><Value>plain</Value></ParameterValueStruct>\
         <ParameterValueStruct><Name>A.D</Name><Value xsi:type=\"xsd:string\"/></ParameterValueStruct></ParameterList></Q:Inform>",
    );
    let Rpc::Inform(inform) = decode_ok(&body).remove(0).rpc else {
        panic!("not an Inform");
    };
    assert_eq!(inform.device_id.oui, "00AABB");
    assert_eq!(inform.device_id.serial_number, "S1");
    let events: Vec<_> = inform
        .events
        .iter()
        .map(|e| (e.code.as_str(), e.command_key.as_str()))
        .collect();
    assert_eq!(events, [("7 TRANSFER COMPLETE", ""), ("M Download", "ck1")]);
    assert_eq!(inform.max_envelopes, Some(2));
    assert_eq!(inform.current_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(inform.retry_count, Some(3));
    assert_eq!(
        inform.parameters,
        vec![
            ParameterValue {
                name: "A.B".into(),
                value: "5".into(),
                xsi_type: Some("xsd:unsignedInt".into())
            },
            ParameterValue {
                name: "A.C".into(),
                value: "plain".into(),
                xsi_type: None
            },
            // An undeclared `xsi` prefix is still taken as xsi.
            ParameterValue {
                name: "A.D".into(),
                value: String::new(),
                xsi_type: Some("xsd:string".into())
            },
        ]
    );
}

#[test]
fn unknown_and_vendor_rpcs_keep_their_arguments_in_order() {
    let body = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:SetParameterValues><ParameterList><ParameterValueStruct><Name>X.Y</Name><Value>1</Value></ParameterValueStruct>\
         <ParameterValueStruct><Name>X.Z</Name><Value>&amp;</Value></ParameterValueStruct></ParameterList>\
         <ParameterKey></ParameterKey></Q:SetParameterValues><Q:Ignored><A>no</A></Q:Ignored>",
    );
    assert_eq!(
        decode_ok(&body).remove(0).rpc,
        other(
            "SetParameterValues",
            &[
                ("ParameterList.ParameterValueStruct.Name", "X.Y"),
                ("ParameterList.ParameterValueStruct.Value", "1"),
                ("ParameterList.ParameterValueStruct.Name", "X.Z"),
                ("ParameterList.ParameterValueStruct.Value", "&"),
                ("ParameterKey", ""),
            ]
        )
    );
    let body = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:X_ACME_Frobnicate><Level>3</Level></Q:X_ACME_Frobnicate>",
    );
    let rpc = decode_ok(&body).remove(0).rpc;
    assert_eq!(rpc.name(), "X_ACME_Frobnicate");
    assert_eq!(rpc.arg("Level"), Some("3"));
    assert_eq!(rpc.arg("Missing"), None);
    assert_eq!(
        Rpc::InformResponse {
            max_envelopes: None
        }
        .arg("MaxEnvelopes"),
        None
    );
    assert_eq!(rpc, other("X_ACME_Frobnicate", &[("Level", "3")]));
}

#[test]
fn transfer_complete_in_any_element_order() {
    let body = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:TransferComplete><CompleteTime>t2</CompleteTime><FaultStruct><FaultString>Download failure</FaultString>\
         <FaultCode>9010</FaultCode></FaultStruct><StartTime>t1</StartTime><CommandKey>k</CommandKey></Q:TransferComplete>",
    );
    assert_eq!(
        decode_ok(&body).remove(0).rpc,
        Rpc::TransferComplete(TransferComplete {
            command_key: "k".into(),
            fault: FaultStruct {
                code: Some(9010),
                string: "Download failure".into()
            },
            start_time: "t1".into(),
            complete_time: "t2".into(),
        })
    );
}

#[test]
fn soap_fault_with_parameter_faults() {
    let body = envelope(
        "SOAP-ENV",
        "cwmp",
        "1-0",
        "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail>\
         <Q:Fault><FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString>\
         <SetParameterValuesFault><ParameterName>A.B</ParameterName><FaultCode>9007</FaultCode><FaultString>Invalid value</FaultString></SetParameterValuesFault>\
         <SetParameterValuesFault><ParameterName>A.C</ParameterName><FaultCode>9008</FaultCode><FaultString>Not writable</FaultString></SetParameterValuesFault>\
         </Q:Fault></detail></SOAP-ENV:Fault>",
    );
    let only = decode_ok(&body).remove(0);
    assert_eq!(only.rpc.name(), "Fault");
    assert_eq!(
        only.rpc,
        Rpc::Fault(Fault {
            soap_faultcode: "Client".into(),
            soap_faultstring: "CWMP fault".into(),
            cwmp: FaultStruct {
                code: Some(9003),
                string: "Invalid arguments".into()
            },
            parameter_faults: vec![
                ParameterFault {
                    parameter_name: "A.B".into(),
                    fault: FaultStruct {
                        code: Some(9007),
                        string: "Invalid value".into()
                    },
                },
                ParameterFault {
                    parameter_name: "A.C".into(),
                    fault: FaultStruct {
                        code: Some(9008),
                        string: "Not writable".into()
                    },
                },
            ],
        })
    );
}

#[test]
fn latin1_body_from_declaration_or_content_type() {
    let mut body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
    let rest = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:Inform><DeviceId><Manufacturer>Soci\u{e9}t\u{e9}</Manufacturer></DeviceId></Q:Inform>",
    );
    body.extend(
        rest.chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin-1")),
    );
    assert!(body.contains(&0xE9));
    let manufacturer = |envelopes: Vec<Envelope>| match &envelopes[0].rpc {
        Rpc::Inform(inform) => inform.device_id.manufacturer.clone(),
        rpc => panic!("{rpc:?}"),
    };
    let limits = DecodeLimits::default();
    let decoded = decode(&body, Some("text/xml; charset=utf-8"), &limits).expect("latin-1 body");
    assert_eq!(manufacturer(decoded), "Société");
    let without_decl = body
        .get(body.iter().position(|&b| b == b'>').unwrap() + 1..)
        .unwrap();
    let decoded =
        decode(without_decl, Some("text/xml; charset=ISO-8859-1"), &limits).expect("charset");
    assert_eq!(manufacturer(decoded), "Société");
    // No charset anywhere: invalid UTF-8 is decoded lossily, not rejected.
    let decoded = decode(without_decl, Some("text/xml"), &limits).expect("lossy");
    assert_eq!(manufacturer(decoded), "Soci\u{FFFD}t\u{FFFD}");
}

#[test]
fn utf16_bodies() {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>{}",
        envelope(
            "s",
            "cwmp",
            "1-1",
            "<Q:InformResponse><MaxEnvelopes>1</MaxEnvelopes></Q:InformResponse>"
        )
    );
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for body in [le, be, no_bom] {
        assert!(looks_like_soap(&body));
        let envelopes = decode(&body, None, &DecodeLimits::default()).expect("utf-16");
        assert_eq!(envelopes[0].ns, Some(CwmpNs::V1(1)));
        assert_eq!(
            envelopes[0].rpc,
            Rpc::InformResponse {
                max_envelopes: Some(1)
            }
        );
    }
    // An error offset counts bytes of the UTF-16 body, not of the decoded text.
    let good = format!("<s:Envelope xmlns:s=\"{SOAP}\"><s:Body><\u{e9}>");
    let bad = format!("{good}</b></s:Body></s:Envelope>");
    let body: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(bad.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let err = decode_err(&body);
    assert_eq!(err.offset, 2 + 2 * good.chars().count() as u64, "{err}");
}

#[test]
fn empty_bodies_have_no_envelopes() {
    for body in [&b""[..], b"  \r\n\t", b"\xEF\xBB\xBF \n"] {
        assert_eq!(decode(body, None, &DecodeLimits::default()), Ok(vec![]));
    }
    let body =
        format!("<s:Envelope xmlns:s=\"{SOAP}\"><s:Header/><s:Body>  </s:Body></s:Envelope>");
    let only = decode_ok(&body).remove(0);
    assert_eq!((only.ns, only.rpc), (None, Rpc::Empty));
}

#[test]
fn malformed_bodies_report_where() {
    let ok_start = format!("<s:Envelope xmlns:s=\"{SOAP}\"><s:Body><a>");
    let mismatched = format!("{ok_start}</b></s:Body></s:Envelope>");
    let err = decode_err(mismatched.as_bytes());
    assert_eq!(err.offset, ok_start.len() as u64, "{err}");

    let truncated = format!("{ok_start}</a></s:Body>");
    let err = decode_err(truncated.as_bytes());
    assert_eq!(err.offset, truncated.len() as u64, "{err}");
    assert!(err.reason.contains("Envelope"), "{err}");

    let err = decode_err(b"HTTP/1.1 garbage");
    assert_eq!(err.offset, 0, "{err}");

    let err = decode_err(b"<?xml version=\"1.0\"?><!-- nothing -->");
    assert!(err.reason.contains("no SOAP Envelope"), "{err}");

    let err = decode_err(b"  <html><body>hi</body></html>");
    assert_eq!(err.offset, 2, "{err}");
    assert!(err.reason.contains("<html>"), "{err}");

    let soap12 =
        b"<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body/></e:Envelope>";
    assert!(decode_err(soap12).reason.contains("SOAP 1.1"));

    let envelope = format!("<s:Envelope xmlns:s=\"{SOAP}\"><s:Body/></s:Envelope>");
    let trailing = format!("{envelope}junk");
    let err = decode_err(trailing.as_bytes());
    assert_eq!(err.offset, envelope.len() as u64, "{err}");

    let dangling = format!("{ok_start}AT&T</a></s:Body></s:Envelope>");
    let err = decode_err(dangling.as_bytes());
    assert_eq!(err.offset, ok_start.len() as u64 + 2, "{err}");

    let unclosed_tag = format!("{ok_start}<b attr=\"x");
    assert!(decode_err(unclosed_tag.as_bytes()).offset >= ok_start.len() as u64);
}

#[test]
fn depth_and_envelope_limits_are_errors() {
    // Envelope, Body, X, A, B, C: six levels.
    let limits = DecodeLimits {
        max_depth: 5,
        ..DecodeLimits::default()
    };
    let body = envelope("s", "c", "1-0", "<Q:X><A><B><C>deep</C></B></A></Q:X>");
    let err = decode(body.as_bytes(), None, &limits).expect_err("too deep");
    assert_eq!(err.offset, body.find("<C>").unwrap() as u64, "{err}");
    let limits = DecodeLimits {
        max_depth: 6,
        ..DecodeLimits::default()
    };
    assert!(decode(body.as_bytes(), None, &limits).is_ok());

    let one = format!("<s:Envelope xmlns:s=\"{SOAP}\"><s:Body/></s:Envelope>");
    let limits = DecodeLimits {
        max_envelopes: 2,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode(one.repeat(2).as_bytes(), None, &limits).map(|e| e.len()),
        Ok(2)
    );
    let err = decode(one.repeat(3).as_bytes(), None, &limits).expect_err("too many");
    assert_eq!(err.offset, 2 * one.len() as u64, "{err}");
}

#[test]
fn argument_count_and_value_length_limits_cut() {
    let limits = DecodeLimits {
        max_args: 2,
        max_value_len: 5,
        ..DecodeLimits::default()
    };
    let body = envelope(
        "s",
        "c",
        "1-0",
        "<Q:Inform><Event><EventStruct><EventCode>1 BOOT</EventCode></EventStruct>\
         <EventStruct><EventCode>2</EventCode></EventStruct><EventStruct><EventCode>3 LOST</EventCode></EventStruct></Event>\
         <ParameterList><ParameterValueStruct><Name>A</Name><Value>ééé</Value></ParameterValueStruct>\
         <ParameterValueStruct><Name>B</Name><Value>b</Value></ParameterValueStruct>\
         <ParameterValueStruct><Name>C</Name><Value>c</Value></ParameterValueStruct></ParameterList></Q:Inform>",
    );
    let Rpc::Inform(inform) = decode(body.as_bytes(), None, &limits)
        .expect("decodes")
        .remove(0)
        .rpc
    else {
        panic!("not an Inform");
    };
    let codes: Vec<_> = inform.events.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["1 BOO…", "2"]);
    let params: Vec<_> = inform
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(params, [("A", "éé…"), ("B", "b")]);

    let body = envelope(
        "s",
        "c",
        "1-0",
        "<Q:GetParameterValues><ParameterNames><string>a</string><string>b</string><string>c</string></ParameterNames></Q:GetParameterValues>",
    );
    let rpc = decode(body.as_bytes(), None, &limits)
        .expect("decodes")
        .remove(0)
        .rpc;
    assert_eq!(
        rpc,
        other(
            "GetParameterValues",
            &[
                ("ParameterNames.string", "a"),
                ("ParameterNames.string", "b")
            ]
        )
    );
}

/// The limits `decode_noting` reports for `body` under `limits`, and whether it decoded.
fn noted(body: &str, limits: &DecodeLimits) -> (Vec<&'static str>, bool) {
    let mut hit = LimitSet::default();
    let ok = decode_noting(body.as_bytes(), None, limits, &mut hit).is_ok();
    (hit.names(), ok)
}

#[test]
fn the_limits_reached_are_noted() {
    let inner = "<Q:X><A><B>value</B><B>two</B></A></Q:X>";
    let body = envelope("s", "c", "1-0", inner);
    // Within every default limit: nothing noted.
    assert_eq!(noted(&body, &DecodeLimits::default()), (vec![], true));
    let with = |f: fn(&mut DecodeLimits)| {
        let mut limits = DecodeLimits::default();
        f(&mut limits);
        noted(&body, &limits)
    };
    assert_eq!(with(|l| l.max_depth = 4), (vec!["xml-depth"], false));
    // Envelope, Header, ID, Body, X, A, B, B: eight elements.
    assert_eq!(with(|l| l.max_elements = 7), (vec!["xml-elements"], false));
    assert_eq!(with(|l| l.max_elements = 8), (vec![], true));
    assert_eq!(with(|l| l.max_args = 1), (vec!["rpc-args"], true));
    assert_eq!(
        with(|l| l.max_value_len = 3),
        (vec!["xml-value-bytes"], true)
    );
    let two = format!("{body}{body}");
    let mut limits = DecodeLimits {
        max_envelopes: 1,
        ..DecodeLimits::default()
    };
    assert_eq!(noted(&two, &limits), (vec!["xml-envelopes"], false));
    limits.max_envelopes = 2;
    assert_eq!(noted(&two, &limits), (vec![], true));
}

#[test]
fn long_argument_paths_are_cut_when_stored() {
    let name = "N".repeat(100);
    let body = envelope(
        "s",
        "c",
        "1-0",
        &format!("<Q:X><{name}><{name}><{name}>v</{name}></{name}></{name}></Q:X>"),
    );
    let rpc = decode_ok(&body).remove(0).rpc;
    let Rpc::Other { args, .. } = rpc else {
        panic!("{rpc:?}");
    };
    assert_eq!(args.len(), 1);
    // 256 bytes: two names with their dots (202) and 54 bytes of the third.
    assert_eq!(args[0].0, format!("{name}.{name}.{}…", "N".repeat(54)));
    assert_eq!(args[0].1, "v");
}

#[test]
fn looks_like_soap_is_cheap_and_sensible() {
    assert!(looks_like_soap(
        b"\xEF\xBB\xBF\r\n<?xml version=\"1.0\"?><soap:Envelope>"
    ));
    assert!(looks_like_soap(b"<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"x\">"));
    assert!(!looks_like_soap(b""));
    assert!(!looks_like_soap(b"{\"Envelope\": 1}"));
    assert!(!looks_like_soap(b"<html><body>hello</body></html>"));
    let late = format!("<x>{}</x><Envelope>", " ".repeat(2000));
    assert!(!looks_like_soap(late.as_bytes()));
}

fn sample_body() -> String {
    let first = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:InformResponse><MaxEnvelopes>1</MaxEnvelopes></Q:InformResponse>",
    );
    let second = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:Inform><Event><EventStruct><EventCode>1 BOOT</EventCode><CommandKey/></EventStruct></Event>\
         <ParameterList><ParameterValueStruct><Name>A&amp;B</Name><Value xsi:type=\"xsd:string\">&#xE9;<![CDATA[x]]></Value>\
         </ParameterValueStruct></ParameterList></Q:Inform>",
    );
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{first}\n{second}")
}

/// A body the faster reader reads by itself: declarations, two envelopes, CRLF line breaks,
/// entities and character references, `xsi:type`, a default namespace, empty elements and
/// single-quoted attributes.
fn plain_body() -> String {
    let first = envelope(
        "soapenv",
        "",
        "1-2",
        "<Q:InformResponse><MaxEnvelopes>1</MaxEnvelopes></Q:InformResponse>",
    );
    let second = envelope(
        "s",
        "cwmp",
        "1-0",
        "<Q:Inform>\r\n  <Event><EventStruct><EventCode>1 BOOT</EventCode><CommandKey/></EventStruct></Event>\r\n\
         <ParameterList xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'><ParameterValueStruct>\
         <Name>A&amp;B&lt;&gt;&apos;&quot;</Name><Value xsi:type = ' xsd:string '>&#xE9;&#233;line\r\nnext\rlast</Value>\
         </ParameterValueStruct></ParameterList></Q:Inform>",
    );
    // One declaration per envelope, as some ACSs write them.
    let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    format!("{declaration}\r\n{first}\r\n{declaration}\r\n{second}\r\n")
}

#[test]
fn the_faster_reader_reads_plain_envelopes_by_itself() {
    let body = plain_body();
    assert!(lean_reads(&body));
    let envelopes = decode_ok(&body);
    assert_eq!(envelopes.len(), 2);
    assert_eq!(envelopes[0].ns, Some(CwmpNs::V1(2)));
    let Rpc::Inform(inform) = &envelopes[1].rpc else {
        panic!("{envelopes:?}");
    };
    let parameter = &inform.parameters[0];
    assert_eq!(parameter.name, "A&B<>'\"");
    assert_eq!(parameter.value, "ééline\nnext\nlast");
    assert_eq!(parameter.xsi_type.as_deref(), Some("xsd:string"));
    assert_eq!(inform.events[0].command_key, "");
    // CDATA is left to quick-xml.
    assert!(!lean_reads(&sample_body()));
}

/// Pieces of XML, well-formed or not, that random bodies are made of.
const FRAGMENTS: &[&str] = &[
    "<A>",
    "</A>",
    "<B x=\"1\">",
    "</B>",
    "<c:C/>",
    "<cwmp:D>",
    "</cwmp:D>",
    "<Value xsi:type=\"xsd:int\">",
    "</Value>",
    "<p:E xmlns:p=\"urn:dslforum-org:cwmp-1-3\">",
    "</p:E>",
    "<F xmlns=\"urn:x\">",
    "</F>",
    "text",
    " ",
    "\r\n",
    "\r",
    "&amp;",
    "&#65;",
    "&#x0;",
    "&bogus;",
    "<!-- c -->",
    "<![CDATA[d]]>",
    "&",
    "<",
    ">",
    "\"",
    "<?pi?>",
    "é",
    "</s:Body>",
    "<s:Body>",
    "</s:Envelope>",
];

proptest! {
    #[test]
    fn both_readers_agree_on_random_bodies(
        parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..40),
        small in any::<u8>(),
    ) {
        let inner: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
        let body = envelope("s", "cwmp", "1-0", &format!("<Q:X>{inner}</Q:X>"));
        // `decode` asserts that both readers give the same answer.
        let _ = decode(body.as_bytes(), None, &DecodeLimits::default());
        let limits = DecodeLimits {
            max_depth: 1 + usize::from(small % 8),
            max_elements: 4 + usize::from(small % 32),
            max_envelopes: 1,
            max_args: usize::from(small >> 6),
            max_value_len: 4,
        };
        let _ = decode(body.as_bytes(), None, &limits);
    }

    #[test]
    fn both_readers_agree_on_cut_or_mutated_plain_bodies(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
        let full = plain_body().into_bytes();
        let cut = cut.min(full.len());
        let _ = decode(full.get(..cut).unwrap_or_default(), None, &DecodeLimits::default());
        let mut mutated = full;
        if let Some(slot) = mutated.get_mut(flip) {
            *slot = byte;
        }
        let _ = decode(&mutated, None, &DecodeLimits::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), charset in "[a-z0-9-]{0,12}") {
        let _ = looks_like_soap(&body);
        let content_type = format!("text/xml; charset={charset}");
        if let Err(err) = decode(&body, Some(&content_type), &DecodeLimits::default()) {
            prop_assert!(err.offset <= body.len() as u64);
        }
    }

    #[test]
    fn truncated_or_mutated_valid_bodies_never_panic(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
        let full = sample_body().into_bytes();
        let all = decode(&full, None, &DecodeLimits::default()).expect("sample decodes");
        prop_assert_eq!(all.len(), 2);
        let cut = cut.min(full.len());
        let truncated = full.get(..cut).unwrap_or_default();
        match decode(truncated, None, &DecodeLimits::default()) {
            // A cut body decodes only when it ends between envelopes: then it gives the
            // envelopes before the cut, unchanged.
            Ok(envelopes) => prop_assert_eq!(&envelopes[..], &all[..envelopes.len()]),
            Err(err) => prop_assert!(err.offset <= truncated.len() as u64),
        }
        let mut mutated = full.clone();
        if let Some(slot) = mutated.get_mut(flip) {
            *slot = byte;
        }
        if let Err(err) = decode(&mutated, None, &DecodeLimits::default()) {
            prop_assert!(err.offset <= mutated.len() as u64);
        }
    }
}

/// The bodies recorded from third-party CPEs and ACSs (`tests/fixtures/cwmp/`).
const RECORDED_BODIES: &[(&str, &str)] = &[
    (
        "cwmp_sim_download",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_download.xml"),
    ),
    (
        "cwmp_sim_download_firmware",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_download_firmware.xml"),
    ),
    (
        "cwmp_sim_download_response",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_download_response.xml"),
    ),
    (
        "cwmp_sim_inform_boot",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_inform_boot.xml"),
    ),
    (
        "cwmp_sim_inform_response",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_inform_response.xml"),
    ),
    (
        "cwmp_sim_inform_transfer_complete",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_inform_transfer_complete.xml"),
    ),
    (
        "cwmp_sim_transfer_complete",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_transfer_complete.xml"),
    ),
    (
        "cwmp_sim_transfer_complete_response",
        include_str!("../../tests/fixtures/cwmp/cwmp_sim_transfer_complete_response.xml"),
    ),
    (
        "genieacs_download",
        include_str!("../../tests/fixtures/cwmp/genieacs_download.xml"),
    ),
    (
        "genieacs_inform_response",
        include_str!("../../tests/fixtures/cwmp/genieacs_inform_response.xml"),
    ),
    (
        "genieacs_sim_download_response",
        include_str!("../../tests/fixtures/cwmp/genieacs_sim_download_response.xml"),
    ),
    (
        "genieacs_sim_inform_periodic",
        include_str!("../../tests/fixtures/cwmp/genieacs_sim_inform_periodic.xml"),
    ),
    (
        "genieacs_sim_transfer_complete",
        include_str!("../../tests/fixtures/cwmp/genieacs_sim_transfer_complete.xml"),
    ),
    (
        "netcwmp_download",
        include_str!("../../tests/fixtures/cwmp/netcwmp_download.xml"),
    ),
    (
        "netcwmp_download_response",
        include_str!("../../tests/fixtures/cwmp/netcwmp_download_response.xml"),
    ),
    (
        "netcwmp_inform_bootstrap",
        include_str!("../../tests/fixtures/cwmp/netcwmp_inform_bootstrap.xml"),
    ),
    (
        "netcwmp_inform_response",
        include_str!("../../tests/fixtures/cwmp/netcwmp_inform_response.xml"),
    ),
    (
        "netcwmp_transfer_complete_9001",
        include_str!("../../tests/fixtures/cwmp/netcwmp_transfer_complete_9001.xml"),
    ),
];

#[test]
fn the_faster_reader_reads_every_recorded_body_by_itself() {
    for (name, body) in RECORDED_BODIES {
        // `decode_ok` also checks that quick-xml reads the same.
        assert!(!decode_ok(body).is_empty(), "{name}");
        assert!(lean_reads(body), "{name}: handed to quick-xml");
    }
}
