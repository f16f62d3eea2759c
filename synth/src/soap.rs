//! CWMP SOAP envelopes as text: Inform, InformResponse, Download, DownloadResponse,
//! TransferComplete, TransferCompleteResponse and Fault, with a configurable cwmp namespace and
//! prefixes. Values are XML-escaped.

use std::fmt::Write as _;

/// SOAP envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP encoding namespace.
pub const SOAP_ENC_NS: &str = "http://schemas.xmlsoap.org/soap/encoding/";

/// Namespace and prefixes used when writing envelopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapStyle {
    /// The cwmp namespace URI (`urn:dslforum-org:cwmp-1-0` by default).
    pub cwmp_ns: String,
    /// Prefix of the SOAP envelope namespace.
    pub env_prefix: String,
    /// Prefix of the cwmp namespace.
    pub cwmp_prefix: String,
}

impl Default for SoapStyle {
    fn default() -> Self {
        SoapStyle {
            cwmp_ns: "urn:dslforum-org:cwmp-1-0".to_string(),
            env_prefix: "soap-env".to_string(),
            cwmp_prefix: "cwmp".to_string(),
        }
    }
}

/// Escapes the five XML special characters.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// SOAP header fields of one envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoapHeader {
    /// `cwmp:ID` (mustUnderstand="1"), omitted when `None`.
    pub id: Option<String>,
    /// `cwmp:NoMoreRequests` value, omitted when `None`.
    pub no_more_requests: Option<bool>,
    /// `cwmp:HoldRequests` value, omitted when `None`.
    pub hold_requests: Option<bool>,
}

impl SoapHeader {
    /// A header carrying only `cwmp:ID`.
    pub fn id(id: &str) -> Self {
        SoapHeader {
            id: Some(id.to_string()),
            ..SoapHeader::default()
        }
    }
}

/// Wraps `body_inner` (already in the cwmp namespace via `style.cwmp_prefix`) in a complete
/// envelope with the given header.
pub fn envelope(style: &SoapStyle, header: &SoapHeader, body_inner: &str) -> String {
    let e = &style.env_prefix;
    let c = &style.cwmp_prefix;
    let mut out = String::with_capacity(512 + body_inner.len());
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{e}:Envelope xmlns:{e}=\"{SOAP_ENV_NS}\" \
         xmlns:soap-enc=\"{SOAP_ENC_NS}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:{c}=\"{}\">\n<{e}:Header>\n",
        xml_escape(&style.cwmp_ns)
    );
    if let Some(id) = &header.id {
        let _ = writeln!(
            out,
            "<{c}:ID {e}:mustUnderstand=\"1\">{}</{c}:ID>",
            xml_escape(id)
        );
    }
    if let Some(hold) = header.hold_requests {
        let _ = writeln!(
            out,
            "<{c}:HoldRequests {e}:mustUnderstand=\"1\">{}</{c}:HoldRequests>",
            u8::from(hold)
        );
    }
    if let Some(nmr) = header.no_more_requests {
        let _ = writeln!(
            out,
            "<{c}:NoMoreRequests>{}</{c}:NoMoreRequests>",
            u8::from(nmr)
        );
    }
    let _ = write!(
        out,
        "</{e}:Header>\n<{e}:Body>\n{body_inner}</{e}:Body>\n</{e}:Envelope>\n"
    );
    out
}

/// Device identity as reported in `Inform/DeviceId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceId {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Organizationally unique identifier (6 hex digits).
    pub oui: String,
    /// Product class.
    pub product_class: String,
    /// Serial number.
    pub serial: String,
}

/// Arguments of an Inform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InformArgs {
    /// Who informs.
    pub device: DeviceId,
    /// Events as (EventCode, CommandKey).
    pub events: Vec<(String, String)>,
    /// MaxEnvelopes the CPE accepts.
    pub max_envelopes: u32,
    /// CurrentTime (xsd:dateTime text).
    pub current_time: String,
    /// RetryCount.
    pub retry_count: u32,
    /// ParameterList as (name, value); all typed xsd:string.
    pub parameters: Vec<(String, String)>,
}

