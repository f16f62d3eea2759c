//! What frames were wrapped in, and why some could not be read down to TCP: the names the
//! report counts frames under, and bounded counters of them that never allocate per frame.

use std::fmt;

/// A layer a frame passed through on its way to the IP packet that carried TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encapsulation {
    /// One 802.1Q (or 802.1ad) tag.
    Vlan,
    /// Two or more stacked tags.
    Qinq,
    /// A PPPoE session.
    Pppoe,
    /// PPP framing (bare, HDLC-like) outside PPPoE.
    Ppp,
    /// An MPLS label stack.
    Mpls,
    /// An Ethernet frame carried over MPLS with a control word.
    Pseudowire,
    /// A GRE header (whatever it carries).
    Gre,
    /// An Ethernet frame carried by GRE (transparent Ethernet bridging).
    GreEthernet,
    /// A mirrored frame directly after GRE (ERSPAN type I).
    ErspanI,
    /// ERSPAN type II.
    ErspanII,
    /// ERSPAN type III.
    ErspanIII,
    /// VXLAN over UDP.
    Vxlan,
    /// IPv4 in IPv4.
    Ipip,
    /// IPv6 in IPv4.
    SixInFour,
    /// IPv4 in IPv6.
    FourInSix,
    /// IPv6 in IPv6.
    SixInSix,
    /// IPv6 extension headers.
    Ipv6Ext,
}

impl Encapsulation {
    /// Every encapsulation, in report order.
    pub const ALL: [Encapsulation; 17] = [
        Encapsulation::Vlan,
        Encapsulation::Qinq,
        Encapsulation::Pppoe,
        Encapsulation::Ppp,
        Encapsulation::Mpls,
        Encapsulation::Pseudowire,
        Encapsulation::Gre,
        Encapsulation::GreEthernet,
        Encapsulation::ErspanI,
        Encapsulation::ErspanII,
        Encapsulation::ErspanIII,
        Encapsulation::Vxlan,
        Encapsulation::Ipip,
        Encapsulation::SixInFour,
        Encapsulation::FourInSix,
        Encapsulation::SixInSix,
        Encapsulation::Ipv6Ext,
    ];

