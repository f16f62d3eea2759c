//! Mirrored duplicates: a span port copying both directions of a link, or two mirror sessions
//! feeding one capture, deliver the same packet twice, microseconds apart, possibly with
//! another outer encapsulation (VLAN tag, ERSPAN wrapper) and a lower TTL. Such a copy is not a
//! retransmission: it is recognized by its inner packet and dropped before TCP reassembly.
//!
//! Memory is bounded: the fingerprints of the last [`MAX_RECENT`] segments, and none older
//! than the widest window.

use crate::types::Nanos;
use rustc_hash::{FxHashMap, FxHasher};
use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// Copies of an IPv4 packet (identification included in the comparison) are taken for mirror
/// copies within this much capture time of the first. Mirror copies of one packet follow each
/// other by microseconds (a switch's forwarding and queueing), up to a millisecond or so
/// through a congested egress port or another mirror point; a genuine retransmission carries a
/// new identification, so the window may be generous.
pub(crate) const MIRROR_WINDOW: Nanos = 2_000_000;

/// The window for packets without identification (IPv6, or IPv4 with identification 0, which
/// stacks send on every atomic datagram): only the time tells a copy from a retransmission,
/// and a retransmission comes a round trip (fast retransmit) or a timeout (200 ms and more)
/// after the original; between a CPE and an ACS a round trip takes milliseconds. 100 µs covers
/// copies made at one switch.
pub(crate) const MIRROR_WINDOW_NO_ID: Nanos = 100_000;

/// Segment fingerprints kept at most (about 2 ms of a busy 10 Gbit/s link's full-size frames).
pub(crate) const MAX_RECENT: usize = 8192;

/// What makes two TCP segments the same packet: the inner addresses, the IPv4 identification,
/// the TCP header (ports, sequence and acknowledgment numbers, flags, window, options; not the
/// checksum) and a hash of the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    /// The IPv4 identification, when there is one that tells packets apart (not 0).
    pub(crate) ident: Option<u16>,
    pub(crate) ports: (u16, u16),
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    /// Captured payload length plus what the snap length cut.
    pub(crate) payload_len: u64,
    /// Hash of the TCP options and the captured payload.
    pub(crate) content: u64,
}

impl Fingerprint {
    /// The hash of a segment's options and payload, for [`Fingerprint::content`].
    pub(crate) fn content_hash(options: &[u8], payload: &[u8]) -> u64 {
        let mut h = FxHasher::default();
        h.write(options);
        h.write_u8(0xFF);
        h.write(payload);
        h.finish()
    }

    fn window(&self) -> Nanos {
        if self.ident.is_some() {
            MIRROR_WINDOW
        } else {
            MIRROR_WINDOW_NO_ID
        }
    }
}

/// A fingerprint with its hash, computed once per segment: the table hashes only that, though
/// every segment is looked up, remembered and later forgotten.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Keyed {
    hash: u64,
    fp: Fingerprint,
}

impl Keyed {
    fn new(fp: Fingerprint) -> Self {
        let mut h = FxHasher::default();
        fp.hash(&mut h);
        Keyed {
            hash: h.finish(),
            fp,
        }
    }
}

impl Hash for Keyed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Recognizes the second and later copies of a segment.
#[derive(Default)]
pub(crate) struct MirrorFilter {
    /// Fingerprint → capture time of its first copy.
    first_seen: FxHashMap<Keyed, Nanos>,
    /// The fingerprints in order of arrival, for eviction.
    order: VecDeque<(Nanos, Keyed)>,
}

impl MirrorFilter {
    /// Whether a segment seen at `ts` is a copy of one seen shortly before; if not, it is
    /// remembered.
    pub(crate) fn is_copy(&mut self, ts: Nanos, fp: Fingerprint) -> bool {
        while let Some(&(seen, old)) = self.order.front() {
            if ts.saturating_sub(seen) <= MIRROR_WINDOW && self.order.len() < MAX_RECENT {
                break;
            }
            self.order.pop_front();
            // Unless the fingerprint was seen again since, and kept with that time.
            if let Entry::Occupied(entry) = self.first_seen.entry(old)
                && *entry.get() == seen
            {
                entry.remove();
            }
        }
        let key = Keyed::new(fp);
        match self.first_seen.entry(key) {
            Entry::Occupied(entry) if ts.abs_diff(*entry.get()) <= fp.window().unsigned_abs() => {
                return true;
            }
            entry => {
                entry.insert_entry(ts);
            }
        }
        self.order.push_back((ts, key));
        false
    }

    /// Fingerprints held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.first_seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(ident: Option<u16>, seq: u32) -> Fingerprint {
        Fingerprint {
            src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            ident,
            ports: (40000, 7547),
            seq,
            ack: 1,
            flags: 0x18,
            window: 512,
            payload_len: 5,
            content: Fingerprint::content_hash(&[], b"hello"),
        }
    }

    #[test]
    fn a_copy_within_the_window_is_recognized_once_per_copy() {
        let mut m = MirrorFilter::default();
        assert!(!m.is_copy(1_000, v4(Some(7), 1)));
        assert!(m.is_copy(1_000 + 3_000, v4(Some(7), 1)));
        // A third copy (two mirror sessions and both directions) counts from the first.
        assert!(m.is_copy(1_000 + MIRROR_WINDOW, v4(Some(7), 1)));
        assert!(!m.is_copy(1_000 + MIRROR_WINDOW + 1, v4(Some(7), 1)));
        // Another identification (a retransmission), another sequence number, other payload.
        assert!(!m.is_copy(5_000_000, v4(Some(8), 1)));
        assert!(!m.is_copy(5_000_000, v4(Some(8), 2)));
        let other = Fingerprint {
            content: Fingerprint::content_hash(&[], b"hellO"),
            ..v4(Some(8), 1)
        };
        assert!(!m.is_copy(5_000_000, other));
        // Options are part of the content.
        assert_ne!(
            Fingerprint::content_hash(&[1, 1], b"x"),
            Fingerprint::content_hash(&[], b"\x01\x01x")
        );
    }

    #[test]
    fn without_identification_the_window_is_narrow() {
        let v6 = |seq| Fingerprint {
            src: IpAddr::V6(Ipv6Addr::LOCALHOST),
            dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
            ..v4(None, seq)
        };
        let mut m = MirrorFilter::default();
        assert!(!m.is_copy(0, v6(1)));
        assert!(m.is_copy(MIRROR_WINDOW_NO_ID, v6(1)));
        // A retransmission 200 µs later is not a copy.
        assert!(!m.is_copy(0, v6(2)));
        assert!(!m.is_copy(200_000, v6(2)));
        // Nor is IPv4 with identification 0 a millisecond later.
        assert!(!m.is_copy(0, v4(None, 3)));
        assert!(!m.is_copy(1_000_000, v4(None, 3)));
    }

    #[test]
    fn memory_is_bounded_by_count_and_time() {
        let mut m = MirrorFilter::default();
        for seq in 0..(MAX_RECENT as u32 * 3) {
            assert!(!m.is_copy(1_000, v4(Some(1), seq)));
        }
        assert!(m.held() <= MAX_RECENT);
        assert!(!m.is_copy(1_000, v4(Some(1), 0)), "evicted by count");
        m.is_copy(10 * MIRROR_WINDOW, v4(Some(2), 0));
        assert_eq!(m.held(), 1, "evicted by time");
    }
}
