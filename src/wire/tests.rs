//! Tests of frame decoding, from link headers to TCP segments.

use super::*;
use crate::types::LinkType;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V4_SRC: [u8; 4] = [192, 0, 2, 1];
const V4_DST: [u8; 4] = [198, 51, 100, 7];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// A TCP header (with 4 bytes of options when `options`) followed by `payload`.
fn tcp(payload: &[u8], options: bool) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&51_000u16.to_be_bytes());
    t.extend_from_slice(&7547u16.to_be_bytes());
    t.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    t.extend_from_slice(&0x5566_7788u32.to_be_bytes());
    t.push(if options { 6 << 4 } else { 5 << 4 });
    t.push(TcpFlags::PSH | TcpFlags::ACK);
    t.extend_from_slice(&1024u16.to_be_bytes());
    t.extend_from_slice(&[0xde, 0xad, 0, 0]); // wrong checksum: not checked
    if options {
        t.extend_from_slice(&[1, 1, 1, 0]);
    }
    t.extend_from_slice(payload);
    t
}

/// An IPv4 header + payload; `frag` = (id, byte offset, more fragments).
fn ipv4(protocol: u8, payload: &[u8], frag: Option<(u16, u16, bool)>) -> Vec<u8> {
    let total = 20 + payload.len() as u16;
    let (id, offset, more) = frag.unwrap_or((0x1234, 0, false));
    let flags_offset =
        (offset / 8) | if more { 0x2000 } else { 0 } | if frag.is_none() { 0x4000 } else { 0 };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags_offset.to_be_bytes());
    p.extend_from_slice(&[64, protocol, 0, 0]);
    p.extend_from_slice(&V4_SRC);
    p.extend_from_slice(&V4_DST);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 header + payload (which may start with extension headers).
fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next_header, 64]);
    p.extend_from_slice(&V6_SRC);
    p.extend_from_slice(&V6_DST);
    p.extend_from_slice(payload);
    p
}

/// An 8-byte generic extension header (hop-by-hop, destination options, …) with padding.
fn ext(next_header: u8) -> Vec<u8> {
    vec![next_header, 0, 1, 4, 0, 0, 0, 0]
}

/// An IPv6 fragment header, built bit by bit from RFC 8200 §4.5.
fn frag_header(next_header: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let field = (offset / 8) << 3 | u16::from(more);
    let mut h = vec![next_header, 0];
    h.extend_from_slice(&field.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
    Frame {
        frame: FrameRef::new(0, 1),
        ts: 1_000,
        link,
        orig_len: data.len() as u32,
        data,
    }
}

fn expect_tcp<'a>(d: Decoded<'a>) -> TcpSegment<'a> {
    match d {
        Decoded::Tcp(s) => s,
        other => panic!("expected TCP, got {other:?}"),
    }
}

fn v4_addr(port: u16, ip: [u8; 4]) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let data = ethernet(0x0800, &ipv4(6, &tcp(b"hello", true), None));
    let mut d = Decoder::new();
    let s = expect_tcp(d.decode(&frame(LinkType::ETHERNET, &data)));
    assert_eq!(s.src, v4_addr(51_000, V4_SRC));
    assert_eq!(s.dst, v4_addr(7547, V4_DST));
    assert_eq!((s.seq, s.ack, s.window), (0x1122_3344, 0x5566_7788, 1024));
    assert!(s.flags.ack() && !s.flags.syn() && !s.flags.fin() && !s.flags.rst());
    assert_eq!(s.payload, b"hello");
    assert_eq!(s.payload_cut, 0);
    assert_eq!((s.frame, s.ts), (FrameRef::new(0, 1), 1_000));
}

#[test]
fn every_link_type_reaches_tcp() {
    let v4 = ipv4(6, &tcp(b"p", false), None);
    let v6 = ipv6(6, &tcp(b"p", false));
    let with = |prefix: &[u8], ip: &[u8]| [prefix, ip].concat();
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll.extend_from_slice(&0x86DDu16.to_be_bytes());
    let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
    sll2.extend_from_slice(&[0; 18]);
    let cases: Vec<(LinkType, Vec<u8>)> = vec![
        (LinkType::ETHERNET, ethernet(0x86DD, &v6)),
        (
            LinkType::ETHERNET,
            ethernet(0x8100, &with(&[0, 5, 0x08, 0x00], &v4)),
        ),
        (
            LinkType::ETHERNET,
            ethernet(0x88A8, &with(&[0, 5, 0x81, 0x00, 0, 6, 0x86, 0xDD], &v6)),
        ),
        (LinkType::LINUX_SLL, with(&sll, &v6)),
        (LinkType::LINUX_SLL2, with(&sll2, &v4)),
        (LinkType::NULL, with(&[2, 0, 0, 0], &v4)),
        (LinkType::NULL, with(&[0, 0, 0, 30], &v6)),
        (LinkType::LOOP, with(&[0, 0, 0, 2], &v4)),
        (LinkType::RAW, v4.clone()),
        (LinkType::RAW, v6.clone()),
        (LinkType(12), v4.clone()),
        (LinkType::IPV4, v4.clone()),
        (LinkType::IPV6, v6.clone()),
    ];
    let mut d = Decoder::new();
    for (i, (link, data)) in cases.iter().enumerate() {
        // A second apart: the same segment again within microseconds would be a mirror copy.
        let mut f = frame(*link, data);
        f.ts = i as Nanos * 1_000_000_000;
        let s = expect_tcp(d.decode(&f));
        assert_eq!(s.payload, b"p", "{link:?}");
        assert_eq!(s.dst.port(), 7547);
    }
    let s = d.stats();
    assert_eq!(
        (s.non_ip, s.non_tcp, s.truncated, s.mirror_duplicates),
        (0, 0, 0, 0)
    );
    assert_eq!(
        s.encapsulations.seen().collect::<Vec<_>>(),
        [(Encapsulation::Vlan, 1), (Encapsulation::Qinq, 1)]
    );
}

