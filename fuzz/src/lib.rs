//! The fuzz targets' entry points: one function per target, each reading the fuzzer's bytes as
//! the input its part of cwmpscope takes (a capture file, frames of one link type, TCP
//! segments, the byte streams of connections, a header value, a SOAP body, TLS streams with a
//! key log, handshake messages, a key log) and driving the real code with it, plus the writer
//! of each input format, which turns real captures into seed corpora ([`seeds`]).
//!
//! The integration tests compile this file too (`tests/it/fuzz_regressions.rs`), so kept
//! regression inputs replay through exactly these functions under `cargo test`.
//!
//! Every entry returns how far the input got (frames read, segments decoded, messages parsed,
//! ...), which the tests use to show that real traffic reaches the code under test. Inputs are
//! bounded here as well (frames, records and bytes per input), so that a slow input is the
//! code's fault and not the harness's.

use cwmpscope::capture::{CaptureReader, Frame, LinkType};
use cwmpscope::cwmp::{self, BodyText, DecodeLimits};
use cwmpscope::findings::{Output, Thresholds};
use cwmpscope::http::{HttpConfig, HttpEvent, HttpLayer, auth};
use cwmpscope::limits::LimitSet;
use cwmpscope::output::Format;
use cwmpscope::output::printer::{Filters, Printer};
use cwmpscope::pipeline::{Back, Pipeline, PipelineConfig};
use cwmpscope::report::ReportOptions;
use cwmpscope::session::SessionConfig;
use cwmpscope::tcp::{ConnEnd, ConnInfo, ConnStats, Reassembler, ReassemblyConfig, StreamEvent};
use cwmpscope::tls::keys::KeyScope;
use cwmpscope::tls::{KeyLog, RsaKey, TlsEvent, TlsKeys, TlsLayer, handshake};
use cwmpscope::types::{ConnId, Dir, FrameRef, Nanos};
use cwmpscope::wire::{Decoded, Decoder, TcpFlags, TcpSegment, fragment_of};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// Frames, segments or stream records read from one input at most.
pub const MAX_RECORDS: usize = 20_000;
/// Seeds are cut to this size (the run script's `-max_len` for the larger targets).
pub const MAX_SEED: usize = 64 << 10;

const MILLISECOND: Nanos = 1_000_000;
const SECOND: Nanos = 1_000_000_000;

/// A fuzz target's entry point: reads one input, returns how far it got.
pub type Entry = fn(&[u8]) -> usize;

/// Every target by name (that of its `fuzz_targets/NAME.rs` file and of its corpus and
/// regression directories), in the order the run script runs them.
pub const TARGETS: &[(&str, Entry)] = &[
    ("capture_reader", capture_reader),
    ("frame_decode", frame_decode),
    ("tcp_reassembly", tcp_reassembly),
    ("http_streams", http_streams),
    ("http_auth", http_auth),
    ("cwmp_xml", cwmp_xml),
    ("tls_streams", tls_streams),
    ("tls_handshake", tls_handshake),
    ("tls_keylog", tls_keylog),
    ("pipeline", pipeline),
];

/// The entry point of the target called `name`.
pub fn target(name: &str) -> Option<Entry> {
    TARGETS.iter().find(|t| t.0 == name).map(|t| t.1)
}

/// The fuzzer's bytes read front to back as the fields of a structured input. A read past the
/// end gives zeros and `take` gives what is left, so every byte string is some input.
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Fields { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let head = self.take(N);
        out[..head.len()].copy_from_slice(head);
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(usize::MAX)
    }
}

/// FNV-1a, to compare frames without keeping them.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// capture_reader: the bytes are a capture file (pcap, pcapng, either gzip-compressed).

/// A reader that hands out its bytes in pieces of varying size, as a pipe does.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    turn: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const PIECES: [usize; 6] = [1, 3, 17, 256, 4093, 65536];
        self.turn += 1;
        let piece = PIECES[self.turn % PIECES.len()].min(buf.len());
        let left = self.data.len() - self.at;
        let n = piece.min(left);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// What a reader yielded: per frame (timestamp, link type, original length, bytes' hash), the
/// key log text it found, and whether it stopped on an error.
type Readout = (Vec<(Nanos, u32, u32, u64)>, Vec<u8>, bool);

fn read_capture(source: Box<dyn Read + Send>) -> Option<Readout> {
    let mut reader = CaptureReader::from_reader("fuzz", source, 0).ok()?;
    let (mut frames, mut keylog, mut failed) = (Vec::new(), Vec::new(), false);
    while frames.len() < MAX_RECORDS {
        if let Some(text) = reader.take_tls_keylog() {
            keylog.extend_from_slice(&text);
        }
        // An error is reported once, by whichever call meets it first.
        let peeked = match reader.peek_ts() {
            Ok(ts) => ts,
            Err(_) => {
                failed = true;
                break;
            }
        };
        match reader.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!(
                    peeked,
                    Some(frame.ts),
                    "peek_ts differs from the frame's time"
                );
                frames.push((frame.ts, frame.link.0, frame.orig_len, fnv(frame.data)));
            }
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let _ = (reader.warning(), reader.frames_read(), reader.name());
    Some((frames, keylog, failed))
}

/// Reads the capture twice, from memory at once and in pieces of varying size. Both must give
/// the same frames; where damaged data stops one of them (where a decompressor notices the
/// damage depends on how much it was asked for), its frames are a prefix of the other's.
/// Returns the frames read.
pub fn capture_reader(data: &[u8]) -> usize {
    let stopped = (Vec::new(), Vec::new(), true);
    let whole = read_capture(Box::new(io::Cursor::new(data.to_vec())));
    let trickled = read_capture(Box::new(Trickle {
        data: data.to_vec(),
        at: 0,
        turn: 0,
    }));
    if whole != trickled {
        let (a, b) = (
            whole.as_ref().unwrap_or(&stopped),
            trickled.as_ref().unwrap_or(&stopped),
        );
        let (short, long) = if a.0.len() <= b.0.len() {
            (a, b)
        } else {
            (b, a)
        };
        assert!(
            short.2 && long.0.starts_with(&short.0),
            "reading in pieces changed what was read: {} frames (stopped: {}) against {} \
             (stopped: {})",
            a.0.len(),
            a.2,
            b.0.len(),
            b.2
        );
    }
    let Some((frames, keylog, _)) = whole else {
        return 0;
    };
    if !keylog.is_empty() {
        KeyLog::new().add_text(&keylog);
    }
    frames.len()
}

