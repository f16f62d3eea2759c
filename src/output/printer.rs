//! The front of the printers: turns each analysis output into its report object as it
//! completes, applies the command line's filters, keeps the counts of what is shown, and hands
//! the object to the chosen [`Sink`].

use super::filter::Subject;
use super::json::{self, JsonSink};
use super::ndjson::NdjsonSink;
use super::summary::SummarySink;
use super::text::{self, Style};
use super::text_stream::TextStreamSink;
use super::{Format, Sink, WholeReport};
use crate::catalogue::Severity;
use crate::findings::Output;
use crate::report::{
    CaptureSummary, CpeInfo, FindingReport, ReportOptions, SessionReport, Summary,
    TransactionReport, capture_finding_report,
};
use crate::transaction::Outcome;
use std::io::{self, Write};

/// What to show.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Serial numbers or IPs (empty: every CPE).
    pub cpe: Vec<String>,
    /// One transaction id (`t3`) and its sessions.
    pub transaction: Option<String>,
    /// `--filter` terms: transactions and sessions that match them all.
    pub terms: Vec<super::filter::Term>,
}

impl Filters {
    fn cpe_matches(&self, cpe: &CpeInfo) -> bool {
        self.cpe.is_empty()
            || self.cpe.iter().any(|f| {
                cpe.ip == *f
                    || cpe
                        .serial
                        .as_deref()
                        .is_some_and(|serial| serial.eq_ignore_ascii_case(f))
            })
    }
}

/// An output with its report object built: what [`Printer::push_built`] takes. Building is the
/// part of printing that can run on other threads ([`Builder`]).
pub enum Built {
    Session(SessionReport),
    Transaction(TransactionReport),
    /// A session or transaction serialized already, for a sink that takes JSON bytes, when no
    /// filter needs the object.
    Serialized(Serialized),
    /// Built by the printer itself: findings, positions and open sessions (they are few), and
    /// sessions and transactions when no other thread builds them.
    Other(Output),
}

/// A session or transaction as compact JSON, with what the printer counts of it.
pub struct Serialized {
    pub item: Item,
    /// The object, `{` to `}`.
    pub json: Vec<u8>,
    /// Code and severity of each of its findings.
    findings: Vec<(&'static str, Severity)>,
}

/// Which kind of item [`Serialized`] holds (a transaction with its outcome, for the counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Session,
    Transaction(Outcome),
}

impl Serialized {
    fn of<T: serde::Serialize>(
        item: Item,
        report: &T,
        findings: &[FindingReport],
    ) -> io::Result<Serialized> {
        let mut json = Vec::with_capacity(4096);
        super::compact::write(&mut json, report)?;
        Ok(Serialized {
            item,
            json,
            findings: findings.iter().map(|f| (f.code, f.severity)).collect(),
        })
    }
}

/// Builds the report objects of finished sessions and transactions, on any thread; for a
/// printer whose sink takes JSON bytes and that filters nothing, serializes them too.
#[derive(Clone, Debug)]
pub struct Builder {
    opts: ReportOptions,
    serialize: bool,
}

impl Builder {
    pub fn build(&self, item: Output) -> Built {
        let built = build(item, &self.opts);
        if !self.serialize {
            return built;
        }
        // An object that cannot be serialized goes on as it is: the sink reports the error.
        match built {
            Built::Session(r) => Serialized::of(Item::Session, &r, &r.findings)
                .map_or(Built::Session(r), Built::Serialized),
            Built::Transaction(r) => Serialized::of(Item::Transaction(r.outcome), &r, &r.findings)
                .map_or(Built::Transaction(r), Built::Serialized),
            other => other,
        }
    }
}

fn build(item: Output, opts: &ReportOptions) -> Built {
    match item {
        Output::Session(s) => Built::Session(SessionReport::build(s, opts)),
        Output::Transaction(t) => Built::Transaction(TransactionReport::build(t, opts)),
        other => Built::Other(other),
    }
}

/// Receives every output of the analyzer; see the module documentation.
pub struct Printer {
    sink: Box<dyn Sink + Send>,
    opts: ReportOptions,
    filters: Filters,
    summary: Summary,
}

/// The termination of a session still open.
pub const IN_PROGRESS: &str = "in progress";

impl Printer {
    /// A printer for input read as a whole (files): text is written at the end. `summary`
    /// (`--summary`, text only) writes the summary instead of the whole text report.
    pub fn new(
        format: Format,
        opts: ReportOptions,
        filters: Filters,
        color: bool,
        summary: bool,
    ) -> Printer {
        let selected = filters.transaction.clone();
        let sink: Box<dyn Sink + Send> = match format {
            Format::Text if summary => Box::new(SummarySink::new(selected, Style { color })),
            Format::Ndjson => Box::new(NdjsonSink::new(selected.is_none()).buffered()),
            Format::Json => match selected {
                None => Box::new(JsonSink::new()),
                Some(id) => Box::new(WholeReport::new(Some(id), json::write_json)),
            },
            Format::Text => Box::new(WholeReport::new(selected, move |w, r| {
                text::write_report(w, r, Style { color })
            })),
        };
        Printer::with_sink(sink, opts, filters)
    }

