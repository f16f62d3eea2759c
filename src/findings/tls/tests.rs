//! Tests of the TLS rules: tables of versions, suites and alerts, and the certificate rules on
//! real certificates made by OpenSSL (tests/fixtures/tls/certs, see captures/README.md).

use super::*;
use crate::catalogue::Severity;
use crate::findings::datetime;
use proptest::prelude::*;

const VALID: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/valid.der");
const EXPIRED: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/expired.der");
const NOT_YET_VALID: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/not-yet-valid.der");
const WILDCARD: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/wildcard.der");
const IP_SAN: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/ip-san.der");
const CN_ONLY: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/cn-only.der");
const SAN_OVERRIDES_CN: &[u8] =
    include_bytes!("../../../tests/fixtures/tls/certs/san-overrides-cn.der");
const MANY_NAMES: &[u8] = include_bytes!("../../../tests/fixtures/tls/certs/many-names.der");

const HELLO: FrameRef = FrameRef::new(0, 4);
const CERTIFICATE: FrameRef = FrameRef::new(0, 5);
const ALERT: FrameRef = FrameRef::new(0, 7);
const FIRST: FrameRef = FrameRef::new(0, 1);

/// Capture time of an RFC 3339 text.
fn at(text: &str) -> Nanos {
    datetime::parse(text).expect("test time").nanos
}

/// A finished TLS 1.3 handshake with the ACS at 2026-12-01, with no certificate seen.
fn facts() -> TlsFacts<'static> {
    TlsFacts {
        client: "192.0.2.1:40000".parse().unwrap(),
        server: "198.51.100.1:443".parse().unwrap(),
        role: TlsServer::Acs,
        version: Some(0x0304),
        cipher_suite: Some(0x1302),
        server_certificate: None,
        expected_host: Some("acs.example.net"),
        host_source: HostSource::Url,
        at: at("2026-12-01T10:00:00Z"),
        finished: true,
        alert: None,
        server_hello_frame: Some(HELLO),
        certificate_frame: Some(CERTIFICATE),
        first_frame: FIRST,
    }
}

fn judge(f: &TlsFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    judge_tls(f, &mut out);
    out
}

fn codes(found: &[Finding]) -> Vec<&'static str> {
    found.iter().map(|f| f.code.id()).collect()
}

/// The findings for the certificate `der` presented for `host` at `time`.
fn with_certificate(der: &[u8], host: &str, time: &str) -> Vec<Finding> {
    judge(&TlsFacts {
        server_certificate: Some(der),
        expected_host: Some(host),
        at: at(time),
        ..facts()
    })
}

const IN_2026: &str = "2026-12-01T10:00:00Z";

#[test]
fn versions_before_tls_1_2_are_weak() {
    let table: &[(u16, &str, bool)] = &[
        (0x0200, "SSL 2.0", true),
        (0x0300, "SSL 3.0", true),
        (0x0301, "TLS 1.0", true),
        (0x0302, "TLS 1.1", true),
        (0x0303, "TLS 1.2", false),
        (0x0304, "TLS 1.3", false),
        (0x7f1c, "version 0x7f1c", false),
        (0x0000, "version 0x0000", false),
    ];
    for &(version, name, weak) in table {
        assert_eq!(version_name(version), name);
        assert_eq!(is_weak_version(version), weak, "{name}");
    }
}

#[test]
fn weak_version_names_the_version_and_cites_the_server_hello() {
    let found = judge(&TlsFacts {
        version: Some(0x0301),
        cipher_suite: Some(0xc02f),
        ..facts()
    });
    assert_eq!(codes(&found), ["tls-weak-version"]);
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(found[0].frames, [HELLO]);
    let m = &found[0].message;
    assert!(
        m.contains("TLS 1.0")
            && m.contains("CPE 192.0.2.1:40000")
            && m.contains("ACS 198.51.100.1:443"),
        "{m}"
    );
    // Without the ServerHello's frame, the connection's first frame.
    let found = judge(&TlsFacts {
        version: Some(0x0300),
        cipher_suite: None,
        server_hello_frame: None,
        ..facts()
    });
    assert_eq!(found[0].frames, [FIRST]);
    assert!(found[0].message.contains("SSL 3.0"));
    for version in [Some(0x0303), Some(0x0304), None] {
        assert!(judge(&TlsFacts { version, ..facts() }).is_empty());
    }
}

