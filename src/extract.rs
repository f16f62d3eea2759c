//! `extract`: a transaction (or every transaction and session of one CPE) copied out of the
//! input as a capture of its own, holding exactly the frames of the TCP connections it used.
//!
//! Two passes over files (stdin cannot be read twice):
//!
//! 1. the input is analyzed as `analyze` does; an [`Inventory`] keeps, of every finished
//!    session and transaction, the ids of the connections it used: a session's connections and
//!    those its messages travelled on (the Connection Request's), a transaction's sessions and
//!    its file transfer's connections (`Transaction::file_conns`);
//! 2. the input is read again and each frame is given to its connection by the same decoder
//!    and reassembler, run with the same clock as the analysis ([`ConnAssigner`]), so a
//!    connection gets the id it had in pass 1 (4-tuples reused later, keep-alive connections and
//!    idle releases included). The frames of the selected connections are written, in input
//!    order, with their timestamps, lengths and bytes as read. An IP fragment belongs to the
//!    connection of the datagram it completes into (matched by addresses and identification);
//!    frames after a held fragment wait until it is decided so the order is kept.
//!
//! A connection is indivisible: a kept-alive file connection that also served another CPE's
//! fetch is written whole.
//!
//! The written file is a classic pcap with the input's link type; nanosecond timestamps when
//! any input frame has a sub-microsecond part, else microseconds (no precision is lost either
//! way). Selected frames of several link types are refused.

use crate::capture::{CaptureReader, InputError, InputSpec, MergedReader};
use crate::findings::Output;
use crate::pipeline::{PipelineConfig, Ticker};
use crate::session::Session;
use crate::tcp::{Reassembler, ReassemblyConfig};
use crate::threads::{Analyzer, AnalyzerConfig};
use crate::transaction::Transaction;
use crate::types::{ConnId, Frame, LinkType, Nanos};
use crate::wire::{Decoded, Decoder, DecoderConfig, FragmentOf, fragment_of};
use rustc_hash::FxHashSet;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// What to extract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// One transaction, by its id in the report (`t3`): its sessions and its file transfer.
    Transaction(String),
    /// Every transaction and session of a CPE, by serial number (any case) or IP address.
    Cpe(String),
    /// One session, by its number (`s7` in the report is 7): its connections.
    Session(u64),
}

/// Why an extraction failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("extract reads its input twice: give capture files, not - (stdin)")]
    Stdin,
    #[error("no input: give capture files")]
    NoInput,
    #[error("{0}")]
    NoMatch(String),
    #[error(
        "the selected frames have two link types ({0} and {1}); a pcap holds one: extract from each file apart"
    )]
    LinkTypes(u32, u32),
    #[error("{path}: {}", crate::types::io_reason(.source))]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The connections each session and transaction used, kept from pass 1.
#[derive(Debug, Default)]
pub struct Inventory {
    sessions: Vec<Used>,
    transactions: Vec<TransactionUse>,
}

/// A session's CPE and connections.
#[derive(Debug)]
struct Used {
    number: u64,
    cpe_ip: IpAddr,
    serial: Option<String>,
    conns: Vec<ConnId>,
}

#[derive(Debug)]
struct TransactionUse {
    id: String,
    cpe_ip: IpAddr,
    serial: Option<String>,
    sessions: Vec<u64>,
    conns: Vec<ConnId>,
}

/// The connections an extraction writes, and what they belong to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub conns: FxHashSet<ConnId>,
    /// Transaction ids selected, in report order.
    pub transactions: Vec<String>,
    /// Session numbers selected.
    pub sessions: Vec<u64>,
}

/// The connections of a session: its own, and those its messages came on (the Connection
/// Request's).
fn session_conns(s: &Session) -> Vec<ConnId> {
    let mut conns: Vec<ConnId> = s.connections.iter().map(|c| c.id).collect();
    for m in &s.messages {
        if !conns.contains(&m.conn) {
            conns.push(m.conn);
        }
    }
    conns
}

