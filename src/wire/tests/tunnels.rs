//! Tests of the tunnels inside IP (IP in IP, GRE, ERSPAN, VXLAN), their nesting bound, IPv6
//! extension headers, tunnelled fragments, the kinds of undecoded frames, and mirrored copies.

use super::*;
use crate::wire::walk::MAX_TUNNEL_LEVELS;

const OUTER_SRC: [u8; 4] = [10, 0, 0, 1];
const OUTER_DST: [u8; 4] = [10, 0, 0, 2];
const OUTER6_SRC: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const OUTER6_DST: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// An IPv4 header between `src` and `dst` + payload: identification `id`, TTL `ttl`,
/// `frag` = (byte offset, more fragments).
fn ipv4_between(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    payload: &[u8],
    id: u16,
    ttl: u8,
    frag: Option<(u16, bool)>,
) -> Vec<u8> {
    let total = 20 + payload.len() as u16;
    let flags_offset = match frag {
        Some((offset, more)) => (offset / 8) | if more { 0x2000 } else { 0 },
        None => 0x4000,
    };
    let mut p = vec![0x45, 0];
    p.extend(total.to_be_bytes());
    p.extend(id.to_be_bytes());
    p.extend(flags_offset.to_be_bytes());
    p.extend([ttl, protocol, 0, 0]);
    p.extend(src);
    p.extend(dst);
    p.extend(payload);
    p
}

/// An IPv6 header between `src` and `dst` + payload.
fn ipv6_between(src: [u8; 16], dst: [u8; 16], next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend((payload.len() as u16).to_be_bytes());
    p.extend([next_header, 64]);
    p.extend(src);
    p.extend(dst);
    p.extend(payload);
    p
}

/// An outer IPv4 packet (10.0.0.1 → 10.0.0.2) carrying `payload` as `protocol`.
fn outer_v4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_between(OUTER_SRC, OUTER_DST, protocol, payload, 0x0BAD, 64, None)
}

/// An outer IPv6 packet (fd00::1 → fd00::2) carrying `payload` as `next_header`.
fn outer_v6(next_header: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_between(OUTER6_SRC, OUTER6_DST, next_header, payload)
}

/// The inner packet every tunnel here carries: TCP from 192.0.2.1 to 198.51.100.7.
fn inner_v4() -> Vec<u8> {
    ipv4(6, &tcp(b"inner", false), None)
}

fn inner_v6() -> Vec<u8> {
    ipv6(6, &tcp(b"inner", false))
}

/// A GRE header: flags for the optional fields given, then the protocol and those fields.
fn gre(protocol: u16, key: Option<u32>, seq: Option<u32>) -> Vec<u8> {
    let flags = if key.is_some() { 0x2000u16 } else { 0 } | if seq.is_some() { 0x1000 } else { 0 };
    let mut h = flags.to_be_bytes().to_vec();
    h.extend(protocol.to_be_bytes());
    h.extend(
        key.map(u32::to_be_bytes)
            .unwrap_or_default()
            .iter()
            .take(if key.is_some() { 4 } else { 0 }),
    );
    h.extend(
        seq.map(u32::to_be_bytes)
            .unwrap_or_default()
            .iter()
            .take(if seq.is_some() { 4 } else { 0 }),
    );
    h
}

