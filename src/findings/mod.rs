//! Findings: every deviation from the expected flow, with the stable codes, severities and
//! thresholds of the deviation catalogue (deviations.md). Session rules judge one finished
//! session (and a CPE's sessions over time); transaction rules live with the transactions.

pub mod cpe;
pub mod datetime;
pub mod session;
#[cfg(test)]
mod testkit;

pub use cpe::CpeHistory;

pub use crate::catalogue::{Code, Finding, Severity, Thresholds};

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
        .any(|f| f.code == Code::RetryCountNonzero && f.severity == Severity::Warning)
    {
        out.retain(|f| !(f.code == Code::RetryCountNonzero && f.severity == Severity::Info));
    }
    out.extend(across);
    out
}