fn transaction_use(t: &Transaction) -> TransactionUse {
    TransactionUse {
        id: format!("t{}", t.number),
        cpe_ip: t.cpe.ip,
        serial: t.cpe.device.as_ref().map(|d| d.serial_number.clone()),
        sessions: t.sessions.clone(),
        conns: t.file_conns.iter().map(|c| c.id).collect(),
    }
}

fn cpe_matches(wanted: &str, ip: IpAddr, serial: Option<&str>) -> bool {
    ip.to_string() == wanted || serial.is_some_and(|s| s.eq_ignore_ascii_case(wanted))
}

impl Inventory {
    /// Notes what one analysis output used.
    pub fn push(&mut self, item: &Output) {
        match item {
            Output::Session(s) => self.sessions.push(Used {
                number: s.number,
                cpe_ip: s.cpe_ip,
                serial: s.serial().map(str::to_owned),
                conns: session_conns(s),
            }),
            Output::Transaction(t) => self.transactions.push(transaction_use(t)),
            Output::Finding(..) | Output::Open(_) | Output::Position(_) => {}
        }
    }

    /// The connections of what `selector` names; `None` when nothing matches.
    pub fn select(&self, selector: &Selector) -> Option<Selection> {
        let mut sel = Selection::default();
        let mut sessions: FxHashSet<u64> = FxHashSet::default();
        for t in &self.transactions {
            let wanted = match selector {
                Selector::Transaction(id) => t.id == *id,
                Selector::Cpe(cpe) => cpe_matches(cpe, t.cpe_ip, t.serial.as_deref()),
                Selector::Session(_) => false,
            };
            if wanted {
                sel.transactions.push(t.id.clone());
                sel.conns.extend(t.conns.iter().copied());
                sessions.extend(t.sessions.iter().copied());
            }
        }
        for s in &self.sessions {
            let wanted = sessions.contains(&s.number)
                || matches!(selector, Selector::Cpe(cpe)
                    if cpe_matches(cpe, s.cpe_ip, s.serial.as_deref()))
                || matches!(selector, Selector::Session(n) if *n == s.number);
            if wanted {
                sel.sessions.push(s.number);
                sel.conns.extend(s.conns.iter().copied());
            }
        }
        sel.sessions.sort_unstable();
        (!sel.conns.is_empty()).then_some(sel)
    }
}

/// Gives each frame to its TCP connection, with the ids the analysis gave them: the analysis's
/// decoder and reassembler, fed and advanced exactly as `pipeline::Front` is.
pub struct ConnAssigner {
    decoder: Decoder,
    tcp: Reassembler,
    ticker: Ticker,
}

/// What a frame is, as far as connections go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// A segment of this connection (for a datagram completed from fragments: the frame of its
    /// last fragment).
    Conn(ConnId),
    /// A fragment held until its datagram completes.
    Fragment(FragmentOf),
    /// Of no TCP connection (not IP, not TCP, truncated, a fragment that cannot be TCP).
    None,
}

impl ConnAssigner {
    /// An assigner decoding and reassembling as the analysis with these settings does.
    pub fn new(decoder: &DecoderConfig, cfg: ReassemblyConfig) -> Self {
        ConnAssigner {
            decoder: Decoder::with_config(decoder),
            tcp: Reassembler::new(cfg),
            ticker: Ticker::default(),
        }
    }

    /// The connection of one frame (frames must come in the order the analysis read them).
    pub fn assign(&mut self, frame: &Frame<'_>) -> Assigned {
        let assigned = match self.decoder.decode(frame) {
            Decoded::Tcp(seg) => {
                self.tcp.push(&seg, &mut |_| {});
                self.tcp
                    .connection_of(&seg)
                    .map_or(Assigned::None, Assigned::Conn)
            }
            // A mirrored copy belongs with its connection, though it is not reassembled again.
            Decoded::MirrorCopy(seg) => self
                .tcp
                .connection_of(&seg)
                .map_or(Assigned::None, Assigned::Conn),
            Decoded::FragmentHeld => fragment_of(frame).map_or(Assigned::None, Assigned::Fragment),
            Decoded::NonIp | Decoded::NonTcp | Decoded::Truncated => Assigned::None,
        };
        if self.ticker.due(frame.ts) {
            self.tcp.advance(frame.ts, &mut |_| {});
        }
        assigned
    }
}

