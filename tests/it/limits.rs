//! Resource limits (`--limit NAME=N`, docs/limits.md): for every limit, a small generated
//! capture analyzed with that limit lowered reaches it, and the report says so: the count in
//! `capture.limits_hit` (nothing else reached), the `limits reached` line of the text report,
//! the mark on the session or transaction it cut short (`limits_hit`, and `incomplete: limit
//! … reached` on its header line), while every other session and transaction is analyzed
//! exactly as without the setting. Then the flag itself: `--limit help`, unknown names and
//! bad values.

use crate::common::{cwmpscope, scratch};
use cwmpscope_synth::conversation::{At, Connection, End, Profile};
use cwmpscope_synth::cwmp::{CwmpOptions, fleet_flow};
use cwmpscope_synth::types::{Dir, Nanos};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::Command;

const MS: Nanos = 1_000_000;
const S: Nanos = 1_000_000_000;
const T0: Nanos = 1_795_000_000 * S;

fn acs() -> SocketAddr {
    "198.51.100.10:7547".parse().expect("address")
}

/// The CPE at 192.0.2.`n`.
fn cpe(n: u8) -> SocketAddr {
    format!("192.0.2.{n}:40000").parse().expect("address")
}

fn envelope(id: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Header><cwmp:ID soap:mustUnderstand="1">{id}</cwmp:ID></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

/// An Inform of CPE `SN-n` with these ParameterValueStructs (`(name, value)`).
fn inform(n: u8, params: &[(&str, &str)]) -> String {
    let list: String = params
        .iter()
        .map(|(name, value)| {
            format!("<ParameterValueStruct><Name>{name}</Name><Value>{value}</Value></ParameterValueStruct>")
        })
        .collect();
    envelope(
        "1",
        &format!(
            "<cwmp:Inform><DeviceId><Manufacturer>ACME</Manufacturer><OUI>A1B2C3</OUI><ProductClass>Box</ProductClass><SerialNumber>SN-{n}</SerialNumber></DeviceId><Event><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-11-27T10:00:00Z</CurrentTime><RetryCount>0</RetryCount><ParameterList>{list}</ParameterList></cwmp:Inform>"
        ),
    )
}

fn inform_response() -> String {
    envelope(
        "1",
        "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>",
    )
}

/// A POST of `body` to the ACS, with `extra` header lines (each ending in CRLF).
fn post_with(body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST /acs HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn post(body: &str) -> Vec<u8> {
    post_with(body, "")
}

fn reply(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A connection from CPE `n` to the ACS at `start`, carrying `steps` (`true`: the CPE sends).
fn conn(n: u8, start: Nanos, steps: Vec<(bool, Vec<u8>)>) -> Connection {
    let mut c = Connection::new(cpe(n), acs(), start);
    for (from_cpe, bytes) in steps {
        if from_cpe {
            c.client_sends(MS, bytes);
        } else {
            c.server_sends(MS, bytes);
        }
    }
    c
}

/// Inform (its body given) → InformResponse → empty POST → 204: one whole session.
fn session_steps(inform_body: String) -> Vec<(bool, Vec<u8>)> {
    vec![
        (true, post(&inform_body)),
        (false, reply("200 OK", &inform_response())),
        (true, post("")),
        (false, reply("204 No Content", "")),
    ]
}

/// A whole, ordinary session of CPE `n` at `start`, far below every limit lowered here.
fn clean_session(n: u8, start: Nanos) -> Connection {
    conn(n, start, session_steps(inform(n, &[])))
}

/// The capture file(s) of these connections (clean rendering: 1460-byte segments).
fn render(name: &str, connections: Vec<Connection>) -> Vec<String> {
    let (_, files) = cwmpscope_synth::write_capture_files(
        connections,
        &Profile::clean(1),
        &OutputOptions::default(),
        &scratch(&format!("limits-{name}.pcap")),
    )
    .expect("capture written");
    files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect()
}

/// Runs `analyze` with `args` before the files; (stdout, ok).
fn analyze(files: &[String], format: &str, args: &[&str]) -> String {
    let mut argv = vec!["analyze", "--format", format, "--color", "never"];
    argv.extend_from_slice(args);
    argv.extend(files.iter().map(String::as_str));
    let (out, err, ok) = cwmpscope(&argv);
    assert!(ok, "{argv:?}: {err}");
    out
}

fn report(files: &[String], args: &[&str]) -> Value {
    serde_json::from_str(&analyze(files, "json", args)).expect("one JSON document")
}

/// The ids of the items (sessions or transactions) whose `limits_hit` names `limit`.
fn marked(items: &Value, limit: &str) -> Vec<String> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .filter(|x| {
            x["limits_hit"]
                .as_array()
                .is_some_and(|l| l.iter().any(|n| n == limit))
        })
        .map(|x| x["id"].as_str().expect("id").to_owned())
        .collect()
}

/// What a lowered limit must do to a capture.
struct Expect<'a> {
    /// `NAME=N`.
    setting: &'a str,
    /// Times it is reached.
    count: u64,
    /// The sessions and transactions it marks.
    sessions: &'a [&'a str],
    transactions: &'a [&'a str],
    /// Sessions that change without being marked: what follows from an item the limit cut
    /// (a report whose transaction was handed on early).
    knock_on: &'a [&'a str],
}

