//! The findings stage: takes what the transaction stage hands on, in order, adds the findings
//! of each item, and hands the result to the printers as [`Output`].

use super::{CpeHistory, Finding, Thresholds, check_session_with_history, connection, transfer};
use crate::session::Session;
use crate::transaction::{Tracked, Transaction};

/// What the analysis core hands to the printers.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Output {
    Session(Session),
    Transaction(Transaction),
    /// A finding that belongs to no session or transaction (a SYN to the ACS never answered).
    Finding(Finding),
    /// The sessions open at this point of capture time, as they stand (no findings yet): a
    /// view of what is in progress, emitted only when asked for
    /// ([`crate::pipeline::PipelineConfig::open_every`]). Each is reported again as
    /// [`Output::Session`] once it ends.
    Open(Vec<Session>),
}

/// Judges each finished session, transaction and loose connection.
pub struct Judge {
    thresholds: Thresholds,
    /// Every session, in the order they finish, for the rules across a CPE's sessions.
    history: CpeHistory,
}

impl Judge {
    pub fn new(thresholds: Thresholds) -> Self {
        Judge {
            thresholds,
            history: CpeHistory::default(),
        }
    }

    /// Consumes one item of the transaction stage.
    pub fn push(&mut self, item: Tracked, out: &mut impl FnMut(Output)) {
        match item {
            Tracked::Session(mut s, notes) => {
                // The session's own rules first, then what the transaction stage noticed.
                let mut found = check_session_with_history(&s, &mut self.history, &self.thresholds);
                found.extend(notes.iter().map(transfer::of_note));
                s.findings = found;
                out(Output::Session(s));
            }
            Tracked::Transaction(mut tx, notes, evidence) => {
                // What was noticed along the way, in order, then the whole transfer.
                let mut found: Vec<Finding> = notes.iter().map(transfer::of_note).collect();
                found.extend(transfer::judge(&tx, &evidence, &self.thresholds));
                tx.findings = found;
                out(Output::Transaction(tx));
            }
            Tracked::Connection(c) => {
                if let Some(f) = connection::unclaimed(&c) {
                    out(Output::Finding(f));
                }
            }
            Tracked::OrphanConnectionRequest(cr) => out(Output::Finding(
                connection::orphan_connection_request(&cr, &self.thresholds),
            )),
        }
    }
}
