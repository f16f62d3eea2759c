//! Frame decoding: link layer (Ethernet with 802.1Q/QinQ, Linux cooked v1/v2, BSD NULL/LOOP,
//! raw IP) to IPv4/IPv6 (fragments reassembled, with bounds) to a borrowed TCP segment.

use crate::capture::Frame;
use crate::types::{FrameRef, Nanos};
use std::net::SocketAddr;

/// TCP flag bits as on the wire (FIN = 0x01 … ACK = 0x10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// One TCP segment, its payload borrowed from the frame (or from the defragmenter).
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    pub frame: FrameRef,
    pub ts: Nanos,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload: &'a [u8],
    /// Payload bytes missing from the end of `payload` because the capture's snap length cut
    /// the frame (the segment carried `payload.len() + payload_cut` bytes on the wire).
    pub payload_cut: u32,
}

/// What a frame turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
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
    pub non_ip: u64,
    pub non_tcp: u64,
    pub truncated: u64,
    pub fragments: u64,
    pub reassembled_datagrams: u64,
    /// Fragments dropped because a reassembly limit was hit or the datagram never completed.
    pub fragments_dropped: u64,
}

/// Stateful decoder (it owns the IP defragmentation buffers).
pub struct Decoder {
    _private: (),
}

impl Decoder {
    pub fn new() -> Self {
        unimplemented!()
    }

    /// Decodes one frame. The segment borrows from the frame or from the decoder.
    pub fn decode<'a>(&'a mut self, _frame: &Frame<'a>) -> Decoded<'a> {
        unimplemented!()
    }

    pub fn stats(&self) -> &DecodeStats {
        unimplemented!()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether frames of this link type can be decoded (readers reject other link types at open).
pub fn is_supported(_link: crate::capture::LinkType) -> bool {
    unimplemented!()
}
