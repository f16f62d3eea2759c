//! Frame decoding: link layer (Ethernet with 802.1Q/QinQ, PPPoE and MPLS, PPP, Linux cooked
//! v1/v2, BSD NULL/LOOP, raw IP) to IPv4/IPv6 (extension headers walked, fragments reassembled,
//! with bounds), through tunnels inside IP (IP in IP, GRE with Ethernet, MPLS or ERSPAN inside,
//! VXLAN), to a borrowed TCP segment; mirrored copies of a segment are recognized and set apart.
//!
//! Checksums are not verified (offloading makes them wrong in captures). Nothing here
//! allocates per packet except fragment reassembly.
//!
//! Stage boundary: [`crate::types::Frame`] in, [`Decoded`] out (a [`TcpSegment`] borrowed
//! from the frame or from a reassembled datagram, for `tcp`). Parts, layered like a protocol
//! stack: `link` (link headers), `ip` (IPv4/IPv6 headers), `tunnel` (GRE, ERSPAN, UDP and
//! VXLAN headers, as checked views), `walk` (one frame from its first byte to TCP, through
//! tunnels), `defrag` (fragment reassembly), `mirror` (mirrored duplicates) and `kinds` (what
//! frames were wrapped in, and why some were not decoded, as counted in [`DecodeStats`]).

mod defrag;
mod ip;
mod kinds;
mod link;
mod mirror;
mod tunnel;
mod walk;

pub use kinds::{EncapCounts, Encapsulation, IpProtocol, KindCounts, MAX_KINDS, NonIpKind};

use crate::limits::{Limit, LimitCounts};
use crate::types::{Frame, FrameRef, Nanos};
use defrag::{Defragmenter, FragKey, FragmentIn, Outcome};
use ip::IpPacket;
use mirror::{Fingerprint, MirrorFilter};
use std::net::{IpAddr, SocketAddr};
use walk::{Step, Walk, may_hold_tcp};

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

/// A segment's fields besides its payload: what a segment handed to another thread (or kept
/// after its frame) carries beside a copy of its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub frame: FrameRef,
    pub ts: Nanos,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload_cut: u32,
}

impl TcpSegment<'_> {
    /// The segment's fields besides its payload.
    pub fn header(&self) -> SegmentHeader {
        SegmentHeader {
            frame: self.frame,
            ts: self.ts,
            src: self.src,
            dst: self.dst,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            payload_cut: self.payload_cut,
        }
    }
}

impl SegmentHeader {
    /// The segment again, with its payload.
    pub fn with_payload<'a>(&self, payload: &'a [u8]) -> TcpSegment<'a> {
        TcpSegment {
            frame: self.frame,
            ts: self.ts,
            src: self.src,
            dst: self.dst,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            payload,
            payload_cut: self.payload_cut,
        }
    }
}

/// What a frame turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// A copy of a TCP segment seen just before (a span port mirroring both directions, or two
    /// mirror sessions): not to be reassembled again.
    MirrorCopy(TcpSegment<'a>),
    /// Not IP (ARP, LLDP, …).
    NonIp,
    /// IP but not TCP (UDP, ICMP, …).
    NonTcp,
    /// Cut short by the snap length or malformed below TCP.
    Truncated,
    /// An IP fragment held until its datagram is complete.
    FragmentHeld,
}

/// Counters of what the decoder unwrapped and of the frames it could not turn into TCP
/// segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames that were not IP.
    pub non_ip: u64,
    /// IP frames (or fragments) not carrying TCP.
    pub non_tcp: u64,
    /// Frames cut short by the snap length, or malformed, before the end of the TCP header.
    pub truncated: u64,
    /// IP fragments handed to reassembly (of datagrams that may carry TCP, directly or in a
    /// tunnel).
    pub fragments: u64,
    /// Datagrams completed from fragments.
    pub reassembled_datagrams: u64,
    /// Fragments dropped because a reassembly limit was hit or the datagram never completed.
    pub fragments_dropped: u64,
    /// Frames by the encapsulations they passed through (each frame once per kind).
    pub encapsulations: EncapCounts,
    /// The frames of `non_ip`, by why they carried no IP.
    pub non_ip_kinds: KindCounts<NonIpKind>,
    /// The frames of `non_tcp`, by transport protocol.
    pub non_tcp_kinds: KindCounts<IpProtocol>,
    /// TCP segments that were copies of one seen just before ([`Decoded::MirrorCopy`]).
    pub mirror_duplicates: u64,
}

