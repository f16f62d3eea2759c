//! IPv4 and IPv6 fragment reassembly, bounded: datagram size, number of datagrams held,
//! total bytes held, pieces per datagram, and age (by capture time) are all capped. Overlapping
//! fragments keep the bytes that arrived first.

use crate::limits::{Limit, LimitCounts};
use crate::types::Nanos;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Largest reassembled payload accepted (the IP length fields cannot describe more).
const MAX_DATAGRAM: u32 = 65_535;
/// Most separate pieces (after merging adjacent ones) a datagram may have.
const MAX_PIECES: usize = 64;
/// A datagram not completed within this much capture time is dropped.
const TIMEOUT: Nanos = 30_000_000_000;

/// Identifies the datagram a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) id: u32,
    /// IPv4: the protocol (part of the key); IPv6: 0.
    pub(crate) protocol: u8,
}

/// One fragment to add.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FragmentIn<'a> {
    pub(crate) key: FragKey,
    pub(crate) offset: u32,
    pub(crate) more: bool,
    pub(crate) next_header: u8,
    pub(crate) data: &'a [u8],
}

/// What became of a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Kept until the rest of its datagram arrives.
    Held,
    /// It completed its datagram: [`Defragmenter::completed`] holds the payload, whose first
    /// header (IPv4: protocol) is `next_header`.
    Completed { next_header: u8 },
    /// It could not be kept (limit hit or inconsistent with the other fragments).
    Rejected,
}

/// A datagram being put together.
struct Pending {
    first_seen: Nanos,
    data: Vec<u8>,
    /// Byte ranges present, sorted, merged, non-adjacent.
    pieces: Vec<(u32, u32)>,
    /// The payload length, once the last fragment has been seen.
    total: Option<u32>,
    /// Next header given by the fragment at offset 0.
    next_header: Option<u8>,
    fragments: u64,
}

/// Holds fragments until their datagrams are complete.
pub(crate) struct Defragmenter {
    pending: FxHashMap<FragKey, Pending>,
    held_bytes: usize,
    completed: Vec<u8>,
    /// Fragments thrown away since the last call to [`Defragmenter::take_dropped`].
    dropped: u64,
    /// Most datagrams held at once (`ip-fragments`).
    max_pending: usize,
    /// Most payload bytes held across all datagrams (`ip-fragment-bytes`).
    max_held_bytes: usize,
    /// Datagrams dropped because a limit was reached.
    limits_hit: LimitCounts,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Defragmenter::new(
            Limit::IpFragments.default_usize(),
            Limit::IpFragmentBytes.default_usize(),
        )
    }
}

impl Defragmenter {
    /// A defragmenter holding at most `max_pending` datagrams and `max_held_bytes` bytes.
    pub(crate) fn new(max_pending: usize, max_held_bytes: usize) -> Self {
        Defragmenter {
            pending: FxHashMap::default(),
            held_bytes: 0,
            completed: Vec::new(),
            dropped: 0,
            max_pending: max_pending.max(1),
            max_held_bytes,
            limits_hit: LimitCounts::default(),
        }
    }

    /// Datagrams dropped because a limit was reached, by limit.
    pub(crate) fn limits_hit(&self) -> &LimitCounts {
        &self.limits_hit
    }

    /// The payload of the datagram completed by the last [`Outcome::Completed`].
    pub(crate) fn completed(&self) -> &[u8] {
        &self.completed
    }

    /// Moves the payload of the datagram completed last into `buffer` (whose old contents
    /// take its place), so that the defragmenter can complete another while it is read.
    pub(crate) fn move_completed_into(&mut self, buffer: &mut Vec<u8>) {
        std::mem::swap(&mut self.completed, buffer);
    }

    /// Number of fragments dropped (evicted, rejected) since the last call.
    pub(crate) fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Number of datagrams currently held.
    #[cfg(test)]
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    fn remove(&mut self, key: &FragKey) -> Option<Pending> {
        let removed = self.pending.remove(key)?;
        self.held_bytes = self.held_bytes.saturating_sub(removed.data.len());
        Some(removed)
    }

    fn drop_datagram(&mut self, key: &FragKey) {
        if let Some(gone) = self.remove(key) {
            self.dropped += gone.fragments;
        }
    }