#[test]
fn cipher_suites_are_classified_by_iana_id() {
    // (id, IANA name, what the reasons must say; empty: not weak)
    let table: &[(u16, &str, &[&str])] = &[
        (0x0000, "TLS_NULL_WITH_NULL_NULL", &["NULL", "anonymous"]),
        (0x0001, "TLS_RSA_WITH_NULL_MD5", &["NULL"]),
        (0x0002, "TLS_RSA_WITH_NULL_SHA", &["NULL"]),
        (0x003b, "TLS_RSA_WITH_NULL_SHA256", &["NULL"]),
        (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA", &["NULL"]),
        (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", &["export", "RC4"]),
        (
            0x0006,
            "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
            &["export", "RC2"],
        ),
        (
            0x0008,
            "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
            &["export", "DES"],
        ),
        (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", &["export"]),
        (0x0004, "TLS_RSA_WITH_RC4_128_MD5", &["RC4"]),
        (0x0005, "TLS_RSA_WITH_RC4_128_SHA", &["RC4"]),
        (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", &["RC4"]),
        (0x0009, "TLS_RSA_WITH_DES_CBC_SHA", &["DES (56-bit"]),
        (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", &["3DES"]),
        (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", &["3DES"]),
        (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", &["IDEA"]),
        (
            0x0018,
            "TLS_DH_anon_WITH_RC4_128_MD5",
            &["RC4", "anonymous"],
        ),
        (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", &["anonymous"]),
        (
            0x00a7,
            "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
            &["anonymous"],
        ),
        (
            0xc015,
            "TLS_ECDH_anon_WITH_NULL_SHA",
            &["NULL", "anonymous"],
        ),
        (0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", &["anonymous"]),
        (0x1301, "TLS_AES_128_GCM_SHA256", &[]),
        (0x1302, "TLS_AES_256_GCM_SHA384", &[]),
        (0x1303, "TLS_CHACHA20_POLY1305_SHA256", &[]),
        (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", &[]),
        (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", &[]),
        (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", &[]),
        (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", &[]),
        (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", &[]),
        (0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256", &[]),
        (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", &[]),
        (0x5600, "TLS_FALLBACK_SCSV", &[]),
    ];
    for &(id, name, says) in table {
        assert_eq!(
            TlsCipherSuite::from_id(id).map(|s| s.name),
            Some(name),
            "0x{id:04x}"
        );
        match weak_cipher(id) {
            None => assert!(says.is_empty(), "{name} is weak: {says:?}"),
            Some((suite, reasons)) => {
                assert_eq!(suite.name, name);
                let text = reasons.join("; ");
                assert!(!says.is_empty(), "{name} judged weak: {text}");
                for word in says {
                    assert!(
                        text.to_lowercase().contains(&word.to_lowercase()),
                        "{name}: {text}"
                    );
                }
            }
        }
    }
    // An id of no registered suite is not judged.
    assert!(weak_cipher(0xfefe).is_none());
}

#[test]
fn weak_cipher_names_the_suite() {
    let found = judge(&TlsFacts {
        version: Some(0x0303),
        cipher_suite: Some(0x0005),
        ..facts()
    });
    assert_eq!(codes(&found), ["tls-weak-cipher"]);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].frames, [HELLO]);
    let m = &found[0].message;
    assert!(
        m.contains("TLS_RSA_WITH_RC4_128_SHA (0x0005)") && m.contains("RFC 7465"),
        "{m}"
    );
    // TLS 1.0 with 3DES: both findings.
    let found = judge(&TlsFacts {
        version: Some(0x0301),
        cipher_suite: Some(0x000a),
        ..facts()
    });
    assert_eq!(codes(&found), ["tls-weak-version", "tls-weak-cipher"]);
    for cipher_suite in [Some(0xc02f), Some(0x1301), Some(0xfefe), None] {
        assert!(
            judge(&TlsFacts {
                cipher_suite,
                ..facts()
            })
            .is_empty()
        );
    }
}

#[test]
fn alert_names_follow_the_registry() {
    let table: &[(u8, Option<&str>)] = &[
        (0, Some("close_notify")),
        (10, Some("unexpected_message")),
        (20, Some("bad_record_mac")),
        (40, Some("handshake_failure")),
        (42, Some("bad_certificate")),
        (45, Some("certificate_expired")),
        (46, Some("certificate_unknown")),
        (48, Some("unknown_ca")),
        (50, Some("decode_error")),
        (51, Some("decrypt_error")),
        (70, Some("protocol_version")),
        (71, Some("insufficient_security")),
        (80, Some("internal_error")),
        (86, Some("inappropriate_fallback")),
        (112, Some("unrecognized_name")),
        (116, Some("certificate_required")),
        (120, Some("no_application_protocol")),
        (1, None),
        (255, None),
    ];
    for &(description, name) in table {
        assert_eq!(alert_name(description), name, "{description}");
    }
}

/// An unfinished handshake with this alert.
fn alerted(content: Option<(u8, u8)>, from_client: bool) -> TlsFacts<'static> {
    TlsFacts {
        version: Some(0x0303),
        cipher_suite: Some(0xc02f),
        finished: false,
        alert: Some(TlsAlert {
            content,
            from_client,
            frame: ALERT,
        }),
        ..facts()
    }
}

#[test]
fn a_client_alert_instead_of_finished_names_the_alert_and_the_rejected_certificate() {
    let found = judge(&alerted(Some((2, 48)), true));
    assert_eq!(codes(&found), ["tls-handshake-failed"]);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].frames, [CERTIFICATE, ALERT]);
    assert_eq!(
        found[0].message,
        "the CPE 192.0.2.1:40000 sent alert unknown_ca (48, fatal) to the ACS \
         198.51.100.1:443 instead of finishing the handshake: the CPE rejected the ACS's \
         certificate"
    );
}

#[test]
fn a_server_alert_names_the_server_as_sender() {
    let found = judge(&alerted(Some((2, 40)), false));
    assert_eq!(codes(&found), ["tls-handshake-failed"]);
    assert_eq!(found[0].frames, [ALERT]);
    let m = &found[0].message;
    assert!(
        m.starts_with("the ACS 198.51.100.1:443 sent alert handshake_failure (40, fatal) to the CPE 192.0.2.1:40000"),
        "{m}"
    );
    // A file server, a warning-level alert, a description of no name.
    let found = judge(&TlsFacts {
        role: TlsServer::FileServer,
        ..alerted(Some((1, 200)), false)
    });
    let m = &found[0].message;
    assert!(
        m.contains("file server 198.51.100.1:443 sent alert unknown alert (200, warning)"),
        "{m}"
    );
    // An alert the keys could not open.
    let found = judge(&alerted(None, true));
    assert_eq!(codes(&found), ["tls-handshake-failed"]);
    assert!(found[0].message.contains("encrypted alert"));
    assert_eq!(found[0].frames, [ALERT]);
}

#[test]
fn alerts_after_a_finished_handshake_and_quiet_handshakes_raise_nothing() {
    let mut closed = alerted(Some((1, 0)), true);
    closed.finished = true;
    assert!(judge(&closed).is_empty());
    let mut unfinished = facts();
    unfinished.finished = false;
    assert!(judge(&unfinished).is_empty());
}

#[test]
fn a_cpe_rejecting_an_expired_certificate_gets_both_findings() {
    let found = judge(&TlsFacts {
        server_certificate: Some(EXPIRED),
        ..alerted(Some((2, 45)), true)
    });
    assert_eq!(
        codes(&found),
        ["tls-certificate-expired", "tls-handshake-failed"]
    );
    assert!(found[1].message.contains("certificate_expired (45, fatal)"));
}

#[test]
fn a_valid_certificate_for_the_host_raises_nothing() {
    assert!(with_certificate(VALID, "acs.example.net", IN_2026).is_empty());
    // Without an expected host only the dates are judged.
    let found = judge(&TlsFacts {
        server_certificate: Some(VALID),
        expected_host: None,
        ..facts()
    });
    assert!(found.is_empty());
}

#[test]
fn an_expired_certificate_names_its_dates() {
    let found = with_certificate(EXPIRED, "acs.example.net", IN_2026);
    assert_eq!(codes(&found), ["tls-certificate-expired"]);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].frames, [CERTIFICATE]);
    assert_eq!(
        found[0].message,
        "the certificate of the ACS 198.51.100.1:443 (CN=acs.example.net, O=Example ACS) \
         expired 2159 days before the handshake: valid from 2020-01-01T00:00:00Z to \
         2021-01-01T12:00:00Z, handshake at 2026-12-01T10:00:00.000000Z"
    );
    // The last second of the validity is still valid; the next is not.
    assert!(with_certificate(EXPIRED, "acs.example.net", "2021-01-01T12:00:00.999Z").is_empty());
    let found = with_certificate(EXPIRED, "acs.example.net", "2021-01-01T12:00:01Z");
    assert_eq!(codes(&found), ["tls-certificate-expired"]);
    assert!(found[0].message.contains("expired 1 s before"));
}

#[test]
fn a_certificate_not_yet_valid_is_judged_too() {
    let found = with_certificate(NOT_YET_VALID, "acs.example.net", IN_2026);
    assert_eq!(codes(&found), ["tls-certificate-expired"]);
    let m = &found[0].message;
    assert!(
        m.contains("is not valid until 1126 days after the handshake")
            && m.contains("valid from 2030-01-01T00:00:00Z to 2040-01-01T00:00:00Z"),
        "{m}"
    );
    assert!(with_certificate(VALID, "acs.example.net", "2024-01-01T00:00:00Z").is_empty());
    let found = with_certificate(VALID, "acs.example.net", "2023-12-31T22:00:00Z");
    assert_eq!(codes(&found), ["tls-certificate-expired"]);
    assert!(found[0].message.contains("not valid until 2.0 h after"));
}

#[test]
fn names_follow_rfc_6125() {
    // (certificate, expected host, covered)
    let table: &[(&str, &[u8], &str, bool)] = &[
        ("valid", VALID, "acs.example.net", true),
        ("valid", VALID, "ACS.Example.NET.", true),
        ("valid", VALID, "acs-backup.example.net", true),
        ("valid", VALID, "other.example.net", false),
        ("valid", VALID, "example.net", false),
        ("valid", VALID, "192.0.2.10", false),
        ("wildcard", WILDCARD, "cpe1.acs.example.net", true),
        ("wildcard", WILDCARD, "CPE1.ACS.example.net", true),
        ("wildcard", WILDCARD, "acs.example.net", false),
        ("wildcard", WILDCARD, "a.b.acs.example.net", false),
        ("wildcard", WILDCARD, "xacs.example.net", false),
        ("ip-san", IP_SAN, "192.0.2.10", true),
        ("ip-san", IP_SAN, "[2001:db8::10]", true),
        ("ip-san", IP_SAN, "2001:DB8:0:0::10", true),
        ("ip-san", IP_SAN, "::ffff:192.0.2.10", true),
        ("ip-san", IP_SAN, "192.0.2.11", false),
        ("ip-san", IP_SAN, "acs.example.net", true),
        ("cn-only", CN_ONLY, "acs.example.net", true),
        ("cn-only", CN_ONLY, "other.example.net", false),
        (
            "san-overrides-cn",
            SAN_OVERRIDES_CN,
            "portal.example.net",
            true,
        ),
        (
            "san-overrides-cn",
            SAN_OVERRIDES_CN,
            "acs.example.net",
            false,
        ),
        ("many-names", MANY_NAMES, "host40.example.org", true),
        ("many-names", MANY_NAMES, "acs.example.net", false),
    ];
    for &(file, der, host, covered) in table {
        let found = with_certificate(der, host, IN_2026);
        let want: &[&str] = if covered {
            &[]
        } else {
            &["tls-certificate-name-mismatch"]
        };
        assert_eq!(codes(&found), want, "{file} for {host}");
    }
}

#[test]
fn wildcards_stand_for_one_whole_left_most_label() {
    assert!(dns_name_matches("*.example.net", "a.example.net"));
    assert!(!dns_name_matches("*.net", "example.net"));
    assert!(!dns_name_matches("*", "example"));
    assert!(!dns_name_matches("f*.example.net", "foo.example.net"));
    assert!(!dns_name_matches("*.*.example.net", "a.b.example.net"));
    assert!(!dns_name_matches("a.*.example.net", "a.b.example.net"));
    assert!(!dns_name_matches("*..example.net", "a..example.net"));
    assert!(dns_name_matches("acs.example.net.", "acs.example.net"));
}

#[test]
fn the_name_mismatch_message_lists_a_bounded_set_of_names() {
    let found = with_certificate(MANY_NAMES, "acs.example.net", IN_2026);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].frames, [CERTIFICATE]);
    let m = &found[0].message;
    assert!(
        m.starts_with(
            "the certificate of the ACS 198.51.100.1:443 does not name acs.example.net, the \
             host of ManagementServer.URL: it names DNS:host1.example.org, "
        ) && m.ends_with("DNS:host8.example.org and 32 more"),
        "{m}"
    );
    assert!(!m.contains("host9."), "{m}");
    // The CN is listed when it is the name; a file server's host comes from the transfer URL.
    let found = judge(&TlsFacts {
        role: TlsServer::FileServer,
        server_certificate: Some(CN_ONLY),
        expected_host: Some("[2001:db8::5]"),
        ..facts()
    });
    assert_eq!(
        found[0].message,
        "the certificate of the file server 198.51.100.1:443 does not name 2001:db8::5, the \
         host of the transfer URL: it names CN=acs.example.net"
    );
    let found = with_certificate(IP_SAN, "192.0.2.11", IN_2026);
    assert!(
        found[0]
            .message
            .ends_with("it names DNS:acs.example.net, IP:192.0.2.10, IP:2001:db8::10"),
        "{}",
        found[0].message
    );
}

#[test]
fn hosts_that_are_no_name_are_not_judged() {
    for host in [
        "",
        " ",
        "acs.example.net:443",
        "fe80::1%eth0",
        "300.1.1.1",
        "acs..example.net",
        "bücher.example",
        "http://acs.example.net/",
    ] {
        let found = with_certificate(MANY_NAMES, host, IN_2026);
        assert!(found.is_empty(), "{host:?}: {found:?}");
    }
}

#[test]
fn unreadable_or_oversized_certificates_are_not_judged() {
    let truncated = &EXPIRED[..EXPIRED.len() / 2];
    for der in [
        truncated,
        &[][..],
        &[0x30, 0x82, 0xff, 0xff][..],
        b"not a certificate",
    ] {
        assert!(with_certificate(der, "other.example.net", IN_2026).is_empty());
    }
    // An expired certificate beyond the size bound is not examined.
    let mut padded = EXPIRED.to_vec();
    padded.resize(MAX_CERTIFICATE_BYTES + 1, 0);
    assert!(with_certificate(&padded, "other.example.net", IN_2026).is_empty());
    // Every one-byte corruption of a certificate is judged without a panic, and any finding
    // still cites the certificate.
    for i in 0..EXPIRED.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut bad = EXPIRED.to_vec();
            bad[i] ^= flip;
            let bad: &[u8] = &bad;
            let mut out = Vec::new();
            judge_tls(
                &TlsFacts {
                    server_certificate: Some(bad),
                    ..facts()
                },
                &mut out,
            );
            assert!(out.iter().all(|f| f.frames == [CERTIFICATE]));
        }
    }
}

#[test]
fn names_from_a_certificate_are_shown_bounded_and_without_control_characters() {
    assert_eq!(shown("a\nb\u{1b}[31m"), "a?b?[31m");
    let long = "x".repeat(300);
    let s = shown(&long);
    assert_eq!(s.chars().count(), MAX_NAME_CHARS + 1);
    assert!(s.ends_with('…'));
}

proptest! {
    #[test]
    fn any_facts_are_judged_without_panic(
        der in proptest::collection::vec(any::<u8>(), 0..600),
        host in "\\PC{0,40}",
        version in proptest::option::of(any::<u16>()),
        cipher_suite in proptest::option::of(any::<u16>()),
        alert in proptest::option::of((proptest::option::of((any::<u8>(), any::<u8>())), any::<bool>())),
        finished in any::<bool>(),
        at in any::<i64>(),
    ) {
        let f = TlsFacts {
            version,
            cipher_suite,
            server_certificate: Some(&der),
            expected_host: Some(&host),
            at,
            finished,
            alert: alert.map(|(content, from_client)| TlsAlert { content, from_client, frame: ALERT }),
            ..facts()
        };
        let mut out = Vec::new();
        judge_tls(&f, &mut out);
        prop_assert!(out.len() <= 5);
        for finding in &out {
            prop_assert!(!finding.frames.is_empty() && !finding.message.is_empty());
        }
    }
}