// ---------------------------------------------------------------------------------------------
// frame_decode: a link type, then frames of it.
//
// Format: link selector (u8: an index into `LinkType::DECODABLE`, modulo its length; 0xFF: a
// raw u32 link type follows), then per frame: length (u16), bytes cut by the snap length (u16),
// time step in milliseconds (u8), the frame's bytes.

/// Writes the start of a `frame_decode` input for `link`.
pub fn frames_header(link: LinkType) -> Vec<u8> {
    match LinkType::DECODABLE.iter().position(|l| *l == link) {
        Some(i) => vec![i as u8],
        None => {
            let mut out = vec![0xFF];
            out.extend_from_slice(&link.0.to_le_bytes());
            out
        }
    }
}

/// Appends one frame to a `frame_decode` input.
pub fn frames_push(out: &mut Vec<u8>, data: &[u8], cut: u16, step_ms: u8) {
    let data = &data[..data.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&cut.to_le_bytes());
    out.push(step_ms);
    out.extend_from_slice(data);
}

/// Decodes every frame. Returns the TCP segments found.
pub fn frame_decode(data: &[u8]) -> usize {
    let mut input = Fields::new(data);
    let selector = input.u8();
    let link = if selector == 0xFF {
        LinkType(input.u32())
    } else {
        LinkType::DECODABLE[usize::from(selector) % LinkType::DECODABLE.len()]
    };
    let mut decoder = Decoder::new();
    let (mut ts, mut segments, mut number) = (1_700_000_000 * SECOND, 0, 0u64);
    while !input.is_empty() && number < MAX_RECORDS as u64 {
        let len = usize::from(input.u16());
        let cut = u32::from(input.u16());
        ts += Nanos::from(input.u8()) * MILLISECOND;
        let bytes = input.take(len);
        number += 1;
        let frame = Frame {
            frame: FrameRef::new(0, number),
            ts,
            link,
            orig_len: bytes.len() as u32 + cut,
            data: bytes,
        };
        let _ = fragment_of(&frame);
        match decoder.decode(&frame) {
            Decoded::Tcp(seg) | Decoded::MirrorCopy(seg) => {
                segments += 1;
                let _ = fnv(seg.payload);
            }
            Decoded::NonIp | Decoded::NonTcp | Decoded::Truncated | Decoded::FragmentHeld => {}
        }
    }
    let _ = decoder.stats();
    segments
}

// ---------------------------------------------------------------------------------------------
// tcp_reassembly: TCP segments of up to four connections.
//
// Format: settings (u8: bit 0 small buffers and table, bit 1 short timeouts), then per
// segment: control (u8), TCP flags (u8), sequence number, acknowledgment number, payload
// length (u16), bytes cut by the snap length (u16, only when flag 0x40 is set), payload.
// Control: bit 0 direction (server to client), bits 1-2 the connection, bit 3 the sequence
// number is absolute (u32) rather than an offset (i16) from where the direction stands, bit 4
// the acknowledgment number is given (u32) rather than where the other direction stands,
// bits 5-7 the time step (see `time_step`).

const CTL_TO_CLIENT: u8 = 0x01;
const CTL_ABSOLUTE_SEQ: u8 = 0x08;
const CTL_ABSOLUTE_ACK: u8 = 0x10;
/// A TCP flag bit the reassembler does not read (ECE), used to say the segment was cut.
const FLAG_CUT: u8 = 0x40;

/// The time step of a control byte (bits 5-7), and whether the timers run after it.
fn time_step(ctl: u8) -> (Nanos, bool) {
    match ctl >> 5 {
        0 => (0, false),
        1 => (1_000, false),
        2 => (MILLISECOND, false),
        3 => (SECOND, false),
        4 => (10 * SECOND, false),
        5 => (400 * SECOND, true),
        6 => (-SECOND, false),
        _ => (SECOND, true),
    }
}

/// The control bits for a time step of `gap` (the nearest one not longer).
fn time_class(gap: Nanos) -> u8 {
    let class = match gap {
        g if g < 0 => 6,
        0 => 0,
        g if g < MILLISECOND => 1,
        g if g < SECOND => 2,
        g if g < 10 * SECOND => 3,
        g if g < 400 * SECOND => 4,
        _ => 5,
    };
    class << 5
}

/// The endpoints of connection `conn` (0-3; the last is IPv6).
fn endpoints(conn: usize) -> (SocketAddr, SocketAddr) {
    let port = 40_000 + conn as u16;
    if conn == 3 {
        (
            SocketAddr::new("fd00::5".parse().unwrap_or([0u16; 8].into()), port),
            SocketAddr::new("fd00::2".parse().unwrap_or([0u16; 8].into()), 7547),
        )
    } else {
        (
            SocketAddr::from(([10, 0, 0, 5 + conn as u8], port)),
            SocketAddr::from(([10, 0, 0, 2], 7547)),
        )
    }
}

