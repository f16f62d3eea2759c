//! `cwmpscope analyze --summary`: the header, the campaign table and the findings by code, on
//! the shipped captures and a generated campaign, checked against the JSON report's figures.

use crate::common;
use clap::Parser;
use common::*;
use cwmpscope::cli::{Cli, Outcome, run};
use cwmpscope_synth::campaign::{CampaignOptions, campaign_bytes};
use cwmpscope_synth::conversation::SECOND;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// One row of a campaign block: value, transactions, success, failed, incomplete, rate, top
/// cause.
#[derive(Debug, PartialEq)]
struct Row {
    value: String,
    counts: [u64; 4],
    rate: String,
    cause: String,
}

/// The parts of a `--summary` output.
#[derive(Debug)]
struct Parsed {
    header: Vec<String>,
    /// Dimension name → its rows.
    blocks: Vec<(String, Vec<Row>)>,
    /// (count, severity, code, meaning).
    codes: Vec<(u64, String, String, String)>,
}

/// Splits a cell line at runs of two spaces or more.
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse(out: &str) -> Parsed {
    let mut parts = out.split("\n\ncampaign\n");
    let header = parts.next().unwrap().lines().map(str::to_owned).collect();
    let rest = parts.next().expect("a campaign part");
    let (campaign, codes) = rest
        .split_once("\n\nfindings by code\n")
        .expect("a findings part");
    let mut blocks = Vec::new();
    if campaign.trim() != "no transactions" {
        for block in campaign.split("\n\n") {
            let mut lines = block.lines();
            let head = cells(lines.next().unwrap());
            assert_eq!(
                head[1..],
                [
                    "transactions",
                    "success",
                    "failed",
                    "incomplete",
                    "rate",
                    "top cause"
                ]
            );
            let rows = lines
                .map(|l| {
                    let c = cells(l);
                    assert_eq!(c.len(), 7, "{l:?}");
                    Row {
                        value: c[0].clone(),
                        counts: std::array::from_fn(|i| c[i + 1].parse().unwrap()),
                        rate: c[5].clone(),
                        cause: c[6].clone(),
                    }
                })
                .collect();
            blocks.push((head[0].clone(), rows));
        }
    }
    let codes = if codes.trim() == "none" {
        Vec::new()
    } else {
        codes
            .lines()
            .map(|l| {
                let c = cells(l);
                assert_eq!(c.len(), 4, "{l:?}");
                (
                    c[0].parse().unwrap(),
                    c[1].clone(),
                    c[2].clone(),
                    c[3].clone(),
                )
            })
            .collect()
    };
    Parsed {
        header,
        blocks,
        codes,
    }
}

fn summary_of(args: &[&str]) -> (String, Parsed) {
    let mut all = vec!["analyze", "--summary", "--color", "never"];
    all.extend_from_slice(args);
    let (out, err, ok) = cwmpscope(&all);
    assert!(ok, "{args:?}: {err}");
    let parsed = parse(&out);
    (out, parsed)
}

/// The lines before the first blank line of the text report.
fn text_header(args: &[&str]) -> Vec<String> {
    let mut all = vec!["analyze", "--color", "never"];
    all.extend_from_slice(args);
    let (out, err, ok) = cwmpscope(&all);
    assert!(ok, "{args:?}: {err}");
    out.split("\n\n")
        .next()
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn shipped() -> Vec<String> {
    let mut all = Vec::new();
    for dir in ["captures", "captures/third-party"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pcap") {
                all.push(path.to_string_lossy().into_owned());
            }
        }
    }
    all.sort();
    assert!(all.len() >= 10, "{all:?}");
    all
}

