//! Streaming text, for input that arrives over time (a pipe, a live capture): each
//! transaction's ladder and one line per session as they complete, each capture-level finding
//! as it is found, then the summary, the session table and every finding. What it keeps for
//! the closing table is bounded.

use super::Sink;
use super::text::{self, Style};
use crate::report::{CaptureSummary, FindingReport, SessionReport, Summary, TransactionReport};
use std::collections::VecDeque;
use std::io::{self, Write};

/// Sessions kept for the closing table (older ones are counted, not kept).
const KEPT_SESSIONS: usize = 10_000;
/// Transaction and capture findings kept for the closing findings list.
const KEPT_FINDINGS: usize = 10_000;

/// The streaming text printer.
pub struct TextStreamSink {
    sessions: VecDeque<SessionReport>,
    omitted_sessions: usize,
    /// Findings of transactions (with the transaction id) and of no session or transaction.
    findings: VecDeque<(Option<String>, FindingReport)>,
    /// With a transaction selected: it, and its sessions once it is shown.
    transaction: Option<String>,
    selected_sessions: Vec<String>,
    style: Style,
}

impl TextStreamSink {
    pub fn new(transaction: Option<String>, style: Style) -> TextStreamSink {
        TextStreamSink {
            sessions: VecDeque::new(),
            omitted_sessions: 0,
            findings: VecDeque::new(),
            transaction,
            selected_sessions: Vec::new(),
            style,
        }
    }

    fn keep_finding(&mut self, owner: Option<String>, d: FindingReport) {
        if self.findings.len() >= KEPT_FINDINGS {
            self.findings.pop_front();
        }
        self.findings.push_back((owner, d));
    }
}

impl Sink for TextStreamSink {
    fn session(&mut self, session: SessionReport, out: &mut dyn Write) -> io::Result<()> {
        if self.transaction.is_none() {
            text::write_session_line(out, &session, self.style)?;
        }
        if self.sessions.len() >= KEPT_SESSIONS {
            self.sessions.pop_front();
            self.omitted_sessions += 1;
        }
        self.sessions.push_back(session);
        out.flush()
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let session_findings: Vec<&FindingReport> = self
            .sessions
            .iter()
            .filter(|s| transaction.sessions.contains(&s.id))
            .flat_map(|s| &s.findings)
            .collect();
        writeln!(out)?;
        text::write_transaction_ladder(out, &transaction, session_findings, self.style)?;
        writeln!(out)?;
        if self.transaction.is_some() {
            self.selected_sessions
                .extend(transaction.sessions.iter().cloned());
        }
        for d in transaction.findings {
            self.keep_finding(Some(transaction.id.clone()), d);
        }
        out.flush()
    }

    fn finding(&mut self, finding: FindingReport, out: &mut dyn Write) -> io::Result<()> {
        text::write_finding_line(out, &finding, self.style)?;
        self.keep_finding(None, finding);
        out.flush()
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        // With --transaction, only the sessions of the transaction shown.
        let shown = |s: &&SessionReport| {
            self.transaction.is_none() || self.selected_sessions.contains(&s.id)
        };
        let mut findings: Vec<(Option<&str>, &FindingReport)> = self
            .findings
            .iter()
            .map(|(owner, d)| (owner.as_deref(), d))
            .collect();
        findings.extend(
            self.sessions
                .iter()
                .filter(shown)
                .flat_map(|s| s.findings.iter().map(|d| (Some(s.id.as_str()), d))),
        );
        let sessions: Vec<&SessionReport> = self.sessions.iter().filter(shown).collect();
        text::write_closing(
            out,
            &capture,
            summary,
            &sessions,
            findings,
            self.omitted_sessions,
            self.style,
        )
    }
}
