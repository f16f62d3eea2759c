//! One direction of a TCP connection: turns the sender's segments (in any order, repeated,
//! overlapping, cut short by the snap length) into its byte stream, with the holes the capture
//! lost reported as gaps.
//!
//! Positions are kept as 64-bit stream offsets (0 = the first data byte after the SYN, or the
//! first byte seen for a connection picked up mid-stream); sequence numbers are turned into
//! offsets by serial-number arithmetic around the next expected byte, so wrap-around at 2^32 is
//! invisible past this point.
//!
//! Invariants: buffered chunks never overlap and all lie strictly after `next_off` once
//! [`HalfStream::drain`] has run; `pending_cost` is the sum of the chunks' costs.
//!
//! When a hole is declared lost (the rule, also in the module doc of `tcp`):
//! - the peer acknowledged bytes beyond the hole and either data after the hole is buffered or
//!   this side's FIN lies beyond it, and this evidence has stood for
//!   [`REORDER_GRACE_PACKETS`] further packets of the connection (a segment merely captured late
//!   has that long to show up);
//! - a pending-buffer limit is exceeded (immediately; counted by limit, and the direction
//!   remembers which limits cut it);
//! - the connection ends (RST, the close linger, the idle timeout, eviction, end of input).

use super::{ReassemblyConfig, ReassemblyStats, StreamEvent};
use crate::limits::{Limit, LimitSet};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use crate::wire::{TcpFlags, TcpSegment};
use std::collections::BTreeMap;

/// Largest distance in bytes between a sequence number and the next expected one that is still
/// taken as part of this stream; farther segments (and acknowledgments) are ignored.
const MAX_SEQ_DISTANCE: i64 = 1 << 30;

/// Largest snap-length cut believed for one segment (an IP packet carries at most 64 KiB; the
/// margin covers offloaded super-segments).
const MAX_PAYLOAD_CUT: i64 = 1 << 18;

/// Bookkeeping cost charged per buffered chunk on top of its bytes, so that many tiny chunks
/// are bounded by the same limits as a few large ones.
const CHUNK_OVERHEAD: usize = 64;

/// Packets of the connection to wait, once the peer has acknowledged bytes the capture never
/// showed, before the hole is declared a gap: a segment that was only reordered in the capture
/// gets that long to arrive.
pub(super) const REORDER_GRACE_PACKETS: u64 = 4;

/// Bytes of a buffered chunk: real bytes, or a run known to be lost (cut by the snap length).
#[derive(Debug)]
enum ChunkData {
    Bytes(Vec<u8>),
    Missing(i64),
}

/// One buffered out-of-order run, with the segment that brought it.
#[derive(Debug)]
struct Chunk {
    frame: FrameRef,
    ts: Nanos,
    data: ChunkData,
}

impl Chunk {
    fn len(&self) -> i64 {
        match &self.data {
            ChunkData::Bytes(b) => b.len() as i64,
            ChunkData::Missing(n) => *n,
        }
    }

    fn cost(&self) -> usize {
        match &self.data {
            ChunkData::Bytes(b) => b.len() + CHUNK_OVERHEAD,
            ChunkData::Missing(_) => CHUNK_OVERHEAD,
        }
    }
}

/// Where this side's FIN sits in the stream, and the segment that carried it.
#[derive(Clone, Copy, Debug)]
struct FinMark {
    off: i64,
    frame: FrameRef,
    ts: Nanos,
}

/// Counters of one direction (the per-direction columns of `ConnStats`).
#[derive(Clone, Debug, Default)]
pub(super) struct HalfStats {
    pub frames: u64,
    pub data_segments: u64,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub bytes: u64,
    pub conflicting_bytes: u64,
    pub gap_bytes: u64,
    /// The buffer limits that made holes of this direction gaps.
    pub limits_hit: LimitSet,
}

