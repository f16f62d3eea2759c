//! The connection table: finds (or opens) the connection of each segment, and releases
//! connections that finished, went idle, or no longer fit.
//!
//! Connections live in a slab indexed by slot; the 4-tuple map points into it. Release times
//! sit in a min-heap ordered by deadline. Entries are not updated when a connection sees new
//! packets: a popped entry whose connection has a later deadline by now is pushed back with it,
//! so `advance` only touches connections that are due (or were due when last scheduled).

use super::conn::{Conn, ConnKey, Shared};
use super::{ConnEnd, ReassemblyConfig, ReassemblyStats, StreamEvent};
use crate::limits::Limit;
use crate::types::{ConnId, Nanos};
use crate::wire::TcpSegment;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A scheduled release check: (deadline, connection id, slot).
type Expiry = Reverse<(Nanos, u64, usize)>;

/// The connection table and per-direction assemblers.
pub struct Reassembler {
    cfg: ReassemblyConfig,
    index: FxHashMap<ConnKey, usize>,
    slots: Vec<Option<Conn>>,
    free_slots: Vec<usize>,
    expiries: BinaryHeap<Expiry>,
    next_id: u64,
    pending_total: usize,
    /// Connections counted half-open ([`Conn::is_half_open`]) and the order they opened in
    /// (entries of connections answered or released since are skipped when met).
    half_open: usize,
    half_open_order: VecDeque<(u64, usize)>,
    stats: ReassemblyStats,
}

impl Reassembler {
    /// An empty table with these limits.
    pub fn new(cfg: ReassemblyConfig) -> Self {
        Reassembler {
            cfg,
            index: FxHashMap::default(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            expiries: BinaryHeap::new(),
            next_id: 1,
            pending_total: 0,
            half_open: 0,
            half_open_order: VecDeque::new(),
            stats: ReassemblyStats::default(),
        }
    }

    /// Feeds one segment; the events it makes deliverable go to `out`, in order.
    pub fn push(&mut self, seg: &TcpSegment<'_>, out: &mut impl FnMut(StreamEvent<'_>)) {
        let key = ConnKey::new(seg.src, seg.dst);
        let existing = self.index.get(&key).copied();
        let slot = match existing {
            Some(slot) if !self.is_port_reuse(slot, seg) => slot,
            Some(slot) => {
                self.release(slot, ConnEnd::Idle, out);
                self.open(seg, out)
            }
            None => self.open(seg, out),
        };
        let Some(conn) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let mut shared = Shared {
            out,
            cfg: &self.cfg,
            pending_total: &mut self.pending_total,
            stats: &mut self.stats,
        };
        if conn.on_segment(seg, &mut shared) {
            let deadline = conn.deadline(&self.cfg);
            self.expiries
                .push(Reverse((deadline, conn.info.id.0, slot)));
        }
        conn.close_early(&mut shared);
        let half_open = conn.is_half_open();
        if half_open != conn.counted_half_open {
            conn.counted_half_open = half_open;
            if half_open {
                self.half_open += 1;
                self.half_open_order.push_back((conn.info.id.0, slot));
            } else {
                self.half_open -= 1;
            }
        }
    }

