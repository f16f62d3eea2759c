//! One TCP connection: who is client and server, its two directions, and how it ends.

use super::half::HalfStats;
use super::half::{Ctx, HalfStream};
use super::{
    ConnEnd, ConnInfo, ConnStats, MAX_SYN_FRAMES, ReassemblyConfig, ReassemblyStats, StreamEvent,
};
use crate::limits::LimitSet;
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use crate::wire::TcpSegment;
use std::net::SocketAddr;

/// Ports that identify the server side of a connection picked up mid-stream, besides every
/// port below 1024: CWMP (7547), connection requests (7557), HTTP alternatives.
const SERVICE_PORTS: [u16; 4] = [7547, 7557, 8080, 8443];

fn is_service_port(port: u16) -> bool {
    port < 1024 || SERVICE_PORTS.contains(&port)
}

/// Both directions of a 4-tuple map to the same key (the smaller address first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct ConnKey(SocketAddr, SocketAddr);

impl ConnKey {
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b { ConnKey(a, b) } else { ConnKey(b, a) }
    }
}

/// Decides who is the client of a connection from its first segment: the SYN sender (or the
/// receiver of a SYN-ACK); mid-stream, the side without the service port; failing that, the
/// first sender.
fn guess_roles(seg: &TcpSegment<'_>) -> (SocketAddr, SocketAddr) {
    let (src, dst) = (seg.src, seg.dst);
    if seg.flags.syn() {
        return if seg.flags.ack() {
            (dst, src)
        } else {
            (src, dst)
        };
    }
    match (is_service_port(src.port()), is_service_port(dst.port())) {
        (true, true) if src.port() < dst.port() => (dst, src),
        (true, false) => (dst, src),
        _ => (src, dst),
    }
}

/// A tracked connection.
#[derive(Debug)]
pub(super) struct Conn {
    pub info: ConnInfo,
    pub key: ConnKey,
    /// Indexed by `Dir::index()`.
    halves: [HalfStream; 2],
    /// Packets seen in both directions.
    packets: u64,
    pub last_ts: Nanos,
    /// When both sides had sent a FIN, or a RST was seen: the close linger runs from here.
    pub closing_since: Option<Nanos>,
    reset: bool,
    /// The frame of the RST and the direction it travelled.
    rst: Option<(FrameRef, Dir)>,
    /// The client's SYN frames (see [`ConnStats::syn_frames`]).
    syn_frames: Vec<FrameRef>,
    has_gap: bool,
    /// Bytes overlapping buffered ones with other content were seen (counted once).
    has_conflict: bool,
    /// `Closed` was already emitted (see [`Conn::close_early`]): the connection only absorbs
    /// late packets until it is released.
    reported: bool,
    /// Limits that cut the connection as a whole (not one direction's stream).
    pub limits_hit: LimitSet,
    /// The server sent something, or the client sent payload: no longer half-open.
    answered: bool,
    /// Counted among the table's half-open connections.
    pub counted_half_open: bool,
}

impl Conn {
    /// A connection opened by `seg` (its first packet).
    pub fn new(id: ConnId, seg: &TcpSegment<'_>) -> Self {
        let (client, server) = guess_roles(seg);
        Conn {
            info: ConnInfo {
                id,
                client,
                server,
                ts: seg.ts,
                frame: seg.frame,
                handshake_seen: seg.flags.syn(),
            },
            key: ConnKey::new(seg.src, seg.dst),
            halves: Default::default(),
            packets: 0,
            last_ts: seg.ts,
            closing_since: None,
            reset: false,
            rst: None,
            syn_frames: Vec::new(),
            has_gap: false,
            has_conflict: false,
            reported: false,
            limits_hit: LimitSet::EMPTY,
            answered: false,
            counted_half_open: false,
        }
    }

    /// Opened by a SYN that nothing answered yet: no packet from the server, no payload.
    pub fn is_half_open(&self) -> bool {
        self.info.handshake_seen && !self.answered
    }