/// Stateful decoder (it owns the IP defragmentation buffers and the recent segments'
/// fingerprints).
///
/// Fragments of datagrams that may hold TCP are held (bounded in count, bytes and age) and the
/// completed datagram is decoded when its last fragment arrives; fragments that cannot be kept
/// are returned as [`Decoded::FragmentHeld`] too and counted in `fragments_dropped`.
pub struct Decoder {
    stats: DecodeStats,
    defrag: Defragmenter,
    /// A reassembled datagram moved out of the defragmenter, so that a fragment of a tunnelled
    /// packet inside it can complete a second datagram.
    reassembled: Vec<u8>,
    mirror: MirrorFilter,
}

/// Limits of the decoder: what IP fragment reassembly holds at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Datagrams held while their fragments arrive (`ip-fragments`).
    pub max_fragment_datagrams: usize,
    /// Bytes held across those datagrams (`ip-fragment-bytes`).
    pub max_fragment_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_fragment_datagrams: Limit::IpFragments.default_usize(),
            max_fragment_bytes: Limit::IpFragmentBytes.default_usize(),
        }
    }
}

impl Decoder {
    /// A decoder with empty reassembly state and the default limits.
    pub fn new() -> Self {
        Decoder::with_config(&DecoderConfig::default())
    }

    /// A decoder with empty reassembly state and these limits.
    pub fn with_config(cfg: &DecoderConfig) -> Self {
        Decoder {
            stats: DecodeStats::default(),
            defrag: Defragmenter::new(cfg.max_fragment_datagrams, cfg.max_fragment_bytes),
            reassembled: Vec::new(),
            mirror: MirrorFilter::default(),
        }
    }

    /// Datagrams dropped because a fragment reassembly limit was reached, by limit.
    pub fn limits_hit(&self) -> &LimitCounts {
        self.defrag.limits_hit()
    }