/// Analyzes `files` without and with the setting and checks what [`Expect`] says; returns
/// both reports.
fn check(files: &[String], e: &Expect<'_>) -> (Value, Value) {
    let name = e.setting.split('=').next().expect("a name");
    let base = report(files, &[]);
    let cut = report(files, &["--limit", e.setting]);
    assert_eq!(
        base["capture"]["limits_hit"],
        json!({}),
        "{name}: nothing reached by default"
    );
    assert_eq!(
        cut["capture"]["limits_hit"],
        json!({ name: e.count }),
        "{name}: the count, and no other limit"
    );
    // Marks: exactly the expected items, and only with this limit.
    for (items, expected) in [("sessions", e.sessions), ("transactions", e.transactions)] {
        assert_eq!(
            marked(&cut[items], name),
            expected,
            "{name}: {items} marked"
        );
        assert!(marked(&base[items], name).is_empty(), "{name}: {items}");
        for item in cut[items].as_array().expect("items") {
            if let Some(limits) = item["limits_hit"].as_array() {
                assert_eq!(limits, &vec![json!(name)], "{name}: {}", item["id"]);
            }
        }
    }
    // Every other item is analyzed as it is without the setting.
    for items in ["sessions", "transactions"] {
        for item in cut[items].as_array().expect("items") {
            let id = item["id"].as_str().expect("id");
            if item.get("limits_hit").is_some() || e.knock_on.contains(&id) {
                continue;
            }
            let same = base[items]
                .as_array()
                .expect("items")
                .iter()
                .find(|b| b["id"] == item["id"]);
            assert_eq!(
                Some(item),
                same,
                "{name}: {id} analyzed as without the limit"
            );
        }
    }
    // The text report: the summary line, and the header line of each item marked (sessions
    // of no transaction have their own ladder).
    let text = analyze(files, "text", &["--limit", e.setting]);
    let line = format!("  limits reached: {name} ×{} (see --limit help)\n", e.count);
    assert!(text.contains(&line), "{name}: {line} in\n{text}");
    let base_text = analyze(files, "text", &[]);
    assert!(!base_text.contains("limits reached"), "{name}");
    let in_transaction = |id: &str| {
        cut["transactions"]
            .as_array()
            .expect("transactions")
            .iter()
            .any(|t| {
                t["sessions"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .any(|s| s == id)
            })
    };
    let note = format!(" · incomplete: limit {name} reached");
    for id in e
        .sessions
        .iter()
        .filter(|id| !in_transaction(id))
        .chain(e.transactions)
    {
        let header = text
            .lines()
            .find(|l| l.starts_with(&format!("{id}  ")))
            .unwrap_or_else(|| panic!("{name}: no header line of {id} in\n{text}"));
        assert!(header.ends_with(&note), "{name}: {header}");
    }
    assert_eq!(
        text.matches(&note).count(),
        e.sessions.iter().filter(|id| !in_transaction(id)).count() + e.transactions.len(),
        "{name}: no other header line is marked"
    );
    (base, cut)
}

fn check_setting(files: &[String], setting: &str, count: u64, sessions: &[&str]) -> (Value, Value) {
    check(
        files,
        &Expect {
            setting,
            count,
            sessions,
            transactions: &[],
            knock_on: &[],
        },
    )
}

/// Codes of a session's findings.
fn codes(session: &Value) -> Vec<String> {
    session["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

fn session<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no session {id}"))
}

// ---- wire ----

/// A pcap (Ethernet) of IPv4 fragments carrying TCP, none completing its datagram: datagram
/// `id` gets a first fragment of `len` bytes, in the order given, 1 ms apart before `T0`.
fn fragments_pcap(name: &str, datagrams: &[(u16, usize)]) -> String {
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    pcap.extend_from_slice(&2u16.to_le_bytes());
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&65_535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for (i, &(id, len)) in datagrams.iter().enumerate() {
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        let total = (20 + len) as u16;
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&total.to_be_bytes());
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&[0x20, 0x00]); // more fragments, offset 0
        frame.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum
        frame.extend_from_slice(&[203, 0, 113, 1, 203, 0, 113, 2]);
        frame.extend(std::iter::repeat_n(0u8, len));
        let ts = T0 - S + i as Nanos * MS;
        pcap.extend_from_slice(&((ts / S) as u32).to_le_bytes());
        pcap.extend_from_slice(&(((ts % S) / 1000) as u32).to_le_bytes());
        pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        pcap.extend_from_slice(&frame);
    }
    let path = scratch(&format!("limits-{name}.pcap"));
    std::fs::write(&path, pcap).expect("pcap written");
    path.to_string_lossy().into_owned()
}

