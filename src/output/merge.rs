//! `cwmpscope merge`: the NDJSON of the shards of one analysis (`analyze --shard K/N --format
//! ndjson`, K = 1…N) joined into the NDJSON a single run writes.
//!
//! Every shard runs the session stage over all the traffic, so session ids and the `capture`
//! counts are the whole run's in each; the shards differ in which CPEs' sessions, transactions
//! and findings they write. Each line of a shard carries its position in the whole run
//! (`crate::shard::Position`): the merge takes the lines of all shards in that order (a k-way
//! merge that holds one line per shard), numbers the transactions as a single run does (from
//! their `created`, read in a first pass), adds up the limits each shard reached over its own
//! CPEs, and counts the summary again.

use crate::catalogue::Severity;
use crate::limits::{Limit, LimitCounts};
use crate::report::{Counts, SCHEMA_VERSION, Summary};
use crate::shard::ShardSpec;
use crate::transaction::Outcome;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// A line longer than this is refused (a session of 10,000 messages is a few MiB).
const MAX_LINE: u64 = 1 << 30;

/// Why a merge failed.
#[derive(Debug)]
pub enum MergeError {
    /// A shard file could not be read.
    Read { path: PathBuf, source: io::Error },
    /// A shard file is not what `--shard` writes.
    Shard {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// The files are not the shards of one run.
    Set(String),
    /// Writing the merged NDJSON failed.
    Output(io::Error),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Read { path, source } => {
                write!(f, "{}: {}", path.display(), crate::types::io_reason(source))
            }
            MergeError::Shard { path, line, reason } => {
                write!(f, "{}: line {line}: {reason}", path.display())
            }
            MergeError::Set(reason) => f.write_str(reason),
            MergeError::Output(e) => write!(f, "output: {}", crate::types::io_reason(e)),
        }
    }
}

impl std::error::Error for MergeError {}

/// What `merge` writes: the NDJSON of a single run, or its JSON document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergedFormat {
    Ndjson,
    Json,
}

/// The shards' NDJSON files (one per shard, any order) joined into a single run's NDJSON or
/// JSON document.
pub fn merge(
    paths: &[PathBuf],
    format: MergedFormat,
    out: &mut dyn Write,
) -> Result<(), MergeError> {
    let shards = shard_set(paths)?;
    // Everything that can refuse the set is checked before anything is written.
    let FirstPass { numbers, capture } = first_pass(&shards)?;
    let mut readers = Vec::with_capacity(shards.len());
    for (i, shard) in shards.iter().enumerate() {
        let mut reader = ShardReader::open(&shard.path)?;
        reader.next_line()?; // the header
        readers.push((reader, i));
    }
    let mut writer = MergedWriter::new(format, out)?;

    let mut summary = Summary::default();
    let mut next: Vec<Option<ItemLine>> = shards.iter().map(|_| None).collect();
    let mut heap = BinaryHeap::new();
    let mut last_order: Vec<[u64; 3]> = vec![[0; 3]; shards.len()];
    // Reads a shard's next item; its capture line ends its items (the first pass read it).
    let mut advance = |i: usize,
                       reader: &mut ShardReader,
                       next: &mut Vec<Option<ItemLine>>,
                       heap: &mut BinaryHeap<Reverse<([u64; 3], usize)>>|
     -> Result<(), MergeError> {
        let Some(text) = reader.next_line()? else {
            return Err(reader.error("ends before its `capture` line (an interrupted run?)"));
        };
        match parse_line(&text).map_err(|r| reader.error(&r))? {
            Line::Item(item) => {
                if item.order < last_order[i] {
                    return Err(reader.error("out of order"));
                }
                last_order[i] = item.order;
                heap.push(Reverse((item.order, i)));
                next[i] = Some(item);
            }
            Line::Capture(_) => {}
            Line::Summary => return Err(reader.error("a `summary` line before `capture`")),
        }
        Ok(())
    };
    for (reader, i) in &mut readers {
        advance(*i, reader, &mut next, &mut heap)?;
    }
    let mut buf = String::new();
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(item) = next[i].take() else {
            continue;
        };
        count(&mut summary, &item).map_err(|r| readers[i].0.error(&r))?;
        // The object's fields after `type`, from a leading comma.
        buf.clear();
        match (item.kind, item.created) {
            (Kind::Transaction, Some(created)) => {
                let global = numbers
                    .get(&(i, created[1]))
                    .copied()
                    .ok_or_else(|| readers[i].0.error("a transaction the first pass missed"))?;
                let local_id = format!(",\"id\":\"t{}\"", created[1]);
                let rest = item.rest.strip_prefix(&local_id).ok_or_else(|| {
                    readers[i]
                        .0
                        .error("a transaction whose id is not its number in the shard")
                })?;
                buf.push_str(&format!(",\"id\":\"t{global}\""));
                buf.push_str(rest);
            }
            (Kind::Transaction, None) => {
                return Err(readers[i].0.error("a transaction without `created`"));
            }
            _ => buf.push_str(&item.rest),
        }
        writer.item(item.kind, &buf)?;
        let (reader, _) = &mut readers[i];
        advance(i, reader, &mut next, &mut heap)?;
    }

    let summary = serde_json::to_string(&summary).map_err(|e| MergeError::Output(e.into()))?;
    writer.finish(&capture, &summary)
}

