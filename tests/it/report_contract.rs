//! The JSON contract (`docs/report.md`) held against the report the analyzer produces, both
//! ways: every field of the JSON and NDJSON output of every shipped capture, of a generated
//! capture with VLAN tags and frames that are not TCP/IP, and of every generated finding case
//! is documented, and every documented field is produced by at least one of them. The schema
//! version is the one documented.

use crate::common::{capture, cwmpscope, report_of_connections, scratch};
use crate::encapsulations::frame_mix;
use cwmpscope::report::{EnvelopeReport, FaultReport, ParameterFaultReport, RpcArgs};
use cwmpscope_synth::catalogue_cases::catalogue;
use cwmpscope_synth::writer::OutputOptions;
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

/// Whether a documented pattern names exactly this path. `….x.y` names any path ending in
/// `.x.y` (or equal to `x.y`); `{rpc}` and `{code}` stand for any one key.
fn names_exactly(pattern: &str, path: &str) -> bool {
    let (floating, pattern) = match pattern.strip_prefix("….") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let wanted: Vec<&str> = pattern.split('.').collect();
    let segments: Vec<&str> = path.split('.').collect();
    if segments.len() < wanted.len() || (!floating && segments.len() != wanted.len()) {
        return false;
    }
    let tail = &segments[segments.len() - wanted.len()..];
    wanted
        .iter()
        .zip(tail)
        .all(|(w, s)| w == s || (w.starts_with('{') && w.ends_with('}')))
}

/// Whether a documented pattern names this path or one of its parents.
fn covers(pattern: &str, path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    (1..=segments.len()).any(|n| names_exactly(pattern, &segments[..n].join(".")))
}

/// An envelope with every optional header and a Fault with a parameter fault: what the
/// report types can hold beyond the captures.
fn rare_envelope() -> EnvelopeReport {
    let fault = || FaultReport {
        code: Some(9003),
        string: "Invalid arguments".to_owned(),
        meaning: Some("Invalid arguments"),
    };
    EnvelopeReport {
        cwmp: Some("urn:dslforum-org:cwmp-1-2".to_owned()),
        id: Some("1".to_owned()),
        hold_requests: Some(false),
        no_more_requests: Some(false),
        session_timeout: Some(60),
        supported_cwmp_versions: Some("1.0,1.1,1.2".to_owned()),
        use_cwmp_version: Some("1.2".to_owned()),
        rpc: "Fault".to_owned(),
        args: Some(RpcArgs::Fault {
            faultcode: "Client".to_owned(),
            faultstring: "CWMP fault".to_owned(),
            fault: fault(),
            parameter_faults: vec![ParameterFaultReport {
                parameter: "Device.X".to_owned(),
                fault: fault(),
            }],
        }),
    }
}

#[test]
fn every_field_of_the_report_is_documented_and_every_documented_field_is_produced() {
    let mut produced = BTreeSet::new();
    let mut versions = BTreeSet::new();
    // Beside the shipped captures, a generated one with VLAN tags and frames that are not
    // TCP/IP (the capture's encapsulation and undecoded kinds).
    let mix = scratch("contract-frame-mix.pcap");
    std::fs::write(&mix, frame_mix()).expect("frame mix written");
    let mut runs: Vec<Vec<String>> = shipped().into_iter().map(|f| vec![f]).collect();
    runs.push(vec![mix.to_string_lossy().into_owned()]);
    // TLS recordings decrypted (one with a corrupted record: a reason).
    runs.extend(crate::tls_decrypt::contract_runs());
    // A resource limit lowered until it cuts the sessions and the transaction short.
    runs.push(vec![
        "--limit".to_owned(),
        "xml-value-bytes=60".to_owned(),
        capture("reference-config-update.pcap"),
    ]);
    for args in runs {
        let file = args.last().cloned().unwrap_or_default();
        for format in ["json", "ndjson"] {
            let mut argv = vec!["analyze", "--format", format];
            argv.extend(args.iter().map(String::as_str));
            let (out, err, ok) = cwmpscope(&argv);
            assert!(ok, "{file}: {err}");
            if format == "json" {
                let v: Value = serde_json::from_str(&out).expect("one JSON document");
                versions.insert(v["schema_version"].to_string());
                paths(&v, "", &mut produced);
                continue;
            }
            for line in out.lines() {
                let mut v: Value = serde_json::from_str(line).expect("one JSON object a line");
                let object = v.as_object_mut().expect("an object");
                let kind = object.remove("type").expect("a type");
                produced.insert("type".to_owned());
                // Each line holds one element of the JSON document's arrays, or one of its
                // objects.
                let at = match kind.as_str().expect("type is a string") {
                    "header" => {
                        versions.insert(object["schema_version"].to_string());
                        ""
                    }
                    "session" => "sessions[]",
                    "transaction" => "transactions[]",
                    "finding" => "findings[]",
                    "capture" => "capture",
                    "summary" => "summary",
                    other => panic!("{file}: unknown NDJSON line type {other}"),
                };
                paths(&v, at, &mut produced);
            }
        }
    }
    // Every finding code's generated case (they reach the rare fields: faults, malformed
    // bodies, Connection Requests).
    for case in catalogue() {
        let report = report_of_connections(
            &format!("contract-{}.pcap", case.name),
            case.flow.connections.clone(),
            &cwmpscope_synth::conversation::Profile::clean(1),
            &OutputOptions::default(),
        );
        paths(&report, "", &mut produced);
    }
    // Envelope headers and fault details no capture here carries, built from the types.
    paths(
        &serde_json::to_value(rare_envelope()).expect("serializable"),
        "sessions[].messages[].envelopes[]",
        &mut produced,
    );
    let _ = std::fs::remove_file(&mix);
    assert_eq!(versions, BTreeSet::from(["3".to_owned()]), "schema_version");

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
    assert!(covers("….cpe.ip", "sessions[].cpe.ip.x"));
    assert!(names_exactly(
        "sessions[].rpcs.{rpc}",
        "sessions[].rpcs.Inform"
    ));
    assert!(!names_exactly(
        "capture.files[]",
        "sessions[].capture.files[]"
    ));
    assert!(!covers("….args.url", "url"));
}
