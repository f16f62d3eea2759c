//! The same traffic under other link layers, encapsulations and tunnels: the reference
//! configuration update (recorded, IPv4) and the generated IPv6 reference flow, rewritten frame
//! by frame (PPPoE under 802.1Q, MPLS, Ethernet over an MPLS pseudowire, PPP, GRE with key and
//! sequence number, GRE carrying Ethernet with a VLAN tag, ERSPAN I/II/III, VXLAN over IPv4 and
//! IPv6, IP in IP, 6in4, 4in6, 6in6, IPv6 extension headers), give the same sessions,
//! transactions and findings as the plain capture, and the report counts every frame under what
//! was unwrapped. Each frame mirrored twice gives the plain report with the copies counted and
//! never taken for retransmissions. Frames that are not TCP/IP are named by kind. Where tshark
//! is installed, it finds the same TCP streams and HTTP messages in the rewritten captures.

use crate::common::{self, cwmpscope, scratch};
use cwmpscope_synth::capture_bytes;
use cwmpscope_synth::conversation::Profile;
use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Frames of a classic little-endian microsecond pcap: (record header, frame bytes).
fn records(pcap: &[u8]) -> Vec<([u8; 16], Vec<u8>)> {
    assert_eq!(
        &pcap[..4],
        &[0xD4, 0xC3, 0xB2, 0xA1],
        "little-endian microsecond pcap"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let header: [u8; 16] = pcap[at..at + 16].try_into().unwrap();
        let len = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
        out.push((header, pcap[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

/// A record header for `frame` at `micros` since the epoch.
fn record_header(micros: u64, frame: &[u8]) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    h
}

fn micros_of(header: &[u8; 16]) -> u64 {
    let sec = u32::from_le_bytes(header[..4].try_into().unwrap());
    let usec = u32::from_le_bytes(header[4..8].try_into().unwrap());
    u64::from(sec) * 1_000_000 + u64::from(usec)
}

/// A pcap of `link` holding `frames` (record header, bytes).
fn pcap_of(
    template: &[u8],
    link: u32,
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Vec<u8> {
    let mut out = template[..20].to_vec();
    out.extend(link.to_le_bytes());
    for (micros, frame) in frames {
        out.extend(record_header(micros, &frame));
        out.extend(frame);
    }
    out
}

/// A pcap of `link` whose frames are `rewrite` of the Ethernet frames of `pcap`.
fn rewritten(pcap: &[u8], link: u32, rewrite: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    pcap_of(
        pcap,
        link,
        records(pcap).into_iter().map(|(header, frame)| {
            assert!(
                frame[12..14] == [0x08, 0x00] || frame[12..14] == [0x86, 0xDD],
                "IP over Ethernet"
            );
            (micros_of(&header), rewrite(&frame))
        }),
    )
}

/// Turns an Ethernet frame into a frame of another link layer.
type Rewrite = Box<dyn Fn(&[u8]) -> Vec<u8>>;

const MACS: [u8; 12] = [2, 0, 0, 0, 0, 0xA, 2, 0, 0, 0, 0, 0xB];

/// The Internet checksum of an IPv4 header.
fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An outer IPv4 header (10.9.0.1 → 10.9.0.2, don't fragment) + payload, in an Ethernet frame.
fn outer_v4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend((20 + payload.len() as u16).to_be_bytes());
    h.extend([
        0x12, 0x34, 0x40, 0x00, 64, protocol, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2,
    ]);
    let sum = ip_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    [&MACS[..], &[0x08, 0x00], &h, payload].concat()
}

/// An outer IPv6 header (fd09::1 → fd09::2) + payload, in an Ethernet frame.
fn outer_v6(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next_header, 64]);
    for last in [1, 2] {
        h.extend([0xFD, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
    }
    [&MACS[..], &[0x86, 0xDD], &h, payload].concat()
}

/// A GRE header with the optional key and sequence number.
fn gre(protocol: u16, key: Option<u32>, seq: Option<u32>) -> Vec<u8> {
    let flags = if key.is_some() { 0x2000u16 } else { 0 } | if seq.is_some() { 0x1000 } else { 0 };
    let mut h = flags.to_be_bytes().to_vec();
    h.extend(protocol.to_be_bytes());
    for field in [key, seq].into_iter().flatten() {
        h.extend(field.to_be_bytes());
    }
    h
}

/// UDP to `port` (checksum 0: none) + VXLAN header (I flag, network 5001) + frame.
fn udp_vxlan(port: u16, frame: &[u8]) -> Vec<u8> {
    let mut u = 51_234u16.to_be_bytes().to_vec();
    u.extend(port.to_be_bytes());
    u.extend((8 + 8 + frame.len() as u16).to_be_bytes());
    u.extend([0, 0, 0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0]);
    u.extend(frame);
    u
}

/// The IP packet of an Ethernet frame.
fn ip_of(frame: &[u8]) -> &[u8] {
    &frame[14..]
}

fn pppoe_header(ip: &[u8]) -> Vec<u8> {
    let mut h = vec![0x11, 0x00, 0x12, 0x34];
    h.extend(((ip.len() + 2) as u16).to_be_bytes());
    h.extend([0x00, 0x21]);
    h
}

/// `frame` with an 802.1Q tag of `vlan` after its addresses.
fn tagged(frame: &[u8], vlan: u16) -> Vec<u8> {
    [
        &frame[..12],
        &[0x81, 0x00],
        &vlan.to_be_bytes(),
        &frame[12..],
    ]
    .concat()
}

/// An IPv6 packet with a chain of extension headers inserted before its payload: hop-by-hop,
/// destination options, routing (experimental type 253, no segments left) and an atomic
/// fragment header.
fn with_extension_chain(ipv6: &[u8], id: u32) -> Vec<u8> {
    let next = ipv6[6];
    let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop, PadN
    chain.extend([43, 0, 1, 4, 0, 0, 0, 0]); // destination options, PadN
    chain.extend([44, 0, 253, 0, 0, 0, 0, 0]); // routing
    chain.extend([next, 0, 0, 0]); // fragment: offset 0, no more fragments
    chain.extend(id.to_be_bytes());
    let mut out = ipv6[..40].to_vec();
    out[6] = 0;
    let len = u16::from_be_bytes([ipv6[4], ipv6[5]]) + chain.len() as u16;
    out[4..6].copy_from_slice(&len.to_be_bytes());
    out.extend(chain);
    out.extend(&ipv6[40..]);
    out
}

/// The IPv4 reference capture (recorded from real sockets).
fn plain_v4() -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(common::capture("reference-config-update.pcap"));
    let bytes = std::fs::read(&path).expect("reference capture");
    (path, bytes)
}

/// The generated IPv6 reference flow (what `cwmpscope-capgen reference --ipv6` writes), as the
/// scratch file `name`.
fn plain_v6(name: &str) -> (PathBuf, Vec<u8>) {
    let profile = Profile {
        ipv6: true,
        ..Profile::clean(7)
    };
    let (_, bytes) = capture_bytes(
        reference_flow(&CwmpOptions::default()).connections,
        &profile,
        &OutputOptions::default(),
    )
    .expect("generated");
    let path = scratch(name);
    std::fs::write(&path, &bytes).expect("write");
    (path, bytes)
}

/// The JSON report of a capture, in-process.
fn report(path: &Path) -> Value {
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", &path.to_string_lossy()]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).expect("json")
}

/// What must not change under another encapsulation: sessions, transactions, findings and the
/// count of frames that were not IP.
fn analysis(report: &Value) -> Value {
    json!({
        "sessions": report["sessions"],
        "transactions": report["transactions"],
        "findings": report["findings"],
        "non_ip": report["capture"]["undecoded"]["non_ip"],
        "non_tcp": report["capture"]["undecoded"]["non_tcp"],
    })
}

/// Rewrites the plain capture into each variant and checks the report: the plain analysis, and
/// every frame counted under each of the variant's encapsulations.
fn check_variants(plain: &(PathBuf, Vec<u8>), variants: Vec<(&str, u32, &[&str], Rewrite)>) {
    let expected = report(&plain.0);
    assert_eq!(expected["transactions"].as_array().map(Vec::len), Some(1));
    assert_eq!(expected["capture"]["encapsulations"], json!({}));
    let frames = expected["capture"]["packets"].as_u64().expect("packets");
    for (name, link, kinds, rewrite) in variants {
        let path = scratch(&format!("encap-{name}.pcap"));
        std::fs::write(&path, rewritten(&plain.1, link, &*rewrite)).expect("write");
        let got = report(&path);
        assert_eq!(analysis(&got), analysis(&expected), "{name}");
        let counted: serde_json::Map<String, Value> = kinds
            .iter()
            .map(|k| ((*k).to_owned(), json!(frames)))
            .collect();
        assert_eq!(
            got["capture"]["encapsulations"],
            Value::Object(counted),
            "{name}"
        );
        assert_eq!(got["capture"]["mirror_duplicates"], 0, "{name}");
        let _ = std::fs::remove_file(&path);
    }
}

/// The IPv4 variants: (name, link type, encapsulations counted, rewrite).
fn v4_variants() -> Vec<(&'static str, u32, &'static [&'static str], Rewrite)> {
    let erspan_ii = [0x10, 0x64, 0x00, 0x2A, 0, 0, 0, 5];
    // Version 2, session 7, timestamp, SGT 0, frame type 0 (Ethernet), O flag: subheader.
    let erspan_iii = [0x20, 0x00, 0x00, 0x07, 0, 0, 0x12, 0x34, 0, 0, 0x00, 0x01];
    let platform = [0x0C, 0, 0, 0, 0, 0, 0, 1];
    vec![
        (
            "pppoe-in-vlan",
            1,
            &["vlan", "pppoe"],
            Box::new(|f: &[u8]| {
                let ip = ip_of(f);
                [
                    &f[..12],
                    &[0x81, 0x00, 0x00, 0x2A, 0x88, 0x64],
                    &pppoe_header(ip)[..],
                    ip,
                ]
                .concat()
            }),
        ),
        (
            "mpls-two-labels",
            1,
            &["mpls"],
            Box::new(|f: &[u8]| {
                let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
                [&f[..12], &[0x88, 0x47], &labels[..], ip_of(f)].concat()
            }),
        ),
        (
            "ethernet-over-mpls-pseudowire",
            1,
            &["mpls", "pseudowire"],
            Box::new(|f: &[u8]| {
                let label_and_control_word = [0x00, 0x03, 0x01, 0x40, 0, 0, 0, 0];
                [&MACS[..], &[0x88, 0x47], &label_and_control_word[..], f].concat()
            }),
        ),
        (
            "ppp-hdlc",
            9,
            &["ppp"],
            Box::new(|f: &[u8]| [&[0xFF, 0x03, 0x00, 0x21][..], ip_of(f)].concat()),
        ),
        (
            "pppoe-no-ethernet",
            51,
            &["pppoe"],
            Box::new(|f: &[u8]| [&pppoe_header(ip_of(f))[..], ip_of(f)].concat()),
        ),
        (
            "gre-key-sequence",
            1,
            &["gre"],
            Box::new(|f: &[u8]| {
                outer_v4(
                    47,
                    &[&gre(0x0800, Some(0xC0FFEE), Some(1))[..], ip_of(f)].concat(),
                )
            }),
        ),
        (
            "gre-ethernet-vlan",
            1,
            &["vlan", "gre", "gre-ethernet"],
            Box::new(|f: &[u8]| {
                outer_v4(
                    47,
                    &[&gre(0x6558, Some(9), None)[..], &tagged(f, 300)].concat(),
                )
            }),
        ),
        (
            "erspan-i",
            1,
            &["gre", "erspan-i"],
            Box::new(|f: &[u8]| outer_v4(47, &[&gre(0x88BE, None, None)[..], f].concat())),
        ),
        (
            "erspan-ii",
            1,
            &["gre", "erspan-ii"],
            Box::new(move |f: &[u8]| {
                outer_v4(
                    47,
                    &[&gre(0x88BE, None, Some(17))[..], &erspan_ii, f].concat(),
                )
            }),
        ),
        (
            "erspan-iii-platform",
            1,
            &["gre", "erspan-iii"],
            Box::new(move |f: &[u8]| {
                let header = [&gre(0x22EB, None, Some(17))[..], &erspan_iii, &platform].concat();
                outer_v4(47, &[&header[..], f].concat())
            }),
        ),
        (
            "vxlan-ipv4",
            1,
            &["vxlan"],
            Box::new(|f: &[u8]| outer_v4(17, &udp_vxlan(4789, f))),
        ),
        (
            "vxlan-8472-ipv6",
            1,
            &["vxlan"],
            Box::new(|f: &[u8]| outer_v6(17, &udp_vxlan(8472, f))),
        ),
        (
            "ipip",
            1,
            &["ipip"],
            Box::new(|f: &[u8]| outer_v4(4, ip_of(f))),
        ),
        (
            "4in6",
            1,
            &["4in6"],
            Box::new(|f: &[u8]| outer_v6(4, ip_of(f))),
        ),
    ]
}

/// The IPv6 variants.
fn v6_variants() -> Vec<(&'static str, u32, &'static [&'static str], Rewrite)> {
    vec![
        (
            "gre-ipv6",
            1,
            &["gre"],
            Box::new(|f: &[u8]| {
                outer_v4(47, &[&gre(0x86DD, None, Some(3))[..], ip_of(f)].concat())
            }),
        ),
        (
            "6in4",
            1,
            &["6in4"],
            Box::new(|f: &[u8]| outer_v4(41, ip_of(f))),
        ),
        (
            "6in6",
            1,
            &["6in6"],
            Box::new(|f: &[u8]| outer_v6(41, ip_of(f))),
        ),
        (
            "ipv6-extension-chain",
            1,
            &["ipv6-ext"],
            Box::new(|f: &[u8]| [&f[..14], &with_extension_chain(ip_of(f), 0x5EED)[..]].concat()),
        ),
        (
            "vxlan-ipv6-in-ipv6",
            1,
            &["vxlan"],
            Box::new(|f: &[u8]| outer_v6(17, &udp_vxlan(4789, f))),
        ),
    ]
}

#[test]
fn link_layers_and_tunnels_give_the_plain_report() {
    check_variants(&plain_v4(), v4_variants());
}

#[test]
fn ipv6_tunnels_and_extension_headers_give_the_plain_report() {
    let plain = plain_v6("encap-plain-ipv6.pcap");
    check_variants(&plain, v6_variants());
    let _ = std::fs::remove_file(&plain.0);
}

/// Frame numbers of a report (`frame`, `first_frame`, `answer_frame`, `frames[]`) mapped by `f`.
fn renumber(value: &mut Value, f: &dyn Fn(u64) -> u64) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), &mut *v) {
                    ("frame" | "first_frame" | "answer_frame", Value::Number(n)) => {
                        *v = json!(f(n.as_u64().expect("frame number")));
                    }
                    ("frames", Value::Array(items)) => {
                        for item in items {
                            *item = json!(f(item.as_u64().expect("frame number")));
                        }
                    }
                    _ => renumber(v, f),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| renumber(v, f)),
        _ => {}
    }
}

/// Each frame twice, as a span mirroring both directions delivers it: the first with VLAN 10,
/// the copy a microsecond later (never after the next frame) with VLAN 20 and the IPv4 TTL
/// one lower.
fn mirrored(pcap: &[u8]) -> Vec<u8> {
    let frames = records(pcap);
    let times: Vec<u64> = frames.iter().map(|(h, _)| micros_of(h)).collect();
    let mut out = Vec::new();
    for (i, (_, frame)) in frames.iter().enumerate() {
        let ts = times[i];
        let next = times.get(i + 1).copied().unwrap_or(u64::MAX);
        out.push((ts, tagged(frame, 10)));
        let mut copy = tagged(frame, 20);
        let ip = 18;
        copy[ip + 8] -= 1;
        copy[ip + 10..ip + 12].copy_from_slice(&[0, 0]);
        let sum = ip_checksum(&copy[ip..ip + 20]);
        copy[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
        out.push(((ts + 1).min(next).max(ts), copy));
    }
    pcap_of(pcap, 1, out)
}

#[test]
fn mirrored_copies_are_dropped_and_never_retransmissions() {
    let plain = plain_v4();
    let (out, err, ok) = cwmpscope(&[
        "analyze",
        "--format",
        "json",
        "--retransmission-threshold",
        "0",
        &plain.0.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let mut expected: Value = serde_json::from_str(&out).expect("json");
    let frames = expected["capture"]["packets"].as_u64().expect("packets");
    // The first copy of frame n is frame 2n - 1.
    renumber(&mut expected, &|n| 2 * n - 1);
    let path = scratch("encap-mirrored.pcap");
    std::fs::write(&path, mirrored(&plain.1)).expect("write");
    let (out, err, ok) = cwmpscope(&[
        "analyze",
        "--format",
        "json",
        "--retransmission-threshold",
        "0",
        &path.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let got: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(analysis(&got), analysis(&expected));
    let all_findings = serde_json::to_string(&got).expect("json");
    assert!(!all_findings.contains("tcp-retransmissions"));
    let capture = &got["capture"];
    assert_eq!(capture["packets"], 2 * frames);
    assert_eq!(capture["mirror_duplicates"], frames);
    assert_eq!(capture["encapsulations"], json!({ "vlan": 2 * frames }));
    let (text, _, ok) = cwmpscope(&["analyze", &path.to_string_lossy()]);
    assert!(ok);
    assert!(
        text.contains(&format!("mirror copies dropped: {frames}")),
        "{text}"
    );
    let _ = std::fs::remove_file(&path);
}

/// The IPv4 reference with every frame tagged VLAN 100, followed by frames that are not TCP/IP:
/// 3 LLDP, 2 ARP, 2 PPPoE discovery (PADI), 1 spanning tree (802.3 + LLC), 4 DNS queries over
/// UDP, 1 ICMP echo and 1 ICMPv6 echo.
pub fn frame_mix() -> Vec<u8> {
    let (_, plain) = plain_v4();
    let mut frames: Vec<(u64, Vec<u8>)> = records(&plain)
        .into_iter()
        .map(|(h, f)| (micros_of(&h), tagged(&f, 100)))
        .collect();
    let mut at = frames.last().map_or(0, |(t, _)| *t) + 1_000;
    let eth = |ether_type: [u8; 2], rest: &[u8]| [&MACS[..], &ether_type, rest].concat();
    let lldp = eth([0x88, 0xCC], &[0x02, 0x07, 0x04, 2, 0, 0, 0, 0, 0xA, 0, 0]);
    let arp = eth(
        [0x08, 0x06],
        &[
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xA, 10, 9, 0, 1, 0, 0, 0, 0, 0, 0, 10, 9, 0, 2,
        ],
    );
    let padi = eth([0x88, 0x63], &[0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0]);
    let stp = eth([0x00, 0x26], &[0x42, 0x42, 0x03, 0, 0, 0, 0]);
    let dns = outer_v4(
        17,
        &[
            0xC0, 0x01, 0, 53, 0, 20, 0, 0, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        ],
    );
    let ping = outer_v4(1, &[8, 0, 0xF7, 0xFE, 0, 1, 0, 1]);
    let ping6 = outer_v6(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
    let extra = [
        &lldp, &arp, &dns, &lldp, &padi, &stp, &dns, &ping, &arp, &dns, &padi, &lldp, &ping6, &dns,
    ];
    for frame in extra {
        frames.push((at, frame.clone()));
        at += 1_000;
    }
    pcap_of(&plain, 1, frames)
}

#[test]
fn frames_that_are_not_tcp_ip_are_named_by_kind() {
    let path = scratch("encap-frame-mix.pcap");
    std::fs::write(&path, frame_mix()).expect("write");
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", &path.to_string_lossy()]);
    assert!(ok, "{err}");
    let got: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        analysis(&got)["sessions"],
        analysis(&report(&plain_v4().0))["sessions"]
    );
    let undecoded = &got["capture"]["undecoded"];
    assert_eq!(
        *undecoded,
        json!({
            "non_ip": 8,
            "non_tcp": 6,
            "truncated": 0,
            "non_ip_kinds": {"ethertype 0x88cc": 3, "ethertype 0x0806": 2, "pppoe discovery": 2, "llc": 1},
            "non_tcp_kinds": {"udp": 4, "icmp": 1, "icmpv6": 1},
        })
    );
    // Largest count first, as written.
    let order = |keys: &[&str]| {
        keys.iter()
            .map(|k| out.find(&format!("\"{k}\"")).expect(k))
            .collect::<Vec<_>>()
    };
    assert!(order(&["ethertype 0x88cc", "ethertype 0x0806", "llc"]).is_sorted());
    assert!(order(&["udp", "icmp", "icmpv6"]).is_sorted());
    let frames = got["capture"]["packets"].as_u64().expect("packets") - 14;
    assert_eq!(got["capture"]["encapsulations"], json!({ "vlan": frames }));
    let (text, _, ok) = cwmpscope(&["analyze", &path.to_string_lossy()]);
    assert!(ok);
    assert!(
        text.contains(
            "not TCP/IP: 8 non-IP (ethertype 0x88cc ×3, ethertype 0x0806 ×2, pppoe discovery ×2, \
             llc ×1), 6 non-TCP (udp ×4, icmp ×1, icmpv6 ×1), 0 truncated"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n  unwrapped: vlan {frames}\n")),
        "{text}"
    );
    // The NDJSON capture line carries the same.
    let (nd, _, ok) = cwmpscope(&["analyze", "--format", "ndjson", &path.to_string_lossy()]);
    assert!(ok);
    let capture: Value = nd
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .find(|v| v["type"] == "capture")
        .expect("capture line");
    assert_eq!(capture["undecoded"], *undecoded);
    assert_eq!(capture["encapsulations"], got["capture"]["encapsulations"]);
    let _ = std::fs::remove_file(&path);
}

/// (TCP stream, request method, response code) of each HTTP message tshark finds.
fn tshark_http(path: &Path) -> Vec<String> {
    let output = Command::new("tshark")
        .args(["-n", "-o", "tcp.reassemble_out_of_order:TRUE"])
        .args([
            "-d",
            "tcp.port==7547,http",
            "-d",
            "udp.port==8472,vxlan",
            "-r",
        ])
        .arg(path)
        .args(["-Y", "http", "-T", "fields", "-e", "tcp.stream"])
        .args(["-e", "http.request.method", "-e", "http.response.code"])
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn tshark_finds_the_same_streams_and_messages_in_the_rewritten_captures() {
    if !common::oracle_available("tshark") {
        return;
    }
    let wanted = [
        "gre-key-sequence",
        "erspan-ii",
        "erspan-iii-platform",
        "vxlan-8472-ipv6",
        "4in6",
    ];
    let wanted_v6 = ["6in4", "ipv6-extension-chain"];
    for (plain, variants, names) in [
        (plain_v4(), v4_variants(), &wanted[..]),
        (
            plain_v6("encap-tshark-plain-ipv6.pcap"),
            v6_variants(),
            &wanted_v6[..],
        ),
    ] {
        let expected = tshark_http(&plain.0);
        assert!(expected.len() >= 10, "{expected:?}");
        for (name, link, _, rewrite) in variants.into_iter().filter(|v| names.contains(&v.0)) {
            let path = scratch(&format!("encap-tshark-{name}.pcap"));
            std::fs::write(&path, rewritten(&plain.1, link, &*rewrite)).expect("write");
            assert_eq!(tshark_http(&path), expected, "{name}");
            let _ = std::fs::remove_file(&path);
        }
    }
}
