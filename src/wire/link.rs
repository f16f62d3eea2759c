//! Link layers: find the network-layer bytes of a frame.
//!
//! Ethernet (with any mix of up to eight 802.1Q / 802.1ad / 0x9100 tags, PPPoE sessions and MPLS
//! label stacks under them, and Ethernet pseudowires inside MPLS), PPP (bare, HDLC-like or
//! Cisco HDLC framing, PPPoE without Ethernet), Linux cooked capture v1 and v2, BSD NULL and
//! OpenBSD LOOP, and raw IP. These headers are a few fixed fields, so they are read directly
//! rather than through a general packet slicer. Every layer passed is noted in the [`Walk`];
//! what is not IP is named by a [`NonIpKind`].

use super::kinds::{Encapsulation, NonIpKind};
use super::walk::Walk;
use crate::types::LinkType;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// Below this, the Ethernet type field is an IEEE 802.3 length (an LLC frame follows).
const ETHERTYPE_MIN: u16 = 0x0600;
/// PPPoE discovery stage (RFC 2516): PADI, PADO, PADR, PADS, PADT.
const ETHERTYPE_PPPOE_DISCOVERY: u16 = 0x8863;
/// PPPoE session stage (RFC 2516): a 6-byte header, then a PPP protocol and its packet.
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const PPPOE_HEADER_LEN: usize = 6;
/// PPP protocol numbers of IPv4 and IPv6.
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
/// HDLC address and control bytes before a PPP protocol (RFC 1662).
const PPP_ADDRESS_CONTROL: [u8; 2] = [0xFF, 0x03];
/// Cisco HDLC addresses (unicast, multicast) before a control byte and an Ethernet type.
const CISCO_HDLC_ADDRESSES: [u8; 2] = [0x0F, 0x8F];
/// MPLS unicast and multicast (RFC 3032): 4-byte label stack entries, the last with the
/// bottom-of-stack bit.
pub(crate) const ETHERTYPE_MPLS: u16 = 0x8847;
pub(crate) const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const MPLS_ENTRY_LEN: usize = 4;
/// More labels than this and the frame is not treated as IP.
const MAX_MPLS_LABELS: usize = 16;
/// The Ethernet pseudowire control word (RFC 4448) before the carried frame.
const PW_CONTROL_WORD_LEN: usize = 4;
const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
const NULL_HEADER_LEN: usize = 4;
/// More stacked tags than this and the frame is not treated as IP.
const MAX_VLAN_TAGS: usize = 8;
/// BSD address-family values for IPv4 and (on the various BSDs) IPv6.
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// What lies under the link header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// Raw IP: the version nibble tells.
    AnyIp(&'a [u8]),
    NonIp(NonIpKind),
    Truncated,
}

pub(crate) fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Strips the link header of a frame.
pub(crate) fn network_layer<'a>(link: LinkType, data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    match link.0 {
        1 => ethernet(data, walk),
        113 => match (be16(data, 14), data.get(SLL_HEADER_LEN..)) {
            (Some(protocol), Some(rest)) => by_ether_type(protocol, rest, walk),
            _ => Network::Truncated,
        },
        276 => match (be16(data, 0), data.get(SLL2_HEADER_LEN..)) {
            (Some(protocol), Some(rest)) => by_ether_type(protocol, rest, walk),
            _ => Network::Truncated,
        },
        0 | 108 => {
            let (Some(family), Some(rest)) =
                (data.get(..NULL_HEADER_LEN), data.get(NULL_HEADER_LEN..))
            else {
                return Network::Truncated;
            };
            let family: [u8; 4] = family.try_into().unwrap_or_default();
            let big = u32::from_be_bytes(family);
            // NULL is in the capturing host's byte order, which the file does not record.
            let little = if link.0 == 0 {
                u32::from_le_bytes(family)
            } else {
                big
            };
            if big == AF_INET || little == AF_INET {
                Network::Ipv4(rest)
            } else if AF_INET6.contains(&big) || AF_INET6.contains(&little) {
                Network::Ipv6(rest)
            } else {
                Network::NonIp(NonIpKind::AddressFamily(little.min(big)))
            }
        }
        9 => ppp_frame(data, walk),
        50 => match data {
            [address, 0x00, ..] if CISCO_HDLC_ADDRESSES.contains(address) => {
                match (be16(data, 2), data.get(4..)) {
                    (Some(ether_type), Some(rest)) => by_ether_type(ether_type, rest, walk),
                    _ => Network::Truncated,
                }
            }
            _ => ppp_frame(data, walk),
        },
        51 => pppoe_session(data, walk),
        12 | 14 | 101 => Network::AnyIp(data),
        228 => Network::Ipv4(data),
        229 => Network::Ipv6(data),
        other => Network::NonIp(NonIpKind::LinkType(other)),
    }
}

