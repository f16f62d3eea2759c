//! The JSON contract (`docs/report.md`) held against the report the analyzer produces, both
//! ways: every field of the JSON and NDJSON output of every shipped capture and of every
//! generated finding case is documented, and every documented field is produced by at least
//! one of them. The schema version is the one documented.

use crate::common::{capture, cwmpscope, report_of_connections};
use cwmpscope::synth::deviations::catalogue;
use cwmpscope::synth::writer::OutputOptions;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every shipped capture.
fn shipped() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["", "third-party", "public"] {
        let path = std::path::Path::new(&capture(dir)).to_path_buf();
        for entry in std::fs::read_dir(&path).expect("captures directory") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "pcap") {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

/// The field paths of a JSON value: `sessions[].messages[].frame`. Objects are entered, arrays
/// are entered as `[]` (an empty array is a path of its own), and `args` given as `[path,
/// value]` pairs stops there.
fn paths(value: &Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let p = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                paths(v, &p, out);
            }
        }
        Value::Array(items) if !at.ends_with(".args") => {
            let p = format!("{at}[]");
            if items.is_empty() {
                out.insert(p.clone());
            }
            for v in items {
                paths(v, &p, out);
            }
        }
        _ => {
            out.insert(at.to_owned());
        }
    }
}

/// The documented field patterns: the backquoted names in the first cell of each table row of
/// `docs/report.md`.
fn documented() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.md");
    let text = std::fs::read_to_string(path).expect("docs/report.md is readable");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(cell) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        for (i, piece) in cell.split('`').enumerate() {
            if i % 2 == 1 && !piece.is_empty() {
                out.push(piece.to_owned());
            }
        }
    }
    out
}

/// Whether a documented pattern names this path or one of its parents. `….x.y` matches any
/// path ending in `.x.y`; `{rpc}` and `{code}` match any one key.
fn covers(pattern: &str, path: &str) -> bool {
    let pattern_segments: Vec<&str> = match pattern.strip_prefix("….") {
        Some(rest) => rest.split('.').collect(),
        None => pattern.split('.').collect(),
    };
    let floating = pattern.starts_with("….");
    let path_segments: Vec<&str> = path.split('.').collect();
    let fits = |start: usize| {
        pattern_segments.iter().enumerate().all(|(i, p)| {
            path_segments
                .get(start + i)
                .is_some_and(|s| s == p || (p.starts_with('{') && p.ends_with('}')))
        })
    };
    if floating {
        (1..path_segments.len()).any(fits)
    } else {
        fits(0)
    }
}

/// A documented pattern that names exactly this path (not only a parent of it).
fn names_exactly(pattern: &str, path: &str) -> bool {
    covers(pattern, path) && {
        let n = pattern.trim_start_matches("….").split('.').count();
        let segments: Vec<&str> = path.split('.').collect();
        (0..segments.len()).any(|start| {
            start + n == segments.len()
                && covers(pattern, &segments[..start + n].join("."))
                && (pattern.starts_with("….") || start == 0)
        })
    }
}

#[test]
fn every_field_of_the_report_is_documented_and_every_documented_field_is_produced() {
    let mut produced = BTreeSet::new();
    let mut versions = BTreeSet::new();
    for file in shipped() {
        for format in ["json", "ndjson"] {
            let (out, err, ok) = cwmpscope(&["analyze", "--format", format, &file]);
            assert!(ok, "{file}: {err}");
            for line in out.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = if format == "json" {
                    serde_json::from_str(&out).expect("one JSON document")
                } else {
                    serde_json::from_str(line).expect("one JSON object a line")
                };
                if let Some(n) = v.get("schema_version") {
                    versions.insert(n.to_string());
                }
                paths(&v, "", &mut produced);
                if format == "json" {
                    break;
                }
            }
        }
    }
    // Every finding code's generated case (they reach the rare fields: faults, malformed
    // bodies, Connection Requests).
    for case in catalogue() {
        let report = report_of_connections(
            &format!("contract-{}.pcap", case.name),
            case.flow.connections.clone(),
            &cwmpscope::synth::conversation::Profile::clean(1),
            &OutputOptions::default(),
        );
        paths(&report, "", &mut produced);
    }
    assert_eq!(versions, BTreeSet::from(["2".to_owned()]), "schema_version");

    let documented = documented();
    let undocumented: Vec<&String> = produced
        .iter()
        .filter(|p| !documented.iter().any(|d| names_exactly(d, p)))
        .collect();
    assert!(
        undocumented.is_empty(),
        "fields missing from docs/report.md: {undocumented:#?}"
    );
    let unproduced: Vec<&String> = documented
        .iter()
        .filter(|d| !produced.iter().any(|p| covers(d, p)))
        .collect();
    assert!(
        unproduced.is_empty(),
        "documented fields that no capture produces: {unproduced:#?}"
    );
}

#[test]
fn patterns_match_as_documented() {
    assert!(covers("sessions[].cpe", "sessions[].cpe.ip"));
    assert!(names_exactly("….cpe.ip", "sessions[].cpe.ip"));
    assert!(!names_exactly("….cpe.ip", "sessions[].cpe.ip.x"));
    assert!(names_exactly("sessions[].rpcs.{rpc}", "sessions[].rpcs.Inform"));
    assert!(!names_exactly("capture.files[]", "sessions[].capture.files[]"));
    assert!(!covers("….args.url", "url"));
}
