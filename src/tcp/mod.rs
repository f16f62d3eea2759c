//! TCP reassembly, per connection and direction: out-of-order segments, retransmissions,
//! overlaps (first copy wins), sequence wrap-around, mid-stream pickup, FIN/RST, and bytes the
//! capture lost, which are passed up as [`StreamEvent::Gap`] values. Memory follows open
//! connections: idle and finished ones are released.
//!
//! Stage boundary: [`crate::wire::TcpSegment`] in, [`StreamEvent`] out (to `http`), through
//! [`Reassembler`]. Parts: `table` (finding and releasing connections), `conn` (one
//! connection), `half` (one direction's byte stream).
//!
//! Events of one connection come in this order: `Open` (on its first packet), then `Data` and
//! `Gap` per direction in stream order, `Fin` of a direction once everything before it was
//! delivered or gapped, `Rst`, and `Closed` last. Nothing of a direction follows its `Fin`, and
//! nothing of the connection follows its `Rst` except `Closed`.
//!
//! **When `Closed` comes.** At once when nothing more can come of the connection: on a RST, or
//! when both FINs were delivered (every byte before each was handed on). The connection's
//! state then stays for the close linger only to absorb late packets (the last ACK, a
//! retransmitted FIN, a RST answering them), which change nothing already reported. A
//! connection whose FINs wait on a hole is `Closed` when the hole is filled or declared lost
//! (at the latest when the linger ends); one that goes quiet, at the idle timeout.
//!
//! Events go to a closure the caller passes to each call (`push`, `advance`, `finish`), like
//! every stage of the core does; the borrowed parts of an event live only for that call.
//! In-order payload is handed on straight from the segment; only segments that arrive ahead of
//! a hole are copied (bounded per direction and in total).
//!
//! **When missing bytes become a gap.** A hole is bytes of a direction not seen yet while later
//! data or that side's FIN was. It is declared lost, as a `Gap` of exactly its length:
//! - when the peer has acknowledged bytes beyond the start of the hole (it received what the
//!   capture did not show) and that proof has held for 4 further packets of the connection; a
//!   segment that is only reordered in the capture arrives within that grace and is delivered
//!   normally; an acknowledgment alone, with nothing seen after the hole, waits for later data
//!   or the end of the connection;
//! - at once, when buffering the data after the hole would exceed `max_pending_per_dir`,
//!   `max_pending_segments_per_dir` or `max_pending_total` (holes are skipped oldest first
//!   until it fits; each hole skipped so counts in [`ReassemblyStats::limits_hit`] and marks the
//!   connection's [`ConnStats::limits_hit`]);
//! - when the connection ends: on a RST, after the close linger that follows both FINs, on the
//!   idle timeout, on eviction, and at `finish` (then bytes acknowledged but never seen at the
//!   end of a stream are a gap too);
//! - bytes cut by the snap length (`TcpSegment::payload_cut`) are known lost on arrival.
//!
//! Sequence numbers more than 1 GiB away from a stream's position are ignored (counted in
//! [`ReassemblyStats::out_of_window_segments`]). A 1-byte segment just before the stream's
//! position is a keep-alive probe, not data. A connection picked up mid-stream often starts with
//! probes (ACK alone, 0 or 1 byte, at one before the next byte): a 1-byte one is skipped, and
//! an empty one anchors the stream only until the peer's acknowledgment or the next data shows
//! the real position one further on, so neither counts a lost byte.

use crate::limits::{Limit, LimitCounts, LimitSet};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use std::net::SocketAddr;

mod conn;
mod half;
mod table;

pub use table::Reassembler;

/// A connection as first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// Sequential identifier, from 1.
    pub id: ConnId,
    /// The initiator: the SYN sender, or for a connection picked up mid-stream the best guess
    /// (the side whose port is not the well-known/lower one).
    pub client: SocketAddr,
    /// The responder.
    pub server: SocketAddr,
    /// Time of the first packet.
    pub ts: Nanos,
    /// The first packet.
    pub frame: FrameRef,
    /// Whether the connection started with its handshake (its first packet was a SYN or
    /// SYN-ACK); false: picked up mid-stream.
    pub handshake_seen: bool,
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnEnd {
    /// FIN from both sides (or FIN and then silence).
    Closed,
    /// A RST was sent.
    Reset,
    /// Released after the idle timeout.
    Idle,
    /// Still open when the input ended.
    CaptureEnded,
    /// SYN never answered.
    HandshakeFailed,
    /// The SYN was answered by a RST (connection refused).
    Refused,
}

/// The client's SYNs kept per connection (the first and its retransmissions).
pub const MAX_SYN_FRAMES: usize = 8;