/// An Ethernet frame (also one carried inside a tunnel or a pseudowire).
pub(crate) fn ethernet<'a>(data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    match (be16(data, 12), data.get(ETHERNET_HEADER_LEN..)) {
        (Some(ether_type), Some(rest)) => by_ether_type(ether_type, rest, walk),
        _ => Network::Truncated,
    }
}

/// An MPLS label stack, then what its first nibble says: IPv4 (4), IPv6 (6), or an Ethernet
/// pseudowire's control word (0) and the carried frame (one more level of nesting).
pub(crate) fn mpls<'a>(data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    walk.note(Encapsulation::Mpls);
    let mut rest = data;
    for _ in 0..MAX_MPLS_LABELS {
        let (Some(entry), Some(after)) = (rest.get(..MPLS_ENTRY_LEN), rest.get(MPLS_ENTRY_LEN..))
        else {
            return Network::Truncated;
        };
        rest = after;
        if entry[2] & 0x01 == 0 {
            continue;
        }
        return match rest.first().map(|b| b >> 4) {
            Some(4) => Network::Ipv4(rest),
            Some(6) => Network::Ipv6(rest),
            Some(0) => {
                if !walk.enter() {
                    return Network::NonIp(NonIpKind::TooDeep);
                }
                walk.note(Encapsulation::Pseudowire);
                match rest.get(PW_CONTROL_WORD_LEN..) {
                    Some(frame) => ethernet(frame, walk),
                    None => Network::Truncated,
                }
            }
            None => Network::Truncated,
            _ => Network::NonIp(NonIpKind::MplsNonIp),
        };
    }
    Network::NonIp(NonIpKind::TooDeep)
}

/// Follows VLAN tags, then PPPoE and MPLS, down to IPv4 or IPv6.
fn by_ether_type<'a>(mut ether_type: u16, mut rest: &'a [u8], walk: &mut Walk) -> Network<'a> {
    let mut tags = 0;
    while matches!(
        ether_type,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        if tags == MAX_VLAN_TAGS {
            walk.note_tags(tags);
            return Network::NonIp(NonIpKind::TooDeep);
        }
        let (Some(inner), Some(after)) = (be16(rest, 2), rest.get(VLAN_TAG_LEN..)) else {
            walk.note_tags(tags + 1);
            return Network::Truncated;
        };
        ether_type = inner;
        rest = after;
        tags += 1;
    }
    walk.note_tags(tags);
    match ether_type {
        ETHERTYPE_IPV4 => Network::Ipv4(rest),
        ETHERTYPE_IPV6 => Network::Ipv6(rest),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => mpls(rest, walk),
        ETHERTYPE_PPPOE_SESSION => pppoe_session(rest, walk),
        ETHERTYPE_PPPOE_DISCOVERY => Network::NonIp(NonIpKind::PppoeDiscovery),
        t if t < ETHERTYPE_MIN => Network::NonIp(NonIpKind::Llc),
        t => Network::NonIp(NonIpKind::EtherType(t)),
    }
}