#[test]
fn non_ip_non_tcp_and_truncated_are_counted() {
    let mut d = Decoder::new();
    assert!(matches!(
        d.decode(&frame(LinkType::ETHERNET, &ethernet(0x0806, &[0; 28]))),
        Decoded::NonIp
    ));
    let udp = ipv4(17, &[0; 8], None);
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &udp)),
        Decoded::NonTcp
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &ipv6(58, &[0; 8]))),
        Decoded::NonTcp
    ));
    // TCP header cut at 19 bytes, with the capture saying it was cut.
    let full = ipv4(6, &tcp(b"", false), None);
    let mut f = frame(LinkType::RAW, &full[..39]);
    f.orig_len = 40;
    assert!(matches!(d.decode(&f), Decoded::Truncated));
    // Data offset below 5 is malformed.
    let mut bad = ipv4(6, &tcp(b"", false), None);
    bad[32] = 4 << 4;
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &bad)),
        Decoded::Truncated
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::ETHERNET, &[0; 10])),
        Decoded::Truncated
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &[0x45, 0, 0])),
        Decoded::Truncated
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &[0x75, 0, 0])),
        Decoded::NonIp
    ));
    let s = d.stats();
    assert_eq!((s.non_ip, s.non_tcp, s.truncated), (2, 2, 4));
    assert_eq!(
        s.non_ip_kinds.kinds(),
        [
            (NonIpKind::EtherType(0x0806), 1),
            (NonIpKind::IpVersion(7), 1)
        ]
    );
    assert_eq!(
        s.non_tcp_kinds.kinds(),
        [(IpProtocol(17), 1), (IpProtocol(58), 1)]
    );
}

#[test]
fn payload_cut_by_snap_length_is_reported() {
    let payload = [7u8; 100];
    let full = ethernet(0x0800, &ipv4(6, &tcp(&payload, false), None));
    let captured = &full[..full.len() - 60];
    let mut f = frame(LinkType::ETHERNET, captured);
    f.orig_len = full.len() as u32;
    let mut d = Decoder::new();
    let s = expect_tcp(d.decode(&f));
    assert_eq!(s.payload.len(), 40);
    assert_eq!(s.payload_cut, 60);
    // Same for IPv6.
    let full = ipv6(6, &tcp(&payload, false));
    let mut f = frame(LinkType::RAW, &full[..full.len() - 1]);
    f.orig_len = full.len() as u32;
    let s = expect_tcp(d.decode(&f));
    assert_eq!((s.payload.len(), s.payload_cut), (99, 1));
}

#[test]
fn ethernet_padding_and_offload_lengths() {
    // A short segment padded to the Ethernet minimum: the padding is not payload.
    let mut data = ethernet(0x0800, &ipv4(6, &tcp(b"", false), None));
    data.extend_from_slice(&[0; 6]);
    let mut d = Decoder::new();
    assert_eq!(
        expect_tcp(d.decode(&frame(LinkType::ETHERNET, &data))).payload,
        b""
    );
    // Segmentation offload writes a total length of 0: the frame's end is the packet's end.
    let mut tso = ipv4(6, &tcp(b"offloaded", false), None);
    tso[2] = 0;
    tso[3] = 0;
    let s = expect_tcp(d.decode(&frame(LinkType::RAW, &tso)));
    assert_eq!((s.payload, s.payload_cut), (&b"offloaded"[..], 0));
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    let mut chain = ext(60); // hop-by-hop -> destination options
    chain.extend_from_slice(&ext(43)); // -> routing
    chain.extend_from_slice(&ext(44)); // -> atomic fragment header
    chain.extend_from_slice(&frag_header(6, 0, false, 9));
    chain.extend_from_slice(&tcp(b"v6", false));
    let data = ethernet(0x86DD, &ipv6(0, &chain));
    let mut d = Decoder::new();
    let s = expect_tcp(d.decode(&frame(LinkType::ETHERNET, &data)));
    assert_eq!(s.payload, b"v6");
    assert_eq!(
        s.src,
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(V6_SRC)), 51_000)
    );
    // A chain cut in the middle of an extension header.
    let cut = ipv6(0, &chain[..12]);
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &cut)),
        Decoded::Truncated
    ));
}

