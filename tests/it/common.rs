//! Helpers of the integration tests: paths of captures, running the analyzer in-process.

use clap::Parser;
use cwmpscope::cli::{Cli, run};
use serde_json::Value;
use std::path::PathBuf;

/// A capture shipped with the project (`captures/NAME`).
pub fn capture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "captures", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// Runs `cwmpscope` with these arguments in-process; returns (stdout, stderr, ok).
pub fn cwmpscope(args: &[&str]) -> (String, String, bool) {
    let argv = std::iter::once("cwmpscope").chain(args.iter().copied());
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let ok = run(cli, &mut out, &mut err).is_ok();
    (
        String::from_utf8(out).expect("utf-8 output"),
        String::from_utf8(err).expect("utf-8 errors"),
        ok,
    )
}

/// The JSON report of these files.
pub fn report(files: &[&str]) -> Value {
    let mut args = vec!["analyze", "--format", "json"];
    args.extend_from_slice(files);
    let (out, err, ok) = cwmpscope(&args);
    assert!(ok, "analysis failed: {err}");
    serde_json::from_str(&out).expect("valid JSON")
}

/// The sessions array of a report.
pub fn sessions(report: &Value) -> &Vec<Value> {
    report["sessions"].as_array().expect("sessions array")
}

/// (frame, http line, rpc names) of each message of a session, for compact assertions.
pub fn ladder(session: &Value) -> Vec<(u64, String, Vec<String>)> {
    session["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["frame"].as_u64().expect("frame number"),
                m["http"].as_str().unwrap_or_default().to_owned(),
                m["rpcs"]
                    .as_array()
                    .expect("rpcs")
                    .iter()
                    .map(|r| r.as_str().unwrap_or_default().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Frames of the messages of a session.
pub fn frames(session: &Value) -> Vec<u64> {
    ladder(session).into_iter().map(|(f, _, _)| f).collect()
}

/// Event codes of a session.
pub fn events(session: &Value) -> Vec<String> {
    session["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Whether a reference tool (tshark, editcap) can be run. Tests that use one as an oracle call
/// this first: outside CI a missing tool skips the test with a message (so `cargo test` works
/// on a machine without Wireshark's tools); in CI (`CI` set) it is a failure.
pub fn oracle_available(tool: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI (apt-get install tshark)"
        );
        eprintln!("skipped: {tool} is not installed (apt-get install tshark to run this test)");
    }
    found
}

/// A path for a generated capture in this test binary's scratch directory.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cwmpscope-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name.replace('/', "-"))
}

/// Renders scripted connections with the generator, analyzes the capture file(s) in-process
/// and removes them; returns the JSON report.
pub fn report_of_connections(
    name: &str,
    connections: impl IntoIterator<Item = cwmpscope_synth::conversation::Connection>,
    profile: &cwmpscope_synth::conversation::Profile,
    output: &cwmpscope_synth::writer::OutputOptions,
) -> Value {
    let (_, files) =
        cwmpscope_synth::write_capture_files(connections, profile, output, &scratch(name))
            .expect("capture written");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = report(&refs);
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    r
}