/// A PPP frame: the HDLC address and control bytes if present, then the protocol (one byte when
/// compressed: an odd first byte), then the packet.
fn ppp_frame<'a>(data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    walk.note(Encapsulation::Ppp);
    let data = data.strip_prefix(&PPP_ADDRESS_CONTROL[..]).unwrap_or(data);
    match data {
        [] => Network::Truncated,
        [first, rest @ ..] if first & 1 == 1 => ppp_payload(u16::from(*first), rest),
        _ => match (be16(data, 0), data.get(2..)) {
            (Some(protocol), Some(rest)) => ppp_payload(protocol, rest),
            _ => Network::Truncated,
        },
    }
}

/// A PPPoE session header, then PPP (bounded by the header's length: Ethernet pads short frames).
fn pppoe_session<'a>(data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    let (Some(length), Some(rest)) = (be16(data, 4), data.get(PPPOE_HEADER_LEN..)) else {
        return Network::Truncated;
    };
    // Version 1, type 1, code 0 (session data); discovery and other codes carry no IP.
    if data[0] != 0x11 || data[1] != 0x00 {
        return Network::NonIp(NonIpKind::PppoeNonSession);
    }
    walk.note(Encapsulation::Pppoe);
    let rest = rest.get(..usize::from(length)).unwrap_or(rest);
    match (be16(rest, 0), rest.get(2..)) {
        (Some(protocol), Some(packet)) => ppp_payload(protocol, packet),
        _ => Network::Truncated,
    }
}