#[test]
fn ipv4_fragments_out_of_order() {
    let payload: Vec<u8> = (0..=255).cycle().take(3000).collect();
    let segment = tcp(&payload, false);
    let pieces = [
        (1480usize, 2960usize, true),
        (2960, segment.len(), false),
        (0, 1480, true),
    ];
    let mut d = Decoder::new();
    let frames: Vec<Vec<u8>> = pieces
        .iter()
        .map(|&(s, e, more)| ethernet(0x0800, &ipv4(6, &segment[s..e], Some((77, s as u16, more)))))
        .collect();
    assert!(matches!(
        d.decode(&frame(LinkType::ETHERNET, &frames[0])),
        Decoded::FragmentHeld
    ));
    assert!(matches!(
        d.decode(&frame(LinkType::ETHERNET, &frames[1])),
        Decoded::FragmentHeld
    ));
    let mut last = frame(LinkType::ETHERNET, &frames[2]);
    last.frame = FrameRef::new(0, 9);
    let s = expect_tcp(d.decode(&last));
    assert_eq!(s.payload, payload.as_slice());
    assert_eq!(s.frame.number, 9);
    assert_eq!(s.seq, 0x1122_3344);
    let st = d.stats();
    assert_eq!(
        (st.fragments, st.reassembled_datagrams, st.fragments_dropped),
        (3, 1, 0)
    );
}

#[test]
fn ipv6_fragments_out_of_order_with_extension_in_fragmentable_part() {
    let payload: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    // Fragmentable part: destination options, then TCP.
    let mut fragmentable = ext(6);
    fragmentable.extend_from_slice(&tcp(&payload, true));
    let cuts = [(0usize, 1232usize, true), (1232, fragmentable.len(), false)];
    let frames: Vec<Vec<u8>> = cuts
        .iter()
        .map(|&(s, e, more)| {
            let mut body = frag_header(60, s as u16, more, 0xdead_beef);
            body.extend_from_slice(&fragmentable[s..e]);
            ipv6(44, &body)
        })
        .collect();
    // Byte-level check of the fragment header layout: offset 1232 = 154 * 8, M = 0.
    assert_eq!(&frames[1][40..44], &[60, 0, 0x04, 0xd0]);
    assert_eq!(&frames[0][42..44], &[0x00, 0x01]);
    let mut d = Decoder::new();
    assert!(matches!(
        d.decode(&frame(LinkType::IPV6, &frames[1])),
        Decoded::FragmentHeld
    ));
    let s = expect_tcp(d.decode(&frame(LinkType::IPV6, &frames[0])));
    assert_eq!(s.payload, payload.as_slice());
    assert_eq!(s.dst.port(), 7547);
    assert_eq!(d.stats().reassembled_datagrams, 1);
}

#[test]
fn fragments_of_other_protocols_or_cut_are_not_held() {
    let mut d = Decoder::new();
    let icmp = ipv4(1, &[0; 16], Some((5, 0, true)));
    assert!(matches!(
        d.decode(&frame(LinkType::RAW, &icmp)),
        Decoded::NonTcp
    ));
    let frag = ipv4(6, &[0; 16], Some((6, 0, true)));
    let mut f = frame(LinkType::RAW, &frag[..30]);
    f.orig_len = frag.len() as u32;
    assert!(matches!(d.decode(&f), Decoded::Truncated));
    assert_eq!(d.stats().fragments, 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200), link in proptest::sample::select(vec![0u32, 1, 12, 101, 108, 113, 228, 229, 276])) {
        let mut d = Decoder::new();
        let f = Frame { frame: FrameRef::new(0, 1), ts: 0, link: LinkType(link), orig_len: 1500, data: &data };
        let _ = d.decode(&f);
    }

    #[test]
    fn any_snap_length_keeps_captured_plus_cut_equal_to_the_payload(
        len in 0usize..300,
        snap in 0usize..400,
        v6 in proptest::bool::ANY,
    ) {
        let payload = vec![0x5a; len];
        let packet = if v6 { ipv6(6, &tcp(&payload, true)) } else { ipv4(6, &tcp(&payload, true), None) };
        let full = ethernet(if v6 { 0x86DD } else { 0x0800 }, &packet);
        let captured = &full[..snap.min(full.len())];
        let f = Frame { frame: FrameRef::new(0, 1), ts: 0, link: LinkType::ETHERNET, orig_len: full.len() as u32, data: captured };
        let mut d = Decoder::new();
        let header_end = full.len() - len;
        match d.decode(&f) {
            Decoded::Tcp(s) => {
                proptest::prop_assert!(captured.len() >= header_end);
                proptest::prop_assert_eq!(s.payload.len() + s.payload_cut as usize, len);
            }
            Decoded::Truncated => proptest::prop_assert!(captured.len() < header_end),
            other => proptest::prop_assert!(false, "unexpected {:?}", other),
        }
    }
}

mod tunnels;