/// What a direction needs from its surroundings to emit events and account for memory.
pub(super) struct Ctx<'c, S> {
    pub conn: ConnId,
    pub dir: Dir,
    pub out: &'c mut S,
    pub cfg: &'c ReassemblyConfig,
    /// Buffered cost across all connections.
    pub pending_total: &'c mut usize,
    pub stats: &'c mut ReassemblyStats,
}

/// The assembler of one direction.
#[derive(Debug, Default)]
pub(super) struct HalfStream {
    /// Whether the stream position is anchored (by a SYN, a first segment or a peer ACK).
    started: bool,
    /// The anchor came from a segment without payload (mid-stream pickup) and nothing has
    /// confirmed it yet: it may be a keep-alive probe, one before the real position.
    anchored_by_empty: bool,
    /// Sequence number of offset 0.
    base_seq: u32,
    /// Offset of the next byte to deliver (bytes delivered plus bytes declared lost).
    next_off: i64,
    /// ISN of this side's SYN, when one was seen.
    syn_isn: Option<u32>,
    /// Whether any segment of this side carried payload.
    payload_seen: bool,
    /// Highest offset the peer acknowledged (it holds every byte before it).
    acked_off: i64,
    fin: Option<FinMark>,
    fin_emitted: bool,
    /// Out-of-order runs by offset; never overlapping, all after `next_off` between calls.
    pending: BTreeMap<i64, Chunk>,
    pending_cost: usize,
    /// Connection packet count at which the current proof of loss was first seen.
    loss_seen_at: Option<u64>,
    last_frame: FrameRef,
    last_ts: Nanos,
    pub stats: HalfStats,
}

impl HalfStream {
    /// Whether this side sent a FIN (delivered or not).
    pub fn fin_seen(&self) -> bool {
        self.fin.is_some()
    }

    /// Whether the FIN was handed on (everything before it was delivered or gapped).
    pub fn fin_delivered(&self) -> bool {
        self.fin_emitted
    }

    /// Whether a SYN of this side was seen.
    pub fn syn_isn(&self) -> Option<u32> {
        self.syn_isn
    }

    /// Whether any segment of this side carried payload.
    pub fn payload_seen(&self) -> bool {
        self.payload_seen
    }

    fn start_at(&mut self, seq: u32) {
        self.started = true;
        self.anchored_by_empty = false;
        self.base_seq = seq;
        self.next_off = 0;
        self.acked_off = 0;
    }

    /// Whether nothing was delivered, gapped or buffered since the stream was anchored.
    fn untouched_since_anchor(&self) -> bool {
        self.next_off == 0 && self.pending.is_empty() && self.fin.is_none()
    }

    /// Stream offset of `seq`, or `None` when it is too far from the next expected byte.
    fn offset_of(&self, seq: u32) -> Option<i64> {
        let next_seq = self.base_seq.wrapping_add(self.next_off as u32);
        let distance = i64::from(seq.wrapping_sub(next_seq) as i32);
        (distance.abs() <= MAX_SEQ_DISTANCE).then_some(self.next_off + distance)
    }

    /// A SYN from this side: anchors the stream at ISN + 1 unless the stream already moved.
    fn on_syn(&mut self, seq: u32) {
        if self.syn_isn == Some(seq) {
            return;
        }
        let untouched = self.next_off == 0 && self.pending.is_empty() && !self.payload_seen;
        if !self.started || untouched {
            self.syn_isn = Some(seq);
            self.start_at(seq.wrapping_add(1));
        }
    }

    /// The peer acknowledged `ack` of this direction.
    pub fn on_peer_ack(&mut self, ack: u32) {
        if !self.started {
            // Picked up mid-stream: the peer expects `ack` next, so this side's data starts there.
            self.start_at(ack);
            return;
        }
        if self.anchored_by_empty {
            self.anchored_by_empty = false;
            if self.untouched_since_anchor() && ack == self.base_seq.wrapping_add(1) {
                // The empty segment was a keep-alive probe (sent at one before the next byte):
                // the peer's answer names the real position.
                self.start_at(ack);
                return;
            }
        }
        if let Some(off) = self.offset_of(ack) {
            self.acked_off = self.acked_off.max(off);
        }
    }

