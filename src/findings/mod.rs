//! Findings: every deviation from the expected flow, with the stable codes, severities and
//! thresholds of the deviation catalogue (deviations.md). Session rules judge one finished
//! session (and a CPE's sessions over time); transaction rules live with the transactions.

pub mod cpe;
pub mod datetime;
pub mod session;
#[cfg(test)]
mod testkit;

pub use cpe::CpeHistory;

use crate::types::{FrameRef, Nanos};

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding: a catalogue code, its severity, a one-line message naming the concrete values,
/// and the frames where it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub frames: Vec<FrameRef>,
    /// Index of the session message it concerns (to print it under that arrow), if any.
    pub message_index: Option<usize>,
}

impl Finding {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
            frames: Vec::new(),
            message_index: None,
        }
    }

    /// Adds the frames where the finding shows.
    pub fn frames(mut self, frames: impl IntoIterator<Item = FrameRef>) -> Self {
        self.frames.extend(frames);
        self
    }

    /// Ties the finding to one message of its session.
    pub fn at_message(mut self, index: usize) -> Self {
        self.message_index = Some(index);
        self
    }
}

/// Every session-level finding of a finished session: [`session::check_session`] plus the
/// CPE-history rules of [`CpeHistory::check`] (which must see every session, in the order they
/// finish). When the history says RetryCount grew (warning), the plain RetryCount info of the
/// same session is dropped, so the code appears once.
pub fn check_session_with_history(
    s: &crate::session::Session,
    history: &mut CpeHistory,
    th: &Thresholds,
) -> Vec<Finding> {
    let mut out = session::check_session(s, th);
    let across = history.check(s, th);
    if across
        .iter()
        .any(|f| f.code == "retry-count-nonzero" && f.severity == Severity::Warning)
    {
        out.retain(|f| !(f.code == "retry-count-nonzero" && f.severity == Severity::Info));
    }
    out.extend(across);
    out
}

/// Thresholds of the timing and ratio rules (each has a command-line flag).
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// `slow-response`: a response later than this (`--slow-response`, 5 s).
    pub slow_response: Nanos,
    /// `session-timeout`: a gap inside a session longer than this, unless the CPE's
    /// SessionTimeout says otherwise (`--session-timeout`, 30 s).
    pub session_timeout: Nanos,
    /// `clock-skew`: Inform CurrentTime this far from the capture time (`--clock-skew`, 300 s).
    pub clock_skew: Nanos,
    /// `connection-request-timing`: the Inform must follow an accepted Connection Request
    /// within this (`--cr-timeout`, 30 s).
    pub connection_request_timeout: Nanos,
    /// `tcp-retransmissions`: share of a connection's data segments that are retransmissions
    /// (`--retransmission-threshold`, 5 %).
    pub retransmission_ratio: f64,
    /// Retry back-off window of `retry-backoff-violation`: m (s) and k of
    /// `[m·(k/1000)^(n−1), m·(k/1000)^n]` (`--retry-min-wait`, 5; `--retry-interval-multiplier`, 2000).
    pub retry_min_wait: f64,
    pub retry_interval_multiplier: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        const S: Nanos = 1_000_000_000;
        Thresholds {
            slow_response: 5 * S,
            session_timeout: 30 * S,
            clock_skew: 300 * S,
            connection_request_timeout: 30 * S,
            retransmission_ratio: 0.05,
            retry_min_wait: 5.0,
            retry_interval_multiplier: 2000.0,
        }
    }
}
