//! Rules across the sessions of one CPE: `overlapping-sessions`, `retry-backoff-violation` and
//! the growing-RetryCount warning of `retry-count-nonzero`. A few numbers are kept per CPE, and
//! the number of CPEs is capped (the least recently seen is forgotten first).

use super::session::anchor_to_session;
use super::{Code, Finding, Severity, Thresholds, secs};
use crate::session::{Session, Termination};
use crate::types::Nanos;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// Sessions remembered per CPE (enough to find the one before a session that finished late).
const SESSIONS_PER_CPE: usize = 4;

/// CPEs remembered by default.
pub const DEFAULT_MAX_CPES: usize = 100_000;

/// How a CPE is recognised: its serial number (kept as a 64-bit hash: every CPE of a capture
/// has an entry, so it must be small), else its IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum CpeKey {
    Serial(u64),
    Ip(IpAddr),
}

/// What is kept of one past session.
#[derive(Clone, Copy, Debug)]
struct PastSession {
    number: u64,
    start: Nanos,
    end: Nanos,
    ended_normally: bool,
    retry_count: Option<u32>,
}

#[derive(Debug, Default)]
struct CpeState {
    sessions: Vec<PastSession>,
    /// Stamp of the last use, for eviction.
    stamp: u64,
}

/// The history of each CPE's sessions, fed every finished session in the order they finish
/// (they may finish out of start order). Memory is bounded: a few sessions per CPE and at most
/// `max_cpes` CPEs.
#[derive(Debug)]
pub struct CpeHistory {
    cpes: FxHashMap<CpeKey, CpeState>,
    /// (key, stamp) in order of use; entries whose stamp is outdated are skipped on eviction.
    recency: VecDeque<(CpeKey, u64)>,
    next_stamp: u64,
    max_cpes: usize,
}

impl Default for CpeHistory {
    fn default() -> Self {
        CpeHistory::new(DEFAULT_MAX_CPES)
    }
}

impl CpeHistory {
    /// A history that remembers at most `max_cpes` CPEs (at least 1).
    pub fn new(max_cpes: usize) -> Self {
        CpeHistory {
            cpes: FxHashMap::default(),
            recency: VecDeque::new(),
            next_stamp: 0,
            max_cpes: max_cpes.max(1),
        }
    }

    /// CPEs currently remembered.
    pub fn len(&self) -> usize {
        self.cpes.len()
    }

    /// Whether no CPE is remembered.
    pub fn is_empty(&self) -> bool {
        self.cpes.is_empty()
    }