    /// Feeds one segment sent in this direction (not a RST: the connection handles those).
    pub fn on_segment<S: FnMut(StreamEvent<'_>)>(
        &mut self,
        seg: &TcpSegment<'_>,
        ctx: &mut Ctx<'_, S>,
    ) {
        self.stats.frames += 1;
        self.last_frame = seg.frame;
        self.last_ts = seg.ts;
        let syn = seg.flags.syn();
        if syn {
            self.on_syn(seg.seq);
        }
        let data_seq = seg.seq.wrapping_add(u32::from(syn));
        let cut = i64::from(seg.payload_cut).min(MAX_PAYLOAD_CUT);
        let len = seg.payload.len() as i64 + cut;
        if !self.started {
            if is_probe_shaped(seg, syn, len) && len == 1 {
                // Picked up mid-stream on a one-byte keep-alive probe: its byte is one the
                // receiver already has, the stream goes on after it. (A genuine one-byte
                // segment here would belong to a message whose start the capture missed.)
                self.start_at(data_seq.wrapping_add(1));
                return;
            }
            self.start_at(data_seq);
            self.anchored_by_empty = len == 0 && is_probe_shaped(seg, syn, len);
        }
        if seg.flags.fin()
            && self.fin.is_none()
            && let Some(start) = self.offset_of(data_seq)
        {
            self.fin = Some(FinMark {
                off: (start + len).max(0),
                frame: seg.frame,
                ts: seg.ts,
            });
        }
        if len > 0 {
            self.payload_seen = true;
            self.on_data(seg, data_seq, len, ctx);
        }
        self.maybe_emit_fin(ctx);
    }

    fn on_data<S: FnMut(StreamEvent<'_>)>(
        &mut self,
        seg: &TcpSegment<'_>,
        data_seq: u32,
        len: i64,
        ctx: &mut Ctx<'_, S>,
    ) {
        let Some(mut start) = self.offset_of(data_seq) else {
            ctx.stats.out_of_window_segments += 1;
            return;
        };
        if std::mem::take(&mut self.anchored_by_empty)
            && start == 1
            && self.untouched_since_anchor()
        {
            // The empty segment that anchored the stream was a keep-alive probe: data starts
            // here, nothing was lost in between.
            self.start_at(data_seq);
            start = 0;
        }
        let next = self.next_off;
        if len == 1 && start == next - 1 {
            // Keep-alive probe: one byte the receiver already has.
            return;
        }
        self.stats.data_segments += 1;
        let mut end = start + len;
        if let Some(fin) = self.fin {
            end = end.min(fin.off);
        }
        if end <= next {
            self.stats.retransmissions += 1;
            return;
        }
        let captured_end = (start + seg.payload.len() as i64).min(end);
        let mut fresh = false;
        if start <= next {
            // The next expected bytes: straight to the sink, up to whatever is buffered.
            let limit = self
                .pending
                .first_key_value()
                .map_or(end, |(&first, _)| end.min(first));
            if limit > next {
                fresh = true;
                let to = captured_end.min(limit);
                if to > next {
                    let bytes = seg
                        .payload
                        .get((next - start) as usize..(to - start) as usize)
                        .unwrap_or_default();
                    self.deliver(bytes, seg.frame, seg.ts, ctx);
                }
                if limit > self.next_off {
                    // Cut by the snap length: known lost.
                    self.gap(limit - self.next_off, seg.frame, seg.ts, ctx);
                }
            }
        }
        let from = start.max(self.next_off);
        if from < end {
            let stored = self.store(from, end, start, captured_end, seg, ctx);
            if stored > 0 {
                fresh = true;
                if start > next {
                    self.stats.out_of_order += 1;
                }
            }
        }
        if !fresh {
            self.stats.retransmissions += 1;
        }
        self.drain(ctx);
        self.enforce_limits(ctx);
    }