/// Writes the merged items as NDJSON lines, or as the JSON document: sessions as they come,
/// transactions and findings kept in temporary files until the end, as a single run does.
struct MergedWriter<'a> {
    format: MergedFormat,
    out: &'a mut dyn Write,
    sessions: u64,
    transactions: Spool,
    findings: Spool,
}

/// Objects kept for the end of the JSON document, comma-separated, in a temporary file.
struct Spool {
    file: io::BufWriter<File>,
    count: u64,
}

impl Spool {
    fn new() -> Result<Spool, MergeError> {
        let file = tempfile::tempfile().map_err(MergeError::Output)?;
        Ok(Spool {
            file: io::BufWriter::new(file),
            count: 0,
        })
    }

    fn push(&mut self, object: &[&str]) -> Result<(), MergeError> {
        if self.count > 0 {
            self.file.write_all(b",").map_err(MergeError::Output)?;
        }
        self.count += 1;
        for piece in object {
            self.file
                .write_all(piece.as_bytes())
                .map_err(MergeError::Output)?;
        }
        Ok(())
    }

    /// Copies what was kept to `out`.
    fn replay(&mut self, out: &mut dyn Write) -> Result<(), MergeError> {
        use std::io::Seek;
        self.file.flush().map_err(MergeError::Output)?;
        let file = self.file.get_mut();
        file.seek(io::SeekFrom::Start(0))
            .map_err(MergeError::Output)?;
        io::copy(file, out).map_err(MergeError::Output)?;
        Ok(())
    }
}

impl<'a> MergedWriter<'a> {
    fn new(format: MergedFormat, out: &'a mut dyn Write) -> Result<Self, MergeError> {
        let mut writer = MergedWriter {
            format,
            out,
            sessions: 0,
            transactions: Spool::new()?,
            findings: Spool::new()?,
        };
        let header = match format {
            MergedFormat::Ndjson => {
                format!("{{\"type\":\"header\",\"schema_version\":{SCHEMA_VERSION}}}\n")
            }
            MergedFormat::Json => format!("{{\"schema_version\":{SCHEMA_VERSION},\"sessions\":["),
        };
        writer.write(&[&header])?;
        Ok(writer)
    }

    fn write(&mut self, pieces: &[&str]) -> Result<(), MergeError> {
        for piece in pieces {
            self.out
                .write_all(piece.as_bytes())
                .map_err(MergeError::Output)?;
        }
        Ok(())
    }