    /// The name the report uses.
    pub fn name(self) -> &'static str {
        match self {
            Encapsulation::Vlan => "vlan",
            Encapsulation::Qinq => "qinq",
            Encapsulation::Pppoe => "pppoe",
            Encapsulation::Ppp => "ppp",
            Encapsulation::Mpls => "mpls",
            Encapsulation::Pseudowire => "pseudowire",
            Encapsulation::Gre => "gre",
            Encapsulation::GreEthernet => "gre-ethernet",
            Encapsulation::ErspanI => "erspan-i",
            Encapsulation::ErspanII => "erspan-ii",
            Encapsulation::ErspanIII => "erspan-iii",
            Encapsulation::Vxlan => "vxlan",
            Encapsulation::Ipip => "ipip",
            Encapsulation::SixInFour => "6in4",
            Encapsulation::FourInSix => "4in6",
            Encapsulation::SixInSix => "6in6",
            Encapsulation::Ipv6Ext => "ipv6-ext",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The encapsulations one frame passed through, each once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncapSet(u32);

impl EncapSet {
    /// Notes that the frame passed through `e`.
    pub fn insert(&mut self, e: Encapsulation) {
        self.0 |= e.bit();
    }

    /// Whether the frame passed through `e`.
    pub fn contains(self, e: Encapsulation) -> bool {
        self.0 & e.bit() != 0
    }

    /// Whether the frame passed through none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Frames counted by the encapsulations they passed through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncapCounts([u64; Encapsulation::ALL.len()]);

impl EncapCounts {
    /// Counts one frame in each encapsulation of `set`.
    pub fn add(&mut self, set: EncapSet) {
        let mut bits = set.0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if let Some(c) = self.0.get_mut(i) {
                *c += 1;
            }
            bits &= bits - 1;
        }
    }

    /// Frames that passed through `e`.
    pub fn get(&self, e: Encapsulation) -> u64 {
        self.0[e as usize]
    }

    /// The encapsulations seen, with their frame counts, in [`Encapsulation::ALL`] order.
    pub fn seen(&self) -> impl Iterator<Item = (Encapsulation, u64)> + '_ {
        Encapsulation::ALL
            .into_iter()
            .map(|e| (e, self.get(e)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Why a frame carried no IP packet the decoder could read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NonIpKind {
    /// An Ethernet type other than IP and the encapsulations above (ARP, LLDP, …).
    EtherType(u16),
    /// An IEEE 802.3 frame: a length where the Ethernet type would be (LLC, STP, …).
    Llc,
    /// PPPoE discovery (PADI, PADO, …).
    PppoeDiscovery,
    /// A PPPoE session frame with another version, type or code.
    PppoeNonSession,
    /// A PPP control protocol (LCP, IPCP, authentication, …).
    PppProtocol(u16),
    /// An MPLS label stack over something else than IP or an Ethernet pseudowire.
    MplsNonIp,
    /// A link type the decoder does not read.
    LinkType(u32),
    /// A BSD loopback header naming another address family.
    AddressFamily(u32),
    /// Raw IP with another version nibble.
    IpVersion(u8),
    /// GRE carrying another protocol.
    GreProtocol(u16),
    /// GRE of another version (1 is PPTP's enhanced GRE).
    GreVersion(u8),
    /// GRE with routing or other flags RFC 2784 and 2890 do not define.
    GreFlags(u16),
    /// An ERSPAN header of an unexpected version.
    ErspanVersion(u8),
    /// ERSPAN type III mirroring something else than an Ethernet frame or an IP packet.
    ErspanFrameType(u8),
    /// More nested tags, labels, extension headers or tunnels than are followed.
    TooDeep,
}

impl fmt::Display for NonIpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NonIpKind::EtherType(t) => write!(f, "ethertype 0x{t:04x}"),
            NonIpKind::Llc => f.write_str("llc"),
            NonIpKind::PppoeDiscovery => f.write_str("pppoe discovery"),
            NonIpKind::PppoeNonSession => f.write_str("pppoe non-session"),
            NonIpKind::PppProtocol(p) => write!(f, "ppp protocol 0x{p:04x}"),
            NonIpKind::MplsNonIp => f.write_str("mpls non-ip"),
            NonIpKind::LinkType(l) => write!(f, "link type {l}"),
            NonIpKind::AddressFamily(a) => write!(f, "address family {a}"),
            NonIpKind::IpVersion(v) => write!(f, "ip version {v}"),
            NonIpKind::GreProtocol(p) => write!(f, "gre protocol 0x{p:04x}"),
            NonIpKind::GreVersion(v) => write!(f, "gre version {v}"),
            NonIpKind::GreFlags(flags) => write!(f, "gre flags 0x{flags:04x}"),
            NonIpKind::ErspanVersion(v) => write!(f, "erspan version {v}"),
            NonIpKind::ErspanFrameType(t) => write!(f, "erspan frame type {t}"),
            NonIpKind::TooDeep => f.write_str("too deep"),
        }
    }
}

/// The transport protocol of an IP packet that carried no TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpProtocol(pub u8);

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            1 => "icmp",
            2 => "igmp",
            17 => "udp",
            47 => "gre",
            50 => "esp",
            51 => "ah",
            58 => "icmpv6",
            59 => "ipv6 no next header",
            89 => "ospf",
            103 => "pim",
            112 => "vrrp",
            132 => "sctp",
            136 => "udplite",
            n => return write!(f, "ip protocol {n}"),
        };
        f.write_str(name)
    }
}

/// Distinct kinds counted separately at most; frames of further kinds are counted together.
pub const MAX_KINDS: usize = 64;