#[test]
fn ip_fragments() {
    // Three datagrams held at once, two allowed: the oldest goes. Capture-wide only.
    let mut files = render("ip-fragments", vec![clean_session(1, T0)]);
    files.push(fragments_pcap(
        "ip-fragments-frags",
        &[(1, 96), (2, 96), (3, 96)],
    ));
    check_setting(&files, "ip-fragments=2", 1, &[]);
}

#[test]
fn ip_fragment_bytes() {
    // 96 + 96 bytes held, 100 allowed: the first datagram goes to make room.
    let mut files = render("ip-fragment-bytes", vec![clean_session(1, T0)]);
    files.push(fragments_pcap(
        "ip-fragment-bytes-frags",
        &[(1, 96), (2, 96)],
    ));
    check_setting(&files, "ip-fragment-bytes=100", 1, &[]);
}

// ---- tcp ----

#[test]
fn open_connections() {
    // The first CPE's connection idles after its InformResponse while a second CPE's opens:
    // one connection allowed, the idle one is released early.
    let mut first = conn(
        1,
        T0,
        vec![
            (true, post(&inform(1, &[]))),
            (false, reply("200 OK", &inform_response())),
        ],
    );
    first.ends(End::LeftOpen, At::After(MS));
    let files = render("open-connections", vec![first, clean_session(2, T0 + S)]);
    let (base, cut) = check_setting(&files, "open-connections=1", 1, &["s1"]);
    assert_eq!(session(&base, "s1")["termination"], "capture-ended");
    assert_eq!(session(&cut, "s1")["termination"], "timeout");
}

