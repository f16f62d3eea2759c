//! Findings: the stage after `transaction`, and the last of the core. It judges what the
//! session and transaction stages state (finished sessions, transactions with their notes and
//! evidence, connections of neither) against the catalogue of `crate::catalogue`, and hands the
//! printers [`Output`]. The rules are grouped by what they judge:
//!
//! - [`session`]: one finished CWMP session on its own, one rule family per file;
//! - [`cpe`]: a CPE's sessions over time (history kept across sessions);
//! - [`transfer`]: a transaction (Download/Upload, fetch, TransferComplete);
//! - [`connection`]: connections and Connection Requests of no session or transaction;
//! - [`tls`]: the TLS handshake of one connection.
//!
//! The vocabulary (`Code`, `Finding`, `Severity`, `Thresholds`) lives in `crate::catalogue`, below
//! `session` and `transaction`, so those stages can carry findings without depending on the
//! rules; it is re-exported here.

pub mod connection;
pub mod cpe;
pub mod datetime;
mod judge;
pub mod session;
#[cfg(test)]
mod testkit;
pub mod tls;
pub mod transfer;

pub use crate::catalogue::{Code, Finding, Severity, Thresholds};
pub use cpe::CpeHistory;
pub use judge::{Judge, Output};

use crate::types::Nanos;

/// Seconds with one decimal, for messages.
fn secs(n: Nanos) -> String {
    format!("{:.1}", n as f64 / 1e9)
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
        .any(|f| f.code == Code::RetryCountNonzero && f.severity == Severity::Warning)
    {
        out.retain(|f| !(f.code == Code::RetryCountNonzero && f.severity == Severity::Info));
    }
    out.extend(across);
    out
}
