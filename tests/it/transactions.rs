//! Transactions rebuilt from real traffic: the reference captures show steps 2–12 and 14–22 with
//! outcome success; the third-party captures give the transactions, outcomes and transfer
//! findings that their step-by-step README implies.

use crate::common;
use common::*;
use serde_json::Value;

fn transactions(r: &Value) -> &Vec<Value> {
    r["transactions"].as_array().expect("transactions")
}

fn steps(t: &Value) -> Vec<(Option<u64>, Option<u64>)> {
    t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_u64(), s["frame"].as_u64()))
        .collect()
}

fn codes(list: &Value) -> Vec<String> {
    let mut c: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect();
    c.sort();
    c
}

fn severities(r: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for t in transactions(r) {
        all.extend(t["findings"].as_array().unwrap().iter().cloned());
    }
    for s in sessions(r) {
        all.extend(s["findings"].as_array().unwrap().iter().cloned());
    }
    all.extend(r["findings"].as_array().unwrap().iter().cloned());
    all.iter()
        .map(|d| d["severity"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn reference_captures_are_clean_successes_with_every_step() {
    for name in [
        "reference-config-update",
        "reference-maxenvelopes1",
        "reference-cookie",
        "reference-firmware",
        "reference-connection-request",
    ] {
        let r = report(&[&capture(&format!("{name}.pcap"))]);
        let t = transactions(&r);
        assert_eq!(t.len(), 1, "{name}");
        let t = &t[0];
        assert_eq!(t["outcome"], "success", "{name}");
        assert_eq!(t["download_status"], 1, "{name}");
        assert_eq!(t["received_bytes"], t["announced_size"], "{name}");
        assert_eq!(t["sessions"], serde_json::json!(["s1", "s2"]), "{name}");
        let observed: Vec<u64> = steps(t).iter().filter_map(|(s, _)| *s).collect();
        for step in (2..=12).chain(14..=22) {
            assert!(
                observed.contains(&step),
                "{name}: step {step} observed: {observed:?}"
            );
        }
        let bad: Vec<String> = severities(&r).into_iter().filter(|s| s != "info").collect();
        assert!(bad.is_empty(), "{name}: no warning or error, got {bad:?}");
        let kind = if name.contains("firmware") {
            "firmware-upgrade"
        } else {
            "configuration-update"
        };
        assert_eq!(t["kind"], kind);
    }
}

#[test]
fn reference_ladder_frames() {
    let r = report(&[&capture("reference-config-update.pcap")]);
    let t = &transactions(&r)[0];
    let numbered: Vec<(u64, Option<u64>)> = steps(t)
        .into_iter()
        .filter_map(|(s, f)| s.map(|s| (s, f)))
        .collect();
    assert_eq!(
        numbered,
        [
            (2, Some(4)),
            (3, Some(6)),
            (4, Some(8)),
            (5, Some(9)),
            (6, Some(10)),
            (7, Some(11)),
            (8, Some(12)),
            (9, Some(18)),
            (10, Some(20)),
            (11, Some(22)),
            (12, Some(23)),
            (14, Some(30)),
            (15, Some(32)),
            (16, Some(34)),
            (17, Some(35)),
            (18, Some(36)),
            (19, Some(37)),
            (20, Some(38)),
            (21, Some(39)),
            (22, Some(40))
        ]
    );
    let versions = t["versions"].as_array().unwrap();
    let config = versions
        .iter()
        .find(|v| {
            v["parameter"]
                .as_str()
                .unwrap()
                .contains("VendorConfigFile")
        })
        .unwrap();
    assert_eq!(
        (config["before"].as_str(), config["after"].as_str()),
        (Some("1.0.0"), Some("1.1.1"))
    );
    // The session messages carry the same step numbers.
    let s1 = &sessions(&r)[0];
    let session_steps: Vec<Option<u64>> = s1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_u64())
        .collect();
    assert_eq!(
        session_steps,
        [Some(2), Some(3), Some(4), Some(5), Some(6), Some(7)]
    );
}

#[test]
fn cwmp_sim_transaction_and_its_quirks() {
    let r = report(&[&capture("third-party/cwmp_sim_digest_config_update.pcap")]);
    let t = transactions(&r);
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t["command_key"], "dev-cfgupd-DV2301A0000");
    assert_eq!(t["outcome"], "success");
    assert_eq!(t["received_bytes"], 1025);
    assert_eq!(
        t["announced_size"],
        Value::Null,
        "FileSize 0 announces nothing"
    );
    assert_eq!(t["sessions"], serde_json::json!(["s2", "s3"]));
    let fetch: Vec<(Option<u64>, Option<u64>)> = steps(t)
        .into_iter()
        .filter(|(s, _)| matches!(s, Some(9..=12)))
        .collect();
    assert_eq!(
        fetch,
        [
            (Some(9), Some(49)),
            (Some(10), Some(51)),
            (Some(11), Some(53)),
            (Some(12), Some(56))
        ]
    );
    let found = codes(&t["findings"]);
    assert!(
        found.contains(&"basic-auth-cleartext".to_owned()),
        "pre-emptive Basic to the file server: {found:?}"
    );
    assert!(
        found.contains(&"command-key-mismatch".to_owned()),
        "M Download with an empty CommandKey: {found:?}"
    );
}

#[test]
fn genieacs_fetch_before_the_session_ends() {
    let r = report(&[&capture(
        "third-party/genieacs_genieacs_sim_config_update.pcap",
    )]);
    let t = &transactions(&r)[0];
    assert_eq!(t["command_key"], "1a21c7f82410000");
    assert_eq!(t["outcome"], "success");
    assert_eq!(t["received_bytes"], 1025);
    assert_eq!(t["announced_size"], 1025);
    assert_eq!(
        t["file_server"],
        serde_json::json!({"host": "127.0.0.11", "ip": "127.0.0.11", "port": 7567})
    );
    let fetch: Vec<(Option<u64>, Option<u64>)> = steps(t)
        .into_iter()
        .filter(|(s, _)| matches!(s, Some(9..=12)))
        .collect();
    assert_eq!(fetch, [(Some(9), Some(21)), (Some(12), Some(27))]);
    assert!(codes(&t["findings"]).contains(&"transfer-times-inconsistent".to_owned()));
}

#[test]
fn netcwmp_fault_after_a_complete_fetch() {
    let r = report(&[&capture("third-party/netcwmp_digest_session.pcap")]);
    let t = &transactions(&r)[0];
    assert_eq!(t["outcome"], "failed");
    assert_eq!(t["fault"]["code"], 9001);
    assert_eq!(t["fault"]["meaning"], "Request denied");
    assert_eq!(t["received_bytes"], 1025);
    let found = codes(&t["findings"]);
    assert!(found.contains(&"transfer-fault".to_owned()), "{found:?}");
    assert!(
        found.contains(&"transfer-contradicts-capture".to_owned()),
        "{found:?}"
    );
    let fault = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "transfer-fault")
        .unwrap();
    assert!(fault["message"].as_str().unwrap().contains("9001"));
    assert_eq!(fault["frames"], serde_json::json!([47]));
}

