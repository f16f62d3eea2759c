//! NDJSON: one object a line as each item completes (`{"type":"session", …}`,
//! `{"type":"transaction", …}`, `{"type":"finding", …}`), closed by `{"type":"capture", …}` and
//! `{"type":"summary", …}`. Each line is flushed at once, for pipes and live capture.

use super::Sink;
use crate::report::{CaptureSummary, Deviation, SessionReport, Summary, TransactionReport};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

fn line<T: Serialize>(w: &mut dyn Write, kind: &'static str, inner: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &Line { kind, inner }).map_err(io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// The NDJSON printer.
pub struct NdjsonSink {
    sessions: bool,
}

impl NdjsonSink {
    /// `sessions`: whether session lines are written (not when one transaction is selected).
    pub fn new(sessions: bool) -> NdjsonSink {
        NdjsonSink { sessions }
    }
}

impl Sink for NdjsonSink {
    fn wants_sessions(&self) -> bool {
        self.sessions
    }

    fn session(&mut self, session: SessionReport, out: &mut dyn Write) -> io::Result<()> {
        line(out, "session", &session)
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        line(out, "transaction", &transaction)
    }

    fn finding(&mut self, finding: Deviation, out: &mut dyn Write) -> io::Result<()> {
        line(out, "finding", &finding)
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        line(out, "capture", &capture)?;
        line(out, "summary", summary)
    }
}
