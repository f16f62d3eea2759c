//! JSON: the whole report as one document. Sessions are written as they complete; finished
//! transactions are spooled, deflated, to an anonymous temporary file until the end (memory
//! does not grow with them), then the capture-level findings, `capture` and `summary`. With
//! one transaction selected, [`write_json`] writes the whole report at the end
//! ([`super::WholeReport`]).

use super::Sink;
use super::printer::Item;
use crate::report::{
    CaptureSummary, FindingReport, Report, SessionReport, Summary, TransactionReport,
};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{self, Write};

/// The whole report as one pretty-printed JSON document.
pub fn write_json(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::from)?;
    w.write_all(b"\n")
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

/// The JSON document written piece by piece: `{"schema_version":3,"sessions":[…` as sessions
/// complete, then the
/// transactions (spooled deflated meanwhile), the capture-level findings, `capture` and
/// `summary`.
pub struct JsonSink {
    sessions: usize,
    transactions: usize,
    deflated: DeflateEncoder<Spool>,
    /// One session or transaction serialized, handed to the output or the encoder in one
    /// write (the encoder does work per write call, so small writes are costly).
    scratch: Vec<u8>,
    findings: Vec<FindingReport>,
}

impl JsonSink {
    pub fn new() -> JsonSink {
        JsonSink {
            sessions: 0,
            transactions: 0,
            deflated: DeflateEncoder::new(Spool::new(), Compression::fast()),
            scratch: Vec::new(),
            findings: Vec::new(),
        }
    }
}

/// `{"schema_version":N,"sessions":[`.
fn open_document(out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "{{\"schema_version\":{},\"sessions\":[",
        crate::report::SCHEMA_VERSION
    )
}

/// One more session's JSON into the document (`count`: the sessions written so far), after
/// the opening of the document or a comma.
fn write_session(count: &mut usize, json: &[u8], out: &mut dyn Write) -> io::Result<()> {
    if *count == 0 {
        open_document(out)?;
    } else {
        out.write_all(b",")?;
    }
    *count += 1;
    out.write_all(json)
}

impl Default for JsonSink {
    fn default() -> Self {
        JsonSink::new()
    }
}

impl Sink for JsonSink {
    fn session(&mut self, session: SessionReport, out: &mut dyn Write) -> io::Result<()> {
        // Serialized into a vector, then written at once.
        self.scratch.clear();
        super::compact::write(&mut self.scratch, &session)?;
        write_session(&mut self.sessions, &self.scratch, out)
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        self.scratch.clear();
        if self.transactions > 0 {
            self.scratch.push(b',');
        }
        self.transactions += 1;
        super::compact::write(&mut self.scratch, &transaction)?;
        self.deflated.write_all(&self.scratch)
    }

    fn takes_serialized(&self) -> bool {
        true
    }

    /// A session goes to the output after a comma; a transaction to the spool, with its comma
    /// in the same write (the encoder does work per write call).
    fn serialized(&mut self, item: Item, json: &[u8], out: &mut dyn Write) -> io::Result<()> {
        match item {
            Item::Session => write_session(&mut self.sessions, json, out),
            Item::Transaction(_) if self.transactions == 0 => {
                self.transactions += 1;
                self.deflated.write_all(json)
            }
            Item::Transaction(_) => {
                self.transactions += 1;
                self.scratch.clear();
                self.scratch.push(b',');
                self.scratch.extend_from_slice(json);
                self.deflated.write_all(&self.scratch)
            }
        }
    }

    fn finding(&mut self, finding: FindingReport, _out: &mut dyn Write) -> io::Result<()> {
        self.findings.push(finding);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.sessions == 0 {
            open_document(out)?;
        }
        out.write_all(b"],\"transactions\":[")?;
        self.deflated.finish()?.replay(out)?;
        out.write_all(b"],\"findings\":")?;
        serde_json::to_writer(&mut *out, &self.findings).map_err(io::Error::from)?;
        out.write_all(b",\"capture\":")?;
        serde_json::to_writer(&mut *out, &capture).map_err(io::Error::from)?;
        out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut *out, summary).map_err(io::Error::from)?;
        out.write_all(b"}\n")
    }
}
