//! Captures made by the generator (`cwmpscope_synth`): every awkward rendering of a CWMP flow
//! (segmentation, reordering, retransmission, overlaps, VLAN, IPv6, IP fragments, every link
//! type, pcapng, nanosecond pcap, gzip, split files) gives the same sessions as its clean form;
//! capture loss is reported as a gap of the right size while the sessions are still rebuilt.

use crate::common;
use common::*;
use cwmpscope_synth::conversation::{Profile, Segmentation};
use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
use cwmpscope_synth::http::AuthScheme;
use cwmpscope_synth::packet::{LinkEncap, VlanTags};
use cwmpscope_synth::write_capture_files;
use cwmpscope_synth::writer::{Format, OutputOptions, TsResolution};
use serde_json::{Value, json};

/// Renders `flow` and analyzes the file(s); returns the JSON report.
fn analyze(name: &str, opts: &CwmpOptions, profile: &Profile, output: &OutputOptions) -> Value {
    report_of_connections(name, reference_flow(opts).connections, profile, output)
}

/// What must not change with the rendering: everything but frames, times, addresses, ports
/// (and `tcp-retransmissions`, which a rendering that retransmits rightly adds).
fn signature(r: &Value) -> Value {
    let sessions: Vec<Value> = sessions(r)
        .iter()
        .map(|s| {
            let messages: Vec<Value> = s["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    json!([
                        m["from"], m["kind"], m["http"], m["rpcs"], m["cwmp_id"], m["complete"],
                        m["body_bytes"], m["auth"]["scheme"], m["envelopes"]
                    ])
                })
                .collect();
            json!({
                "serial": s["cpe"]["serial"], "events": s["events"], "rpcs": s["rpcs"],
                "termination": s["termination"], "connections": s["connections"],
                "cr": s["connection_request"].is_object(), "messages": messages,
                // Retransmissions are the one finding a rendering may legitimately add.
                "findings": s["findings"].as_array().unwrap().iter().map(|d| d["code"].clone()).filter(|c| c != "tcp-retransmissions").collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(sessions)
}

fn flows() -> Vec<(&'static str, CwmpOptions)> {
    let base = CwmpOptions::default();
    vec![
        ("reference", base.clone()),
        (
            "maxenvelopes1",
            CwmpOptions {
                max_envelopes: 1,
                ..base.clone()
            },
        ),
        (
            "cookie",
            CwmpOptions {
                cookie_across_connections: true,
                max_envelopes: 1,
                ..base.clone()
            },
        ),
        ("firmware", CwmpOptions::firmware()),
        (
            "status0",
            CwmpOptions {
                download_status: 0,
                ..base.clone()
            },
        ),
        (
            "connection-request",
            CwmpOptions {
                connection_request: true,
                ..base.clone()
            },
        ),
        (
            "basic",
            CwmpOptions {
                acs_auth: AuthScheme::Basic,
                file_auth: AuthScheme::Basic,
                ..base.clone()
            },
        ),
        (
            "noauth-204",
            CwmpOptions {
                acs_auth: AuthScheme::None,
                empty_response_status: 204,
                ..base
            },
        ),
    ]
}

fn renderings(seed: u64) -> Vec<(&'static str, Profile, OutputOptions)> {
    let clean = Profile::clean(seed);
    let pcap = OutputOptions::default();
    let ng = OutputOptions {
        format: Format::PcapNg,
        ..pcap
    };
    let links = |l: LinkEncap| Profile {
        links: vec![l],
        ..clean.clone()
    };
    vec![
        (
            "mss1",
            Profile {
                segmentation: Segmentation::Mss(1),
                ..clean.clone()
            },
            pcap,
        ),
        (
            "random-segments",
            Profile {
                segmentation: Segmentation::Random { min: 1, max: 300 },
                ..clean.clone()
            },
            pcap,
        ),
        (
            "reorder",
            Profile {
                reorder: 0.3,
                segmentation: Segmentation::Mss(200),
                ..clean.clone()
            },
            pcap,
        ),
        (
            "retransmit",
            Profile {
                retransmit: 0.3,
                segmentation: Segmentation::Mss(200),
                ..clean.clone()
            },
            pcap,
        ),
        (
            "overlap",
            Profile {
                overlap: 0.3,
                segmentation: Segmentation::Mss(200),
                ..clean.clone()
            },
            pcap,
        ),
        ("awkward", Profile::awkward(seed), pcap),
        (
            "vlan",
            links(LinkEncap::Ethernet(VlanTags::Single(100))),
            pcap,
        ),
        (
            "qinq",
            links(LinkEncap::Ethernet(VlanTags::QinQ {
                outer: 10,
                inner: 20,
            })),
            pcap,
        ),
        ("sll", links(LinkEncap::LinuxSll), pcap),
        ("sll2", links(LinkEncap::LinuxSll2), pcap),
        ("null", links(LinkEncap::Null), pcap),
        ("loop", links(LinkEncap::Loop), pcap),
        ("raw", links(LinkEncap::Raw), pcap),
        (
            "ipv6",
            Profile {
                ipv6: true,
                ..clean.clone()
            },
            pcap,
        ),
        (
            "ipv6-awkward",
            Profile {
                ipv6: true,
                ..Profile::awkward(seed)
            },
            pcap,
        ),
        (
            "fragments",
            Profile {
                fragment_payload: Some(300),
                ..clean.clone()
            },
            pcap,
        ),
        (
            "nanoseconds",
            clean.clone(),
            OutputOptions {
                resolution: TsResolution::Nano,
                ..pcap
            },
        ),
        (
            "pcapng-two-interfaces",
            Profile {
                links: vec![LinkEncap::default(), LinkEncap::LinuxSll2],
                ..clean.clone()
            },
            ng,
        ),
        (
            "pcapng-nano-gzip",
            clean.clone(),
            OutputOptions {
                resolution: TsResolution::Nano,
                gzip: true,
                ..ng
            },
        ),
        ("gzip", clean.clone(), OutputOptions { gzip: true, ..pcap }),
        (
            "split",
            clean.clone(),
            OutputOptions {
                frames_per_file: Some(17),
                ..pcap
            },
        ),
        (
            "split-gzip-awkward",
            Profile::awkward(seed),
            OutputOptions {
                frames_per_file: Some(50),
                gzip: true,
                ..ng
            },
        ),
    ]
}

#[test]
fn every_rendering_gives_the_sessions_of_the_clean_form() {
    for (flow_name, opts) in flows() {
        let clean = analyze(
            &format!("{flow_name}-clean.pcap"),
            &opts,
            &Profile::clean(1),
            &OutputOptions::default(),
        );
        let expected = signature(&clean);
        assert!(
            !sessions(&clean).is_empty(),
            "{flow_name}: the clean form has its sessions: {expected:#}"
        );
        for (seed, (name, profile, output)) in renderings(3).into_iter().enumerate() {
            let profile = Profile {
                seed: seed as u64 + 11,
                ..profile
            };
            let got = analyze(
                &format!("{flow_name}-{name}.pcap"),
                &opts,
                &profile,
                &output,
            );
            assert_eq!(signature(&got), expected, "{flow_name} rendered {name}");
        }
    }
}

#[test]
fn clean_reference_flow_sessions() {
    let r = analyze(
        "ref.pcap",
        &CwmpOptions::default(),
        &Profile::clean(5),
        &OutputOptions::default(),
    );
    let s = sessions(&r);
    assert_eq!(s.len(), 2);
    assert_eq!(events(&s[0]), ["2 PERIODIC"]);
    assert_eq!(
        events(&s[1]),
        ["7 TRANSFER COMPLETE", "4 VALUE CHANGE", "M Download"]
    );
    let rpcs: Vec<Vec<String>> = ladder(&s[0]).into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(
        rpcs,
        [
            vec!["Inform"],
            vec![],
            vec!["Inform"],
            vec!["InformResponse", "Download"],
            vec!["DownloadResponse"],
            vec![]
        ]
    );
    assert!(s.iter().all(|x| x["termination"] == "normal"));
    assert_eq!(r["capture"]["tcp_gaps"], 0);
}

#[test]
fn capture_loss_is_a_gap_and_the_sessions_survive() {
    let opts = CwmpOptions::default();
    let flow = reference_flow(&opts);
    let profile = Profile {
        loss: 0.1,
        segmentation: Segmentation::Mss(100),
        ..Profile::clean(21)
    };
    let path = scratch("loss.pcap");
    let (rendered, files) =
        write_capture_files(flow.connections, &profile, &OutputOptions::default(), &path).unwrap();
    assert!(!rendered.lost.is_empty(), "the profile lost something");
    let r = report(&[files[0].to_str().unwrap()]);
    let lost: u64 = rendered.lost.iter().map(|l| l.len).sum();
    assert_eq!(
        r["capture"]["tcp_gap_bytes"], lost,
        "every lost byte is reported, no more"
    );
    let mut conns: Vec<usize> = rendered.lost.iter().map(|l| l.connection).collect();
    conns.sort();
    conns.dedup();
    assert_eq!(r["capture"]["tcp_gaps"], conns.len());
    assert_eq!(sessions(&r).len(), 2, "both sessions are still found");
    let _ = std::fs::remove_file(&files[0]);
}