    /// One item; `fields` are its object's fields after `type`, from the leading comma.
    fn item(&mut self, kind: Kind, fields: &str) -> Result<(), MergeError> {
        if self.format == MergedFormat::Ndjson {
            return self.write(&["{\"type\":\"", kind.name(), "\"", fields, "\n"]);
        }
        let object = ["{", fields.get(1..).unwrap_or_default()];
        match kind {
            Kind::Session => {
                if self.sessions > 0 {
                    self.write(&[","])?;
                }
                self.sessions += 1;
                self.write(&object)
            }
            Kind::Transaction => self.transactions.push(&object),
            Kind::Finding => self.findings.push(&object),
        }
    }

    /// The end: the capture (its fields after `type`, from the leading comma) and the summary
    /// (an object).
    fn finish(mut self, capture: &str, summary: &str) -> Result<(), MergeError> {
        let capture_fields = capture.get(1..).unwrap_or_default();
        let summary_fields = summary.get(1..).unwrap_or_default();
        match self.format {
            MergedFormat::Ndjson => self.write(&[
                "{\"type\":\"capture\",",
                capture_fields,
                "\n{\"type\":\"summary\",",
                summary_fields,
                "\n",
            ])?,
            MergedFormat::Json => {
                self.write(&["],\"transactions\":["])?;
                self.transactions.replay(self.out)?;
                self.write(&["],\"findings\":["])?;
                self.findings.replay(self.out)?;
                self.write(&[
                    "],\"capture\":{",
                    capture_fields,
                    ",\"summary\":",
                    summary,
                    "}\n",
                ])?;
            }
        }
        self.out.flush().map_err(MergeError::Output)
    }
}

/// One shard file and the shard it holds.
struct ShardFile {
    path: PathBuf,
    spec: ShardSpec,
}

/// The files' shards, checked to be every shard of one split exactly once, in shard order.
fn shard_set(paths: &[PathBuf]) -> Result<Vec<ShardFile>, MergeError> {
    let mut shards: Vec<ShardFile> = Vec::with_capacity(paths.len());
    for path in paths {
        let mut reader = ShardReader::open(path)?;
        let not_shard = "not the NDJSON of a shard run (`analyze --shard K/N --format ndjson`)";
        let header = reader.next_line()?.ok_or_else(|| reader.error(not_shard))?;
        let header: Header = serde_json::from_str(&header).map_err(|_| reader.error(not_shard))?;
        if header.kind != "header" {
            return Err(reader.error(not_shard));
        }
        if header.schema_version != SCHEMA_VERSION {
            return Err(reader.error(&format!(
                "schema version {}, this cwmpscope writes {SCHEMA_VERSION}: merge with the version that wrote it",
                header.schema_version
            )));
        }
        let spec: ShardSpec = header
            .shard
            .as_deref()
            .ok_or_else(|| reader.error(not_shard))?
            .parse()
            .map_err(|e: String| reader.error(&e))?;
        if let Some(other) = shards.first()
            && other.spec.count != spec.count
        {
            return Err(MergeError::Set(format!(
                "{} is shard {spec}, {} is shard {}: shards of different splits",
                path.display(),
                other.path.display(),
                other.spec
            )));
        }
        if let Some(twin) = shards.iter().find(|s| s.spec == spec) {
            return Err(MergeError::Set(format!(
                "shard {spec} given twice: {} and {}",
                twin.path.display(),
                path.display()
            )));
        }
        shards.push(ShardFile {
            path: path.clone(),
            spec,
        });
    }
    let count = shards.first().map_or(0, |s| s.spec.count);
    if let Some(missing) = (1..=count).find(|k| !shards.iter().any(|s| s.spec.index == *k)) {
        return Err(MergeError::Set(format!(
            "shard {missing}/{count} is missing: give the files of all {count} shards"
        )));
    }
    shards.sort_by_key(|s| s.spec.index);
    Ok(shards)
}

