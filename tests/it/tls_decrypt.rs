//! TLS decryption on the loopback recordings of `tests/fixtures/tls` (see captures/README.md,
//! "TLS fixtures"): each decrypts to the HTTP messages tshark decrypts with the same keys (when
//! tshark is installed), through the whole pipeline to a CWMP session; a missing or wrong key,
//! a handshake not captured, a record lost to a gap and a corrupted record each give their
//! reason while the rest of the capture is analyzed; key log text in a pcapng Decryption
//! Secrets Block is used without any option; key material never reaches the output.

use crate::common::{cwmpscope, oracle_available, scratch, sessions};
use cwmpscope::capture::{CaptureReader, InputSpec};
use cwmpscope::tcp::{Reassembler, ReassemblyConfig};
use cwmpscope::tls::{RsaKey, TlsEvent, TlsKeys, TlsLayer, TlsReason, TlsSummary};
use cwmpscope::types::Dir;
use cwmpscope::wire::{Decoded, Decoder};
use serde_json::Value;
use std::sync::Arc;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Each recording with the options that give its keys.
const DECRYPTABLE: [(&str, &[&str]); 7] = [
    (
        "tls13-aes256gcm.pcap",
        &["--tls-keylog", "tls13-aes256gcm.keys"],
    ),
    (
        "tls12-ecdhe-aes128gcm.pcap",
        &["--tls-keylog", "tls12-ecdhe-aes128gcm.keys"],
    ),
    (
        "tls12-ecdhe-chacha20.pcap",
        &["--tls-keylog", "tls12-ecdhe-chacha20.keys"],
    ),
    (
        "tls12-ecdhe-aes256cbc-etm.pcap",
        &["--tls-keylog", "tls12-ecdhe-aes256cbc-etm.keys"],
    ),
    (
        "tls12-ecdhe-aes128cbc-mte.pcap",
        &["--tls-keylog", "tls12-ecdhe-aes128cbc-mte.keys"],
    ),
    ("tls12-rsa-aes256gcm.pcap", &["--tls-key", "server-key.pem"]),
    ("tls13-aes256gcm-dsb.pcapng", &[]),
];

/// The JSON report of a fixture analyzed with these options (fixture-relative file names).
fn report_with(file: &str, opts: &[&str]) -> Value {
    let mut args: Vec<String> = vec!["analyze".into(), "--format".into(), "json".into()];
    for (i, o) in opts.iter().enumerate() {
        args.push(if i % 2 == 1 {
            fixture(o)
        } else {
            (*o).to_owned()
        });
    }
    args.push(fixture(file));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, err, ok) = cwmpscope(&args);
    assert!(ok, "{file}: {err}");
    serde_json::from_str(&out).expect("one JSON document")
}

/// (frame, request method or response status) of every message of every session.
fn messages(report: &Value) -> Vec<(u64, String)> {
    sessions(report)
        .iter()
        .flat_map(|s| s["messages"].as_array().expect("messages").iter())
        .map(|m| {
            let http = m["http"].as_str().unwrap_or_default();
            let word = match m["status"].as_u64() {
                Some(status) => status.to_string(),
                None => http.split(' ').next().unwrap_or_default().to_owned(),
            };
            (m["frame"].as_u64().expect("frame"), word)
        })
        .collect()
}

