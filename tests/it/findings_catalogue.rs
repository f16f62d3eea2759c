//! The findings catalogue (`catalogue::Code`, documented in docs/findings.md) held against the
//! analyzer: every finding code has a generated flow that breaks the reference flow in exactly
//! one way, and the analyzer must report that code, in the right place (session, transaction or
//! the capture), with frames and a message naming the injected value, and nothing else beyond
//! what the break implies. The
//! accepted variants of the reference flow must raise no warning or error, however awkwardly
//! they are captured.
//!
//! The generator (`cwmpscope_synth::catalogue_cases`) builds the flows; what each must make the
//! analyzer report (the findings oracle) is here, in [`ORACLE`], keyed by case name.

use crate::common;
use common::*;
use cwmpscope::catalogue::Code;
use cwmpscope_synth::catalogue_cases::{Case, catalogue, clean_variants};
use cwmpscope_synth::conversation::{Profile, Segmentation};
use cwmpscope_synth::cwmp::Flow;
use cwmpscope_synth::packet::{LinkEncap, VlanTags};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::Value;
use std::collections::BTreeSet;

/// Where a finding is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Scope {
    /// In a session's `findings`.
    Session,
    /// In a transaction's `findings`.
    Transaction,
    /// In the report's top-level list (findings of no session and no transaction).
    Capture,
}

impl Scope {
    /// The scope's name as the tests print it.
    fn as_str(self) -> &'static str {
        match self {
            Scope::Session => "session",
            Scope::Transaction => "transaction",
            Scope::Capture => "capture",
        }
    }
}

/// What the analyzer must report for one generated catalogue case.
#[derive(Debug)]
struct Expected {
    /// The case's name (`Case::name`).
    case: &'static str,
    /// Every finding the flow must raise, of any severity, and nothing else: the case's own
    /// code and what its break necessarily implies.
    findings: &'static [(&'static str, Scope)],
    /// A concrete value the message of the case's finding must name (the status, fault code,
    /// key, seconds injected), when the value is unambiguous.
    message_names: Option<&'static str>,
    /// Outcome of the flow's transaction, when the flow has one (`success`, `failed`,
    /// `incomplete`).
    outcome: Option<&'static str>,
}

/// The expectation for the case named `name`.
fn expected(name: &str) -> &'static Expected {
    ORACLE
        .iter()
        .find(|e| e.case == name)
        .unwrap_or_else(|| panic!("no expectation for catalogue case {name}"))
}

/// Codes and severities of the catalogue, as the analyzer defines them.
fn catalogue_codes() -> Vec<(String, String)> {
    Code::ALL
        .iter()
        .map(|c| (c.id().to_owned(), c.severity().as_str().to_owned()))
        .collect()
}

/// Codes and severities documented in docs/findings.md: every `### \`code\` (severity…)`
/// heading.
fn documented_codes() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md");
    let text = std::fs::read_to_string(path).expect("docs/findings.md is readable");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("### `")?;
            let (code, rest) = rest.split_once('`')?;
            let severity = rest.trim_start().strip_prefix('(')?;
            let end = severity.find(|c: char| !c.is_ascii_alphabetic())?;
            Some((code.to_owned(), severity[..end].to_owned()))
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
/// list (`findings`).
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
        collect(array(s, "findings"), Scope::Session);
    }
    for t in array(r, "transactions") {
        collect(array(t, "findings"), Scope::Transaction);
    }
    collect(array(r, "findings"), Scope::Capture);
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
    let expected = expected(case.name);
    let found = findings(r);
    let got: BTreeSet<(String, Scope)> = found.iter().map(|f| (f.code.clone(), f.scope)).collect();
    let want: BTreeSet<(String, Scope)> = expected
        .findings
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
        if let Some(value) = expected.message_names
            && !f.message.contains(value)
        {
            problems.push(format!(
                "{} message does not name {value:?}: {:?}",
                f.code, f.message
            ));
        }
    }
    if let Some(outcome) = expected.outcome {
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
    let codes = catalogue_codes();
    assert!(codes.len() >= 50, "catalogue parsed: {codes:?}");
    let cases = catalogue();
    for (code, _) in &codes {
        assert!(
            cases.iter().any(|c| c.code == code),
            "{code}: no generated case"
        );
    }
    for case in &cases {
        assert!(
            codes.iter().any(|(c, _)| c == case.code),
            "{} is not a catalogue code",
            case.code
        );
        for (code, _) in expected(case.name).findings {
            assert!(
                codes.iter().any(|(c, _)| c == code),
                "{}: {code} is not a catalogue code",
                case.name
            );
        }
    }
}

