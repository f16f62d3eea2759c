//! Turns the analysis outputs into report objects as they complete and hands them to the chosen
//! printer: NDJSON writes each at once; JSON streams sessions straight out and spools the
//! transactions, compressed, to a temporary file until the end (memory does not grow with
//! them); text collects everything for the ladders and tables.

use super::{Format, json, text};
use crate::findings::Output;
use crate::report::{
    CaptureSummary, CpeInfo, Deviation, Report, ReportOptions, SessionReport, Summary,
    TransactionReport, deviation,
};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::collections::VecDeque;
use std::io::{self, Write};

/// What to show.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Serial numbers or IPs (empty: every CPE).
    pub cpe: Vec<String>,
    /// One transaction id (`t3`) and its sessions.
    pub transaction: Option<String>,
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

/// Where finished transactions wait for the end of the JSON document: an anonymous temporary
/// file (memory stays flat however many there are), or memory when no file can be made.
enum Spool {
    File(io::BufWriter<std::fs::File>),
    Memory(Vec<u8>),
}

impl Spool {
    fn new() -> Spool {
        match tempfile::tempfile() {
            Ok(f) => Spool::File(io::BufWriter::with_capacity(1 << 16, f)),
            Err(_) => Spool::Memory(Vec::new()),
        }
    }

    /// Copies what was spooled, inflated, to `out`.
    fn replay(self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Spool::File(w) => {
                use std::io::Seek;
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                f.seek(io::SeekFrom::Start(0))?;
                io::copy(&mut DeflateDecoder::new(io::BufReader::new(f)), out)?;
            }
            Spool::Memory(v) => {
                io::copy(&mut DeflateDecoder::new(v.as_slice()), out)?;
            }
        }
        Ok(())
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Spool::File(w) => w.write(buf),
            Spool::Memory(v) => v.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Spool::File(w) => w.flush(),
            Spool::Memory(_) => Ok(()),
        }
    }
}

/// The JSON document written piece by piece: `{"sessions":[…` as sessions complete, then the
/// transactions (spooled deflated meanwhile), the capture-level findings, `capture` and
/// `summary`.
struct JsonStream {
    sessions: usize,
    transactions: usize,
    deflated: DeflateEncoder<Spool>,
    /// One transaction serialized, handed to the encoder in one write (the encoder does work
    /// per write call, so small writes are costly).
    scratch: Vec<u8>,
    findings: Vec<Deviation>,
}

/// Sessions kept for the closing table of streaming text (older ones are counted, not kept).
const STREAM_KEPT_SESSIONS: usize = 10_000;
/// Transaction findings kept for the closing findings list of streaming text.
const STREAM_KEPT_FINDINGS: usize = 10_000;

/// What streaming text keeps for its closing table and findings (bounded).
#[derive(Default)]
struct TextStream {
    sessions: VecDeque<SessionReport>,
    omitted_sessions: usize,
    /// Findings of transactions (with the transaction id) and of the capture.
    findings: VecDeque<(String, Deviation)>,
    /// The sessions of the transactions shown (used with a transaction filter).
    selected_sessions: Vec<String>,
}

enum Mode {
    Ndjson,
    /// Text as it completes: transaction ladders, one line per session; table at the end.
    TextStream(TextStream),
    Json(JsonStream),
    /// Everything kept until the end (text, and JSON for one transaction).
    Collect {
        sessions: Vec<SessionReport>,
        transactions: Vec<TransactionReport>,
        findings: Vec<Deviation>,
    },
}

/// Receives every output of the analyzer; see the module documentation.
pub struct Printer {
    format: Format,
    mode: Mode,
    opts: ReportOptions,
    filters: Filters,
    summary: Summary,
    color: bool,
}

impl TextStream {
    fn keep_finding(&mut self, owner: String, d: Deviation) {
        if self.findings.len() >= STREAM_KEPT_FINDINGS {
            self.findings.pop_front();
        }
        self.findings.push_back((owner, d));
    }
}