#[test]
fn every_recording_decrypts_to_a_cwmp_session() {
    for (file, opts) in DECRYPTABLE {
        let report = report_with(file, opts);
        let s = sessions(&report);
        assert_eq!(s.len(), 1, "{file}");
        let words: Vec<String> = messages(&report).into_iter().map(|(_, w)| w).collect();
        assert_eq!(words, ["POST", "200", "POST", "204"], "{file}");
        let rpcs: Vec<&Value> = s[0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["rpcs"].as_array().unwrap())
            .collect();
        assert_eq!(rpcs, ["Inform", "InformResponse"], "{file}");
        let tls = &s[0]["tcp"][0]["tls"];
        assert_eq!(tls["decrypted"], true, "{file}");
        assert!(tls.get("reason").is_none(), "{file}: {tls}");
        let expected_version = if file.starts_with("tls13") {
            "TLS 1.3"
        } else {
            "TLS 1.2"
        };
        assert_eq!(tls["version"], expected_version, "{file}");
        assert_eq!(report["capture"]["tls"]["decrypted"], 1, "{file}");
        assert_eq!(report["capture"]["tls"]["undecrypted"], 0, "{file}");
    }
    let suite = |file: &str, opts: &[&str]| {
        report_with(file, opts)["sessions"][0]["tcp"][0]["tls"]["cipher_suite"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        suite(DECRYPTABLE[0].0, DECRYPTABLE[0].1),
        "TLS_AES_256_GCM_SHA384"
    );
    assert_eq!(
        suite(DECRYPTABLE[2].0, DECRYPTABLE[2].1),
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    assert_eq!(
        suite(DECRYPTABLE[4].0, DECRYPTABLE[4].1),
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
    );
    assert_eq!(
        suite(DECRYPTABLE[5].0, DECRYPTABLE[5].1),
        "TLS_RSA_WITH_AES_256_GCM_SHA384"
    );
}

/// (frame, request method or response status) of the HTTP messages tshark decrypts with the
/// same keys.
fn tshark_messages(file: &str, opts: &[&str]) -> Vec<(u64, String)> {
    let mut args: Vec<String> = vec!["-r".into(), fixture(file)];
    match opts {
        ["--tls-keylog", keys] => {
            args.extend(["-o".into(), format!("tls.keylog_file:{}", fixture(keys))]);
        }
        ["--tls-key", key] => {
            args.extend([
                "-o".into(),
                format!("uat:rsa_keys:\"{}\",\"\"", fixture(key)),
            ]);
        }
        _ => {}
    }
    args.extend(
        [
            "-Y",
            "http",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "http.request.method",
            "-e",
            "http.response.code",
        ]
        .map(String::from),
    );
    let out = std::process::Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let word = if f[1].is_empty() { f[2] } else { f[1] };
            (f[0].parse().expect("frame number"), word.to_owned())
        })
        .collect()
}

/// tshark with the same keys decrypts the same HTTP messages, at the same frames.
#[test]
fn tshark_decrypts_the_same_messages() {
    if !oracle_available("tshark") {
        return;
    }
    for (file, opts) in DECRYPTABLE {
        assert_eq!(
            messages(&report_with(file, opts)),
            tshark_messages(file, opts),
            "{file}"
        );
    }
}

/// A firmware Download over HTTPS (two ACS sessions and the fetch, one key log): the whole
/// transaction, its fetch marked as decrypted TLS, and the same messages as tshark's.
#[test]
fn an_https_firmware_upgrade_gets_its_full_ladder() {
    let opts: &[&str] = &["--tls-keylog", "tls12-download.keys"];
    let report = report_with("tls12-download.pcap", opts);
    assert_eq!(sessions(&report).len(), 2);
    let t = &report["transactions"][0];
    assert_eq!(t["kind"], "firmware-upgrade");
    assert_eq!(t["outcome"], "success");
    assert_eq!(t["received_bytes"], 4096);
    assert_eq!(t["file_server"]["tls"]["decrypted"], true);
    assert_eq!(t["file_server"]["tls"]["version"], "TLS 1.2");
    assert_eq!(report["capture"]["tls"]["decrypted"], 3);
    let (text, _, _) = cwmpscope(&[
        "analyze",
        "--color",
        "never",
        "--tls-keylog",
        &fixture("tls12-download.keys"),
        &fixture("tls12-download.pcap"),
    ]);
    assert!(
        text.contains("4096 of 4096 bytes · DownloadResponse Status 1 · TLS 1.2 decrypted\n"),
        "{text}"
    );
    // The fetch in the transaction's steps: the GET and its answer.
    let fetch: Vec<u64> = t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["to"] == "file-server" || s["from"] == "file-server")
        .filter_map(|s| s["frame"].as_u64())
        .collect();
    let mut ours = messages(&report);
    ours.extend(
        fetch
            .iter()
            .zip(["GET", "200"])
            .map(|(f, w)| (*f, w.to_owned())),
    );
    ours.sort();
    assert_eq!(ours.len(), 14);
    if oracle_available("tshark") {
        assert_eq!(ours, tshark_messages("tls12-download.pcap", opts));
    }
}

