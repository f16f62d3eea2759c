//! Live capture on the loopback interface while tcpreplay replays a capture onto it: every
//! transaction of the capture is reported with the outcome and CommandKey that the analysis of
//! the file gives (frame numbers and timestamps differ). Needs root (or cap_net_raw) and
//! tcpreplay; skipped with a message otherwise, except in CI, where it must run.
#![cfg(feature = "live")]

use crate::common;

use cwmpscope_synth::conversation::Profile;
use cwmpscope_synth::cwmp::{CwmpOptions, fleet_flow};
use cwmpscope_synth::write_capture_files;
use cwmpscope_synth::writer::OutputOptions;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Tests capturing on `lo` run one at a time: each would see the other's replay.
static LO: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn lo_to_myself() -> std::sync::MutexGuard<'static, ()> {
    LO.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Whether this test can run here; says why not (and fails in CI).
pub(crate) fn can_run() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let tcpreplay = Command::new("tcpreplay")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = match (root, tcpreplay) {
        (true, true) => return true,
        (false, _) => "root (capturing on lo and replaying need it)",
        (true, false) => "tcpreplay",
    };
    assert!(!in_ci(), "live capture test needs {missing} in CI");
    eprintln!("skipping the live capture test: needs {missing}");
    false
}

/// Captures on `lo` with `filter` while `file` is replayed (`speed` times the original pace),
/// stops with SIGINT, and returns the JSON report and the statistics line.
fn capture_replay(file: &str, filter: &str, speed: &str) -> (Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(["live", "-i", "lo", "-f", filter, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cwmpscope live");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first stderr line");
    assert!(line.contains("capturing on lo"), "cwmpscope live: {line}");
    replay(file, speed);
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).expect("stdout");
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("cwmpscope live did not stop after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr");
    assert_eq!(status.code(), Some(0), "cwmpscope live: {rest}");
    let report = serde_json::from_str(&reader.join().expect("stdout reader")).expect("JSON");
    (report, rest)
}

/// What must match between a live capture and the file: per transaction its kind, CPE,
/// CommandKey, outcome, DownloadResponse Status and URL.
fn transactions(report: &Value) -> Vec<String> {
    let mut all: Vec<String> = report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| {
            format!(
                "{} {} {} {} {} {}",
                t["kind"],
                t["cpe"]["serial"],
                t["command_key"],
                t["outcome"],
                t["download_status"],
                t["url"]
            )
        })
        .collect();
    all.sort();
    all
}

/// Per session: CPE, Inform events and RPC count.
fn sessions(report: &Value) -> Vec<String> {
    let mut all: Vec<String> = common::sessions(report)
        .iter()
        .map(|s| format!("{} {} {}", s["cpe"]["serial"], s["events"], s["rpcs"]))
        .collect();
    all.sort();
    all
}

/// The hosts of a generated fleet (CPEs and ACS).
const FLEET_FILTER: &str = "net 192.0.2.0/24 or net 10.77.0.0/16";
/// The hosts of the shipped reference capture.
const REFERENCE_FILTER: &str = "host 127.0.0.2 or host 127.0.0.3 or host 127.0.0.5";

/// Writes the generated campaign of `cpes` CPEs (what `cwmpscope-capgen reference --cpes N -o
/// PATH` writes) to a temporary file, removed when the returned path is dropped (also when the
/// test fails).
fn fleet_capture(cpes: u32) -> tempfile::TempPath {
    let path = tempfile::Builder::new()
        .prefix("cwmpscope-live-")
        .suffix(".pcap")
        .tempfile()
        .expect("temporary file")
        .into_temp_path();
    let flow = fleet_flow(&CwmpOptions::default(), cpes);
    write_capture_files(
        flow.connections,
        &Profile::clean(1),
        &OutputOptions::default(),
        &path,
    )
    .expect("capture written");
    path
}

/// Replays `file` onto lo at `speed` times its pace; returns when tcpreplay is done.
fn replay(file: &str, speed: &str) {
    let replay = Command::new("tcpreplay")
        .args(["-q", "-i", "lo", "-x", speed, file])
        .output()
        .expect("run tcpreplay");
    assert!(
        replay.status.success(),
        "tcpreplay: {}",
        String::from_utf8_lossy(&replay.stderr)
    );
}