    /// Decodes one frame. The segment borrows from the frame or from the decoder.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Decoded<'a> {
        let Decoder {
            stats,
            defrag,
            reassembled,
            mirror,
        } = self;
        let mut walk = Walk::new();
        let mut step = walk.frame(frame.link, frame.data);
        // Bytes the capture says it cut off the frame's end.
        let snap_cut = frame
            .orig_len
            .saturating_sub(u32::try_from(frame.data.len()).unwrap_or(u32::MAX));
        // Each completed datagram uses one of the two buffers, so this ends after three passes.
        let mut defrag = Some(defrag);
        let mut spare = Some(reassembled);
        let decoded = loop {
            // Bytes missing at the end: what the IP length says is missing, bounded by what
            // the capture says it cut (a lying length field in an uncut frame is not a cut).
            let cut = |packet: &IpPacket<'_>| packet.missing.map_or(snap_cut, |m| m.min(snap_cut));
            match step {
                Step::Tcp { packet, data } => {
                    break match tcp_segment(frame.frame, frame.ts, &packet, data, cut(&packet)) {
                        Some((segment, fingerprint)) => {
                            if mirror.is_copy(frame.ts, fingerprint) {
                                stats.mirror_duplicates += 1;
                                Decoded::MirrorCopy(segment)
                            } else {
                                Decoded::Tcp(segment)
                            }
                        }
                        None => {
                            stats.truncated += 1;
                            Decoded::Truncated
                        }
                    };
                }
                Step::NonIp(kind) => {
                    stats.non_ip += 1;
                    stats.non_ip_kinds.add(kind);
                    break Decoded::NonIp;
                }
                Step::NonTcp(protocol) => {
                    stats.non_tcp += 1;
                    stats.non_tcp_kinds.add(protocol);
                    break Decoded::NonTcp;
                }
                Step::Truncated => {
                    stats.truncated += 1;
                    break Decoded::Truncated;
                }
                Step::Fragment { packet, fragment } => {
                    if !may_hold_tcp(packet.is_v6, fragment.next_header) {
                        stats.non_tcp += 1;
                        stats.non_tcp_kinds.add(IpProtocol(fragment.next_header));
                        break Decoded::NonTcp;
                    }
                    if cut(&packet) > 0 {
                        // A fragment missing its tail can never complete its datagram.
                        stats.truncated += 1;
                        break Decoded::Truncated;
                    }
                    let Some(held) = defrag.as_deref_mut() else {
                        stats.non_ip += 1;
                        stats.non_ip_kinds.add(NonIpKind::TooDeep);
                        break Decoded::NonIp;
                    };
                    stats.fragments += 1;
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
                    let outcome = held.push(
                        frame.ts,
                        FragmentIn {
                            key,
                            offset: fragment.offset,
                            more: fragment.more,
                            next_header: fragment.next_header,
                            data: fragment.data,
                        },
                    );
                    stats.fragments_dropped += held.take_dropped();
                    let Outcome::Completed { next_header } = outcome else {
                        break Decoded::FragmentHeld;
                    };
                    stats.reassembled_datagrams += 1;
                    let datagram: &'a [u8] = match spare.take() {
                        Some(buffer) => {
                            held.move_completed_into(buffer);
                            let buffer: &'a Vec<u8> = buffer;
                            buffer
                        }
                        None => defrag.take().map_or(&[], |d| d.completed()),
                    };
                    step = walk.reassembled(packet, next_header, datagram);
                }
            }
        };
        stats.encapsulations.add(walk.encapsulations());
        decoded
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

/// Which datagram a frame is a fragment of (the outermost fragmented packet, inside tunnels
/// if need be); `None` for a frame that is no IP fragment.
pub fn fragment_of(frame: &Frame<'_>) -> Option<FragmentOf> {
    match Walk::new().frame(frame.link, frame.data) {
        Step::Fragment { packet, fragment } => Some(FragmentOf {
            src: packet.src,
            dst: packet.dst,
            id: fragment.id,
        }),
        _ => None,
    }
}

/// Reads the TCP header at the start of `data`, with the fingerprint that recognizes copies of
/// the segment; `None` if the header is incomplete or malformed.
fn tcp_segment<'a>(
    frame: FrameRef,
    ts: Nanos,
    packet: &IpPacket<'_>,
    data: &'a [u8],
    payload_cut: u32,
) -> Option<(TcpSegment<'a>, Fingerprint)> {
    let header = etherparse::TcpHeaderSlice::from_slice(data).ok()?;
    let header_bytes = header.slice();
    let payload = data.get(header_bytes.len()..)?;
    let flags = *header_bytes.get(13)?;
    let segment = TcpSegment {
        frame,
        ts,
        src: SocketAddr::new(packet.src, header.source_port()),
        dst: SocketAddr::new(packet.dst, header.destination_port()),
        seq: header.sequence_number(),
        ack: header.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: header.window_size(),
        payload,
        payload_cut,
    };
    let fingerprint = Fingerprint {
        src: packet.src,
        dst: packet.dst,
        ident: packet.ident.filter(|id| *id != 0),
        ports: (segment.src.port(), segment.dst.port()),
        seq: segment.seq,
        ack: segment.ack,
        flags,
        window: segment.window,
        payload_len: payload.len() as u64 + u64::from(payload_cut),
        content: Fingerprint::content_hash(header_bytes.get(20..).unwrap_or_default(), payload),
    };
    Some((segment, fingerprint))
}

#[cfg(test)]
mod tests;
