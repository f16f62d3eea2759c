//! Rules across the sessions of one CPE: `overlapping-sessions`, `retry-backoff-violation` and
//! the growing-RetryCount warning of `retry-count-nonzero`. A few numbers are kept per CPE, and
//! the number of CPEs is capped (the least recently seen is forgotten first).

use super::session::anchor_to_session;
use super::{Code, Finding, Severity, Thresholds, secs};
use crate::limits::Limit;
use crate::session::{Session, Termination};
use crate::types::Nanos;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// Sessions remembered per CPE (enough to find the one before a session that finished late).
const SESSIONS_PER_CPE: usize = 4;

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
    /// CPEs forgotten because `max_cpes` was reached.
    forgotten: u64,
}

impl Default for CpeHistory {
    fn default() -> Self {
        CpeHistory::new(Limit::CpeHistory.default_usize())
    }
}

impl CpeHistory {
    /// A history that remembers at most `max_cpes` CPEs (at least 1).
    pub fn new(max_cpes: usize) -> Self {
        CpeHistory {
            cpes: FxHashMap::with_capacity_and_hasher(
                crate::types::churn_capacity(max_cpes),
                Default::default(),
            ),
            recency: VecDeque::new(),
            next_stamp: 0,
            max_cpes: max_cpes.max(1),
            forgotten: 0,
        }
    }

    /// CPEs forgotten so far because the cap was reached (`cpe-history`).
    pub fn forgotten(&self) -> u64 {
        self.forgotten
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
                self.forgotten += 1;
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
mod tests;