/// Writes one segment of a `tcp_reassembly` input, with absolute numbers.
#[allow(clippy::too_many_arguments)]
pub fn segments_push(
    out: &mut Vec<u8>,
    conn: usize,
    to_client: bool,
    gap: Nanos,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) {
    let payload = &payload[..payload.len().min(usize::from(u16::MAX))];
    let ctl = u8::from(to_client)
        | ((conn as u8 & 3) << 1)
        | CTL_ABSOLUTE_SEQ
        | CTL_ABSOLUTE_ACK
        | time_class(gap);
    out.extend_from_slice(&[ctl, flags & !FLAG_CUT]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ack.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What the reassembler's events must respect (the order its documentation promises).
#[derive(Default)]
struct EventOrder {
    /// Per open connection: FIN seen per direction, RST seen.
    open: HashMap<ConnId, ([bool; 2], bool)>,
    closed: std::collections::HashSet<ConnId>,
    data_events: usize,
}

impl EventOrder {
    fn check(&mut self, ev: &StreamEvent<'_>) {
        let (conn, dir) = match ev {
            StreamEvent::Open(info) => {
                assert!(
                    !self.closed.contains(&info.id),
                    "{:?} opened twice",
                    info.id
                );
                assert!(
                    self.open.insert(info.id, ([false; 2], false)).is_none(),
                    "{:?} opened twice",
                    info.id
                );
                return;
            }
            StreamEvent::Closed { info, .. } => {
                assert!(
                    self.open.remove(&info.id).is_some(),
                    "{:?} closed unopened",
                    info.id
                );
                self.closed.insert(info.id);
                return;
            }
            StreamEvent::Data { conn, dir, .. } => {
                self.data_events += 1;
                (*conn, Some(*dir))
            }
            StreamEvent::Gap { conn, dir, .. } => (*conn, Some(*dir)),
            StreamEvent::Fin { conn, dir, .. } => (*conn, Some(*dir)),
            StreamEvent::Rst { conn, .. } => (*conn, None),
        };
        let Some((fins, rst)) = self.open.get_mut(&conn) else {
            panic!("{conn:?}: event outside the connection's life: {ev:?}");
        };
        assert!(!*rst, "{conn:?}: event after the RST: {ev:?}");
        match (ev, dir) {
            (StreamEvent::Rst { .. }, _) => *rst = true,
            (_, Some(dir)) => {
                assert!(
                    !fins[dir.index()],
                    "{conn:?}: {dir:?} event after its FIN: {ev:?}"
                );
                if matches!(ev, StreamEvent::Fin { .. }) {
                    fins[dir.index()] = true;
                }
            }
            _ => {}
        }
    }
}

/// Feeds the segments to the reassembler, checking the order of its events. Returns the data
/// events.
pub fn tcp_reassembly(data: &[u8]) -> usize {
    let mut input = Fields::new(data);
    let settings = input.u8();
    let mut cfg = ReassemblyConfig::default();
    if settings & 1 != 0 {
        cfg.max_pending_per_dir = 4096;
        cfg.max_pending_total = 16384;
        cfg.max_connections = 2;
    }
    if settings & 2 != 0 {
        cfg.idle_timeout = 2 * SECOND;
        cfg.close_linger = SECOND;
    }
    let mut tcp = Reassembler::new(cfg);
    let mut order = EventOrder::default();
    // Where each direction of each connection stands (the next sequence number it sends).
    let mut next = [[0u32; 2]; 4];
    for (conn, dirs) in next.iter_mut().enumerate() {
        *dirs = [1000 * (conn as u32 + 1), 1_000_000 * (conn as u32 + 1)];
    }
    let mut ts = 1_700_000_000 * SECOND;
    let mut number = 0u64;
    while !input.is_empty() && number < MAX_RECORDS as u64 {
        let ctl = input.u8();
        let flags = input.u8();
        let (conn, dir) = (usize::from(ctl >> 1 & 3), usize::from(ctl & CTL_TO_CLIENT));
        let seq = if ctl & CTL_ABSOLUTE_SEQ != 0 {
            input.u32()
        } else {
            next[conn][dir].wrapping_add(input.u16() as i16 as i32 as u32)
        };
        let ack = if ctl & CTL_ABSOLUTE_ACK != 0 {
            input.u32()
        } else {
            next[conn][1 - dir]
        };
        let len = usize::from(input.u16());
        let cut = if flags & FLAG_CUT != 0 {
            u32::from(input.u16())
        } else {
            0
        };
        let payload = input.take(len);
        let (step, run_timers) = time_step(ctl);
        ts = ts.saturating_add(step);
        number += 1;
        let (client, server) = endpoints(conn);
        let (src, dst) = if dir == 0 {
            (client, server)
        } else {
            (server, client)
        };
        let tcp_flags = TcpFlags(flags);
        let end = seq
            .wrapping_add(payload.len() as u32 + cut)
            .wrapping_add(u32::from(tcp_flags.syn()) + u32::from(tcp_flags.fin()));
        if end.wrapping_sub(next[conn][dir]) < 1 << 31 {
            next[conn][dir] = end;
        }
        let seg = TcpSegment {
            frame: FrameRef::new(0, number),
            ts,
            src,
            dst,
            seq,
            ack,
            flags: tcp_flags,
            window: 65535,
            payload,
            payload_cut: cut,
        };
        tcp.push(&seg, &mut |ev| order.check(&ev));
        if run_timers {
            tcp.advance(ts, &mut |ev| order.check(&ev));
        }
    }
    tcp.finish(&mut |ev| order.check(&ev));
    assert!(order.open.is_empty(), "connections left open after finish");
    let _ = (tcp.stats(), tcp.open_connections(), tcp.pending_bytes());
    order.data_events
}

// ---------------------------------------------------------------------------------------------
// http_streams (and tls_streams): the byte streams of connections, one after the other.
//
// Format: settings (u8, see `StreamSettings`), then per record: control (u8), length (u16),
// and for data that many bytes. Control bits 0-2: 0 data to the server, 1 data to the client,
// 2 a gap to the server, 3 a gap to the client (of `length` bytes), 4 FIN to the server,
// 5 FIN to the client, 6 RST, 7 the connection closes (the next record opens another);
// bit 4: a gap's length is in units of 64 KiB; bit 5: the record comes 40 s after the one
// before (1 ms otherwise). Records the reassembler would never send (data after its
// direction's FIN, anything but the close after a RST) are skipped.

const REC_DATA: u8 = 0;
const REC_GAP: u8 = 2;
const REC_FIN: u8 = 4;
const REC_RST: u8 = 6;
const REC_CLOSE: u8 = 7;
const REC_BIG_GAP: u8 = 0x10;
const REC_LATE: u8 = 0x20;

/// Settings of a stream input (its first byte).
#[derive(Clone, Copy)]
struct StreamSettings(u8);

impl StreamSettings {
    fn http(self) -> HttpConfig {
        let mut cfg = HttpConfig {
            keep_all_bodies: self.0 & 2 != 0,
            ..HttpConfig::default()
        };
        if self.0 & 1 != 0 {
            cfg.max_body = 1024;
            cfg.max_header_bytes = 512;
            cfg.max_headers = 8;
            cfg.max_pending_requests = 2;
        }
        cfg
    }

    fn handshake_seen(self) -> bool {
        self.0 & 4 == 0
    }

    fn session(self) -> SessionConfig {
        let mut cfg = SessionConfig {
            keep_raw: self.0 & 8 != 0,
            ..SessionConfig::default()
        };
        if self.0 & 16 != 0 {
            cfg.decode = DecodeLimits {
                max_depth: 8,
                max_elements: 64,
                max_envelopes: 2,
                max_args: 8,
                max_value_len: 64,
            };
            cfg.max_unassigned_messages = 2;
            cfg.max_messages_per_session = 4;
            cfg.max_raw_body = 256;
        }
        cfg
    }

    fn server_port(self) -> u16 {
        if self.0 & 32 != 0 { 80 } else { 7547 }
    }
}

/// One stream record, as the writer takes it.
pub enum StreamRecord<'a> {
    Data(Dir, &'a [u8]),
    Gap(Dir, u16),
    Fin(Dir),
    Rst,
    Close,
}

/// Appends one record to a stream input; `late` puts it 40 s after the one before.
pub fn streams_push(out: &mut Vec<u8>, record: &StreamRecord<'_>, late: bool) {
    let dir_bit = |dir: &Dir| dir.index() as u8;
    let late = if late { REC_LATE } else { 0 };
    match record {
        StreamRecord::Data(dir, bytes) => {
            for piece in bytes.chunks(usize::from(u16::MAX)) {
                out.push(REC_DATA | dir_bit(dir) | late);
                out.extend_from_slice(&(piece.len() as u16).to_le_bytes());
                out.extend_from_slice(piece);
            }
        }
        StreamRecord::Gap(dir, len) => {
            out.push(REC_GAP | dir_bit(dir) | late);
            out.extend_from_slice(&len.to_le_bytes());
        }
        StreamRecord::Fin(dir) => out.extend_from_slice(&[REC_FIN | dir_bit(dir) | late, 0, 0]),
        StreamRecord::Rst => out.extend_from_slice(&[REC_RST | late, 0, 0]),
        StreamRecord::Close => out.extend_from_slice(&[REC_CLOSE | late, 0, 0]),
    }
}

/// Reads stream records and hands the reassembler events they stand for to `sink`, opening
/// and closing connections as the records say.
fn replay_streams(
    input: &mut Fields<'_>,
    settings: StreamSettings,
    sink: &mut dyn FnMut(StreamEvent<'_>),
) {
    let stats = ConnStats::default();
    let mut ts = 1_700_000_000 * SECOND;
    let (mut conn, mut open, mut reset, mut number) = (0u64, false, false, 0u64);
    let mut fin = [false; 2];
    let info_of = |conn: u64, ts: Nanos| ConnInfo {
        id: ConnId(conn),
        client: SocketAddr::from(([10, 0, 0, 5], 40_000 + (conn % 20_000) as u16)),
        server: SocketAddr::from(([10, 0, 0, 2], settings.server_port())),
        ts,
        frame: FrameRef::new(0, 1),
        handshake_seen: settings.handshake_seen(),
    };
    let mut info = info_of(0, ts);
    while !input.is_empty() && (number as usize) < MAX_RECORDS {
        let ctl = input.u8();
        let len = input.u16();
        ts += if ctl & REC_LATE != 0 {
            40 * SECOND
        } else {
            MILLISECOND
        };
        number += 1;
        let frame = FrameRef::new(0, number);
        if !open {
            conn += 1;
            info = info_of(conn, ts);
            sink(StreamEvent::Open(&info));
            (open, reset, fin) = (true, false, [false; 2]);
        }
        let kind = ctl & 7;
        let dir = if kind & 1 == 0 {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let id = info.id;
        if (reset && kind != REC_CLOSE) || (kind < REC_RST && fin[dir.index()]) {
            if kind < REC_GAP {
                input.take(usize::from(len));
            }
            continue;
        }
        match kind {
            0 | 1 => {
                let bytes = input.take(usize::from(len));
                if !bytes.is_empty() {
                    sink(StreamEvent::Data {
                        conn: id,
                        dir,
                        frame,
                        ts,
                        bytes,
                    });
                }
            }
            2 | 3 if len > 0 => {
                let unit = if ctl & REC_BIG_GAP != 0 { 1 << 16 } else { 1 };
                sink(StreamEvent::Gap {
                    conn: id,
                    dir,
                    frame,
                    ts,
                    len: u64::from(len) * unit,
                })
            }
            4 | 5 => {
                sink(StreamEvent::Fin {
                    conn: id,
                    dir,
                    frame,
                    ts,
                });
                fin[dir.index()] = true;
            }
            REC_RST => {
                sink(StreamEvent::Rst {
                    conn: id,
                    dir: Dir::ToServer,
                    frame,
                    ts,
                });
                reset = true;
            }
            REC_CLOSE => {
                let end = if reset {
                    ConnEnd::Reset
                } else {
                    ConnEnd::Closed
                };
                sink(StreamEvent::Closed {
                    info: &info,
                    ts,
                    end,
                    stats: &stats,
                });
                open = false;
            }
            _ => {}
        }
    }
    if open {
        sink(StreamEvent::Closed {
            info: &info,
            ts,
            end: ConnEnd::CaptureEnded,
            stats: &stats,
        });
    }
}

/// The HTTP stage and the stages after it (sessions, transactions, findings), fed with HTTP
/// events; counts the messages.
struct HttpAndBack {
    http: HttpLayer,
    max_body: usize,
    back: Back,
    messages: usize,
}

impl HttpAndBack {
    fn new(settings: StreamSettings) -> Self {
        HttpAndBack {
            http: HttpLayer::new(settings.http()),
            max_body: settings.http().max_body,
            back: Back::new(settings.session(), Thresholds::default()),
            messages: 0,
        }
    }

    fn push(&mut self, ev: StreamEvent<'_>) {
        let (back, messages, max_body) = (&mut self.back, &mut self.messages, self.max_body);
        self.http.push(ev, &mut |ev: HttpEvent| {
            if let HttpEvent::Message(m) = &ev {
                *messages += 1;
                assert!(m.body.len() <= max_body, "a body kept beyond the limit");
            }
            back.push(ev, &mut |out| touch_output(&out));
        });
    }

    fn finish(&mut self) {
        self.back.finish(&mut |out| touch_output(&out));
        let _ = (self.http.stats(), self.http.open_connections());
    }
}

fn touch_output(out: &Output) {
    let _ = format!("{out:?}").len();
}

/// Feeds the streams to the HTTP stage and what it finds to the session, transaction and
/// finding stages. Returns the HTTP messages.
pub fn http_streams(data: &[u8]) -> usize {
    let mut input = Fields::new(data);
    let settings = StreamSettings(input.u8());
    let mut stages = HttpAndBack::new(settings);
    replay_streams(&mut input, settings, &mut |ev| stages.push(ev));
    stages.finish();
    stages.messages
}

// ---------------------------------------------------------------------------------------------
// http_auth: a header value (Authorization, WWW-Authenticate, Set-Cookie or Cookie).

/// The Digest parameters present.
fn digest_fields(p: &auth::DigestParams) -> usize {
    [
        &p.username,
        &p.realm,
        &p.nonce,
        &p.uri,
        &p.response,
        &p.qop,
        &p.nc,
        &p.cnonce,
        &p.opaque,
        &p.algorithm,
    ]
    .iter()
    .filter(|f| f.is_some())
    .count()
        + usize::from(p.stale.is_some())
}

/// Parses the value as each header that `http::auth` reads. Returns the Digest parameters
/// found in it as credentials and as challenges.
pub fn http_auth(data: &[u8]) -> usize {
    let value = String::from_utf8_lossy(data);
    let mut found = match auth::parse_credentials(&value) {
        auth::Credentials::Digest(p) => digest_fields(&p),
        other => {
            let _ = format!("{other:?}");
            0
        }
    };
    for challenge in auth::parse_challenges(&value) {
        let _ = challenge.scheme();
        if let auth::Challenge::Digest(p) = &challenge {
            found += digest_fields(p);
        }
    }
    let _ = auth::parse_set_cookie(&value);
    let _ = auth::parse_cookie_header(&value);
    found
}

// ---------------------------------------------------------------------------------------------
// cwmp_xml: a body. Format: Content-Type selector (u8), limits (u8: 0 the defaults, else small
// ones taken from it), the body.

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("text/xml; charset=\"utf-8\""),
    Some("text/xml; charset=utf-16"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/soap+xml; charset=windows-1252"),
    Some("text/xml; charset=shift_jis"),
    Some("text/xml; charset="),
    Some("text/xml; charset=utf-16be"),
];

/// Writes a `cwmp_xml` input: the body with a UTF-8 Content-Type and the default limits.
pub fn cwmp_xml_input(body: &[u8]) -> Vec<u8> {
    let mut out = vec![1, 0];
    out.extend_from_slice(body);
    out
}

/// Decodes the body as the session stage does (checked against quick-xml alone), and shows it
/// as a viewer does. Returns the envelopes.
pub fn cwmp_xml(data: &[u8]) -> usize {
    let mut input = Fields::new(data);
    let content_type = CONTENT_TYPES[usize::from(input.u8()) % CONTENT_TYPES.len()];
    let small = input.u8();
    let body = input.rest();
    let limits = if small == 0 {
        DecodeLimits::default()
    } else {
        DecodeLimits {
            max_depth: 1 + usize::from(small % 16),
            max_elements: 4 + usize::from(small % 64),
            max_envelopes: 1 + usize::from(small >> 4 & 3),
            max_args: usize::from(small >> 6),
            max_value_len: 16,
        }
    };
    let _ = cwmp::looks_like_soap(body);
    let text = BodyText::new(body, content_type);
    let len = text.text().len();
    for at in [0, len / 2, len] {
        let _ = text.body_offset(at);
    }
    let mut hit = LimitSet::default();
    let decoded = cwmp::decode_noting(body, content_type, &limits, &mut hit);
    // The faster reader must agree with quick-xml on every body, or hand it over.
    let mut reference_hit = LimitSet::default();
    let reference = cwmp::decode_by_quick_xml(body, content_type, &limits, &mut reference_hit);
    assert_eq!(decoded, reference, "the XML readers differ");
    assert_eq!(
        hit.names(),
        reference_hit.names(),
        "the XML readers note other limits"
    );
    match decoded {
        Ok(envelopes) => {
            assert!(
                envelopes.len() <= limits.max_envelopes,
                "more envelopes than the limit"
            );
            let _ = format!("{envelopes:?}").len();
            envelopes.len()
        }
        Err(e) => {
            let _ = e.reason.len();
            0
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tls_streams: a key log, then connection streams (as for http_streams) that may be TLS.
//
// Format: settings (u8: bit 7 the key log is embedded in the capture rather than given by
// file; the other bits as for http_streams), key log length (u16), key log text, records.

/// Writes the start of a `tls_streams` input: settings and key log.
pub fn tls_streams_header(keylog: &[u8]) -> Vec<u8> {
    let keylog = &keylog[..keylog.len().min(usize::from(u16::MAX))];
    let mut out = vec![0];
    out.extend_from_slice(&(keylog.len() as u16).to_le_bytes());
    out.extend_from_slice(keylog);
    out
}

/// Feeds the streams through the TLS stage (decrypting what the key log opens) into the HTTP
/// stage. Returns the records decrypted.
pub fn tls_streams(data: &[u8]) -> usize {
    let mut input = Fields::new(data);
    let settings = StreamSettings(input.u8());
    let keylog_len = usize::from(input.u16());
    let keylog = input.take(keylog_len);
    let mut keys = TlsKeys::default();
    let embedded = settings.0 & 0x80 != 0;
    if !embedded {
        keys.keylog.add_text(keylog);
    }
    let mut tls = TlsLayer::new(Arc::new(keys));
    if embedded {
        tls.add_embedded_keylog(keylog);
    }
    let mut http = HttpLayer::new(settings.http());
    replay_streams(&mut input, settings, &mut |ev| {
        tls.push(ev, &mut |ev| match ev {
            TlsEvent::Stream(ev) => http.push(ev, &mut |ev| {
                let _ = format!("{ev:?}").len();
            }),
            TlsEvent::Summary { conn, summary } => {
                let _ = (
                    summary.version_name(),
                    summary.cipher_suite_name(),
                    summary.had_protected_records(),
                );
                if let Some((_, description)) = summary.alert.as_ref().and_then(|a| a.content) {
                    let _ = cwmpscope::findings::tls::alert_name(description);
                }
                if let Some(reason) = summary.reason {
                    let _ = (reason.code(), reason.message());
                }
                http.note_tls(conn, summary);
            }
        });
    });
    let _ = tls.open_connections();
    tls.stats().records_decrypted as usize
}

// ---------------------------------------------------------------------------------------------
// tls_handshake: handshake messages (type, 24-bit length, body), one after the other.

/// Splits the messages and parses each as its type says, then the whole input as every type.
/// Returns the messages.
pub fn tls_handshake(data: &[u8]) -> usize {
    let parse_as_every_type = |body: &[u8]| {
        let _ = handshake::client_hello(body);
        let _ = handshake::server_hello(body);
        let _ = handshake::leaf_certificate(body, false);
        let _ = handshake::leaf_certificate(body, true);
        let _ = handshake::rsa_encrypted_pms(body);
        let _ = handshake::session_ticket(body);
    };
    let mut messages = 0;
    let used = handshake::split_messages(data, |ty, msg| {
        messages += 1;
        let body = &msg[4.min(msg.len())..];
        match ty {
            handshake::CLIENT_HELLO => {
                let _ = handshake::client_hello(body);
            }
            handshake::SERVER_HELLO => {
                let _ = handshake::server_hello(body);
            }
            handshake::CERTIFICATE => {
                let _ = handshake::leaf_certificate(body, false);
                let _ = handshake::leaf_certificate(body, true);
            }
            handshake::CLIENT_KEY_EXCHANGE => {
                let _ = handshake::rsa_encrypted_pms(body);
            }
            handshake::NEW_SESSION_TICKET => {
                let _ = handshake::session_ticket(body);
            }
            _ => parse_as_every_type(body),
        }
    });
    assert!(
        used <= data.len(),
        "split_messages used more than it was given"
    );
    parse_as_every_type(data);
    messages
}

// ---------------------------------------------------------------------------------------------
// tls_keylog: key log text (or, when it starts with "-----BEGIN", a PEM private key).

/// Reads the key log and looks up the client random its first 32 bytes would be. Returns the
/// entries kept.
pub fn tls_keylog(data: &[u8]) -> usize {
    if data.starts_with(b"-----BEGIN") {
        let _ = RsaKey::from_pem(&String::from_utf8_lossy(data), KeyScope::Any);
        return 0;
    }
    let mut log = KeyLog::new();
    let stats = log.add_text(data);
    let mut random = [0u8; 32];
    let head = &data[..data.len().min(32)];
    random[..head.len()].copy_from_slice(head);
    let _ = (
        log.master_secret(&random).is_some(),
        log.tls13(&random).is_some(),
    );
    let _ = (stats, log.stats(), log.is_empty());
    log.len()
}

// ---------------------------------------------------------------------------------------------
// pipeline: the bytes are a capture file, analyzed as `cwmpscope analyze` does and printed.

/// Reads the capture, runs every stage and prints the report (text, JSON or NDJSON, chosen by
/// the input's length) to nowhere. Returns the outputs (sessions, transactions, findings).
pub fn pipeline(data: &[u8]) -> usize {
    let Ok(mut reader) =
        CaptureReader::from_reader("fuzz", Box::new(io::Cursor::new(data.to_vec())), 0)
    else {
        return 0;
    };
    let format = [Format::Text, Format::Json, Format::Ndjson][data.len() % 3];
    let opts = ReportOptions {
        show_secrets: data.len().is_multiple_of(2),
        files: vec!["fuzz".into()],
    };
    let mut printer = Printer::new(
        format,
        opts,
        Filters::default(),
        data.len().is_multiple_of(5),
        false,
    );
    let mut pipeline = Pipeline::new(PipelineConfig::default());
    let mut sink = io::sink();
    let mut outputs = 0;
    let mut on_output = |item: Output| {
        outputs += 1;
        let _ = printer.push(item, &mut sink);
    };
    let mut frames = 0;
    let mut warnings = Vec::new();
    while frames < MAX_RECORDS {
        if let Some(text) = reader.take_tls_keylog() {
            pipeline.add_embedded_keylog(&text);
        }
        match reader.next_frame() {
            Ok(Some(frame)) => pipeline.push(&frame, &mut on_output),
            Ok(None) => break,
            Err(e) => {
                warnings.push(e.to_string());
                break;
            }
        }
        frames += 1;
    }
    pipeline.finish(&mut on_output);
    let summary = pipeline.capture_summary(vec!["fuzz".into()], warnings);
    let _ = printer.finish(summary, &mut sink);
    let _ = sink.flush();
    outputs
}

// ---------------------------------------------------------------------------------------------
// Seeds: real captures turned into the input of every target.

/// Frames of a capture: (time, link type, original length, bytes).
type OwnedFrame = (Nanos, LinkType, u32, Vec<u8>);

fn frames_of(capture: &[u8]) -> (Vec<OwnedFrame>, Vec<u8>) {
    let (mut frames, mut keylog) = (Vec::new(), Vec::new());
    let Ok(mut reader) =
        CaptureReader::from_reader("seed", Box::new(io::Cursor::new(capture.to_vec())), 0)
    else {
        return (frames, keylog);
    };
    while frames.len() < MAX_RECORDS {
        if let Some(text) = reader.take_tls_keylog() {
            keylog.extend_from_slice(&text);
        }
        match reader.next_frame() {
            Ok(Some(f)) => frames.push((f.ts, f.link, f.orig_len, f.data.to_vec())),
            _ => break,
        }
    }
    (frames, keylog)
}

/// The capture rewritten as pcapng (nanosecond interface, time offset), with the key log in a
/// Decryption Secrets Block, an unknown block, and its last frame in a Simple Packet Block.
fn as_pcapng(frames: &[OwnedFrame], keylog: &[u8]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&total.to_le_bytes());
    }
    let link = frames.first().map_or(LinkType::ETHERNET, |f| f.1);
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0A0D_0D0A, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&(link.0 as u16).to_le_bytes());
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]); // if_tsresol: nanoseconds
    idb.extend_from_slice(&[14, 0, 8, 0]); // if_tsoffset: one second
    idb.extend_from_slice(&1u64.to_le_bytes());
    idb.extend_from_slice(&[0, 0, 0, 0]);
    block(&mut out, 1, &idb);
    if !keylog.is_empty() {
        let mut dsb = Vec::new();
        dsb.extend_from_slice(&0x544c_534bu32.to_le_bytes());
        dsb.extend_from_slice(&(keylog.len() as u32).to_le_bytes());
        dsb.extend_from_slice(keylog);
        block(&mut out, 0x0A, &dsb);
    }
    block(&mut out, 0x0BAD_0BAD, b"a block of a type no reader knows");
    for (i, (ts, _, orig_len, data)) in frames.iter().enumerate() {
        if out.len() > MAX_SEED {
            break;
        }
        if i + 1 == frames.len() && i > 0 {
            let mut spb = (*orig_len).to_le_bytes().to_vec();
            spb.extend_from_slice(data);
            block(&mut out, 3, &spb);
            break;
        }
        let units = (*ts - SECOND).max(0) as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&orig_len.to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut out, 6, &epb);
    }
    out
}

/// The IP packet of an untagged Ethernet frame.
fn ip_of_ethernet(frame: &[u8]) -> Option<&[u8]> {
    match frame.get(12..14)? {
        [0x08, 0x00] | [0x86, 0xDD] => frame.get(14..),
        _ => None,
    }
}

/// An IP packet framed for `link` (the header each link type puts before IP).
fn under_link(link: LinkType, ip: &[u8]) -> Vec<u8> {
    let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
    let ether_type: [u8; 2] = if v6 { [0x86, 0xDD] } else { [0x08, 0x00] };
    let ppp: [u8; 2] = if v6 { [0x00, 0x57] } else { [0x00, 0x21] };
    let bsd_family: u32 = if v6 { 30 } else { 2 };
    let mut out = match link {
        LinkType::NULL => bsd_family.to_le_bytes().to_vec(),
        LinkType::LOOP => bsd_family.to_be_bytes().to_vec(),
        LinkType::PPP | LinkType::PPP_SERIAL => [[0xFF, 0x03], ppp].concat(),
        LinkType::PPP_ETHER => {
            // PPPoE session header: version and type, code, session, length (PPP included).
            let len = (ip.len() + 2) as u16;
            let mut h = vec![0x11, 0x00, 0x12, 0x34];
            h.extend_from_slice(&len.to_be_bytes());
            h.extend_from_slice(&ppp);
            h
        }
        LinkType::LINUX_SLL => {
            // Packet type, ARPHRD_ETHER, address length, address (8 bytes), protocol.
            let mut h = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
            h.extend_from_slice(&ether_type);
            h
        }
        LinkType::LINUX_SLL2 => {
            // Protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length,
            // address (8 bytes).
            let mut h = ether_type.to_vec();
            h.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            h
        }
        _ => Vec::new(),
    };
    out.extend_from_slice(ip);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// One connection's events, owned, as the stream writer takes them.
enum OwnedRecord {
    Data(Dir, Vec<u8>),
    Gap(Dir, u16),
    Fin(Dir),
    Rst,
}

/// The seed inputs of every target that real traffic gives: `capture` is a capture file,
/// `keylog` the key log of its TLS connections. Each seed is (target name, input).
pub fn seeds(capture: &[u8], keylog: Option<&[u8]>) -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let cut = |data: &[u8]| data[..data.len().min(MAX_SEED)].to_vec();
    let (frames, embedded) = frames_of(capture);
    if frames.is_empty() {
        return out;
    }
    let keylog = keylog.map_or(embedded, <[u8]>::to_vec);

    // Whole files, as read and analyzed: as they are, gzip-compressed, and as pcapng.
    let pcapng = as_pcapng(&frames, &keylog);
    for file in [
        cut(capture),
        gzip(&cut(capture)),
        pcapng.clone(),
        gzip(&pcapng),
    ] {
        out.push(("capture_reader", file.clone()));
        out.push(("pipeline", file));
    }

    // Frames.
    let mut input = frames_header(frames[0].1);
    let mut last_ts = frames[0].0;
    for (ts, link, orig_len, data) in &frames {
        if *link != frames[0].1 || input.len() > MAX_SEED {
            break;
        }
        let step = ((ts - last_ts) / MILLISECOND).clamp(0, 255) as u8;
        last_ts = *ts;
        frames_push(
            &mut input,
            data,
            (*orig_len as usize).saturating_sub(data.len()) as u16,
            step,
        );
    }
    out.push(("frame_decode", input));
    // The same IP packets under every other link type the decoder reads.
    if frames[0].1 == LinkType::ETHERNET {
        for link in LinkType::DECODABLE {
            if link == LinkType::ETHERNET {
                continue;
            }
            let mut input = frames_header(link);
            for (_, _, _, data) in frames.iter().take(64) {
                if let Some(framed) = ip_of_ethernet(data).map(|ip| under_link(link, ip)) {
                    frames_push(&mut input, &framed, 0, 1);
                }
            }
            out.push(("frame_decode", input));
        }
    }

    // Segments, and from them each connection's streams.
    let mut decoder = Decoder::new();
    let mut tcp = Reassembler::new(ReassemblyConfig::default());
    let mut segments = vec![0u8];
    let mut conns: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut streams: Vec<(ConnId, Vec<OwnedRecord>)> = Vec::new();
    let collect = |ev: StreamEvent<'_>, streams: &mut Vec<(ConnId, Vec<OwnedRecord>)>| {
        let (conn, record) = match ev {
            StreamEvent::Open(info) => return streams.push((info.id, Vec::new())),
            StreamEvent::Data {
                conn, dir, bytes, ..
            } => (conn, OwnedRecord::Data(dir, bytes.to_vec())),
            StreamEvent::Gap { conn, dir, len, .. } => {
                (conn, OwnedRecord::Gap(dir, len.min(65535) as u16))
            }
            StreamEvent::Fin { conn, dir, .. } => (conn, OwnedRecord::Fin(dir)),
            StreamEvent::Rst { conn, .. } => (conn, OwnedRecord::Rst),
            StreamEvent::Closed { .. } => return,
        };
        if let Some((_, records)) = streams.iter_mut().rev().find(|(id, _)| *id == conn) {
            records.push(record);
        }
    };
    last_ts = frames[0].0;
    for (ts, link, orig_len, data) in &frames {
        let frame = Frame {
            frame: FrameRef::new(0, 1),
            ts: *ts,
            link: *link,
            orig_len: *orig_len,
            data,
        };
        let Decoded::Tcp(seg) = decoder.decode(&frame) else {
            continue;
        };
        if segments.len() < MAX_SEED {
            let forward = (seg.src, seg.dst);
            let index = match conns
                .iter()
                .position(|c| *c == forward || (c.1, c.0) == forward)
            {
                Some(i) => i,
                None => {
                    conns.push(forward);
                    conns.len() - 1
                }
            };
            let to_client = conns[index] != forward;
            segments_push(
                &mut segments,
                index % 4,
                to_client,
                ts - last_ts,
                seg.flags.0,
                seg.seq,
                seg.ack,
                seg.payload,
            );
            last_ts = *ts;
        }
        tcp.push(&seg, &mut |ev| collect(ev, &mut streams));
    }
    tcp.finish(&mut |ev| collect(ev, &mut streams));
    out.push(("tcp_reassembly", segments));

    for (_, records) in &streams {
        let is_tls = records.iter().find_map(|r| match r {
            OwnedRecord::Data(_, bytes) => Some(bytes.first() == Some(&0x16)),
            _ => None,
        });
        let Some(is_tls) = is_tls else { continue };
        let mut input = if is_tls {
            tls_streams_header(&keylog)
        } else {
            vec![0]
        };
        // The handshake messages each direction sent in clear (until its ChangeCipherSpec).
        let mut handshakes: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut record_bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut clear = [true; 2];
        for record in records {
            let (record, late) = match record {
                OwnedRecord::Data(dir, bytes) => {
                    if is_tls {
                        let buf = &mut record_bufs[dir.index()];
                        buf.extend_from_slice(bytes);
                        while clear[dir.index()] && buf.len() >= 5 {
                            let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
                            if buf.len() < 5 + len {
                                break;
                            }
                            match buf[0] {
                                0x16 => handshakes[dir.index()].extend_from_slice(&buf[5..5 + len]),
                                0x14 => clear[dir.index()] = false,
                                _ => {}
                            }
                            buf.drain(..5 + len);
                        }
                    }
                    (StreamRecord::Data(*dir, bytes), false)
                }
                OwnedRecord::Gap(dir, len) => (StreamRecord::Gap(*dir, *len), false),
                OwnedRecord::Fin(dir) => (StreamRecord::Fin(*dir), false),
                OwnedRecord::Rst => (StreamRecord::Rst, false),
            };
            if input.len() > MAX_SEED {
                break;
            }
            streams_push(&mut input, &record, late);
        }
        streams_push(&mut input, &StreamRecord::Close, false);
        if is_tls {
            out.push(("tls_streams", input));
            out.extend(
                handshakes
                    .into_iter()
                    .filter(|h| !h.is_empty())
                    .map(|h| ("tls_handshake", h)),
            );
            continue;
        }
        // The bodies and header values of the connection's HTTP messages.
        let mut http = HttpLayer::new(HttpConfig::default());
        let mut messages = Vec::new();
        replay_streams(
            &mut Fields::new(&input[1..]),
            StreamSettings(0),
            &mut |ev| {
                http.push(ev, &mut |ev| {
                    if let HttpEvent::Message(m) = ev {
                        messages.push(m);
                    }
                })
            },
        );
        out.push(("http_streams", input));
        for m in messages {
            if cwmp::looks_like_soap(&m.body) {
                out.push(("cwmp_xml", cwmp_xml_input(&m.body)));
            }
            for (name, value) in &m.headers {
                let name = name.to_ascii_lowercase();
                if ["authorization", "www-authenticate", "set-cookie", "cookie"]
                    .contains(&name.as_str())
                {
                    out.push(("http_auth", value.as_bytes().to_vec()));
                }
            }
            if cwmp::looks_like_soap(&m.body) && m.is_request() {
                out.push(("http_streams", compressed_exchange(&m.body)));
            }
        }
    }
    if !keylog.is_empty() {
        out.push(("tls_keylog", keylog.clone()));
    }
    out
}

/// A `http_streams` input with one SOAP request sent gzip-compressed and its echo answered
/// chunked and deflate-compressed.
fn compressed_exchange(body: &[u8]) -> Vec<u8> {
    let zipped = gzip(body);
    let mut request = format!(
        "POST /cwmp HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
         Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        zipped.len()
    )
    .into_bytes();
    request.extend_from_slice(&zipped);
    let mut deflated = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = deflated.write_all(body);
    let deflated = deflated.finish().unwrap_or_default();
    let mut response =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Encoding: deflate\r\n\
        Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in deflated.chunks(100) {
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(chunk);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");
    let mut input = vec![0];
    streams_push(
        &mut input,
        &StreamRecord::Data(Dir::ToServer, &request),
        false,
    );
    streams_push(
        &mut input,
        &StreamRecord::Data(Dir::ToClient, &response),
        false,
    );
    streams_push(&mut input, &StreamRecord::Close, false);
    input
}
