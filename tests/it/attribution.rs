//! Findings on the CPE they concern, on generated captures: a failed handshake to the file
//! server on the transaction that waited for the fetch (and named as the cause of the CPE's
//! fault), a Connection Request on the transaction of the session that followed it or on the
//! CPE at its target, capture-wide findings with the CPE last seen at their address, the
//! inferred identity of a session without an Inform, and a reset cited at its RST.

use crate::common::*;
use cwmpscope_synth::catalogue_cases::{base_options, catalogue};
use cwmpscope_synth::conversation::{At, Connection, End, Profile, SECOND};
use cwmpscope_synth::cwmp::{CwmpOptions, FileServerReply, Flow, FlowBuilder};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::Value;

/// Writes `flow` (clean rendering), runs `cwmpscope analyze` with `args` before the file on it
/// for each of `runs`, and removes the file. A run of no arguments but `-` pipes the file to
/// the program's stdin (the streaming text).
fn analyze_runs(name: &str, flow: &Flow, runs: &[&[&str]]) -> Vec<String> {
    let (_, files) = cwmpscope_synth::write_capture_files(
        flow.connections.clone(),
        &Profile::clean(3),
        &OutputOptions::default(),
        &scratch(name),
    )
    .expect("capture written");
    let path = files[0].to_string_lossy().into_owned();
    let outputs = runs
        .iter()
        .map(|args| {
            if *args == ["-"] {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
                    .args(["analyze", "-r", "-"])
                    .stdin(std::fs::File::open(&path).expect("capture"))
                    .output()
                    .expect("cwmpscope runs");
                return String::from_utf8(out.stdout).expect("utf-8");
            }
            let mut all = vec!["analyze"];
            all.extend_from_slice(args);
            all.push(&path);
            let (out, err, ok) = cwmpscope(&all);
            assert!(ok || !err.is_empty(), "{name}: {err}");
            out
        })
        .collect();
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    outputs
}

/// The JSON report and the text report of `flow`.
fn json_and_text(name: &str, flow: &Flow) -> (Value, String) {
    let mut out = analyze_runs(name, flow, &[&["--format", "json"], &[]]);
    let text = out.pop().expect("text");
    let json = serde_json::from_str(&out.pop().expect("json")).expect("one JSON document");
    (json, text)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map_or(&[][..], Vec::as_slice)
}

fn codes(findings: &[Value]) -> Vec<&str> {
    let mut c: Vec<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("?"))
        .collect();
    c.sort_unstable();
    c
}

fn finding<'a>(findings: &'a [Value], code: &str) -> &'a Value {
    let found: Vec<&Value> = findings.iter().filter(|f| f["code"] == code).collect();
    assert_eq!(found.len(), 1, "one {code} in {findings:#?}");
    found[0]
}

fn frames(v: &Value) -> Vec<u64> {
    list(v, "frames").iter().filter_map(Value::as_u64).collect()
}

/// The reference flow whose file server meets the fetch with `reply`, the CPE reporting fault
/// 9015, and periodic sessions of the CPE 120 s and 400 s later: the capture goes on past the
/// minute a finished transaction waits for its connections, and past the idle timeout after
/// which an unanswered SYN is known as such.
fn unreachable_flow(reply: FileServerReply) -> Flow {
    let mut o: CwmpOptions = base_options();
    o.quirks.file_server_reply = reply;
    o.quirks.transfer_fault = Some((9015, "Unable to contact file server".into()));
    let t = o.timing;
    let mut b = FlowBuilder::new(o.clone());
    let (end, _) = b.download_session(o.start, "2 PERIODIC");
    let fetch = b.file_fetch(end + t.file_fetch_delay);
    let end = b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
    let end = b.inform_only_session(end + 120 * SECOND, &[("2 PERIODIC", "")]);
    b.inform_only_session(end + 280 * SECOND, &[("2 PERIODIC", "")]);
    b.finish()
}

/// The transaction's step for the failed handshake, and its frames (first, last).
fn handshake_step(t: &Value) -> (String, u64, u64) {
    let step = list(t, "steps")
        .iter()
        .find(|s| s["what"].as_str().is_some_and(|w| w.starts_with("SYN")))
        .unwrap_or_else(|| panic!("no SYN step in {t:#}"));
    assert_eq!(
        (&step["from"], &step["to"]),
        (&"cpe".into(), &"file-server".into())
    );
    let last = step["frame"].as_u64().expect("frame");
    let first = step["first_frame"].as_u64().unwrap_or(last);
    (step["what"].as_str().unwrap_or("").to_owned(), first, last)
}