    /// Like [`Printer::new`], for input that arrives over time (a pipe, a live capture): text
    /// is written as it completes (each transaction's ladder, one line per session) and closed
    /// by the session table and findings; NDJSON lines are flushed one by one; JSON and the
    /// summary (which counts as items complete and writes at the end) are as with `new`.
    pub fn new_streaming(
        format: Format,
        opts: ReportOptions,
        filters: Filters,
        color: bool,
        summary: bool,
    ) -> Printer {
        match format {
            Format::Text if !summary => {
                let sink = TextStreamSink::new(filters.transaction.clone(), Style { color });
                Printer::with_sink(Box::new(sink), opts, filters)
            }
            Format::Ndjson => {
                let sink = NdjsonSink::new(filters.transaction.is_none());
                Printer::with_sink(Box::new(sink), opts, filters)
            }
            _ => Printer::new(format, opts, filters, color, summary),
        }
    }

    /// A printer writing to any sink.
    pub fn with_sink(sink: Box<dyn Sink + Send>, opts: ReportOptions, filters: Filters) -> Printer {
        Printer {
            sink,
            opts,
            filters,
            summary: Summary::default(),
        }
    }

    /// The counts so far (of what is shown).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// What builds the report objects of this printer, for other threads.
    pub fn builder(&self) -> Builder {
        let filters = &self.filters;
        Builder {
            opts: self.opts.clone(),
            serialize: self.sink.takes_serialized()
                && filters.cpe.is_empty()
                && filters.transaction.is_none()
                && filters.terms.is_empty(),
        }
    }

    /// One finished session, transaction or capture-level finding.
    pub fn push(&mut self, item: Output, out: &mut dyn Write) -> io::Result<()> {
        self.push_built(Built::Other(item), out)
    }

    /// As [`Printer::push`], with the report object built already ([`Builder`]).
    pub fn push_built(&mut self, item: Built, out: &mut dyn Write) -> io::Result<()> {
        match item {
            Built::Session(report) => {
                if !self.filters.cpe_matches(&report.cpe)
                    || !self.sink.wants_sessions()
                    || !Subject::session(&report).matches(&self.filters.terms)
                {
                    return Ok(());
                }
                self.summary.add_session(&report);
                self.sink.session(report, out)
            }
            Built::Transaction(report) => {
                if !self.filters.cpe_matches(&report.cpe)
                    || self
                        .filters
                        .transaction
                        .as_ref()
                        .is_some_and(|id| *id != report.id)
                    || !Subject::transaction(&report, std::iter::empty())
                        .matches(&self.filters.terms)
                {
                    return Ok(());
                }
                self.summary.add_transaction(&report);
                self.sink.transaction(report, out)
            }
            Built::Serialized(item) => {
                // Only a builder of this printer serializes, and only when nothing is
                // filtered (`Printer::builder`).
                let outcome = match item.item {
                    Item::Session if !self.sink.wants_sessions() => return Ok(()),
                    Item::Session => None,
                    Item::Transaction(outcome) => Some(outcome),
                };
                self.summary
                    .add_item(outcome, item.findings.iter().copied());
                self.sink.serialized(item.item, &item.json, out)
            }
            Built::Other(Output::Finding(f, cpe)) => {
                if self.filters.transaction.is_some() || !self.filters.terms.is_empty() {
                    return Ok(());
                }
                let d = capture_finding_report(f, cpe.as_ref(), &self.opts);
                // A finding of another CPE than the one asked for is not shown (one of no
                // known CPE is).
                if d.cpe.as_ref().is_some_and(|c| !self.filters.cpe_matches(c)) {
                    return Ok(());
                }
                self.summary.add_findings(std::slice::from_ref(&d));
                self.sink.finding(d, out)
            }
            Built::Other(Output::Position(position)) => {
                self.sink.position(position);
                Ok(())
            }
            Built::Other(Output::Open(sessions)) => {
                if !self.sink.wants_open() {
                    return Ok(());
                }
                let reports = sessions
                    .into_iter()
                    .map(|s| SessionReport {
                        termination: IN_PROGRESS,
                        ..SessionReport::build(s, &self.opts)
                    })
                    .filter(|r| self.filters.cpe_matches(&r.cpe))
                    .collect();
                self.sink.open(reports, out)
            }
            Built::Other(item @ (Output::Session(_) | Output::Transaction(_))) => {
                let built = build(item, &self.opts);
                self.push_built(built, out)
            }
        }
    }

    /// End of input: writes what remains (the whole report for text and collected JSON).
    pub fn finish(self, capture: CaptureSummary, out: &mut dyn Write) -> io::Result<Summary> {
        self.sink.finish(capture, &self.summary, out)?;
        out.flush()?;
        Ok(self.summary)
    }
}
