//! Packet builder: one TCP segment into the bytes of a captured frame, for every link type the
//! analyzer reads (Ethernet with optional 802.1Q or QinQ tags, Linux cooked v1/v2, BSD NULL and
//! LOOP, raw IP), over IPv4 or IPv6, with correct IP and TCP checksums, optionally cut into IP
//! fragments (in order or reversed).
//!
//! The encoder keeps its buffers between calls, so building a frame does not allocate.

use crate::types::{LinkType, TcpFlags};
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// IP protocol number of TCP.
const PROTO_TCP: u8 = 6;
/// IPv6 next-header value of the Fragment extension header.
const IPV6_FRAGMENT_HEADER: u8 = 44;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const TCP_HEADER_LEN: usize = 20;
/// BSD address-family values written in NULL/LOOP headers (NetBSD/OpenBSD value for IPv6).
const BSD_AF_INET: u32 = 2;
const BSD_AF_INET6: u32 = 24;

/// 802.1Q tags put on Ethernet frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VlanTags {
    /// Untagged.
    #[default]
    None,
    /// One 802.1Q tag (TPID 0x8100) with this VLAN id (12 bits).
    Single(u16),
    /// 802.1ad QinQ: an outer service tag (TPID 0x88a8) then an inner 802.1Q tag.
    QinQ {
        /// Service (outer) VLAN id.
        outer: u16,
        /// Customer (inner) VLAN id.
        inner: u16,
    },
}

/// How frames are framed below IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkEncap {
    /// Ethernet II (LINKTYPE_ETHERNET, 1), optionally VLAN-tagged.
    Ethernet(VlanTags),
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113).
    LinuxSll,
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276).
    LinuxSll2,
    /// BSD loopback with the address family in little-endian order (LINKTYPE_NULL, 0), as
    /// written by a little-endian capturing host.
    Null,
    /// OpenBSD loopback with the address family in network order (LINKTYPE_LOOP, 108).
    Loop,
    /// Raw IP, no link header (LINKTYPE_RAW, 101).
    Raw,
}

impl Default for LinkEncap {
    fn default() -> Self {
        LinkEncap::Ethernet(VlanTags::None)
    }
}

impl LinkEncap {
    /// The LINKTYPE_ value written in the capture's header for this encapsulation.
    pub const fn link_type(self) -> LinkType {
        match self {
            LinkEncap::Ethernet(_) => LinkType::ETHERNET,
            LinkEncap::LinuxSll => LinkType::LINUX_SLL,
            LinkEncap::LinuxSll2 => LinkType::LINUX_SLL2,
            LinkEncap::Null => LinkType::NULL,
            LinkEncap::Loop => LinkType::LOOP,
            LinkEncap::Raw => LinkType::RAW,
        }
    }

    /// Writes the link header for an IP packet of the given version from `src` to `dst`.
    fn write_header(self, out: &mut Vec<u8>, ipv6: bool, src: IpAddr, dst: IpAddr) {
        let ethertype = if ipv6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
        match self {
            LinkEncap::Ethernet(tags) => {
                out.extend_from_slice(&mac_of(dst));
                out.extend_from_slice(&mac_of(src));
                match tags {
                    VlanTags::None => {}
                    VlanTags::Single(id) => {
                        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                        out.extend_from_slice(&(id & 0x0fff).to_be_bytes());
                    }
                    VlanTags::QinQ { outer, inner } => {
                        out.extend_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
                        out.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
                        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                        out.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
                    }
                }
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkEncap::LinuxSll => {
                out.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend_from_slice(&6u16.to_be_bytes()); // address length
                out.extend_from_slice(&mac_of(src));
                out.extend_from_slice(&[0, 0]); // address padded to 8 bytes
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkEncap::LinuxSll2 => {
                out.extend_from_slice(&ethertype.to_be_bytes());
                out.extend_from_slice(&0u16.to_be_bytes()); // reserved
                out.extend_from_slice(&1u32.to_be_bytes()); // interface index
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.push(0); // packet type: to us
                out.push(6); // address length
                out.extend_from_slice(&mac_of(src));
                out.extend_from_slice(&[0, 0]);
            }
            LinkEncap::Null => {
                let af = if ipv6 { BSD_AF_INET6 } else { BSD_AF_INET };
                out.extend_from_slice(&af.to_le_bytes());
            }
            LinkEncap::Loop => {
                let af = if ipv6 { BSD_AF_INET6 } else { BSD_AF_INET };
                out.extend_from_slice(&af.to_be_bytes());
            }
            LinkEncap::Raw => {}
        }
    }
}

/// A locally administered MAC address derived from an IP address (stable, distinct per host).
fn mac_of(ip: IpAddr) -> [u8; 6] {
    let tail = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]
}

/// Maps an IPv4 address into the IPv6 documentation prefix (`2001:db8::a.b.c.d`); IPv6
/// addresses are returned unchanged. Used to render an IPv4 scenario over IPv6.
pub fn to_ipv6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V6(v6) => v6,
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Ipv6Addr::new(
                0x2001,
                0x0db8,
                0,
                0,
                0,
                0,
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, d]),
            )
        }
    }
}