/// A UDP header to `port` + payload (length field right).
fn udp(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = 49_152u16.to_be_bytes().to_vec();
    u.extend(port.to_be_bytes());
    u.extend((8 + payload.len() as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    u
}

/// A VXLAN header (I flag, network 0x00ABCD) + Ethernet frame.
fn vxlan(frame: &[u8]) -> Vec<u8> {
    [&[0x08, 0, 0, 0, 0x00, 0xAB, 0xCD, 0][..], frame].concat()
}

fn decode_one(data: &[u8]) -> (Decoder, Option<(SocketAddr, SocketAddr, Vec<u8>)>) {
    let mut d = Decoder::new();
    let seg = match d.decode(&frame(LinkType::ETHERNET, data)) {
        Decoded::Tcp(s) => Some((s.src, s.dst, s.payload.to_vec())),
        _ => None,
    };
    (d, seg)
}

/// Decodes an Ethernet frame expecting the inner TCP segment and exactly `layers`.
fn expect_inner(name: &str, data: &[u8], layers: &[Encapsulation]) {
    let (d, seg) = decode_one(data);
    let (src, dst, payload) = seg.unwrap_or_else(|| panic!("{name}: no TCP"));
    assert_eq!(payload, b"inner", "{name}");
    assert_eq!(src.port(), 51_000, "{name}");
    let v6 = matches!(src.ip(), IpAddr::V6(_));
    let expected_src = if v6 {
        IpAddr::V6(Ipv6Addr::from(V6_SRC))
    } else {
        IpAddr::V4(Ipv4Addr::from(V4_SRC))
    };
    assert_eq!(src.ip(), expected_src, "{name}: the inner addresses");
    assert_eq!(dst.port(), 7547, "{name}");
    let seen: Vec<Encapsulation> = d
        .stats()
        .encapsulations
        .seen()
        .map(|(e, n)| {
            assert_eq!(n, 1, "{name}: {e:?} once");
            e
        })
        .collect();
    assert_eq!(seen, layers, "{name}");
}

#[test]
fn ip_in_ip_in_every_combination() {
    use Encapsulation as E;
    expect_inner(
        "ipip",
        &ethernet(0x0800, &outer_v4(4, &inner_v4())),
        &[E::Ipip],
    );
    expect_inner(
        "6in4",
        &ethernet(0x0800, &outer_v4(41, &inner_v6())),
        &[E::SixInFour],
    );
    expect_inner(
        "4in6",
        &ethernet(0x86DD, &outer_v6(4, &inner_v4())),
        &[E::FourInSix],
    );
    expect_inner(
        "6in6",
        &ethernet(0x86DD, &outer_v6(41, &inner_v6())),
        &[E::SixInSix],
    );
}

#[test]
fn gre_carrying_ip_ethernet_mpls_and_erspan() {
    use Encapsulation as E;
    let over_gre = |protocol: u16, key, seq, payload: &[u8]| {
        ethernet(
            0x0800,
            &outer_v4(47, &[&gre(protocol, key, seq)[..], payload].concat()),
        )
    };
    expect_inner(
        "gre ipv4 key seq",
        &over_gre(0x0800, Some(1), Some(2), &inner_v4()),
        &[E::Gre],
    );
    expect_inner(
        "gre ipv6",
        &over_gre(0x86DD, None, None, &inner_v6()),
        &[E::Gre],
    );
    // Ethernet with a VLAN tag inside GRE.
    let tagged = ethernet(0x8100, &[&[0, 42, 0x08, 0x00][..], &inner_v4()].concat());
    expect_inner(
        "gre ethernet vlan",
        &over_gre(0x6558, Some(9), None, &tagged),
        &[E::Vlan, E::Gre, E::GreEthernet],
    );
    let mpls = [&[0x00, 0x01, 0x01, 0x40][..], &inner_v4()].concat();
    expect_inner(
        "gre mpls",
        &over_gre(0x8847, None, None, &mpls),
        &[E::Mpls, E::Gre],
    );
    let plain = ethernet(0x0800, &inner_v4());
    expect_inner(
        "erspan i",
        &over_gre(0x88BE, None, None, &plain),
        &[E::Gre, E::ErspanI],
    );
    let ii = [&[0x10, 0x64, 0x00, 0x2A, 0, 0, 0, 5][..], &plain].concat();
    expect_inner(
        "erspan ii",
        &over_gre(0x88BE, None, Some(77), &ii),
        &[E::Gre, E::ErspanII],
    );
    let iii_header = [0x20, 0x00, 0x00, 0x07, 1, 2, 3, 4, 0, 0, 0x00, 0x01];
    let iii = [&iii_header[..], &[0xEE; 8], &plain].concat();
    expect_inner(
        "erspan iii platform",
        &over_gre(0x22EB, None, Some(1), &iii),
        &[E::Gre, E::ErspanIII],
    );
    // Type III mirroring a bare IP packet (frame type 2), without platform subheader.
    let mut bare = iii_header;
    bare[10] = 2 << 2;
    bare[11] = 0;
    let iii_ip = [&bare[..], &inner_v6()].concat();
    expect_inner(
        "erspan iii ip",
        &over_gre(0x22EB, None, Some(1), &iii_ip),
        &[E::Gre, E::ErspanIII],
    );
    // GRE over IPv6.
    let v6 = ethernet(
        0x86DD,
        &outer_v6(47, &[&gre(0x0800, None, None)[..], &inner_v4()].concat()),
    );
    expect_inner("gre over ipv6", &v6, &[E::Gre]);
}

#[test]
fn vxlan_over_ipv4_and_ipv6_and_what_is_not_vxlan() {
    use Encapsulation as E;
    let inner = ethernet(0x0800, &inner_v4());
    let v4 = ethernet(0x0800, &outer_v4(17, &udp(4789, &vxlan(&inner))));
    expect_inner("vxlan v4", &v4, &[E::Vxlan]);
    let tagged = ethernet(0x8100, &[&[0, 7, 0x86, 0xDD][..], &inner_v6()].concat());
    let v6 = ethernet(0x86DD, &outer_v6(17, &udp(8472, &vxlan(&tagged))));
    expect_inner("vxlan 8472 v6 vlan", &v6, &[E::Vlan, E::Vxlan]);
    // A datagram to the VXLAN port whose header is not VXLAN's, or to another port: UDP.
    let mut bad = vxlan(&inner);
    bad[0] = 0x0C;
    for payload in [
        udp(4789, &bad),
        udp(4790, &vxlan(&inner)),
        udp(4789, &[0x08, 0, 0]),
    ] {
        let (d, seg) = decode_one(&ethernet(0x0800, &outer_v4(17, &payload)));
        assert!(seg.is_none());
        assert_eq!(d.stats().non_tcp_kinds.kinds(), [(IpProtocol(17), 1)]);
        assert_eq!(d.stats().encapsulations.seen().count(), 0);
    }
    // VXLAN carrying ARP: non-IP inside.
    let arp = ethernet(0x0806, &[0; 28]);
    let (d, _) = decode_one(&ethernet(0x0800, &outer_v4(17, &udp(4789, &vxlan(&arp)))));
    assert_eq!(
        d.stats().non_ip_kinds.kinds(),
        [(NonIpKind::EtherType(0x0806), 1)]
    );
    assert_eq!(d.stats().encapsulations.get(E::Vxlan), 1);
}

/// `levels` GRE headers, each in its own outer IPv4 packet, around the inner packet.
fn nested_gre(levels: usize) -> Vec<u8> {
    let mut packet = inner_v4();
    for _ in 0..levels {
        packet = outer_v4(47, &[&gre(0x0800, None, None)[..], &packet].concat());
    }
    ethernet(0x0800, &packet)
}

#[test]
fn nesting_is_bounded() {
    let (_, seg) = decode_one(&nested_gre(MAX_TUNNEL_LEVELS));
    assert!(seg.is_some(), "{MAX_TUNNEL_LEVELS} levels are followed");
    let (d, seg) = decode_one(&nested_gre(MAX_TUNNEL_LEVELS + 1));
    assert!(seg.is_none());
    assert_eq!(d.stats().non_ip_kinds.kinds(), [(NonIpKind::TooDeep, 1)]);
    // Endless nesting of every kind ends too (each wrapper fits the version of what it wraps).
    let mut endless = inner_v4();
    let mut v6 = false;
    for i in 0..40 {
        let ether_type = if v6 { 0x86DD } else { 0x0800 };
        let protocol = if v6 { 41 } else { 4 };
        (endless, v6) = match i % 4 {
            0 => (outer_v4(protocol, &endless), false),
            1 => (outer_v6(protocol, &endless), true),
            2 => {
                let gre_payload = [
                    &gre(0x6558, None, None)[..],
                    &ethernet(ether_type, &endless),
                ];
                (outer_v4(47, &gre_payload.concat()), false)
            }
            _ => {
                let vxlan_payload = vxlan(&ethernet(ether_type, &endless));
                (outer_v6(17, &udp(4789, &vxlan_payload)), true)
            }
        };
    }
    let (d, seg) = decode_one(&ethernet(0x86DD, &endless));
    assert!(seg.is_none());
    assert_eq!(d.stats().non_ip_kinds.kinds(), [(NonIpKind::TooDeep, 1)]);
}

#[test]
fn truncated_and_lying_tunnels() {
    let full = nested_gre(1);
    // Cut inside the GRE header or the inner IP header, with the capture saying so.
    for end in [14 + 20 + 2, 14 + 20 + 4 + 10] {
        let mut f = frame(LinkType::ETHERNET, &full[..end]);
        f.orig_len = full.len() as u32;
        let mut d = Decoder::new();
        assert!(matches!(d.decode(&f), Decoded::Truncated), "{end}");
    }
    // Cut in the inner payload: the segment says how much is missing.
    let mut f = frame(LinkType::ETHERNET, &full[..full.len() - 2]);
    f.orig_len = full.len() as u32;
    let mut d = Decoder::new();
    let s = expect_tcp(d.decode(&f));
    assert_eq!((s.payload, s.payload_cut), (&b"inn"[..], 2));
    // An inner IPv4 length beyond the outer packet in an uncut frame is no cut.
    let mut lying = inner_v4();
    lying[2..4].copy_from_slice(&1500u16.to_be_bytes());
    let data = ethernet(0x0800, &outer_v4(4, &lying));
    let s = expect_tcp(d.decode(&frame(LinkType::ETHERNET, &data)));
    assert_eq!((s.payload, s.payload_cut), (&b"inner"[..], 0));
    // An outer length shorter than the inner packet cuts it: the inner TCP header is incomplete.
    let mut short = outer_v4(4, &inner_v4());
    short[2..4].copy_from_slice(&(20u16 + 30).to_be_bytes());
    assert!(matches!(
        d.decode(&frame(LinkType::ETHERNET, &ethernet(0x0800, &short))),
        Decoded::Truncated
    ));
    // IP in IP whose inner packet is not IPv4.
    assert!(matches!(
        d.decode(&frame(
            LinkType::ETHERNET,
            &ethernet(0x0800, &outer_v4(4, &inner_v6()))
        )),
        Decoded::Truncated
    ));
}

#[test]
fn undecodable_frames_are_counted_by_kind() {
    let mut d = Decoder::new();
    let frames = [
        ethernet(0x88CC, &[0; 30]),
        ethernet(0x88CC, &[0; 30]),
        ethernet(0x0806, &[0; 28]),
        ethernet(0x8863, &[0x11, 0x09, 0, 0, 0, 0]),
        ethernet(0x0026, &[0x42, 0x42, 0x03]),
        ethernet(0x0800, &outer_v4(47, &[0x30, 0x01, 0x88, 0x0B, 0, 0, 0, 0])),
        ethernet(0x0800, &outer_v4(47, &gre(0x88CC, None, None))),
        ethernet(0x0800, &outer_v4(17, &udp(53, &[0; 12]))),
        ethernet(0x0800, &outer_v4(1, &[8, 0, 0, 0])),
        ethernet(0x86DD, &outer_v6(58, &[128, 0, 0, 0])),
        ethernet(0x0800, &outer_v4(132, &[0; 12])),
    ];
    for f in &frames {
        d.decode(&frame(LinkType::ETHERNET, f));
    }
    let s = d.stats();
    assert_eq!((s.non_ip, s.non_tcp), (7, 4));
    assert_eq!(
        s.non_ip_kinds.kinds(),
        [
            (NonIpKind::EtherType(0x88CC), 2),
            (NonIpKind::EtherType(0x0806), 1),
            (NonIpKind::PppoeDiscovery, 1),
            (NonIpKind::Llc, 1),
            (NonIpKind::GreVersion(1), 1),
            (NonIpKind::GreProtocol(0x88CC), 1),
        ]
    );
    assert_eq!(
        s.non_tcp_kinds.kinds(),
        [
            (IpProtocol(17), 1),
            (IpProtocol(1), 1),
            (IpProtocol(58), 1),
            (IpProtocol(132), 1)
        ]
    );
    assert_eq!(s.non_ip_kinds.total(), s.non_ip);
}

#[test]
fn each_ipv6_extension_header_before_tcp() {
    let mut routing = vec![60, 0, 0, 0, 0, 0, 0, 0]; // type 0, no segments left
    routing[0] = 6;
    let cases: [(u8, Vec<u8>); 4] = [
        (0, ext(6)),
        (43, routing),
        (60, ext(6)),
        (44, frag_header(6, 0, false, 77)),
    ];
    for (first, header) in cases {
        let data = ipv6(first, &[&header[..], &tcp(b"x", false)].concat());
        let mut d = Decoder::new();
        let s = expect_tcp(d.decode(&frame(LinkType::IPV6, &data)));
        assert_eq!(s.payload, b"x", "extension header {first}");
        assert_eq!(d.stats().encapsulations.get(Encapsulation::Ipv6Ext), 1);
    }
    // A chain of all four, and a chain longer than followed.
    let mut chain = ext(43);
    chain.extend([60, 0, 0, 0, 0, 0, 0, 0]);
    chain.extend(ext(44));
    chain.extend(frag_header(6, 0, false, 78));
    chain.extend(tcp(b"chain", false));
    let mut d = Decoder::new();
    let chained = ipv6(0, &chain);
    let s = expect_tcp(d.decode(&frame(LinkType::IPV6, &chained)));
    assert_eq!(s.payload, b"chain");
    let mut long = Vec::new();
    for _ in 0..40 {
        long.extend(ext(60));
    }
    long.extend(tcp(b"x", false));
    assert!(matches!(
        d.decode(&frame(LinkType::IPV6, &ipv6(60, &long))),
        Decoded::Truncated
    ));
    // No extension header: not counted.
    let mut d = Decoder::new();
    expect_tcp(d.decode(&frame(LinkType::IPV6, &inner_v6())));
    assert_eq!(d.stats().encapsulations.seen().count(), 0);
}

/// An IPv4 datagram (10.0.0.1 → 10.0.0.2) of `protocol` cut into fragments at `cuts`.
fn fragments_v4(protocol: u8, payload: &[u8], id: u16, cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let more = w[1] < payload.len();
            ipv4_between(
                OUTER_SRC,
                OUTER_DST,
                protocol,
                &payload[w[0]..w[1]],
                id,
                64,
                Some((w[0] as u16, more)),
            )
        })
        .collect()
}