/// `cwmpscope live -i lo -f FILTER --format ndjson`, once it says it is capturing; its stdout
/// is not read yet.
fn start_live_ndjson(filter: &str) -> (Child, ChildStdout) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(["live", "-i", "lo", "-f", filter, "--format", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cwmpscope live");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first stderr line");
    assert!(line.contains("capturing on lo"), "cwmpscope live: {line}");
    child.stderr = Some(stderr.into_inner());
    let stdout = child.stdout.take().expect("stdout");
    (child, stdout)
}

/// Reads the NDJSON objects of `stdout` on a thread of its own, each with when it was read.
fn read_objects(stdout: ChildStdout) -> (Receiver<(Instant, Value)>, std::thread::JoinHandle<()>) {
    let (tx, rx) = channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if tx.send((Instant::now(), value)).is_err() {
                break;
            }
        }
    });
    (rx, reader)
}

/// Takes objects from `objects` until `wanted` says it has all it wants or `deadline` passes;
/// returns when the last object taken was read.
fn read_until(
    objects: &Receiver<(Instant, Value)>,
    deadline: Instant,
    mut wanted: impl FnMut(&Value) -> bool,
) -> Option<Instant> {
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((at, value)) = objects.recv_timeout(left) else {
            return last;
        };
        last = Some(at);
        if !wanted(&value) {
            return last;
        }
    }
}

/// Stops `cwmpscope live` with SIGINT; returns whether it exited well and its stderr. The
/// capture thread must see the stop at once: a thread that did not would keep the analysis
/// draining for two seconds and more.
fn interrupt(mut child: Child) -> (bool, String) {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let asked = Instant::now();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("stderr");
    }
    let status = child.wait().expect("wait");
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "cwmpscope live took {took:?} to stop after SIGINT: {stderr}"
    );
    (status.success(), stderr)
}

fn compare(file: &str, filter: &str, speed: &str, expected_transactions: usize) {
    let from_file = common::report(&[file]);
    let (live, stats) = capture_replay(file, filter, speed);
    assert!(
        stats.contains("0 dropped by cwmpscope"),
        "the queue dropped frames: {stats}"
    );
    let packets = from_file["capture"]["packets"].as_u64().expect("packets");
    assert_eq!(
        live["capture"]["packets"].as_u64(),
        Some(packets),
        "every replayed packet captured ({stats})"
    );
    let expected = transactions(&from_file);
    assert_eq!(expected.len(), expected_transactions);
    assert_eq!(transactions(&live), expected);
    assert_eq!(sessions(&live), sessions(&from_file));
}

#[test]
#[cfg_attr(
    not(all(have_tcpreplay, is_root)),
    ignore = "needs root and tcpreplay (apt-get install tcpreplay)"
)]
fn live_capture_of_a_replay_reports_every_transaction() {
    if !can_run() {
        return;
    }
    let _lo = lo_to_myself();
    compare(
        &common::capture("reference-config-update.pcap"),
        REFERENCE_FILTER,
        "1",
        1,
    );

    // A larger generated campaign: 200 CPEs.
    let fleet = fleet_capture(200);
    compare(fleet.to_str().expect("path"), FLEET_FILTER, "4", 200);
}

#[test]
#[cfg_attr(
    not(all(have_tcpreplay, is_root)),
    ignore = "needs root and tcpreplay (apt-get install tcpreplay)"
)]
fn live_reports_a_session_the_protocol_ended_without_waiting_for_more_traffic() {
    if !can_run() {
        return;
    }
    let _lo = lo_to_myself();
    let (child, stdout) = start_live_ndjson(REFERENCE_FILTER);
    let (objects, reader) = read_objects(stdout);
    replay(&common::capture("reference-config-update.pcap"), "1");
    let replayed = Instant::now();
    // Both sessions ended by the protocol and the transaction they make, with no further
    // traffic: all reported within a second and a half.
    let mut wanted = vec!["session s1", "session s2", "transaction t1"];
    read_until(&objects, replayed + Duration::from_millis(1500), |v| {
        let name = format!(
            "{} {}",
            v["type"].as_str().unwrap_or(""),
            v["id"].as_str().unwrap_or("")
        );
        wanted.retain(|w| *w != name);
        !wanted.is_empty()
    });
    let (ok, stderr) = interrupt(child);
    reader.join().expect("reader");
    assert!(ok, "cwmpscope live: {stderr}");
    assert!(
        wanted.is_empty(),
        "not reported within 1.5 s of the end of the replay: {wanted:?}"
    );
}

