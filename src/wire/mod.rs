//! Frame decoding: link layer (Ethernet with 802.1Q/QinQ, PPPoE and MPLS, PPP, Linux cooked
//! v1/v2, BSD NULL/LOOP, raw IP) to IPv4/IPv6 (fragments reassembled, with bounds) to a borrowed
//! TCP segment.
//!
//! Checksums are not verified (offloading makes them wrong in captures). Nothing here
//! allocates per packet except fragment reassembly.
//!
//! Stage boundary: [`crate::types::Frame`] in, [`Decoded`] out (a [`TcpSegment`] borrowed
//! from the frame or from a reassembled datagram, for `tcp`). Parts: `link` (link headers),
//! `ip` (IPv4/IPv6 headers), `defrag` (fragment reassembly).

mod defrag;
mod ip;
mod link;

use crate::types::{Frame, FrameRef, Nanos};
use defrag::{Defragmenter, FragKey, FragmentIn, Outcome};
use ip::{IpError, IpPacket, Payload};
use link::Network;
use std::net::{IpAddr, SocketAddr};

/// TCP flag bits as on the wire (FIN = 0x01 … ACK = 0x10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field significant.
    pub const ACK: u8 = 0x10;
    /// FIN is set.
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    /// SYN is set.
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    /// RST is set.
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    /// ACK is set.
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// One TCP segment, its payload borrowed from the frame (or from the defragmenter).
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// The frame that carried it (for a reassembled datagram: its last fragment).
    pub frame: FrameRef,
    /// Capture time of that frame.
    pub ts: Nanos,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags.ack()`).
    pub ack: u32,
    /// TCP flags.
    pub flags: TcpFlags,
    /// Advertised window (unscaled).
    pub window: u16,
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the snap length cut off after `payload` (the segment really carried
    /// `payload.len() + payload_cut` bytes); the reassembler counts them as a gap.
    pub payload_cut: u32,
}

/// What a frame turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// Not IP (ARP, LLDP, …).
    NonIp,
    /// IP but not TCP (UDP, ICMP, …).
    NonTcp,
    /// Cut short by the snap length or malformed below TCP.
    Truncated,
    /// An IP fragment held until its datagram is complete.
    FragmentHeld,
}

/// Counters of frames the decoder could not turn into TCP segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames that were not IP.
    pub non_ip: u64,
    /// IP frames (or fragments) not carrying TCP.
    pub non_tcp: u64,
    /// Frames cut short by the snap length, or malformed, before the end of the TCP header.
    pub truncated: u64,
    /// IP fragments of TCP datagrams handed to reassembly.
    pub fragments: u64,
    /// Datagrams completed from fragments.
    pub reassembled_datagrams: u64,
    /// Fragments dropped because a reassembly limit was hit or the datagram never completed.
    pub fragments_dropped: u64,
}

/// Stateful decoder (it owns the IP defragmentation buffers).
///
/// Fragments of TCP datagrams are held (bounded in count, bytes and age) and the completed
/// datagram is decoded when its last fragment arrives; fragments that cannot be kept are
/// returned as [`Decoded::FragmentHeld`] too and counted in `fragments_dropped`.
pub struct Decoder {
    stats: DecodeStats,
    defrag: Defragmenter,
}

impl Decoder {
    /// A decoder with empty reassembly state.
    pub fn new() -> Self {
        Decoder {
            stats: DecodeStats::default(),
            defrag: Defragmenter::default(),
        }
    }

    /// Decodes one frame. The segment borrows from the frame or from the decoder.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Decoded<'a> {
        let parsed = match link::network_layer(frame.link, frame.data) {
            Network::Ipv4(bytes) => ip::parse_v4(bytes),
            Network::Ipv6(bytes) => ip::parse_v6(bytes),
            Network::AnyIp(bytes) => ip::parse_any(bytes),
            Network::NonIp => Err(IpError::NotIp),
            Network::Truncated => Err(IpError::Truncated),
        };
        let packet = match parsed {
            Ok(packet) => packet,
            Err(IpError::NotIp) => {
                self.stats.non_ip += 1;
                return Decoded::NonIp;
            }
            Err(IpError::Truncated) => {
                self.stats.truncated += 1;
                return Decoded::Truncated;
            }
        };
        // Bytes missing at the end: what the IP length says is missing, bounded by what the
        // capture says it cut (a lying length field in an uncut frame is not a cut).
        let snap_cut = frame
            .orig_len
            .saturating_sub(u32::try_from(frame.data.len()).unwrap_or(u32::MAX));
        let cut = packet.missing.map_or(snap_cut, |m| m.min(snap_cut));
        match packet.payload {
            Payload::Transport {
                protocol: ip::PROTO_TCP,
                data,
            } => self.tcp(frame.frame, frame.ts, &packet, data, cut),
            Payload::Transport { .. } => {
                self.stats.non_tcp += 1;
                Decoded::NonTcp
            }
            Payload::Fragment(fragment) => {
                if !could_carry_tcp(packet.is_v6, fragment.next_header) {
                    self.stats.non_tcp += 1;
                    return Decoded::NonTcp;
                }
                if cut > 0 {
                    // A fragment missing its tail can never complete its datagram.
                    self.stats.truncated += 1;
                    return Decoded::Truncated;
                }
                self.stats.fragments += 1;
                let key = FragKey {
                    src: packet.src,
                    dst: packet.dst,
                    id: fragment.id,
                    protocol: if packet.is_v6 {
                        0
                    } else {
                        fragment.next_header
                    },
                };
                let outcome = self.defrag.push(
                    frame.ts,
                    FragmentIn {
                        key,
                        offset: fragment.offset,
                        more: fragment.more,
                        next_header: fragment.next_header,
                        data: fragment.data,
                    },
                );
                self.stats.fragments_dropped += self.defrag.take_dropped();
                match outcome {
                    Outcome::Held | Outcome::Rejected => Decoded::FragmentHeld,
                    Outcome::Completed { next_header } => {
                        self.stats.reassembled_datagrams += 1;
                        let datagram: &'a [u8] = self.defrag.completed();
                        let transport = if packet.is_v6 {
                            ip::walk_v6_extensions(next_header, datagram)
                        } else {
                            Ok(Payload::Transport {
                                protocol: next_header,
                                data: datagram,
                            })
                        };
                        match transport {
                            Ok(Payload::Transport {
                                protocol: ip::PROTO_TCP,
                                data,
                            }) => match tcp_segment(frame.frame, frame.ts, &packet, data, 0) {
                                Some(segment) => Decoded::Tcp(segment),
                                None => {
                                    self.stats.truncated += 1;
                                    Decoded::Truncated
                                }
                            },
                            Ok(Payload::Transport { .. }) => {
                                self.stats.non_tcp += 1;
                                Decoded::NonTcp
                            }
                            // A fragment header inside a reassembled datagram, or a bad chain.
                            Ok(Payload::Fragment(_)) | Err(_) => {
                                self.stats.truncated += 1;
                                Decoded::Truncated
                            }
                        }
                    }
                }
            }
        }
    }

    fn tcp<'a>(
        &mut self,
        frame: FrameRef,
        ts: Nanos,
        packet: &IpPacket<'_>,
        data: &'a [u8],
        cut: u32,
    ) -> Decoded<'a> {
        match tcp_segment(frame, ts, packet, data, cut) {
            Some(segment) => Decoded::Tcp(segment),
            None => {
                self.stats.truncated += 1;
                Decoded::Truncated
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// The datagram an IP fragment belongs to: its addresses and identification (IPv4's 16-bit id,
/// IPv6's 32-bit one), as fragment reassembly keys it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentOf {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
}

/// Which datagram a frame is a fragment of; `None` for a frame that is no IP fragment.
pub fn fragment_of(frame: &Frame<'_>) -> Option<FragmentOf> {
    let parsed = match link::network_layer(frame.link, frame.data) {
        Network::Ipv4(bytes) => ip::parse_v4(bytes),
        Network::Ipv6(bytes) => ip::parse_v6(bytes),
        Network::AnyIp(bytes) => ip::parse_any(bytes),
        Network::NonIp | Network::Truncated => return None,
    };
    let packet = parsed.ok()?;
    match packet.payload {
        Payload::Fragment(f) => Some(FragmentOf {
            src: packet.src,
            dst: packet.dst,
            id: f.id,
        }),
        Payload::Transport { .. } => None,
    }
}

/// Whether a fragment's datagram may hold TCP: IPv4 names the protocol in every fragment;
/// IPv6 names the first header of the fragmentable part, which may be an extension header.
fn could_carry_tcp(is_v6: bool, next_header: u8) -> bool {
    next_header == ip::PROTO_TCP
        || (is_v6 && matches!(next_header, 0 | 43 | 51 | 60 | 135 | 139 | 140))
}

/// Reads the TCP header at the start of `data`; `None` if it is incomplete or malformed.
fn tcp_segment<'a>(
    frame: FrameRef,
    ts: Nanos,
    packet: &IpPacket<'_>,
    data: &'a [u8],
    payload_cut: u32,
) -> Option<TcpSegment<'a>> {
    let header = etherparse::TcpHeaderSlice::from_slice(data).ok()?;
    let header_bytes = header.slice();
    let payload = data.get(header_bytes.len()..)?;
    Some(TcpSegment {
        frame,
        ts,
        src: SocketAddr::new(packet.src, header.source_port()),
        dst: SocketAddr::new(packet.dst, header.destination_port()),
        seq: header.sequence_number(),
        ack: header.acknowledgment_number(),
        flags: TcpFlags(*header_bytes.get(13)?),
        window: header.window_size(),
        payload,
        payload_cut,
    })
}

#[cfg(test)]
mod tests;