#[test]
fn a_fragmented_tunnel_packet_is_decoded_once_complete() {
    let big: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let inner = ipv4(6, &tcp(&big, false), None);
    let gre_packet = [&gre(0x0800, Some(5), None)[..], &inner].concat();
    let pieces = fragments_v4(47, &gre_packet, 0x4242, &[256, 512]);
    let mut d = Decoder::new();
    for p in pieces[1..].iter().rev() {
        assert!(matches!(
            d.decode(&frame(LinkType::ETHERNET, &ethernet(0x0800, p))),
            Decoded::FragmentHeld
        ));
    }
    let last = ethernet(0x0800, &pieces[0]);
    let s = expect_tcp(d.decode(&frame(LinkType::ETHERNET, &last)));
    assert_eq!(s.payload, big.as_slice());
    assert_eq!(s.src.ip(), IpAddr::V4(Ipv4Addr::from(V4_SRC)));
    let st = d.stats();
    assert_eq!((st.fragments, st.reassembled_datagrams), (3, 1));
    assert_eq!(
        st.encapsulations.get(Encapsulation::Gre),
        1,
        "counted when complete"
    );
    // The same with UDP (VXLAN) fragments, and a fragmented datagram that is plain UDP.
    let vx = udp(4789, &vxlan(&ethernet(0x0800, &inner)));
    let mut d = Decoder::new();
    let pieces = fragments_v4(17, &vx, 7, &[400]);
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &pieces[0])),
        Decoded::FragmentHeld
    ));
    let s = expect_tcp(d.decode(&frame(LinkType::RAW, &pieces[1])));
    assert_eq!(s.payload.len(), big.len());
    let dns = udp(53, &[0; 600]);
    let pieces = fragments_v4(17, &dns, 8, &[304]);
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &pieces[0])),
        Decoded::FragmentHeld
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &pieces[1])),
        Decoded::NonTcp
    ));
    assert_eq!(d.stats().non_tcp_kinds.kinds(), [(IpProtocol(17), 1)]);
    // ICMP fragments are not held.
    let ping = fragments_v4(1, &[0; 600], 9, &[304]);
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &ping[0])),
        Decoded::NonTcp
    ));
}