#[test]
fn fleet_fetches_are_told_apart_by_url() {
    let r = report(&[&capture("third-party/cwmp_sim_fleet5.pcap")]);
    let t = transactions(&r);
    assert_eq!(t.len(), 5);
    let mut finals: Vec<(String, u64)> = t
        .iter()
        .map(|t| {
            let frame = steps(t)
                .into_iter()
                .find(|(s, _)| *s == Some(12))
                .and_then(|(_, f)| f)
                .expect("step 12");
            (t["cpe"]["serial"].as_str().unwrap().to_owned(), frame)
        })
        .collect();
    finals.sort();
    assert_eq!(
        finals,
        [
            ("DV230200000".to_owned(), 241),
            ("DV230200001".to_owned(), 240),
            ("DV230200002".to_owned(), 249),
            ("DV230200003".to_owned(), 252),
            ("DV230200004".to_owned(), 255)
        ]
    );
    assert!(
        t.iter()
            .all(|t| t["outcome"] == "success" && t["received_bytes"] == 1025)
    );
    assert_eq!(r["summary"]["by_outcome"]["success"], 5);
}

#[test]
fn firmware_with_unchanged_software_version() {
    let r = report(&[&capture("third-party/cwmp_sim_firmware_nginx.pcap")]);
    let t = &transactions(&r)[0];
    assert_eq!(t["kind"], "firmware-upgrade");
    assert_eq!(t["received_bytes"], 204800);
    assert_eq!(t["announced_size"], 204800);
    let found = codes(&t["findings"]);
    assert!(found.contains(&"version-unchanged".to_owned()), "{found:?}");
    let fetch: Vec<(Option<u64>, Option<u64>)> = steps(t)
        .into_iter()
        .filter(|(s, _)| matches!(s, Some(9..=12)))
        .collect();
    assert_eq!(fetch, [(Some(9), Some(50)), (Some(12), Some(241))]);
}