/// The table's totals and the codes' counts agree with the JSON report's `summary`.
fn assert_agrees_with_json(parsed: &Parsed, json: &Value, what: &str) {
    let s = &json["summary"];
    let expected = [
        s["transactions"].as_u64().unwrap(),
        s["by_outcome"]["success"].as_u64().unwrap(),
        s["by_outcome"]["failed"].as_u64().unwrap(),
        s["by_outcome"]["incomplete"].as_u64().unwrap(),
    ];
    if expected[0] == 0 {
        assert!(parsed.blocks.is_empty(), "{what}");
    } else {
        let names: Vec<&str> = parsed.blocks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "product class",
                "software before",
                "file server",
                "fault code"
            ],
            "{what}"
        );
    }
    for (name, rows) in &parsed.blocks {
        let mut totals = [0u64; 4];
        for row in rows {
            assert_eq!(row.counts[0], row.counts[1] + row.counts[2] + row.counts[3]);
            for (t, c) in totals.iter_mut().zip(row.counts) {
                *t += c;
            }
        }
        assert_eq!(totals, expected, "{what}: {name}");
        // Transactions descending, then value.
        let keys: Vec<(std::cmp::Reverse<u64>, &str)> = rows
            .iter()
            .map(|r| (std::cmp::Reverse(r.counts[0]), r.value.as_str()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{what}: {name}");
    }
    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
    for (n, _, code, _) in &parsed.codes {
        *by_code.entry(code.clone()).or_default() += n;
    }
    let expected: BTreeMap<String, u64> = s["findings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(by_code, expected, "{what}");
    let mut by_severity: BTreeMap<&str, u64> = BTreeMap::new();
    for (n, severity, _, _) in &parsed.codes {
        *by_severity.entry(severity.as_str()).or_default() += n;
    }
    for severity in ["error", "warning", "info"] {
        assert_eq!(
            by_severity.get(severity).copied().unwrap_or(0),
            s["by_severity"][severity].as_u64().unwrap(),
            "{what}: {severity}"
        );
    }
    // Worst severity first, then most frequent.
    let rank = |s: &str| match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    let keys: Vec<(i32, std::cmp::Reverse<u64>)> = parsed
        .codes
        .iter()
        .map(|(n, s, _, _)| (rank(s), std::cmp::Reverse(*n)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{what}");
}

#[test]
fn every_shipped_capture_agrees_with_its_report() {
    for path in shipped() {
        let (_, parsed) = summary_of(&[&path]);
        assert_eq!(parsed.header, text_header(&[&path]), "{path}");
        assert_agrees_with_json(&parsed, &report(&[&path]), &path);
        for (_, _, code, meaning) in &parsed.codes {
            assert_eq!(
                Some(meaning.as_str()),
                cwmpscope::catalogue::Code::from_id(code).map(|c| c.meaning()),
                "{path}"
            );
        }
    }
}

#[test]
fn the_fleet_is_five_successes_of_one_product_class() {
    let (_, parsed) = summary_of(&[&capture("third-party/cwmp_sim_fleet5.pcap")]);
    for (name, rows) in &parsed.blocks {
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0].counts, [5, 5, 0, 0], "{name}");
        assert_eq!(rows[0].rate, "100.0%");
        assert_eq!(rows[0].cause, "-");
    }
    assert_eq!(parsed.blocks[0].1[0].value, "TG789vac");
    assert_eq!(parsed.blocks[3].1[0].value, "none");
}

#[test]
fn the_netcwmp_session_is_one_failure_by_fault_9001() {
    // Relative to the package root (where `cargo test` runs), so the snapshot does not depend
    // on where the repository lives.
    let (out, parsed) = summary_of(&["captures/third-party/netcwmp_digest_session.pcap"]);
    for (name, rows) in &parsed.blocks {
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].counts, [1, 0, 1, 0], "{name}");
        assert_eq!(rows[0].rate, "0.0%");
        // Two causes raised once each: the error wins the tie over the warning.
        assert_eq!(rows[0].cause, "transfer-fault (1)", "{name}");
    }
    let values: Vec<&str> = parsed
        .blocks
        .iter()
        .map(|(_, rows)| rows[0].value.as_str())
        .collect();
    assert_eq!(
        values,
        [
            "OT2800",
            "V1.2.7.29",
            "127.0.0.20:80",
            "9001 Request denied"
        ]
    );
    insta::assert_snapshot!("summary-netcwmp_digest_session", out);
}