impl Printer {
    fn style(&self) -> text::Style {
        text::Style { color: self.color }
    }

    pub fn new(format: Format, opts: ReportOptions, filters: Filters, color: bool) -> Printer {
        let mode = match format {
            Format::Ndjson => Mode::Ndjson,
            Format::Json if filters.transaction.is_none() => Mode::Json(JsonStream {
                sessions: 0,
                transactions: 0,
                deflated: DeflateEncoder::new(Spool::new(), Compression::fast()),
                scratch: Vec::new(),
                findings: Vec::new(),
            }),
            _ => Mode::Collect {
                sessions: Vec::new(),
                transactions: Vec::new(),
                findings: Vec::new(),
            },
        };
        Printer {
            format,
            mode,
            opts,
            filters,
            summary: Summary::default(),
            color,
        }
    }

    /// Like [`Printer::new`], for input that arrives over time (a pipe, a live capture): text
    /// is written as it completes (each transaction's ladder, one line per session) and closed
    /// by the session table and findings; the other formats are as with `new`.
    pub fn new_streaming(
        format: Format,
        opts: ReportOptions,
        filters: Filters,
        color: bool,
    ) -> Printer {
        let mut printer = Printer::new(format, opts, filters, color);
        if format == Format::Text {
            printer.mode = Mode::TextStream(TextStream::default());
        }
        printer
    }

    /// The counts so far (of what is shown).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// One finished session, transaction or capture-level finding.
    pub fn push(&mut self, item: Output, out: &mut dyn Write) -> io::Result<()> {
        let style = self.style();
        match item {
            Output::Session(s) => {
                let report = SessionReport::build(&s, &self.opts);
                if !self.filters.cpe_matches(&report.cpe)
                    || (self.filters.transaction.is_some() && matches!(self.mode, Mode::Ndjson))
                {
                    return Ok(());
                }
                self.summary.add_session(&report);
                match &mut self.mode {
                    Mode::Ndjson => json::write_ndjson(out, "session", &report)?,
                    Mode::Json(j) => {
                        out.write_all(if j.sessions == 0 {
                            b"{\"sessions\":["
                        } else {
                            b","
                        })?;
                        j.sessions += 1;
                        serde_json::to_writer(&mut *out, &report).map_err(io::Error::other)?;
                    }
                    Mode::Collect { sessions, .. } => sessions.push(report),
                    Mode::TextStream(stream) => {
                        if self.filters.transaction.is_none() {
                            text::write_session_line(out, &report, style)?;
                        }
                        if stream.sessions.len() >= STREAM_KEPT_SESSIONS {
                            stream.sessions.pop_front();
                            stream.omitted_sessions += 1;
                        }
                        stream.sessions.push_back(report);
                    }
                }
            }
            Output::Transaction(t) => {
                let report = TransactionReport::build(&t, &self.opts);
                if !self.filters.cpe_matches(&report.cpe)
                    || self
                        .filters
                        .transaction
                        .as_ref()
                        .is_some_and(|id| *id != report.id)
                {
                    return Ok(());
                }
                self.summary.add_transaction(&report);
                match &mut self.mode {
                    Mode::Ndjson => json::write_ndjson(out, "transaction", &report)?,
                    Mode::Json(j) => {
                        j.scratch.clear();
                        if j.transactions > 0 {
                            j.scratch.push(b',');
                        }
                        j.transactions += 1;
                        serde_json::to_writer(&mut j.scratch, &report).map_err(io::Error::other)?;
                        j.deflated.write_all(&j.scratch)?;
                    }
                    Mode::Collect { transactions, .. } => transactions.push(report),
                    Mode::TextStream(stream) => {
                        let session_findings: Vec<&Deviation> = stream
                            .sessions
                            .iter()
                            .filter(|s| report.sessions.contains(&s.id))
                            .flat_map(|s| &s.deviations)
                            .collect();
                        writeln!(out)?;
                        text::write_transaction_ladder(out, &report, session_findings, style)?;
                        writeln!(out)?;
                        if self.filters.transaction.is_some() {
                            stream
                                .selected_sessions
                                .extend(report.sessions.iter().cloned());
                        }
                        for d in report.deviations {
                            stream.keep_finding(report.id.clone(), d);
                        }
                    }
                }
            }
            Output::Finding(f) => {
                if self.filters.transaction.is_some() {
                    return Ok(());
                }
                let d = deviation(&f, &self.opts);
                self.summary.add_findings(std::slice::from_ref(&d));
                match &mut self.mode {
                    Mode::Ndjson => json::write_ndjson(out, "finding", &d)?,
                    Mode::Json(j) => j.findings.push(d),
                    Mode::Collect { findings, .. } => findings.push(d),
                    Mode::TextStream(stream) => {
                        text::write_finding_line(out, &d, style)?;
                        stream.keep_finding("capture".to_owned(), d);
                    }
                }
            }
        }
        if matches!(self.mode, Mode::Ndjson | Mode::TextStream(_)) {
            out.flush()?;
        }
        Ok(())
    }