#[test]
fn an_unanswered_fetch_syn_is_the_transactions_and_the_cause_of_its_fault() {
    let o = base_options();
    let (r, text) = json_and_text(
        "attr-unanswered",
        &unreachable_flow(FileServerReply::Unanswered),
    );
    assert_eq!(list(&r, "findings").len(), 0, "nothing capture-wide: {r:#}");
    let t = &list(&r, "transactions")[0];
    let found = list(t, "findings");
    assert_eq!(codes(found), ["handshake-failed", "transfer-fault"]);
    let (what, first, last) = handshake_step(t);
    assert_eq!(what, "SYN ×3 unanswered");
    let syn = finding(found, "handshake-failed");
    let syn_frames = frames(syn);
    assert_eq!(syn_frames.len(), 3, "the SYN and its two retransmissions");
    assert_eq!(
        (syn_frames.first(), syn_frames.last()),
        (Some(&first), Some(&last))
    );
    let server = o.file_server.to_string();
    let listed: Vec<String> = syn_frames.iter().map(u64::to_string).collect();
    let fault = finding(found, "transfer-fault")["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        fault.contains(&format!(
            "9015 (Unable to contact file server): \"Unable to contact file server\" ↔ SYN to \
             {server} unanswered at frames {}",
            listed.join(", ")
        )),
        "{fault}"
    );
    assert_eq!(t["outcome"], "failed");
    assert_eq!(t["file_server"]["ip"], o.file_server.ip().to_string());
    // The text ladder draws the SYNs to the file server with the finding under them, and the
    // findings part has nothing under `capture`.
    let row = text
        .lines()
        .position(|l| {
            l.contains("SYN ×3 unanswered") && l.contains(&format!("frame {first}-{last}"))
        })
        .unwrap_or_else(|| panic!("no SYN row in\n{text}"));
    assert!(
        text.lines()
            .nth(row + 1)
            .is_some_and(|l| l.contains("error handshake-failed"))
    );
    assert!(!text.contains("  capture "), "{text}");
}

#[test]
fn a_refused_fetch_syn_cites_the_rst() {
    let (r, _) = json_and_text("attr-refused", &unreachable_flow(FileServerReply::Refused));
    assert_eq!(list(&r, "findings").len(), 0, "nothing capture-wide: {r:#}");
    let t = &list(&r, "transactions")[0];
    let found = list(t, "findings");
    assert_eq!(codes(found), ["handshake-failed", "transfer-fault"]);
    let (what, syn_frame, rst_frame) = handshake_step(t);
    assert_eq!(what, "SYN refused (RST)");
    assert!(rst_frame > syn_frame);
    let syn = finding(found, "handshake-failed");
    assert_eq!(frames(syn), [syn_frame, rst_frame]);
    assert!(
        syn["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(&format!("refused: RST at frame {rst_frame}"))),
        "{syn}"
    );
    let fault = finding(found, "transfer-fault")["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        fault.ends_with(&format!(
            "refused at frame {syn_frame} (RST at frame {rst_frame})"
        )),
        "{fault}"
    );
}

#[test]
fn capture_findings_carry_the_cpe_last_seen_at_their_address() {
    let o = base_options();
    let d = &o.device;
    let stranger = "203.0.113.9:40000".parse().expect("address");
    let mut b = FlowBuilder::new(o.clone());
    let t = o.timing;
    let (end, _) = b.download_session(o.start, "2 PERIODIC");
    let fetch = b.file_fetch(end + t.file_fetch_delay);
    let end = b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
    // A minute later the ACS sends a Connection Request, which the CPE accepts, and no session
    // follows; an address no Inform came from sends a SYN to the ACS, never answered.
    b.connection_request(end + 60 * SECOND);
    let mut c = Connection::new(stranger, o.acs, end + 61 * SECOND);
    c.ends(End::Unanswered, At::After(0));
    b.add_connection(c);
    let flow = b.finish();
    let serial = d.serial.as_str();
    let runs = analyze_runs(
        "attr-capture",
        &flow,
        &[
            &["--format", "json"],
            &[],
            &["--format", "json", "--cpe", serial],
            &["--format", "json", "--cpe", "198.51.100.250"],
            &["-"],
        ],
    );
    let r: Value = serde_json::from_str(&runs[0]).expect("JSON");
    let loose = list(&r, "findings");
    assert_eq!(
        codes(loose),
        ["connection-request-timing", "handshake-failed"]
    );
    let cr = finding(loose, "connection-request-timing");
    assert_eq!(cr["cpe"]["serial"], serial);
    assert_eq!(cr["cpe"]["ip"], o.cpe_ip.to_string());
    assert_eq!(cr["cpe"]["manufacturer"], d.manufacturer.as_str());
    assert!(cr["cpe"].get("inferred").is_none(), "{cr}");
    let syn = finding(loose, "handshake-failed");
    assert!(syn.get("cpe").is_none(), "no CPE at {stranger}: {syn}");
    // Text: the CPE's finding under its heading, the stranger's under `capture`.
    let text = &runs[1];
    let heading = format!(
        "  CPE {} {} {} ({})",
        d.manufacturer, d.product_class, d.serial, o.cpe_ip
    );
    let at = text
        .lines()
        .position(|l| l == heading)
        .unwrap_or_else(|| panic!("no {heading:?} in\n{text}"));
    assert!(
        text.lines()
            .nth(at + 1)
            .is_some_and(|l| l.contains("warning connection-request-timing")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("  capture   error handshake-failed")),
        "{text}"
    );
    // --cpe shows the CPE's finding, not another CPE's; one of no known CPE stays.
    let mine: Value = serde_json::from_str(&runs[2]).expect("JSON");
    assert_eq!(
        codes(list(&mine, "findings")),
        ["connection-request-timing", "handshake-failed"]
    );
    let other: Value = serde_json::from_str(&runs[3]).expect("JSON");
    assert_eq!(codes(list(&other, "findings")), ["handshake-failed"]);
    // Streaming text names the CPE on the finding's line as it is found, and groups the
    // closing list as the text report does.
    let streamed = &runs[4];
    let label = heading.trim_start();
    assert!(
        streamed
            .lines()
            .any(|l| l.starts_with(label) && l.contains("   warning connection-request-timing")),
        "{streamed}"
    );
    assert!(
        streamed
            .lines()
            .any(|l| l.starts_with("capture   error handshake-failed")),
        "{streamed}"
    );
    assert!(streamed.lines().any(|l| l == heading), "{streamed}");
}