/// TLS 1.2 resumption: the second connection resumes the first's session, by ticket (RSA key
/// exchange: the resumed handshake has no key exchange to decrypt) and by session id. Its
/// master secret comes from the first connection when the key material covers only that one.
#[test]
fn resumed_sessions_decrypt_with_the_first_connections_keys() {
    let first_only = |keys: &str| {
        let text = std::fs::read_to_string(fixture(keys)).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("CLIENT_RANDOM "))
            .expect("a CLIENT_RANDOM line")
            .to_owned();
        let path = scratch(&format!("first-only-{keys}"));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        path.to_string_lossy().into_owned()
    };
    let runs = [
        (
            "tls12-resume-ticket.pcap",
            vec!["--tls-key".to_owned(), fixture("server-key.pem")],
        ),
        (
            "tls12-resume-ticket.pcap",
            vec![
                "--tls-keylog".to_owned(),
                first_only("tls12-resume-ticket.keys"),
            ],
        ),
        (
            "tls12-resume-id.pcap",
            vec![
                "--tls-keylog".to_owned(),
                first_only("tls12-resume-id.keys"),
            ],
        ),
    ];
    for (file, opts) in runs {
        let path = fixture(file);
        let mut args = vec!["analyze", "--format", "json"];
        args.extend(opts.iter().map(String::as_str));
        args.push(&path);
        let (out, err, ok) = cwmpscope(&args);
        assert!(ok, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(sessions(&report).len(), 2, "{file} {opts:?}");
        assert_eq!(report["capture"]["tls"]["decrypted"], 2, "{file} {opts:?}");
        let words: Vec<String> = messages(&report).into_iter().map(|(_, w)| w).collect();
        assert_eq!(words.len(), 8, "{file}");
        if oracle_available("tshark") {
            let keys = file.replace(".pcap", ".keys");
            assert_eq!(
                messages(&report),
                tshark_messages(file, &["--tls-keylog", &keys]),
                "{file}"
            );
        }
    }
    // Without the first connection's keys, neither decrypts.
    let (summaries, _) = tls_stage(&fixture("tls12-resume-id.pcap"), TlsKeys::default());
    assert_eq!(summaries.len(), 2);
    assert!(summaries.iter().all(|s| s.reason == Some(TlsReason::NoKey)));
    assert!(summaries[1].resumed && !summaries[0].resumed);
}

/// A capture's frames (legacy pcap), to cut and corrupt.
struct Pcap {
    header: Vec<u8>,
    frames: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Pcap {
    fn read(file: &str) -> Pcap {
        let bytes = std::fs::read(fixture(file)).expect("fixture");
        let mut frames = Vec::new();
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            frames.push((
                bytes[at..at + 16].to_vec(),
                bytes[at + 16..at + 16 + caplen].to_vec(),
            ));
            at += 16 + caplen;
        }
        Pcap {
            header: bytes[..24].to_vec(),
            frames,
        }
    }

    /// Writes the frames (1-based numbers) that `keep` keeps.
    fn write(&self, name: &str, keep: impl Fn(usize) -> bool) -> String {
        let mut out = self.header.clone();
        for (n, (h, d)) in self.frames.iter().enumerate() {
            if keep(n + 1) {
                out.extend_from_slice(h);
                out.extend_from_slice(d);
            }
        }
        let path = scratch(name);
        std::fs::write(&path, out).expect("scratch pcap");
        path.to_string_lossy().into_owned()
    }