/// The packet of a PPP protocol: IPv4 and IPv6; control protocols (LCP, IPCP, …) carry none.
fn ppp_payload(protocol: u16, packet: &[u8]) -> Network<'_> {
    match protocol {
        PPP_IPV4 => Network::Ipv4(packet),
        PPP_IPV6 => Network::Ipv6(packet),
        other => Network::NonIp(NonIpKind::PppProtocol(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::kinds::EncapSet;

    /// The network layer of a frame, through a fresh walk.
    fn net(link: LinkType, data: &[u8]) -> Network<'_> {
        net_and_layers(link, data).0
    }

    /// The network layer of a frame and the encapsulations passed on the way.
    fn net_and_layers(link: LinkType, data: &[u8]) -> (Network<'_>, EncapSet) {
        let mut walk = Walk::new();
        let network = network_layer(link, data, &mut walk);
        (network, walk.encapsulations())
    }

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    fn with_prefix(prefix: &[u8]) -> Vec<u8> {
        let mut v = prefix.to_vec();
        v.extend_from_slice(&IP);
        v
    }

    #[test]
    fn ethernet_plain_vlan_and_qinq() {
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        let f = with_prefix(&eth);
        assert_eq!(net(LinkType::ETHERNET, &f), Network::Ipv4(&IP));

        let mut qinq = vec![0u8; 12];
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd]);
        let f = with_prefix(&qinq);
        assert_eq!(net(LinkType::ETHERNET, &f), Network::Ipv6(&IP));

        let mut old = vec![0u8; 12];
        old.extend_from_slice(&[0x91, 0x00, 0x00, 0x01, 0x08, 0x00]);
        let f = with_prefix(&old);
        assert_eq!(net(LinkType::ETHERNET, &f), Network::Ipv4(&IP));

        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(
            net(LinkType::ETHERNET, &with_prefix(&arp)),
            Network::NonIp(NonIpKind::EtherType(0x0806))
        );

        assert_eq!(net(LinkType::ETHERNET, &[0u8; 13]), Network::Truncated);
        // A tag cut in the middle.
        let mut cut = vec![0u8; 12];
        cut.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert_eq!(net(LinkType::ETHERNET, &cut), Network::Truncated);
        // Endless tags are not followed forever.
        let mut many = vec![0u8; 12];
        for _ in 0..20 {
            many.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        many.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(
            net(LinkType::ETHERNET, &many),
            Network::NonIp(NonIpKind::TooDeep)
        );
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll.extend_from_slice(&[0x08, 0x00]);
        assert_eq!(
            net(LinkType::LINUX_SLL, &with_prefix(&sll)),
            Network::Ipv4(&IP)
        );
        assert_eq!(net(LinkType::LINUX_SLL, &sll[..15]), Network::Truncated);

        let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
        sll2.extend_from_slice(&[0u8; 8]);
        assert_eq!(
            net(LinkType::LINUX_SLL2, &with_prefix(&sll2)),
            Network::Ipv6(&IP)
        );
        assert_eq!(net(LinkType::LINUX_SLL2, &sll2[..19]), Network::Truncated);
    }

    #[test]
    fn null_in_either_byte_order_and_loop_in_network_order() {
        let v4_le = with_prefix(&[2, 0, 0, 0]);
        let v4_be = with_prefix(&[0, 0, 0, 2]);
        assert_eq!(net(LinkType::NULL, &v4_le), Network::Ipv4(&IP));
        assert_eq!(net(LinkType::NULL, &v4_be), Network::Ipv4(&IP));
        for af in [24u8, 28, 30] {
            let v6 = with_prefix(&[af, 0, 0, 0]);
            assert_eq!(net(LinkType::NULL, &v6), Network::Ipv6(&IP));
        }
        assert_eq!(net(LinkType::LOOP, &v4_be), Network::Ipv4(&IP));
        assert_eq!(
            net(LinkType::LOOP, &v4_le),
            Network::NonIp(NonIpKind::AddressFamily(0x0200_0000))
        );
        assert_eq!(
            net(LinkType::LOOP, &with_prefix(&[0, 0, 0, 30])),
            Network::Ipv6(&IP)
        );
        assert_eq!(
            net(LinkType::NULL, &with_prefix(&[7, 0, 0, 0])),
            Network::NonIp(NonIpKind::AddressFamily(7))
        );
        assert_eq!(net(LinkType::NULL, &[2, 0, 0]), Network::Truncated);
    }

    #[test]
    fn raw_ip_link_types() {
        for link in [12, 14, 101] {
            assert_eq!(net(LinkType(link), &IP), Network::AnyIp(&IP));
        }
        assert_eq!(net(LinkType::IPV4, &IP), Network::Ipv4(&IP));
        assert_eq!(net(LinkType::IPV6, &IP), Network::Ipv6(&IP));
        assert!(LinkType::LINUX_SLL2.is_decodable());
        assert!(!LinkType(105).is_decodable());
    }

    /// `LinkType::DECODABLE` (what the readers accept) and `network_layer` (what is stripped)
    /// name the same link types: each decodable one gets past the link layer, others do not.
    #[test]
    fn decodable_link_types_are_the_ones_stripped() {
        for link in LinkType::DECODABLE {
            assert!(!matches!(net(link, &[]), Network::NonIp(_)), "{link:?}");
        }
        for link in [2, 100, 105, 127, 230, 275] {
            assert!(!LinkType(link).is_decodable());
            assert_eq!(
                net(LinkType(link), &[]),
                Network::NonIp(NonIpKind::LinkType(link))
            );
        }
    }

    #[test]
    fn pppoe_sessions_bare_under_vlan_and_qinq() {
        // PPPoE session header: ver/type 0x11, code 0, session 0x0001, length (PPP protocol +
        // packet), then PPP protocol.
        let pppoe = |protocol: [u8; 2], len: u16| {
            let mut h = vec![0x11, 0x00, 0x00, 0x01];
            h.extend(len.to_be_bytes());
            h.extend(protocol);
            h
        };
        let len = (IP.len() + 2) as u16;
        let mut f = vec![0u8; 12];
        f.extend([0x88, 0x64]);
        f.extend(pppoe([0x00, 0x21], len));
        f.extend(IP);
        assert_eq!(net(LinkType::ETHERNET, &f), Network::Ipv4(&IP));
        // Padding after the packet is cut off by the PPPoE length.
        let mut padded = f.clone();
        padded.extend([0u8; 10]);
        assert_eq!(net(LinkType::ETHERNET, &padded), Network::Ipv4(&IP));
        // Under QinQ then 802.1Q, IPv6.
        let mut q = vec![0u8; 12];
        q.extend([0x88, 0xA8, 0, 10, 0x81, 0x00, 0, 20, 0x88, 0x64]);
        q.extend(pppoe([0x00, 0x57], len));
        q.extend(IP);
        assert_eq!(net(LinkType::ETHERNET, &q), Network::Ipv6(&IP));
        // LCP (0xC021) and discovery (code 0x09, PADI) carry no IP.
        let mut lcp = vec![0u8; 12];
        lcp.extend([0x88, 0x64]);
        lcp.extend(pppoe([0xC0, 0x21], 6));
        lcp.extend([1, 1, 0, 4]);
        assert_eq!(
            net(LinkType::ETHERNET, &lcp),
            Network::NonIp(NonIpKind::PppProtocol(0xC021))
        );
        let mut padi = vec![0u8; 12];
        padi.extend([0x88, 0x64, 0x11, 0x09, 0, 0, 0, 0]);
        assert_eq!(
            net(LinkType::ETHERNET, &padi),
            Network::NonIp(NonIpKind::PppoeNonSession)
        );
        assert_eq!(net(LinkType::ETHERNET, &f[..16]), Network::Truncated);
        // Without Ethernet (DLT_PPP_ETHER).
        assert_eq!(net(LinkType::PPP_ETHER, &f[14..]), Network::Ipv4(&IP));
    }

    #[test]
    fn ppp_framings() {
        let with = |prefix: &[u8]| [prefix, &IP[..]].concat();
        // Bare protocol, compressed protocol, HDLC address and control.
        assert_eq!(net(LinkType::PPP, &with(&[0x00, 0x21])), Network::Ipv4(&IP));
        assert_eq!(net(LinkType::PPP, &with(&[0x21])), Network::Ipv4(&IP));
        assert_eq!(
            net(LinkType::PPP, &with(&[0xFF, 0x03, 0x00, 0x57])),
            Network::Ipv6(&IP)
        );
        assert_eq!(
            net(LinkType::PPP_SERIAL, &with(&[0xFF, 0x03, 0x00, 0x21])),
            Network::Ipv4(&IP)
        );
        // Cisco HDLC: address, control 0, Ethernet type.
        assert_eq!(
            net(LinkType::PPP_SERIAL, &with(&[0x0F, 0x00, 0x86, 0xDD])),
            Network::Ipv6(&IP)
        );
        // IPCP (0x8021) carries no IP; nothing at all is truncated.
        assert_eq!(
            net(LinkType::PPP, &with(&[0x80, 0x21])),
            Network::NonIp(NonIpKind::PppProtocol(0x8021))
        );
        assert_eq!(net(LinkType::PPP, &[0xFF, 0x03]), Network::Truncated);
    }

    #[test]
    fn mpls_stacks_and_ethernet_pseudowires() {
        // Two labels, the second with bottom-of-stack, then IPv4 (IP starts with 0x45).
        let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
        let mut f = vec![0u8; 12];
        f.extend([0x88, 0x47]);
        f.extend(labels);
        f.extend(IP);
        assert_eq!(net(LinkType::ETHERNET, &f), Network::Ipv4(&IP));
        // An Ethernet pseudowire: bottom label, control word, the carried frame with a VLAN tag.
        let mut inner = vec![0u8; 12];
        inner.extend([0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
        inner.extend(IP);
        let mut pw = vec![0u8; 12];
        pw.extend([0x88, 0x47, 0x00, 0x03, 0x01, 0x40, 0, 0, 0, 0]);
        pw.extend(&inner);
        assert_eq!(net(LinkType::ETHERNET, &pw), Network::Ipv4(&IP));
        // A label stack without bottom-of-stack, or cut in the middle.
        let mut endless = vec![0u8; 12];
        endless.extend([0x88, 0x47]);
        endless.extend([0x00, 0x01, 0x00, 0x40].repeat(20));
        assert_eq!(
            net(LinkType::ETHERNET, &endless),
            Network::NonIp(NonIpKind::TooDeep)
        );
        assert_eq!(net(LinkType::ETHERNET, &f[..16]), Network::Truncated);
    }

    #[test]
    fn layers_passed_are_noted() {
        let mut one = vec![0u8; 12];
        one.extend([0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        let frame = with_prefix(&one);
        let (n, layers) = net_and_layers(LinkType::ETHERNET, &frame);
        assert_eq!(n, Network::Ipv4(&IP));
        assert!(layers.contains(Encapsulation::Vlan) && !layers.contains(Encapsulation::Qinq));
        let mut two = vec![0u8; 12];
        two.extend([0x88, 0xA8, 0, 1, 0x81, 0x00, 0, 2, 0x88, 0x64]);
        two.extend([0x11, 0x00, 0x00, 0x01, 0, 6, 0x00, 0x21]);
        let frame = with_prefix(&two);
        let (n, layers) = net_and_layers(LinkType::ETHERNET, &frame);
        assert_eq!(n, Network::Ipv4(&IP));
        assert!(layers.contains(Encapsulation::Qinq) && layers.contains(Encapsulation::Pppoe));
        assert!(!layers.contains(Encapsulation::Vlan) && !layers.contains(Encapsulation::Ppp));
        let (_, layers) = net_and_layers(LinkType::PPP, &[0x00, 0x21, 0x45]);
        assert!(layers.contains(Encapsulation::Ppp));
        let mut pw = vec![0u8; 12];
        pw.extend([0x88, 0x47, 0x00, 0x03, 0x01, 0x40, 0, 0, 0, 0]);
        pw.extend([0u8; 12]);
        pw.extend([0x08, 0x00]);
        let frame = with_prefix(&pw);
        let (n, layers) = net_and_layers(LinkType::ETHERNET, &frame);
        assert_eq!(n, Network::Ipv4(&IP));
        assert!(layers.contains(Encapsulation::Mpls) && layers.contains(Encapsulation::Pseudowire));
        let (_, layers) = net_and_layers(LinkType::ETHERNET, &with_prefix(&[0u8; 12]));
        assert!(layers.is_empty());
    }

    #[test]
    fn what_is_not_ip_is_named() {
        let eth = |ether_type: [u8; 2], rest: &[u8]| [&[0u8; 12][..], &ether_type, rest].concat();
        let cases: [(Vec<u8>, NonIpKind); 6] = [
            (eth([0x88, 0xCC], &[0; 20]), NonIpKind::EtherType(0x88CC)),
            // An 802.3 length, then LLC (STP's DSAP/SSAP 0x42).
            (eth([0x00, 0x26], &[0x42, 0x42, 0x03]), NonIpKind::Llc),
            (
                eth([0x88, 0x63], &[0x11, 0x09, 0, 0, 0, 0]),
                NonIpKind::PppoeDiscovery,
            ),
            (
                eth([0x88, 0x47], &[0x00, 0x01, 0x01, 0x40, 0x12, 0, 0, 0]),
                NonIpKind::MplsNonIp,
            ),
            (
                eth([0x81, 0x00], &[0, 1, 0x08, 0x06, 0, 1]),
                NonIpKind::EtherType(0x0806),
            ),
            (
                eth([0x88, 0x64], &[0x11, 0x00, 0, 1, 0, 4, 0xC2, 0x23, 1, 1]),
                NonIpKind::PppProtocol(0xC223),
            ),
        ];
        for (frame, kind) in cases {
            assert_eq!(
                net(LinkType::ETHERNET, &frame),
                Network::NonIp(kind),
                "{kind}"
            );
        }
        assert_eq!(
            net(LinkType(105), &[0; 30]),
            Network::NonIp(NonIpKind::LinkType(105))
        );
    }
}
