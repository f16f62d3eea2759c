use super::*;
use crate::tcp::{ConnEnd, ConnInfo, ConnStats};
use crate::types::FrameRef;

fn info(id: u64) -> ConnInfo {
    ConnInfo {
        id: ConnId(id),
        client: "192.0.2.10:40000".parse().unwrap(),
        server: "192.0.2.1:443".parse().unwrap(),
        ts: 0,
        frame: FrameRef::new(0, 1),
        handshake_seen: true,
    }
}

/// What came out, in words: `data <dir> <bytes>`, `gap`, `summary`, `closed`.
fn run(chunks: &[(Dir, &[u8])], gap_after: Option<usize>) -> (Vec<String>, Option<TlsSummary>) {
    let mut layer = TlsLayer::new(Arc::new(TlsKeys::default()));
    let info = info(1);
    let mut seen = Vec::new();
    let mut summary = None;
    let mut sink = |ev: TlsEvent<'_>| match ev {
        TlsEvent::Stream(StreamEvent::Data { dir, bytes, .. }) => {
            seen.push(format!("data {dir:?} {}", String::from_utf8_lossy(bytes)))
        }
        TlsEvent::Stream(StreamEvent::Gap { .. }) => seen.push("gap".into()),
        TlsEvent::Stream(StreamEvent::Closed { .. }) => seen.push("closed".into()),
        TlsEvent::Stream(_) => {}
        TlsEvent::Summary { summary: s, .. } => {
            seen.push("summary".into());
            summary = Some(*s);
        }
    };
    layer.push(StreamEvent::Open(&info), &mut sink);
    for (n, (dir, bytes)) in chunks.iter().enumerate() {
        layer.push(
            StreamEvent::Data {
                conn: info.id,
                dir: *dir,
                frame: FrameRef::new(0, 2 + n as u64),
                ts: 1000 * (2 + n as Nanos),
                bytes,
            },
            &mut sink,
        );
        if gap_after == Some(n) {
            layer.push(
                StreamEvent::Gap {
                    conn: info.id,
                    dir: *dir,
                    frame: FrameRef::new(0, 2 + n as u64),
                    ts: 0,
                    len: 10,
                },
                &mut sink,
            );
        }
    }
    let stats = ConnStats::default();
    layer.push(
        StreamEvent::Closed {
            info: &info,
            ts: 0,
            end: ConnEnd::Closed,
            stats: &stats,
        },
        &mut sink,
    );
    assert_eq!(layer.open_connections(), 0);
    (seen, summary)
}

#[test]
fn clear_connections_go_through_unchanged() {
    let (seen, summary) = run(
        &[
            (Dir::ToServer, b"POST /acs HTTP/1.1\r\n"),
            (Dir::ToClient, b"HTTP/1.1 200 OK\r\n"),
        ],
        Some(0),
    );
    assert_eq!(
        seen,
        [
            "data ToServer POST /acs HTTP/1.1\r\n",
            "gap",
            "data ToClient HTTP/1.1 200 OK\r\n",
            "closed"
        ]
    );
    assert!(summary.is_none());
}

#[test]
fn application_data_without_a_handshake_is_reported_not_passed_on() {
    let record = [0x17, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4];
    let (seen, summary) = run(&[(Dir::ToServer, &record), (Dir::ToClient, &record)], None);
    assert_eq!(seen, ["summary", "closed"]);
    let s = summary.unwrap();
    assert_eq!(s.reason, Some(TlsReason::HandshakeNotCaptured));
    assert!(!s.decrypted && s.had_protected_records());
}

