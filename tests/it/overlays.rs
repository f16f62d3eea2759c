//! The configuration update recorded across overlays (`captures/overlays/`): real traffic
//! between network namespaces, captured on the underlay under 802.1Q, QinQ, VXLAN (IPv4 and
//! IPv6 underlay), GRE (IPv4 and IPv6 payload, Ethernet payload), IP-in-IP, 6in4, 4in6,
//! ERSPAN II and III, and as mirrored duplicates. Each gives tshark's HTTP ladder, the same
//! report as the plain recording, and names its encapsulation.

use crate::common;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

/// An overlay capture: file stem, its name in `capture.encapsulations` (none for plain
/// Ethernet), the layers tshark shows in every frame up to TCP, and the frames it holds.
struct Overlay {
    stem: &'static str,
    encapsulation: Option<&'static str>,
    layers: &'static str,
    frames: u64,
}

const fn overlay(
    stem: &'static str,
    encapsulation: Option<&'static str>,
    layers: &'static str,
    frames: u64,
) -> Overlay {
    Overlay {
        stem,
        encapsulation,
        layers,
        frames,
    }
}

/// Every recording (captures/README.md, "Overlay captures").
const OVERLAYS: &[Overlay] = &[
    overlay("plain", None, ETH_IP_TCP, 42),
    overlay("mirror", None, ETH_IP_TCP, 84),
    overlay(
        "vlan",
        Some("vlan"),
        "eth:ethertype:vlan:ethertype:ip:tcp",
        42,
    ),
    overlay(
        "qinq",
        Some("qinq"),
        "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:tcp",
        42,
    ),
    overlay(
        "vxlan",
        Some("vxlan"),
        "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp",
        42,
    ),
    overlay(
        "vxlan-ipv6",
        Some("vxlan"),
        "eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ip:tcp",
        42,
    ),
    overlay("gre", Some("gre"), "eth:ethertype:ip:gre:ip:tcp", 42),
    overlay("gre-ipv6", Some("gre"), "eth:ethertype:ip:gre:ipv6:tcp", 42),
    overlay(
        "gre-ethernet",
        Some("gre-ethernet"),
        "eth:ethertype:ip:gre:eth:ethertype:ip:tcp",
        42,
    ),
    overlay("ipip", Some("ipip"), "eth:ethertype:ip:ip:tcp", 42),
    overlay("6in4", Some("6in4"), "eth:ethertype:ip:ipv6:tcp", 42),
    overlay("4in6", Some("4in6"), "eth:ethertype:ipv6:ip:tcp", 42),
    overlay(
        "erspan-ii",
        Some("erspan-ii"),
        "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp",
        42,
    ),
    overlay(
        "erspan-iii",
        Some("erspan-iii"),
        "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp",
        42,
    ),
];

const ETH_IP_TCP: &str = "eth:ethertype:ip:tcp";

fn path_of(stem: &str) -> String {
    common::capture(&format!("overlays/config-update-{stem}.pcap"))
}

fn find(stem: &str) -> &'static Overlay {
    OVERLAYS
        .iter()
        .find(|o| o.stem == stem)
        .expect("listed overlay")
}

/// Frame numbers as in the plain recording: the mirrored capture holds each frame twice, the
/// first copy at an odd number.
fn plain_frame(stem: &str, frame: u64) -> u64 {
    if stem == "mirror" {
        frame.div_ceil(2)
    } else {
        frame
    }
}

/// One HTTP message: (frame, connection, request method and target or status code).
type Message = (u64, u64, String);

fn tshark(path: &str, args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(["-n", "-o", "tcp.reassemble_out_of_order:TRUE"])
        .args(["-d", "tcp.port==7547,http", "-r", path])
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {path}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// tshark's HTTP messages of a capture, in frame order; the connection is its `tcp.stream`.
fn tshark_ladder(path: &str) -> Vec<Message> {
    let fields = [
        "frame.number",
        "tcp.stream",
        "http.request.method",
        "http.request.uri",
        "http.response.code",
    ];
    let mut args = vec!["-Y", "http", "-T", "fields"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    tshark(path, &args)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), fields.len(), "{path}: {line}");
            assert!(!line.contains(','), "one HTTP message a frame: {line}");
            let what = if f[2].is_empty() {
                f[4].to_owned()
            } else {
                format!("{} {}", f[2], f[3])
            };
            (
                f[0].parse().expect("frame"),
                f[1].parse().expect("stream"),
                what,
            )
        })
        .collect()
}

