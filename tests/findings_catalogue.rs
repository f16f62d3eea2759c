//! The deviation catalogue (deviations.md) held against the analyzer: every finding code has a
//! generated flow that breaks the reference flow in exactly one way, and the analyzer must
//! report that code, in the right place (session, transaction or the capture), with frames and
//! a message naming the injected value, and nothing else beyond what the break implies. The
//! accepted variants of the reference flow must raise no warning or error, however awkwardly
//! they are captured.

mod common;
use common::*;
use cwmpscope_synth::conversation::{Profile, Segmentation};
use cwmpscope_synth::cwmp::Flow;
use cwmpscope_synth::deviations::{Case, Scope, catalogue, clean_variants};
use cwmpscope_synth::packet::{LinkEncap, VlanTags};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::Value;
use std::collections::BTreeSet;

/// Codes and severities of the catalogue, read from the specification itself.
fn spec_codes() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/deviations.md");
    let text = std::fs::read_to_string(path).expect("the deviation catalogue is readable");
    text.lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let severity = cells.next()?;
            ["error", "warning", "info"]
                .contains(&severity)
                .then(|| (code.to_owned(), severity.to_owned()))
        })
        .collect()
}

fn severity_of(codes: &[(String, String)], code: &str) -> Option<String> {
    codes
        .iter()
        .find(|(c, _)| c == code)
        .map(|(_, s)| s.clone())
}

/// A rendering chosen by `index`: clean, random segments with reordering, VLAN over IPv6,
/// tiny segments in QinQ, IPv6 fragments out of order. No retransmissions (they would be a
/// finding of their own).
fn profile_for(index: usize) -> Profile {
    let clean = Profile::clean(100 + index as u64);
    match index % 5 {
        0 => clean,
        1 => Profile {
            segmentation: Segmentation::Random { min: 1, max: 300 },
            reorder: 0.2,
            ..clean
        },
        2 => Profile {
            links: vec![LinkEncap::Ethernet(VlanTags::Single(100))],
            ipv6: true,
            segmentation: Segmentation::Mss(200),
            ..clean
        },
        3 => Profile {
            links: vec![LinkEncap::Ethernet(VlanTags::QinQ {
                outer: 10,
                inner: 20,
            })],
            segmentation: Segmentation::Random { min: 1, max: 60 },
            reorder: 0.1,
            ..clean
        },
        _ => Profile {
            ipv6: true,
            fragment_payload: Some(300),
            fragments_reversed: true,
            segmentation: Segmentation::Random { min: 100, max: 700 },
            reorder: 0.15,
            ..clean
        },
    }
}

/// Renders `flow` with `profile` and returns the JSON report of the capture.
fn analyze(name: &str, flow: &Flow, profile: &Profile) -> Value {
    report_of_connections(
        &format!("catalogue-{name}.pcap"),
        flow.connections.clone(),
        profile,
        &OutputOptions::default(),
    )
}