#[test]
fn half_open_connections() {
    // 1,000 unanswered SYNs with the reference configuration update in the middle of them:
    // at most 100 are tracked at once, the older ones are released as they come, and the
    // update is analyzed exactly as without the limit.
    let path = scratch("half-open-connections.pcap");
    let opts = cwmpscope_synth::adversarial::Options {
        scale: 0.001,
        ..Default::default()
    };
    let mut file = std::fs::File::create(&path).expect("create");
    let kind = cwmpscope_synth::adversarial::Kind::SynFlood;
    cwmpscope_synth::adversarial::write(kind, &opts, &mut file).expect("write");
    drop(file);
    let files = vec![path.to_string_lossy().into_owned()];
    let json = |args: &[&str]| -> Value {
        serde_json::from_str(&analyze(&files, "json", args)).expect("JSON")
    };
    let base = json(&[]);
    let cut = json(&["--limit", "half-open-connections=100"]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(base["capture"]["limits_hit"], json!({}));
    assert_eq!(
        cut["capture"]["limits_hit"],
        json!({"half-open-connections": 1000 - 100})
    );
    assert_eq!(base["capture"]["tcp_connections"], 1003);
    assert_eq!(cut["capture"]["tcp_connections"], 1003);
    assert_eq!(cut["transactions"], base["transactions"]);
    assert_eq!(cut["sessions"], base["sessions"]);
    assert_eq!(cut["transactions"][0]["outcome"], "success");
}

/// A session whose Inform (padded to about 6 KB, five 1460-byte segments) loses its first
/// segment in the capture: what follows waits in the reassembly buffer.
fn session_with_a_lost_segment(n: u8, start: Nanos) -> Connection {
    let value = "x".repeat(100);
    let params: Vec<(String, String)> = (0..40)
        .map(|i| (format!("Device.X_Pad.{i}"), value.clone()))
        .collect();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut c = conn(n, start, session_steps(inform(n, &params)));
    c.lose.push((Dir::ToServer, 10));
    c
}

fn buffer_case(name: &str) -> Vec<String> {
    render(
        name,
        vec![session_with_a_lost_segment(1, T0), clean_session(2, T0 + S)],
    )
}

#[test]
fn stream_buffer_bytes() {
    // The segment after the hole (1460 bytes and its bookkeeping) exceeds 1000 bytes: the
    // hole becomes a gap at once.
    let files = buffer_case("stream-buffer-bytes");
    check_setting(&files, "stream-buffer-bytes=1000", 1, &["s1"]);
}

#[test]
fn stream_buffer_segments() {
    // The second segment buffered after the hole exceeds one.
    let files = buffer_case("stream-buffer-segments");
    check_setting(&files, "stream-buffer-segments=1", 1, &["s1"]);
}

#[test]
fn total_buffer_bytes() {
    let files = buffer_case("total-buffer-bytes");
    check_setting(&files, "total-buffer-bytes=1000", 1, &["s1"]);
}

#[test]
fn hosts() {
    // Two CPEs and the ACS: the second CPE's address is beyond two, so the count goes on as
    // an estimate (which, this small, is still exact).
    let files = render(
        "hosts",
        vec![clean_session(1, T0), clean_session(2, T0 + S)],
    );
    let (base, cut) = check_setting(&files, "hosts=2", 1, &[]);
    assert_eq!(base["capture"]["hosts"], 3);
    assert_eq!(cut["capture"]["hosts"], 3);
}

// ---- http ----

/// A session whose empty POST carries these extra header lines.
fn session_with_headers(n: u8, start: Nanos, extra: &str) -> Connection {
    conn(
        n,
        start,
        vec![
            (true, post(&inform(n, &[]))),
            (false, reply("200 OK", &inform_response())),
            (true, post_with("", extra)),
            (false, reply("204 No Content", "")),
        ],
    )
}

#[test]
fn http_header_bytes() {
    let filler = format!("X-Filler: {}\r\n", "f".repeat(500));
    let files = render(
        "http-header-bytes",
        vec![
            session_with_headers(1, T0, &filler),
            clean_session(2, T0 + S),
        ],
    );
    let (_, cut) = check_setting(&files, "http-header-bytes=300", 1, &["s1"]);
    // The empty POST is refused, not blamed as malformed HTTP.
    assert!(!codes(session(&cut, "s1")).contains(&"malformed-message".to_owned()));
}

#[test]
fn http_headers() {
    let extra: String = (0..12).map(|i| format!("X-Field-{i}: v\r\n")).collect();
    let files = render(
        "http-headers",
        vec![
            session_with_headers(1, T0, &extra),
            clean_session(2, T0 + S),
        ],
    );
    let (_, cut) = check_setting(&files, "http-headers=8", 1, &["s1"]);
    assert!(!codes(session(&cut, "s1")).contains(&"malformed-message".to_owned()));
}

#[test]
fn http_body_bytes() {
    // An Inform of about 3 KB, 2 KB kept: cut there, it does not decode.
    let value = "v".repeat(100);
    let params: Vec<(String, String)> = (0..20)
        .map(|i| (format!("Device.X_Pad.{i}"), value.clone()))
        .collect();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let files = render(
        "http-body-bytes",
        vec![
            conn(1, T0, session_steps(inform(1, &params))),
            clean_session(2, T0 + S),
        ],
    );
    let (base, cut) = check_setting(&files, "http-body-bytes=2K", 1, &["s1"]);
    assert_eq!(session(&base, "s1")["events"], json!(["2 PERIODIC"]));
    let s1 = session(&cut, "s1");
    assert_eq!(s1["events"], json!([]), "the Inform was cut");
    assert!(!s1["messages"][0]["malformed"].is_null());
    // Cut by a limit, the body is no one's fault.
    assert!(!codes(s1).contains(&"malformed-message".to_owned()));
}

#[test]
fn http_pending_requests() {
    // The CPE sends its Inform and the empty POST before either is answered: with one request
    // waiting at most, the Inform is given up.
    let files = render(
        "http-pending-requests",
        vec![
            conn(
                1,
                T0,
                vec![
                    (true, post(&inform(1, &[]))),
                    (true, post("")),
                    (false, reply("200 OK", &inform_response())),
                    (false, reply("204 No Content", "")),
                ],
            ),
            clean_session(2, T0 + S),
        ],
    );
    check_setting(&files, "http-pending-requests=1", 1, &["s1"]);
}

// ---- cwmp ----

#[test]
fn xml_depth() {
    // Envelope, Body, Vendor, a … e: eight levels in the first CPE's Inform; the deepest
    // ordinary element (a ParameterValueStruct's Value) is at level six.
    let deep = inform(1, &[]).replace(
        "</soap:Body>",
        "<Vendor><a><b><c><d><e>deep</e></d></c></b></a></Vendor></soap:Body>",
    );
    let files = render(
        "xml-depth",
        vec![
            conn(1, T0, session_steps(deep)),
            conn(2, T0 + S, session_steps(inform(2, &[("Device.A", "1")]))),
        ],
    );
    let (_, cut) = check_setting(&files, "xml-depth=7", 1, &["s1"]);
    let s1 = session(&cut, "s1");
    assert!(
        s1["messages"][0]["malformed"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("deeper than 7 levels")),
        "{s1}"
    );
    assert!(!codes(s1).contains(&"malformed-message".to_owned()));
}

#[test]
fn xml_elements() {
    // 18 elements in an Inform without parameters, 3 more per parameter: 78 in the first
    // CPE's, 21 in the second's.
    let params: Vec<(String, String)> = (0..20)
        .map(|i| (format!("Device.P{i}"), "1".to_owned()))
        .collect();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let files = render(
        "xml-elements",
        vec![
            conn(1, T0, session_steps(inform(1, &params))),
            conn(2, T0 + S, session_steps(inform(2, &[("Device.A", "1")]))),
        ],
    );
    check_setting(&files, "xml-elements=40", 1, &["s1"]);
}

#[test]
fn xml_envelopes() {
    // The first CPE's Inform is followed by a second envelope in the same body.
    let two = format!(
        "{}{}",
        inform(1, &[]),
        envelope("2", "<cwmp:GetRPCMethods/>")
    );
    let files = render(
        "xml-envelopes",
        vec![conn(1, T0, session_steps(two)), clean_session(2, T0 + S)],
    );
    check_setting(&files, "xml-envelopes=1", 1, &["s1"]);
}

#[test]
fn rpc_args() {
    let five = [("A", "1"), ("B", "2"), ("C", "3"), ("D", "4"), ("E", "5")];
    let files = render(
        "rpc-args",
        vec![
            conn(1, T0, session_steps(inform(1, &five))),
            conn(2, T0 + S, session_steps(inform(2, &five[..3]))),
        ],
    );
    let (_, cut) = check_setting(&files, "rpc-args=3", 1, &["s1"]);
    let args = &session(&cut, "s1")["messages"][0]["envelopes"][0]["args"]["parameters"];
    assert_eq!(args.as_array().map(Vec::len), Some(3), "{args}");
}

#[test]
fn xml_value_bytes() {
    let long = "L".repeat(100);
    let files = render(
        "xml-value-bytes",
        vec![
            conn(1, T0, session_steps(inform(1, &[("Device.Long", &long)]))),
            conn(
                2,
                T0 + S,
                session_steps(inform(2, &[("Device.Short", "s")])),
            ),
        ],
    );
    let (_, cut) = check_setting(&files, "xml-value-bytes=40", 1, &["s1"]);
    let value =
        &session(&cut, "s1")["messages"][0]["envelopes"][0]["args"]["parameters"][0]["value"];
    assert_eq!(value, &json!(format!("{}…", "L".repeat(40))));
}

// ---- session ----

#[test]
fn open_sessions() {
    // The first CPE's session waits after its InformResponse while the second CPE's runs
    // whole: one session open at most, the first is finished as it stands, and what follows
    // on its connection (the empty POST) is a session of its own, marked too.
    let mut first = conn(
        1,
        T0,
        vec![
            (true, post(&inform(1, &[]))),
            (false, reply("200 OK", &inform_response())),
        ],
    );
    first.push(Dir::ToServer, At::FromStart(3 * S), post(""));
    first.server_sends(MS, reply("204 No Content", ""));
    let files = render("open-sessions", vec![first, clean_session(2, T0 + S)]);
    let (base, cut) = check_setting(&files, "open-sessions=1", 1, &["s1", "s3"]);
    assert_eq!(base["sessions"].as_array().map(Vec::len), Some(2));
    assert_eq!(session(&cut, "s3")["events"], json!([]), "no Inform");
}

#[test]
fn session_messages() {
    // Six messages in the first session (a GetParameterValues exchange in the middle), four
    // in the second: two of the first are dropped.
    let gpv = envelope(
        "2",
        "<cwmp:GetParameterValues><ParameterNames><string>Device.A</string></ParameterNames></cwmp:GetParameterValues>",
    );
    let gpv_response = envelope(
        "2",
        "<cwmp:GetParameterValuesResponse><ParameterList></ParameterList></cwmp:GetParameterValuesResponse>",
    );
    let files = render(
        "session-messages",
        vec![
            conn(
                1,
                T0,
                vec![
                    (true, post(&inform(1, &[]))),
                    (false, reply("200 OK", &inform_response())),
                    (true, post("")),
                    (false, reply("200 OK", &gpv)),
                    (true, post(&gpv_response)),
                    (false, reply("204 No Content", "")),
                ],
            ),
            clean_session(2, T0 + S),
        ],
    );
    let (_, cut) = check_setting(&files, "session-messages=4", 2, &["s1"]);
    assert_eq!(
        session(&cut, "s1")["messages"].as_array().map(Vec::len),
        Some(4)
    );
}

#[test]
fn unassigned_messages() {
    // A connection whose session's Inform the capture missed: its CWMP messages wait for a
    // session; with two allowed they become one at once (the same session as at the close
    // without the setting).
    let tc = envelope(
        "5",
        "<cwmp:TransferComplete><CommandKey>k</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString></FaultString></FaultStruct><StartTime>2026-11-27T10:00:00Z</StartTime><CompleteTime>2026-11-27T10:00:01Z</CompleteTime></cwmp:TransferComplete>",
    );
    let tc_response = envelope("5", "<cwmp:TransferCompleteResponse/>");
    let files = render(
        "unassigned-messages",
        vec![
            clean_session(2, T0),
            conn(
                1,
                T0 + S,
                vec![
                    (true, post(&tc)),
                    (false, reply("200 OK", &tc_response)),
                    (true, post("")),
                    (false, reply("204 No Content", "")),
                ],
            ),
        ],
    );
    let (base, cut) = check_setting(&files, "unassigned-messages=2", 1, &["s2"]);
    assert_eq!(
        session(&base, "s2")["messages"],
        session(&cut, "s2")["messages"]
    );
}

/// The ACS's empty GET to a CPE's port 7547, answered 204: an accepted Connection Request.
fn connection_request(n: u8, start: Nanos) -> Connection {
    let mut c = Connection::new(
        SocketAddr::new(acs().ip(), 50_000),
        SocketAddr::new(cpe(n).ip(), 7547),
        start,
    );
    c.client_sends(MS, b"GET /cr HTTP/1.1\r\nHost: cpe\r\n\r\n".to_vec());
    c.server_sends(MS, b"HTTP/1.1 204 No Content\r\n\r\n".to_vec());
    c
}

#[test]
fn pending_connection_requests() {
    // Two accepted Connection Requests no session follows; with one waiting at most, the
    // first is forgotten and only the second is reported an orphan.
    let files = render(
        "pending-connection-requests",
        vec![
            clean_session(3, T0),
            connection_request(1, T0 + S),
            connection_request(2, T0 + 2 * S),
        ],
    );
    let (base, cut) = check_setting(&files, "pending-connection-requests=1", 1, &[]);
    let orphans = |r: &Value| {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| {
                f["code"] == "connection-request-timing"
                    && f["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("was not followed by an Inform"))
            })
            .count()
    };
    assert_eq!((orphans(&base), orphans(&cut)), (2, 1));
}

#[test]
fn known_endpoints() {
    // Each Inform names its CPE's ConnectionRequestURL: the second is not learned.
    let url = |n: u8| format!("http://192.0.2.{n}:7547/cr");
    let param = "Device.ManagementServer.ConnectionRequestURL";
    let files = render(
        "known-endpoints",
        vec![
            conn(1, T0, session_steps(inform(1, &[(param, &url(1))]))),
            conn(2, T0 + S, session_steps(inform(2, &[(param, &url(2))]))),
        ],
    );
    check_setting(&files, "known-endpoints=1", 1, &[]);
}

#[test]
fn raw_body_bytes() {
    // Only the interactive view keeps message bytes: `analyze` never reaches this limit, the
    // view counts each body it does not keep.
    let files = render(
        "raw-body-bytes",
        vec![clean_session(1, T0), clean_session(2, T0 + S)],
    );
    let r = report(&files, &["--limit", "raw-body-bytes=100"]);
    assert_eq!(r["capture"]["limits_hit"], json!({}));
    let over: usize = r["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .flat_map(|s| s["messages"].as_array().expect("messages"))
        .filter(|m| m["body_bytes"].as_u64().is_some_and(|n| n > 100))
        .count();
    assert_eq!(over, 4, "the Informs and InformResponses");
    let app_with = |limits: cwmpscope::limits::Limits| {
        cwmpscope::tui::app_of_with(&files, false, Default::default(), limits).expect("analyzed")
    };
    let hit = |app: &cwmpscope::tui::state::App| {
        let (capture, _) = app.done.as_ref().expect("the analysis ended");
        capture.limits_hit.0.clone()
    };
    let mut limits = cwmpscope::limits::Limits::default();
    let mut app = app_with(limits.clone());
    assert_eq!(hit(&app), vec![]);
    assert!(!header(&mut app).contains("limits reached"));
    limits.set(cwmpscope::limits::Limit::RawBodyBytes, 100);
    let mut app = app_with(limits);
    assert_eq!(hit(&app), vec![("raw-body-bytes".to_owned(), over as u64)]);
    // The view's header says so once the analysis is done.
    assert!(
        header(&mut app).contains(&format!("limits reached: raw-body-bytes ×{over}")),
        "{}",
        header(&mut app)
    );
}

/// The two header lines of the view, drawn 240 columns wide.
fn header(app: &mut cwmpscope::tui::state::App) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let width = 240;
    let mut terminal = Terminal::new(TestBackend::new(width, 10)).expect("terminal");
    terminal
        .draw(|f| {
            cwmpscope::tui::draw::draw(f, app, cwmpscope::tui::draw::Palette { color: false })
        })
        .expect("draw");
    terminal
        .backend()
        .buffer()
        .content()
        .chunks(usize::from(width))
        .take(2)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- transaction ----

/// Two CPEs running the reference flow (Download, fetch, TransferComplete), the second 137 ms
/// after the first: their transactions are open at the same time.
fn two_transfers(name: &str) -> Vec<String> {
    let flow = fleet_flow(&CwmpOptions::default(), 2);
    render(name, flow.connections)
}

#[test]
fn open_transactions() {
    // The second transaction opens while the first waits for its TransferComplete: with one
    // open at most, the first is handed on as it stands, incomplete; the report that comes
    // later finds no transaction (s3, the first CPE's TRANSFER COMPLETE session, changes).
    let files = two_transfers("open-transactions");
    let (base, cut) = check(
        &files,
        &Expect {
            setting: "open-transactions=1",
            count: 1,
            sessions: &[],
            transactions: &["t1"],
            knock_on: &["s3"],
        },
    );
    assert_eq!(base["transactions"][0]["outcome"], "success");
    assert_eq!(cut["transactions"][0]["outcome"], "incomplete");
}

#[test]
fn pending_exchanges() {
    // Web traffic of one CPE: three GETs waiting for a transaction that could claim them;
    // with one waiting at most, two are dropped.
    let mut connections = vec![clean_session(2, T0)];
    for i in 0..3u16 {
        let server: SocketAddr = format!("203.0.113.9:{}", 8000 + i)
            .parse()
            .expect("address");
        let mut c = Connection::new(cpe(1), server, T0 + S + i64::from(i) * S);
        c.client_sends(MS, b"GET /page HTTP/1.1\r\nHost: web\r\n\r\n".to_vec());
        c.server_sends(
            MS,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        );
        connections.push(c);
    }
    let files = render("pending-exchanges", connections);
    check_setting(&files, "pending-exchanges=1", 2, &[]);
}

#[test]
fn cpe_history() {
    // Two CPEs, one remembered: the session stage's directory, the findings stage's
    // directory and its history of sessions each forget the first.
    let files = render(
        "cpe-history",
        vec![clean_session(1, T0), clean_session(2, T0 + S)],
    );
    check_setting(&files, "cpe-history=1", 3, &[]);
}

// ---- across stages ----

#[test]
fn a_limit_reached_in_a_session_of_a_transaction_marks_the_transaction() {
    // The Download's URL (longer than 30 bytes) is cut in the session that orders it.
    let files = two_transfers("transaction-session");
    let r = report(&files, &["--limit", "xml-value-bytes=30"]);
    let marked_sessions = marked(&r["sessions"], "xml-value-bytes");
    assert!(!marked_sessions.is_empty());
    for t in r["transactions"].as_array().expect("transactions") {
        let own: Vec<&Value> = t["sessions"].as_array().expect("ids").iter().collect();
        let cut = own.iter().any(|s| marked_sessions.iter().any(|m| *s == m));
        assert_eq!(
            t["limits_hit"] == json!(["xml-value-bytes"]),
            cut,
            "{}: marked exactly when one of its sessions is",
            t["id"]
        );
    }
    let text = analyze(&files, "text", &["--limit", "xml-value-bytes=30"]);
    assert!(
        text.lines().any(|l| l.starts_with("t1  ")
            && l.ends_with(" · incomplete: limit xml-value-bytes reached")),
        "{text}"
    );
}

#[test]
fn ndjson_carries_the_counts_on_its_capture_line() {
    let files = buffer_case("ndjson");
    let out = analyze(&files, "ndjson", &["--limit", "stream-buffer-bytes=1000"]);
    let capture: Value = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|v| v["type"] == "capture")
        .expect("a capture line");
    assert_eq!(capture["limits_hit"], json!({"stream-buffer-bytes": 1}));
    let s1: Value = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|v| v["type"] == "session" && v["id"] == "s1")
        .expect("s1");
    assert_eq!(s1["limits_hit"], json!(["stream-buffer-bytes"]));
}

