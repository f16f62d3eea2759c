//! NDJSON: one object a line as each item completes (`{"type":"session", …}`,
//! `{"type":"transaction", …}`, `{"type":"finding", …}`) after a header line
//! `{"type":"header","schema_version":3}`, closed by `{"type":"capture", …}` and
//! `{"type":"summary", …}`. For pipes and live capture each line is flushed as it is written;
//! for files the lines go out in the output's own buffer.
//!
//! A shard run (`--shard K/N`) adds what `cwmpscope merge` needs, right after `type`: the
//! header's `shard`, each line's `order` (and a transaction's `created`), the capture's
//! `shard_limits_hit` (docs/report.md, *Shard output*).

use super::Sink;
use super::printer::Item;
use crate::report::{
    CaptureSummary, Counts, FindingReport, SessionReport, Summary, TransactionReport,
};
use crate::shard::{Position, ShardSpec};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<[u64; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<[u64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_limits_hit: Option<&'a Counts>,
    #[serde(flatten)]
    inner: &'a T,
}

/// Serializes one line into `scratch` ([`super::compact`]), then hands it to `w` in one
/// write.
fn write_line<T: Serialize>(
    w: &mut dyn Write,
    scratch: &mut Vec<u8>,
    flush: bool,
    line: &Line<'_, T>,
) -> io::Result<()> {
    scratch.clear();
    super::compact::write(scratch, line)?;
    scratch.push(b'\n');
    w.write_all(scratch)?;
    if flush { w.flush() } else { Ok(()) }
}

/// The first line: `{"type":"header","schema_version":3}`.
#[derive(Serialize)]
struct Header {
    schema_version: u32,
    /// `K/N` in a shard run.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
}

/// The NDJSON printer.
pub struct NdjsonSink {
    sessions: bool,
    header_written: bool,
    shard: Option<ShardSpec>,
    /// Where the next line stands in the whole run (shard runs).
    position: Option<Position>,
    /// Whether each line is flushed as it is written (pipes and live capture).
    flush_lines: bool,
    /// The line being serialized.
    scratch: Vec<u8>,
}

impl NdjsonSink {
    /// `sessions`: whether session lines are written (not when one transaction is selected).
    /// Each line is flushed as it is written.
    pub fn new(sessions: bool) -> NdjsonSink {
        NdjsonSink {
            sessions,
            header_written: false,
            shard: None,
            position: None,
            flush_lines: true,
            scratch: Vec::new(),
        }
    }

    /// Lines are left in the output's buffer instead of being flushed one by one (input read
    /// as a whole: files).
    pub fn buffered(self) -> NdjsonSink {
        NdjsonSink {
            flush_lines: false,
            ..self
        }
    }

    /// The printer of a shard run: the lines carry what `cwmpscope merge` needs.
    pub fn for_shard(shard: ShardSpec) -> NdjsonSink {
        NdjsonSink {
            shard: Some(shard),
            ..NdjsonSink::new(true)
        }
    }

    /// The header line, unless it was written.
    fn header(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        let header = Header {
            schema_version: crate::report::SCHEMA_VERSION,
            shard: self.shard.map(|s| s.to_string()),
        };
        write_line(
            w,
            &mut self.scratch,
            self.flush_lines,
            &plain("header", &header),
        )
    }

    fn line<T: Serialize>(
        &mut self,
        w: &mut dyn Write,
        kind: &'static str,
        inner: &T,
    ) -> io::Result<()> {
        self.header(w)?;
        let position = self.position.take();
        let line = Line {
            order: position.map(|p| p.order),
            created: position.and_then(|p| p.created),
            ..plain(kind, inner)
        };
        write_line(w, &mut self.scratch, self.flush_lines, &line)
    }
}

/// A line with nothing but its type and content.
fn plain<'a, T: Serialize>(kind: &'static str, inner: &'a T) -> Line<'a, T> {
    Line {
        kind,
        order: None,
        created: None,
        shard_limits_hit: None,
        inner,
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

    /// A shard run's lines carry their position: those are written from the objects.
    fn takes_serialized(&self) -> bool {
        self.shard.is_none()
    }

    /// The line `{"type":"…",` and the object's fields: the bytes of the object flattened
    /// into a [`Line`].
    fn serialized(&mut self, item: Item, json: &[u8], out: &mut dyn Write) -> io::Result<()> {
        self.header(out)?;
        let fields = json
            .strip_prefix(b"{")
            .filter(|rest| rest.len() > 1)
            .ok_or_else(|| io::Error::other("a report object serialized as an empty object"))?;
        self.scratch.clear();
        self.scratch.extend_from_slice(match item {
            Item::Session => b"{\"type\":\"session\",",
            Item::Transaction(_) => b"{\"type\":\"transaction\",",
        });
        self.scratch.extend_from_slice(fields);
        self.scratch.push(b'\n');
        out.write_all(&self.scratch)?;
        if self.flush_lines {
            out.flush()
        } else {
            Ok(())
        }
    }

    fn position(&mut self, position: Position) {
        self.position = Some(position);
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut this = *self;
        if let Some(limits) = &capture.shard_limits_hit {
            this.header(out)?;
            let line = Line {
                shard_limits_hit: Some(limits),
                ..plain("capture", &capture)
            };
            write_line(out, &mut this.scratch, this.flush_lines, &line)?;
        } else {
            this.line(out, "capture", &capture)?;
        }
        this.line(out, "summary", summary)
    }
}
