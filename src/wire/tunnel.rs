//! Tunnel headers found inside IP: GRE (RFC 2784 with RFC 2890's key and sequence number),
//! ERSPAN types I, II and III after GRE, UDP and VXLAN (RFC 7348).
//!
//! Each header is a checked view ([`Gre::new_checked`] and the like verify that the header is
//! complete and well-formed), then infallible accessors; [`gre`] and [`vxlan`] say what the
//! tunnel carries, as the link layer would.

use super::kinds::{Encapsulation, NonIpKind};
use super::link::{self, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST, Network, be16};
use super::walk::Walk;

/// UDP destination ports of VXLAN: IANA's, and the one Linux used before it existed.
pub(crate) const VXLAN_PORTS: [u16; 2] = [4789, 8472];

const GRE_IPV4: u16 = 0x0800;
const GRE_IPV6: u16 = 0x86DD;
/// Transparent Ethernet bridging: an Ethernet frame follows.
const GRE_ETHERNET: u16 = 0x6558;
/// ERSPAN types I and II (type II has a sequence number and an 8-byte header).
const GRE_ERSPAN: u16 = 0x88BE;
/// ERSPAN type III.
const GRE_ERSPAN_III: u16 = 0x22EB;

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Why a tunnel header could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Shorter than its fields say.
    Truncated,
    /// Complete, but not a header this decoder follows.
    Unsupported(NonIpKind),
}

/// A GRE header of version 0, with its optional checksum, key and sequence number fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gre<'a> {
    bytes: &'a [u8],
    header_len: usize,
}

impl<'a> Gre<'a> {
    const CHECKSUM: u16 = 0x8000;
    const ROUTING: u16 = 0x4000;
    const KEY: u16 = 0x2000;
    const SEQUENCE: u16 = 0x1000;
    /// Strict source route, recursion control, RFC 2637's acknowledgment and reserved flags:
    /// RFC 2784 requires them zero.
    const UNDEFINED: u16 = 0x0FF8;
    const VERSION: u16 = 0x0007;

    /// Checks the flags and version (0) and that the optional fields are present.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        let flags = be16(bytes, 0).ok_or(HeaderError::Truncated)?;
        let version = (flags & Self::VERSION) as u8;
        if version != 0 {
            return Err(HeaderError::Unsupported(NonIpKind::GreVersion(version)));
        }
        if flags & (Self::ROUTING | Self::UNDEFINED) != 0 {
            return Err(HeaderError::Unsupported(NonIpKind::GreFlags(
                flags & !Self::VERSION,
            )));
        }
        let optional = [Self::CHECKSUM, Self::KEY, Self::SEQUENCE]
            .into_iter()
            .filter(|f| flags & f != 0)
            .count();
        let header_len = 4 + 4 * optional;
        if bytes.len() < header_len {
            return Err(HeaderError::Truncated);
        }
        Ok(Gre { bytes, header_len })
    }

    fn flags(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    /// The Ethernet type of the payload.
    pub(crate) fn protocol(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    /// Offset of an optional field after the ones before it.
    fn field_at(&self, flag: u16) -> Option<usize> {
        let flags = self.flags();
        if flags & flag == 0 {
            return None;
        }
        let before = [Self::CHECKSUM, Self::KEY, Self::SEQUENCE]
            .into_iter()
            .take_while(|f| *f != flag)
            .filter(|f| flags & f != 0)
            .count();
        Some(4 + 4 * before)
    }

    /// The sequence number (RFC 2890), if present.
    pub(crate) fn sequence(&self) -> Option<u32> {
        be32(self.bytes, self.field_at(Self::SEQUENCE)?)
    }

    /// The bytes after the header.
    pub(crate) fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len..]
    }
}

/// An ERSPAN type II header (version 1): 8 bytes before the mirrored Ethernet frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErspanII<'a> {
    bytes: &'a [u8],
}

impl<'a> ErspanII<'a> {
    const LEN: usize = 8;
    const VERSION: u8 = 1;

    /// Checks the length and the version.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        let first = *bytes.first().ok_or(HeaderError::Truncated)?;
        if bytes.len() < Self::LEN {
            return Err(HeaderError::Truncated);
        }
        if first >> 4 != Self::VERSION {
            return Err(HeaderError::Unsupported(NonIpKind::ErspanVersion(
                first >> 4,
            )));
        }
        Ok(ErspanII { bytes })
    }

    /// The mirrored frame.
    pub(crate) fn payload(&self) -> &'a [u8] {
        &self.bytes[Self::LEN..]
    }
}