/// An Inform request body.
pub fn inform(args: &InformArgs, style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    let d = &args.device;
    let mut body = String::with_capacity(2048);
    let _ = write!(
        body,
        "<{c}:Inform>\n<DeviceId>\n<Manufacturer>{}</Manufacturer>\n<OUI>{}</OUI>\n\
         <ProductClass>{}</ProductClass>\n<SerialNumber>{}</SerialNumber>\n</DeviceId>\n\
         <Event soap-enc:arrayType=\"{c}:EventStruct[{}]\">\n",
        xml_escape(&d.manufacturer),
        xml_escape(&d.oui),
        xml_escape(&d.product_class),
        xml_escape(&d.serial),
        args.events.len()
    );
    for (code, key) in &args.events {
        let _ = writeln!(
            body,
            "<EventStruct>\n<EventCode>{}</EventCode>\n<CommandKey>{}</CommandKey>\n</EventStruct>",
            xml_escape(code),
            xml_escape(key)
        );
    }
    let _ = write!(
        body,
        "</Event>\n<MaxEnvelopes>{}</MaxEnvelopes>\n<CurrentTime>{}</CurrentTime>\n\
         <RetryCount>{}</RetryCount>\n\
         <ParameterList soap-enc:arrayType=\"{c}:ParameterValueStruct[{}]\">\n",
        args.max_envelopes,
        xml_escape(&args.current_time),
        args.retry_count,
        args.parameters.len()
    );
    for (name, value) in &args.parameters {
        let _ = writeln!(
            body,
            "<ParameterValueStruct>\n<Name>{}</Name>\n<Value xsi:type=\"xsd:string\">{}</Value>\n\
             </ParameterValueStruct>",
            xml_escape(name),
            xml_escape(value)
        );
    }
    let _ = writeln!(body, "</ParameterList>\n</{c}:Inform>");
    body
}

/// An InformResponse body.
pub fn inform_response(max_envelopes: u32, style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    format!(
        "<{c}:InformResponse>\n<MaxEnvelopes>{max_envelopes}</MaxEnvelopes>\n</{c}:InformResponse>\n"
    )
}

/// Arguments of a Download request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadArgs {
    /// CommandKey echoed in the TransferComplete.
    pub command_key: String,
    /// FileType, e.g. `3 Vendor Configuration File`.
    pub file_type: String,
    /// URL of the file.
    pub url: String,
    /// File-server user name.
    pub username: String,
    /// File-server password.
    pub password: String,
    /// Size in bytes (0 = unknown).
    pub file_size: u64,
    /// TargetFileName.
    pub target_file_name: String,
    /// DelaySeconds.
    pub delay_seconds: u32,
}

/// A Download request body.
pub fn download(args: &DownloadArgs, style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    format!(
        "<{c}:Download>\n<CommandKey>{}</CommandKey>\n<FileType>{}</FileType>\n<URL>{}</URL>\n\
         <Username>{}</Username>\n<Password>{}</Password>\n<FileSize>{}</FileSize>\n\
         <TargetFileName>{}</TargetFileName>\n<DelaySeconds>{}</DelaySeconds>\n\
         <SuccessURL></SuccessURL>\n<FailureURL></FailureURL>\n</{c}:Download>\n",
        xml_escape(&args.command_key),
        xml_escape(&args.file_type),
        xml_escape(&args.url),
        xml_escape(&args.username),
        xml_escape(&args.password),
        args.file_size,
        xml_escape(&args.target_file_name),
        args.delay_seconds
    )
}

/// The "Unknown Time" value of TR-069 dateTime fields.
pub const UNKNOWN_TIME: &str = "0001-01-01T00:00:00Z";

/// A DownloadResponse body.
pub fn download_response(
    status: u8,
    start_time: &str,
    complete_time: &str,
    style: &SoapStyle,
) -> String {
    let c = &style.cwmp_prefix;
    format!(
        "<{c}:DownloadResponse>\n<Status>{status}</Status>\n<StartTime>{}</StartTime>\n\
         <CompleteTime>{}</CompleteTime>\n</{c}:DownloadResponse>\n",
        xml_escape(start_time),
        xml_escape(complete_time)
    )
}

/// A TransferComplete request body.
pub fn transfer_complete(
    command_key: &str,
    fault_code: u32,
    fault_string: &str,
    start_time: &str,
    complete_time: &str,
    style: &SoapStyle,
) -> String {
    let c = &style.cwmp_prefix;
    format!(
        "<{c}:TransferComplete>\n<CommandKey>{}</CommandKey>\n<FaultStruct>\n\
         <FaultCode>{fault_code}</FaultCode>\n<FaultString>{}</FaultString>\n</FaultStruct>\n\
         <StartTime>{}</StartTime>\n<CompleteTime>{}</CompleteTime>\n</{c}:TransferComplete>\n",
        xml_escape(command_key),
        xml_escape(fault_string),
        xml_escape(start_time),
        xml_escape(complete_time)
    )
}

/// A TransferCompleteResponse body.
pub fn transfer_complete_response(style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    format!("<{c}:TransferCompleteResponse/>\n")
}

/// A GetParameterValues request body for `names`.
pub fn get_parameter_values(names: &[&str], style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    let mut body = format!(
        "<{c}:GetParameterValues>\n<ParameterNames soap-enc:arrayType=\"xsd:string[{}]\">\n",
        names.len()
    );
    for name in names {
        let _ = writeln!(body, "<string>{}</string>", xml_escape(name));
    }
    let _ = writeln!(body, "</ParameterNames>\n</{c}:GetParameterValues>");
    body
}