/// cwmpscope's HTTP messages of a report, in frame order: the session messages (the
/// connection is the session's one TCP connection) and the file fetch of each transaction
/// (its connection is the transaction's fetch).
fn report_ladder(report: &Value) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    for s in common::sessions(report) {
        let tcp = s["tcp"].as_array().expect("tcp");
        assert_eq!(tcp.len(), 1, "one connection a session in this flow");
        let connection = format!("{}|{}", tcp[0]["cpe"], tcp[0]["acs"]);
        for m in s["messages"].as_array().expect("messages") {
            let http = m["http"].as_str().expect("http line");
            let what = match m["status"].as_u64() {
                Some(status) => status.to_string(),
                None => http.to_owned(),
            };
            let frame = m["frame"].as_u64().expect("frame");
            out.push((frame, connection.clone(), what));
        }
    }
    for t in report["transactions"].as_array().expect("transactions") {
        let connection = format!("{} fetch", t["id"]);
        for step in t["steps"].as_array().expect("steps") {
            let from = step["from"].as_str().unwrap_or_default();
            let to = step["to"].as_str().unwrap_or_default();
            if step["close"] == true || (from != "file-server" && to != "file-server") {
                continue;
            }
            // `GET /path …` for a request, `401 Digest …` for a response.
            let words = step["what"].as_str().expect("what").split(' ');
            let what = words
                .take(if from == "cpe" { 2 } else { 1 })
                .collect::<Vec<_>>()
                .join(" ");
            out.push((
                step["frame"].as_u64().expect("frame"),
                connection.clone(),
                what,
            ));
        }
    }
    out.sort();
    out
}

/// (a): tshark's messages are cwmpscope's, frame for frame, and tshark's TCP streams group
/// them as cwmpscope's connections do.
fn assert_report_matches_tshark(stem: &str, report: &Value) {
    let theirs = tshark_ladder(&path_of(stem));
    let ours = report_ladder(report);
    let messages_ours: Vec<(u64, &str)> = ours.iter().map(|(f, _, w)| (*f, w.as_str())).collect();
    let messages_theirs: Vec<(u64, &str)> =
        theirs.iter().map(|(f, _, w)| (*f, w.as_str())).collect();
    assert_eq!(
        messages_ours, messages_theirs,
        "{stem}: HTTP messages (frame, request or status)"
    );
    let mut pairing: BTreeMap<u64, &str> = BTreeMap::new();
    for ((_, connection, _), (frame, stream, _)) in ours.iter().zip(&theirs) {
        let seen = pairing.entry(*stream).or_insert(connection);
        assert_eq!(
            *seen, connection,
            "{stem}: frame {frame}, tcp.stream {stream}"
        );
    }
    let distinct: std::collections::BTreeSet<&&str> = pairing.values().collect();
    assert_eq!(
        distinct.len(),
        pairing.len(),
        "{stem}: one connection a stream"
    );
    assert_eq!(pairing.len(), 3, "{stem}: three TCP connections");
}

fn codes(findings: &Value) -> Vec<String> {
    let mut out: Vec<String> = findings
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| format!("{} ({})", f["code"], f["severity"]))
        .collect();
    out.sort();
    out
}

/// What must not change with the encapsulation: the sessions, the transactions and the
/// findings, without addresses, ports, times, nonces and body sizes (an IPv6 address is longer
/// in the Inform and the Download URL); frames as in the plain recording.
fn outline(stem: &str, report: &Value) -> Value {
    let frame = |v: &Value| v.as_u64().map(|f| plain_frame(stem, f));
    let sessions: Vec<Value> = common::sessions(report)
        .iter()
        .map(|s| {
            let messages: Vec<Value> = s["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| {
                    json!({
                        "frame": frame(&m["frame"]), "from": m["from"], "to": m["to"],
                        "kind": m["kind"], "http": m["http"], "rpcs": m["rpcs"],
                        "cwmp_id": m["cwmp_id"], "step": m["step"], "complete": m["complete"],
                        "auth": m["auth"]["scheme"], "username": m["auth"]["username"],
                    })
                })
                .collect();
            let tcp_ends: Vec<&Value> = s["tcp"]
                .as_array()
                .expect("tcp")
                .iter()
                .map(|t| &t["end"])
                .collect();
            json!({
                "cpe": [&s["cpe"]["serial"], &s["cpe"]["oui"], &s["cpe"]["product_class"]],
                "events": s["events"], "connections": s["connections"], "tcp": tcp_ends,
                "termination": s["termination"], "cwmp_version": s["cwmp_version"],
                "rpcs": s["rpcs"], "messages": messages, "findings": codes(&s["findings"]),
            })
        })
        .collect();
    let transactions: Vec<Value> = report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| {
            let steps: Vec<Value> = t["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|x| {
                    json!({
                        "step": x["step"], "what": x["what"], "frame": frame(&x["frame"]),
                        "from": x["from"], "to": x["to"], "session": x["session"],
                        "close": x["close"],
                    })
                })
                .collect();
            json!({
                "kind": t["kind"], "outcome": t["outcome"], "command_key": t["command_key"],
                "file_type": t["file_type"], "announced_size": t["announced_size"],
                "received_bytes": t["received_bytes"], "file_hash": t["file_hash"],
                "download_status": t["download_status"], "fault": t["fault"],
                "sessions": t["sessions"], "versions": t["versions"], "steps": steps,
                "findings": codes(&t["findings"]),
            })
        })
        .collect();
    json!({
        "sessions": sessions,
        "transactions": transactions,
        "findings": codes(&report["findings"]),
    })
}

