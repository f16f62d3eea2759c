//! CWMP over TLS recorded between real sockets (`captures/tls/`). tshark, given the same key
//! material (the NSS key log, the ACS's RSA key, or the secrets inside a pcapng), is the
//! oracle: cwmpscope shows the HTTP messages tshark decrypts, frame for frame, with the same
//! bodies and RPCs, and the version and cipher suite of each connection. A connection that
//! cannot be decrypted says why (`capture.tls.reasons`: `no-key`, `rsa-key-mismatch`,
//! `ephemeral-key-exchange`, `handshake-not-captured`, `record-lost`, `record-auth-failed`,
//! `unsupported-cipher`; the same in its `tls` object or its `tls-opaque` finding) while the
//! rest of the capture is analyzed. Key material never reaches the output. The TLS judgments
//! (expired or misnamed certificate, weak version or cipher, failed handshake) are checked on
//! the captures that show them.

use crate::common;
use clap::Parser;
use cwmpscope::cli::{Cli, run};
use cwmpscope::tls::TlsReason;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// A file of `captures/tls/`.
fn tls_file(name: &str) -> String {
    common::capture(&format!("tls/{name}"))
}

/// The key log recorded with capture `stem`.
fn keylog(stem: &str) -> String {
    tls_file(&format!("{stem}.keys"))
}

/// A file of the test PKI (`captures/tls/pki/`).
fn pki(name: &str) -> String {
    tls_file(&format!("pki/{name}"))
}

/// Where the ACS listens in every TLS capture.
const ACS: &str = "127.0.10.2:7547";

/// Key material given to both tools.
enum Keys {
    /// NSS key logs (`--tls-keylog`, repeatable).
    KeyLogs(Vec<String>),
    /// An RSA private key (`--tls-key FILE.pem` or `FILE.pem@ADDR:PORT`).
    Rsa(String),
    /// None given: the pcapng carries its secrets, or there are none.
    None,
}

impl Keys {
    fn keylog(stem: &str) -> Keys {
        Keys::KeyLogs(vec![keylog(stem)])
    }

    /// cwmpscope's options.
    fn flags(&self) -> Vec<String> {
        match self {
            Keys::KeyLogs(files) => files
                .iter()
                .flat_map(|f| ["--tls-keylog".to_owned(), f.clone()])
                .collect(),
            Keys::Rsa(key) => vec!["--tls-key".to_owned(), key.clone()],
            Keys::None => Vec::new(),
        }
    }

    /// tshark's options (one key log: tshark reads a single file).
    fn tshark(&self) -> Vec<String> {
        match self {
            Keys::KeyLogs(files) => {
                assert_eq!(files.len(), 1, "tshark takes one key log");
                vec!["-o".to_owned(), format!("tls.keylog_file:{}", files[0])]
            }
            Keys::Rsa(key) => {
                let file = key.split('@').next().unwrap_or_default();
                vec!["-o".to_owned(), format!("uat:rsa_keys:\"{file}\",\"\"")]
            }
            Keys::None => Vec::new(),
        }
    }
}

/// `cwmpscope analyze --format json` with the keys, in-process; a clear message when the
/// options are not accepted.
fn analyze(file: &str, keys: &Keys) -> Value {
    let (out, err, ok) = run_cwmpscope(file, keys, "json");
    assert!(ok, "analysis of {file} failed: {err}");
    serde_json::from_str(&out).expect("valid JSON")
}

fn run_cwmpscope(file: &str, keys: &Keys, format: &str) -> (String, String, bool) {
    let flags = keys.flags();
    let mut argv = vec!["cwmpscope", "analyze", "--format", format];
    argv.extend(flags.iter().map(String::as_str));
    argv.push(file);
    let cli = Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("cwmpscope does not accept {argv:?}: {e}"));
    let mut out = Vec::new();
    let mut err = Vec::new();
    let ok = run(cli, &mut out, &mut err).is_ok();
    (
        String::from_utf8(out).expect("utf-8 output"),
        String::from_utf8(err).expect("utf-8 errors"),
        ok,
    )
}

fn tshark(file: &str, keys: &Keys, args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(["-n", "-o", "tcp.reassemble_out_of_order:TRUE"])
        .args(["-d", "tcp.port==7547,tls"])
        .args(keys.tshark())
        .args(["-r", file])
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {file}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One HTTP message: its frame, `POST /cwmp` or `GET /path` for a request or the status
/// code for a response, and its body length.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Http {
    frame: u64,
    what: String,
    body: u64,
}

/// One HTTP message as tshark decodes it: its TCP stream, whether it is to or from the ACS
/// (port 7547; the others are the file fetch), and the message.
#[derive(Clone, Debug)]
struct Seen {
    stream: u64,
    acs: bool,
    http: Http,
}

/// What tshark decrypts: the HTTP messages, and the RPC names of the SOAP envelopes they
/// carry.
struct Decrypted {
    messages: Vec<Seen>,
    rpcs: BTreeMap<String, u64>,
}

impl Decrypted {
    /// The messages to or from the ACS (`acs`) or of the file fetch, in frame order.
    fn of(&self, acs: bool) -> Vec<Http> {
        let mut out: Vec<Http> = self
            .messages
            .iter()
            .filter(|m| m.acs == acs)
            .map(|m| m.http.clone())
            .collect();
        out.sort();
        out
    }
}

/// RPC names of the envelopes of a SOAP body: the first element inside each `Body`.
fn rpc_names(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("Body>") {
        rest = &rest[at + "Body>".len()..];
        let next = rest.trim_start();
        if let Some(element) = next.strip_prefix('<').filter(|e| !e.starts_with('/')) {
            let name: String = element
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            out.push(name.rsplit(':').next().unwrap_or_default().to_owned());
        }
    }
    out
}

fn first<'a>(layers: &'a Value, field: &str) -> &'a str {
    layers[field][0].as_str().unwrap_or_default()
}

/// tshark's HTTP messages of a capture, decrypted with `keys`.
fn tshark_http(file: &str, keys: &Keys) -> Decrypted {
    let mut args = vec!["-Y", "http", "-T", "json"];
    for field in [
        "frame.number",
        "tcp.stream",
        "tcp.port",
        "http.request.method",
        "http.request.uri",
        "http.response.code",
        "http.content_length_header",
        "http.file_data",
    ] {
        args.extend(["-e", field]);
    }
    let packets: Value = serde_json::from_str(&tshark(file, keys, &args)).expect("tshark JSON");
    let mut messages = Vec::new();
    let mut rpcs = BTreeMap::new();
    for packet in packets.as_array().expect("packets") {
        let layers = &packet["_source"]["layers"];
        assert!(
            layers["http.request.method"].as_array().map_or(0, Vec::len)
                + layers["http.response.code"].as_array().map_or(0, Vec::len)
                == 1,
            "{file}: one HTTP message a frame: {layers}"
        );
        let method = first(layers, "http.request.method");
        let what = if method.is_empty() {
            first(layers, "http.response.code").to_owned()
        } else {
            format!("{method} {}", first(layers, "http.request.uri"))
        };
        for rpc in rpc_names(first(layers, "http.file_data")) {
            *rpcs.entry(rpc).or_insert(0) += 1;
        }
        let number = |field: &str| first(layers, field).parse::<u64>().unwrap_or(0);
        let ports = layers["tcp.port"].as_array().expect("tcp.port");
        messages.push(Seen {
            stream: number("tcp.stream"),
            acs: ports.iter().any(|p| p == "7547"),
            http: Http {
                frame: number("frame.number"),
                what,
                body: number("http.content_length_header"),
            },
        });
    }
    Decrypted { messages, rpcs }
}

