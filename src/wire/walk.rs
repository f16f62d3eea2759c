//! The walk from a frame's first byte to its TCP header: link layers, IP, and the tunnels
//! inside IP (IP in IP, GRE, VXLAN), one inside another up to [`MAX_TUNNEL_LEVELS`] deep. It
//! holds no state between frames: an IP fragment ends the walk (the decoder reassembles it and
//! resumes the walk in the datagram with [`Walk::reassembled`]).

use super::ip::{
    self, IpError, IpPacket, PROTO_GRE, PROTO_IPV4, PROTO_IPV6, PROTO_TCP, PROTO_UDP, Payload,
};
use super::kinds::{EncapSet, Encapsulation, IpProtocol, NonIpKind};
use super::link::{self, Network};
use super::tunnel;
use crate::types::LinkType;

/// Tunnels (and Ethernet pseudowires) followed one inside another at most; a frame nested
/// deeper is not decoded (`too deep`).
pub(crate) const MAX_TUNNEL_LEVELS: usize = 4;

/// Where the walk of a frame ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    /// The innermost IP packet carries TCP; `data` starts with the TCP header.
    Tcp {
        packet: IpPacket<'a>,
        data: &'a [u8],
    },
    /// A fragment of an IP datagram (the innermost packet reached).
    Fragment {
        packet: IpPacket<'a>,
        fragment: ip::Fragment<'a>,
    },
    NonIp(NonIpKind),
    NonTcp(IpProtocol),
    Truncated,
}

/// What is inside an IP packet's payload.
enum Inside<'a> {
    /// Another network layer (a tunnel's).
    Network(Network<'a>),
    Done(Step<'a>),
}

/// The state of one frame's walk: the encapsulations passed and the tunnel levels left.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walk {
    encapsulations: EncapSet,
    levels_left: usize,
}

impl Walk {
    pub(crate) fn new() -> Self {
        Walk {
            encapsulations: EncapSet::default(),
            levels_left: MAX_TUNNEL_LEVELS,
        }
    }

    /// Notes that the frame passed through `e`.
    pub(crate) fn note(&mut self, e: Encapsulation) {
        self.encapsulations.insert(e);
    }

    /// Notes a stack of `tags` VLAN tags: one is `vlan`, more are `qinq`.
    pub(crate) fn note_tags(&mut self, tags: usize) {
        match tags {
            0 => {}
            1 => self.note(Encapsulation::Vlan),
            _ => self.note(Encapsulation::Qinq),
        }
    }

    /// Enters one more tunnel level; `false` when the bound is reached.
    pub(crate) fn enter(&mut self) -> bool {
        match self.levels_left.checked_sub(1) {
            Some(left) => {
                self.levels_left = left;
                true
            }
            None => false,
        }
    }

    /// The encapsulations the frame passed through so far.
    pub(crate) fn encapsulations(&self) -> EncapSet {
        self.encapsulations
    }

