//! Session findings on real traffic: the third-party CWMP captures (judged by the catalogue,
//! quirks included) and the clean reference captures, which may only carry
//! `empty-response-not-204`.

use crate::common;
use common::*;
use serde_json::Value;

/// (session id, sorted finding codes) of each session of a capture.
fn session_codes(path: &str) -> Vec<(String, Vec<String>)> {
    let r = report(&[path]);
    sessions(&r)
        .iter()
        .map(|s| {
            let mut codes: Vec<String> = s["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|d| d["code"].as_str().expect("code").to_owned())
                .collect();
            codes.sort();
            (s["id"].as_str().expect("id").to_owned(), codes)
        })
        .collect()
}

fn expect(path: &str, expected: &[(&str, &[&str])]) {
    let mut got = session_codes(path);
    // Sessions are reported in the order they complete; compare in the order they started.
    got.sort_by_key(|(id, _)| id.trim_start_matches('s').parse::<u64>().unwrap_or(0));
    let want: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(id, codes)| {
            let mut c: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
            c.sort();
            ((*id).to_owned(), c)
        })
        .collect();
    assert_eq!(got, want, "{path}");
}

/// The findings of session `id` with this code.
fn findings_of<'a>(r: &'a Value, id: &str, code: &str) -> Vec<&'a Value> {
    sessions(r).iter().find(|s| s["id"] == id).expect("session")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|d| d["code"] == code)
        .collect()
}

#[test]
fn reference_captures_only_report_the_empty_200() {
    for name in [
        "reference-config-update.pcap",
        "reference-maxenvelopes1.pcap",
        "reference-cookie.pcap",
        "reference-firmware.pcap",
        "reference-connection-request.pcap",
    ] {
        let path = capture(name);
        let r = report(&[&path]);
        let all: Vec<&Value> = sessions(&r)
            .iter()
            .flat_map(|s| s["findings"].as_array().expect("findings"))
            .collect();
        assert!(!all.is_empty(), "{name}");
        for d in all {
            assert_eq!(d["code"], "empty-response-not-204", "{name}: {d}");
            assert_eq!(d["severity"], "info", "{name}: {d}");
        }
        expect(
            &path,
            &[
                ("s1", &["empty-response-not-204"]),
                ("s2", &["empty-response-not-204"]),
            ],
        );
    }
}

#[test]
fn cwmp_sim_pre_emptive_basic_and_stale_nonces() {
    let path = capture("third-party/cwmp_sim_digest_config_update.pcap");
    expect(
        &path,
        &[
            ("s1", &["basic-auth-cleartext"]),
            ("s2", &["auth-stale-nonce"]),
            ("s3", &["auth-stale-nonce"]),
        ],
    );
    let r = report(&[&path]);
    let basic = findings_of(&r, "s1", "basic-auth-cleartext");
    assert_eq!(basic[0]["severity"], "error");
    assert_eq!(basic[0]["frames"], serde_json::json!([10]));
    assert_eq!(
        findings_of(&r, "s2", "auth-stale-nonce")[0]["frames"],
        serde_json::json!([29])
    );
    assert_eq!(
        findings_of(&r, "s3", "auth-stale-nonce")[0]["frames"],
        serde_json::json!([65])
    );

    expect(
        &capture("third-party/cwmp_sim_firmware_nginx.pcap"),
        &[
            ("s1", &["basic-auth-cleartext"]),
            ("s2", &["auth-stale-nonce"]),
            ("s3", &["auth-stale-nonce"]),
        ],
    );
}

#[test]
fn cwmp_sim_fleet_of_five_interleaved() {
    let mut want: Vec<(String, &[&str])> = Vec::new();
    for n in 1..=5 {
        want.push((format!("s{n}"), &["basic-auth-cleartext"]));
    }
    for n in 6..=15 {
        want.push((format!("s{n}"), &["auth-stale-nonce"]));
    }
    let want: Vec<(&str, &[&str])> = want.iter().map(|(s, c)| (s.as_str(), *c)).collect();
    expect(&capture("third-party/cwmp_sim_fleet5.pcap"), &want);
}

#[test]
fn genieacs_basic_without_challenge_and_transfer_complete_in_a_periodic_session() {
    let path = capture("third-party/genieacs_genieacs_sim_config_update.pcap");
    expect(
        &path,
        &[
            ("s1", &["basic-auth-cleartext"]),
            ("s2", &["basic-auth-cleartext", "event-missing"]),
            ("s3", &["basic-auth-cleartext"]),
        ],
    );
    let r = report(&[&path]);
    let missing = findings_of(&r, "s2", "event-missing");
    assert_eq!(missing[0]["frames"], serde_json::json!([41]));
    let message = missing[0]["message"].as_str().unwrap();
    assert!(
        message.contains("7 TRANSFER COMPLETE") && message.contains("TransferComplete"),
        "{message}"
    );
}

#[test]
fn netcwmp_empty_post_first_and_transfer_complete_without_m_download() {
    let path = capture("third-party/netcwmp_digest_session.pcap");
    expect(&path, &[("s1", &[]), ("s2", &["event-missing"])]);
    let r = report(&[&path]);
    let missing = findings_of(&r, "s2", "event-missing");
    assert_eq!(missing[0]["severity"], "error");
    assert_eq!(missing[0]["frames"], serde_json::json!([42]));
    assert!(
        missing[0]["message"]
            .as_str()
            .unwrap()
            .contains("M Download")
    );
}