    /// End of input: writes what remains (the whole report for text and collected JSON).
    pub fn finish(self, capture: CaptureSummary, out: &mut dyn Write) -> io::Result<Summary> {
        let summary = self.summary;
        match self.mode {
            Mode::Ndjson => json::write_ndjson_end(out, &capture, &summary)?,
            Mode::Json(j) => {
                if j.sessions == 0 {
                    out.write_all(b"{\"sessions\":[")?;
                }
                out.write_all(b"],\"transactions\":[")?;
                j.deflated.finish()?.replay(out)?;
                out.write_all(b"],\"deviations\":")?;
                serde_json::to_writer(&mut *out, &j.findings).map_err(io::Error::other)?;
                out.write_all(b",\"capture\":")?;
                serde_json::to_writer(&mut *out, &capture).map_err(io::Error::other)?;
                out.write_all(b",\"summary\":")?;
                serde_json::to_writer(&mut *out, &summary).map_err(io::Error::other)?;
                out.write_all(b"}\n")?;
            }
            Mode::TextStream(stream) => {
                // With --transaction, only the sessions of the transaction shown.
                let shown = |s: &&SessionReport| {
                    self.filters.transaction.is_none() || stream.selected_sessions.contains(&s.id)
                };
                let mut findings: Vec<(&str, &Deviation)> = stream
                    .findings
                    .iter()
                    .map(|(owner, d)| (owner.as_str(), d))
                    .collect();
                findings.extend(
                    stream
                        .sessions
                        .iter()
                        .filter(shown)
                        .flat_map(|s| s.deviations.iter().map(|d| (s.id.as_str(), d))),
                );
                let sessions: Vec<&SessionReport> = stream.sessions.iter().filter(shown).collect();
                text::write_closing(
                    out,
                    &capture,
                    &summary,
                    &sessions,
                    findings,
                    stream.omitted_sessions,
                    text::Style { color: self.color },
                )?;
            }
            Mode::Collect {
                mut sessions,
                transactions,
                findings,
            } => {
                if let Some(id) = &self.filters.transaction {
                    // Only the sessions of the selected transaction.
                    let wanted: Vec<&String> = transactions
                        .iter()
                        .filter(|t| t.id == *id)
                        .flat_map(|t| &t.sessions)
                        .collect();
                    sessions.retain(|s| wanted.contains(&&s.id));
                }
                let report = Report::new(capture, sessions, transactions, findings);
                if self.format == Format::Json {
                    json::write_json(out, &report)?;
                } else {
                    text::write_report(out, &report, text::Style { color: self.color })?;
                }
            }
        }
        out.flush()?;
        Ok(summary)
    }
}
