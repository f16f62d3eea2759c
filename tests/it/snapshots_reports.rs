//! Snapshots of the whole report for every committed reference capture and every third-party
//! CWMP capture: JSON (the contract) and text (what a person reads). A change in any decoded
//! value, frame number or layout shows up here.
//!
//! Paths are relative to the package root (where `cargo test` runs), so the snapshots do not
//! depend on where the repository lives.

use crate::common;
use common::cwmpscope;

const REFERENCE: [&str; 5] = [
    "reference-config-update",
    "reference-maxenvelopes1",
    "reference-cookie",
    "reference-firmware",
    "reference-connection-request",
];

const THIRD_PARTY: [&str; 5] = [
    "cwmp_sim_digest_config_update",
    "genieacs_genieacs_sim_config_update",
    "netcwmp_digest_session",
    "cwmp_sim_fleet5",
    "cwmp_sim_firmware_nginx",
];

fn json_of(path: &str) -> serde_json::Value {
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", path]);
    assert!(ok, "{path}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn reference_captures_json() {
    for name in REFERENCE {
        let report = json_of(&format!("captures/{name}.pcap"));
        insta::assert_json_snapshot!(format!("json-{name}"), report);
    }
}

#[test]
fn reference_captures_text() {
    for name in REFERENCE {
        let path = format!("captures/{name}.pcap");
        let (out, err, ok) = cwmpscope(&["analyze", "--color", "never", &path]);
        assert!(ok, "{path}: {err}");
        insta::assert_snapshot!(format!("text-{name}"), out);
    }
}

#[test]
fn third_party_captures_json() {
    for name in THIRD_PARTY {
        let report = json_of(&format!("captures/third-party/{name}.pcap"));
        insta::assert_json_snapshot!(format!("json-{name}"), report);
    }
}