/// Per-connection counters, per direction (index with `Dir::index()`), and the frames that
/// opened and reset the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Packets, with or without payload.
    pub frames: [u64; 2],
    /// Segments that carried payload.
    pub data_segments: [u64; 2],
    /// Data segments all of whose bytes had been seen before (keep-alive probes excluded).
    pub retransmissions: [u64; 2],
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: [u64; 2],
    /// Bytes delivered in order to the upper layer.
    pub bytes: [u64; 2],
    /// Bytes that overlapped earlier data with different content (the first copy was kept).
    pub conflicting_bytes: [u64; 2],
    /// Bytes the capture lost (reported as gaps).
    pub gap_bytes: [u64; 2],
    /// The client's SYN frames (without ACK), in order: the first and its retransmissions, at
    /// most [`MAX_SYN_FRAMES`].
    pub syn_frames: Vec<FrameRef>,
    /// The frame of the first RST, either way.
    pub rst_frame: Option<FrameRef>,
    /// The resource limits that cut the connection short: bytes declared lost because a
    /// buffer limit was reached, or the connection released early (`open-connections`).
    pub limits_hit: LimitSet,
}

/// One event of the reassembled byte streams, in the order the upper layer must see them.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// A new connection (its first event).
    Open(&'a ConnInfo),
    /// Contiguous in-order bytes of one direction; `frame`/`ts` are of the segment that carried
    /// them.
    Data {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
        bytes: &'a [u8],
    },
    /// `len` bytes of this direction were lost by the capture; data resumes after them.
    Gap {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
        len: u64,
    },
    /// The sender of `dir` finished (all its data before the FIN was delivered).
    Fin {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
    },
    /// A RST was sent in direction `dir`.
    Rst {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
    },
    /// Last event of a connection: its state is released after this.
    Closed {
        info: &'a ConnInfo,
        /// When it ended: the second FIN or the RST, else its last packet.
        ts: Nanos,
        end: ConnEnd,
        stats: &'a ConnStats,
    },
}

/// Limits and timeouts of the reassembler.
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// A connection with no packet for this long is released (`ConnEnd::Idle`).
    pub idle_timeout: Nanos,
    /// After both FINs (or a RST), how long late segments are still accepted (absorbed, when
    /// `Closed` was already emitted; see the module documentation).
    pub close_linger: Nanos,
    /// Out-of-order bytes buffered per direction before the hole is declared a gap
    /// (`stream-buffer-bytes`).
    pub max_pending_per_dir: usize,
    /// Out-of-order segments buffered per direction before the hole is declared a gap
    /// (`stream-buffer-segments`).
    pub max_pending_segments_per_dir: usize,
    /// Out-of-order bytes buffered across all connections (`total-buffer-bytes`).
    pub max_pending_total: usize,
    /// Open connections tracked at once; beyond, the least recently active are released
    /// (`open-connections`).
    pub max_connections: usize,
    /// Connections opened by a SYN that nothing answered yet, tracked at once; beyond, the
    /// oldest of them are released (`half-open-connections`).
    pub max_half_open: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            idle_timeout: 300 * 1_000_000_000,
            close_linger: 5 * 1_000_000_000,
            max_pending_per_dir: Limit::StreamBufferBytes.default_usize(),
            max_pending_segments_per_dir: Limit::StreamBufferSegments.default_usize(),
            max_pending_total: Limit::TotalBufferBytes.default_usize(),
            max_connections: Limit::OpenConnections.default_usize(),
            max_half_open: Limit::HalfOpenConnections.default_usize(),
        }
    }
}

/// Whole-run counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Connections opened.
    pub connections: u64,
    /// Connections with at least one gap.
    pub connections_with_gaps: u64,
    pub gap_bytes: u64,
    /// Connections where a segment overlapped buffered bytes with different content (the
    /// copy first in the capture is kept), and those bytes.
    pub connections_with_conflicts: u64,
    pub conflicting_bytes: u64,
    /// Connections released early because `max_connections` was reached.
    pub evicted: u64,
    /// Data segments ignored because their sequence number was too far (over 1 GiB) from the
    /// stream's position.
    pub out_of_window_segments: u64,
    /// Holes declared lost because a buffer limit was reached, and connections released
    /// because `max_connections` was reached, by limit.
    pub limits_hit: LimitCounts,
}

impl ReassemblyStats {
    /// Adds the counters of another table (one of several that split the connections).
    pub fn merge(&mut self, other: &ReassemblyStats) {
        self.connections += other.connections;
        self.connections_with_gaps += other.connections_with_gaps;
        self.gap_bytes += other.gap_bytes;
        self.connections_with_conflicts += other.connections_with_conflicts;
        self.conflicting_bytes += other.conflicting_bytes;
        self.evicted += other.evicted;
        self.out_of_window_segments += other.out_of_window_segments;
        self.limits_hit.merge(&other.limits_hit);
    }
}