#[test]
fn counts_are_the_same_on_one_thread_or_two() {
    let files = buffer_case("threads");
    // One limit of each half: the reassembly's (front) and the decoder's (back).
    let limits = [
        "--limit",
        "stream-buffer-bytes=1000",
        "--limit",
        "xml-elements=10",
    ];
    let run = |threads: &str| {
        let mut args = vec!["--threads", threads];
        args.extend_from_slice(&limits);
        analyze(&files, "json", &args)
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one, two);
    let r: Value = serde_json::from_str(&two).expect("JSON");
    let hit = &r["capture"]["limits_hit"];
    assert_eq!(hit["stream-buffer-bytes"], 1, "{hit}");
    // The second CPE's Inform (18 elements) at least.
    assert!(
        hit["xml-elements"].as_u64().is_some_and(|n| n >= 1),
        "{hit}"
    );
}

// ---- the flag ----

#[test]
fn docs_limits_md_lists_every_limit_with_its_default_in_table_order() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/limits.md");
    let text = std::fs::read_to_string(path).expect("docs/limits.md is readable");
    let rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.strip_prefix('|')?.split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), (*cells.get(1)?).to_owned()))
        })
        .collect();
    let expected: Vec<(String, String)> = cwmpscope::limits::TABLE
        .iter()
        .map(|s| {
            (
                s.name.to_owned(),
                format!(
                    "{} {}",
                    cwmpscope::limits::format_value(s.limit, s.default),
                    s.unit
                ),
            )
        })
        .collect();
    assert_eq!(rows, expected);
}