/// What an ERSPAN type III header says it mirrored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mirrored {
    Ethernet,
    Ip,
    Other(u8),
}

/// An ERSPAN type III header (version 2): 12 bytes, then an 8-byte platform-specific
/// subheader when the O flag is set, then the mirrored frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErspanIII<'a> {
    bytes: &'a [u8],
}

impl<'a> ErspanIII<'a> {
    const LEN: usize = 12;
    const PLATFORM_LEN: usize = 8;
    const VERSION: u8 = 2;

    /// Checks the length (with the platform subheader if announced) and the version.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        let first = *bytes.first().ok_or(HeaderError::Truncated)?;
        if bytes.len() < Self::LEN {
            return Err(HeaderError::Truncated);
        }
        if first >> 4 != Self::VERSION {
            return Err(HeaderError::Unsupported(NonIpKind::ErspanVersion(
                first >> 4,
            )));
        }
        let view = ErspanIII { bytes };
        if bytes.len() < view.header_len() {
            return Err(HeaderError::Truncated);
        }
        Ok(view)
    }

    /// The O flag: a platform-specific subheader follows.
    pub(crate) fn has_platform_subheader(&self) -> bool {
        self.bytes[11] & 0x01 != 0
    }

    /// The frame type field: 0 an Ethernet frame, 2 an IP packet.
    pub(crate) fn mirrored(&self) -> Mirrored {
        match (self.bytes[10] >> 2) & 0x1F {
            0 => Mirrored::Ethernet,
            2 => Mirrored::Ip,
            other => Mirrored::Other(other),
        }
    }

    fn header_len(&self) -> usize {
        if self.has_platform_subheader() {
            Self::LEN + Self::PLATFORM_LEN
        } else {
            Self::LEN
        }
    }

    /// The mirrored frame.
    pub(crate) fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len()..]
    }
}

/// A UDP header, its payload bounded by the UDP length when that is consistent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Udp<'a> {
    bytes: &'a [u8],
}

impl<'a> Udp<'a> {
    const LEN: usize = 8;

    /// Checks that the 8-byte header is there.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Result<Self, HeaderError> {
        if bytes.len() < Self::LEN {
            return Err(HeaderError::Truncated);
        }
        Ok(Udp { bytes })
    }

    pub(crate) fn destination_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    /// The datagram's payload: up to the UDP length, or to the end of what was captured when
    /// the length says more (cut by the snap length) or gives no answer (below 8, or 0 in an
    /// IPv6 jumbogram).
    pub(crate) fn payload(&self) -> &'a [u8] {
        let declared = usize::from(u16::from_be_bytes([self.bytes[4], self.bytes[5]]));
        let end = if declared >= Self::LEN {
            declared.min(self.bytes.len())
        } else {
            self.bytes.len()
        };
        &self.bytes[Self::LEN..end]
    }
}

/// A VXLAN header: flags with only I set, the 24-bit network identifier, reserved bits zero.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vxlan<'a> {
    bytes: &'a [u8],
}

impl<'a> Vxlan<'a> {
    const LEN: usize = 8;
    /// The I flag: the network identifier is valid.
    const FLAGS: u8 = 0x08;

    /// Checks the length, the flags and that the reserved fields are zero (RFC 7348 §5); what
    /// fails is no VXLAN.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Option<Self> {
        match bytes.get(..Self::LEN)? {
            [Self::FLAGS, 0, 0, 0, _, _, _, 0] => Some(Vxlan { bytes }),
            _ => None,
        }
    }

    /// The carried Ethernet frame.
    pub(crate) fn payload(&self) -> &'a [u8] {
        &self.bytes[Self::LEN..]
    }
}