#[test]
fn every_case_has_one_expectation_naming_its_code() {
    let cases = catalogue();
    for case in &cases {
        let matching = ORACLE.iter().filter(|e| e.case == case.name).count();
        assert_eq!(matching, 1, "expectations for {}", case.name);
        assert!(
            expected(case.name)
                .findings
                .iter()
                .any(|(code, _)| *code == case.code),
            "{}",
            case.name
        );
    }
    for e in ORACLE {
        assert!(
            cases.iter().any(|c| c.name == e.case),
            "expectation for {}, which is no catalogue case",
            e.case
        );
    }
}

#[test]
fn the_documentation_lists_exactly_the_catalogue() {
    let documented = documented_codes();
    let mut ids: Vec<&str> = documented.iter().map(|(c, _)| c.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        documented.len(),
        "a code documented twice: {documented:?}"
    );
    for (code, severity) in catalogue_codes() {
        assert_eq!(
            severity_of(&documented, &code).as_deref(),
            Some(severity.as_str()),
            "docs/findings.md on {code}"
        );
    }
    for (code, _) in &documented {
        assert!(
            Code::ALL.iter().any(|c| c.id() == code),
            "docs/findings.md documents {code}, which is no catalogue code"
        );
    }
}

#[test]
fn each_case_raises_its_findings_and_nothing_else() {
    let codes = catalogue_codes();
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
        "findings",
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

use Scope::{Capture, Session, Transaction};

/// The findings oracle: for each catalogue case, by name, what the analyzer must report.
const ORACLE: &[Expected] = &[
    Expected {
        case: "acs-auth-missing",
        findings: &[("acs-auth-missing", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "basic-auth-cleartext",
        findings: &[("basic-auth-cleartext", Session)],
        message_names: Some("Basic"),
        outcome: Some("success"),
    },
    Expected {
        case: "acs-auth-failed/rejected",
        findings: &[
            ("acs-auth-failed", Session),
            ("session-not-terminated", Session),
        ],
        message_names: Some("401"),
        outcome: None,
    },
    Expected {
        case: "acs-auth-failed/gave-up",
        findings: &[
            ("acs-auth-failed", Session),
            ("session-not-terminated", Session),
        ],
        message_names: Some("401"),
        outcome: None,
    },
    Expected {
        case: "auth-stale-nonce",
        findings: &[("auth-stale-nonce", Session)],
        message_names: Some("stale"),
        outcome: Some("success"),
    },
    Expected {
        case: "file-auth-failed",
        findings: &[
            ("file-auth-failed", Transaction),
            ("transfer-fault", Transaction),
        ],
        message_names: Some("401"),
        outcome: Some("failed"),
    },
    Expected {
        case: "file-credentials-unused",
        findings: &[
            ("file-credentials-unused", Transaction),
            ("transfer-fault", Transaction),
        ],
        message_names: Some("fsuser"),
        outcome: Some("failed"),
    },
    Expected {
        case: "connection-request-unauthenticated",
        findings: &[("connection-request-unauthenticated", Session)],
        message_names: Some("204"),
        outcome: Some("success"),
    },
    Expected {
        case: "inform-not-first",
        findings: &[("inform-not-first", Session)],
        message_names: Some("TransferComplete"),
        outcome: Some("success"),
    },
    Expected {
        case: "inform-not-first-without-inform",
        // Without an Inform there is no InformResponse, so the ACS's empty answer ends no
        // session.
        findings: &[
            ("inform-not-first", Session),
            ("session-not-terminated", Session),
        ],
        message_names: Some("GetRPCMethods"),
        outcome: Some("success"),
    },
    Expected {
        case: "multiple-informs",
        findings: &[("multiple-informs", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "acs-http-error",
        findings: &[
            ("acs-http-error", Session),
            ("session-not-terminated", Session),
        ],
        message_names: Some("500"),
        outcome: Some("success"),
    },
    Expected {
        case: "cwmp-id-mismatch",
        findings: &[("cwmp-id-mismatch", Session)],
        message_names: Some("ffff"),
        outcome: Some("success"),
    },
    Expected {
        case: "cwmp-version-mismatch",
        findings: &[("cwmp-version-mismatch", Session)],
        message_names: Some("cwmp-1-2"),
        outcome: Some("success"),
    },
    Expected {
        case: "hold-requests-violated",
        findings: &[("hold-requests-violated", Session)],
        message_names: Some("TransferComplete"),
        outcome: Some("success"),
    },
    Expected {
        case: "request-after-empty-post",
        findings: &[("request-after-empty-post", Session)],
        message_names: Some("TransferComplete"),
        outcome: Some("success"),
    },
    Expected {
        case: "max-envelopes-exceeded",
        findings: &[("max-envelopes-exceeded", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "rpc-unanswered",
        findings: &[("rpc-unanswered", Session)],
        message_names: Some("Download"),
        outcome: Some("incomplete"),
    },
    Expected {
        case: "response-mismatch",
        findings: &[("response-mismatch", Session)],
        message_names: Some("UploadResponse"),
        outcome: Some("incomplete"),
    },
    Expected {
        case: "session-not-terminated",
        findings: &[("session-not-terminated", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "empty-response-not-204",
        findings: &[("empty-response-not-204", Session)],
        message_names: Some("200"),
        outcome: Some("success"),
    },
    Expected {
        case: "pipelining",
        findings: &[("pipelining", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "cookie-not-returned",
        findings: &[("cookie-not-returned", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "overlapping-sessions",
        findings: &[("overlapping-sessions", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "malformed-message",
        findings: &[("malformed-message", Session), ("rpc-unanswered", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "event-missing",
        findings: &[("event-missing", Session)],
        message_names: Some("M Download"),
        outcome: Some("success"),
    },
    Expected {
        case: "event-duplicate",
        findings: &[("event-duplicate", Session)],
        message_names: Some("4 VALUE CHANGE"),
        outcome: Some("success"),
    },
    Expected {
        case: "device-id-invalid",
        findings: &[("device-id-invalid", Session)],
        message_names: Some("00147G"),
        outcome: Some("success"),
    },
    Expected {
        case: "clock-skew",
        findings: &[("clock-skew", Session)],
        message_names: Some("3600"),
        outcome: Some("success"),
    },
    Expected {
        case: "retry-count-nonzero",
        findings: &[("retry-count-nonzero", Session)],
        message_names: Some("3"),
        outcome: Some("success"),
    },
    Expected {
        case: "retry-backoff-violation",
        findings: &[
            ("retry-backoff-violation", Session),
            ("retry-count-nonzero", Session),
            ("acs-http-error", Session),
            ("session-not-terminated", Session),
        ],
        message_names: Some("1.5"),
        outcome: Some("success"),
    },
    Expected {
        case: "slow-response",
        findings: &[("slow-response", Session)],
        message_names: Some("7.3"),
        outcome: Some("success"),
    },
    Expected {
        case: "session-timeout",
        findings: &[("session-timeout", Session)],
        message_names: Some("40"),
        outcome: Some("success"),
    },
    Expected {
        case: "connection-request-timing",
        findings: &[("connection-request-timing", Session)],
        message_names: Some("45"),
        outcome: Some("success"),
    },
    Expected {
        case: "connection-request-timing-unannounced",
        findings: &[("connection-request-timing", Transaction)],
        message_names: Some("not announced"),
        outcome: Some("success"),
    },
    Expected {
        case: "download-rejected",
        findings: &[("download-rejected", Transaction)],
        message_names: Some("9001"),
        outcome: Some("failed"),
    },
    Expected {
        case: "file-not-fetched",
        findings: &[("file-not-fetched", Transaction)],
        message_names: Some("/configs/CP0000000001.cfg"),
        outcome: Some("success"),
    },
    Expected {
        case: "file-url-mismatch",
        findings: &[("file-url-mismatch", Transaction)],
        message_names: Some("/cfg/CP0000000001.cfg"),
        outcome: Some("success"),
    },
    Expected {
        case: "file-http-error",
        findings: &[
            ("file-http-error", Transaction),
            ("transfer-fault", Transaction),
        ],
        message_names: Some("404"),
        outcome: Some("failed"),
    },
    Expected {
        case: "file-size-mismatch",
        findings: &[("file-size-mismatch", Transaction)],
        message_names: Some("2048"),
        outcome: Some("success"),
    },
    Expected {
        case: "transfer-complete-missing",
        findings: &[("transfer-complete-missing", Transaction)],
        message_names: Some("cfgupd-0001"),
        outcome: Some("incomplete"),
    },
    Expected {
        case: "command-key-mismatch",
        findings: &[
            ("command-key-mismatch", Session),
            ("transfer-complete-missing", Transaction),
        ],
        message_names: Some("cfgupd-0002"),
        outcome: Some("incomplete"),
    },
    Expected {
        case: "transfer-fault",
        findings: &[
            ("transfer-fault", Transaction),
            ("file-http-error", Transaction),
        ],
        message_names: Some("9016"),
        outcome: Some("failed"),
    },
    Expected {
        case: "transfer-contradicts-capture",
        findings: &[
            ("transfer-contradicts-capture", Transaction),
            ("file-http-error", Transaction),
        ],
        message_names: Some("404"),
        outcome: None,
    },
    Expected {
        case: "transfer-times-inconsistent",
        findings: &[("transfer-times-inconsistent", Transaction)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "transfer-complete-repeated",
        findings: &[("transfer-complete-repeated", Session)],
        message_names: Some("cfgupd-0001"),
        outcome: Some("success"),
    },
    Expected {
        case: "unexpected-reboot",
        findings: &[("unexpected-reboot", Transaction)],
        message_names: Some("1 BOOT"),
        outcome: Some("success"),
    },
    Expected {
        case: "unexpected-bootstrap",
        findings: &[("unexpected-bootstrap", Transaction)],
        message_names: Some("0 BOOTSTRAP"),
        outcome: Some("success"),
    },
    Expected {
        case: "version-unchanged",
        findings: &[("version-unchanged", Transaction)],
        message_names: Some("1.1.0"),
        outcome: Some("success"),
    },
    Expected {
        case: "rollback-suspected",
        findings: &[
            ("rollback-suspected", Transaction),
            ("transfer-complete-missing", Transaction),
            ("rpc-unanswered", Session),
            // The empty response answers a request, not the CPE's empty POST or last response.
            ("session-not-terminated", Session),
        ],
        message_names: None,
        outcome: Some("incomplete"),
    },
    Expected {
        case: "tcp-reset",
        findings: &[("tcp-reset", Session), ("session-not-terminated", Session)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "tcp-retransmissions",
        findings: &[("tcp-retransmissions", Session)],
        message_names: Some("%"),
        outcome: Some("success"),
    },
    Expected {
        case: "capture-gap",
        findings: &[("capture-gap", Transaction)],
        message_names: None,
        outcome: Some("success"),
    },
    Expected {
        case: "handshake-failed",
        findings: &[("handshake-failed", Capture)],
        message_names: Some("7547"),
        outcome: Some("success"),
    },
    Expected {
        case: "handshake-failed-fetch",
        findings: &[
            ("handshake-failed", Transaction),
            ("transfer-fault", Transaction),
        ],
        message_names: Some("sent 3 times"),
        outcome: Some("failed"),
    },
    Expected {
        case: "handshake-refused-fetch",
        findings: &[
            ("handshake-failed", Transaction),
            ("transfer-fault", Transaction),
        ],
        message_names: Some("refused"),
        outcome: Some("failed"),
    },
    Expected {
        case: "tls-opaque",
        findings: &[("tls-opaque", Capture)],
        message_names: Some("7547"),
        outcome: Some("success"),
    },
    // A TLS connection to the ACS that cannot be decrypted is tls-opaque as well, unless its
    // handshake failed (then it hid nothing). The expected host is the ClientHello's (the
    // generated Informs carry no ManagementServer.URL).
    Expected {
        case: "tls-weak-version",
        findings: &[("tls-weak-version", Capture), ("tls-opaque", Capture)],
        message_names: Some("TLS 1.0 negotiated"),
        outcome: Some("success"),
    },
    Expected {
        case: "tls-weak-cipher",
        findings: &[("tls-weak-cipher", Capture), ("tls-opaque", Capture)],
        message_names: Some("TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000a)"),
        outcome: Some("success"),
    },
    Expected {
        case: "tls-certificate-expired",
        findings: &[
            ("tls-certificate-expired", Capture),
            ("tls-opaque", Capture),
        ],
        message_names: Some("to 2021-01-01T12:00:00Z"),
        outcome: Some("success"),
    },
    Expected {
        case: "tls-certificate-name-mismatch",
        findings: &[
            ("tls-certificate-name-mismatch", Capture),
            ("tls-opaque", Capture),
        ],
        message_names: Some("does not name acs.example.net, the name the CPE asked for (SNI)"),
        outcome: Some("success"),
    },
    Expected {
        case: "tls-handshake-failed",
        findings: &[("tls-handshake-failed", Capture)],
        message_names: Some("alert unknown_ca (48, fatal)"),
        outcome: Some("success"),
    },
];