#[test]
fn transaction_filter_and_fail_on() {
    let fleet = capture("third-party/cwmp_sim_fleet5.pcap");
    let (out, _, ok) = cwmpscope(&["analyze", "--format", "json", "--transaction", "t3", &fleet]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(transactions(&r).len(), 1);
    assert_eq!(transactions(&r)[0]["id"], "t3");
    let wanted = &transactions(&r)[0]["sessions"];
    let shown: Vec<Value> = sessions(&r).iter().map(|s| s["id"].clone()).collect();
    assert_eq!(
        Value::Array(shown),
        *wanted,
        "only the transaction's sessions"
    );

    let bin = env!("CARGO_BIN_EXE_cwmpscope");
    let status = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    let reference = capture("reference-config-update.pcap");
    assert_eq!(
        status(&["analyze", "--fail-on", "warning", &reference]),
        Some(0)
    );
    assert_eq!(status(&["analyze", "--fail-on", "error", &fleet]), Some(1));
    assert_eq!(status(&["analyze", &fleet]), Some(0));
    assert_eq!(
        status(&["analyze", "--slow-response", "-3", &fleet]),
        Some(2)
    );
}

/// A CPE that never sends its TransferComplete: its transaction is handed on as incomplete once
/// an hour has passed in capture time since the order (so endless input does not keep every
/// such transaction), and at the end of a capture that ends sooner.
#[test]
fn an_unreported_transfer_is_given_up_after_an_hour() {
    use cwmpscope_synth::conversation::{Profile, SECOND};
    use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
    use cwmpscope_synth::writer::OutputOptions;
    for (later, given_up) in [(2 * 3600 * SECOND, true), (1800 * SECOND, false)] {
        let silent = CwmpOptions::default();
        let mut flow = reference_flow(&silent);
        let report_session = flow
            .connections
            .iter()
            .rposition(|c| c.server == silent.acs)
            .expect("a connection to the ACS");
        flow.connections.remove(report_session);
        // Another CPE's update, `later` on: capture time moves past the silent one's order.
        let mut other = CwmpOptions {
            start: silent.start + later,
            cpe_ip: "100.64.9.9".parse().unwrap(),
            command_key: "other-update".to_owned(),
            ..CwmpOptions::default()
        };
        other.device.serial = "OTHER0001".to_owned();
        let connections = flow
            .connections
            .into_iter()
            .chain(reference_flow(&other).connections);
        let r = report_of_connections(
            &format!("unreported-{given_up}"),
            connections,
            &Profile::clean(1),
            &OutputOptions::default(),
        );
        let t = transactions(&r);
        assert_eq!(t.len(), 2, "later {later}");
        let silent_tx = t
            .iter()
            .find(|t| t["command_key"] == silent.command_key.as_str())
            .expect("the silent CPE's transaction");
        assert_eq!(silent_tx["outcome"], "incomplete");
        let missing: Vec<&str> = silent_tx["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "transfer-complete-missing")
            .filter_map(|f| f["message"].as_str())
            .collect();
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(
            missing[0].contains("within 3600 s of the order"),
            given_up,
            "{missing:?}"
        );
        assert_eq!(
            missing[0].contains("by the end of the capture"),
            !given_up,
            "{missing:?}"
        );
        let other_tx = t
            .iter()
            .find(|t| t["command_key"] == "other-update")
            .expect("the other CPE's transaction");
        assert_eq!(other_tx["outcome"], "success");
    }
}

/// `file_hash` is what `sha256sum` gives for the file tshark exports from the same capture
/// (`--export-objects http`), for every transaction of the shipped captures that fetched one
/// whole over clear HTTP.
#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn file_hash_is_the_sha256_of_the_file_tshark_exports() {
    if !common::oracle_available("tshark") {
        return;
    }
    let mut checked = 0;
    for name in [
        "reference-config-update.pcap",
        "reference-firmware.pcap",
        "third-party/cwmp_sim_digest_config_update.pcap",
        "third-party/cwmp_sim_firmware_nginx.pcap",
        "third-party/cwmp_sim_fleet5.pcap",
        "third-party/genieacs_genieacs_sim_config_update.pcap",
    ] {
        let file = capture(name);
        let r = report(&[&file]);
        let dir = scratch(&format!("export-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("tshark")
            .args(["-q", "-r", &file, "--export-objects"])
            .arg(format!("http,{}", dir.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("tshark runs");
        assert!(status.success(), "tshark --export-objects on {name}");
        let mut exported = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let out = std::process::Command::new("sha256sum")
                .arg(&path)
                .output()
                .expect("sha256sum runs");
            let line = String::from_utf8_lossy(&out.stdout).into_owned();
            exported.push(
                line.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        for t in transactions(&r) {
            let Some(hash) = t["file_hash"].as_str() else {
                continue;
            };
            assert_eq!(hash.len(), 64, "{name}: {hash}");
            assert!(
                exported.iter().any(|e| e == hash),
                "{name}: {} file_hash {hash} is none of tshark's exports {exported:?}",
                t["id"]
            );
            checked += 1;
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    assert!(checked >= 8, "only {checked} files checked");
}
