//! The binary's contract for bad input: one clear line on stderr naming the file, exit 2, never
//! a panic; a file cut in the middle of a packet is analyzed up to the cut and reported.

use crate::common;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn tmp(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("cwmpscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "exit status");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("cwmpscope: "), "{err}");
    assert!(err.contains(needle), "{err} should mention {needle}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_file() {
    let out = run(&["analyze", "/nonexistent/x.pcap"]);
    assert_one_line_error(&out, "/nonexistent/x.pcap");
}

#[test]
fn empty_file() {
    let path = tmp("empty.pcap", b"");
    let out = run(&["analyze", &path]);
    assert_one_line_error(&out, "empty.pcap");
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn not_a_capture() {
    let path = tmp(
        "notes.txt",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nthis is not a capture file at all",
    );
    let out = run(&["analyze", &path]);
    assert_one_line_error(&out, "notes.txt");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a capture"));
}

#[test]
fn unsupported_link_type() {
    // A pcap header announcing link type 147 (user-defined), then nothing.
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&147u32.to_le_bytes());
    let path = tmp("usb.pcap", &header);
    let out = run(&["analyze", &path]);
    assert_one_line_error(&out, "usb.pcap");
    assert!(String::from_utf8_lossy(&out.stderr).contains("link type 147 (USER0)"));
}

#[test]
fn no_input_is_a_usage_error() {
    let out = run(&["analyze"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["analyze", "--format", "xml", "x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cut_file_is_analyzed_up_to_the_cut() {
    let whole = std::fs::read(common::capture(
        "third-party/cwmp_sim_digest_config_update.pcap",
    ))
    .unwrap();
    // Cut in the middle of the last packet.
    let path = tmp("cut.pcap", &whole[..whole.len() - 20]);
    let out = run(&["analyze", "--format", "json", &path]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.pcap") && err.contains("cut short"),
        "{err}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["capture"]["packets"], 87);
    assert_eq!(report["sessions"].as_array().unwrap().len(), 3);
    assert!(
        report["capture"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("cut short")
    );
}

#[test]
fn garbage_never_panics() {
    // A valid pcap header followed by random records of random lengths and link types.
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for linktype in [1u32, 0, 101, 113, 276, 228, 229] {
        let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        file.extend_from_slice(&65535u32.to_le_bytes());
        file.extend_from_slice(&linktype.to_le_bytes());
        for i in 0..300u32 {
            let len = (next() % 200) as u32;
            file.extend_from_slice(&i.to_le_bytes());
            file.extend_from_slice(&0u32.to_le_bytes());
            file.extend_from_slice(&len.to_le_bytes());
            file.extend_from_slice(&len.to_le_bytes());
            file.extend((0..len).map(|_| next() as u8));
        }
        let path = tmp(&format!("garbage-{linktype}.pcap"), &file);
        let out = run(&["analyze", &path]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "link type {linktype}: {err}");
        assert_eq!(out.status.code(), Some(0), "link type {linktype}: {err}");
    }
}

#[test]
fn stdin_behind_a_slow_pipe() {
    let whole = std::fs::read(common::capture("third-party/netcwmp_digest_session.pcap")).unwrap();
    let mut child = bin()
        .args(["analyze", "--format", "json", "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for chunk in whole.chunks(997) {
            stdin.write_all(chunk).unwrap();
            stdin.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["capture"]["files"][0], "-");
    assert_eq!(report["sessions"].as_array().unwrap().len(), 2);
}

#[test]
fn a_display_filter_keeps_what_the_views_filter_keeps() {
    let captures = [
        "captures/third-party/netcwmp_digest_session.pcap",
        "captures/reference-config-update.pcap",
    ];
    let lines = |filter: &str| -> Vec<serde_json::Value> {
        let mut args = vec!["analyze", "--format", "ndjson", "-Y", filter];
        args.extend(captures);
        let out = bin()
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .filter(|o: &serde_json::Value| o["type"] == "transaction" || o["type"] == "session")
            .collect()
    };
    let failed = lines("outcome=failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["type"], "transaction");
    assert_eq!(failed[0]["fault"]["code"], 9001);
    let sessions = lines("kind=session outcome=normal");
    assert!(!sessions.is_empty());
    assert!(
        sessions
            .iter()
            .all(|o| o["type"] == "session" && o["termination"] == "normal")
    );
    let out = bin()
        .args(["analyze", "-Y", "code=nope", captures[1]])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run");
    assert_one_line_error(&out, "no such finding code");
}