    /// Buffers the parts of `[from, end)` not already buffered (first copy wins; differing
    /// bytes are counted). The segment's captured bytes span `[start, captured_end)`. Returns
    /// how many bytes were newly buffered.
    fn store<S>(
        &mut self,
        from: i64,
        end: i64,
        start: i64,
        captured_end: i64,
        seg: &TcpSegment<'_>,
        ctx: &mut Ctx<'_, S>,
    ) -> i64 {
        let mut pos = from;
        let mut stored = 0;
        if let Some((&key, chunk)) = self.pending.range(..pos).next_back() {
            let chunk_end = key + chunk.len();
            if chunk_end > pos {
                let overlap_end = chunk_end.min(end);
                let conflicts = differing_bytes(chunk, key, seg.payload, start, pos, overlap_end);
                self.stats.conflicting_bytes += conflicts;
                ctx.stats.conflicting_bytes += conflicts;
                pos = overlap_end;
            }
        }
        while pos < end {
            let next_chunk = self.pending.range(pos..end).next().map(|(&key, chunk)| {
                let chunk_end = key + chunk.len();
                let overlap_end = chunk_end.min(end);
                let conflicts = differing_bytes(chunk, key, seg.payload, start, key, overlap_end);
                (key, chunk_end, conflicts)
            });
            match next_chunk {
                Some((key, chunk_end, conflicts)) => {
                    if key > pos {
                        stored += self.store_piece(pos, key, start, captured_end, seg, ctx);
                    }
                    self.stats.conflicting_bytes += conflicts;
                    ctx.stats.conflicting_bytes += conflicts;
                    pos = pos.max(chunk_end);
                }
                None => {
                    stored += self.store_piece(pos, end, start, captured_end, seg, ctx);
                    pos = end;
                }
            }
        }
        stored
    }

    /// Buffers `[from, to)` of a segment, all of it new: captured bytes as a copy, the rest as
    /// a missing run.
    fn store_piece<S>(
        &mut self,
        from: i64,
        to: i64,
        start: i64,
        captured_end: i64,
        seg: &TcpSegment<'_>,
        ctx: &mut Ctx<'_, S>,
    ) -> i64 {
        let data_to = to.min(captured_end).max(from);
        if data_to > from {
            let bytes = seg
                .payload
                .get((from - start) as usize..(data_to - start) as usize)
                .unwrap_or_default();
            self.insert_chunk(from, seg, ChunkData::Bytes(bytes.to_vec()), ctx);
        }
        if to > data_to {
            self.insert_chunk(data_to, seg, ChunkData::Missing(to - data_to), ctx);
        }
        to - from
    }

    fn insert_chunk<S>(
        &mut self,
        at: i64,
        seg: &TcpSegment<'_>,
        data: ChunkData,
        ctx: &mut Ctx<'_, S>,
    ) {
        let chunk = Chunk {
            frame: seg.frame,
            ts: seg.ts,
            data,
        };
        self.pending_cost += chunk.cost();
        *ctx.pending_total += chunk.cost();
        self.pending.insert(at, chunk);
    }

    /// Delivers every buffered chunk that became contiguous, then the FIN if it is due.
    fn drain<S: FnMut(StreamEvent<'_>)>(&mut self, ctx: &mut Ctx<'_, S>) {
        while let Some(entry) = self.pending.first_entry() {
            let key = *entry.key();
            if key > self.next_off {
                break;
            }
            let chunk = entry.remove();
            self.pending_cost = self.pending_cost.saturating_sub(chunk.cost());
            *ctx.pending_total = ctx.pending_total.saturating_sub(chunk.cost());
            let chunk_end = key + chunk.len();
            if chunk_end <= self.next_off {
                continue;
            }
            let skip = (self.next_off - key) as usize;
            match &chunk.data {
                ChunkData::Bytes(bytes) => {
                    let fresh = bytes.get(skip..).unwrap_or_default();
                    self.deliver(fresh, chunk.frame, chunk.ts, ctx);
                }
                ChunkData::Missing(_) => {
                    self.gap(chunk_end - self.next_off, chunk.frame, chunk.ts, ctx);
                }
            }
        }
        self.maybe_emit_fin(ctx);
    }

