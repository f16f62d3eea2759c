//! `cwmpscope extract`: every transaction of every shipped capture, written as a pcap of its
//! own and analyzed again, is the same transaction with the same outcome and findings, and the
//! pcap holds the frames of its connections only.

use crate::common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Shipped captures with transactions (the others have none to extract).
fn captures_with_transactions() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["", "third-party"] {
        let dir = PathBuf::from(common::capture(dir));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("captures directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// Runs `extract` in-process; returns the report of the written pcap and the stderr line.
fn extract(input: &Path, args: &[&str], out: &Path) -> (Value, String) {
    let input = input.to_string_lossy();
    let out_name = out.to_string_lossy();
    let mut argv = vec!["extract", &*input];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-w", &*out_name]);
    let (stdout, stderr, ok) = common::cwmpscope(&argv);
    assert!(ok, "extract {argv:?} failed: {stderr}");
    assert!(stdout.is_empty(), "extract writes nothing on stdout");
    let json = std::fs::read_to_string(out.with_extension("json")).expect("the report beside");
    (serde_json::from_str(&json).expect("valid JSON"), stderr)
}

/// (code, severity) of each finding of a report object, sorted.
fn codes(object: &Value) -> Vec<(String, String)> {
    let mut codes: Vec<(String, String)> = object["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_owned(),
                f["severity"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    codes.sort();
    codes
}

/// What must survive the round trip.
fn essence(t: &Value) -> Value {
    serde_json::json!({
        "kind": t["kind"],
        "cpe": t["cpe"],
        "command_key": t["command_key"],
        "file_type": t["file_type"],
        "url": t["url"],
        "outcome": t["outcome"],
        "download_status": t["download_status"],
        "received_bytes": t["received_bytes"],
        "file_hash": t["file_hash"],
        "fault": t["fault"],
        "sessions": t["sessions"].as_array().map(Vec::len),
        "findings": codes(t),
    })
}

/// The number after `needle` in the stderr line (`… 65 frames of 3 TCP connections …`).
fn count_before(line: &str, needle: &str) -> u64 {
    let before = &line[..line.find(needle).expect(needle)];
    before
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

#[test]
fn every_transaction_of_every_shipped_capture_round_trips() {
    let mut extracted = 0;
    for capture in captures_with_transactions() {
        let name = capture.to_string_lossy().into_owned();
        let original = common::report(&[&name]);
        let transactions = original["transactions"].as_array().expect("transactions");
        for t in transactions {
            let id = t["id"].as_str().expect("id");
            let stem = capture.file_stem().unwrap().to_string_lossy();
            let out = common::scratch(&format!("extract-{stem}-{id}.pcap"));
            let (again, stderr) = extract(&capture, &["--transaction", id], &out);
            let line = stderr.trim_end();
            assert_eq!(line.lines().count(), 1, "one line on stderr: {stderr}");
            assert!(line.contains(&format!("extracted {id} ")), "{name}: {line}");
            // Same transaction: same essence, one of the transactions found again.
            let found: Vec<Value> = again["transactions"]
                .as_array()
                .expect("transactions")
                .iter()
                .map(essence)
                .collect();
            assert!(
                found.contains(&essence(t)),
                "{name} {id}: {:#} not among {found:#?}",
                essence(t)
            );
            // Its sessions with the same findings.
            let session_codes = |report: &Value, ids: &Value| -> Vec<Vec<(String, String)>> {
                let ids: Vec<&str> = ids
                    .as_array()
                    .expect("session ids")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                common::sessions(report)
                    .iter()
                    .filter(|s| ids.contains(&s["id"].as_str().unwrap_or_default()))
                    .map(codes)
                    .collect()
            };
            let again_t = again["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| essence(a) == essence(t))
                .unwrap();
            assert_eq!(
                session_codes(&again, &again_t["sessions"]),
                session_codes(&original, &t["sessions"]),
                "{name} {id}: findings of its sessions"
            );
            // The pcap holds the frames of the connections written, and nothing else: its
            // analysis sees exactly those connections and frames.
            let frames = count_before(line, " frames");
            let conns = count_before(line, " TCP connections");
            assert_eq!(again["capture"]["packets"], frames, "{name} {id}: {line}");
            assert_eq!(
                again["capture"]["tcp_connections"], conns,
                "{name} {id}: {line}"
            );
            assert!(
                frames < original["capture"]["packets"].as_u64().unwrap()
                    || transactions.len() == 1,
                "{name} {id}: a transaction of several is a part of the capture"
            );
            extracted += 1;
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_file(out.with_extension("json"));
        }
    }
    assert!(extracted >= 8, "only {extracted} transactions extracted");
}

fn fleet() -> PathBuf {
    PathBuf::from(common::capture("third-party/cwmp_sim_fleet5.pcap"))
}

/// Serial numbers of the sessions and transactions of a report.
fn serials(report: &Value) -> Vec<String> {
    let mut all: Vec<String> = common::sessions(report)
        .iter()
        .chain(report["transactions"].as_array().expect("transactions"))
        .map(|o| o["cpe"]["serial"].as_str().unwrap_or_default().to_owned())
        .collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn a_fleet_transaction_keeps_its_cpe_only() {
    let out = common::scratch("extract-fleet-t3.pcap");
    let (again, line) = extract(&fleet(), &["--transaction", "t3"], &out);
    // DV230200002's two sessions and its file fetch (its own connection), no other CPE's.
    assert_eq!(serials(&again), ["DV230200002"], "{line}");
    assert_eq!(common::sessions(&again).len(), 2);
    assert_eq!(again["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(again["capture"]["tcp_connections"], 3, "{line}");
    let bytes = std::fs::read(&out).expect("pcap");
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("DV230200002.cfg"));
    for other in ["DV230200000", "DV230200001", "DV230200003", "DV230200004"] {
        assert!(!has(other), "{other} in the extract of t3");
    }
}

#[test]
fn a_shared_keep_alive_file_connection_is_written_whole() {
    // DV230200000 and DV230200004 fetched their files on one kept-alive connection (tshark's
    // stream 11). A connection is indivisible: extracting DV230200000's transaction writes it
    // whole, the other CPE's GET included; that GET matches no transaction in the extract.
    let original = common::report(&[&fleet().to_string_lossy()]);
    let t = original["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["cpe"]["serial"] == "DV230200000")
        .expect("DV230200000's transaction");
    let id = t["id"].as_str().unwrap();
    let out = common::scratch("extract-fleet-shared.pcap");
    let (again, line) = extract(&fleet(), &["--transaction", id], &out);
    let bytes = std::fs::read(&out).expect("pcap");
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("GET /configs/DV230200000.cfg"), "{line}");
    assert!(
        has("GET /configs/DV230200004.cfg"),
        "the shared connection is whole"
    );
    // No session of the other CPE: only its file GET rode along.
    assert_eq!(serials(&again), ["DV230200000"]);
    assert_eq!(again["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(essence(&again["transactions"][0]), essence(t));
}

#[test]
fn cpe_extracts_every_session_and_transaction_of_the_cpe() {
    let original = common::report(&[&fleet().to_string_lossy()]);
    let of_cpe = |r: &Value| {
        common::sessions(r)
            .iter()
            .filter(|s| s["cpe"]["serial"] == "DV230200002")
            .count()
    };
    let out = common::scratch("extract-fleet-cpe.pcap");
    let (again, line) = extract(&fleet(), &["--cpe", "dv230200002"], &out);
    assert_eq!(serials(&again), ["DV230200002"], "{line}");
    assert_eq!(common::sessions(&again).len(), of_cpe(&original));
    assert_eq!(again["transactions"].as_array().unwrap().len(), 1);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
}

#[test]
fn a_missing_transaction_exits_2_with_one_line() {
    let out = common::scratch("extract-missing.pcap");
    let run = bin()
        .args([
            "extract",
            &fleet().to_string_lossy(),
            "--transaction",
            "t99",
            "-w",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("no transaction t99"), "{err}");
    assert!(!out.exists(), "nothing written");
    let run = bin()
        .args(["extract", &fleet().to_string_lossy(), "--cpe", "NOPE", "-w"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr)
            .trim_end()
            .lines()
            .count(),
        1
    );
}

#[test]
fn stdin_is_refused_with_one_line() {
    let run = bin()
        .args([
            "extract",
            "-",
            "--transaction",
            "t1",
            "-w",
            "/tmp/never.pcap",
        ])
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("stdin"), "{err}");
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn tshark_reads_the_written_pcap() {
    let out = common::scratch("extract-tshark.pcap");
    let (_, line) = extract(
        &PathBuf::from(common::capture("reference-firmware.pcap")),
        &["--transaction", "t1"],
        &out,
    );
    let frames = count_before(&line, " frames");
    let run = Command::new("tshark")
        .arg("-r")
        .arg(&out)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let listed = String::from_utf8_lossy(&run.stdout).lines().count() as u64;
    assert_eq!(listed, frames, "{line}");
}
