use super::*;
use crate::http::{HttpMessage, StartLine};
use crate::report::FrameLabel;
use crate::session::RawMessage;
use crate::types::{ConnId, Dir, FrameRef};
use std::sync::Arc;

/// An HTTP message of this head (`\n` line ends) and body.
fn http(head: &str, body: &[u8]) -> HttpMessage {
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next().unwrap_or("").splitn(3, ' ').collect();
    let start = if first[0].starts_with("HTTP/") {
        StartLine::Response {
            status: first[1].parse().unwrap_or(200),
            reason: first.get(2).unwrap_or(&"").to_string(),
        }
    } else {
        StartLine::Request {
            method: first[0].to_owned(),
            uri: first[1].to_owned(),
        }
    };
    HttpMessage {
        conn: ConnId(1),
        dir: Dir::ToServer,
        src: "10.0.0.1:5000".parse().unwrap(),
        dst: "10.0.0.2:7547".parse().unwrap(),
        index: 0,
        start,
        version: 1,
        headers: lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        body: body.to_vec(),
        body_len: body.len() as u64,
        body_truncated: false,
        complete: true,
        gap_bytes: 0,
        body_sha256: None,
        digest_ticket: None,
        answers: None,
        request_method: None,
        interim: false,
        first_frame: FrameRef::new(0, 1),
        last_frame: FrameRef::new(0, 1),
        ts: 0,
        end_ts: 0,
        limits_hit: Default::default(),
    }
}

fn report(raw: Option<RawMessage>) -> MessageReport {
    MessageReport {
        frame: FrameLabel::Number(1),
        first_frame: None,
        ts: "2026-01-01T00:00:00Z".to_owned(),
        from: "cpe",
        to: "acs",
        kind: "cwmp",
        http: "POST /acs".to_owned(),
        status: None,
        rpcs: Vec::new(),
        cwmp_id: None,
        step: None,
        body_bytes: raw.as_ref().map_or(0, |r| r.wire_body_len),
        complete: true,
        auth: None,
        challenges: Vec::new(),
        cookies: Vec::new(),
        set_cookies: Vec::new(),
        envelopes: Vec::new(),
        malformed: None,
        rel: 0.0,
        summary: String::new(),
        ts_nanos: 0,
        raw: raw.map(Arc::new),
    }
}

const POST: &str = "POST /acs HTTP/1.1\nHost: acs\nContent-Type: text/xml";

fn lines_of(
    head: &str,
    body: &[u8],
    raw: bool,
    show_secrets: bool,
    color: bool,
) -> Vec<Line<'static>> {
    let m = report(Some(RawMessage::of(&http(head, body), 1 << 20)));
    message_lines(
        &m,
        View {
            raw,
            show_secrets,
            palette: Palette { color },
            width: 0,
        },
    )
}