    fn evict_expired(&mut self, now: Nanos) {
        let expired: Vec<FragKey> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.first_seen) > TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            self.drop_datagram(&key);
        }
    }

    fn evict_oldest_except(&mut self, keep: &FragKey) -> bool {
        let oldest = self
            .pending
            .iter()
            .filter(|(k, _)| *k != keep)
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| *k);
        match oldest {
            Some(key) => {
                self.drop_datagram(&key);
                true
            }
            None => false,
        }
    }

    fn reject(&mut self) -> Outcome {
        self.dropped += 1;
        Outcome::Rejected
    }

    /// Adds one fragment seen at capture time `now`.
    pub(crate) fn push(&mut self, now: Nanos, frag: FragmentIn<'_>) -> Outcome {
        self.evict_expired(now);
        let len = frag.data.len() as u32;
        let Some(end) = frag.offset.checked_add(len).filter(|e| *e <= MAX_DATAGRAM) else {
            return self.reject();
        };
        if frag.more && !len.is_multiple_of(8) {
            return self.reject();
        }
        let key = frag.key;
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.max_pending {
                if !self.evict_oldest_except(&key) {
                    break;
                }
                self.limits_hit.add(Limit::IpFragments);
            }
            self.pending.insert(
                key,
                Pending {
                    first_seen: now,
                    data: Vec::new(),
                    pieces: Vec::new(),
                    total: None,
                    next_header: None,
                    fragments: 0,
                },
            );
        }
        // Consistency with what is already known about the datagram's end.
        let consistent = self.pending.get(&key).is_some_and(|p| {
            let max_end = p.pieces.last().map_or(0, |r| r.1);
            match (frag.more, p.total) {
                (false, Some(total)) => total == end,
                (false, None) => max_end <= end,
                (true, Some(total)) => end <= total,
                (true, None) => true,
            }
        });
        if !consistent {
            self.drop_datagram(&key);
            return self.reject();
        }
        // Memory for the bytes this fragment adds beyond the datagram's current buffer.
        let current = self.pending.get(&key).map_or(0, |p| p.data.len());
        let growth = (end as usize).saturating_sub(current);
        while self.held_bytes + growth > self.max_held_bytes {
            self.limits_hit.add(Limit::IpFragmentBytes);
            if !self.evict_oldest_except(&key) {
                self.drop_datagram(&key);
                return self.reject();
            }
        }
        let Some(pending) = self.pending.get_mut(&key) else {
            return self.reject();
        };
        if pending.data.len() < end as usize {
            pending.data.resize(end as usize, 0);
        }
        self.held_bytes += growth;
        copy_uncovered(&mut pending.data, &pending.pieces, frag.offset, frag.data);
        insert_piece(&mut pending.pieces, frag.offset, end);
        pending.fragments += 1;
        if !frag.more {
            pending.total = Some(end);
        }
        if frag.offset == 0 {
            pending.next_header.get_or_insert(frag.next_header);
        }
        if pending.pieces.len() > MAX_PIECES {
            self.drop_datagram(&key);
            return Outcome::Rejected;
        }
        let complete = pending
            .total
            .is_some_and(|t| pending.pieces.as_slice() == [(0, t)]);
        if !complete {
            return Outcome::Held;
        }
        let next_header = pending.next_header.unwrap_or(59);
        match self.remove(&key) {
            Some(done) => {
                let total = done.total.unwrap_or(0) as usize;
                self.completed = done.data;
                self.completed.truncate(total);
                Outcome::Completed { next_header }
            }
            None => Outcome::Rejected,
        }
    }
}

/// Copies the parts of `data` (placed at `offset`) that no existing piece covers.
fn copy_uncovered(buf: &mut [u8], pieces: &[(u32, u32)], offset: u32, data: &[u8]) {
    let end = offset + data.len() as u32;
    let mut cursor = offset;
    for &(s, e) in pieces.iter().chain(std::iter::once(&(end, end))) {
        if e <= cursor {
            continue;
        }
        if s >= end {
            copy_range(buf, data, offset, cursor, end);
            return;
        }
        if s > cursor {
            copy_range(buf, data, offset, cursor, s);
        }
        cursor = cursor.max(e);
        if cursor >= end {
            return;
        }
    }
}

fn copy_range(buf: &mut [u8], data: &[u8], offset: u32, from: u32, to: u32) {
    let (from, to) = (from as usize, to as usize);
    let base = offset as usize;
    if let (Some(dst), Some(src)) = (
        buf.get_mut(from..to),
        data.get(from.saturating_sub(base)..to.saturating_sub(base)),
    ) && dst.len() == src.len()
    {
        dst.copy_from_slice(src);
    }
}

/// Adds `[start, end)` to a sorted list of disjoint ranges, merging overlapping or adjacent ones.
fn insert_piece(pieces: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    if start >= end {
        return;
    }
    let (mut s, mut e) = (start, end);
    pieces.retain(|&(ps, pe)| {
        if pe < s || ps > e {
            true
        } else {
            s = s.min(ps);
            e = e.max(pe);
            false
        }
    });
    let at = pieces.partition_point(|&(ps, _)| ps < s);
    pieces.insert(at, (s, e));
}

#[cfg(test)]
mod tests;