    /// Whether `seg` is a SYN that starts a new connection on the 4-tuple of `slot`.
    fn is_port_reuse(&self, slot: usize, seg: &TcpSegment<'_>) -> bool {
        if !seg.flags.syn() || seg.flags.ack() {
            return false;
        }
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|conn| conn.is_superseded_by_syn(seg.src, seg.seq))
    }

    /// Opens a connection for `seg` (emitting `Open`), making room first if the table is full.
    fn open(&mut self, seg: &TcpSegment<'_>, out: &mut impl FnMut(StreamEvent<'_>)) -> usize {
        if seg.flags.syn() && !seg.flags.ack() {
            while self.half_open >= self.cfg.max_half_open.max(1) {
                if !self.evict_oldest_half_open(out) {
                    break;
                }
            }
        }
        while self.index.len() >= self.cfg.max_connections.max(1) {
            if !self.evict_least_recent(out) {
                break;
            }
        }
        let id = ConnId(self.next_id);
        self.next_id += 1;
        self.stats.connections += 1;
        let conn = Conn::new(id, seg);
        let key = conn.key;
        let deadline = conn.deadline(&self.cfg);
        out(StreamEvent::Open(&conn.info));
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                if let Some(place) = self.slots.get_mut(slot) {
                    *place = Some(conn);
                }
                slot
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, slot);
        self.expiries.push(Reverse((deadline, id.0, slot)));
        slot
    }

    /// Removes the connection in `slot` and emits its last events.
    fn release(&mut self, slot: usize, otherwise: ConnEnd, out: &mut impl FnMut(StreamEvent<'_>)) {
        let Some(conn) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.free_slots.push(slot);
        self.index.remove(&conn.key);
        if conn.counted_half_open {
            self.half_open -= 1;
        }
        if self.half_open_order.len() > 4 * self.half_open + 1024 {
            // Entries of connections answered or released since: drop them now and then.
            let slots = &self.slots;
            self.half_open_order.retain(|&(id, slot)| {
                slots
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|c| c.info.id.0 == id && c.counted_half_open)
            });
        }
        let mut shared = Shared {
            out,
            cfg: &self.cfg,
            pending_total: &mut self.pending_total,
            stats: &mut self.stats,
        };
        conn.close(otherwise, &mut shared);
        if self.index.is_empty() {
            // Nothing left to expire: drop stale entries (and their memory) at once.
            self.expiries.clear();
            self.slots.clear();
            self.free_slots.clear();
            self.half_open_order.clear();
        } else if self.expiries.len() > 4 * self.index.len() + 1024 {
            // Entries of released connections wait for their deadline; with many short
            // connections they would pile up, so drop them now and then (amortized O(1)).
            let slots = &self.slots;
            self.expiries.retain(|Reverse((_, id, slot))| {
                slots
                    .get(*slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|conn| conn.info.id.0 == *id)
            });
        }
    }

    /// The connection a heap entry refers to, if it still exists.
    fn scheduled(&self, id: u64, slot: usize) -> Option<&Conn> {
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .filter(|conn| conn.info.id.0 == id)
    }

    /// Releases the connection due first (the least recently active, or a finished one).
    /// Returns false if there was none.
    fn evict_least_recent(&mut self, out: &mut impl FnMut(StreamEvent<'_>)) -> bool {
        while let Some(Reverse((deadline, id, slot))) = self.expiries.pop() {
            let Some(conn) = self.scheduled(id, slot) else {
                continue;
            };
            let actual = conn.deadline(&self.cfg);
            if actual > deadline {
                self.expiries.push(Reverse((actual, id, slot)));
                continue;
            }
            self.stats.evicted += 1;
            self.stats.limits_hit.add(Limit::OpenConnections);
            if let Some(conn) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                conn.limits_hit.insert(Limit::OpenConnections);
            }
            self.release(slot, ConnEnd::Idle, out);
            return true;
        }
        false
    }

    /// Releases the oldest connection still half-open. Returns false if there was none.
    fn evict_oldest_half_open(&mut self, out: &mut impl FnMut(StreamEvent<'_>)) -> bool {
        while let Some((id, slot)) = self.half_open_order.pop_front() {
            let still = self
                .scheduled(id, slot)
                .is_some_and(|conn| conn.counted_half_open);
            if !still {
                continue;
            }
            self.stats.evicted += 1;
            self.stats.limits_hit.add(Limit::HalfOpenConnections);
            if let Some(conn) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                conn.limits_hit.insert(Limit::HalfOpenConnections);
            }
            self.release(slot, ConnEnd::Idle, out);
            return true;
        }
        false
    }

    /// Capture time moved to `now`: releases idle and lingering connections.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(StreamEvent<'_>)) {
        while self.release_due(now, out).is_some() {}
    }

    /// Releases the connection due first at `now`, if any, and returns the deadline it was
    /// scheduled for and its id: [`Reassembler::advance`] releases connections in that order,
    /// which lets tables that split the connections between them release in the same order.
    pub fn release_due(
        &mut self,
        now: Nanos,
        out: &mut impl FnMut(StreamEvent<'_>),
    ) -> Option<(Nanos, ConnId)> {
        while let Some(&Reverse((deadline, id, slot))) = self.expiries.peek() {
            if deadline > now {
                break;
            }
            self.expiries.pop();
            let Some(conn) = self.scheduled(id, slot) else {
                continue;
            };
            let actual = conn.deadline(&self.cfg);
            if actual > now {
                self.expiries.push(Reverse((actual, id, slot)));
                continue;
            }
            self.release(slot, ConnEnd::Idle, out);
            return Some((deadline, ConnId(id)));
        }
        None
    }

    /// End of input: flushes every connection (`ConnEnd::CaptureEnded`, or `Closed`/`Reset` for
    /// those already finished), in the order they were opened.
    pub fn finish(&mut self, out: &mut impl FnMut(StreamEvent<'_>)) {
        let mut open: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, conn)| conn.as_ref().map(|c| (c.info.id.0, slot)))
            .collect();
        open.sort_unstable();
        for (_, slot) in open {
            self.release(slot, ConnEnd::CaptureEnded, out);
        }
        self.expiries.clear();
    }

    /// The connection the segment's 4-tuple maps to now: after [`Reassembler::push`] of that
    /// segment, the connection it was given to (`None` if none is open for it).
    pub fn connection_of(&self, seg: &TcpSegment<'_>) -> Option<ConnId> {
        let slot = *self.index.get(&ConnKey::new(seg.src, seg.dst))?;
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .map(|conn| conn.info.id)
    }

    /// Whole-run counters so far.
    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Connections currently tracked.
    pub fn open_connections(&self) -> usize {
        self.index.len()
    }

    /// Out-of-order cost buffered across all connections.
    pub fn pending_bytes(&self) -> usize {
        self.pending_total
    }
}

#[cfg(test)]
mod tests;