    fn deliver<S: FnMut(StreamEvent<'_>)>(
        &mut self,
        bytes: &[u8],
        frame: FrameRef,
        ts: Nanos,
        ctx: &mut Ctx<'_, S>,
    ) {
        let at = self.next_off;
        self.next_off += bytes.len() as i64;
        // Nothing is delivered past this side's FIN.
        let allowed = self.fin.map_or(i64::MAX, |fin| fin.off).saturating_sub(at);
        let bytes = bytes.get(..clamp_len(allowed)).unwrap_or(bytes);
        if bytes.is_empty() {
            return;
        }
        self.stats.bytes += bytes.len() as u64;
        (ctx.out)(StreamEvent::Data {
            conn: ctx.conn,
            dir: ctx.dir,
            frame,
            ts,
            bytes,
        });
    }

    /// Declares the next `len` bytes lost and moves past them.
    fn gap<S: FnMut(StreamEvent<'_>)>(
        &mut self,
        len: i64,
        frame: FrameRef,
        ts: Nanos,
        ctx: &mut Ctx<'_, S>,
    ) {
        let at = self.next_off;
        self.next_off += len.max(0);
        let allowed = self.fin.map_or(i64::MAX, |fin| fin.off).saturating_sub(at);
        let len = len.min(allowed);
        if len <= 0 {
            return;
        }
        let len = len as u64;
        self.stats.gap_bytes += len;
        ctx.stats.gap_bytes += len;
        (ctx.out)(StreamEvent::Gap {
            conn: ctx.conn,
            dir: ctx.dir,
            frame,
            ts,
            len,
        });
    }

    fn maybe_emit_fin<S: FnMut(StreamEvent<'_>)>(&mut self, ctx: &mut Ctx<'_, S>) {
        if let Some(fin) = self.fin
            && !self.fin_emitted
            && self.next_off >= fin.off
        {
            self.fin_emitted = true;
            (ctx.out)(StreamEvent::Fin {
                conn: ctx.conn,
                dir: ctx.dir,
                frame: fin.frame,
                ts: fin.ts,
            });
        }
    }

    /// The segment a gap at `next_off` is attributed to: where data resumes, else the FIN, else
    /// the last segment of this side.
    fn gap_attribution(&self) -> (FrameRef, Nanos) {
        if let Some((_, chunk)) = self.pending.first_key_value() {
            (chunk.frame, chunk.ts)
        } else if let Some(fin) = self.fin {
            (fin.frame, fin.ts)
        } else {
            (self.last_frame, self.last_ts)
        }
    }

    /// Skips the hole before the first buffered chunk (declaring it lost) and delivers on.
    fn skip_first_hole<S: FnMut(StreamEvent<'_>)>(&mut self, ctx: &mut Ctx<'_, S>) {
        if let Some((&first, chunk)) = self.pending.first_key_value() {
            let (frame, ts) = (chunk.frame, chunk.ts);
            self.gap(first - self.next_off, frame, ts, ctx);
        }
        self.drain(ctx);
    }

    /// The buffer limit the pending chunks exceed now, if any.
    fn limit_exceeded<S>(&self, ctx: &Ctx<'_, S>) -> Option<Limit> {
        if self.pending.is_empty() {
            None
        } else if self.pending_cost > ctx.cfg.max_pending_per_dir {
            Some(Limit::StreamBufferBytes)
        } else if self.pending.len() > ctx.cfg.max_pending_segments_per_dir {
            Some(Limit::StreamBufferSegments)
        } else if *ctx.pending_total > ctx.cfg.max_pending_total {
            Some(Limit::TotalBufferBytes)
        } else {
            None
        }
    }