/// Frames counted by kind: the first [`MAX_KINDS`] distinct kinds each on its own, the rest
/// together as `other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindCounts<K> {
    counts: Vec<(K, u64)>,
    other: u64,
}

impl<K> Default for KindCounts<K> {
    fn default() -> Self {
        KindCounts {
            counts: Vec::new(),
            other: 0,
        }
    }
}

impl<K: Copy + Eq> KindCounts<K> {
    /// Counts one frame of `kind`.
    pub fn add(&mut self, kind: K) {
        if let Some((_, n)) = self.counts.iter_mut().find(|(k, _)| *k == kind) {
            *n += 1;
        } else if self.counts.len() < MAX_KINDS {
            self.counts.push((kind, 1));
        } else {
            self.other += 1;
        }
    }

    /// The kinds counted on their own, in order of first appearance.
    pub fn kinds(&self) -> &[(K, u64)] {
        &self.counts
    }

    /// Frames of the kinds beyond [`MAX_KINDS`].
    pub fn other(&self) -> u64 {
        self.other
    }

    /// Frames counted in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum::<u64>() + self.other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_each_encapsulation_has_its_own_bit() {
        let mut names: Vec<&str> = Encapsulation::ALL.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Encapsulation::ALL.len());
        let mut set = EncapSet::default();
        assert!(set.is_empty());
        for e in Encapsulation::ALL {
            assert!(!set.contains(e), "{e:?}");
            set.insert(e);
            assert!(set.contains(e));
        }
        let mut counts = EncapCounts::default();
        counts.add(set);
        counts.add(set);
        assert!(counts.seen().all(|(_, n)| n == 2));
        assert_eq!(counts.seen().count(), Encapsulation::ALL.len());
        assert_eq!(
            counts.seen().map(|(e, _)| e).collect::<Vec<_>>(),
            Encapsulation::ALL
        );
    }

    #[test]
    fn a_frame_counts_once_per_kind() {
        let mut set = EncapSet::default();
        set.insert(Encapsulation::Gre);
        set.insert(Encapsulation::Gre);
        set.insert(Encapsulation::Vlan);
        let mut counts = EncapCounts::default();
        counts.add(set);
        counts.add(EncapSet::default());
        assert_eq!(
            counts.seen().collect::<Vec<_>>(),
            [(Encapsulation::Vlan, 1), (Encapsulation::Gre, 1)]
        );
    }

    #[test]
    fn kind_names() {
        assert_eq!(NonIpKind::EtherType(0x88CC).to_string(), "ethertype 0x88cc");
        assert_eq!(
            NonIpKind::PppProtocol(0xC021).to_string(),
            "ppp protocol 0xc021"
        );
        assert_eq!(
            NonIpKind::GreProtocol(0x880B).to_string(),
            "gre protocol 0x880b"
        );
        assert_eq!(NonIpKind::LinkType(105).to_string(), "link type 105");
        assert_eq!(NonIpKind::Llc.to_string(), "llc");
        assert_eq!(NonIpKind::TooDeep.to_string(), "too deep");
        assert_eq!(IpProtocol(17).to_string(), "udp");
        assert_eq!(IpProtocol(58).to_string(), "icmpv6");
        assert_eq!(IpProtocol(250).to_string(), "ip protocol 250");
    }

    #[test]
    fn kinds_beyond_the_bound_are_counted_as_other() {
        let mut counts = KindCounts::default();
        for t in 0..200u16 {
            counts.add(NonIpKind::EtherType(t));
            counts.add(NonIpKind::EtherType(t));
        }
        counts.add(NonIpKind::EtherType(0));
        assert_eq!(counts.kinds().len(), MAX_KINDS);
        assert_eq!(counts.kinds()[0], (NonIpKind::EtherType(0), 3));
        assert_eq!(counts.other(), 2 * (200 - MAX_KINDS as u64));
        assert_eq!(counts.total(), 401);
    }
}
