//! Turns the analysis outputs into report objects as they complete and hands them to the chosen
//! printer: NDJSON writes each at once; JSON streams sessions straight out and keeps the
//! transactions compressed until the end (memory grows by a few hundred bytes per transaction,
//! not by the report's size); text collects everything for the ladders and tables.

use super::{Format, json, text};
use crate::report::{
    CaptureSummary, CpeInfo, Deviation, Report, ReportOptions, SessionReport, Summary,
    TransactionReport, deviation,
};
use crate::transaction::Output;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
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

/// The JSON document written piece by piece: `{"sessions":[…` as sessions complete, then the
/// transactions (kept deflated meanwhile), the capture-level findings, `capture` and `summary`.
struct JsonStream {
    sessions: usize,
    transactions: usize,
    deflated: DeflateEncoder<Vec<u8>>,
    /// One transaction serialized, handed to the encoder in one write (the encoder does work
    /// per write call, so small writes are costly).
    scratch: Vec<u8>,
    findings: Vec<Deviation>,
}

enum Mode {
    Ndjson,
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

impl Printer {
    pub fn new(format: Format, opts: ReportOptions, filters: Filters, color: bool) -> Printer {
        let mode = match format {
            Format::Ndjson => Mode::Ndjson,
            Format::Json if filters.transaction.is_none() => Mode::Json(JsonStream {
                sessions: 0,
                transactions: 0,
                deflated: DeflateEncoder::new(Vec::new(), Compression::fast()),
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

    /// The counts so far (of what is shown).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// One finished session, transaction or capture-level finding.
    pub fn push(&mut self, item: Output, out: &mut dyn Write) -> io::Result<()> {
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
                }
            }
        }
        if matches!(self.mode, Mode::Ndjson) {
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
                let deflated = j.deflated.finish()?;
                io::copy(&mut DeflateDecoder::new(deflated.as_slice()), out)?;
                out.write_all(b"],\"deviations\":")?;
                serde_json::to_writer(&mut *out, &j.findings).map_err(io::Error::other)?;
                out.write_all(b",\"capture\":")?;
                serde_json::to_writer(&mut *out, &capture).map_err(io::Error::other)?;
                out.write_all(b",\"summary\":")?;
                serde_json::to_writer(&mut *out, &summary).map_err(io::Error::other)?;
                out.write_all(b"}\n")?;
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