    /// Direction of a segment sent by `src`.
    pub fn dir_of(&self, src: SocketAddr) -> Dir {
        if src == self.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// When the connection is to be released if nothing else happens.
    pub fn deadline(&self, cfg: &ReassemblyConfig) -> Nanos {
        match self.closing_since {
            Some(since) => since.saturating_add(cfg.close_linger),
            None => self.last_ts.saturating_add(cfg.idle_timeout),
        }
    }

    /// Whether a SYN without ACK from `src` with ISN `seq` opens a new connection on this
    /// 4-tuple (port reuse) rather than belonging to this one (a retransmitted SYN, or the SYN
    /// of a handshake whose other packets were captured first).
    pub fn is_superseded_by_syn(&self, src: SocketAddr, seq: u32) -> bool {
        let half = &self.halves[self.dir_of(src).index()];
        if half.syn_isn() == Some(seq) {
            return false;
        }
        self.reset
            || self.halves.iter().any(HalfStream::fin_seen)
            || half.syn_isn().is_some()
            || half.payload_seen()
    }

    /// Feeds one segment of this connection. Returns true when the connection just started
    /// closing (both FINs seen, or a RST), so the caller schedules its release.
    pub fn on_segment<S: FnMut(StreamEvent<'_>)>(
        &mut self,
        seg: &TcpSegment<'_>,
        shared: &mut Shared<'_, S>,
    ) -> bool {
        self.packets += 1;
        self.last_ts = self.last_ts.max(seg.ts);
        let dir = self.dir_of(seg.src);
        let this = dir.index();
        if dir == Dir::ToClient || !seg.payload.is_empty() {
            self.answered = true;
        }
        if dir == Dir::ToServer
            && seg.flags.syn()
            && !seg.flags.ack()
            && self.syn_frames.len() < MAX_SYN_FRAMES
        {
            self.syn_frames.push(seg.frame);
        }
        if self.reported {
            // Closed and reported: late packets (the last ACK, retransmitted FINs) are
            // absorbed until the close linger ends.
            return false;
        }
        if self.reset {
            // Late packets after a RST are absorbed.
            if let Some(half) = self.halves.get_mut(this) {
                half.stats.frames += 1;
            }
            return false;
        }
        if seg.flags.rst() {
            if let Some(half) = self.halves.get_mut(this) {
                half.stats.frames += 1;
            }
            self.flush(shared);
            (shared.out)(StreamEvent::Rst {
                conn: self.info.id,
                dir,
                frame: seg.frame,
                ts: seg.ts,
            });
            self.reset = true;
            self.rst = Some((seg.frame, dir));
            self.closing_since = Some(seg.ts);
            return true;
        }
        let id = self.info.id;
        let packets = self.packets;
        let [to_server, to_client] = &mut self.halves;
        let (sender, receiver) = match dir {
            Dir::ToServer => (to_server, to_client),
            Dir::ToClient => (to_client, to_server),
        };
        sender.on_segment(seg, &mut shared.ctx(id, dir));
        if seg.flags.ack() {
            receiver.on_peer_ack(seg.ack);
        }
        sender.check_loss(packets, &mut shared.ctx(id, dir));
        receiver.check_loss(packets, &mut shared.ctx(id, dir.reverse()));
        self.note_damage(shared.stats);
        if self.closing_since.is_none() && self.halves.iter().all(HalfStream::fin_seen) {
            self.closing_since = Some(seg.ts);
            return true;
        }
        false
    }

    /// Delivers or gaps whatever is left in both directions.
    fn flush<S: FnMut(StreamEvent<'_>)>(&mut self, shared: &mut Shared<'_, S>) {
        let id = self.info.id;
        for dir in [Dir::ToServer, Dir::ToClient] {
            if let Some(half) = self.halves.get_mut(dir.index()) {
                half.flush(&mut shared.ctx(id, dir));
            }
        }
        self.note_damage(shared.stats);
    }

    fn note_damage(&mut self, stats: &mut ReassemblyStats) {
        if !self.has_gap && self.halves.iter().any(|h| h.stats.gap_bytes > 0) {
            self.has_gap = true;
            stats.connections_with_gaps += 1;
        }
        if !self.has_conflict && self.halves.iter().any(|h| h.stats.conflicting_bytes > 0) {
            self.has_conflict = true;
            stats.connections_with_conflicts += 1;
        }
    }

    /// How the connection ended, `otherwise` when neither FIN, RST nor a failed handshake
    /// explains it.
    fn end(&self, otherwise: ConnEnd) -> ConnEnd {
        let [to_server, to_client] = &self.halves;
        let refused = matches!(self.rst, Some((_, Dir::ToClient)))
            && to_server.syn_isn().is_some()
            && to_client.syn_isn().is_none()
            && !to_client.payload_seen();
        if refused {
            ConnEnd::Refused
        } else if self.reset {
            ConnEnd::Reset
        } else if to_server.fin_seen() || to_client.fin_seen() {
            ConnEnd::Closed
        } else if to_server.syn_isn().is_some() && to_client.stats.frames == 0 {
            ConnEnd::HandshakeFailed
        } else {
            otherwise
        }
    }

    /// Per-direction counters, as reported in `Closed`.
    pub fn stats(&self) -> ConnStats {
        let pick = |f: fn(&HalfStats) -> u64| [f(&self.halves[0].stats), f(&self.halves[1].stats)];
        ConnStats {
            frames: pick(|s| s.frames),
            data_segments: pick(|s| s.data_segments),
            retransmissions: pick(|s| s.retransmissions),
            out_of_order: pick(|s| s.out_of_order),
            bytes: pick(|s| s.bytes),
            conflicting_bytes: pick(|s| s.conflicting_bytes),
            gap_bytes: pick(|s| s.gap_bytes),
            syn_frames: self.syn_frames.clone(),
            rst_frame: self.rst.map(|(frame, _)| frame),
            limits_hit: {
                let mut limits = self.limits_hit;
                for half in &self.halves {
                    limits.extend(half.stats.limits_hit);
                }
                limits
            },
        }
    }

    /// Emits `Closed` at once when nothing more can come of the connection: a RST was seen, or
    /// both FINs were delivered (every byte before them handed on). Its state stays until the
    /// close linger ends, to absorb late packets, but the upper stages need not wait for that.
    pub fn close_early<S: FnMut(StreamEvent<'_>)>(&mut self, shared: &mut Shared<'_, S>) {
        if self.reported || self.closing_since.is_none() {
            return;
        }
        if !self.reset && !self.halves.iter().all(HalfStream::fin_delivered) {
            return;
        }
        self.reported = true;
        // As at the release: nothing is left to deliver, but buffered bytes are let go.
        self.flush(shared);
        let stats = self.stats();
        (shared.out)(StreamEvent::Closed {
            info: &self.info,
            ts: self.closing_since.unwrap_or(self.last_ts),
            end: self.end(ConnEnd::Closed),
            stats: &stats,
        });
    }

    /// Flushes both directions and emits `Closed` (unless [`Conn::close_early`] did); the
    /// connection is gone after this.
    pub fn close<S: FnMut(StreamEvent<'_>)>(
        mut self,
        otherwise: ConnEnd,
        shared: &mut Shared<'_, S>,
    ) {
        if self.reported {
            return;
        }
        self.flush(shared);
        let stats = self.stats();
        (shared.out)(StreamEvent::Closed {
            info: &self.info,
            ts: self.closing_since.unwrap_or(self.last_ts),
            end: self.end(otherwise),
            stats: &stats,
        });
    }
}

/// The reassembler's state that every connection shares while handling a packet.
pub(super) struct Shared<'s, S> {
    pub out: &'s mut S,
    pub cfg: &'s ReassemblyConfig,
    pub pending_total: &'s mut usize,
    pub stats: &'s mut ReassemblyStats,
}

impl<S> Shared<'_, S> {
    fn ctx(&mut self, conn: ConnId, dir: Dir) -> Ctx<'_, S> {
        Ctx {
            conn,
            dir,
            out: &mut *self.out,
            cfg: self.cfg,
            pending_total: &mut *self.pending_total,
            stats: &mut *self.stats,
        }
    }
}

#[cfg(test)]
mod tests;