#[test]
fn filters_apply_as_in_the_text_report() {
    let fleet = capture("third-party/cwmp_sim_fleet5.pcap");
    let (_, parsed) = summary_of(&["--transaction", "t3", &fleet]);
    assert_eq!(
        parsed.header,
        text_header(&["--transaction", "t3", &fleet]),
        "the header counts only t3 and its sessions"
    );
    assert_eq!(parsed.blocks[0].1[0].counts, [1, 1, 0, 0]);

    let all = shipped();
    let mut args = vec!["--cpe", "127.0.0.5"];
    args.extend(all.iter().map(String::as_str));
    let (_, parsed) = summary_of(&args);
    let mut json_args = vec!["analyze", "--format", "json"];
    json_args.extend_from_slice(&args);
    let (out, err, ok) = cwmpscope(&json_args);
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_agrees_with_json(&parsed, &json, "--cpe 127.0.0.5");
}

#[test]
fn fail_on_still_sets_the_outcome() {
    let path = capture("third-party/netcwmp_digest_session.pcap");
    let cli = Cli::try_parse_from([
        "cwmpscope",
        "analyze",
        "--summary",
        "--fail-on",
        "error",
        &path,
    ])
    .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(
        run(cli, &mut out, &mut err).unwrap(),
        Outcome::FindingsFound
    );
    assert!(!out.is_empty());
}

#[test]
fn json_formats_are_a_usage_error() {
    for format in ["json", "ndjson"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
            .args(["analyze", "--summary", "--format", format])
            .arg(capture("reference-firmware.pcap"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--summary") && err.contains(format), "{err}");
    }
}

#[test]
fn stdin_gives_the_same_summary() {
    let path = capture("reference-firmware.pcap");
    let (file_out, _) = summary_of(&[&path]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(["analyze", "--summary", "--color", "never", "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdin_out = String::from_utf8(out.stdout).unwrap();
    let after_name = |s: &str| s.split_once(": ").unwrap().1.to_owned();
    assert_eq!(after_name(&stdin_out), after_name(&file_out));
}

#[test]
fn a_generated_campaign_agrees_with_its_report() {
    let opts = CampaignOptions {
        firmware_size: (100_000, 200_000),
        web_interval: 10 * SECOND,
        tls_interval: 10 * SECOND,
        ..CampaignOptions::new(23, 4 << 20)
    };
    let (generated, bytes) = campaign_bytes(&opts).expect("campaign renders");
    let stats = &generated.stats;
    assert!(stats.failed > 0 && stats.incomplete > 0, "{stats:?}");
    let path = scratch("summary-campaign.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_string_lossy().into_owned();
    let (out, parsed) = summary_of(&[&path]);
    let json = report(&[&path]);
    std::fs::remove_file(&path).ok();
    assert_agrees_with_json(&parsed, &json, "campaign");
    assert_eq!(
        json["summary"]["transactions"].as_u64().unwrap(),
        stats.transactions()
    );
    // Failures have a cause, and some value of each dimension shows it.
    for (name, rows) in &parsed.blocks {
        assert!(
            rows.iter()
                .filter(|r| r.counts[2] + r.counts[3] > 0)
                .any(|r| r.cause != "-"),
            "{name}: no cause\n{out}"
        );
        assert!(
            rows.iter()
                .filter(|r| r.counts[2] + r.counts[3] == 0)
                .all(|r| r.cause == "-"),
            "{name}\n{out}"
        );
    }
    // More than one value of the fault code: successes (`none`) and faults.
    assert!(parsed.blocks[3].1.len() > 1, "{out}");
}