fn bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn limit_help_lists_every_limit_with_its_default_and_exits_0() {
    for command in ["analyze", "live", "tui", "extract"] {
        // Without the command's other arguments (a live interface, extract's selection).
        let out = bin(&[command, "--limit", "help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let text = String::from_utf8_lossy(&out.stdout);
        for spec in &cwmpscope::limits::TABLE {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{} ", spec.name)))
                .unwrap_or_else(|| panic!("{command}: {} missing in\n{text}", spec.name));
            let default = cwmpscope::limits::format_value(spec.limit, spec.default);
            assert!(
                line.contains(&format!(" {default} {} ", spec.unit)),
                "{line}"
            );
            assert!(line.ends_with(spec.meaning), "{line}");
        }
    }
}

#[test]
fn unknown_names_and_bad_values_are_one_line_and_exit_2() {
    let capture = crate::common::capture("reference-cookie.pcap");
    for (setting, needle) in [
        ("no-such-limit=3", "unknown limit \"no-such-limit\""),
        (
            "xml-depth=deep",
            "xml-depth takes a number of levels, not \"deep\"",
        ),
        ("xml-depth=3K", "xml-depth takes a number of levels"),
        (
            "http-body-bytes=4T",
            "http-body-bytes takes a number of bytes",
        ),
        ("xml-depth=0", "xml-depth must be at least 1"),
        ("xml-depth", "takes NAME=N"),
    ] {
        for command in [
            vec!["analyze", "--limit", setting, capture.as_str()],
            vec!["tui", "--limit", setting, capture.as_str()],
            vec![
                "extract",
                "--limit",
                setting,
                "--cpe",
                "x",
                "-w",
                "/nonexistent/x.pcap",
                capture.as_str(),
            ],
        ] {
            let out = bin(&command);
            assert_eq!(out.status.code(), Some(2), "{command:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
            assert!(err.starts_with("cwmpscope: --limit: "), "{err}");
            assert!(err.contains(needle), "{err} should say {needle}");
        }
    }
}

#[test]
fn suffixes_scale_byte_limits() {
    // 2K is 2048 bytes: an Inform of about 3.4 KB is cut at 2K, not at 4K.
    let value = "v".repeat(100);
    let params: Vec<(String, String)> = (0..15)
        .map(|i| (format!("Device.X_Pad.{i}"), value.clone()))
        .collect();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let files = render(
        "suffixes",
        vec![conn(1, T0, session_steps(inform(1, &params)))],
    );
    for (setting, cut) in [("2K", true), ("4K", false), ("2048", true), ("1M", false)] {
        let r = report(&files, &["--limit", &format!("http-body-bytes={setting}")]);
        assert_eq!(
            r["capture"]["limits_hit"] == json!({"http-body-bytes": 1}),
            cut,
            "{setting}"
        );
    }
}