#[test]
fn a_client_hello_without_keys_gives_version_sni_and_no_key() {
    // The ClientHello and ServerHello of RFC 8448 §3, one record each, cut mid-record
    // between two segments; then an encrypted record.
    let hex = |s: &str| -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let ch = hex(
        "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
         02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
         00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
         26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
         1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
         05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01",
    );
    let sh = hex(
        "02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
         d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
         56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04",
    );
    let record = |ty: u8, body: &[u8]| {
        let mut r = vec![ty, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    };
    let ch = record(22, &ch);
    let sh = record(22, &sh);
    let app = record(23, &[0u8; 40]);
    let (seen, summary) = run(
        &[
            (Dir::ToServer, &ch[..7]),
            (Dir::ToServer, &ch[7..]),
            (Dir::ToClient, &sh),
            (Dir::ToClient, &app),
        ],
        None,
    );
    assert_eq!(seen, ["summary", "closed"]);
    let s = summary.unwrap();
    assert_eq!(s.version, Some(0x0304));
    assert_eq!(
        s.cipher_suite_name().as_deref(),
        Some("TLS_AES_128_GCM_SHA256")
    );
    assert_eq!(s.sni.as_deref(), Some("server"));
    assert_eq!(s.reason, Some(TlsReason::NoKey));
    assert!(!s.decrypted);
}

/// A record of type `ty` around `body`.
fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A handshake message of type `ty`.
fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A TLS 1.2 ClientHello offering `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, and a ServerHello
/// choosing it followed by a Certificate (of made-up bytes) and a ServerHelloDone, each
/// flight one record.
fn tls12_hellos() -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![3, 3];
    ch.extend_from_slice(&[7; 32]);
    ch.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&[9; 32]);
    sh.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let leaf = [0x30, 0x03, 0x02, 0x01, 0x01];
    let mut certificate = vec![0, 0, 8, 0, 0, 5];
    certificate.extend_from_slice(&leaf);
    let mut flight = message(2, &sh);
    flight.extend(message(11, &certificate));
    flight.extend(message(14, &[]));
    (record(22, &message(1, &ch)), record(22, &flight))
}

#[test]
fn a_tls12_handshake_without_keys_is_followed_to_its_end() {
    let (ch, flight) = tls12_hellos();
    let ccs = record(20, &[1]);
    let finished = record(22, &[0x5a; 40]);
    let data = record(23, &[0x5b; 64]);
    // The server's last records cut between segments, mid-header.
    let server_end = [ccs.clone(), finished.clone(), data.clone()].concat();
    let (seen, summary) = run(
        &[
            (Dir::ToServer, &ch),
            (Dir::ToClient, &flight),
            (Dir::ToServer, &[ccs.clone(), finished.clone()].concat()),
            (Dir::ToClient, &server_end[..8]),
            (Dir::ToClient, &server_end[8..50]),
            (Dir::ToClient, &server_end[50..]),
            (Dir::ToServer, &data),
        ],
        None,
    );
    assert_eq!(seen, ["summary", "closed"]);
    let s = summary.unwrap();
    assert_eq!((s.version, s.cipher_suite), (Some(0x0303), Some(0xc02f)));
    assert_eq!(s.reason, Some(TlsReason::NoKey));
    assert!(s.finished && s.alert.is_none());
    assert_eq!(
        s.outcome(),
        TlsOutcome::Undecrypted {
            reason: TlsReason::NoKey,
            in_part: false
        }
    );
    assert_eq!(
        s.server_certificate.as_deref(),
        Some(&[0x30, 3, 2, 1, 1][..])
    );
    assert_eq!(s.client_hello_frame, Some(FrameRef::new(0, 2)));
    assert_eq!(s.server_hello_frame, Some(FrameRef::new(0, 3)));
    assert_eq!(s.certificate_frame, Some(FrameRef::new(0, 3)));
    assert_eq!(s.handshake_ts, Some(3000));
}

#[test]
fn an_alert_before_the_handshake_finished_is_kept_with_its_frame() {
    let (ch, flight) = tls12_hellos();
    // The client rejects the certificate in clear: unknown_ca, fatal.
    let (seen, summary) = run(
        &[
            (Dir::ToServer, &ch),
            (Dir::ToClient, &flight),
            (Dir::ToServer, &record(21, &[2, 48])),
        ],
        None,
    );
    assert_eq!(seen, ["summary", "closed"]);
    let s = summary.unwrap();
    let alert = s.alert.unwrap();
    assert_eq!(alert.content, Some((2, 48)));
    assert_eq!(
        (alert.from, alert.frame),
        (Dir::ToServer, FrameRef::new(0, 4))
    );
    assert!(!s.finished && s.handshake_failed());
    assert_eq!(s.outcome(), TlsOutcome::HandshakeOnly);

    // After its ChangeCipherSpec the client's alert is encrypted: kept without content,
    // in a record cut between two segments.
    let alert = record(21, &[0x11; 26]);
    let (_, summary) = run(
        &[
            (Dir::ToServer, &ch),
            (Dir::ToClient, &flight),
            (
                Dir::ToServer,
                &[
                    record(20, &[1]),
                    record(22, &[0x5a; 40]),
                    alert[..6].to_vec(),
                ]
                .concat(),
            ),
            (Dir::ToServer, &alert[6..]),
        ],
        None,
    );
    let s = summary.unwrap();
    let alert = s.alert.unwrap();
    assert_eq!((alert.content, alert.frame), (None, FrameRef::new(0, 5)));
    assert!(s.handshake_failed(), "{s:?}");

    // A close_notify after application data is no alert of the handshake.
    let (_, summary) = run(
        &[
            (Dir::ToServer, &ch),
            (Dir::ToClient, &flight),
            (
                Dir::ToServer,
                &[record(20, &[1]), record(22, &[0x5a; 40])].concat(),
            ),
            (
                Dir::ToClient,
                &[record(20, &[1]), record(22, &[0x5a; 40])].concat(),
            ),
            (Dir::ToServer, &record(23, &[0x5b; 64])),
            (Dir::ToServer, &record(21, &[0x11; 26])),
        ],
        None,
    );
    let s = summary.unwrap();
    assert!(
        s.finished && s.alert.is_none() && !s.handshake_failed(),
        "{s:?}"
    );
}

#[test]
fn tls13_with_only_an_rsa_key_is_an_ephemeral_key_exchange() {
    let hex = |s: &str| -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    // RFC 8448 §3's ServerHello (TLS 1.3), after a minimal ClientHello.
    let sh = hex(
        "02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
         d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
         56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04",
    );
    let (ch, _) = tls12_hellos();
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tls/server-key.pem"
    ))
    .unwrap();
    let keys = TlsKeys {
        rsa: vec![RsaKey::from_pem(&key, keys::KeyScope::Any).unwrap()],
        ..TlsKeys::default()
    };
    let mut layer = TlsLayer::new(Arc::new(keys));
    let info = info(1);
    let mut summary = None;
    let mut sink = |ev: TlsEvent<'_>| {
        if let TlsEvent::Summary { summary: s, .. } = ev {
            summary = Some(*s);
        }
    };
    layer.push(StreamEvent::Open(&info), &mut sink);
    for (n, (dir, bytes)) in [(Dir::ToServer, ch), (Dir::ToClient, record(22, &sh))]
        .iter()
        .enumerate()
    {
        layer.push(
            StreamEvent::Data {
                conn: info.id,
                dir: *dir,
                frame: FrameRef::new(0, 2 + n as u64),
                ts: 0,
                bytes,
            },
            &mut sink,
        );
    }
    let stats = ConnStats::default();
    layer.push(
        StreamEvent::Closed {
            info: &info,
            ts: 0,
            end: ConnEnd::Closed,
            stats: &stats,
        },
        &mut sink,
    );
    assert_eq!(
        summary.unwrap().reason,
        Some(TlsReason::EphemeralKeyExchange)
    );
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    /// Feeds chunks alternately from each side of one connection; returns the summary.
    fn feed(chunks: &[Vec<u8>], keys: TlsKeys) -> Option<TlsSummary> {
        let mut layer = TlsLayer::new(Arc::new(keys));
        let info = info(1);
        let mut summary = None;
        let mut sink = |ev: TlsEvent<'_>| {
            if let TlsEvent::Summary { summary: s, .. } = ev {
                summary = Some(*s);
            }
        };
        layer.push(StreamEvent::Open(&info), &mut sink);
        for (n, bytes) in chunks.iter().enumerate() {
            let dir = if n % 3 == 2 {
                Dir::ToClient
            } else {
                Dir::ToServer
            };
            layer.push(
                StreamEvent::Data {
                    conn: info.id,
                    dir,
                    frame: FrameRef::new(0, n as u64 + 2),
                    ts: 0,
                    bytes,
                },
                &mut sink,
            );
        }
        let stats = ConnStats::default();
        layer.push(
            StreamEvent::Closed {
                info: &info,
                ts: 0,
                end: ConnEnd::Closed,
                stats: &stats,
            },
            &mut sink,
        );
        summary
    }

    /// Key material for any client random the garbage might carry: TLS 1.2 and 1.3 entries
    /// for the all-zero random.
    fn zero_random_keys() -> TlsKeys {
        let mut keys = TlsKeys::default();
        let cr = "00".repeat(32);
        keys.keylog.add_text(
            format!(
                "CLIENT_RANDOM {cr} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n\
                 SERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n",
                "11".repeat(48),
                "22".repeat(32),
                "33".repeat(32)
            )
            .as_bytes(),
        );
        keys
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Garbage behind a TLS record header, cut anywhere, never panics, with or without
        /// keys.
        #[test]
        fn garbage_after_a_record_header_is_survived(
            body in proptest::collection::vec(any::<u8>(), 0..3000),
            cuts in proptest::collection::vec(1usize..400, 1..12),
            ty in 20u8..25,
        ) {
            let mut stream = vec![ty, 3, 3];
            stream.extend_from_slice(&body);
            let mut chunks = Vec::new();
            let mut rest = stream.as_slice();
            for cut in cuts {
                let (head, tail) = rest.split_at(cut.min(rest.len()));
                chunks.push(head.to_vec());
                rest = tail;
            }
            chunks.push(rest.to_vec());
            for keys in [TlsKeys::default(), zero_random_keys()] {
                let summary = feed(&chunks, keys);
                // A handshake or application data record start is taken for TLS.
                if chunks[0].len() >= 3 && (ty == 22 || ty == 23) {
                    prop_assert!(summary.is_some());
                }
            }
        }

        /// Well-framed records of every type with random bodies (hellos of random content,
        /// protected records of random content) never panic either.
        #[test]
        fn random_records_are_survived(
            records in proptest::collection::vec(
                (20u8..25, proptest::collection::vec(any::<u8>(), 0..600)), 1..12),
        ) {
            let chunks: Vec<Vec<u8>> = records
                .iter()
                .map(|(ty, body)| {
                    let mut r = vec![*ty, 3, 3];
                    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
                    r.extend_from_slice(body);
                    r
                })
                .collect();
            for keys in [TlsKeys::default(), zero_random_keys()] {
                let _ = feed(&chunks, keys);
            }
        }
    }
}
