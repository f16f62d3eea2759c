//! Link layers: find the network-layer bytes of a frame.
//!
//! Ethernet (with any mix of up to eight 802.1Q / 802.1ad / 0x9100 tags), Linux cooked capture
//! v1 and v2, BSD NULL and OpenBSD LOOP, and raw IP. These headers are a few fixed fields, so
//! they are read directly rather than through a general packet slicer.

use crate::types::LinkType;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
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
    NonIp,
    Truncated,
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Strips the link header of a frame.
pub(crate) fn network_layer(link: LinkType, data: &[u8]) -> Network<'_> {
    match link.0 {
        1 => match (be16(data, 12), data.get(ETHERNET_HEADER_LEN..)) {
            (Some(ether_type), Some(rest)) => by_ether_type(ether_type, rest),
            _ => Network::Truncated,
        },
        113 => match (be16(data, 14), data.get(SLL_HEADER_LEN..)) {
            (Some(protocol), Some(rest)) => by_ether_type(protocol, rest),
            _ => Network::Truncated,
        },
        276 => match (be16(data, 0), data.get(SLL2_HEADER_LEN..)) {
            (Some(protocol), Some(rest)) => by_ether_type(protocol, rest),
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
                Network::NonIp
            }
        }
        12 | 14 | 101 => Network::AnyIp(data),
        228 => Network::Ipv4(data),
        229 => Network::Ipv6(data),
        _ => Network::NonIp,
    }
}

/// Follows VLAN tags down to IPv4 or IPv6.
fn by_ether_type(mut ether_type: u16, mut rest: &[u8]) -> Network<'_> {
    for _ in 0..=MAX_VLAN_TAGS {
        match ether_type {
            ETHERTYPE_IPV4 => return Network::Ipv4(rest),
            ETHERTYPE_IPV6 => return Network::Ipv6(rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let (Some(inner), Some(after)) = (be16(rest, 2), rest.get(VLAN_TAG_LEN..)) else {
                    return Network::Truncated;
                };
                ether_type = inner;
                rest = after;
            }
            _ => return Network::NonIp,
        }
    }
    Network::NonIp
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(network_layer(LinkType::ETHERNET, &f), Network::Ipv4(&IP));

        let mut qinq = vec![0u8; 12];
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd]);
        let f = with_prefix(&qinq);
        assert_eq!(network_layer(LinkType::ETHERNET, &f), Network::Ipv6(&IP));

        let mut old = vec![0u8; 12];
        old.extend_from_slice(&[0x91, 0x00, 0x00, 0x01, 0x08, 0x00]);
        let f = with_prefix(&old);
        assert_eq!(network_layer(LinkType::ETHERNET, &f), Network::Ipv4(&IP));

        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(
            network_layer(LinkType::ETHERNET, &with_prefix(&arp)),
            Network::NonIp
        );

        assert_eq!(
            network_layer(LinkType::ETHERNET, &[0u8; 13]),
            Network::Truncated
        );
        // A tag cut in the middle.
        let mut cut = vec![0u8; 12];
        cut.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert_eq!(network_layer(LinkType::ETHERNET, &cut), Network::Truncated);
        // Endless tags are not followed forever.
        let mut many = vec![0u8; 12];
        for _ in 0..20 {
            many.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        many.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(network_layer(LinkType::ETHERNET, &many), Network::NonIp);
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll.extend_from_slice(&[0x08, 0x00]);
        assert_eq!(
            network_layer(LinkType::LINUX_SLL, &with_prefix(&sll)),
            Network::Ipv4(&IP)
        );
        assert_eq!(
            network_layer(LinkType::LINUX_SLL, &sll[..15]),
            Network::Truncated
        );

        let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
        sll2.extend_from_slice(&[0u8; 8]);
        assert_eq!(
            network_layer(LinkType::LINUX_SLL2, &with_prefix(&sll2)),
            Network::Ipv6(&IP)
        );
        assert_eq!(
            network_layer(LinkType::LINUX_SLL2, &sll2[..19]),
            Network::Truncated
        );
    }

    #[test]
    fn null_in_either_byte_order_and_loop_in_network_order() {
        let v4_le = with_prefix(&[2, 0, 0, 0]);
        let v4_be = with_prefix(&[0, 0, 0, 2]);
        assert_eq!(network_layer(LinkType::NULL, &v4_le), Network::Ipv4(&IP));
        assert_eq!(network_layer(LinkType::NULL, &v4_be), Network::Ipv4(&IP));
        for af in [24u8, 28, 30] {
            let v6 = with_prefix(&[af, 0, 0, 0]);
            assert_eq!(network_layer(LinkType::NULL, &v6), Network::Ipv6(&IP));
        }
        assert_eq!(network_layer(LinkType::LOOP, &v4_be), Network::Ipv4(&IP));
        assert_eq!(network_layer(LinkType::LOOP, &v4_le), Network::NonIp);
        assert_eq!(
            network_layer(LinkType::LOOP, &with_prefix(&[0, 0, 0, 30])),
            Network::Ipv6(&IP)
        );
        assert_eq!(
            network_layer(LinkType::NULL, &with_prefix(&[7, 0, 0, 0])),
            Network::NonIp
        );
        assert_eq!(
            network_layer(LinkType::NULL, &[2, 0, 0]),
            Network::Truncated
        );
    }

    #[test]
    fn raw_ip_link_types() {
        for link in [12, 14, 101] {
            assert_eq!(network_layer(LinkType(link), &IP), Network::AnyIp(&IP));
        }
        assert_eq!(network_layer(LinkType::IPV4, &IP), Network::Ipv4(&IP));
        assert_eq!(network_layer(LinkType::IPV6, &IP), Network::Ipv6(&IP));
        assert!(LinkType::LINUX_SLL2.is_decodable());
        assert!(!LinkType(105).is_decodable());
    }

    /// `LinkType::DECODABLE` (what the readers accept) and `network_layer` (what is stripped)
    /// name the same link types: each decodable one gets past the link layer, others do not.
    #[test]
    fn decodable_link_types_are_the_ones_stripped() {
        for link in LinkType::DECODABLE {
            assert_ne!(network_layer(link, &[]), Network::NonIp, "{link:?}");
        }
        for link in [2, 100, 105, 127, 230, 275] {
            assert!(!LinkType(link).is_decodable());
            assert_eq!(network_layer(LinkType(link), &[]), Network::NonIp);
        }
    }
}
