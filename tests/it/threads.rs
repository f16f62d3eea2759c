//! The analysis gives the same report whatever the thread count: one thread, or the back half
//! (sessions, transactions, findings) on a worker thread.

use crate::common;
use common::*;
use cwmpscope_synth::conversation::Profile;
use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
use cwmpscope_synth::write_capture_files;
use cwmpscope_synth::writer::OutputOptions;

fn json_with_threads(path: &str, threads: &str) -> String {
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", "--threads", threads, path]);
    assert!(ok, "{path}: {err}");
    out
}

#[test]
fn one_or_two_threads_give_identical_reports() {
    let dir = std::env::temp_dir().join(format!("cwmpscope-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = dir.join("fleet.pcap");
    let flow = reference_flow(&CwmpOptions {
        seed: 9,
        ..CwmpOptions::default()
    });
    write_capture_files(
        flow.connections,
        &Profile::awkward(4),
        &OutputOptions::default(),
        &generated,
    )
    .unwrap();
    let paths = [
        capture("reference-cookie.pcap"),
        capture("third-party/cwmp_sim_fleet5.pcap"),
        capture("third-party/genieacs_genieacs_sim_config_update.pcap"),
        capture("public/zeek_http_1000-requests-one-dropped-response.pcap"),
        generated.to_string_lossy().into_owned(),
    ];
    for path in &paths {
        let one = json_with_threads(path, "1");
        let two = json_with_threads(path, "2");
        assert_eq!(one, two, "{path}");
        let r: serde_json::Value = serde_json::from_str(&two).unwrap();
        assert!(
            r["capture"]["http_messages"].as_u64().unwrap() > 0,
            "{path}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