/// `capture.encapsulations` as a map (absent: none).
fn encapsulations(report: &Value) -> BTreeMap<String, u64> {
    report["capture"]["encapsulations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("frame count")))
                .collect()
        })
        .unwrap_or_default()
}

/// The checks of one overlay capture: (a) against tshark when it is installed, (b) against
/// the plain recording (and the plain one against the loopback reference capture), (c) its
/// encapsulation and mirror counts.
fn check(stem: &str) {
    let o = find(stem);
    let report = common::report(&[&path_of(stem)]);
    assert_eq!(
        report["capture"]["packets"], o.frames,
        "{stem}: frames read"
    );

    if common::oracle_available("tshark") {
        assert_report_matches_tshark(stem, &report);
    }

    let (reference, reference_stem) = if stem == "plain" {
        (
            common::report(&[&common::capture("reference-config-update.pcap")]),
            "reference",
        )
    } else {
        (common::report(&[&path_of("plain")]), "plain")
    };
    let expected = outline(reference_stem, &reference);
    assert_eq!(expected["transactions"][0]["outcome"], "success");
    assert_eq!(outline(stem, &report), expected, "{stem}: the plain report");

    let found = encapsulations(&report);
    match o.encapsulation {
        Some(name) => assert_eq!(
            found.get(name),
            Some(&o.frames),
            "{stem}: capture.encapsulations {found:?}"
        ),
        None => assert!(found.is_empty(), "{stem}: {found:?}"),
    }
    let duplicates = &report["capture"]["mirror_duplicates"];
    if stem == "mirror" {
        assert_eq!(duplicates.as_u64(), Some(o.frames / 2), "mirror duplicates");
        let all = report["summary"]["findings"].as_object().expect("counts");
        assert!(
            !all.contains_key("tcp-retransmissions"),
            "mirror copies are no retransmissions: {all:?}"
        );
    } else {
        assert_eq!(duplicates.as_u64().unwrap_or(0), 0, "{stem}: no duplicates");
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn tshark_sees_the_plain_ladder_and_the_encapsulation_in_every_overlay() {
    if !common::oracle_available("tshark") {
        return;
    }
    let plain = tshark_ladder(&path_of("plain"));
    assert_eq!(plain.len(), 18, "the configuration update's HTTP messages");
    for o in OVERLAYS {
        let path = path_of(o.stem);
        let layers = tshark(&path, &["-T", "fields", "-e", "frame.protocols"]);
        assert_eq!(layers.lines().count() as u64, o.frames, "{}", o.stem);
        for (n, line) in layers.lines().enumerate() {
            let upto_tcp = line.split(":tcp").next().unwrap_or_default();
            assert_eq!(
                format!("{upto_tcp}:tcp"),
                o.layers,
                "{} frame {}: {line}",
                o.stem,
                n + 1
            );
        }
        let ladder: Vec<Message> = tshark_ladder(&path)
            .into_iter()
            .map(|(f, s, w)| (plain_frame(o.stem, f), s, w))
            .collect();
        assert_eq!(ladder, plain, "{}", o.stem);
    }
}

#[test]
fn plain() {
    check("plain");
}

#[test]
fn mirror() {
    check("mirror");
}

#[test]
fn vlan() {
    check("vlan");
}

#[test]
fn qinq() {
    check("qinq");
}

#[test]
fn vxlan() {
    check("vxlan");
}

#[test]
fn vxlan_over_ipv6() {
    check("vxlan-ipv6");
}

#[test]
fn gre() {
    check("gre");
}

#[test]
fn gre_with_ipv6_payload() {
    check("gre-ipv6");
}

#[test]
fn gre_with_ethernet_payload() {
    check("gre-ethernet");
}

#[test]
fn ip_in_ip() {
    check("ipip");
}

#[test]
fn ipv6_in_ipv4() {
    check("6in4");
}

#[test]
fn ipv4_in_ipv6() {
    check("4in6");
}

#[test]
fn erspan_type_ii() {
    check("erspan-ii");
}

#[test]
fn erspan_type_iii() {
    check("erspan-iii");
}