    /// Judges a finished session against the CPE's earlier ones, then remembers it.
    pub fn check(&mut self, s: &Session, th: &Thresholds) -> Vec<Finding> {
        let serial = s.serial().map(str::trim).filter(|x| !x.is_empty());
        let key = match serial {
            Some(serial) => {
                use std::hash::{Hash, Hasher};
                let mut h = rustc_hash::FxHasher::default();
                serial.hash(&mut h);
                CpeKey::Serial(h.finish())
            }
            None => CpeKey::Ip(s.cpe_ip),
        };
        let who = match serial {
            Some(serial) => format!("CPE {serial}"),
            None => format!("CPE {}", s.cpe_ip),
        };
        let current = PastSession {
            number: s.number,
            start: s.start,
            end: s.end,
            ended_normally: s.termination == Termination::Normal,
            retry_count: s.inform().and_then(|i| i.retry_count),
        };
        let stamp = self.touch(&key);
        let state = self.cpes.entry(key).or_default();
        state.stamp = stamp;
        let mut out = Vec::new();

        for p in &state.sessions {
            if p.start < current.end && current.start < p.end {
                out.push(anchor_to_session(
                    Finding::new(
                        Code::OverlappingSessions,
                        format!(
                            "{who} has session {} ({} – {}) open at the same time as session {} ({} – {})",
                            current.number,
                            crate::types::format_ts(current.start),
                            crate::types::format_ts(current.end),
                            p.number,
                            crate::types::format_ts(p.start),
                            crate::types::format_ts(p.end),
                        ),
                    ),
                    s,
                ));
            }
        }

        let previous = state
            .sessions
            .iter()
            .filter(|p| p.start < current.start)
            .max_by_key(|p| p.start)
            .copied();
        if let Some(prev) = previous
            && let Some(n) = current.retry_count.filter(|&n| n > 0)
        {
            if let Some(before) = prev.retry_count
                && n > before
            {
                out.push(anchor_to_session(
                    Finding::new(
                        Code::RetryCountNonzero,
                        format!(
                            "{who}'s RetryCount grew from {before} (session {}) to {n}: its sessions keep failing",
                            prev.number
                        ),
                    )
                    .with_severity(Severity::Warning),
                    s,
                ));
            }
            if !prev.ended_normally {
                let gap = current.start.saturating_sub(prev.end);
                let (low, high) = backoff_window(n, th);
                let gap_s = gap as f64 / 1e9;
                if gap_s < low || gap_s > high {
                    out.push(anchor_to_session(
                        Finding::new(
                            Code::RetryBackoffViolation,
                            format!(
                                "{who} retried {} s after failed session {} with RetryCount {n}; \
                                 the back-off window is [{low:.1}, {high:.1}] s",
                                secs(gap),
                                prev.number
                            ),
                        ),
                        s,
                    ));
                }
            }
        }

        if state.sessions.len() >= SESSIONS_PER_CPE
            && let Some(oldest) = state
                .sessions
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.start)
                .map(|(i, _)| i)
        {
            state.sessions.swap_remove(oldest);
        }
        state.sessions.push(current);
        self.evict();
        out
    }

    /// Marks `key` as just used; returns its stamp.
    fn touch(&mut self, key: &CpeKey) -> u64 {
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        self.recency.push_back((*key, stamp));
        if self.recency.len() > self.cpes.len().saturating_mul(2).max(64) {
            // Drop outdated entries so the queue stays proportional to the CPEs remembered
            // (not to the sessions seen).
            let cpes = &self.cpes;
            self.recency.retain(|(k, st)| {
                *st == stamp || cpes.get(k).is_some_and(|state| state.stamp == *st)
            });
        }
        stamp
    }

    /// Forgets the least recently seen CPEs beyond the cap.
    fn evict(&mut self) {
        while self.cpes.len() > self.max_cpes {
            let Some((key, stamp)) = self.recency.pop_front() else {
                break;
            };
            if self.cpes.get(&key).is_some_and(|st| st.stamp == stamp) {
                self.cpes.remove(&key);
            }
        }
    }
}

