//! Printers: each output format is a [`Sink`] of the same stream of finished report objects
//! (sessions, transactions, capture-level findings), closed by the capture summary. The
//! [`printer::Printer`] in front of them turns the analysis outputs into report objects
//! ([`crate::report`]), applies the filters and keeps the counts; the sinks only write.
//!
//! | sink | module | writes |
//! |---|---|---|
//! | text report | [`text`] (through [`WholeReport`]) | everything at the end: ladders, session table, findings |
//! | streaming text | [`text_stream`] | each transaction's ladder and a line per session as they complete, then the table |
//! | JSON | [`json`] | one document; sessions streamed, transactions spooled until the end |
//! | NDJSON | [`ndjson`] | one line per item as it completes, then `capture` and `summary` |
//! | summary (`--summary`) | [`summary`] | at the end: the header, the campaign table, findings by code; counts only |
//!
//! JSON and NDJSON lines are written by [`compact`], serde_json's bytes with faster strings.
//!
//! The ladder's layout ([`ladder`]) is computed apart from any printer, so that a terminal UI
//! draws the same ladder as the text report.

pub mod compact;
pub mod filter;
pub mod json;
pub mod ladder;
pub mod merge;
pub mod ndjson;
pub mod printer;
pub mod summary;
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
    /// Whether [`Sink::serialized`] may be called: the sink writes a session or transaction
    /// as the compact JSON of its report object.
    fn takes_serialized(&self) -> bool {
        false
    }
    /// A session or transaction serialized already (`json`: the object's compact JSON), for
    /// a sink that [takes them](Sink::takes_serialized).
    fn serialized(
        &mut self,
        _item: printer::Item,
        _json: &[u8],
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        Err(io::Error::other("this output format takes report objects"))
    }
    /// A finding of no session or transaction.
    fn finding(&mut self, finding: FindingReport, out: &mut dyn Write) -> io::Result<()>;
    /// Whether the sessions in progress are wanted (a live view); the others print only what
    /// ended.
    fn wants_open(&self) -> bool {
        false
    }
    /// The sessions open now, as they stand (each ends later as a [`Sink::session`]).
    fn open(&mut self, _sessions: Vec<SessionReport>, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// In a shard run, where the next session, transaction or finding stands in the whole
    /// run (NDJSON writes it into the line, for `cwmpscope merge`).
    fn position(&mut self, _position: crate::shard::Position) {}
    /// End of input: writes what remains. `summary` counts what was shown.
    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()>;
}

/// A printer that needs the whole report (the text report, JSON of one selected transaction):
/// keeps everything until the end of input, then renders the report, with only the selected
/// transaction's sessions when one is selected.
pub struct WholeReport<R> {
    sessions: Vec<SessionReport>,
    transactions: Vec<TransactionReport>,
    findings: Vec<FindingReport>,
    transaction: Option<String>,
    render: R,
}

impl<R> WholeReport<R>
where
    R: FnOnce(&mut dyn Write, &crate::report::Report) -> io::Result<()> + Send,
{
    /// `transaction`: the selected transaction (`t3`), if any; `render` writes the report.
    pub fn new(transaction: Option<String>, render: R) -> Self {
        WholeReport {
            sessions: Vec::new(),
            transactions: Vec::new(),
            findings: Vec::new(),
            transaction,
            render,
        }
    }
}

impl<R> Sink for WholeReport<R>
where
    R: FnOnce(&mut dyn Write, &crate::report::Report) -> io::Result<()> + Send,
{
    fn session(&mut self, session: SessionReport, _out: &mut dyn Write) -> io::Result<()> {
        self.sessions.push(session);
        Ok(())
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        self.transactions.push(transaction);
        Ok(())
    }

    fn finding(&mut self, finding: FindingReport, _out: &mut dyn Write) -> io::Result<()> {
        self.findings.push(finding);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        _summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let WholeReport {
            mut sessions,
            transactions,
            findings,
            transaction,
            render,
        } = *self;
        if let Some(id) = &transaction {
            let wanted: Vec<&String> = transactions
                .iter()
                .filter(|t| t.id == *id)
                .flat_map(|t| &t.sessions)
                .collect();
            sessions.retain(|s| wanted.contains(&&s.id));
        }
        let report = crate::report::Report::new(capture, sessions, transactions, findings);
        render(out, &report)
    }
}