#[test]
fn fragments_inside_a_tunnel_and_inside_fragments() {
    let big: Vec<u8> = (0..900u32).map(|i| (i * 3) as u8).collect();
    let segment = tcp(&big, false);
    // The inner packet is fragmented; each inner fragment travels in a whole GRE packet.
    let inner: Vec<Vec<u8>> = [(0usize, 480usize, true), (480, segment.len(), false)]
        .iter()
        .map(|&(s, e, more)| ipv4(6, &segment[s..e], Some((31, s as u16, more))))
        .collect();
    let wrapped: Vec<Vec<u8>> = inner
        .iter()
        .map(|f| outer_v4(47, &[&gre(0x0800, None, None)[..], f].concat()))
        .collect();
    let mut d = Decoder::new();
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &wrapped[1])),
        Decoded::FragmentHeld
    ));
    let s = expect_tcp(d.decode(&frame(LinkType::RAW, &wrapped[0])));
    assert_eq!(s.payload, big.as_slice());
    // Now each GRE packet is fragmented too: the outer datagram completes, then the inner.
    let mut d = Decoder::new();
    let mut results = Vec::new();
    for (i, f) in inner.iter().enumerate() {
        let gre_packet = [&gre(0x0800, None, None)[..], f].concat();
        for piece in fragments_v4(47, &gre_packet, 100 + i as u16, &[200]) {
            results.push(match d.decode(&frame(LinkType::RAW, &piece)) {
                Decoded::Tcp(s) => Some(s.payload.to_vec()),
                _ => None,
            });
        }
    }
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
    assert_eq!(results.last().cloned().flatten(), Some(big.clone()));
    assert_eq!(d.stats().reassembled_datagrams, 3);
    // fragment_of names the outermost fragmented datagram, inside tunnels too.
    let f = frame(LinkType::RAW, &wrapped[1]);
    assert_eq!(
        fragment_of(&f),
        Some(FragmentOf {
            src: IpAddr::V4(Ipv4Addr::from(V4_SRC)),
            dst: IpAddr::V4(Ipv4Addr::from(V4_DST)),
            id: 31
        })
    );
    assert_eq!(
        fragment_of(&frame(LinkType::RAW, &nested_gre(2)[14..])),
        None
    );
}