/// The last packets of a replay arrive while the analysis is behind (its output is not read,
/// so it waits on a full pipe), and no packet follows them: the capture must still hand them
/// over, so the last sessions and transactions are reported within a second and a half once
/// the output is read again, without stopping the capture.
#[test]
#[cfg_attr(
    not(all(have_tcpreplay, is_root)),
    ignore = "needs root and tcpreplay (apt-get install tcpreplay)"
)]
fn the_last_packets_are_handed_over_when_the_analysis_was_behind_and_lo_goes_quiet() {
    if !can_run() {
        return;
    }
    let _lo = lo_to_myself();
    const CPES: u64 = 20;
    let fleet = fleet_capture(CPES as u32);
    let (child, stdout) = start_live_ndjson(FLEET_FILTER);
    // Each CPE makes kilobytes of output: the pipe is full long before the replay ends.
    replay(fleet.to_str().expect("path"), "4");
    let replayed = Instant::now();
    let (objects, reader) = read_objects(stdout);
    let (mut sessions, mut transactions) = (0u64, 0u64);
    let last = read_until(&objects, replayed + Duration::from_secs(5), |v| {
        match v["type"].as_str() {
            Some("session") => sessions += 1,
            Some("transaction") => transactions += 1,
            _ => {}
        }
        sessions < 2 * CPES || transactions < CPES
    });
    let (ok, stderr) = interrupt(child);
    reader.join().expect("reader");
    assert!(ok, "cwmpscope live: {stderr}");
    assert_eq!(
        (sessions, transactions),
        (2 * CPES, CPES),
        "reported without more traffic (stderr: {stderr})"
    );
    let late = last.expect("something reported").duration_since(replayed);
    eprintln!("the last session or transaction came {late:?} after the end of the replay");
    assert!(
        late < Duration::from_millis(1500),
        "the last session or transaction came {late:?} after the end of the replay"
    );
}

/// The first line cwmpscope writes on stderr within ten seconds, and whether it is still
/// running then (it is stopped): an error ends the run at once.
fn first_error_line(mut command: Command) -> (Option<i32>, String, bool) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cwmpscope");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (status.and_then(|s| s.code()), stderr, status.is_none())
}

/// An interface that does not exist: one line naming it and those that do, exit 2, for
/// `live`, `analyze -i` and `tui -i`. Opens nothing, so it needs neither root nor traffic.
#[test]
fn live_missing_interface_names_the_available_ones() {
    for command in ["live", "analyze", "tui"] {
        let mut cwmpscope = Command::new(env!("CARGO_BIN_EXE_cwmpscope"));
        cwmpscope.args([command, "-i", "nosuch0"]);
        let (code, stderr, running) = first_error_line(cwmpscope);
        assert!(!running, "{command}: still running");
        assert_eq!(code, Some(2), "{command}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{command}: one line: {stderr}");
        let line = stderr.trim_end();
        assert!(
            line.starts_with("cwmpscope: nosuch0: no such interface; available: "),
            "{command}: {line}"
        );
        assert!(line.ends_with(" (see `ip link`)"), "{command}: {line}");
        let available = line
            .trim_start_matches("cwmpscope: nosuch0: no such interface; available: ")
            .trim_end_matches(" (see `ip link`)");
        let names: Vec<&str> = available.split(", ").collect();
        assert!(names.contains(&"lo"), "{command}: {line}");
        assert!(names.contains(&"any"), "{command}: {line}");
    }
}

/// Capturing without the privileges: one line with the `setcap` command for the binary that
/// ran, exit 2. As root the binary runs as `nobody`; it opens `lo` but is refused before any
/// packet, so it sends and reads no traffic.
#[test]
fn live_capture_without_privileges_gives_the_setcap_command() {
    let (mut cwmpscope, binary) = common::unprivileged_cwmpscope();
    cwmpscope.args(["live", "-i", "lo", "-f", "tcp port 9"]);
    let (code, stderr, running) = first_error_line(cwmpscope);
    if running || stderr.contains("capturing on lo") {
        // Not root, and the binary may capture (it has the capabilities already).
        assert!(!in_ci(), "CI runs as root: nobody may not capture");
        eprintln!("skipping: this user may capture on lo without root");
        return;
    }
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let line = stderr.trim_end();
    assert!(
        line.starts_with("cwmpscope: lo: no permission to capture ("),
        "{line}"
    );
    let real_path = std::fs::canonicalize(&binary).expect("binary path");
    assert!(
        line.ends_with(&format!(
            "; run as root, or allow this binary once: sudo setcap cap_net_raw,cap_net_admin=eip {}",
            real_path.display()
        )),
        "{line}"
    );
    assert!(!line.contains("libpcap error"), "{line}");
}