    /// Moves the server port (Ethernet, IPv4 without options) to `port`.
    fn with_server_port(mut self, from: u16, port: u16) -> Pcap {
        for (_, d) in &mut self.frames {
            for at in [34, 36] {
                if d.len() > at + 2 && d[at..at + 2] == from.to_be_bytes() {
                    d[at..at + 2].copy_from_slice(&port.to_be_bytes());
                }
            }
        }
        self
    }
}

/// The TLS stage's summaries, and the bytes it handed on per direction, for a capture run
/// through decoding, reassembly and TLS only.
fn tls_stage(path: &str, keys: TlsKeys) -> (Vec<TlsSummary>, [Vec<u8>; 2]) {
    let mut reader = CaptureReader::open(&InputSpec::Path(path.into()), 0).expect("capture opens");
    let mut tls = TlsLayer::new(Arc::new(keys));
    if let Some(text) = reader.take_tls_keylog() {
        tls.add_embedded_keylog(&text);
    }
    let mut decoder = Decoder::new();
    let mut tcp = Reassembler::new(ReassemblyConfig::default());
    let mut summaries = Vec::new();
    let mut bytes = [Vec::new(), Vec::new()];
    let mut sink = |ev: TlsEvent<'_>| match ev {
        TlsEvent::Summary { summary, .. } => summaries.push(*summary),
        TlsEvent::Stream(cwmpscope::tcp::StreamEvent::Data { dir, bytes: b, .. }) => {
            bytes[dir.index()].extend_from_slice(b)
        }
        TlsEvent::Stream(_) => {}
    };
    while let Some(frame) = reader.next_frame().expect("frame") {
        if let Decoded::Tcp(seg) = decoder.decode(&frame) {
            tcp.push(&seg, &mut |ev| tls.push(ev, &mut sink));
        }
    }
    tcp.finish(&mut |ev| tls.push(ev, &mut sink));
    (summaries, bytes)
}

fn keylog(file: &str) -> TlsKeys {
    let mut keys = TlsKeys::default();
    keys.add_keylog_file(&fixture(file)).expect("key log");
    keys
}

fn rsa_key(file: &str, scope: &str) -> TlsKeys {
    TlsKeys {
        rsa: vec![RsaKey::load(&format!("{}{scope}", fixture(file))).expect("RSA key")],
        ..TlsKeys::default()
    }
}