/// A frame copied out of the reader's buffer while it waits in the queue.
#[derive(Debug)]
struct OwnedFrame {
    ts: Nanos,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

impl OwnedFrame {
    fn of(f: &Frame<'_>) -> Self {
        OwnedFrame {
            ts: f.ts,
            link: f.link,
            orig_len: f.orig_len,
            data: f.data.to_vec(),
        }
    }
}

#[derive(Debug)]
enum Waiting {
    Keep(OwnedFrame),
    Fragment(FragmentOf, OwnedFrame),
}

/// Frames queued behind an undecided fragment at most (bytes are bounded too); beyond, the
/// oldest undecided fragment is dropped.
const MAX_WAITING: usize = 65_536;
const MAX_WAITING_BYTES: usize = 64 << 20;

/// Picks the frames of the selected connections, in input order.
pub struct FrameSelector {
    assigner: ConnAssigner,
    conns: FxHashSet<ConnId>,
    waiting: VecDeque<Waiting>,
    waiting_bytes: usize,
}

/// One frame to write.
#[derive(Clone, Copy, Debug)]
pub struct Kept<'a> {
    pub ts: Nanos,
    pub link: LinkType,
    pub orig_len: u32,
    pub data: &'a [u8],
}

impl FrameSelector {
    pub fn new(decoder: &DecoderConfig, cfg: ReassemblyConfig, conns: FxHashSet<ConnId>) -> Self {
        FrameSelector {
            assigner: ConnAssigner::new(decoder, cfg),
            conns,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
        }
    }