/// The header fields of one TCP segment (the payload is passed separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// Acknowledgement number (meaningful when the ACK flag is set).
    pub ack: u32,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// MSS option to announce (written only on segments with SYN).
    pub mss_option: Option<u16>,
}

/// RFC 1071 one's-complement sum of `data` added to `initial` (not yet folded or inverted).
fn sum_words(initial: u32, data: &[u8]) -> u32 {
    let mut sum = u64::from(initial);
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(u16::from_be_bytes([*last, 0]));
    }
    while sum > 0xffff_ffff {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

/// Folds a 32-bit one's-complement sum to 16 bits and inverts it: the Internet checksum.
fn fold_checksum(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold_checksum(sum_words(0, data))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// Appends a complete IP datagram (IPv4 or IPv6 header, TCP header, payload) to `out`.
///
/// The IP version follows the addresses: two IPv4 addresses give IPv4, otherwise IPv4
/// addresses are mapped with [`to_ipv6`]. `ip_id` is the IPv4 identification (low 16 bits used).
/// Fails when the datagram would not fit the IP length field.
pub fn write_ip_tcp(
    out: &mut Vec<u8>,
    header: &TcpHeader,
    payload: &[u8],
    ip_id: u16,
) -> io::Result<()> {
    let options_len = if header.flags.syn() && header.mss_option.is_some() {
        4
    } else {
        0
    };
    let tcp_len = TCP_HEADER_LEN + options_len + payload.len();
    let tcp_start;
    let pseudo_sum;
    match (header.src.ip(), header.dst.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = u16::try_from(IPV4_HEADER_LEN + tcp_len)
                .map_err(|_| invalid("TCP segment too large for IPv4"))?;
            let ip_start = out.len();
            out.push(0x45);
            out.push(0);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&ip_id.to_be_bytes());
            out.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
            out.push(64);
            out.push(PROTO_TCP);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
            let checksum = internet_checksum(out.get(ip_start..).unwrap_or_default());
            if let Some(slot) = out.get_mut(ip_start + 10..ip_start + 12) {
                slot.copy_from_slice(&checksum.to_be_bytes());
            }
            let mut pseudo = [0u8; 12];
            pseudo[..4].copy_from_slice(&src.octets());
            pseudo[4..8].copy_from_slice(&dst.octets());
            pseudo[9] = PROTO_TCP;
            pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
            pseudo_sum = sum_words(0, &pseudo);
            tcp_start = out.len();
        }
        (src, dst) => {
            let (src, dst) = (to_ipv6(src), to_ipv6(dst));
            let payload_len = u16::try_from(tcp_len)
                .map_err(|_| invalid("TCP segment too large for IPv6 without jumbograms"))?;
            out.extend_from_slice(&0x6000_0000u32.to_be_bytes());
            out.extend_from_slice(&payload_len.to_be_bytes());
            out.push(PROTO_TCP);
            out.push(64);
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
            let mut pseudo = [0u8; 40];
            pseudo[..16].copy_from_slice(&src.octets());
            pseudo[16..32].copy_from_slice(&dst.octets());
            pseudo[32..36].copy_from_slice(&(tcp_len as u32).to_be_bytes());
            pseudo[39] = PROTO_TCP;
            pseudo_sum = sum_words(0, &pseudo);
            tcp_start = out.len();
        }
    }
    out.extend_from_slice(&header.src.port().to_be_bytes());
    out.extend_from_slice(&header.dst.port().to_be_bytes());
    out.extend_from_slice(&header.seq.to_be_bytes());
    out.extend_from_slice(&header.ack.to_be_bytes());
    let data_offset_words = ((TCP_HEADER_LEN + options_len) / 4) as u8;
    out.push(data_offset_words << 4);
    out.push(header.flags.0);
    out.extend_from_slice(&header.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if options_len > 0
        && let Some(mss) = header.mss_option
    {
        out.extend_from_slice(&[2, 4]);
        out.extend_from_slice(&mss.to_be_bytes());
    }
    out.extend_from_slice(payload);
    let checksum = fold_checksum(sum_words(
        pseudo_sum,
        out.get(tcp_start..).unwrap_or_default(),
    ));
    if let Some(slot) = out.get_mut(tcp_start + 16..tcp_start + 18) {
        slot.copy_from_slice(&checksum.to_be_bytes());
    }
    Ok(())
}

/// Cuts one IP datagram (as built by [`write_ip_tcp`], no IPv6 extension headers) into
/// fragments carrying at most `max_fragment_payload` bytes of IP payload each (rounded down to a
/// multiple of 8, at least 8), and calls `emit` with each fragment in turn (reversed order when
/// `reversed`). IPv4 fragments use the MF flag and offset; IPv6 fragments carry a Fragment
/// extension header with identification `id`. `scratch` is reused for each fragment. A datagram
/// that already fits is emitted unchanged.
pub fn for_each_fragment(
    datagram: &[u8],
    max_fragment_payload: usize,
    id: u32,
    reversed: bool,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let unit = (max_fragment_payload / 8).max(1) * 8;
    let version = datagram.first().map(|b| b >> 4);
    let (header_len, is_v6) = match version {
        Some(4) => (
            usize::from(datagram.first().copied().unwrap_or(0x45) & 0x0f) * 4,
            false,
        ),
        Some(6) => (IPV6_HEADER_LEN, true),
        _ => return Err(invalid("not an IPv4 or IPv6 datagram")),
    };
    let (header, body) = datagram
        .split_at_checked(header_len)
        .ok_or_else(|| invalid("datagram shorter than its IP header"))?;
    if body.len() <= unit {
        return emit(datagram);
    }
    let count = body.len().div_ceil(unit);
    for k in 0..count {
        let index = if reversed { count - 1 - k } else { k };
        let offset = index * unit;
        let piece = body
            .get(offset..(offset + unit).min(body.len()))
            .unwrap_or_default();
        let more = index + 1 < count;
        let offset_field = u16::try_from(offset / 8)
            .ok()
            .filter(|v| *v < 0x2000)
            .ok_or_else(|| invalid("fragment offset too large"))?;
        scratch.clear();
        scratch.extend_from_slice(header);
        if is_v6 {
            let payload_len = (8 + piece.len()) as u16;
            let next_header = header.get(6).copied().unwrap_or(PROTO_TCP);
            if let Some(slot) = scratch.get_mut(4..6) {
                slot.copy_from_slice(&payload_len.to_be_bytes());
            }
            if let Some(slot) = scratch.get_mut(6) {
                *slot = IPV6_FRAGMENT_HEADER;
            }
            scratch.push(next_header);
            scratch.push(0);
            let field = (offset_field << 3) | u16::from(more);
            scratch.extend_from_slice(&field.to_be_bytes());
            scratch.extend_from_slice(&id.to_be_bytes());
        } else {
            let total = (header_len + piece.len()) as u16;
            if let Some(slot) = scratch.get_mut(2..4) {
                slot.copy_from_slice(&total.to_be_bytes());
            }
            let flags = if more { 0x2000 } else { 0 };
            if let Some(slot) = scratch.get_mut(6..8) {
                slot.copy_from_slice(&(flags | offset_field).to_be_bytes());
            }
            if let Some(slot) = scratch.get_mut(10..12) {
                slot.copy_from_slice(&[0, 0]);
            }
            let checksum = internet_checksum(scratch.get(..header_len).unwrap_or_default());
            if let Some(slot) = scratch.get_mut(10..12) {
                slot.copy_from_slice(&checksum.to_be_bytes());
            }
        }
        scratch.extend_from_slice(piece);
        emit(scratch)?;
    }
    Ok(())
}

/// Builds captured frames from TCP segments for one link encapsulation, with optional IP
/// fragmentation. Buffers are kept between calls.
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    link: LinkEncap,
    fragment_payload: Option<usize>,
    fragments_reversed: bool,
    datagram: Vec<u8>,
    fragment: Vec<u8>,
    frame: Vec<u8>,
}