/// The same TCP segment seen again: `tag` VLAN, `ttl`, `ident`, at `ts`.
fn copy_of(segment: &[u8], v6: bool, tag: u16, ttl: u8, ident: u16) -> Vec<u8> {
    let mut packet = if v6 {
        ipv6(6, segment)
    } else {
        ipv4_between(V4_SRC, V4_DST, 6, segment, ident, ttl, None)
    };
    if v6 {
        packet[7] = ttl;
    }
    let ether_type: u16 = if v6 { 0x86DD } else { 0x0800 };
    ethernet(
        0x8100,
        &[&tag.to_be_bytes()[..], &ether_type.to_be_bytes(), &packet].concat(),
    )
}

#[test]
fn mirrored_copies_are_set_apart_and_retransmissions_are_not() {
    let segment = tcp(b"mirrored", true);
    let mut d = Decoder::new();
    let at = |d: &mut Decoder, data: &[u8], ts: Nanos| match d.decode(&Frame {
        frame: FrameRef::new(0, 1),
        ts,
        link: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
    }) {
        Decoded::Tcp(_) => "tcp",
        Decoded::MirrorCopy(s) => {
            assert_eq!(s.payload, b"mirrored");
            "copy"
        }
        other => panic!("{other:?}"),
    };
    // IPv4: the copy has another VLAN tag and TTL - 1, 20 µs later.
    assert_eq!(
        at(&mut d, &copy_of(&segment, false, 10, 64, 0x1111), 1_000_000),
        "tcp"
    );
    assert_eq!(
        at(&mut d, &copy_of(&segment, false, 20, 63, 0x1111), 1_020_000),
        "copy"
    );
    // The same bytes with a new identification: a retransmission, even right away.
    assert_eq!(
        at(&mut d, &copy_of(&segment, false, 10, 64, 0x1112), 1_030_000),
        "tcp"
    );
    // The same identification long after: not a copy either.
    assert_eq!(
        at(
            &mut d,
            &copy_of(&segment, false, 10, 64, 0x1111),
            900_000_000
        ),
        "tcp"
    );
    // Inside a tunnel, the copy is recognized by the inner packet.
    let tunnelled = ethernet(
        0x0800,
        &outer_v4(
            47,
            &[
                &gre(0x0800, None, None)[..],
                &ipv4_between(V4_SRC, V4_DST, 6, &segment, 0x1111, 62, None),
            ]
            .concat(),
        ),
    );
    assert_eq!(at(&mut d, &tunnelled, 900_001_000), "copy");
    // IPv6: within 100 µs a copy, a millisecond later a retransmission.
    assert_eq!(
        at(&mut d, &copy_of(&segment, true, 10, 64, 0), 2_000_000_000),
        "tcp"
    );
    assert_eq!(
        at(&mut d, &copy_of(&segment, true, 20, 63, 0), 2_000_010_000),
        "copy"
    );
    assert_eq!(
        at(&mut d, &copy_of(&segment, true, 20, 63, 0), 2_001_000_000),
        "tcp"
    );
    // Another payload of the same length is no copy.
    let other = tcp(b"MIRRORED", true);
    assert_eq!(
        at(&mut d, &copy_of(&other, true, 20, 63, 0), 2_001_001_000),
        "tcp"
    );
    assert_eq!(d.stats().mirror_duplicates, 3);
    assert_eq!(d.stats().encapsulations.get(Encapsulation::Vlan), 8);
}

proptest::proptest! {
    #[test]
    fn arbitrary_tunnel_payloads_never_panic(
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..120),
        kind in 0usize..6,
    ) {
        let payload = match kind {
            0 => outer_v4(47, &data),
            1 => outer_v4(4, &data),
            2 => outer_v6(41, &data),
            3 => outer_v4(17, &udp(4789, &[&[0x08, 0, 0, 0, 0, 0, 1, 0][..], &data].concat())),
            4 => outer_v4(47, &[&gre(0x22EB, None, Some(1))[..], &data].concat()),
            _ => outer_v4(47, &[&gre(0x6558, None, None)[..], &data].concat()),
        };
        let mut d = Decoder::new();
        let f = Frame { frame: FrameRef::new(0, 1), ts: 0, link: LinkType::RAW, orig_len: 1500, data: &payload };
        let _ = d.decode(&f);
        let _ = fragment_of(&f);
    }
}
