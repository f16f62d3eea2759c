//! The same capture gives the same report whatever way it comes in: a file, stdin behind a
//! slow pipe, gzip (as a file and on stdin); stdin text streams ladders as they complete; a
//! build without the `live` feature explains how to get live capture; a session the protocol
//! ended is reported from a quiet pipe without waiting for more input.

use crate::common;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
}

/// Runs the binary with `input` written to its stdin in small chunks with pauses.
fn run_with_slow_stdin(args: &[&str], input: Vec<u8>, chunk: usize, pause: Duration) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cwmpscope");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for part in input.chunks(chunk) {
            stdin.write_all(part).expect("write to cwmpscope");
            stdin.flush().expect("flush");
            std::thread::sleep(pause);
        }
    });
    let out = child.wait_with_output().expect("cwmpscope output");
    writer.join().expect("writer");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// The JSON report with the input names taken out (they differ by construction).
fn without_names(mut report: Value) -> Value {
    report["capture"]["files"] = Value::Null;
    report
}

fn json_of(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn file_stdin_and_gzip_give_identical_reports() {
    let captures = [
        common::capture("reference-config-update.pcap"),
        common::capture("third-party/netcwmp_digest_session.pcap"),
        common::capture("third-party/cwmp_sim_fleet5.pcap"),
    ];
    for path in &captures {
        let bytes = std::fs::read(path).expect("capture");
        let from_file = without_names(common::report(&[path]));
        assert!(
            !from_file["sessions"]
                .as_array()
                .expect("sessions")
                .is_empty(),
            "{path}: no session"
        );

        let gz_path = std::env::temp_dir().join(format!(
            "cwmpscope-live-inputs-{}-{}.pcap.gz",
            std::process::id(),
            path.rsplit('/').next().unwrap_or("x")
        ));
        std::fs::write(&gz_path, gzip(&bytes)).expect("write gzip");
        let from_gzip_file = without_names(common::report(&[gz_path.to_str().expect("path")]));
        std::fs::remove_file(&gz_path).ok();
        assert_eq!(from_file, from_gzip_file, "{path}: gzip file differs");

        let args = ["analyze", "--format", "json", "-r", "-"];
        let slow = run_with_slow_stdin(&args, bytes.clone(), 1400, Duration::from_millis(1));
        assert_eq!(
            from_file,
            without_names(json_of(&slow)),
            "{path}: stdin differs"
        );

        let gz_stdin = run_with_slow_stdin(&args, gzip(&bytes), 700, Duration::from_millis(1));
        assert_eq!(
            from_file,
            without_names(json_of(&gz_stdin)),
            "{path}: gzip on stdin differs"
        );

        let ndjson = run_with_slow_stdin(
            &["analyze", "--format", "ndjson", "-"],
            bytes.clone(),
            4096,
            Duration::ZERO,
        );
        assert_eq!(ndjson.status.code(), Some(0));
        let lines: Vec<Value> = String::from_utf8_lossy(&ndjson.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
            .collect();
        let sessions: Vec<&Value> = lines.iter().filter(|l| l["type"] == "session").collect();
        assert_eq!(
            sessions.len(),
            from_file["sessions"].as_array().map_or(0, Vec::len),
            "{path}: ndjson sessions"
        );
    }
}

#[test]
fn a_pause_longer_than_the_idle_tick_changes_nothing_for_a_saved_capture() {
    // A saved capture keeps its own clock: a writer pausing for seconds must not move it.
    let path = common::capture("reference-config-update.pcap");
    let bytes = std::fs::read(&path).expect("capture");
    let from_file = without_names(common::report(&[&path]));
    let half = bytes.len() / 2 + 1;
    let out = run_with_slow_stdin(
        &["analyze", "--format", "json", "-"],
        bytes,
        half,
        Duration::from_millis(1600),
    );
    assert_eq!(from_file, without_names(json_of(&out)));
}

#[test]
fn stdin_text_streams_ladders_and_session_lines_then_the_table() {
    let bytes = std::fs::read(common::capture("reference-config-update.pcap")).expect("capture");
    let out = run_with_slow_stdin(
        &["analyze", "--color", "never", "-r", "-"],
        bytes,
        2048,
        Duration::ZERO,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let s1 = text
        .find("s1  CPE THOMSON TG784n CP0923JT0XX")
        .expect("s1 line");
    let s2 = text
        .find("s2  CPE THOMSON TG784n CP0923JT0XX")
        .expect("s2 line");
    let ladder = text.find("t1  configuration update").expect("t1 ladder");
    let summary = text.find("-: 42 packets").expect("summary at the end");
    let table = text.find("\nsessions\n").expect("session table");
    let findings = text.find("\nfindings\n").expect("findings");
    // Sessions complete before the transaction that spans them; the summary closes.
    assert!(s1 < s2 && s2 < ladder && ladder < summary && summary < table && table < findings);
    assert!(text.contains("step       +s   CPE 127.0.0.5"));
    assert!(text.contains("cfg-1.1.1 · SUCCESS"));
    assert!(text.contains("2 PERIODIC · 5 rpcs · normal"));
}

/// NDJSON lines of `cwmpscope analyze -r - --format ndjson` fed a whole capture at once and
/// then kept open (not closed) for `hold`: each line with how long after the last write it
/// arrived (`None`: after stdin was closed).
fn ndjson_from_a_quiet_pipe(capture: &str, hold: Duration) -> Vec<(Option<Duration>, Value)> {
    let bytes = std::fs::read(common::capture(capture)).expect("capture");
    let mut child = bin()
        .args(["analyze", "-r", "-", "--format", "ndjson"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cwmpscope");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            tx.send((Instant::now(), line)).expect("collector");
        }
    });
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&bytes).expect("write to cwmpscope");
    stdin.flush().expect("flush");
    let written = Instant::now();
    std::thread::sleep(hold);
    let closed = Instant::now();
    drop(stdin);
    assert!(child.wait().expect("cwmpscope").success());
    reader.join().expect("reader");
    rx.try_iter()
        .map(|(at, line)| {
            let when = (at < closed).then(|| at.duration_since(written));
            (when, serde_json::from_str(&line).expect("NDJSON line"))
        })
        .collect()
}

#[test]
fn a_session_ended_by_the_protocol_is_reported_while_the_pipe_stays_open() {
    // Both reference captures end with a session the ACS ended with its empty response, the
    // CPE then closing the connection; their transaction's TransferComplete is in that session
    // and its file connection closed before. Nothing more comes, yet the pipe stays open.
    for capture in ["reference-config-update.pcap", "reference-cookie.pcap"] {
        let lines = ndjson_from_a_quiet_pipe(capture, Duration::from_millis(3000));
        let arrival = |kind: &str, id: &str| {
            lines
                .iter()
                .find(|(_, v)| v["type"] == kind && v["id"] == id)
                .unwrap_or_else(|| panic!("{capture}: no {kind} {id}"))
                .0
        };
        for (kind, id) in [("session", "s1"), ("session", "s2"), ("transaction", "t1")] {
            let at = arrival(kind, id);
            assert!(
                at.is_some_and(|at| at < Duration::from_millis(1500)),
                "{capture}: {kind} {id} reported {at:?} after the last packet (None: only at the end of input)"
            );
        }
        let s2 = lines
            .iter()
            .find(|(_, v)| v["type"] == "session" && v["id"] == "s2")
            .map(|(_, v)| v)
            .expect("s2");
        assert_eq!(s2["termination"], "normal", "{capture}");
        assert_eq!(s2["tcp"][0]["end"], "closed", "{capture}");
        // The summary waits for the end of input.
        let summary = lines.iter().find(|(_, v)| v["type"] == "summary");
        assert!(summary.is_some_and(|(at, _)| at.is_none()), "{capture}");
        // And what was reported early is what the file gives.
        let from_file = common::report(&[&common::capture(capture)]);
        let sessions: Vec<&Value> = lines
            .iter()
            .filter(|(_, v)| v["type"] == "session")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            sessions.len(),
            common::sessions(&from_file).len(),
            "{capture}"
        );
        for s in sessions {
            let mut s = s.clone();
            s.as_object_mut().expect("object").remove("type");
            assert!(
                common::sessions(&from_file).contains(&s),
                "{capture}: session {} differs from the file's",
                s["id"]
            );
        }
    }
}

#[cfg(not(feature = "live"))]
#[test]
fn without_the_feature_live_says_how_to_get_it() {
    for args in [
        &["live", "-i", "lo", "-f", "tcp port 7547", "--no-promisc"][..],
        &["analyze", "-i", "lo"][..],
    ] {
        let out = bin().args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cargo build --release --features live"),
            "{err}"
        );
        assert!(err.contains("apt-get install -y libpcap-dev"), "{err}");
        assert!(err.contains("tcpdump -i lo -U"), "{err}");
        assert!(err.contains("| cwmpscope analyze -r -"), "{err}");
    }
    let out = bin()
        .args(["live", "-i", "lo", "-f", "tcp port 7547", "--no-promisc"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tcpdump -i lo -U -p -w - 'tcp port 7547' | cwmpscope analyze -r -"),
        "{err}"
    );
}