/// cwmpscope's messages to and from the ACS: those of every session, in frame order.
fn report_acs_http(report: &Value) -> Vec<Http> {
    let mut out = Vec::new();
    for s in common::sessions(report) {
        for m in s["messages"].as_array().expect("messages") {
            let what = match m["status"].as_u64() {
                Some(status) => status.to_string(),
                None => m["http"].as_str().expect("http line").to_owned(),
            };
            out.push(Http {
                frame: m["frame"].as_u64().expect("frame"),
                what,
                body: m["body_bytes"].as_u64().expect("body_bytes"),
            });
        }
    }
    out.sort();
    out
}

/// cwmpscope's file fetches: the fetch steps of every transaction (the final answer's body
/// is the transaction's `received_bytes`), in frame order.
fn report_fetch_http(report: &Value) -> Vec<Http> {
    let mut out = Vec::new();
    for t in report["transactions"].as_array().expect("transactions") {
        let steps: Vec<&Value> = t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|x| {
                x["close"] != true && (x["from"] == "file-server" || x["to"] == "file-server")
            })
            .collect();
        for (n, step) in steps.iter().enumerate() {
            let from_cpe = step["from"] == "cpe";
            let words = step["what"].as_str().expect("what").split(' ');
            let what = words
                .take(if from_cpe { 2 } else { 1 })
                .collect::<Vec<_>>()
                .join(" ");
            let last_answer = !from_cpe && n + 1 == steps.len() && what.starts_with('2');
            let body = if last_answer {
                t["received_bytes"].as_u64().expect("received_bytes")
            } else {
                0
            };
            out.push(Http {
                frame: step["frame"].as_u64().expect("frame"),
                what,
                body,
            });
        }
    }
    out.sort();
    out
}

/// RPC counts over every session of a report.
fn report_rpcs(report: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for s in common::sessions(report) {
        for (name, count) in s["rpcs"].as_object().expect("rpcs") {
            *out.entry(name.clone()).or_insert(0) += count.as_u64().expect("count");
        }
    }
    out
}

/// The TLS of one connection as tshark shows it: version (`1.2`) and cipher suite code, by
/// the client's `ip:port`.
fn tshark_handshakes(file: &str, keys: &Keys) -> BTreeMap<String, (String, u16)> {
    let out = tshark(
        file,
        keys,
        &[
            "-Y",
            "tls.handshake.type == 2",
            "-T",
            "fields",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
            "-e",
            "tls.handshake.version",
            "-e",
            "tls.handshake.extensions.supported_version",
            "-e",
            "tls.handshake.ciphersuite",
        ],
    );
    let hex = |v: &str| u16::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex field");
    out.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 5, "{file}: {line}");
            let version = hex(f[3]
                .split(',')
                .next_back()
                .filter(|v| !v.is_empty())
                .unwrap_or(f[2].split(',').next().unwrap_or_default()));
            let version = match version {
                0x0301 => "1.0",
                0x0302 => "1.1",
                0x0303 => "1.2",
                0x0304 => "1.3",
                other => panic!("{file}: version {other:#06x}"),
            };
            let suite = hex(f[4].split(',').next().unwrap_or_default());
            (format!("{}:{}", f[0], f[1]), (version.to_owned(), suite))
        })
        .collect()
}

/// IANA names of the cipher suites the captures negotiate.
fn suite_name(code: u16) -> &'static str {
    match code {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xC02F => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xCCA8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xC013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0x009D => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x003B => "TLS_RSA_WITH_NULL_SHA256",
        0xC018 => "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
        other => panic!("cipher suite {other:#06x} is not in the table"),
    }
}

/// `TLS 1.3` as `1.3` (anything else as itself, to fail the comparison).
fn version_of(reported: &Value) -> String {
    let text = reported.as_str().unwrap_or_default();
    text.strip_prefix("TLS ").unwrap_or(text).to_owned()
}

/// The suite as its IANA name.
fn suite_matches(reported: &Value, code: u16) -> bool {
    reported.as_str() == Some(suite_name(code))
}

/// Every `tls` object of a report that describes a connection (with `decrypted`), wherever
/// it is attached.
fn connection_tls(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "tls" && v["decrypted"].is_boolean() {
                    out.push(v.clone());
                }
                connection_tls(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| connection_tls(v, out)),
        _ => {}
    }
}

/// The reasons given for connections that were not (wholly) decrypted, with their counts:
/// `capture.tls.reasons`, checked against the rest of the report. The counts add up to
/// `capture.tls.undecrypted`; each reason is one of the stage's codes; and they are the
/// reasons of the connections' `tls` objects (sessions, file fetches) and of the `tls-opaque`
/// findings (which name them in words), connection for connection.
fn undecrypted_reasons(report: &Value) -> BTreeMap<String, u64> {
    let reasons: BTreeMap<String, u64> = report["capture"]["tls"]["reasons"]
        .as_object()
        .expect("capture.tls.reasons")
        .iter()
        .map(|(code, n)| (code.clone(), n.as_u64().expect("a count")))
        .collect();
    assert_eq!(
        reasons.values().sum::<u64>(),
        report["capture"]["tls"]["undecrypted"]
            .as_u64()
            .expect("undecrypted"),
        "reasons add up to undecrypted: {reasons:?}"
    );
    let codes: Vec<&str> = TlsReason::ALL.iter().map(|r| r.code()).collect();
    assert!(
        reasons.keys().all(|r| codes.contains(&r.as_str())),
        "{reasons:?}"
    );
    let mut shown: BTreeMap<String, u64> = BTreeMap::new();
    let mut all = Vec::new();
    connection_tls(report, &mut all);
    for t in &all {
        if let Some(reason) = t["reason"].as_str() {
            *shown.entry(reason.to_owned()).or_insert(0) += 1;
        }
    }
    for (code, message) in finding_codes(report) {
        if code == "tls-opaque" {
            let reason = TlsReason::ALL
                .iter()
                .find(|r| message.contains(r.message()))
                .unwrap_or_else(|| panic!("tls-opaque without its reason: {message}"));
            *shown.entry(reason.code().to_owned()).or_insert(0) += 1;
        }
    }
    assert_eq!(shown, reasons, "the reasons shown are those counted");
    reasons
}