    /// Walks a frame of link type `link`.
    pub(crate) fn frame<'a>(&mut self, link: LinkType, data: &'a [u8]) -> Step<'a> {
        let network = link::network_layer(link, data, self);
        self.network(network)
    }

    /// Walks from a network layer down (through tunnels) to TCP or to where the walk stops.
    fn network<'a>(&mut self, mut network: Network<'a>) -> Step<'a> {
        // Each pass enters a tunnel level, so this ends after MAX_TUNNEL_LEVELS + 1 passes.
        loop {
            let parsed = match network {
                Network::Ipv4(bytes) => ip::parse_v4(bytes),
                Network::Ipv6(bytes) => ip::parse_v6(bytes),
                Network::AnyIp(bytes) => ip::parse_any(bytes),
                Network::NonIp(kind) => return Step::NonIp(kind),
                Network::Truncated => return Step::Truncated,
            };
            let packet = match parsed {
                Ok(packet) => packet,
                Err(IpError::Version(v)) => return Step::NonIp(NonIpKind::IpVersion(v)),
                Err(IpError::Truncated) => return Step::Truncated,
            };
            if packet.extension_headers {
                self.note(Encapsulation::Ipv6Ext);
            }
            let (protocol, data) = match packet.payload {
                Payload::Fragment(fragment) => return Step::Fragment { packet, fragment },
                Payload::Transport { protocol, data } => (protocol, data),
            };
            match self.inside(packet, protocol, data) {
                Inside::Network(inner) => network = inner,
                Inside::Done(step) => return step,
            }
        }
    }

    /// Resumes the walk in a datagram reassembled from fragments of `packet`, whose first
    /// header (IPv4: protocol) is `next_header`.
    pub(crate) fn reassembled<'a>(
        &mut self,
        packet: IpPacket<'a>,
        next_header: u8,
        datagram: &'a [u8],
    ) -> Step<'a> {
        let (protocol, data) = if packet.is_v6 {
            match ip::walk_v6_extensions(next_header, datagram) {
                Ok((Payload::Transport { protocol, data }, walked)) => {
                    if walked > 0 {
                        self.note(Encapsulation::Ipv6Ext);
                    }
                    (protocol, data)
                }
                // A fragment header inside a reassembled datagram, or a bad chain.
                Ok((Payload::Fragment(_), _)) | Err(_) => return Step::Truncated,
            }
        } else {
            (next_header, datagram)
        };
        let whole = IpPacket {
            missing: Some(0),
            payload: Payload::Transport { protocol, data },
            ..packet
        };
        match self.inside(whole, protocol, data) {
            Inside::Network(inner) => self.network(inner),
            Inside::Done(step) => step,
        }
    }

    /// What the payload of `packet` (of transport protocol `protocol`) holds.
    fn inside<'a>(&mut self, packet: IpPacket<'a>, protocol: u8, data: &'a [u8]) -> Inside<'a> {
        let vxlan_frame = match protocol {
            PROTO_TCP => return Inside::Done(Step::Tcp { packet, data }),
            PROTO_IPV4 | PROTO_IPV6 | PROTO_GRE => None,
            PROTO_UDP => match tunnel::vxlan(data) {
                Some(frame) => Some(frame),
                None => return Inside::Done(Step::NonTcp(IpProtocol(protocol))),
            },
            other => return Inside::Done(Step::NonTcp(IpProtocol(other))),
        };
        if !self.enter() {
            return Inside::Done(Step::NonIp(NonIpKind::TooDeep));
        }
        let inner = match (protocol, packet.is_v6, vxlan_frame) {
            (_, _, Some(frame)) => {
                self.note(Encapsulation::Vxlan);
                link::ethernet(frame, self)
            }
            (PROTO_GRE, _, None) => tunnel::gre(data, self),
            (PROTO_IPV4, false, None) => {
                self.note(Encapsulation::Ipip);
                Network::Ipv4(data)
            }
            (PROTO_IPV4, true, None) => {
                self.note(Encapsulation::FourInSix);
                Network::Ipv4(data)
            }
            (_, false, None) => {
                self.note(Encapsulation::SixInFour);
                Network::Ipv6(data)
            }
            (_, true, None) => {
                self.note(Encapsulation::SixInSix);
                Network::Ipv6(data)
            }
        };
        Inside::Network(inner)
    }
}

/// Whether an IP fragment's datagram may hold TCP, directly or in a tunnel: IPv4 names the
/// protocol in every fragment; IPv6 names the first header of the fragmentable part, which may
/// be an extension header.
pub(crate) fn may_hold_tcp(is_v6: bool, next_header: u8) -> bool {
    matches!(
        next_header,
        PROTO_TCP | PROTO_IPV4 | PROTO_IPV6 | PROTO_GRE | PROTO_UDP
    ) || (is_v6 && matches!(next_header, 0 | 43 | 51 | 60 | 135 | 139 | 140))
}