#[test]
fn each_reason_is_given_and_the_rest_is_analyzed() {
    let only = |path: &str, keys: TlsKeys| {
        let (summaries, bytes) = tls_stage(path, keys);
        assert_eq!(summaries.len(), 1, "{path}");
        (summaries.into_iter().next().unwrap(), bytes)
    };
    let gcm = fixture("tls12-ecdhe-aes128gcm.pcap");
    let rsa = fixture("tls12-rsa-aes256gcm.pcap");

    // Decrypted: both directions' HTTP, and the handshake's facts.
    let (s, bytes) = only(&gcm, keylog("tls12-ecdhe-aes128gcm.keys"));
    assert!(s.decrypted && s.reason.is_none());
    assert_eq!(s.sni.as_deref(), Some("acs.example"));
    assert!(s.server_certificate.is_some());
    assert!(bytes[Dir::ToServer.index()].starts_with(b"POST /acs HTTP/1.1\r\n"));
    assert!(
        bytes[Dir::ToClient.index()]
            .ends_with(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    );

    // No key: nothing is handed on.
    let (s, bytes) = only(&gcm, TlsKeys::default());
    assert_eq!((s.decrypted, s.reason), (false, Some(TlsReason::NoKey)));
    assert!(bytes.iter().all(Vec::is_empty));
    // Another connection's key log does not open this one.
    let (s, _) = only(&gcm, keylog("tls12-ecdhe-chacha20.keys"));
    assert_eq!(s.reason, Some(TlsReason::NoKey));

    // RSA: the right key (PKCS#8, bound to the server) decrypts; another key (PKCS#1) does
    // not match the certificate; an RSA key is no use for an ECDHE connection.
    let (s, _) = only(&rsa, rsa_key("server-key.pem", "@127.77.10.1:47006"));
    assert!(s.decrypted && s.reason.is_none(), "{s:?}");
    let (s, _) = only(&rsa, rsa_key("other-key-pkcs1.pem", ""));
    assert_eq!(s.reason, Some(TlsReason::RsaKeyMismatch));
    let (s, _) = only(&rsa, rsa_key("server-key.pem", "@127.77.10.9"));
    assert_eq!(
        s.reason,
        Some(TlsReason::NoKey),
        "a key bound to another server"
    );
    let (s, _) = only(&gcm, rsa_key("server-key.pem", ""));
    assert_eq!(s.reason, Some(TlsReason::EphemeralKeyExchange));

    // The handshake not captured: the connection picked up after it (frames 1-9).
    let pcap = Pcap::read("tls12-ecdhe-aes128gcm.pcap");
    let late = pcap.write("tls-late.pcap", |n| n > 11);
    let (s, _) = only(&late, keylog("tls12-ecdhe-aes128gcm.keys"));
    assert_eq!(s.reason, Some(TlsReason::HandshakeNotCaptured));

    // A record lost to a capture gap (the server's InformResponse, frame 14): the client's
    // direction still decrypts; the server's stops at the gap.
    let gap = pcap.write("tls-gap.pcap", |n| n != 14);
    let (s, bytes) = only(&gap, keylog("tls12-ecdhe-aes128gcm.keys"));
    assert_eq!((s.decrypted, s.reason), (true, Some(TlsReason::RecordLost)));
    assert!(bytes[Dir::ToServer.index()].ends_with(b"Content-Length: 0\r\n\r\n"));
    assert!(bytes[Dir::ToClient.index()].is_empty());

    // A corrupted record (the last byte of the 204's record, frame 16): the records before it
    // were decrypted, that one fails authentication.
    let mut bad = Pcap::read("tls12-ecdhe-aes128gcm.pcap");
    if let Some(last) = bad.frames[15].1.last_mut() {
        *last ^= 0x01;
    }
    let corrupt = bad.write("tls-corrupt.pcap", |_| true);
    let (s, bytes) = only(&corrupt, keylog("tls12-ecdhe-aes128gcm.keys"));
    assert_eq!(
        (s.decrypted, s.reason),
        (true, Some(TlsReason::RecordAuthFailed))
    );
    let to_client = String::from_utf8_lossy(&bytes[Dir::ToClient.index()]).into_owned();
    assert!(to_client.starts_with("HTTP/1.1 200 OK"));
    assert!(!to_client.contains("204 No Content"));

    // The same through the whole pipeline: the session is there up to the damage, and its
    // connection says why decryption stopped.
    let (out, err, ok) = cwmpscope(&[
        "analyze",
        "--format",
        "json",
        "--tls-keylog",
        &fixture("tls12-ecdhe-aes128gcm.keys"),
        &corrupt,
    ]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let tls = &report["sessions"][0]["tcp"][0]["tls"];
    assert_eq!(tls["reason"], "record-auth-failed", "{tls}");
    assert_eq!(tls["decrypted"], true);
    let words: Vec<String> = messages(&report).into_iter().map(|(_, w)| w).collect();
    assert_eq!(words, ["POST", "200", "POST"]);
}

/// Arguments of report runs that produce the TLS fields (for the JSON contract test): the
/// decrypted recordings, and one with a corrupted record (a `reason`).
pub(crate) fn contract_runs() -> Vec<Vec<String>> {
    let mut bad = Pcap::read("tls12-ecdhe-aes128gcm.pcap");
    if let Some(last) = bad.frames[15].1.last_mut() {
        *last ^= 0x01;
    }
    let corrupt = bad.write("contract-tls-corrupt.pcap", |_| true);
    let keys = fixture("tls12-ecdhe-aes128gcm.keys");
    vec![
        vec![
            "--tls-keylog".into(),
            keys.clone(),
            fixture("tls12-ecdhe-aes128gcm.pcap"),
        ],
        vec!["--tls-keylog".into(), keys, corrupt],
        vec![
            "--tls-key".into(),
            fixture("server-key.pem"),
            fixture("tls12-rsa-aes256gcm.pcap"),
        ],
        vec![
            "--tls-keylog".into(),
            fixture("tls12-download.keys"),
            fixture("tls12-download.pcap"),
        ],
    ]
}

/// A connection to the ACS port that cannot be decrypted is a `tls-opaque` finding that says
/// why, and is counted as undecrypted.
#[test]
fn tls_opaque_names_the_reason() {
    let moved = Pcap::read("tls12-ecdhe-aes128gcm.pcap").with_server_port(47002, 7547);
    let path = moved.write("tls-acs-port.pcap", |_| true);
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", &path]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["code"], "tls-opaque");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("(TLS 1.2, not decrypted: no key for this client random)"),
        "{message}"
    );
    assert_eq!(report["capture"]["tls"]["undecrypted"], 1);
    assert_eq!(report["capture"]["other_tls_connections"], 0);
    // With the key it is the ACS session, and no finding.
    let (out, err, ok) = cwmpscope(&[
        "analyze",
        "--format",
        "json",
        "--tls-keylog",
        &fixture("tls12-ecdhe-aes128gcm.keys"),
        &path,
    ]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sessions(&report).len(), 1);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
}

/// The text report marks the session as decrypted TLS and counts it in the summary.
#[test]
fn the_text_report_marks_tls_sessions() {
    let (out, err, ok) = cwmpscope(&[
        "analyze",
        "--color",
        "never",
        "--tls-keylog",
        &fixture("tls13-aes256gcm.keys"),
        &fixture("tls13-aes256gcm.pcap"),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("· TLS 1.3 decrypted · 1 BOOT ·"), "{out}");
    assert!(
        out.contains("TLS to the ACS and file servers: 1 decrypted, 0 not"),
        "{out}"
    );
    assert!(err.contains("4 TLS secrets"), "{err}");
}

/// No secret of a key log, and no password of a decrypted body, reaches any output.
#[test]
fn key_material_and_decrypted_secrets_stay_out_of_the_output() {
    for (file, keys) in [
        ("tls13-aes256gcm.pcap", "tls13-aes256gcm.keys"),
        (
            "tls12-ecdhe-aes256cbc-etm.pcap",
            "tls12-ecdhe-aes256cbc-etm.keys",
        ),
    ] {
        let text = std::fs::read_to_string(fixture(keys)).unwrap();
        let secrets: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(' ').nth(2))
            .collect();
        assert!(!secrets.is_empty());
        for format in ["text", "json", "ndjson"] {
            for show in [false, true] {
                let keys = fixture(keys);
                let file = fixture(file);
                let mut args = vec!["analyze", "--format", format, "--tls-keylog", &keys, &file];
                if show {
                    args.push("--show-secrets");
                }
                let (out, err, ok) = cwmpscope(&args);
                assert!(ok, "{err}");
                for s in &secrets {
                    let lower = s.to_ascii_lowercase();
                    assert!(
                        !out.to_ascii_lowercase().contains(&lower),
                        "{file} {format}"
                    );
                    assert!(
                        !err.to_ascii_lowercase().contains(&lower),
                        "{file} {format}"
                    );
                }
                if format == "json" {
                    assert_eq!(out.contains("s3cret-in-tls"), show, "{file}");
                }
            }
        }
        // Nor in debug output of the keys.
        let loaded = keylog(keys);
        let shown = format!("{loaded:?}");
        assert!(secrets.iter().all(|s| !shown.contains(&s[..16])), "{shown}");
    }
}