fn text(lines: &[Line<'_>]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

/// The lines of the body: after the head's blank line.
fn body_text(lines: &[Line<'_>]) -> Vec<String> {
    let all = text(lines);
    let head_end = all
        .iter()
        .position(|l| l.starts_with(" Content-Type") || l.starts_with(" Cookie"))
        .unwrap_or(0);
    all[head_end..]
        .iter()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .cloned()
        .collect()
}

fn shown(head: &str, body: &str, raw: bool, show: bool) -> String {
    text(&lines_of(head, body.as_bytes(), raw, show, false)).join("\n")
}

#[test]
fn elements_are_indented_and_short_texts_stay_on_their_line() {
    let body = r#"<?xml version="1.0"?><a><b x="1">t</b><c><d/><e></e></c>
  <f>two
lines</f></a>"#;
    let lines = lines_of(POST, body.as_bytes(), false, false, false);
    assert_eq!(
        body_text(&lines),
        [
            r#" <?xml version="1.0"?>"#,
            " <a>",
            r#"   <b x="1">t</b>"#,
            "   <c>",
            "     <d/>",
            "     <e></e>",
            "   </c>",
            "   <f>",
            "     two",
            "     lines",
            "   </f>",
            " </a>",
        ]
    );
}

#[test]
fn a_long_start_tag_puts_its_attributes_on_lines_of_their_own() {
    let body = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><x/></soap:Envelope>"#;
    let lines = lines_of(POST, body.as_bytes(), false, false, false);
    assert_eq!(
        body_text(&lines),
        [
            " <soap:Envelope",
            r#"     xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#,
            r#"     xmlns:cwmp="urn:dslforum-org:cwmp-1-0">"#,
            "   <x/>",
            " </soap:Envelope>",
        ]
    );
}

#[test]
fn names_attributes_and_texts_have_colours_of_their_own_unless_no_color() {
    let body = r#"<cwmp:ID soap:mustUnderstand="1">1001</cwmp:ID>"#;
    let lines = lines_of(POST, body.as_bytes(), false, false, true);
    let style_of = |content: &str| {
        lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content == content)
            .map(|s| s.style.fg)
            .unwrap_or_else(|| panic!("no span {content:?}"))
    };
    let (element, attr, value, text) = (
        style_of("cwmp:ID"),
        style_of("soap:mustUnderstand"),
        style_of("1"),
        style_of("1001"),
    );
    let all = [element, attr, value, text];
    assert!(all.iter().all(Option::is_some), "{all:?}");
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b, "{all:?}");
        }
    }
    assert_eq!(style_of("Host"), element, "header names as element names");
    let plain = lines_of(POST, body.as_bytes(), false, false, false);
    assert!(
        plain
            .iter()
            .flat_map(|l| &l.spans)
            .all(|s| s.style.fg.is_none() && s.style.bg.is_none()),
        "NO_COLOR: no colour at all"
    );
}

#[test]
fn a_malformed_body_is_indented_up_to_the_error_then_plain_with_the_error() {
    let body = "<a><b>t</b><c>u</d>\n<Password>p</Password> rest</a>";
    let lines = lines_of(POST, body.as_bytes(), false, false, false);
    let got = body_text(&lines);
    assert_eq!(got[..4], [" <a>", "   <b>t</b>", "   <c>", "     u"]);
    assert!(
        got[4].starts_with(" ✗ not well-formed XML at byte 15: "),
        "{got:?}"
    );
    assert_eq!(
        got[5..],
        [" </d>", " <Password><redacted></Password> rest</a>"]
    );
    let cut = lines_of(POST, b"<a><b>t</b>", false, false, false);
    let got = body_text(&cut);
    assert_eq!(got[..2], [" <a>", "   <b>t</b>"]);
    assert!(got[2].contains("the body ends inside <a>"), "{got:?}");
}

const SECRETS_HEAD: &str = "POST http://cpe:pw@acs.example/acs HTTP/1.1\n\
    Authorization: Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/acs\", response=\"0123abcd\", qop=auth\n\
    Proxy-Authorization: Basic dTpwYXNz\n\
    Cookie: session=abc123; theme=\n\
    Content-Type: text/xml";

const SECRETS_BODY: &str = "<Download><URL>http://fileuser:filepw@files/x.bin</URL>\
    <Username>fileuser</Username><Password>file-secret</Password></Download>\
    <ParameterList><ParameterValueStruct><Name>Device.ManagementServer.Password</Name>\
    <Value>acs-secret</Value></ParameterValueStruct>\
    <ParameterValueStruct><Value>before-name</Value><Name>X.PreSharedKey</Name></ParameterValueStruct>\
    <ParameterValueStruct><Name>Device.DeviceInfo.SoftwareVersion</Name><Value>1.2.3</Value>\
    </ParameterValueStruct></ParameterList>";

#[test]
fn secrets_are_redacted_in_the_head_and_the_body() {
    for raw in [false, true] {
        let got = shown(SECRETS_HEAD, SECRETS_BODY, raw, false);
        for secret in [
            "0123abcd",
            "dTpwYXNz",
            "abc123",
            "file-secret",
            "acs-secret",
            "before-name",
            "filepw",
            ":pw@",
        ] {
            assert!(!got.contains(secret), "raw {raw}: {secret} shown in\n{got}");
        }
        for kept in [
            "Digest username=\"u\", realm=\"r\"",
            "response=\"<redacted>\"",
            "Basic <redacted>",
            "session=<redacted>; theme=",
            "http://<redacted>@acs.example/acs",
            "http://<redacted>@files/x.bin",
            "fileuser",
            "Device.ManagementServer.Password",
            "1.2.3",
        ] {
            assert!(got.contains(kept), "raw {raw}: {kept} missing in\n{got}");
        }
    }
    let layout = shown(SECRETS_HEAD, SECRETS_BODY, false, false);
    assert!(
        layout.contains("<Password><redacted></Password>"),
        "{layout}"
    );
    assert!(layout.contains("<Value><redacted></Value>"), "{layout}");
}

