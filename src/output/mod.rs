//! Printers: each output format is a [`Sink`] of the same stream of finished report objects
//! (sessions, transactions, capture-level findings), closed by the capture summary. The
//! [`printer::Printer`] in front of them turns the analysis outputs into report objects
//! ([`crate::report`]), applies the filters and keeps the counts; the sinks only write.
//!
//! | sink | module | writes |
//! |---|---|---|
//! | text report | [`text`] | everything at the end: ladders, session table, findings |
//! | streaming text | [`text_stream`] | each transaction's ladder and a line per session as they complete, then the table |
//! | JSON | [`json`] | one document; sessions streamed, transactions spooled until the end |
//! | NDJSON | [`ndjson`] | one line per item as it completes, then `capture` and `summary` |
//!
//! The ladder's layout ([`ladder`]) is computed apart from any printer, so that a terminal UI
//! draws the same ladder as the text report.

pub mod json;
pub mod ladder;
pub mod ndjson;
pub mod printer;
pub mod text;
pub mod text_stream;

use crate::report::{CaptureSummary, FindingReport, SessionReport, Summary, TransactionReport};
use std::io::{self, Write};

/// Output format chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Ndjson,
}

/// One output format: receives each finished item (already filtered and counted), then the
/// capture summary at the end.
pub trait Sink {
    /// Whether sessions are shown at all (NDJSON of one transaction leaves them out).
    fn wants_sessions(&self) -> bool {
        true
    }
    fn session(&mut self, session: SessionReport, out: &mut dyn Write) -> io::Result<()>;
    fn transaction(
        &mut self,
        transaction: TransactionReport,
        out: &mut dyn Write,
    ) -> io::Result<()>;
    /// A finding of no session or transaction.
    fn finding(&mut self, finding: FindingReport, out: &mut dyn Write) -> io::Result<()>;
    /// End of input: writes what remains. `summary` counts what was shown.
    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()>;
}

/// Everything kept until the end of input, for the printers that need the whole report (the
/// text report, and JSON of one transaction).
#[derive(Default)]
struct Collected {
    sessions: Vec<SessionReport>,
    transactions: Vec<TransactionReport>,
    findings: Vec<FindingReport>,
}

impl Collected {
    /// The whole report; with a transaction selected (`--transaction t3`), only its sessions.
    fn into_report(
        self,
        capture: CaptureSummary,
        transaction: Option<&str>,
    ) -> crate::report::Report {
        let Collected {
            mut sessions,
            transactions,
            findings,
        } = self;
        if let Some(id) = transaction {
            let wanted: Vec<&String> = transactions
                .iter()
                .filter(|t| t.id == id)
                .flat_map(|t| &t.sessions)
                .collect();
            sessions.retain(|s| wanted.contains(&&s.id));
        }
        crate::report::Report::new(capture, sessions, transactions, findings)
    }
}