impl FrameEncoder {
    /// An encoder for `link`; `fragment_payload` = `Some(n)` cuts datagrams whose IP payload
    /// exceeds `n` bytes into fragments, emitted in reverse order when `fragments_reversed`.
    pub fn new(link: LinkEncap, fragment_payload: Option<usize>, fragments_reversed: bool) -> Self {
        FrameEncoder {
            link,
            fragment_payload,
            fragments_reversed,
            datagram: Vec::with_capacity(2048),
            fragment: Vec::with_capacity(2048),
            frame: Vec::with_capacity(2048),
        }
    }

    /// The link encapsulation of the frames this encoder builds.
    pub fn link(&self) -> LinkEncap {
        self.link
    }

    /// Builds the frame(s) of one segment and hands each to `emit` (several when fragmented).
    /// `ip_id` is the IPv4 identification / IPv6 fragment identification.
    pub fn encode(
        &mut self,
        header: &TcpHeader,
        payload: &[u8],
        ip_id: u32,
        mut emit: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let ipv6 = !(header.src.is_ipv4() && header.dst.is_ipv4());
        self.datagram.clear();
        write_ip_tcp(&mut self.datagram, header, payload, ip_id as u16)?;
        let link = self.link;
        let (src, dst) = (header.src.ip(), header.dst.ip());
        let frame = &mut self.frame;
        let mut wrap = |ip: &[u8]| {
            frame.clear();
            link.write_header(frame, ipv6, src, dst);
            frame.extend_from_slice(ip);
            emit(frame)
        };
        match self.fragment_payload {
            Some(max) => for_each_fragment(
                &self.datagram,
                max,
                ip_id,
                self.fragments_reversed,
                &mut self.fragment,
                wrap,
            ),
            None => wrap(&self.datagram),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn header(src: &str, dst: &str) -> TcpHeader {
        TcpHeader {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: 0xffff_fff0,
            ack: 77,
            flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
            window: 64240,
            mss_option: None,
        }
    }

    #[test]
    fn internet_checksum_of_known_ipv4_header() {
        // A classic example header whose checksum field holds 0xb861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&hdr), 0xb861);
        hdr[10] = 0xb8;
        hdr[11] = 0x61;
        assert_eq!(internet_checksum(&hdr), 0, "a correct header sums to zero");
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    fn assert_tcp_checksum_valid(frame: &[u8], payload: &[u8]) {
        let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse reads our frame");
        let Some(TransportSlice::Tcp(tcp)) = sliced.transport else {
            panic!("no TCP")
        };
        assert_eq!(tcp.payload(), payload);
        let expected = match sliced.net {
            Some(NetSlice::Ipv4(ip)) => {
                assert_eq!(internet_checksum(ip.header().slice()), 0);
                tcp.calc_checksum_ipv4(ip.header().source(), ip.header().destination())
                    .unwrap()
            }
            Some(NetSlice::Ipv6(ip)) => tcp
                .calc_checksum_ipv6(ip.header().source(), ip.header().destination())
                .unwrap(),
            _ => panic!("no IP"),
        };
        assert_eq!(tcp.checksum(), expected);
    }

    #[test]
    fn ipv4_and_ipv6_segments_carry_valid_checksums() {
        let mut enc = FrameEncoder::new(LinkEncap::default(), None, false);
        for (src, dst) in [
            ("10.0.0.1:40000", "10.0.0.2:7547"),
            ("[2001:db8::1]:40000", "[2001:db8::2]:7547"),
        ] {
            for payload in [&b""[..], b"odd", b"POST /acs HTTP/1.1\r\n\r\n"] {
                let mut frames = Vec::new();
                enc.encode(&header(src, dst), payload, 9, |f| {
                    frames.push(f.to_vec());
                    Ok(())
                })
                .unwrap();
                assert_eq!(frames.len(), 1);
                assert_tcp_checksum_valid(&frames[0], payload);
            }
        }
    }

    #[test]
    fn syn_carries_mss_option() {
        let mut h = header("10.0.0.1:1", "10.0.0.2:2");
        h.flags = TcpFlags(TcpFlags::SYN);
        h.mss_option = Some(1460);
        let mut out = Vec::new();
        write_ip_tcp(&mut out, &h, &[], 1).unwrap();
        assert_eq!(out.len(), 20 + 24);
        assert_eq!(out[20 + 12] >> 4, 6);
        assert_eq!(&out[40..44], &[2, 4, 0x05, 0xb4]);
    }

    #[test]
    fn vlan_and_qinq_tags_are_written_in_order() {
        let h = header("10.0.0.1:1", "10.0.0.2:2");
        let mut frame = Vec::new();
        let mut enc = FrameEncoder::new(
            LinkEncap::Ethernet(VlanTags::QinQ {
                outer: 100,
                inner: 200,
            }),
            None,
            false,
        );
        enc.encode(&h, b"x", 1, |f| {
            frame = f.to_vec();
            Ok(())
        })
        .unwrap();
        assert_eq!(
            &frame[12..22],
            &[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200, 0x08, 0x00]
        );
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        assert!(matches!(sliced.transport, Some(TransportSlice::Tcp(_))));
    }

    #[test]
    fn link_headers_have_expected_lengths_and_protocol_fields() {
        let h = header("[2001:db8::1]:1", "[2001:db8::2]:2");
        for (link, len) in [
            (LinkEncap::LinuxSll, 16),
            (LinkEncap::LinuxSll2, 20),
            (LinkEncap::Null, 4),
            (LinkEncap::Loop, 4),
            (LinkEncap::Raw, 0),
        ] {
            let mut frame = Vec::new();
            FrameEncoder::new(link, None, false)
                .encode(&h, b"abc", 1, |f| {
                    frame = f.to_vec();
                    Ok(())
                })
                .unwrap();
            assert_eq!(
                frame[len] >> 4,
                6,
                "{link:?}: IP header follows the link header"
            );
            match link {
                LinkEncap::LinuxSll => assert_eq!(&frame[14..16], &[0x86, 0xdd]),
                LinkEncap::LinuxSll2 => assert_eq!(&frame[0..2], &[0x86, 0xdd]),
                LinkEncap::Null => assert_eq!(&frame[0..4], &[24, 0, 0, 0]),
                LinkEncap::Loop => assert_eq!(&frame[0..4], &[0, 0, 0, 24]),
                _ => {}
            }
        }
    }

    /// Reassembles fragments (any order) back into the original datagram, checking offsets.
    fn reassemble(fragments: &[Vec<u8>]) -> Vec<u8> {
        let mut pieces: Vec<(usize, bool, Vec<u8>, Vec<u8>)> = fragments
            .iter()
            .map(|f| {
                if f[0] >> 4 == 4 {
                    assert_eq!(internet_checksum(&f[..20]), 0, "fragment header checksum");
                    let field = u16::from_be_bytes([f[6], f[7]]);
                    let total = usize::from(u16::from_be_bytes([f[2], f[3]]));
                    assert_eq!(total, f.len());
                    let off = usize::from(field & 0x1fff) * 8;
                    (off, field & 0x2000 != 0, f[..20].to_vec(), f[20..].to_vec())
                } else {
                    assert_eq!(f[6], 44);
                    let field = u16::from_be_bytes([f[42], f[43]]);
                    let off = usize::from(field >> 3) * 8;
                    let mut hdr = f[..40].to_vec();
                    hdr[6] = f[40];
                    (off, field & 1 != 0, hdr, f[48..].to_vec())
                }
            })
            .collect();
        pieces.sort_by_key(|p| p.0);
        let mut body = Vec::new();
        for (i, (off, more, _, data)) in pieces.iter().enumerate() {
            assert_eq!(*off, body.len(), "fragments are contiguous");
            assert_eq!(*more, i + 1 < pieces.len(), "MF only on all but the last");
            body.extend_from_slice(data);
        }
        let mut hdr = pieces[0].2.clone();
        if hdr[0] >> 4 == 4 {
            let total = (20 + body.len()) as u16;
            hdr[2..4].copy_from_slice(&total.to_be_bytes());
            hdr[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
            hdr[10..12].copy_from_slice(&[0, 0]);
            let c = internet_checksum(&hdr);
            hdr[10..12].copy_from_slice(&c.to_be_bytes());
        } else {
            hdr[4..6].copy_from_slice(&(body.len() as u16).to_be_bytes());
        }
        hdr.extend_from_slice(&body);
        hdr
    }

    #[test]
    fn fragments_reassemble_to_the_datagram_in_any_order() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for (src, dst) in [
            ("10.0.0.1:40000", "10.0.0.2:80"),
            ("[2001:db8::1]:40000", "[2001:db8::2]:80"),
        ] {
            let mut datagram = Vec::new();
            write_ip_tcp(&mut datagram, &header(src, dst), &payload, 5).unwrap();
            for (max, reversed) in [(1000, false), (1000, true), (13, false), (8, true)] {
                let mut frags = Vec::new();
                let mut scratch = Vec::new();
                for_each_fragment(&datagram, max, 0xabcd, reversed, &mut scratch, |f| {
                    frags.push(f.to_vec());
                    Ok(())
                })
                .unwrap();
                let unit = (max / 8).max(1) * 8;
                let header_len = if src.starts_with('[') { 40 } else { 20 };
                assert_eq!(frags.len(), (datagram.len() - header_len).div_ceil(unit));
                if reversed {
                    assert!(frags.len() > 1);
                }
                assert_eq!(
                    reassemble(&frags),
                    datagram,
                    "{src} max={max} rev={reversed}"
                );
            }
        }
    }

    #[test]
    fn small_datagram_is_not_fragmented() {
        let mut datagram = Vec::new();
        write_ip_tcp(&mut datagram, &header("10.0.0.1:1", "10.0.0.2:2"), b"hi", 1).unwrap();
        let mut count = 0;
        for_each_fragment(&datagram, 1400, 1, false, &mut Vec::new(), |f| {
            assert_eq!(f, &datagram[..]);
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 1);
        assert!(for_each_fragment(&[0x10], 8, 1, false, &mut Vec::new(), |_| Ok(())).is_err());
    }

    #[test]
    fn oversized_segment_is_an_error_not_a_panic() {
        let big = vec![0u8; 70_000];
        let mut out = Vec::new();
        assert!(write_ip_tcp(&mut out, &header("10.0.0.1:1", "10.0.0.2:2"), &big, 1).is_err());
    }
}