#[test]
fn set_cookie_keeps_its_name_and_attributes() {
    let head = "HTTP/1.1 200 OK\nSet-Cookie: sid=s3cr3t; Path=/; HttpOnly\nContent-Type: text/xml";
    let got = shown(head, "", false, false);
    assert!(
        got.contains("Set-Cookie: sid=<redacted>; Path=/; HttpOnly"),
        "{got}"
    );
}

#[test]
fn show_secrets_shows_them() {
    for raw in [false, true] {
        let got = shown(SECRETS_HEAD, SECRETS_BODY, raw, true);
        for secret in [
            "0123abcd",
            "dTpwYXNz",
            "abc123",
            "file-secret",
            "acs-secret",
            "before-name",
            "http://fileuser:filepw@files/x.bin",
            "http://cpe:pw@acs.example/acs",
        ] {
            assert!(
                got.contains(secret),
                "raw {raw}: {secret} missing in\n{got}"
            );
        }
        assert!(!got.contains(REDACTED), "{got}");
    }
}

#[test]
fn raw_text_is_the_head_and_body_as_received() {
    let got = shown(POST, "<a>\n  <b>1</b>\n</a>", true, false);
    let lines: Vec<&str> = got.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == " POST /acs HTTP/1.1")
        .expect("start line");
    assert_eq!(
        lines[at..],
        [
            " POST /acs HTTP/1.1",
            " Host: acs",
            " Content-Type: text/xml",
            " ",
            " <a>",
            "   <b>1</b>",
            " </a>",
        ]
    );
}