    /// Skips holes, oldest first, until the buffered chunks fit the limits again; each hole
    /// skipped counts against the limit that forced it.
    fn enforce_limits<S: FnMut(StreamEvent<'_>)>(&mut self, ctx: &mut Ctx<'_, S>) {
        while let Some(limit) = self.limit_exceeded(ctx) {
            ctx.stats.limits_hit.add(limit);
            self.stats.limits_hit.insert(limit);
            self.skip_first_hole(ctx);
        }
    }

    /// End of the bytes proven lost by the capture: the peer acknowledged them, and something
    /// this side sent after them (buffered data or the FIN) was seen.
    fn proven_loss_end(&self) -> Option<i64> {
        if self.acked_off <= self.next_off {
            return None;
        }
        let hole_end = match self.pending.first_key_value() {
            Some((&first, _)) => first,
            None => self.fin.map(|fin| fin.off)?,
        };
        let end = self.acked_off.min(hole_end);
        (end > self.next_off).then_some(end)
    }

    /// Applies the acknowledgment rule after a packet of the connection (`packets` counts
    /// them): a hole proven lost for long enough becomes a gap.
    pub fn check_loss<S: FnMut(StreamEvent<'_>)>(&mut self, packets: u64, ctx: &mut Ctx<'_, S>) {
        loop {
            let Some(end) = self.proven_loss_end() else {
                self.loss_seen_at = None;
                return;
            };
            let seen_at = *self.loss_seen_at.get_or_insert(packets);
            if packets.saturating_sub(seen_at) < REORDER_GRACE_PACKETS {
                return;
            }
            let (frame, ts) = self.gap_attribution();
            self.gap(end - self.next_off, frame, ts, ctx);
            self.drain(ctx);
        }
    }

    /// Nothing more will come: declares every hole lost, delivers everything buffered, and
    /// emits the FIN if this side sent one.
    pub fn flush<S: FnMut(StreamEvent<'_>)>(&mut self, ctx: &mut Ctx<'_, S>) {
        self.drain(ctx);
        while !self.pending.is_empty() {
            self.skip_first_hole(ctx);
        }
        let tail_end = self.fin.map_or(self.acked_off, |fin| fin.off);
        if tail_end > self.next_off {
            let (frame, ts) = self.gap_attribution();
            self.gap(tail_end - self.next_off, frame, ts, ctx);
        }
        self.maybe_emit_fin(ctx);
    }
}

/// Whether a segment has the shape of a TCP keep-alive probe: ACK alone (no SYN, FIN, RST or
/// PSH) and at most one byte of payload. Where it sits decides whether it is one.
fn is_probe_shaped(seg: &TcpSegment<'_>, syn: bool, len: i64) -> bool {
    let others = TcpFlags::FIN | TcpFlags::RST | TcpFlags::PSH;
    seg.flags.ack() && !syn && seg.flags.0 & others == 0 && len <= 1
}

/// `n` as a slice length: negative is 0, beyond `usize` is `usize::MAX`.
fn clamp_len(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

/// Bytes of `[from, to)` where the buffered `chunk` (at `chunk_at`) and the new segment's
/// captured bytes (at `start`) both have data and disagree.
fn differing_bytes(
    chunk: &Chunk,
    chunk_at: i64,
    payload: &[u8],
    start: i64,
    from: i64,
    to: i64,
) -> u64 {
    let ChunkData::Bytes(old) = &chunk.data else {
        return 0;
    };
    let to = to.min(start + payload.len() as i64);
    if to <= from || from < chunk_at || from < start {
        return 0;
    }
    let n = (to - from) as usize;
    let old = old
        .get((from - chunk_at) as usize..)
        .unwrap_or_default()
        .iter()
        .take(n);
    let new = payload
        .get((from - start) as usize..)
        .unwrap_or_default()
        .iter()
        .take(n);
    old.zip(new).filter(|(a, b)| a != b).count() as u64
}

#[cfg(test)]
mod tests;