/// What a GRE packet carries. The caller has entered the tunnel level and noted nothing yet.
pub(crate) fn gre<'a>(data: &'a [u8], walk: &mut Walk) -> Network<'a> {
    let header = match Gre::new_checked(data) {
        Ok(header) => header,
        Err(HeaderError::Truncated) => return Network::Truncated,
        Err(HeaderError::Unsupported(kind)) => return Network::NonIp(kind),
    };
    walk.note(Encapsulation::Gre);
    let payload = header.payload();
    match header.protocol() {
        GRE_IPV4 => Network::Ipv4(payload),
        GRE_IPV6 => Network::Ipv6(payload),
        GRE_ETHERNET => {
            walk.note(Encapsulation::GreEthernet);
            link::ethernet(payload, walk)
        }
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => link::mpls(payload, walk),
        GRE_ERSPAN if header.sequence().is_some() => match ErspanII::new_checked(payload) {
            Ok(erspan) => {
                walk.note(Encapsulation::ErspanII);
                link::ethernet(erspan.payload(), walk)
            }
            Err(HeaderError::Truncated) => Network::Truncated,
            Err(HeaderError::Unsupported(kind)) => Network::NonIp(kind),
        },
        GRE_ERSPAN => {
            walk.note(Encapsulation::ErspanI);
            link::ethernet(payload, walk)
        }
        GRE_ERSPAN_III => match ErspanIII::new_checked(payload) {
            Ok(erspan) => {
                walk.note(Encapsulation::ErspanIII);
                match erspan.mirrored() {
                    Mirrored::Ethernet => link::ethernet(erspan.payload(), walk),
                    Mirrored::Ip => Network::AnyIp(erspan.payload()),
                    Mirrored::Other(t) => Network::NonIp(NonIpKind::ErspanFrameType(t)),
                }
            }
            Err(HeaderError::Truncated) => Network::Truncated,
            Err(HeaderError::Unsupported(kind)) => Network::NonIp(kind),
        },
        other => Network::NonIp(NonIpKind::GreProtocol(other)),
    }
}