/// The ASCII column of a hex dump, end to end.
fn ascii(lines: &[Line<'_>]) -> String {
    lines
        .iter()
        .filter(|l| {
            l.spans
                .first()
                .is_some_and(|s| s.content.starts_with(" 000"))
        })
        .filter_map(|l| l.spans.last().map(|s| s.content.to_string()))
        .collect()
}

#[test]
fn bytes_that_are_not_text_are_a_hex_dump_with_secrets_redacted() {
    // Latin-1, not UTF-8: a hex dump; the password is redacted all the same.
    let head = "POST /acs HTTP/1.1\nContent-Type: text/xml; charset=iso-8859-1";
    let body = b"<a>caf\xe9</a><Password>s\xe9cret</Password>\x00";
    let lines = lines_of(head, body, true, false, false);
    let got = text(&lines);
    let first = got
        .iter()
        .position(|l| l.starts_with(" 00000000  "))
        .expect("a hex dump");
    assert_eq!(
        got[first],
        " 00000000  50 4f 53 54 20 2f 61 63  73 20 48 54 54 50 2f 31  POST /acs HTTP/1"
    );
    assert!(got[first + 1].starts_with(" 00000010  "));
    // Masked byte for byte: the offsets stay those of the bytes received.
    assert!(
        ascii(&lines).contains("<Password>******</Password>"),
        "{got:?}"
    );
    assert!(!ascii(&lines).contains("cret"), "{got:?}");
    let shown_lines = lines_of(head, body, true, true, false);
    assert_eq!(
        ascii(&lines).len(),
        ascii(&shown_lines).len(),
        "as many bytes dumped, secrets masked or shown"
    );
    let shown = lines_of(head, body, true, true, false);
    assert!(
        ascii(&shown).contains("<Password>s.cret</Password>"),
        "{:?}",
        text(&shown)
    );
    // The layout decodes the charset.
    let layout = text(&lines_of(head, body, false, false, false)).join("\n");
    assert!(layout.contains("<a>café</a>"), "{layout}");
    // Credentials in the head are masked byte for byte in a dump too.
    let head = "POST /acs HTTP/1.1\nAuthorization: Basic dXNlcjpwYXNz\nContent-Type: text/xml";
    let masked = ascii(&lines_of(head, body, true, false, false));
    let shown = ascii(&lines_of(head, body, true, true, false));
    assert!(
        masked.contains("Authorization: Basic ************"),
        "{masked}"
    );
    assert!(!masked.contains("dXNl"), "{masked}");
    assert_eq!(masked.len(), shown.len());
}

#[test]
fn a_body_above_the_limit_or_truncated_says_so() {
    let big = RawMessage::of(&http(POST, &[b'x'; 100]), 10);
    let got = text(&message_lines(
        &report(Some(big)),
        View {
            raw: false,
            show_secrets: false,
            palette: Palette { color: false },
            width: 0,
        },
    ));
    assert!(
        got.contains(&" body not kept: 100 bytes".to_owned()),
        "{got:?}"
    );
    let mut cut = http(POST, b"<a>");
    cut.body_truncated = true;
    cut.body_len = 5000;
    let got = text(&message_lines(
        &report(Some(RawMessage::of(&cut, 1 << 20))),
        View {
            raw: true,
            show_secrets: false,
            palette: Palette { color: false },
            width: 0,
        },
    ));
    assert!(
        got.iter()
            .any(|l| l.contains("truncated by the HTTP stage's storage limit: 3 of 5000 bytes")),
        "{got:?}"
    );
}

#[test]
fn without_the_bytes_the_decoded_content_shows() {
    let got = text(&message_lines(
        &report(None),
        View {
            raw: false,
            show_secrets: false,
            palette: Palette { color: false },
            width: 0,
        },
    ));
    assert_eq!(got[2], " POST /acs");
    assert!(
        got.last().is_some_and(|l| l.contains("not kept")),
        "{got:?}"
    );
}

#[test]
fn long_lines_go_on_indented_within_the_width() {
    let body = format!("<a><b>{}</b></a>", "v".repeat(30));
    let m = report(Some(RawMessage::of(&http(POST, body.as_bytes()), 1 << 20)));
    let view = |width| View {
        raw: false,
        show_secrets: false,
        palette: Palette { color: true },
        width,
    };
    let lines = message_lines(&m, view(20));
    let got = body_text(&lines);
    assert_eq!(
        got,
        [
            " <a>",
            "   <b>vvvvvvvvvvvvvv",
            "     vvvvvvvvvvvvvvv",
            "     v</b>",
            " </a>",
        ]
    );
    assert!(
        text(&lines)
            .iter()
            .all(|l| l.trim_end().chars().count() <= 20)
    );
    // The spans keep their styles across the cut.
    let b = &lines[lines.len() - 4];
    assert_eq!(
        b.spans.last().map(|s| s.content.as_ref()),
        Some("vvvvvvvvvvvvvv")
    );
    assert!(
        b.spans
            .last()
            .is_some_and(|s| s.style.fg == Some(Color::Yellow))
    );
    assert_eq!(body_text(&message_lines(&m, view(0)))[1].len(), 40);
}

#[test]
fn a_line_is_cut_after_a_space_near_its_end() {
    let line = Line::from(vec![Span::raw(" one two "), Span::raw("three four five")]);
    let got: Vec<String> = wrapped(line, 12)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    assert_eq!(got, [" one two ", "   three ", "   four five"]);
    // A space just past the width ends the line.
    let line = Line::raw(" abc defgh ijk");
    let got: Vec<String> = wrapped(line, 10)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    assert_eq!(got, [" abc defgh ", "   ijk"]);
}

#[test]
fn a_body_that_is_not_xml_is_plain_text() {
    let got = shown(
        "HTTP/1.1 200 OK\nContent-Type: text/plain",
        "hello\n  world",
        false,
        false,
    );
    assert!(got.ends_with(" (not XML)\n hello\n   world"), "{got}");
}

#[test]
fn raw_bytes_say_the_body_was_de_chunked_and_decoded() {
    let head = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Encoding: gzip";
    let got = shown(head, "<a/>", true, false);
    assert!(
        got.contains(" the body as stored: de-chunked and decoded (Content-Encoding)"),
        "{got}"
    );
    assert!(!shown(POST, "<a/>", true, false).contains("as stored"));
}