/// The first pass: each shard read whole, to check that it is complete and that the shards
/// read the same input, to number the transactions as a single run does (in order of
/// creation) and to merge the `capture` objects.
fn first_pass(shards: &[ShardFile]) -> Result<FirstPass, MergeError> {
    let mut created: Vec<([u64; 2], usize)> = Vec::new();
    let mut captures = Vec::with_capacity(shards.len());
    for (i, shard) in shards.iter().enumerate() {
        let mut reader = ShardReader::open(&shard.path)?;
        reader.next_line()?;
        // Whether the last two lines were `capture` and `summary`: the shard run finished.
        let mut ending = (false, false);
        while let Some(text) = reader.next_line()? {
            ending = (
                text.starts_with("{\"type\":\"capture\""),
                ending.0 && text.starts_with("{\"type\":\"summary\""),
            );
            if ending.0 {
                match parse_line(&text).map_err(|r| reader.error(&r))? {
                    Line::Capture(capture) => captures.push(capture),
                    _ => return Err(reader.error("a `capture` line that is not one")),
                }
            }
            if !text.starts_with("{\"type\":\"transaction\"") {
                continue;
            }
            match parse_line(&text).map_err(|r| reader.error(&r))? {
                Line::Item(ItemLine {
                    created: Some(c), ..
                }) => created.push((c, i)),
                _ => return Err(reader.error("a transaction without `created`")),
            }
        }
        if !ending.1 || captures.len() != i + 1 {
            return Err(
                reader.error("ends before its `capture` and `summary` lines (an interrupted run?)")
            );
        }
    }
    created.sort_unstable();
    Ok(FirstPass {
        numbers: created
            .into_iter()
            .enumerate()
            .map(|(rank, (c, i))| ((i, c[1]), rank as u64 + 1))
            .collect(),
        capture: merged_capture(shards, &captures)?,
    })
}

/// What the first pass over the shards gives.
struct FirstPass {
    /// Each shard's transactions (by their number in the shard) numbered as a single run
    /// numbers them.
    numbers: FxHashMap<(usize, u64), u64>,
    /// The merged `capture` fields (see [`merged_capture`]).
    capture: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    schema_version: u32,
    shard: Option<String>,
}

/// A shard file read line by line, knowing where it is for errors.
struct ShardReader {
    path: PathBuf,
    reader: BufReader<File>,
    line: u64,
}

impl ShardReader {
    fn open(path: &Path) -> Result<ShardReader, MergeError> {
        let file = File::open(path).map_err(|source| MergeError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(ShardReader {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 16, file),
            line: 0,
        })
    }

    /// The next line without its newline; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, MergeError> {
        let mut bytes = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|source| MergeError::Read {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        } else if n as u64 > MAX_LINE {
            return Err(self.error("a line longer than 1 GiB"));
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| self.error("not UTF-8"))
    }

    fn error(&self, reason: &str) -> MergeError {
        MergeError::Shard {
            path: self.path.clone(),
            line: self.line,
            reason: reason.to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Session,
    Transaction,
    Finding,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Transaction => "transaction",
            Kind::Finding => "finding",
        }
    }
}

/// A session, transaction or finding of a shard: its position, and the line after `type`
/// and the position (`,"id":…}`).
struct ItemLine {
    kind: Kind,
    order: [u64; 3],
    created: Option<[u64; 2]>,
    rest: String,
}

/// A shard's `capture` line: the limits it reached over its own CPEs, and the object.
struct CaptureLine {
    own_limits: BTreeMap<String, u64>,
    /// The object's fields before `limits_hit` (`,"files":…`), the same in every shard.
    head: String,
    limits: BTreeMap<String, u64>,
}

enum Line {
    Item(ItemLine),
    Capture(CaptureLine),
    Summary,
}