/// The catalogue case named `name`.
fn case(name: &str) -> Flow {
    catalogue()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no catalogue case {name}"))
        .flow
}

#[test]
fn an_unannounced_connection_request_goes_to_the_transaction_it_started() {
    let (r, _) = json_and_text(
        "attr-unannounced",
        &case("connection-request-timing-unannounced"),
    );
    assert_eq!(list(&r, "findings").len(), 0, "{r:#}");
    for s in list(&r, "sessions") {
        assert_eq!(list(s, "findings").len(), 0, "{s:#}");
        assert!(s["connection_request"].is_null());
    }
    let t = &list(&r, "transactions")[0];
    let f = finding(list(t, "findings"), "connection-request-timing");
    // The GET, the CPE's 204, and the Inform (step 2) of the session that followed.
    let inform = list(t, "steps")
        .iter()
        .find(|s| s["step"] == 2)
        .and_then(|s| s["frame"].as_u64())
        .expect("step 2");
    let got = frames(f);
    assert_eq!(got.len(), 3, "{f}");
    assert!(got[0] < got[1] && got[1] < inform, "{got:?}");
    assert_eq!(got[2], inform);
    let session = &t["sessions"][0];
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("not announced")
                && m.contains(&format!("session {}", session.as_str().unwrap_or("?")))),
        "{f}"
    );
}

#[test]
fn a_session_without_an_inform_carries_the_cpe_last_seen_at_its_address() {
    let o = base_options();
    let (r, text) = json_and_text("attr-inferred", &case("inform-not-first-without-inform"));
    let sessions = list(&r, "sessions");
    assert_eq!(sessions.len(), 3);
    for s in &sessions[..2] {
        assert!(s["cpe"].get("inferred").is_none(), "{}", s["cpe"]);
        assert_eq!(s["cpe"]["serial"], o.device.serial.as_str());
    }
    let last = &sessions[2];
    assert!(last["events"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(last["cpe"]["inferred"], true);
    assert_eq!(last["cpe"]["serial"], o.device.serial.as_str());
    assert_eq!(last["cpe"]["oui"], o.device.oui.as_str());
    assert!(
        list(last, "findings")
            .iter()
            .any(|f| f["code"] == "inform-not-first")
    );
    let label = format!(
        "CPE {} {} {} ({}, inferred)",
        o.device.manufacturer, o.device.product_class, o.device.serial, o.cpe_ip
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(last["id"].as_str().unwrap_or("?")) && l.contains(&label)),
        "{text}"
    );
}

#[test]
fn a_reset_is_cited_at_its_rst_frame() {
    let (r, text) = json_and_text("attr-reset", &case("tcp-reset"));
    let s = &list(&r, "sessions")[0];
    let f = finding(list(s, "findings"), "tcp-reset");
    let got = frames(f);
    assert_eq!(got.len(), 1);
    let last_message = list(s, "messages")
        .iter()
        .filter_map(|m| m["frame"].as_u64())
        .max()
        .expect("messages");
    assert!(
        got[0] > last_message,
        "the RST follows the last message: {got:?}"
    );
    // The transaction's close of that connection is at the same frame, and the text ladder
    // shows the finding under it.
    let t = &list(&r, "transactions")[0];
    let close = list(t, "steps")
        .iter()
        .find(|st| st["close"] == true && st["what"] == "connection reset")
        .expect("the reset close");
    assert_eq!(close["frame"].as_u64(), Some(got[0]));
    let row = text
        .lines()
        .position(|l| l.contains("╳ connection reset") && l.ends_with(&format!("frame {}", got[0])))
        .unwrap_or_else(|| panic!("no reset row in\n{text}"));
    assert!(
        text.lines()
            .nth(row + 1)
            .is_some_and(|l| l.contains("error tcp-reset")),
        "{text}"
    );
}
