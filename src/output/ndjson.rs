//! NDJSON: one object a line as each item completes (`{"type":"session", …}`,
//! `{"type":"transaction", …}`, `{"type":"finding", …}`) after a header line
//! `{"type":"header","schema_version":3}`, closed by `{"type":"capture", …}` and
//! `{"type":"summary", …}`. Each line is flushed at once, for pipes and live capture.

use super::Sink;
use crate::report::{CaptureSummary, FindingReport, SessionReport, Summary, TransactionReport};
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
    serde_json::to_writer(&mut *w, &Line { kind, inner }).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// The first line: `{"type":"header","schema_version":3}`.
#[derive(Serialize)]
struct Header {
    schema_version: u32,
}

/// The NDJSON printer.
pub struct NdjsonSink {
    sessions: bool,
    header_written: bool,
}

impl NdjsonSink {
    /// `sessions`: whether session lines are written (not when one transaction is selected).
    pub fn new(sessions: bool) -> NdjsonSink {
        NdjsonSink {
            sessions,
            header_written: false,
        }
    }
}

impl NdjsonSink {
    fn line<T: Serialize>(
        &mut self,
        w: &mut dyn Write,
        kind: &'static str,
        inner: &T,
    ) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let header = Header {
                schema_version: crate::report::SCHEMA_VERSION,
            };
            line(w, "header", &header)?;
        }
        line(w, kind, inner)
    }
}

impl Sink for NdjsonSink {
    fn wants_sessions(&self) -> bool {
        self.sessions
    }

    fn session(&mut self, session: SessionReport, out: &mut dyn Write) -> io::Result<()> {
        self.line(out, "session", &session)
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.line(out, "transaction", &transaction)
    }

    fn finding(&mut self, finding: FindingReport, out: &mut dyn Write) -> io::Result<()> {
        self.line(out, "finding", &finding)
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut this = *self;
        this.line(out, "capture", &capture)?;
        this.line(out, "summary", summary)
    }
}