/// One finding of a report, with where it was found.
#[derive(Debug)]
struct Found {
    code: String,
    severity: String,
    scope: Scope,
    message: String,
    frames: usize,
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Every finding of the report: of each session, of each transaction, and of the top-level
/// list (`deviations` or `findings`).
fn findings(r: &Value) -> Vec<Found> {
    let mut out = Vec::new();
    let mut collect = |list: &[Value], scope: Scope| {
        for d in list {
            out.push(Found {
                code: d["code"].as_str().unwrap_or_default().to_owned(),
                severity: d["severity"].as_str().unwrap_or_default().to_owned(),
                scope,
                message: d["message"].as_str().unwrap_or_default().to_owned(),
                frames: d["frames"].as_array().map_or(0, Vec::len),
            });
        }
    };
    for s in array(r, "sessions") {
        collect(array(s, "deviations"), Scope::Session);
    }
    for t in array(r, "transactions") {
        collect(array(t, "deviations"), Scope::Transaction);
    }
    collect(array(r, "deviations"), Scope::Capture);
    collect(array(r, "findings"), Scope::Capture);
    out
}

fn describe(found: &[Found]) -> String {
    if found.is_empty() {
        return "nothing".to_owned();
    }
    found
        .iter()
        .map(|f| {
            format!(
                "{} ({}, {}): {}",
                f.code,
                f.severity,
                f.scope.as_str(),
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What is wrong with the report of `case` (empty: it passes).
fn check_case(case: &Case, r: &Value, codes: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let found = findings(r);
    let got: BTreeSet<(String, Scope)> = found.iter().map(|f| (f.code.clone(), f.scope)).collect();
    let want: BTreeSet<(String, Scope)> = case
        .expect
        .iter()
        .map(|(c, s)| ((*c).to_owned(), *s))
        .collect();
    if got != want {
        let missing: Vec<String> = want
            .difference(&got)
            .map(|(c, s)| format!("{c} in {}", s.as_str()))
            .collect();
        let extra: Vec<String> = got
            .difference(&want)
            .map(|(c, s)| format!("{c} in {}", s.as_str()))
            .collect();
        problems.push(format!(
            "missing [{}], unexpected [{}]; the analyzer reported: {}",
            missing.join(", "),
            extra.join(", "),
            describe(&found)
        ));
    }
    for f in &found {
        if let Some(sev) = severity_of(codes, &f.code)
            && sev != f.severity
            && !(f.code == "retry-count-nonzero" && f.severity == "warning")
        {
            problems.push(format!(
                "{} has severity {} (catalogue: {sev})",
                f.code, f.severity
            ));
        }
    }
    let own: Vec<&Found> = found.iter().filter(|f| f.code == case.code).collect();
    for f in &own {
        if f.frames == 0 {
            problems.push(format!("{} names no frame", f.code));
        }
        if f.message.trim().is_empty() {
            problems.push(format!("{} has no message", f.code));
        }
        if let Some(value) = case.message_names
            && !f.message.contains(value)
        {
            problems.push(format!(
                "{} message does not name {value:?}: {:?}",
                f.code, f.message
            ));
        }
    }
    if let Some(outcome) = case.outcome {
        let outcomes: Vec<&str> = array(r, "transactions")
            .iter()
            .map(|t| t["outcome"].as_str().unwrap_or("?"))
            .collect();
        if outcomes != [outcome] {
            problems.push(format!(
                "expected one transaction, {outcome}; got {outcomes:?}"
            ));
        }
    }
    problems
}

#[test]
fn every_catalogue_code_has_a_case() {
    let codes = spec_codes();
    assert!(codes.len() >= 50, "catalogue parsed: {codes:?}");
    let cases = catalogue();
    for (code, _) in &codes {
        assert!(
            cases.iter().any(|c| c.code == code),
            "no generated case for {code}"
        );
    }
    for case in &cases {
        assert!(
            codes.iter().any(|(c, _)| c == case.code),
            "{} is not a catalogue code",
            case.code
        );
        for (code, _) in &case.expect {
            assert!(
                codes.iter().any(|(c, _)| c == code),
                "{}: {code} is not a catalogue code",
                case.name
            );
        }
    }
}

#[test]
fn each_case_raises_its_findings_and_nothing_else() {
    let codes = spec_codes();
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for (index, case) in catalogue().iter().enumerate() {
        let r = analyze(case.name, &case.flow, &profile_for(index));
        let problems = check_case(case, &r, &codes);
        if problems.is_empty() {
            passed.push(case.name);
        } else {
            failures.push(format!("{}:\n    {}", case.name, problems.join("\n    ")));
        }
    }
    eprintln!("passing cases ({}): {}", passed.len(), passed.join(", "));
    assert!(
        failures.is_empty(),
        "{} of {} catalogue cases fail:\n{}",
        failures.len(),
        failures.len() + passed.len(),
        failures.join("\n")
    );
}

#[test]
fn clean_variants_raise_no_warning_or_error() {
    let mut failures = Vec::new();
    for (index, (name, flow)) in clean_variants().iter().enumerate() {
        for (how, profile) in [
            ("clean", Profile::clean(7)),
            ("awkward", profile_for(index % 4 + 1)),
        ] {
            let r = analyze(&format!("{name}-{how}"), flow, &profile);
            let serious: Vec<Found> = findings(&r)
                .into_iter()
                .filter(|f| f.severity != "info")
                .collect();
            if !serious.is_empty() {
                failures.push(format!("{name} ({how}): {}", describe(&serious)));
            }
            if sessions(&r).is_empty() {
                failures.push(format!("{name} ({how}): no session found"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn transactions_have_the_report_fields() {
    let (_, flow) = clean_variants()
        .into_iter()
        .find(|(n, _)| *n == "reference")
        .expect("reference variant");
    let r = analyze("shape", &flow, &Profile::clean(3));
    let transactions = array(&r, "transactions");
    assert_eq!(transactions.len(), 1, "one transaction: {r:#}");
    let t = &transactions[0];
    for field in [
        "id",
        "kind",
        "cpe",
        "command_key",
        "file_type",
        "url",
        "announced_size",
        "received_bytes",
        "download_status",
        "outcome",
        "fault",
        "sessions",
        "steps",
        "deviations",
    ] {
        assert!(t.get(field).is_some(), "transaction lacks {field}: {t:#}");
    }
    assert_eq!(t["kind"], "configuration-update");
    assert_eq!(t["cpe"]["serial"], "CP0000000001");
    assert_eq!(t["command_key"], "cfgupd-0001");
    assert_eq!(t["file_type"], "3 Vendor Configuration File");
    assert_eq!(t["url"], "http://192.0.2.20:80/configs/CP0000000001.cfg");
    assert_eq!(t["announced_size"], 1025);
    assert_eq!(t["received_bytes"], 1025);
    assert_eq!(t["download_status"], 1);
    assert_eq!(t["outcome"], "success");
    assert!(t["fault"].is_null());
    let session_ids: Vec<&str> = sessions(&r)
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    let tx_sessions = t["sessions"].as_array().expect("sessions array");
    assert_eq!(tx_sessions.len(), 2);
    assert!(
        tx_sessions
            .iter()
            .all(|s| session_ids.contains(&s.as_str().unwrap_or_default()))
    );
    let steps: Vec<u64> = t["steps"]
        .as_array()
        .expect("steps array")
        .iter()
        .filter_map(|s| s["step"].as_u64())
        .collect();
    for step in [2, 5, 6, 9, 12, 14, 18, 21] {
        assert!(steps.contains(&step), "step {step} labelled: {steps:?}");
    }
    for s in t["steps"].as_array().into_iter().flatten() {
        assert!(s["frame"].as_u64().is_some_and(|f| f > 0), "{s}");
        assert!(s["what"].is_string(), "{s}");
    }

    // A rejected Download: the transaction failed, and says with which fault.
    let rejected = catalogue()
        .into_iter()
        .find(|c| c.name == "download-rejected")
        .expect("case");
    let r = analyze("shape-rejected", &rejected.flow, &Profile::clean(4));
    let t = &array(&r, "transactions")[0];
    assert_eq!(t["outcome"], "failed");
    assert_eq!(t["fault"]["code"], 9001);
}