    /// One frame of the input; the frames now known to be kept go to `keep`, in order.
    pub fn push<E>(
        &mut self,
        frame: &Frame<'_>,
        keep: &mut impl FnMut(Kept<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.assigner.assign(frame) {
            Assigned::Conn(id) => {
                let wanted = self.conns.contains(&id);
                if !self.waiting.is_empty() {
                    // It may complete a datagram whose earlier fragments wait.
                    if let Some(of) = fragment_of(frame) {
                        self.decide(of, wanted);
                    }
                }
                if self.waiting.is_empty() {
                    if wanted {
                        keep(Kept {
                            ts: frame.ts,
                            link: frame.link,
                            orig_len: frame.orig_len,
                            data: frame.data,
                        })?;
                    }
                } else if wanted {
                    self.enqueue(Waiting::Keep(OwnedFrame::of(frame)));
                }
            }
            Assigned::Fragment(of) => self.enqueue(Waiting::Fragment(of, OwnedFrame::of(frame))),
            Assigned::None => {}
        }
        self.flush(keep, false)
    }

    /// End of input: what still waits is written, fragments of datagrams that never completed
    /// excepted.
    pub fn finish<E>(&mut self, keep: &mut impl FnMut(Kept<'_>) -> Result<(), E>) -> Result<(), E> {
        self.flush(keep, true)
    }

    fn enqueue(&mut self, w: Waiting) {
        let len = match &w {
            Waiting::Keep(f) | Waiting::Fragment(_, f) => f.data.len(),
        };
        self.waiting_bytes += len;
        self.waiting.push_back(w);
        while self.waiting.len() > MAX_WAITING || self.waiting_bytes > MAX_WAITING_BYTES {
            // Bounded memory: the oldest undecided fragment is given up.
            let Some(pos) = self
                .waiting
                .iter()
                .position(|w| matches!(w, Waiting::Fragment(..)))
            else {
                break;
            };
            if let Some(Waiting::Fragment(_, f)) = self.waiting.remove(pos) {
                self.waiting_bytes -= f.data.len();
            }
        }
    }

    /// The datagram `of` completed into a segment of a connection kept (or not).
    fn decide(&mut self, of: FragmentOf, keep: bool) {
        let mut removed = 0;
        self.waiting.retain_mut(|w| match w {
            Waiting::Fragment(key, f) if *key == of => {
                if keep {
                    let frame = std::mem::replace(
                        f,
                        OwnedFrame {
                            ts: 0,
                            link: LinkType(0),
                            orig_len: 0,
                            data: Vec::new(),
                        },
                    );
                    *w = Waiting::Keep(frame);
                    true
                } else {
                    removed += f.data.len();
                    false
                }
            }
            _ => true,
        });
        self.waiting_bytes -= removed;
    }

    fn flush<E>(
        &mut self,
        keep: &mut impl FnMut(Kept<'_>) -> Result<(), E>,
        at_end: bool,
    ) -> Result<(), E> {
        while let Some(front) = self.waiting.front() {
            if matches!(front, Waiting::Fragment(..)) && !at_end {
                break;
            }
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            match w {
                Waiting::Keep(f) => {
                    self.waiting_bytes -= f.data.len();
                    keep(Kept {
                        ts: f.ts,
                        link: f.link,
                        orig_len: f.orig_len,
                        data: &f.data,
                    })?;
                }
                Waiting::Fragment(_, f) => self.waiting_bytes -= f.data.len(),
            }
        }
        Ok(())
    }
}

/// Writes a classic pcap file, its header at the first frame (which gives the link type).
pub struct PcapWriter<W: Write> {
    out: W,
    nanosecond: bool,
    snaplen: u32,
    link: Option<LinkType>,
    frames: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(out: W, nanosecond: bool, snaplen: u32) -> Self {
        PcapWriter {
            out,
            nanosecond,
            snaplen,
            link: None,
            frames: 0,
        }
    }

    /// Appends one frame.
    pub fn write(&mut self, f: Kept<'_>) -> Result<(), WriteError> {
        match self.link {
            None => {
                let magic: u32 = if self.nanosecond {
                    0xa1b2_3c4d
                } else {
                    0xa1b2_c3d4
                };
                let mut header = Vec::with_capacity(24);
                header.extend_from_slice(&magic.to_le_bytes());
                header.extend_from_slice(&2u16.to_le_bytes());
                header.extend_from_slice(&4u16.to_le_bytes());
                header.extend_from_slice(&0i32.to_le_bytes());
                header.extend_from_slice(&0u32.to_le_bytes());
                header.extend_from_slice(&self.snaplen.to_le_bytes());
                header.extend_from_slice(&f.link.0.to_le_bytes());
                self.out.write_all(&header)?;
                self.link = Some(f.link);
            }
            Some(link) if link != f.link => return Err(WriteError::LinkTypes(link.0, f.link.0)),
            Some(_) => {}
        }
        let secs = f.ts.div_euclid(1_000_000_000);
        let nanos = f.ts.rem_euclid(1_000_000_000);
        let frac = if self.nanosecond { nanos } else { nanos / 1000 };
        let caplen = u32::try_from(f.data.len()).unwrap_or(u32::MAX);
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&(secs.clamp(0, i64::from(u32::MAX)) as u32).to_le_bytes());
        record[4..8].copy_from_slice(&(frac as u32).to_le_bytes());
        record[8..12].copy_from_slice(&caplen.to_le_bytes());
        record[12..16].copy_from_slice(&f.orig_len.max(caplen).to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(f.data)?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flushes and hands back the output.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Why a frame could not be written.
#[derive(Debug)]
pub enum WriteError {
    Io(io::Error),
    LinkTypes(u32, u32),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// What an extraction wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub frames: u64,
    pub selection: Selection,
    /// Input files as named in messages.
    pub files: Vec<String>,
}

fn open_inputs(names: &[String]) -> Result<MergedReader, ExtractError> {
    let mut readers = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let index = u16::try_from(i).unwrap_or(u16::MAX);
        readers.push(CaptureReader::open(
            &InputSpec::Path(PathBuf::from(name)),
            index,
        )?);
    }
    Ok(MergedReader::new(readers)?)
}

/// What pass 1 learns beside the inventory.
struct Pass1 {
    inventory: Inventory,
    /// Some frame has a sub-microsecond timestamp part.
    sub_micro: bool,
    max_caplen: usize,
    files: Vec<String>,
}

fn pass1(names: &[String], cfg: &PipelineConfig) -> Result<Pass1, ExtractError> {
    let mut reader = open_inputs(names)?;
    let files = reader
        .readers()
        .iter()
        .map(|r| r.name().to_owned())
        .collect();
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        pipeline: cfg.clone(),
        threads: crate::threads::default_threads(),
    });
    let mut inventory = Inventory::default();
    let (mut sub_micro, mut max_caplen) = (false, 0usize);
    {
        let mut on_output = |item: Output| inventory.push(&item);
        // A read error ends the input where it happened, as `analyze` does.
        loop {
            // Decryption Secrets Blocks read so far, as `analyze` takes them.
            if let Some(text) = reader.take_tls_keylog() {
                analyzer.add_embedded_keylog(&text);
            }
            let Ok(Some(frame)) = reader.next_frame() else {
                break;
            };
            sub_micro |= frame.ts.rem_euclid(1000) != 0;
            max_caplen = max_caplen.max(frame.data.len());
            analyzer.push(&frame, &mut on_output);
        }
        analyzer.finish(&mut on_output);
    }
    Ok(Pass1 {
        inventory,
        sub_micro,
        max_caplen,
        files,
    })
}

/// Extracts what `selector` names from the capture files `names` into the pcap `out`.
pub fn extract(
    names: &[String],
    selector: &Selector,
    out: &Path,
    cfg: &PipelineConfig,
) -> Result<Extracted, ExtractError> {
    if names.is_empty() {
        return Err(ExtractError::NoInput);
    }
    if names.iter().any(|n| n == "-") {
        return Err(ExtractError::Stdin);
    }
    let first = pass1(names, cfg)?;
    let Some(selection) = first.inventory.select(selector) else {
        return Err(ExtractError::NoMatch(match selector {
            Selector::Transaction(id) => format!("no transaction {id} in the input"),
            Selector::Cpe(cpe) => format!("no session or transaction of CPE {cpe} in the input"),
            Selector::Session(n) => format!("no session s{n} in the input"),
        }));
    };
    let out_name = out.display().to_string();
    let write_err = |source: io::Error| ExtractError::Write {
        path: out_name.clone(),
        source,
    };
    let file = File::create(out).map_err(write_err)?;
    let snaplen = u32::try_from(first.max_caplen.max(262_144)).unwrap_or(u32::MAX);
    let mut writer = PcapWriter::new(BufWriter::new(file), first.sub_micro, snaplen);
    let result = pass2(names, cfg, &selection, &mut writer, &out_name);
    let result = result.and_then(|()| writer_done(writer).map_err(write_err));
    match result {
        Ok(frames) => Ok(Extracted {
            frames,
            selection,
            files: first.files,
        }),
        Err(e) => {
            // Only a regular file is removed: the output may be a device (`-w /dev/full`).
            if std::fs::symlink_metadata(out).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(out);
            }
            Err(e)
        }
    }
}

fn writer_done(writer: PcapWriter<BufWriter<File>>) -> io::Result<u64> {
    let frames = writer.frames();
    writer.into_inner()?;
    Ok(frames)
}

fn pass2(
    names: &[String],
    cfg: &PipelineConfig,
    selection: &Selection,
    writer: &mut PcapWriter<BufWriter<File>>,
    out_name: &str,
) -> Result<(), ExtractError> {
    let mut reader = open_inputs(names)?;
    let mut selector = FrameSelector::new(
        &cfg.decoder,
        cfg.reassembly.clone(),
        selection.conns.clone(),
    );
    let mut keep = |f: Kept<'_>| writer.write(f);
    let result = (|| {
        while let Ok(Some(frame)) = reader.next_frame() {
            selector.push(&frame, &mut keep)?;
        }
        selector.finish(&mut keep)
    })();
    result.map_err(|e| match e {
        WriteError::Io(source) => ExtractError::Write {
            path: out_name.to_owned(),
            source,
        },
        WriteError::LinkTypes(a, b) => ExtractError::LinkTypes(a, b),
    })
}