/// `{reason: count}`.
fn reasons(reason: &str, count: u64) -> BTreeMap<String, u64> {
    BTreeMap::from([(reason.to_owned(), count)])
}

/// Finding codes anywhere in a report (sessions, transactions, the capture).
fn finding_codes(report: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lists: Vec<&Value> = vec![&report["findings"]];
    for key in ["sessions", "transactions"] {
        for item in report[key].as_array().expect("array") {
            lists.push(&item["findings"]);
        }
    }
    for list in lists {
        for f in list.as_array().expect("findings") {
            out.push((
                f["code"].as_str().unwrap_or_default().to_owned(),
                f["message"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

fn count_of(report: &Value, code: &str) -> usize {
    finding_codes(report)
        .iter()
        .filter(|(c, _)| c == code)
        .count()
}

/// cwmpscope shows what tshark decodes with the same keys: the messages to and from the
/// ACS (frame, request or status, body length) and their RPC counts, the file fetch when a
/// decrypted Download ordered it, and as many HTTP messages in all.
fn assert_same_http(file: &str, keys: &Keys, report: &Value) -> Decrypted {
    let theirs = tshark_http(file, keys);
    assert_eq!(
        report_acs_http(report),
        theirs.of(true),
        "{file}: ACS messages"
    );
    assert_eq!(report_rpcs(report), theirs.rpcs, "{file}: RPC counts");
    let fetch = report_fetch_http(report);
    if !fetch.is_empty() {
        assert_eq!(fetch, theirs.of(false), "{file}: the fetch");
    }
    assert_eq!(
        report["capture"]["http_messages"].as_u64(),
        Some(theirs.messages.len() as u64),
        "{file}: HTTP messages in all"
    );
    theirs
}

/// The oracle check of a capture decrypted with `keys`: the same HTTP messages and RPC
/// counts as tshark, the file fetch included; every session connection decrypted with
/// tshark's version and suite; every TLS connection counted as decrypted.
fn assert_matches_tshark(file: &str, keys: &Keys) -> Value {
    let report = analyze(&tls_file(file), keys);
    let theirs = assert_same_http(&tls_file(file), keys, &report);
    assert!(
        !theirs.of(true).is_empty(),
        "{file}: tshark decrypts nothing"
    );
    assert_eq!(
        report_fetch_http(&report),
        theirs.of(false),
        "{file}: the fetch"
    );

    let handshakes = tshark_handshakes(&tls_file(file), keys);
    for s in common::sessions(&report) {
        for tcp in s["tcp"].as_array().expect("tcp") {
            let cpe = tcp["cpe"].as_str().expect("cpe end");
            let (version, suite) = handshakes
                .get(cpe)
                .unwrap_or_else(|| panic!("{file}: no TLS handshake for {cpe}"));
            let tls = &tcp["tls"];
            assert_eq!(tls["decrypted"], true, "{file} {cpe}: {tls}");
            assert_eq!(&version_of(&tls["version"]), version, "{file} {cpe}: {tls}");
            assert!(
                suite_matches(&tls["cipher_suite"], *suite),
                "{file} {cpe}: {tls}, expected {}",
                suite_name(*suite)
            );
        }
    }
    assert_eq!(
        report["capture"]["tls"]["decrypted"].as_u64(),
        Some(handshakes.len() as u64),
        "{file}: decrypted connections"
    );
    assert_eq!(
        report["capture"]["tls"]["undecrypted"].as_u64(),
        Some(0),
        "{file}"
    );
    report
}

/// The events of each session that has messages, and the outcome of each transaction, for
/// compact checks.
fn outline(report: &Value) -> (Vec<String>, Vec<String>) {
    let sessions = common::sessions(report)
        .iter()
        .filter(|s| s["messages"].as_array().is_some_and(|m| !m.is_empty()))
        .map(|s| common::events(s).join("+"))
        .collect();
    let outcomes = report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| t["outcome"].as_str().unwrap_or_default().to_owned())
        .collect();
    (sessions, outcomes)
}

const CONFIG_UPDATE: [&str; 2] = [
    "2 PERIODIC",
    "7 TRANSFER COMPLETE+4 VALUE CHANGE+M Download",
];

fn assert_config_update(file: &str, report: &Value) {
    let (sessions, outcomes) = outline(report);
    assert_eq!(sessions, CONFIG_UPDATE, "{file}");
    assert_eq!(outcomes, ["success"], "{file}");
}

/// What tshark shows of each capture (captures/README.md, "TLS captures"): file, frames, TCP
/// connections, ACS messages and fetch messages decrypted with the capture's keys,
/// ServerHellos, and the version and cipher suite of every ServerHello.
type Shown = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    &'static str,
    u16,
);

/// Every capture of `captures/tls/`.
const SHOWN: &[Shown] = &[
    ("tls13-aes256gcm.pcap", 58, 3, 14, 4, 2, "1.3", 0x1302),
    ("tls13-chacha20.pcap", 56, 3, 14, 4, 2, "1.3", 0x1303),
    (
        "tls13-aes128gcm-resumed-https-fetch.pcap",
        62,
        3,
        14,
        4,
        3,
        "1.3",
        0x1301,
    ),
    ("tls13-fleet.pcap", 171, 9, 42, 12, 6, "1.3", 0x1302),
    (
        "tls13-expired-certificate.pcap",
        56,
        3,
        14,
        4,
        2,
        "1.3",
        0x1302,
    ),
    (
        "tls13-handshake-failure.pcap",
        53,
        4,
        6,
        4,
        3,
        "1.3",
        0x1302,
    ),
    (
        "tls13-aes256gcm-keys.pcapng",
        58,
        3,
        14,
        4,
        2,
        "1.3",
        0x1302,
    ),
    (
        "tls13-handshake-missing.pcap",
        48,
        3,
        8,
        4,
        1,
        "1.3",
        0x1302,
    ),
    ("tls13-capture-gap.pcap", 57, 3, 13, 4, 2, "1.3", 0x1302),
    (
        "tls13-corrupted-record.pcap",
        58,
        3,
        12,
        4,
        2,
        "1.3",
        0x1302,
    ),
    ("tls12-ecdhe-aes128gcm.pcap", 54, 3, 14, 4, 2, "1.2", 0xC02F),
    ("tls12-ecdhe-chacha20.pcap", 54, 3, 14, 4, 2, "1.2", 0xCCA8),
    (
        "tls12-ecdhe-aes256cbc-sha384-etm.pcap",
        54,
        3,
        14,
        4,
        2,
        "1.2",
        0xC028,
    ),
    (
        "tls12-ecdhe-aes128cbc-sha-mte.pcap",
        54,
        3,
        14,
        4,
        2,
        "1.2",
        0xC013,
    ),
    (
        "tls12-ecdhe-ticket-resumption.pcap",
        54,
        3,
        14,
        4,
        2,
        "1.2",
        0xC02F,
    ),
    ("tls12-rsa-aes256gcm.pcap", 54, 3, 14, 4, 2, "1.2", 0x009D),
    (
        "tls12-rsa-sessionid-resumption.pcap",
        54,
        3,
        14,
        4,
        2,
        "1.2",
        0x009D,
    ),
    ("tls12-name-mismatch.pcap", 54, 3, 14, 4, 2, "1.2", 0xC02F),
    (
        "tls12-handshake-failure.pcap",
        52,
        4,
        6,
        4,
        3,
        "1.2",
        0xC02F,
    ),
    ("tls12-null-cipher.pcap", 54, 3, 14, 4, 2, "1.2", 0x003B),
    ("tls12-anonymous.pcap", 54, 3, 14, 4, 2, "1.2", 0xC018),
    ("tls10-weak-version.pcap", 54, 3, 14, 4, 2, "1.0", 0xC013),
];

/// The key material recorded with a capture: its key log, the ACS's RSA key for the RSA
/// key exchange, none for the pcapng that carries it; derived captures use their base's.
fn recorded_keys(file: &str) -> Keys {
    let stem = file.trim_end_matches(".pcap");
    match stem {
        "tls13-aes256gcm-keys.pcapng" => Keys::None,
        "tls13-handshake-missing" | "tls13-capture-gap" | "tls13-corrupted-record" => {
            Keys::keylog("tls13-aes256gcm")
        }
        s if s.starts_with("tls12-rsa-") => Keys::Rsa(pki("acs.key.pem")),
        s => Keys::keylog(s),
    }
}

/// The oracle itself: tshark decrypts every capture with its key material into what
/// captures/README.md says, and without the keys sees no CWMP (but through the NULL cipher).
#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn tshark_decrypts_every_capture_as_described() {
    if !common::oracle_available("tshark") {
        return;
    }
    let mut listed: Vec<&str> = SHOWN.iter().map(|c| c.0).collect();
    listed.sort();
    let mut present: Vec<String> = std::fs::read_dir(tls_file(""))
        .expect("captures/tls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    present.sort();
    assert_eq!(present, listed, "every capture is described");
    for &(name, frames, connections, acs, fetch, hellos, version, suite) in SHOWN {
        let file = tls_file(name);
        let keys = recorded_keys(name);
        let streams = tshark(&file, &Keys::None, &["-T", "fields", "-e", "tcp.stream"]);
        assert_eq!(streams.lines().count(), frames, "{name}: frames");
        let distinct: BTreeSet<&str> = streams.lines().collect();
        assert_eq!(distinct.len(), connections, "{name}: connections");
        let decrypted = tshark_http(&file, &keys);
        assert_eq!(decrypted.of(true).len(), acs, "{name}: ACS messages");
        assert_eq!(decrypted.of(false).len(), fetch, "{name}: fetch messages");
        let seen = tshark_handshakes(&file, &keys);
        assert_eq!(seen.len(), hellos, "{name}: ServerHellos");
        for (client, (v, s)) in &seen {
            assert_eq!((v.as_str(), *s), (version, suite), "{name} {client}");
        }
        let blind = tshark_http(&file, &Keys::None).of(true).len();
        let readable_without_keys = matches!(
            name,
            "tls12-null-cipher.pcap" | "tls13-aes256gcm-keys.pcapng"
        );
        let expected = if readable_without_keys { acs } else { 0 };
        assert_eq!(blind, expected, "{name}: ACS messages without keys");
    }
}

/// The comparison itself, on clear traffic where cwmpscope needs no key: what it reports is
/// what tshark decodes.
#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn comparison_with_tshark_holds_on_the_clear_reference_captures() {
    if !common::oracle_available("tshark") {
        return;
    }
    for (name, acs) in [
        ("reference-config-update.pcap", 14),
        ("reference-cookie.pcap", 16),
    ] {
        let file = common::capture(name);
        let report = analyze(&file, &Keys::None);
        let theirs = assert_same_http(&file, &Keys::None, &report);
        assert_eq!(theirs.of(true).len(), acs, "{name}");
        assert_eq!(report_fetch_http(&report).len(), 4, "{name}");
    }
}

macro_rules! oracle_tests {
    ($($name:ident: $file:expr, $keys:expr;)*) => {$(
        #[test]
        #[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
        fn $name() {
            if !common::oracle_available("tshark") {
                return;
            }
            let report = assert_matches_tshark($file, &$keys);
            assert_config_update($file, &report);
        }
    )*};
}

oracle_tests! {
    tls13_aes256gcm_matches_tshark: "tls13-aes256gcm.pcap", Keys::keylog("tls13-aes256gcm");
    tls13_chacha20_matches_tshark: "tls13-chacha20.pcap", Keys::keylog("tls13-chacha20");
    tls13_resumed_session_and_https_fetch_match_tshark:
        "tls13-aes128gcm-resumed-https-fetch.pcap",
        Keys::keylog("tls13-aes128gcm-resumed-https-fetch");
    tls13_expired_certificate_still_decrypts: "tls13-expired-certificate.pcap",
        Keys::keylog("tls13-expired-certificate");
    tls12_ecdhe_aes128gcm_matches_tshark: "tls12-ecdhe-aes128gcm.pcap",
        Keys::keylog("tls12-ecdhe-aes128gcm");
    tls12_ecdhe_chacha20_matches_tshark: "tls12-ecdhe-chacha20.pcap",
        Keys::keylog("tls12-ecdhe-chacha20");
    tls12_cbc_sha384_encrypt_then_mac_matches_tshark: "tls12-ecdhe-aes256cbc-sha384-etm.pcap",
        Keys::keylog("tls12-ecdhe-aes256cbc-sha384-etm");
    tls12_cbc_sha1_mac_then_encrypt_matches_tshark: "tls12-ecdhe-aes128cbc-sha-mte.pcap",
        Keys::keylog("tls12-ecdhe-aes128cbc-sha-mte");
    tls12_ticket_resumption_matches_tshark: "tls12-ecdhe-ticket-resumption.pcap",
        Keys::keylog("tls12-ecdhe-ticket-resumption");
    tls12_name_mismatch_still_decrypts: "tls12-name-mismatch.pcap",
        Keys::keylog("tls12-name-mismatch");
    tls12_rsa_key_exchange_with_the_acs_key_matches_tshark: "tls12-rsa-aes256gcm.pcap",
        Keys::Rsa(pki("acs.key.pem"));
    tls12_rsa_key_in_pkcs1_form_matches_tshark: "tls12-rsa-aes256gcm.pcap",
        Keys::Rsa(pki("acs.pkcs1.key.pem"));
    tls12_rsa_key_bound_to_the_acs_address_matches_tshark: "tls12-rsa-aes256gcm.pcap",
        Keys::Rsa(format!("{}@{ACS}", pki("acs.key.pem")));
    tls12_rsa_session_id_resumption_matches_tshark: "tls12-rsa-sessionid-resumption.pcap",
        Keys::Rsa(pki("acs.key.pem"));
    pcapng_with_injected_secrets_needs_no_flag: "tls13-aes256gcm-keys.pcapng", Keys::None;
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn fleet_of_three_sharing_one_key_log_matches_tshark() {
    if !common::oracle_available("tshark") {
        return;
    }
    let file = "tls13-fleet.pcap";
    let report = assert_matches_tshark(file, &Keys::keylog("tls13-fleet"));
    let s = common::sessions(&report);
    assert_eq!(s.len(), 6, "two sessions for each of three CPEs");
    let cpes: BTreeSet<(&str, &str)> = s
        .iter()
        .map(|x| {
            (
                x["cpe"]["ip"].as_str().unwrap_or_default(),
                x["cpe"]["serial"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        cpes,
        BTreeSet::from([
            ("127.0.10.5", "CP0923JT001"),
            ("127.0.10.6", "CP0923JT002"),
            ("127.0.10.7", "CP0923JT003"),
        ])
    );
    let (_, outcomes) = outline(&report);
    assert_eq!(outcomes, ["success"; 3]);
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn key_log_split_over_two_files_gives_the_same_report() {
    if !common::oracle_available("tshark") {
        return;
    }
    let text = std::fs::read_to_string(keylog("tls13-fleet")).expect("key log");
    let (mut odd, mut even) = (String::new(), String::new());
    for (n, line) in text.lines().enumerate() {
        let half = if n % 2 == 0 { &mut even } else { &mut odd };
        half.push_str(line);
        half.push('\n');
    }
    let halves = [
        common::scratch("fleet-even.keys"),
        common::scratch("fleet-odd.keys"),
    ];
    std::fs::write(&halves[0], even).expect("write");
    std::fs::write(&halves[1], odd).expect("write");
    let split = Keys::KeyLogs(
        halves
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    );
    let file = tls_file("tls13-fleet.pcap");
    let report = analyze(&file, &split);
    assert_same_http(&file, &Keys::keylog("tls13-fleet"), &report);
    assert_eq!(report["capture"]["tls"]["decrypted"].as_u64(), Some(6));
    for p in &halves {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn handshake_failures_leave_the_first_session_and_fetch_decrypted() {
    if !common::oracle_available("tshark") {
        return;
    }
    for stem in ["tls12-handshake-failure", "tls13-handshake-failure"] {
        let file = tls_file(&format!("{stem}.pcap"));
        let keys = Keys::keylog(stem);
        let report = analyze(&file, &keys);
        let theirs = assert_same_http(&file, &keys, &report);
        assert_eq!(theirs.messages.len(), 10, "{stem}: steps 2-12");
        let (sessions, outcomes) = outline(&report);
        assert_eq!(sessions, ["2 PERIODIC"], "{stem}");
        assert_eq!(outcomes, ["incomplete"], "{stem}: no TransferComplete");
    }
}

// --- what cannot be decrypted, and why ----------------------------------------------------

/// Client randoms of a capture's ClientHellos, by TCP stream.
fn client_randoms(file: &str) -> BTreeMap<u64, String> {
    tshark(
        file,
        &Keys::None,
        &[
            "-Y",
            "tls.handshake.type == 1",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tls.handshake.random",
        ],
    )
    .lines()
    .map(|line| {
        let (stream, random) = line.split_once('\t').expect("two fields");
        (
            stream.parse().expect("stream"),
            random.replace(':', "").to_ascii_lowercase(),
        )
    })
    .collect()
}

/// A copy of key log `stem` in the scratch directory, each line about `random` passed
/// through `edit` (None drops it).
fn edited_keylog(stem: &str, random: &str, edit: impl Fn(&str) -> Option<String>) -> String {
    let text = std::fs::read_to_string(keylog(stem)).expect("key log");
    let mut out = String::new();
    let mut touched = 0;
    for line in text.lines() {
        let about = line.split_whitespace().nth(1) == Some(random);
        let kept = if about {
            touched += 1;
            edit(line)
        } else {
            Some(line.to_owned())
        };
        if let Some(kept) = kept {
            out.push_str(&kept);
            out.push('\n');
        }
    }
    assert!(touched > 0, "{stem}: no line for client random {random}");
    let path = common::scratch(&format!("{stem}-{}.keys", &random[..8]));
    std::fs::write(&path, out).expect("write key log");
    path.to_string_lossy().into_owned()
}

/// The line with its secret's first hex digit changed.
fn wrong_secret(line: &str) -> Option<String> {
    let (head, secret) = line.rsplit_once(' ')?;
    let mut digits: Vec<char> = secret.chars().collect();
    digits[0] = if digits[0] == '0' { '1' } else { '0' };
    Some(format!("{head} {}", digits.into_iter().collect::<String>()))
}

/// The checks of a capture whose key material covers only part of it: cwmpscope shows what
/// tshark decrypts with the same keys, gives `reason` for the connections it cannot decrypt,
/// and counts them.
fn assert_partly_decrypted(file: &str, keys: &Keys, reason: &str, undecrypted: u64) -> Value {
    let report = analyze(file, keys);
    assert_same_http(file, keys, &report);
    assert_eq!(
        undecrypted_reasons(&report),
        reasons(reason, undecrypted),
        "{file}"
    );
    report
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn key_log_without_a_connection_is_no_key_for_it() {
    if !common::oracle_available("tshark") {
        return;
    }
    let file = tls_file("tls13-aes256gcm.pcap");
    let randoms = client_randoms(&file);
    let partial = edited_keylog("tls13-aes256gcm", &randoms[&0], |_| None);
    let report = assert_partly_decrypted(&file, &Keys::KeyLogs(vec![partial]), "no-key", 1);
    let (sessions, _) = outline(&report);
    assert_eq!(
        sessions,
        [CONFIG_UPDATE[1]],
        "the second session, decrypted"
    );
    assert_eq!(report["capture"]["tls"]["decrypted"].as_u64(), Some(1));
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn another_captures_key_log_or_none_is_no_key() {
    if !common::oracle_available("tshark") {
        return;
    }
    let file = tls_file("tls13-aes256gcm.pcap");
    for keys in [Keys::keylog("tls13-chacha20"), Keys::None] {
        let report = assert_partly_decrypted(&file, &keys, "no-key", 2);
        assert_eq!(report["capture"]["tls"]["decrypted"].as_u64(), Some(0));
        assert_eq!(
            report["capture"]["http_messages"].as_u64(),
            Some(4),
            "the clear file fetch is still read"
        );
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn wrong_secret_in_the_key_log_is_record_auth_failed() {
    if !common::oracle_available("tshark") {
        return;
    }
    for stem in ["tls13-aes256gcm", "tls12-ecdhe-aes128gcm"] {
        let file = tls_file(&format!("{stem}.pcap"));
        let randoms = client_randoms(&file);
        let wrong = edited_keylog(stem, &randoms[&0], wrong_secret);
        let report =
            assert_partly_decrypted(&file, &Keys::KeyLogs(vec![wrong]), "record-auth-failed", 1);
        let (sessions, _) = outline(&report);
        assert_eq!(sessions, [CONFIG_UPDATE[1]], "{stem}");
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn rsa_key_of_another_server_is_rsa_key_mismatch() {
    if !common::oracle_available("tshark") {
        return;
    }
    let file = tls_file("tls12-rsa-aes256gcm.pcap");
    let keys = Keys::Rsa(pki("files.key.pem"));
    assert_partly_decrypted(&file, &keys, "rsa-key-mismatch", 2);
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn rsa_key_for_an_ephemeral_key_exchange_is_ephemeral_key_exchange() {
    if !common::oracle_available("tshark") {
        return;
    }
    for stem in ["tls12-ecdhe-aes128gcm", "tls13-aes256gcm"] {
        let file = tls_file(&format!("{stem}.pcap"));
        let keys = Keys::Rsa(pki("acs.key.pem"));
        assert_partly_decrypted(&file, &keys, "ephemeral-key-exchange", 2);
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn capture_started_after_the_handshake_is_handshake_not_captured() {
    if !common::oracle_available("tshark") {
        return;
    }
    let file = tls_file("tls13-handshake-missing.pcap");
    let report = assert_partly_decrypted(
        &file,
        &Keys::keylog("tls13-aes256gcm"),
        "handshake-not-captured",
        1,
    );
    let (sessions, outcomes) = outline(&report);
    assert_eq!(sessions, [CONFIG_UPDATE[1]]);
    assert!(outcomes.len() <= 1, "{outcomes:?}");
}

/// The messages of the base capture `tls13-aes256gcm.pcap`, as tshark decrypts them.
fn base_messages() -> Vec<Seen> {
    tshark_http(
        &tls_file("tls13-aes256gcm.pcap"),
        &Keys::keylog("tls13-aes256gcm"),
    )
    .messages
}

/// A damaged copy of the base capture: every ACS message before the damaged frame and every
/// message of the other ACS connection is shown as tshark shows it; nothing is shown that
/// was not in the undamaged capture (`shift` frames earlier after the damage); the fetch is
/// shown when the Download was decrypted; the damaged connection, decrypted up to the damage,
/// gives `reason`.
fn assert_damaged(name: &str, damaged_frame: u64, shift: u64, reason: &str) {
    let file = tls_file(name);
    let keys = Keys::keylog("tls13-aes256gcm");
    let report = analyze(&file, &keys);
    let mut ours = report_acs_http(&report);
    let base = base_messages();
    let hit_stream = base
        .iter()
        .find(|m| m.http.frame == damaged_frame)
        .map(|m| m.stream)
        .expect("damaged frame carries a message");
    let theirs = tshark_http(&file, &keys);
    for m in theirs.messages.iter().filter(|m| m.acs) {
        if m.stream != hit_stream || m.http.frame < damaged_frame {
            assert!(
                ours.contains(&m.http),
                "{name}: {m:?} missing from {ours:?}"
            );
        }
    }
    let fetch = report_fetch_http(&report);
    if !fetch.is_empty() {
        assert_eq!(fetch, theirs.of(false), "{name}: the fetch");
    }
    ours.extend(fetch);
    let shifted: Vec<Http> = base
        .iter()
        .map(|m| &m.http)
        .filter(|m| m.frame != damaged_frame)
        .map(|m| Http {
            frame: if m.frame > damaged_frame {
                m.frame - shift
            } else {
                m.frame
            },
            ..m.clone()
        })
        .collect();
    for m in &ours {
        assert!(shifted.contains(m), "{name}: {m:?} is not in the capture");
    }
    assert_eq!(undecrypted_reasons(&report), reasons(reason, 1), "{name}");
    assert_eq!(report["capture"]["tls"]["decrypted"].as_u64(), Some(1));
    let mut all = Vec::new();
    connection_tls(&report, &mut all);
    let damaged: Vec<&Value> = all.iter().filter(|t| t.get("reason").is_some()).collect();
    assert_eq!(damaged.len(), 1, "{name}: {all:?}");
    assert_eq!(damaged[0]["reason"], reason, "{name}");
    assert_eq!(
        damaged[0]["decrypted"], true,
        "{name}: decrypted up to the damage"
    );
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn record_lost_to_a_capture_gap_is_record_lost() {
    if !common::oracle_available("tshark") {
        return;
    }
    // The frame of the DownloadResponse (step 6), removed with editcap.
    let dropped = download_response_frame();
    assert_damaged("tls13-capture-gap.pcap", dropped, 1, "record-lost");
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn corrupted_record_is_record_auth_failed() {
    if !common::oracle_available("tshark") {
        return;
    }
    // The frame of the InformResponse + Download (step 5), one ciphertext byte flipped.
    let corrupted = base_messages()
        .iter()
        .find(|m| m.http.what == "200" && m.http.body > 1000)
        .map(|m| m.http.frame)
        .expect("the InformResponse + Download");
    assert_damaged(
        "tls13-corrupted-record.pcap",
        corrupted,
        0,
        "record-auth-failed",
    );
}

/// The frame of the DownloadResponse in the base capture: the third POST.
fn download_response_frame() -> u64 {
    base_messages()
        .iter()
        .filter(|m| m.http.what.starts_with("POST"))
        .nth(2)
        .map(|m| m.http.frame)
        .expect("three POSTs in the first session")
}

// --- secrets ------------------------------------------------------------------------------

#[test]
fn key_material_never_reaches_the_output() {
    let pem = std::fs::read_to_string(pki("acs.key.pem")).expect("key");
    let pem_lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for (file, keys, keylog_stem) in [
        (
            "tls13-aes256gcm.pcap",
            Keys::keylog("tls13-aes256gcm"),
            "tls13-aes256gcm",
        ),
        ("tls13-aes256gcm-keys.pcapng", Keys::None, "tls13-aes256gcm"),
        (
            "tls12-ecdhe-aes128gcm.pcap",
            Keys::keylog("tls12-ecdhe-aes128gcm"),
            "tls12-ecdhe-aes128gcm",
        ),
        (
            "tls12-rsa-aes256gcm.pcap",
            Keys::Rsa(pki("acs.key.pem")),
            "",
        ),
    ] {
        let secrets: Vec<String> = if keylog_stem.is_empty() {
            Vec::new()
        } else {
            std::fs::read_to_string(keylog(keylog_stem))
                .expect("key log")
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
                .collect()
        };
        for format in ["json", "ndjson", "text"] {
            let (out, err, ok) = run_cwmpscope(&tls_file(file), &keys, format);
            assert!(ok, "{file}: {err}");
            let both = format!("{out}{err}").to_ascii_lowercase();
            for secret in &secrets {
                assert!(!both.contains(secret.as_str()), "{file} {format}: a secret");
            }
            for line in &pem_lines {
                assert!(
                    !both.contains(&line.to_ascii_lowercase()),
                    "{file} {format}"
                );
            }
            assert!(!out.contains("cpe-secret") && !out.contains("file-secret"));
        }
        let report = analyze(&tls_file(file), &keys);
        let download = common::sessions(&report)[0]["messages"][3]["envelopes"][1].clone();
        assert_eq!(download["rpc"], "Download", "{file}");
        assert_eq!(
            download["args"]["password"], "<redacted>",
            "{file}: decrypted bodies are redacted like clear ones"
        );
    }
}

// --- keys in every way the tool reads captures -------------------------------------------

/// The sessions and the `capture.tls` counts of a JSON report.
fn decrypted_outline(report: &Value) -> (usize, Value) {
    (
        common::sessions(report).len(),
        report["capture"]["tls"].clone(),
    )
}

#[test]
fn secrets_in_a_pcapng_on_stdin_are_used_as_from_a_file() {
    let file = tls_file("tls13-aes256gcm-keys.pcapng");
    let from_file = analyze(&file, &Keys::None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(["analyze", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cwmpscope runs");
    let bytes = std::fs::read(&file).expect("capture");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // In pieces, as a pipe delivers it.
        for chunk in bytes.chunks(1500) {
            stdin.write_all(chunk).expect("write");
        }
    });
    writer.join().expect("writer");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success());
    let from_stdin: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        decrypted_outline(&from_stdin),
        decrypted_outline(&from_file)
    );
    assert_eq!(from_stdin["capture"]["tls"]["decrypted"], 2);
    assert_eq!(report_acs_http(&from_stdin), report_acs_http(&from_file));
}

#[test]
fn extract_decrypts_with_the_keys_and_so_does_the_report_of_what_it_wrote() {
    let dir = common::scratch("tls-extract");
    let _ = std::fs::create_dir_all(&dir);
    let pcap = dir.join("t1.pcap");
    let keys = keylog("tls13-aes256gcm");
    let file = tls_file("tls13-aes256gcm.pcap");
    let pcap_name = pcap.display().to_string();
    let (_, err, ok) = common::cwmpscope(&[
        "extract",
        "--transaction",
        "t1",
        "--tls-keylog",
        &keys,
        "-w",
        &pcap_name,
        &file,
    ]);
    assert!(ok, "{err}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(pcap.with_extension("json")).expect("json"))
            .expect("JSON");
    assert_eq!(
        written["capture"]["tls"]["decrypted"], 2,
        "{}",
        written["capture"]
    );
    assert_eq!(written["transactions"][0]["outcome"], "success");
    // Without the key log there is no transaction to extract.
    let (_, _, ok) =
        common::cwmpscope(&["extract", "--transaction", "t1", "-w", &pcap_name, &file]);
    assert!(!ok);
}

#[test]
fn the_view_and_its_saves_decrypt_with_the_keys_given() {
    use cwmpscope::tui::app_of_with_keys;
    use cwmpscope::tui::state::Action;
    let args = [
        "cwmpscope",
        "tui",
        "--tls-keylog",
        "k.keys",
        "--tls-key",
        "acs.pem@127.0.10.2:7547",
        "c.pcap",
    ];
    assert!(
        Cli::try_parse_from(args).is_ok(),
        "tui takes the key options"
    );
    let files = vec![tls_file("tls13-aes256gcm.pcap")];
    let mut keys = cwmpscope::tls::TlsKeys::default();
    keys.add_keylog_file(&keylog("tls13-aes256gcm"))
        .expect("key log");
    let blind = app_of_with_keys(&files, false, Default::default()).expect("analysis");
    assert!(blind.transactions.is_empty());
    let mut app = app_of_with_keys(&files, false, std::sync::Arc::new(keys)).expect("analysis");
    assert_eq!(app.transactions.len(), 1);
    assert_eq!(app.transactions[0].outcome.as_str(), "success");
    // Saving the transaction reads the capture again with the same keys.
    let dir = common::scratch("tls-tui-save");
    let _ = std::fs::create_dir_all(&dir);
    app.save_dir = dir.clone();
    app.on_action(Action::Save);
    let name = app.prompt.clone().expect("prompt").text;
    app.on_action(Action::Open);
    app.wait_jobs();
    let status = app.status.clone().unwrap_or_default();
    assert!(status.starts_with("wrote "), "{status}");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(&name).with_extension("json")).expect("json"),
    )
    .expect("JSON");
    assert_eq!(saved["capture"]["tls"]["decrypted"], 2);
    assert_eq!(saved["transactions"][0]["outcome"], "success");
}

// --- judging the TLS itself ---------------------------------------------------------------

/// The findings of `code`, as (where, message, frames): `capture`, `s1`, `t1` …
fn found(report: &Value, code: &str) -> Vec<(String, String, Vec<u64>)> {
    let mut out = Vec::new();
    let mut lists: Vec<(String, &Value)> = vec![("capture".to_owned(), &report["findings"])];
    for key in ["sessions", "transactions"] {
        for item in report[key].as_array().expect("array") {
            let id = item["id"].as_str().unwrap_or_default().to_owned();
            lists.push((id, &item["findings"]));
        }
    }
    for (at, list) in lists {
        for f in list.as_array().expect("findings") {
            if f["code"] == code {
                let frames = f["frames"]
                    .as_array()
                    .expect("frames")
                    .iter()
                    .map(|n| n.as_u64().expect("frame number"))
                    .collect();
                let message = f["message"].as_str().unwrap_or_default().to_owned();
                out.push((at.clone(), message, frames));
            }
        }
    }
    out
}

#[test]
fn expired_acs_certificate_is_found() {
    let expired = analyze(
        &tls_file("tls13-expired-certificate.pcap"),
        &Keys::keylog("tls13-expired-certificate"),
    );
    let f = found(&expired, "tls-certificate-expired");
    // One for each session's connection, with the session.
    let at: Vec<&str> = f.iter().map(|(at, _, _)| at.as_str()).collect();
    assert_eq!(at, ["s1", "s2"], "{f:?}");
    assert!(
        f.iter()
            .all(|(_, m, _)| m.contains("to 2025-11-01T00:00:00Z") && m.contains("ACS")),
        "{f:?}"
    );
    // TLS 1.3 sends the certificate encrypted: without the keys it is not seen.
    let blind = analyze(&tls_file("tls13-expired-certificate.pcap"), &Keys::None);
    assert_eq!(count_of(&blind, "tls-certificate-expired"), 0);
    let valid = analyze(
        &tls_file("tls13-aes256gcm.pcap"),
        &Keys::keylog("tls13-aes256gcm"),
    );
    assert_eq!(count_of(&valid, "tls-certificate-expired"), 0);
}

#[test]
fn acs_certificate_for_another_name_is_found() {
    let file = tls_file("tls12-name-mismatch.pcap");
    let mismatch = analyze(&file, &Keys::keylog("tls12-name-mismatch"));
    let f = found(&mismatch, "tls-certificate-name-mismatch");
    let at: Vec<&str> = f.iter().map(|(at, _, _)| at.as_str()).collect();
    assert_eq!(at, ["s1", "s2"], "{f:?}");
    assert!(
        f.iter()
            .all(|(_, m, _)| m.contains("DNS:acs-legacy.cwmpscope.test")
                && m.contains(
                    "does not name acs.cwmpscope.test, the host of ManagementServer.URL"
                )),
        "{f:?}"
    );
    // The Certificate messages, in clear.
    let frames: Vec<&[u64]> = f.iter().map(|(_, _, frames)| frames.as_slice()).collect();
    assert_eq!(frames, [&[6][..], &[38][..]]);
    // TLS 1.2 shows the certificate in clear: the finding needs no key. With no Inform to
    // read, the name is the one the CPE asked for.
    let blind = found(
        &analyze(&file, &Keys::None),
        "tls-certificate-name-mismatch",
    );
    assert_eq!(blind.len(), 2, "{blind:?}");
    assert!(
        blind.iter().all(|(at, m, _)| at == "capture"
            && m.contains("acs.cwmpscope.test, the name the CPE asked for (SNI)")),
        "{blind:?}"
    );
    let matching = analyze(
        &tls_file("tls12-ecdhe-aes128gcm.pcap"),
        &Keys::keylog("tls12-ecdhe-aes128gcm"),
    );
    assert_eq!(count_of(&matching, "tls-certificate-name-mismatch"), 0);
}

#[test]
fn tls_1_0_is_a_weak_version() {
    let old = analyze(
        &tls_file("tls10-weak-version.pcap"),
        &Keys::keylog("tls10-weak-version"),
    );
    let f = found(&old, "tls-weak-version");
    assert_eq!(f.len(), 2, "both ACS connections: {f:?}");
    assert!(
        f.iter().all(
            |(_, m, frames)| m.starts_with("TLS 1.0 negotiated between the CPE")
                && frames.len() == 1
        ),
        "{f:?}"
    );
    // TLS 1.0 is not decrypted: each connection says so, with its version.
    assert_eq!(undecrypted_reasons(&old), reasons("unsupported-cipher", 2));
    let opaque = found(&old, "tls-opaque");
    assert!(
        opaque.len() == 2
            && opaque
                .iter()
                .all(|(_, m, _)| m.contains("(TLS 1.0, not decrypted")),
        "{opaque:?}"
    );
    let current = analyze(
        &tls_file("tls12-ecdhe-aes128gcm.pcap"),
        &Keys::keylog("tls12-ecdhe-aes128gcm"),
    );
    assert_eq!(count_of(&current, "tls-weak-version"), 0);
}

#[test]
fn null_and_anonymous_suites_are_weak_ciphers() {
    for (stem, suite, why) in [
        (
            "tls12-null-cipher",
            "TLS_RSA_WITH_NULL_SHA256",
            "no encryption (NULL)",
        ),
        (
            "tls12-anonymous",
            "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
            "anonymous: the server is not authenticated",
        ),
    ] {
        let weak = found(
            &analyze(&tls_file(&format!("{stem}.pcap")), &Keys::None),
            "tls-weak-cipher",
        );
        assert_eq!(weak.len(), 2, "{stem}: {weak:?}");
        assert!(
            weak.iter()
                .all(|(_, m, _)| m.contains(suite) && m.ends_with(why)),
            "{stem}: {weak:?}"
        );
    }
    for stem in ["tls12-ecdhe-aes128gcm", "tls12-ecdhe-aes128cbc-sha-mte"] {
        let strong = analyze(&tls_file(&format!("{stem}.pcap")), &Keys::keylog(stem));
        assert_eq!(count_of(&strong, "tls-weak-cipher"), 0, "{stem}");
    }
}

#[test]
fn rejected_certificate_is_a_failed_handshake_with_its_alert() {
    // The frames of the alerts, after those of the certificates they reject (seen in clear in
    // TLS 1.2; in TLS 1.3 only with the keys).
    for (stem, keys, frames) in [
        (
            "tls12-handshake-failure",
            Keys::None,
            [vec![38, 40], vec![48, 50]],
        ),
        ("tls13-handshake-failure", Keys::None, [vec![42], vec![51]]),
        (
            "tls13-handshake-failure",
            Keys::keylog("tls13-handshake-failure"),
            [vec![40, 42], vec![49, 51]],
        ),
    ] {
        // The alert travels in clear in both versions: no key needed.
        let report = analyze(&tls_file(&format!("{stem}.pcap")), &keys);
        let failed = found(&report, "tls-handshake-failed");
        assert_eq!(failed.len(), 2, "{stem}: the attempt and its retry");
        assert!(
            failed.iter().all(|(at, m, _)| at == "capture"
                && m.contains("sent alert unknown_ca (48, fatal) to the ACS 127.0.10.2:7547")
                && m.contains("the CPE rejected the ACS's certificate")),
            "{stem}: {failed:?}"
        );
        let seen: Vec<&Vec<u64>> = failed.iter().map(|(_, _, f)| f).collect();
        assert_eq!(seen, frames.iter().collect::<Vec<_>>(), "{stem}");
        // A failed handshake hid nothing: no tls-opaque, not counted; the first connection
        // is counted (and opaque without its key).
        assert_eq!(
            count_of(&report, "tls-opaque"),
            usize::from(matches!(keys, Keys::None))
        );
        let tls = &report["capture"]["tls"];
        assert_eq!(
            tls["decrypted"].as_u64().unwrap() + tls["undecrypted"].as_u64().unwrap(),
            1,
            "{stem}: {tls}"
        );
    }
    let clean = analyze(
        &tls_file("tls12-ecdhe-aes128gcm.pcap"),
        &Keys::keylog("tls12-ecdhe-aes128gcm"),
    );
    assert_eq!(count_of(&clean, "tls-handshake-failed"), 0);
}

/// On every capture, with its keys and without: what `capture.tls` counts is what the
/// sessions, fetches and `tls-opaque` findings show (see `undecrypted_reasons`), and the text
/// summary says the same.
#[test]
fn tls_counts_agree_with_what_each_connection_shows() {
    for &(name, ..) in SHOWN {
        for keys in [recorded_keys(name), Keys::None] {
            let report = analyze(&tls_file(name), &keys);
            let reasons = undecrypted_reasons(&report);
            let tls = &report["capture"]["tls"];
            let (text, err, ok) = run_cwmpscope(&tls_file(name), &keys, "text");
            assert!(ok, "{name}: {err}");
            let counts = format!(
                "TLS to the ACS and file servers: {} decrypted, {} not",
                tls["decrypted"], tls["undecrypted"]
            );
            let line = text
                .lines()
                .find(|l| l.contains(&counts))
                .unwrap_or_else(|| panic!("{name}: no `{counts}` in\n{text}"));
            let why = line[line.find(&counts).unwrap_or(0) + counts.len()..]
                .split(" · ")
                .next()
                .unwrap_or_default();
            let mut listed: Vec<String> = why
                .strip_prefix(" (")
                .and_then(|w| w.strip_suffix(')'))
                .map(|w| w.split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            listed.sort();
            let expected: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
            assert_eq!(listed, expected, "{name}: {line}");
        }
    }
}
