//! JSON (one document at the end) and NDJSON (one object a line, as each session completes).

use crate::report::{CaptureSummary, Report, Summary};
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
    w.write_all(b"\n")
}

/// One NDJSON line for a finished item: `{"type":"session", …}`, `{"type":"transaction", …}`
/// or `{"type":"finding", …}`.
pub fn write_ndjson<T: Serialize>(
    w: &mut dyn Write,
    kind: &'static str,
    item: &T,
) -> io::Result<()> {
    line(w, kind, item)
}

/// The closing NDJSON lines: `{"type":"capture", …}` then `{"type":"summary", …}`.
pub fn write_ndjson_end(
    w: &mut dyn Write,
    capture: &CaptureSummary,
    summary: &Summary,
) -> io::Result<()> {
    line(w, "capture", capture)?;
    line(w, "summary", summary)
}

/// The whole report as one pretty-printed JSON document.
pub fn write_json(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