/// The retry wait window `[m·(k/1000)^(n−1), m·(k/1000)^n]` in seconds, n capped at 10.
pub fn backoff_window(retry_count: u32, th: &Thresholds) -> (f64, f64) {
    let n = retry_count.clamp(1, 10) as i32;
    let factor = th.retry_interval_multiplier / 1000.0;
    (
        th.retry_min_wait * factor.powi(n - 1),
        th.retry_min_wait * factor.powi(n),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cwmp::Rpc;
    use crate::findings::testkit::*;

    /// A session of serial `sn` starting at `start` (normal, or failed), with this RetryCount.
    fn session(number: u64, sn: &str, start: Nanos, normal: bool, retry: u32) -> Session {
        let mut l = Ladder::new();
        l.wait(start - T0).opened(&["2 PERIODIC"]);
        if normal {
            l.closed();
        } else {
            l.ends_abnormally(Termination::Closed);
        }
        if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
            i.device_id.serial_number = sn.to_owned();
            i.retry_count = Some(retry);
        }
        let mut s = l.build();
        s.number = number;
        s.start = s.messages[0].ts;
        if let Some(d) = &mut s.device {
            d.serial_number = sn.to_owned();
        }
        s
    }

    fn codes_of(f: &[Finding]) -> Vec<(&'static str, Severity)> {
        f.iter().map(|f| (f.code.id(), f.severity)).collect()
    }

    #[test]
    fn overlapping_sessions_of_one_cpe_even_out_of_order() {
        let th = Thresholds::default();
        let mut h = CpeHistory::default();
        // Session 2 (other CPE) overlaps in time but is another device.
        assert_eq!(h.check(&session(2, "B", T0, true, 0), &th), vec![]);
        // Session 3 of A finishes first, session 1 of A (started earlier) later: overlap.
        assert_eq!(
            h.check(&session(3, "A", T0 + 20 * MS, true, 0), &th),
            vec![]
        );
        let f = h.check(&session(1, "A", T0, true, 0), &th);
        assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
        assert!(f[0].message.contains("CPE A") && f[0].message.contains("session 3"));
        assert_eq!(f[0].frames, [crate::types::FrameRef::new(0, 2)]);
        assert_eq!(f[0].message_index, Some(0));
        // A later session that starts after both ended does not overlap.
        assert_eq!(h.check(&session(4, "A", T0 + 10 * S, true, 0), &th), vec![]);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn sessions_without_serial_are_matched_by_ip() {
        let th = Thresholds::default();
        let mut h = CpeHistory::default();
        h.check(&session(1, "", T0, true, 0), &th);
        let f = h.check(&session(2, "", T0 + 5 * MS, true, 0), &th);
        assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
        assert!(f[0].message.contains("CPE 192.0.2.1"));
    }

    #[test]
    fn retry_back_off_window_after_a_failed_session() {
        let th = Thresholds::default();
        assert_eq!(backoff_window(1, &th), (5.0, 10.0));
        assert_eq!(backoff_window(3, &th), (20.0, 40.0));
        assert_eq!(backoff_window(15, &th), backoff_window(10, &th));

        let failed = session(1, "A", T0, false, 0);
        let failed_end = failed.end;
        // RetryCount 1 → wait in [5, 10] s: 2 s is too early.
        let mut h = CpeHistory::default();
        h.check(&failed, &th);
        let f = h.check(&session(2, "A", failed_end + 2 * S - 10 * MS, true, 1), &th);
        assert_eq!(
            codes_of(&f),
            [
                ("retry-count-nonzero", Severity::Warning),
                ("retry-backoff-violation", Severity::Warning)
            ]
        );
        assert!(
            f[1].message.contains("2.0 s") && f[1].message.contains("[5.0, 10.0]"),
            "{}",
            f[1].message
        );
        assert!(f[0].message.contains("from 0") && f[0].message.contains("to 1"));
        // 7 s is inside the window.
        let mut h = CpeHistory::default();
        h.check(&failed, &th);
        let f = h.check(&session(2, "A", failed_end + 7 * S - 10 * MS, true, 1), &th);
        assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Warning)]);
        // After a session that ended normally the gap is not judged, and a steady count
        // does not grow.
        let mut h = CpeHistory::default();
        h.check(&session(1, "A", T0, true, 2), &th);
        assert_eq!(h.check(&session(2, "A", T0 + S, true, 2), &th), vec![]);
    }

    #[test]
    fn growing_retry_count_replaces_the_info() {
        let th = Thresholds::default();
        let mut h = CpeHistory::default();
        let first = session(1, "A", T0, true, 1);
        let f = crate::findings::check_session_with_history(&first, &mut h, &th);
        assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Info)]);
        let second = session(2, "A", T0 + 60 * S, true, 2);
        let f = crate::findings::check_session_with_history(&second, &mut h, &th);
        assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Warning)]);
    }

    #[test]
    fn the_number_of_cpes_is_bounded_and_the_least_recent_goes_first() {
        let th = Thresholds::default();
        let mut h = CpeHistory::new(3);
        for (n, sn) in ["A", "B", "C"].iter().enumerate() {
            h.check(&session(n as u64, sn, T0 + n as i64 * S, true, 0), &th);
        }
        // A is used again, then D arrives: B is forgotten.
        h.check(&session(10, "A", T0 + 10 * S, true, 0), &th);
        h.check(&session(11, "D", T0 + 11 * S, true, 0), &th);
        assert_eq!(h.len(), 3);
        // B overlapping its earlier session is no longer noticed; A's still is.
        assert_eq!(h.check(&session(12, "B", T0 + S, true, 0), &th), vec![]);
        let f = h.check(&session(13, "A", T0 + 10 * S, true, 0), &th);
        assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
        for i in 0..1000u64 {
            h.check(&session(100 + i, &format!("X{i}"), T0, true, 0), &th);
        }
        assert_eq!(h.len(), 3);
        assert!(h.recency.len() <= 64 + 1);
    }
}