/// The VXLAN payload of a UDP datagram, if it is VXLAN: sent to a VXLAN port and with a valid
/// header.
pub(crate) fn vxlan(udp: &[u8]) -> Option<&[u8]> {
    let udp = Udp::new_checked(udp).ok()?;
    if !VXLAN_PORTS.contains(&udp.destination_port()) {
        return None;
    }
    Vxlan::new_checked(udp.payload()).map(|v| v.payload())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRE header with the given optional fields.
    fn gre_header(protocol: u16, checksum: bool, key: Option<u32>, seq: Option<u32>) -> Vec<u8> {
        let mut flags = 0u16;
        let mut fields = Vec::new();
        if checksum {
            flags |= 0x8000;
            fields.extend([0xAB, 0xCD, 0, 0]);
        }
        if let Some(k) = key {
            flags |= 0x2000;
            fields.extend(k.to_be_bytes());
        }
        if let Some(s) = seq {
            flags |= 0x1000;
            fields.extend(s.to_be_bytes());
        }
        let mut h = flags.to_be_bytes().to_vec();
        h.extend(protocol.to_be_bytes());
        h.extend(fields);
        h
    }

    #[test]
    fn gre_optional_fields() {
        let with_all = [&gre_header(0x0800, true, Some(7), Some(9))[..], b"ip"].concat();
        let g = Gre::new_checked(&with_all).expect("valid");
        assert_eq!(g.protocol(), 0x0800);
        assert_eq!(g.sequence(), Some(9), "after the checksum and the key");
        assert_eq!(g.payload(), b"ip");
        let seq_only = [&gre_header(0x88BE, false, None, Some(3))[..], b"x"].concat();
        let g = Gre::new_checked(&seq_only).expect("valid");
        assert_eq!((g.sequence(), g.payload()), (Some(3), &b"x"[..]));
        let bare = gre_header(0x86DD, false, None, None);
        let g = Gre::new_checked(&bare).expect("valid");
        assert_eq!((g.sequence(), g.payload()), (None, &b""[..]));
        let key_only = [&gre_header(0x0800, false, Some(5), None)[..], b"k"].concat();
        let g = Gre::new_checked(&key_only).expect("valid");
        assert_eq!((g.sequence(), g.payload()), (None, &b"k"[..]));
    }

    #[test]
    fn gre_truncated_other_versions_and_routing() {
        let full = gre_header(0x0800, true, Some(1), Some(2));
        for cut in 0..full.len() {
            assert_eq!(
                Gre::new_checked(&full[..cut]).err(),
                Some(HeaderError::Truncated),
                "{cut}"
            );
        }
        // PPTP's enhanced GRE (version 1).
        assert_eq!(
            Gre::new_checked(&[0x30, 0x01, 0x88, 0x0B, 0, 0, 0, 0]).err(),
            Some(HeaderError::Unsupported(NonIpKind::GreVersion(1)))
        );
        // RFC 1701 routing.
        assert_eq!(
            Gre::new_checked(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]).err(),
            Some(HeaderError::Unsupported(NonIpKind::GreFlags(0x4000)))
        );
        let mut walk = Walk::new();
        assert_eq!(
            gre(&[0, 0, 0x88, 0x0B, 1, 2], &mut walk),
            Network::NonIp(NonIpKind::GreProtocol(0x880B))
        );
        assert!(walk.encapsulations().contains(Encapsulation::Gre));
    }

    #[test]
    fn erspan_headers() {
        let ii = [&[0x10, 0x64, 0x00, 0x2A, 0, 0, 0, 5][..], b"frame"].concat();
        let e = ErspanII::new_checked(&ii).expect("valid");
        assert_eq!(e.payload(), b"frame");
        assert_eq!(
            ErspanII::new_checked(&ii[..7]).err(),
            Some(HeaderError::Truncated)
        );
        let mut v2 = ii.clone();
        v2[0] = 0x20;
        assert_eq!(
            ErspanII::new_checked(&v2).err(),
            Some(HeaderError::Unsupported(NonIpKind::ErspanVersion(2)))
        );
        // Type III: version 2, session 7, timestamp, then SGT, P/FT, HW ID, D/Gra/O.
        let mut iii = vec![0x20, 0x00, 0x00, 0x07, 1, 2, 3, 4, 0, 0, 0x00, 0x00];
        iii.extend(b"frame");
        let e = ErspanIII::new_checked(&iii).expect("valid");
        assert!(!e.has_platform_subheader());
        assert_eq!(
            (e.mirrored(), e.payload()),
            (Mirrored::Ethernet, &b"frame"[..])
        );
        // O flag: the 8-byte platform subheader is skipped, and must be there.
        let mut with_platform = iii[..12].to_vec();
        with_platform[11] |= 0x01;
        with_platform.extend([0xEE; 8]);
        with_platform.extend(b"frame");
        let e = ErspanIII::new_checked(&with_platform).expect("valid");
        assert!(e.has_platform_subheader());
        assert_eq!(e.payload(), b"frame");
        assert_eq!(
            ErspanIII::new_checked(&with_platform[..19]).err(),
            Some(HeaderError::Truncated)
        );
        // Frame type 2: an IP packet without Ethernet header.
        let mut ip = iii.clone();
        ip[10] = 2 << 2;
        assert_eq!(
            ErspanIII::new_checked(&ip).expect("valid").mirrored(),
            Mirrored::Ip
        );
        let mut other = iii;
        other[10] = 5 << 2;
        let e = [&gre_header(0x22EB, false, None, Some(1))[..], &other].concat();
        assert_eq!(
            gre(&e, &mut Walk::new()),
            Network::NonIp(NonIpKind::ErspanFrameType(5))
        );
    }

    #[test]
    fn vxlan_only_when_it_parses_as_vxlan() {
        let udp = |port: u16, header: [u8; 8], len: Option<u16>| {
            let payload = [&header[..], b"frame"].concat();
            let mut u = 40000u16.to_be_bytes().to_vec();
            u.extend(port.to_be_bytes());
            u.extend(len.unwrap_or(8 + payload.len() as u16).to_be_bytes());
            u.extend([0, 0]);
            u.extend(payload);
            u
        };
        let good = [0x08, 0, 0, 0, 0x00, 0x12, 0x34, 0];
        assert_eq!(Vxlan::new_checked(&good).expect("valid").payload(), b"");
        assert_eq!(vxlan(&udp(4789, good, None)), Some(&b"frame"[..]));
        assert_eq!(vxlan(&udp(8472, good, None)), Some(&b"frame"[..]));
        // Other port, I flag missing, another flag, reserved bits set.
        assert_eq!(vxlan(&udp(4790, good, None)), None);
        assert_eq!(vxlan(&udp(4789, [0, 0, 0, 0, 0, 0, 1, 0], None)), None);
        assert_eq!(vxlan(&udp(4789, [0x88, 0, 0, 0, 0, 0, 1, 0], None)), None);
        assert_eq!(vxlan(&udp(4789, [0x08, 0, 1, 0, 0, 0, 1, 0], None)), None);
        assert_eq!(vxlan(&udp(4789, [0x08, 0, 0, 0, 0, 0, 1, 1], None)), None);
        // The UDP length bounds the payload; a length beyond the bytes or below 8 does not.
        assert_eq!(vxlan(&udp(4789, good, Some(8 + 8 + 2))), Some(&b"fr"[..]));
        assert_eq!(vxlan(&udp(4789, good, Some(9000))), Some(&b"frame"[..]));
        assert_eq!(vxlan(&udp(4789, good, Some(3))), Some(&b"frame"[..]));
        assert_eq!(vxlan(&udp(4789, good, Some(12))), None);
        assert_eq!(vxlan(&udp(4789, good, None)[..12]), None);
        assert_eq!(vxlan(&[0x12, 0xB5]), None);
    }
}