/// A GetParameterValuesResponse body listing `(name, value)` pairs (typed xsd:string).
pub fn get_parameter_values_response(parameters: &[(String, String)], style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    let mut body = format!(
        "<{c}:GetParameterValuesResponse>\n\
         <ParameterList soap-enc:arrayType=\"{c}:ParameterValueStruct[{}]\">\n",
        parameters.len()
    );
    for (name, value) in parameters {
        let _ = writeln!(
            body,
            "<ParameterValueStruct>\n<Name>{}</Name>\n<Value xsi:type=\"xsd:string\">{}</Value>\n\
             </ParameterValueStruct>",
            xml_escape(name),
            xml_escape(value)
        );
    }
    let _ = writeln!(body, "</ParameterList>\n</{c}:GetParameterValuesResponse>");
    body
}

/// A body holding one RPC element `name` in the cwmp namespace with `inner` as its content
/// (`<c:name/>` when `inner` is empty): any RPC the other builders do not cover.
pub fn rpc(name: &str, inner: &str, style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    if inner.is_empty() {
        format!("<{c}:{name}/>\n")
    } else {
        format!("<{c}:{name}>\n{inner}</{c}:{name}>\n")
    }
}

/// A SOAP Fault body carrying a `cwmp:Fault`.
pub fn fault(fault_code: u32, fault_string: &str, style: &SoapStyle) -> String {
    let c = &style.cwmp_prefix;
    let e = &style.env_prefix;
    format!(
        "<{e}:Fault>\n<faultcode>Client</faultcode>\n<faultstring>CWMP fault</faultstring>\n\
         <detail>\n<{c}:Fault>\n<FaultCode>{fault_code}</FaultCode>\n\
         <FaultString>{}</FaultString>\n</{c}:Fault>\n</detail>\n</{e}:Fault>\n",
        xml_escape(fault_string)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    /// Parses `xml` and returns the local names of all elements, failing on malformed XML.
    fn element_names(xml: &str) -> Vec<String> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut names = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) => {
                    names.push(e.local_name().as_ref().to_string())
                }
                Event::Eof => break,
                _ => {}
            }
        }
        names
    }

    fn sample_inform() -> InformArgs {
        InformArgs {
            device: DeviceId {
                manufacturer: "A&B <Networks>".into(),
                oui: "00147F".into(),
                product_class: "Gw".into(),
                serial: "SN1".into(),
            },
            events: vec![("2 PERIODIC".into(), String::new())],
            max_envelopes: 2,
            current_time: "2026-11-27T10:00:00Z".into(),
            retry_count: 0,
            parameters: vec![("X.Y".into(), "1".into())],
        }
    }

    #[test]
    fn envelopes_are_well_formed_xml_with_expected_elements() {
        let style = SoapStyle::default();
        let header = SoapHeader {
            id: Some("1".into()),
            no_more_requests: Some(true),
            hold_requests: None,
        };
        let xml = envelope(&style, &header, &inform(&sample_inform(), &style));
        let names = element_names(&xml);
        for expected in [
            "Envelope",
            "ID",
            "NoMoreRequests",
            "Inform",
            "Manufacturer",
            "EventCode",
            "ParameterValueStruct",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(xml.contains("A&amp;B &lt;Networks&gt;"));
        assert!(xml.contains("xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\""));
        let args = DownloadArgs {
            command_key: "k".into(),
            file_type: "3 Vendor Configuration File".into(),
            url: "http://h/f?a=1&b=2".into(),
            username: "u".into(),
            password: "p".into(),
            file_size: 10,
            target_file_name: "f".into(),
            delay_seconds: 0,
        };
        for body in [
            inform_response(1, &style),
            download(&args, &style),
            download_response(1, UNKNOWN_TIME, UNKNOWN_TIME, &style),
            transfer_complete("k", 0, "", UNKNOWN_TIME, UNKNOWN_TIME, &style),
            transfer_complete_response(&style),
            fault(9016, "no", &style),
            get_parameter_values(&["A.B", "C"], &style),
            get_parameter_values_response(&[("A.B".into(), "1".into())], &style),
            rpc("UploadResponse", "<Status>1</Status>\n", &style),
            rpc("GetRPCMethods", "", &style),
        ] {
            element_names(&envelope(&style, &SoapHeader::id("x"), &body));
        }
    }

    #[test]
    fn prefixes_and_namespace_follow_the_style() {
        let style = SoapStyle {
            cwmp_ns: "urn:dslforum-org:cwmp-1-2".into(),
            env_prefix: "SOAP-ENV".into(),
            cwmp_prefix: "c".into(),
        };
        let xml = envelope(&style, &SoapHeader::id("7"), &inform_response(1, &style));
        assert!(xml.contains("<SOAP-ENV:Envelope"));
        assert!(xml.contains("xmlns:c=\"urn:dslforum-org:cwmp-1-2\""));
        assert!(xml.contains("<c:InformResponse>"));
        element_names(&xml);
    }
}
