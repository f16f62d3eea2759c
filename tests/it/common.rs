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

/// Whether the tests run as root (who may read any file and capture anywhere).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The user id and group id of `nobody`.
const NOBODY: u32 = 65534;

/// A command running the cwmpscope binary without privileges, and the path of the binary it
/// runs. As root: as `nobody` (without supplementary groups), on the test binary if `nobody`
/// can reach it, else on a copy in a directory anyone can read; otherwise as the current user.
pub fn unprivileged_cwmpscope() -> (std::process::Command, PathBuf) {
    use std::os::unix::process::CommandExt;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_cwmpscope"));
    if !running_as_root() {
        return (std::process::Command::new(&binary), binary);
    }
    let path = if anyone_can_run(&binary) {
        binary
    } else {
        static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        COPY.get_or_init(|| copy_for_anyone(&binary)).clone()
    };
    let mut command = std::process::Command::new(&path);
    command.uid(NOBODY).gid(NOBODY);
    (command, path)
}

/// Whether a user with no rights of its own can execute `binary` (every directory above it
/// searchable by others, the file executable by others).
fn anyone_can_run(binary: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let others_may = |path: &std::path::Path| {
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
    };
    binary.ancestors().all(others_may)
}

/// `binary` in a fresh directory under the temporary directory, readable and executable by
/// anyone: a hard link where the file system allows, else a copy.
fn copy_for_anyone(binary: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("cwmpscope-anyone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let copy = dir.join("cwmpscope");
    let _ = std::fs::remove_file(&copy);
    if std::fs::hard_link(binary, &copy).is_err() {
        std::fs::copy(binary, &copy).expect("copy of the binary");
    }
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(
        anyone_can_run(&copy),
        "{} must be reachable by anyone",
        copy.display()
    );
    copy
}