/// Reads the start of a shard's line: `{"type":"…","order":[a,b,c](,"created":[c,n])?,…`.
fn parse_line(text: &str) -> Result<Line, String> {
    let rest = text
        .strip_prefix("{\"type\":\"")
        .ok_or("not a line of a shard run")?;
    let (kind, rest) = rest.split_once('"').ok_or("not a line of a shard run")?;
    let kind = match kind {
        "session" => Kind::Session,
        "transaction" => Kind::Transaction,
        "finding" => Kind::Finding,
        "capture" => return parse_capture(rest).map(Line::Capture),
        "summary" => return Ok(Line::Summary),
        other => return Err(format!("a line of unknown type `{other}`")),
    };
    let (order, rest) = numbers::<3>(rest, "order").ok_or("a line without `order`")?;
    let (created, rest) = match numbers::<2>(rest, "created") {
        Some((c, rest)) => (Some(c), rest),
        None => (None, rest),
    };
    if !rest.starts_with(',') {
        return Err("a line with nothing after its position".into());
    }
    Ok(Line::Item(ItemLine {
        kind,
        order,
        created,
        rest: rest.to_owned(),
    }))
}

/// `,"key":[n,…]` (N numbers) at the start of `s`, and what follows.
fn numbers<'a, const N: usize>(s: &'a str, key: &str) -> Option<([u64; N], &'a str)> {
    let s = s
        .strip_prefix(",\"")?
        .strip_prefix(key)?
        .strip_prefix("\":[")?;
    let (list, rest) = s.split_once(']')?;
    let mut values = [0u64; N];
    let mut parts = list.split(',');
    for v in &mut values {
        *v = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some((values, rest))
}

fn parse_capture(rest: &str) -> Result<CaptureLine, String> {
    let bad = "a `capture` line without `shard_limits_hit`";
    let rest = rest.strip_prefix(",\"shard_limits_hit\":").ok_or(bad)?;
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<BTreeMap<String, u64>>();
    let own_limits = stream.next().ok_or(bad)?.map_err(|_| bad)?;
    let rest = &rest[stream.byte_offset()..];
    // `limits_hit` is the object's last field; a string holding `,"limits_hit":` would have
    // its quotes escaped, so the last match is the field.
    let at = rest
        .rfind(",\"limits_hit\":")
        .ok_or("a `capture` line without `limits_hit`")?;
    let (head, tail) = rest.split_at(at);
    let limits = tail
        .strip_prefix(",\"limits_hit\":")
        .and_then(|t| t.strip_suffix('}'))
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or("a `capture` line whose `limits_hit` is not an object of counts")?;
    Ok(CaptureLine {
        own_limits,
        head: head.to_owned(),
        limits,
    })
}

/// The whole run's `capture` fields after `type` (from the leading comma to the closing
/// brace): one shard's, with the limits reached by the stages that saw only each shard's CPEs
/// added up over the shards.
fn merged_capture(shards: &[ShardFile], captures: &[CaptureLine]) -> Result<String, MergeError> {
    let (Some(first), Some(first_shard)) = (captures.first(), shards.first()) else {
        return Err(MergeError::Set("no shard to merge".into()));
    };
    // The files may have other names where each shard ran (another mount, stdin): the
    // merged report names those of the first shard.
    for (capture, shard) in captures.iter().zip(shards).skip(1) {
        if without_files(&capture.head) != without_files(&first.head) {
            return Err(MergeError::Set(format!(
                "shards {} and {} did not analyze the same input (their `capture` objects differ): \
                 run every shard on the same files with the same options",
                first_shard.spec, shard.spec
            )));
        }
    }
    let to_counts = |map: &BTreeMap<String, u64>, shard: &ShardFile| {
        let mut counts = LimitCounts::default();
        for (name, n) in map {
            let limit = Limit::from_name(name).ok_or_else(|| {
                MergeError::Set(format!(
                    "{}: a limit this cwmpscope does not know: {name}",
                    shard.path.display()
                ))
            })?;
            counts.add_n(limit, *n);
        }
        Ok::<_, MergeError>(counts)
    };
    // The limits of the stages every shard ran whole are the same in each.
    let whole = to_counts(&first.limits, first_shard)?;
    let own_first = to_counts(&first.own_limits, first_shard)?;
    let mut merged = LimitCounts::default();
    for limit in Limit::ALL {
        merged.add_n(limit, whole.get(limit).saturating_sub(own_first.get(limit)));
    }
    for (capture, shard) in captures.iter().zip(shards) {
        merged.merge(&to_counts(&capture.own_limits, shard)?);
    }
    let limits = serde_json::to_string(&Counts::of_limits(&merged))
        .map_err(|e| MergeError::Output(e.into()))?;
    Ok(format!("{},\"limits_hit\":{limits}}}", first.head))
}

/// Capture fields (from the leading comma) without the first, `files`, when it is there.
fn without_files(head: &str) -> &str {
    let Some(rest) = head.strip_prefix(",\"files\":") else {
        return head;
    };
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Vec<String>>();
    match stream.next() {
        Some(Ok(_)) => &rest[stream.byte_offset()..],
        _ => head,
    }
}

/// A finding as the summary counts it.
#[derive(Deserialize)]
struct CountedFinding {
    code: String,
    severity: String,
}

#[derive(Deserialize)]
struct CountedSession {
    findings: Vec<CountedFinding>,
}

#[derive(Deserialize)]
struct CountedTransaction {
    outcome: String,
    findings: Vec<CountedFinding>,
}

/// Adds an item to the summary, as the printer does when it writes it.
fn count(summary: &mut Summary, item: &ItemLine) -> Result<(), String> {
    let json = format!("{{{}", &item.rest[1..]);
    let bad = || format!("a {} line that is not one", item.kind.name());
    let add = |summary: &mut Summary, findings: &[CountedFinding]| {
        for f in findings {
            let severity = Severity::from_name(&f.severity).ok_or_else(bad)?;
            summary.add_finding(&f.code, severity);
        }
        Ok::<(), String>(())
    };
    match item.kind {
        Kind::Session => {
            let s: CountedSession = serde_json::from_str(&json).map_err(|_| bad())?;
            summary.sessions += 1;
            add(summary, &s.findings)
        }
        Kind::Transaction => {
            let t: CountedTransaction = serde_json::from_str(&json).map_err(|_| bad())?;
            summary.add_outcome(Outcome::from_name(&t.outcome).ok_or_else(bad)?);
            add(summary, &t.findings)
        }
        Kind::Finding => {
            let f: CountedFinding = serde_json::from_str(&json).map_err(|_| bad())?;
            add(summary, std::slice::from_ref(&f))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_the_start_of_a_line() {
        let Ok(Line::Item(item)) = parse_line(
            r#"{"type":"transaction","order":[7,3,2],"created":[3,2],"id":"t2","kind":"x"}"#,
        ) else {
            panic!("not an item");
        };
        assert_eq!(item.kind, Kind::Transaction);
        assert_eq!(item.order, [7, 3, 2]);
        assert_eq!(item.created, Some([3, 2]));
        assert_eq!(item.rest, r#","id":"t2","kind":"x"}"#);
        assert!(parse_line(r#"{"type":"session","id":"s1"}"#).is_err());
        assert!(parse_line(r#"{"type":"session","order":[1,2],"id":"s1"}"#).is_err());
        assert!(parse_line(r#"{"type":"bogus","order":[1,2,3],"id":"s1"}"#).is_err());
    }

    #[test]
    fn a_capture_line_splits_into_its_limits_and_the_rest() {
        let Ok(Line::Capture(c)) = parse_line(
            r#"{"type":"capture","shard_limits_hit":{"open-transactions":2},"files":["a,\"limits_hit\":{}"],"limits_hit":{"xml-depth":1,"open-transactions":2}}"#,
        ) else {
            panic!("not a capture line");
        };
        assert_eq!(c.own_limits.get("open-transactions"), Some(&2));
        assert_eq!(c.head, r#","files":["a,\"limits_hit\":{}"]"#);
        assert_eq!(without_files(&c.head), "");
        assert_eq!(
            without_files(r#","files":["x.pcap","-"],"packets":3"#),
            r#","packets":3"#
        );
        assert_eq!(c.limits.len(), 2);
    }
}
