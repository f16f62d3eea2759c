//! TCP reassembly, per connection and direction: out-of-order segments, retransmissions,
//! overlaps (first copy wins), sequence wrap-around, mid-stream pickup, FIN/RST, and bytes the
//! capture lost, which are passed up as [`StreamEvent::Gap`] values. Memory follows open
//! connections: idle and finished ones are released.

use crate::types::{ConnId, Dir, FrameRef, Nanos};
use std::net::SocketAddr;

mod conn;
mod half;
mod table;

pub use table::Reassembler;

/// A connection as first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: ConnId,
    /// The initiator: the SYN sender, or for a connection picked up mid-stream the best guess
    /// (the side whose port is not the well-known/lower one).
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub ts: Nanos,
    pub frame: FrameRef,
    /// Whether the three-way handshake was seen (false: picked up mid-stream).
    pub handshake_seen: bool,
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnEnd {
    /// FIN from both sides (or FIN and then silence).
    Closed,
    Reset,
    /// Released after the idle timeout.
    Idle,
    /// Still open when the input ended.
    CaptureEnded,
    /// SYN never answered.
    HandshakeFailed,
}

/// Per-connection counters, per direction (index with `Dir::index()`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    pub frames: [u64; 2],
    /// Segments that carried payload.
    pub data_segments: [u64; 2],
    /// Data segments all of whose bytes had been seen before.
    pub retransmissions: [u64; 2],
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: [u64; 2],
    /// Bytes delivered in order to the upper layer.
    pub bytes: [u64; 2],
    /// Bytes that overlapped earlier data with different content (the first copy was kept).
    pub conflicting_bytes: [u64; 2],
    /// Bytes the capture lost (reported as gaps).
    pub gap_bytes: [u64; 2],
}

/// One event of the reassembled byte streams, in the order the upper layer must see them.
#[derive(Debug)]
pub enum StreamEvent<'a> {
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
        ts: Nanos,
        end: ConnEnd,
        stats: &'a ConnStats,
    },
}

/// Receives the reassembler's output.
pub trait StreamSink {
    fn on_stream(&mut self, ev: StreamEvent<'_>);
}

/// Limits and timeouts of the reassembler.
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// A connection with no packet for this long is released (`ConnEnd::Idle`).
    pub idle_timeout: Nanos,
    /// After both FINs (or a RST), how long late segments are still accepted.
    pub close_linger: Nanos,
    /// Out-of-order bytes buffered per direction before the hole is declared a gap.
    pub max_pending_per_dir: usize,
    /// Out-of-order bytes buffered across all connections.
    pub max_pending_total: usize,
    /// Open connections tracked at once; beyond, the least recently active are released.
    pub max_connections: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            idle_timeout: 300 * 1_000_000_000,
            close_linger: 5 * 1_000_000_000,
            max_pending_per_dir: 4 << 20,
            max_pending_total: 256 << 20,
            max_connections: 1 << 20,
        }
    }
}

/// Whole-run counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub connections: u64,
    /// Connections with at least one gap.
    pub connections_with_gaps: u64,
    pub gap_bytes: u64,
    /// Connections released early because a limit was hit.
    pub evicted: u64,
    /// Data segments ignored because their sequence number was too far (over 1 GiB) from the
    /// stream's position.
    pub out_of_window_segments: u64,
}
