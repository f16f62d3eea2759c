//! One direction of one connection: an incremental HTTP/1.x parser fed with reassembled bytes.
//!
//! Bytes are parsed in place; only an unfinished unit (a header block, a chunk-size line, the
//! start of a line that may begin a message) is copied and kept until more bytes arrive, so the
//! buffer never holds more than one header block. Body bytes go straight to bounded storage.

use super::body::{BodyStore, ChunkStatus, ChunkedDecoder, ContentCoding};
use super::{HttpConfig, HttpEvent, HttpMessage, HttpStats, StartLine};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Header array size of the first parse attempt; larger blocks are parsed again with more.
const FIRST_HEADER_ARRAY: usize = 32;
/// Longest request target accepted when looking for a message start in unknown bytes.
const MAX_PROBE_TARGET: usize = 8 << 10;
/// Longest method token accepted.
const MAX_METHOD: usize = 32;

/// Frame and time of a byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub frame: FrameRef,
    pub ts: Nanos,
}

/// Where the bytes of one parser input came from: bytes before `split` were kept from earlier
/// chunks (whose first byte came with `early`), the rest came with the current chunk.
#[derive(Clone, Copy, Debug)]
struct Span {
    split: usize,
    early: Origin,
    late: Origin,
}

impl Span {
    fn at(&self, pos: usize) -> Origin {
        if pos < self.split {
            self.early
        } else {
            self.late
        }
    }
}

/// A request waiting for its response.
#[derive(Clone, Debug)]
pub(crate) struct PendingRequest {
    dir: Dir,
    index: u32,
    method: String,
    /// The capture lost bytes of the response direction (framing lost) while this request
    /// waited: its response may have been among them.
    maybe_answered_in_gap: bool,
}

/// Requests of a connection in the order sent, answered first-in first-out (pipelining).
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    queue: VecDeque<PendingRequest>,
}

impl PendingRequests {
    /// Queues a request; when `cap` requests already wait, the oldest is given up.
    fn push(&mut self, req: PendingRequest, cap: usize) {
        if cap == 0 {
            return;
        }
        while self.queue.len() >= cap {
            self.queue.pop_front();
        }
        self.queue.push_back(req);
    }

    /// The oldest request sent in the direction opposite to a response travelling in `dir`.
    fn front_for(&self, response_dir: Dir) -> Option<&PendingRequest> {
        self.queue.front().filter(|r| r.dir != response_dir)
    }

    fn pop_for(&mut self, response_dir: Dir) -> Option<PendingRequest> {
        self.front_for(response_dir)?;
        self.queue.pop_front()
    }

    /// A response travelling in `response_dir` may have been lost: every request now waiting
    /// for one may have been answered.
    fn mark_gap(&mut self, response_dir: Dir) {
        for req in self.queue.iter_mut().filter(|r| r.dir != response_dir) {
            req.maybe_answered_in_gap = true;
        }
    }

    /// Before pairing a response: requests whose response was probably lost in a gap are given
    /// up, as long as a request sent after the gap still waits (keep-alive without
    /// pipelining; with pipelining the loss cannot be placed and FIFO order is kept).
    fn drop_lost_answers(&mut self, response_dir: Dir) {
        let waiting_after_gap = self
            .queue
            .iter()
            .any(|r| r.dir != response_dir && !r.maybe_answered_in_gap);
        if !waiting_after_gap {
            return;
        }
        while self
            .front_for(response_dir)
            .is_some_and(|r| r.maybe_answered_in_gap)
        {
            self.queue.pop_front();
        }
    }
}

/// What the parser of one direction needs from its connection and the layer.
pub(crate) struct Cx<'a, S: FnMut(HttpEvent) + ?Sized> {
    pub cfg: &'a HttpConfig,
    pub pconf: &'a httparse::ParserConfig,
    pub conn: ConnId,
    pub dir: Dir,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub pending: &'a mut PendingRequests,
    pub out: &'a mut S,
    pub stats: &'a mut HttpStats,
    /// Set when this direction switched protocols (101, CONNECT): the other one must follow.
    pub tunnel: bool,
}

impl<S: FnMut(HttpEvent) + ?Sized> Cx<'_, S> {
    pub(crate) fn emit(&mut self, msg: HttpMessage) {
        self.stats.messages += 1;
        if !msg.complete {
            self.stats.incomplete_messages += 1;
        }
        (self.out)(HttpEvent::Message(msg));
    }
}

/// Why a direction is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpaqueKind {
    /// Its first bytes were not HTTP.
    NotHttp,
    /// Its first bytes were a TLS record.
    Tls,
    /// The connection switched protocols (101 Switching Protocols, CONNECT).
    Tunnel,
}

/// How the end of a body is found.
enum Framing {
    NoBody,
    Length(u64),
    Chunked,
    Close,
}

enum BodyFraming {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    Close,
}

/// A message whose head was parsed and whose body is still arriving.
struct Draft {
    msg: HttpMessage,
    framing: BodyFraming,
    store: BodyStore,
}

enum Mode {
    /// Expecting the start of a message.
    Idle,
    /// Skipping bytes until a line that starts a message (after a gap or malformed framing).
    Hunting {
        at_line_start: bool,
    },
    Body(Box<Draft>),
    /// Not HTTP: bytes are counted and dropped.
    Opaque(OpaqueKind),
}

enum Step {
    /// Continue at this position (the mode may have changed).
    Advance(usize),
    /// Stop; the bytes from this position on must be presented again with more data.
    NeedMore(usize),
}

/// Parser state of one direction of a connection.
pub(crate) struct DirParser {
    /// Whether a message was recognized in this direction.
    http: bool,
    /// The start of this direction was not seen (mid-stream pickup or a gap before any byte):
    /// bytes that are not HTTP are skipped silently instead of giving the direction up.
    mid_stream: bool,
    mode: Mode,
    /// Unconsumed bytes kept from earlier chunks (one unfinished unit at most).
    buf: Vec<u8>,
    /// Frame and time of `buf[0]`.
    buf_origin: Origin,
    /// Bytes of `buf` already searched for the end of a header block.
    scan_hint: usize,
    /// Stream offset of the first unconsumed byte (the start of `buf`).
    consumed: u64,
    next_index: u32,
    /// Frame and time of the latest data byte.
    last: Origin,
}

impl DirParser {
    /// A parser for a direction whose first byte is (`mid_stream == false`) or may not be the
    /// start of the stream.
    pub fn new(mid_stream: bool) -> Self {
        DirParser {
            http: false,
            mid_stream,
            mode: Mode::Idle,
            buf: Vec::new(),
            buf_origin: Origin::default(),
            scan_hint: 0,
            consumed: 0,
            next_index: 0,
            last: Origin::default(),
        }
    }

    /// Whether any HTTP message was recognized in this direction.
    pub fn is_http(&self) -> bool {
        self.http
    }

    /// Whether this direction started with a TLS record.
    pub fn is_tls(&self) -> bool {
        matches!(self.mode, Mode::Opaque(OpaqueKind::Tls))
    }

    /// Stops parsing: the connection switched to another protocol.
    pub fn enter_tunnel(&mut self) {
        self.consumed += self.buf.len() as u64;
        self.buf.clear();
        self.scan_hint = 0;
        self.mode = Mode::Opaque(OpaqueKind::Tunnel);
    }

    /// Parses one chunk of in-order bytes.
    pub fn on_data<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        data: &[u8],
        origin: Origin,
        cx: &mut Cx<'_, S>,
    ) {
        if data.is_empty() {
            return;
        }
        self.last = origin;
        if let Mode::Opaque(_) = self.mode {
            cx.stats.opaque_bytes += data.len() as u64;
            self.consumed += data.len() as u64;
            return;
        }
        if let Mode::Hunting { at_line_start } = &mut self.mode {
            // Senders start messages at segment boundaries: a chunk start is a candidate.
            *at_line_start = true;
        }
        // Bytes appended to a kept unit at a time: enough to finish any unit.
        let step_limit = cx.cfg.max_header_bytes.max(MAX_PROBE_TARGET) + 64;
        let mut rest = data;
        while !rest.is_empty() {
            if self.buf.is_empty() {
                let span = Span {
                    split: 0,
                    early: origin,
                    late: origin,
                };
                let used = self.run(rest, span, cx);
                self.keep_unconsumed(rest, used, span);
                return;
            }
            let mut input = std::mem::take(&mut self.buf);
            let split = input.len();
            let (now, later) = rest.split_at(rest.len().min(step_limit));
            input.extend_from_slice(now);
            rest = later;
            let span = Span {
                split,
                early: self.buf_origin,
                late: origin,
            };
            let used = self.run(&input, span, cx);
            if used > 0 {
                self.buf_origin = span.at(used);
            }
            self.consumed += used as u64;
            input.drain(..used.min(input.len()));
            if input.is_empty() {
                self.scan_hint = 0;
            }
            self.buf = input;
        }
    }

    /// Records that `used` bytes of `input` were parsed and keeps the rest.
    fn keep_unconsumed(&mut self, input: &[u8], used: usize, span: Span) {
        self.consumed += used as u64;
        if let Some(left) = input.get(used..)
            && !left.is_empty()
        {
            self.buf.extend_from_slice(left);
            self.buf_origin = span.at(used);
        }
    }

    /// `len` bytes of this direction were lost by the capture.
    pub fn on_gap<S: FnMut(HttpEvent) + ?Sized>(&mut self, len: u64, cx: &mut Cx<'_, S>) {
        self.scan_hint = 0;
        let mut kept = std::mem::take(&mut self.buf);
        if !self.http {
            self.mid_stream = true;
        }
        let mode = std::mem::replace(&mut self.mode, Mode::Idle);
        self.mode = match mode {
            Mode::Opaque(kind) => Mode::Opaque(kind),
            Mode::Idle => {
                if !kept.is_empty()
                    && let Some(msg) = self.partial_message(&kept, cx)
                {
                    cx.emit(msg);
                }
                Mode::Hunting {
                    at_line_start: true,
                }
            }
            Mode::Hunting { .. } => Mode::Hunting {
                at_line_start: true,
            },
            Mode::Body(draft) => self.gap_in_body(draft, len, kept.is_empty(), cx),
        };
        if let Mode::Hunting { .. } = self.mode {
            // Framing lost: whole responses may have been in the hole.
            cx.pending.mark_gap(cx.dir);
        }
        self.consumed += kept.len() as u64 + len;
        kept.clear();
        self.buf = kept;
    }

    fn gap_in_body<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        mut draft: Box<Draft>,
        len: u64,
        nothing_kept: bool,
        cx: &mut Cx<'_, S>,
    ) -> Mode {
        let lost = match &mut draft.framing {
            BodyFraming::Length { remaining } if nothing_kept => {
                let lost = len.min(*remaining);
                *remaining -= lost;
                Some(lost)
            }
            BodyFraming::Close => Some(len),
            BodyFraming::Chunked(dec) if nothing_kept => dec.skip_lost(len).then_some(len),
            _ => None,
        };
        let Some(lost) = lost else {
            let msg = finish_draft(*draft, false);
            cx.emit(msg);
            return Mode::Hunting {
                at_line_start: true,
            };
        };
        draft.msg.gap_bytes += lost;
        draft.msg.body_len += lost;
        draft.store.on_gap();
        match draft.framing {
            BodyFraming::Length { remaining: 0 } => {
                let msg = finish_draft(*draft, false);
                cx.emit(msg);
                if lost < len {
                    Mode::Hunting {
                        at_line_start: true,
                    }
                } else {
                    Mode::Idle
                }
            }
            _ => Mode::Body(draft),
        }
    }

    /// The stream of this direction ended (`fin`: by a FIN, so a close-delimited body is
    /// complete). Returns the message that was still open, if any.
    pub fn on_end<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        fin: bool,
        cx: &mut Cx<'_, S>,
    ) -> Option<HttpMessage> {
        self.scan_hint = 0;
        let mut kept = std::mem::take(&mut self.buf);
        let mode = std::mem::replace(&mut self.mode, Mode::Idle);
        let msg = match mode {
            Mode::Opaque(kind) => {
                self.mode = Mode::Opaque(kind);
                None
            }
            Mode::Idle if !kept.is_empty() => self.partial_message(&kept, cx),
            Mode::Idle | Mode::Hunting { .. } => None,
            Mode::Body(draft) => {
                let complete = fin && matches!(draft.framing, BodyFraming::Close);
                Some(finish_draft(*draft, complete))
            }
        };
        self.consumed += kept.len() as u64;
        kept.clear();
        self.buf = kept;
        msg
    }

    /// Parses as much of `input` as possible; returns how many bytes were used. The rest is
    /// an unfinished unit that must be presented again with more bytes.
    fn run<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        input: &[u8],
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> usize {
        let hint = std::mem::take(&mut self.scan_hint);
        let mut pos = 0;
        while pos < input.len() {
            let mode = std::mem::replace(&mut self.mode, Mode::Idle);
            let step = match mode {
                Mode::Opaque(kind) => {
                    self.mode = Mode::Opaque(kind);
                    cx.stats.opaque_bytes += (input.len() - pos) as u64;
                    Step::Advance(input.len())
                }
                Mode::Idle => {
                    let hint = if pos == 0 { hint } else { 0 };
                    self.idle_step(input, pos, hint, span, cx)
                }
                Mode::Hunting { at_line_start } => self.hunt_step(input, pos, at_line_start, cx),
                Mode::Body(draft) => self.body_step(draft, input, pos, span, cx),
            };
            match step {
                Step::Advance(next) => pos = next,
                Step::NeedMore(at) => return at,
            }
        }
        pos
    }

    fn idle_step<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        input: &[u8],
        pos: usize,
        hint: usize,
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let start = input
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b != b'\r' && b != b'\n'))
            .map_or(input.len(), |i| pos + i);
        let Some(rest) = input.get(start..).filter(|r| !r.is_empty()) else {
            return Step::Advance(input.len());
        };
        if !self.http {
            if !self.mid_stream {
                match tls_record_start(rest) {
                    Probe::Yes => {
                        self.mode = Mode::Opaque(OpaqueKind::Tls);
                        return Step::Advance(start);
                    }
                    Probe::NeedMore => return Step::NeedMore(start),
                    Probe::No => {}
                }
            }
            match message_start(rest) {
                Probe::Yes => {}
                Probe::NeedMore => return Step::NeedMore(start),
                Probe::No => return self.not_http(start),
            }
        } else {
            match token_then_space(rest) {
                Probe::Yes => {}
                Probe::NeedMore => return Step::NeedMore(start),
                Probe::No => {
                    return self.malformed(
                        start,
                        start,
                        false,
                        "bytes after a message are not an HTTP message start",
                        span,
                        cx,
                    );
                }
            }
        }
        let limit = cx.cfg.max_header_bytes;
        let window_end = input.len().min(start.saturating_add(limit));
        let window = input.get(..window_end).unwrap_or(input);
        let from = (start + hint.saturating_sub(3)).min(window_end);
        match find_header_end(window, from) {
            Some(end) => self.on_header_block(input, start, end, span, cx),
            None if input.len() - start >= limit => {
                if self.http {
                    self.malformed(
                        start,
                        start,
                        false,
                        "header block exceeds the size limit",
                        span,
                        cx,
                    )
                } else {
                    self.not_http(start)
                }
            }
            None => {
                self.scan_hint = input.len() - start;
                Step::NeedMore(start)
            }
        }
    }

    /// The first bytes of a direction are not HTTP: give the direction up, or when its start
    /// was not seen, look further for a message start.
    fn not_http(&mut self, pos: usize) -> Step {
        self.mode = if self.mid_stream {
            Mode::Hunting {
                at_line_start: false,
            }
        } else {
            Mode::Opaque(OpaqueKind::NotHttp)
        };
        Step::Advance(pos)
    }

    /// Reports broken framing at `at` once, then hunts for the next message from `resume`.
    fn malformed<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        at: usize,
        resume: usize,
        resume_at_line_start: bool,
        reason: &str,
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let origin = span.at(at);
        cx.stats.malformed += 1;
        (cx.out)(HttpEvent::Malformed {
            conn: cx.conn,
            dir: cx.dir,
            frame: origin.frame,
            ts: origin.ts,
            offset: self.consumed + at as u64,
            reason: reason.to_string(),
        });
        self.mode = Mode::Hunting {
            at_line_start: resume_at_line_start,
        };
        Step::Advance(resume)
    }

    fn on_header_block<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let block = input.get(start..end).unwrap_or_default();
        let head = match parse_head(block, cx.pconf, cx.cfg.max_headers) {
            Ok(head) => head,
            Err(reason) if self.http => {
                return self.malformed(start, start, false, &reason, span, cx);
            }
            Err(_) => return self.not_http(start),
        };
        let mut msg = self.new_message(head, span.at(start), cx);
        let end_origin = span.at(end.saturating_sub(1));
        msg.last_frame = end_origin.frame;
        msg.end_ts = end_origin.ts;
        let framing = match &msg.start {
            StartLine::Request { .. } => request_framing(&msg.headers),
            StartLine::Response { status, .. } => {
                let status = *status;
                if msg.interim {
                    cx.emit(msg);
                    return Step::Advance(end);
                }
                let connect_ok = (200..300).contains(&status)
                    && msg
                        .request_method
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case("CONNECT"));
                if status == 101 || connect_ok {
                    cx.emit(msg);
                    self.mode = Mode::Opaque(OpaqueKind::Tunnel);
                    cx.tunnel = true;
                    return Step::Advance(end);
                }
                response_framing(status, msg.request_method.as_deref(), &msg.headers)
            }
        };
        let framing = match framing {
            Ok(framing) => framing,
            Err(reason) => {
                msg.complete = false;
                cx.emit(msg);
                return self.malformed(start, end, true, reason, span, cx);
            }
        };
        let body = match framing {
            Framing::NoBody | Framing::Length(0) => {
                cx.emit(msg);
                return Step::Advance(end);
            }
            Framing::Length(n) => BodyFraming::Length { remaining: n },
            Framing::Chunked => BodyFraming::Chunked(ChunkedDecoder::new()),
            Framing::Close => BodyFraming::Close,
        };
        let coding = msg
            .header("Content-Encoding")
            .map_or(ContentCoding::Identity, ContentCoding::from_header);
        let limit = if cx.cfg.keep_all_bodies || body_worth_keeping(&msg) {
            cx.cfg.max_body
        } else {
            0
        };
        self.mode = Mode::Body(Box::new(Draft {
            msg,
            framing: body,
            store: BodyStore::new(limit, coding),
        }));
        Step::Advance(end)
    }

    /// Builds the message for a parsed head and pairs it with the request queue.
    fn new_message<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        head: Head,
        first: Origin,
        cx: &mut Cx<'_, S>,
    ) -> HttpMessage {
        self.http = true;
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        let mut msg = HttpMessage {
            conn: cx.conn,
            dir: cx.dir,
            src: cx.src,
            dst: cx.dst,
            index,
            start: head.start,
            version: head.version,
            headers: head.headers,
            body: Vec::new(),
            body_len: 0,
            body_truncated: false,
            complete: true,
            gap_bytes: 0,
            body_hash: 0,
            answers: None,
            request_method: None,
            interim: false,
            first_frame: first.frame,
            last_frame: first.frame,
            ts: first.ts,
            end_ts: first.ts,
        };
        match &msg.start {
            StartLine::Request { method, .. } => {
                let req = PendingRequest {
                    dir: cx.dir,
                    index,
                    method: method.clone(),
                    maybe_answered_in_gap: false,
                };
                cx.pending.push(req, cx.cfg.max_pending_requests);
            }
            StartLine::Response { status, .. } => {
                msg.interim = (100..200).contains(status) && *status != 101;
                cx.pending.drop_lost_answers(cx.dir);
                let req = if msg.interim {
                    cx.pending.front_for(cx.dir).cloned()
                } else {
                    cx.pending.pop_for(cx.dir)
                };
                if let Some(req) = req {
                    msg.answers = Some(req.index);
                    msg.request_method = Some(req.method);
                }
            }
        }
        msg
    }

    /// The message whose head was cut short in `bytes` (kept from earlier chunks), if at least
    /// its start line is there.
    fn partial_message<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        bytes: &[u8],
        cx: &mut Cx<'_, S>,
    ) -> Option<HttpMessage> {
        let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n')?;
        let head = parse_partial_head(bytes.get(start..)?, cx.pconf)?;
        let mut msg = self.new_message(head, self.buf_origin, cx);
        msg.complete = false;
        msg.last_frame = self.last.frame;
        msg.end_ts = self.last.ts;
        Some(msg)
    }

    fn body_step<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        mut draft: Box<Draft>,
        input: &[u8],
        pos: usize,
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let rest = input.get(pos..).unwrap_or_default();
        let Draft {
            msg,
            framing,
            store,
        } = &mut *draft;
        let (used, status) = match framing {
            BodyFraming::Length { remaining } => {
                let take = usize::try_from(*remaining).map_or(rest.len(), |r| r.min(rest.len()));
                store.feed(rest.get(..take).unwrap_or_default());
                *remaining -= take as u64;
                msg.body_len += take as u64;
                let status = if *remaining == 0 {
                    ChunkStatus::Done
                } else {
                    ChunkStatus::NeedMore
                };
                (take, status)
            }
            BodyFraming::Close => {
                store.feed(rest);
                msg.body_len += rest.len() as u64;
                (rest.len(), ChunkStatus::NeedMore)
            }
            BodyFraming::Chunked(dec) => {
                let mut wire = 0u64;
                let progress = dec.feed(rest, &mut |data| {
                    wire += data.len() as u64;
                    store.feed(data);
                });
                msg.body_len += wire;
                (progress.consumed, progress.status)
            }
        };
        let next = pos + used;
        if used > 0 {
            let end = span.at(next - 1);
            msg.last_frame = end.frame;
            msg.end_ts = end.ts;
        }
        match status {
            ChunkStatus::Done => {
                let msg = finish_draft(*draft, true);
                cx.emit(msg);
                Step::Advance(next)
            }
            ChunkStatus::NeedMore => {
                self.mode = Mode::Body(draft);
                if next < input.len() {
                    Step::NeedMore(next)
                } else {
                    Step::Advance(next)
                }
            }
            ChunkStatus::Error(e) => {
                let msg = finish_draft(*draft, false);
                cx.emit(msg);
                self.malformed(next, next, false, e.reason(), span, cx)
            }
        }
    }

    fn hunt_step<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        input: &[u8],
        pos: usize,
        at_line_start: bool,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let mut candidate = if at_line_start {
            Some(pos)
        } else {
            next_line_start(input, pos)
        };
        while let Some(at) = candidate {
            let Some(rest) = input.get(at..).filter(|r| !r.is_empty()) else {
                break;
            };
            match message_start(rest) {
                Probe::Yes => {
                    cx.stats.skipped_bytes += (at - pos) as u64;
                    self.mode = Mode::Idle;
                    return Step::Advance(at);
                }
                Probe::NeedMore => {
                    cx.stats.skipped_bytes += (at - pos) as u64;
                    self.mode = Mode::Hunting {
                        at_line_start: true,
                    };
                    return Step::NeedMore(at);
                }
                Probe::No => candidate = next_line_start(input, at),
            }
        }
        cx.stats.skipped_bytes += (input.len() - pos) as u64;
        self.mode = Mode::Hunting {
            at_line_start: input.last() == Some(&b'\n'),
        };
        Step::Advance(input.len())
    }
}

fn finish_draft(draft: Draft, complete: bool) -> HttpMessage {
    let Draft {
        mut msg,
        framing,
        store,
    } = draft;
    if let BodyFraming::Chunked(mut dec) = framing {
        msg.headers.extend(dec.take_trailers());
    }
    msg.body_hash = store.hash();
    let (body, truncated) = store.finish();
    msg.body = body;
    msg.body_truncated = truncated;
    msg.complete = complete && msg.gap_bytes == 0;
    msg
}

fn next_line_start(input: &[u8], from: usize) -> Option<usize> {
    let rest = input.get(from..)?;
    memchr::memchr(b'\n', rest).map(|i| from + i + 1)
}

/// End (exclusive) of the header block that starts before `from`: the first empty line
/// (`\n\n` or `\n\r\n`) found from `from` on.
fn find_header_end(hay: &[u8], from: usize) -> Option<usize> {
    let tail = hay.get(from..)?;
    for i in memchr::memchr_iter(b'\n', tail) {
        let nl = from + i;
        match (hay.get(nl + 1), hay.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
    }
    None
}

/// Answer of a look at the first bytes of something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    Yes,
    No,
    NeedMore,
}

/// `rest` starts with `prefix`, or is a prefix of it.
fn starts_with_or_prefix(rest: &[u8], prefix: &[u8]) -> Probe {
    let n = rest.len().min(prefix.len());
    if rest.get(..n) != prefix.get(..n) {
        Probe::No
    } else if n < prefix.len() {
        Probe::NeedMore
    } else {
        Probe::Yes
    }
}

/// A TLS record header: handshake (0x16) or alert, version 3.x.
fn tls_record_start(rest: &[u8]) -> Probe {
    match rest {
        [] | [0x16] => Probe::NeedMore,
        [0x16, 0x03] => Probe::NeedMore,
        [0x16, 0x03, minor, ..] if *minor <= 0x04 => Probe::Yes,
        _ => Probe::No,
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Loose check between messages of an HTTP stream: a token, spaces, then a visible byte
/// (a request line or `HTTP/1.1 200`). httparse judges the rest.
fn token_then_space(rest: &[u8]) -> Probe {
    let token_len = rest
        .iter()
        .take(MAX_METHOD + 1)
        .take_while(|&&b| is_tchar(b) || b == b'/')
        .count();
    if token_len == 0 || token_len > MAX_METHOD {
        return Probe::No;
    }
    let Some(after) = rest.get(token_len..).filter(|r| !r.is_empty()) else {
        return Probe::NeedMore;
    };
    match skip_spaces(after) {
        Ok(next) => match next.first() {
            Some(&b) if b > b' ' && b != 0x7f => Probe::Yes,
            _ => Probe::No,
        },
        Err(probe) => probe,
    }
}

/// Strict check for the start of a message: `METHOD SP target SP HTTP/1.` or
/// `HTTP/1.x SP digit` (runs of spaces tolerated where CPEs put them).
pub(crate) fn message_start(rest: &[u8]) -> Probe {
    match starts_with_or_prefix(rest, b"HTTP/1.") {
        Probe::Yes => {
            return match rest.get(7) {
                None => Probe::NeedMore,
                Some(v) if v.is_ascii_digit() => {
                    let after = rest.get(8..).unwrap_or_default();
                    let spaces = after.iter().take_while(|&&b| b == b' ').count();
                    match after.get(spaces) {
                        _ if spaces > MAX_METHOD => Probe::No,
                        None => Probe::NeedMore,
                        Some(d) if spaces > 0 && d.is_ascii_digit() => Probe::Yes,
                        Some(_) => Probe::No,
                    }
                }
                Some(_) => Probe::No,
            };
        }
        Probe::NeedMore => return Probe::NeedMore,
        Probe::No => {}
    }
    let method_len = rest
        .iter()
        .take(MAX_METHOD + 1)
        .take_while(|b| b.is_ascii_uppercase() || **b == b'-' || **b == b'_')
        .count();
    if method_len == 0 || method_len > MAX_METHOD {
        return Probe::No;
    }
    let Some(after_method) = rest.get(method_len..).filter(|r| !r.is_empty()) else {
        return Probe::NeedMore;
    };
    let target = match skip_spaces(after_method) {
        Ok(target) => target,
        Err(probe) => return probe,
    };
    let window = target.get(..MAX_PROBE_TARGET).unwrap_or(target);
    let target_len = window
        .iter()
        .take_while(|&&b| b > b' ' && b != 0x7f)
        .count();
    match target.get(target_len) {
        None if target_len < MAX_PROBE_TARGET => Probe::NeedMore,
        None => Probe::No,
        Some(b' ') => match skip_spaces(target.get(target_len..).unwrap_or_default()) {
            Ok(version) => starts_with_or_prefix(version, b"HTTP/1."),
            Err(probe) => probe,
        },
        Some(_) => Probe::No,
    }
}

/// Skips one or more (at most a few dozen) spaces; what follows them.
fn skip_spaces(rest: &[u8]) -> Result<&[u8], Probe> {
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 || spaces > MAX_METHOD {
        return Err(Probe::No);
    }
    match rest.get(spaces..) {
        Some(after) if !after.is_empty() => Ok(after),
        _ => Err(Probe::NeedMore),
    }
}

/// A parsed message head, owned.
pub(crate) struct Head {
    start: StartLine,
    version: u8,
    headers: Vec<(String, String)>,
}

/// Parses a complete header block (start line, fields, empty line).
fn parse_head(
    block: &[u8],
    pconf: &httparse::ParserConfig,
    max_headers: usize,
) -> Result<Head, String> {
    let mut size = FIRST_HEADER_ARRAY.min(max_headers.max(1));
    loop {
        let result = if size <= FIRST_HEADER_ARRAY {
            let mut headers = [httparse::EMPTY_HEADER; FIRST_HEADER_ARRAY];
            parse_head_with(block, pconf, headers.get_mut(..size).unwrap_or_default())
        } else {
            let mut headers = vec![httparse::EMPTY_HEADER; size];
            parse_head_with(block, pconf, &mut headers)
        };
        match result {
            Err(httparse::Error::TooManyHeaders) if size < max_headers => {
                size = max_headers.min(size.saturating_mul(4));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(format!("more than {max_headers} header fields"));
            }
            Err(e) => return Err(format!("invalid header block: {e}")),
            Ok(None) => return Err("invalid header block: incomplete".to_string()),
            Ok(Some(head)) => return Ok(head),
        }
    }
}

fn parse_head_with<'b>(
    block: &'b [u8],
    pconf: &httparse::ParserConfig,
    headers: &mut [httparse::Header<'b>],
) -> Result<Option<Head>, httparse::Error> {
    if block.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(headers);
        if pconf.parse_response(&mut resp, block)?.is_partial() {
            return Ok(None);
        }
        Ok(response_head(&resp))
    } else {
        let mut req = httparse::Request::new(headers);
        if pconf.parse_request(&mut req, block)?.is_partial() {
            return Ok(None);
        }
        Ok(request_head(&req))
    }
}

fn request_head(req: &httparse::Request<'_, '_>) -> Option<Head> {
    Some(Head {
        start: StartLine::Request {
            method: req.method?.to_string(),
            uri: req.path?.to_string(),
        },
        version: req.version?,
        headers: owned_headers(req.headers),
    })
}

fn response_head(resp: &httparse::Response<'_, '_>) -> Option<Head> {
    Some(Head {
        start: StartLine::Response {
            status: resp.code?,
            reason: resp.reason.unwrap_or_default().to_string(),
        },
        version: resp.version?,
        headers: owned_headers(resp.headers),
    })
}

/// Copies parsed fields; fields never filled in by a partial parse have empty names.
fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| (h.name.to_string(), header_value(h.value)))
        .collect()
}

/// A field value as text; obsolete line folding becomes single spaces.
fn header_value(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if !text.contains(['\r', '\n']) {
        return text.into_owned();
    }
    text.split('\n')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What can be read of a header block cut short: the start line, and the fields before it.
fn parse_partial_head(bytes: &[u8], pconf: &httparse::ParserConfig) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; FIRST_HEADER_ARRAY];
    if bytes.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut headers);
        let _ = pconf.parse_response(&mut resp, bytes);
        response_head(&resp)
    } else {
        let mut req = httparse::Request::new(&mut headers);
        let _ = pconf.parse_request(&mut req, bytes);
        request_head(&req)
    }
}

/// Whether the body is chunked: `None` without Transfer-Encoding, else whether its last coding
/// is `chunked`.
fn transfer_chunked(headers: &[(String, String)]) -> Option<bool> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .rfind(|c| !c.is_empty())
        .map(|c| c.eq_ignore_ascii_case("chunked"))
}

/// The Content-Length, if any; differing or non-numeric values are an error.
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, &'static str> {
    let mut found = None;
    for value in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .flat_map(|(_, v)| v.split(','))
    {
        let digits = value.trim();
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid Content-Length");
        }
        let n: u64 = digits.parse().map_err(|_| "invalid Content-Length")?;
        if found.is_some_and(|f| f != n) {
            return Err("conflicting Content-Length values");
        }
        found = Some(n);
    }
    Ok(found)
}

fn request_framing(headers: &[(String, String)]) -> Result<Framing, &'static str> {
    match transfer_chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Err("request Transfer-Encoding does not end with chunked"),
        None => Ok(content_length(headers)?.map_or(Framing::NoBody, Framing::Length)),
    }
}

fn response_framing(
    status: u16,
    request_method: Option<&str>,
    headers: &[(String, String)],
) -> Result<Framing, &'static str> {
    let head_request = request_method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::NoBody);
    }
    match transfer_chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Ok(Framing::Close),
        None => Ok(content_length(headers)?.map_or(Framing::Close, Framing::Length)),
    }
}

/// Whether a body may be CWMP and is worth storing: SOAP/XML, a POST, or the answer to a POST.
/// File transfers (the answer to a GET, octet-streams, images, HTML) are counted, not stored.
fn body_worth_keeping(msg: &HttpMessage) -> bool {
    if let Some(ct) = msg.header("Content-Type") {
        let ct = ct.trim().to_ascii_lowercase();
        if ct.contains("xml") || ct.contains("soap") {
            return true;
        }
        let binary = [
            "application/octet-stream",
            "image/",
            "video/",
            "audio/",
            "text/html",
        ];
        if binary.iter().any(|b| ct.starts_with(b)) {
            return false;
        }
    }
    match &msg.start {
        StartLine::Request { method, .. } => method.eq_ignore_ascii_case("POST"),
        StartLine::Response { .. } => msg
            .request_method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("POST")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_start_probe() {
        assert_eq!(message_start(b"POST /acs HTTP/1.1\r\n"), Probe::Yes);
        assert_eq!(message_start(b"HTTP/1.1 200 OK\r\n"), Probe::Yes);
        assert_eq!(message_start(b"HTTP/1.0 204\r\n"), Probe::Yes);
        assert_eq!(message_start(b"HTTP/1"), Probe::NeedMore);
        assert_eq!(message_start(b"HTTP/1.1 "), Probe::NeedMore);
        assert_eq!(message_start(b"GET /x HTT"), Probe::NeedMore);
        assert_eq!(message_start(b"GET /x"), Probe::NeedMore);
        assert_eq!(message_start(b"GET"), Probe::NeedMore);
        assert_eq!(message_start(b"GET /x HTTP/2\r\n"), Probe::No);
        assert_eq!(message_start(b"get /x HTTP/1.1\r\n"), Probe::No);
        assert_eq!(message_start(b"GET  /x  HTTP/1.1\r\n"), Probe::Yes);
        assert_eq!(message_start(b"HTTP/1.1  200  OK\r\n"), Probe::Yes);
        assert_eq!(message_start(b"GET \r\n"), Probe::No);
        assert_eq!(message_start(b"GET /x\r\n"), Probe::No);
        assert_eq!(message_start(b"HTTP/1.1200"), Probe::No);
        assert_eq!(message_start(b"<soap:Envelope>"), Probe::No);
        assert_eq!(message_start(b"HTTP/1.1 OK"), Probe::No);
        assert_eq!(message_start(b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::No);
        assert_eq!(message_start(&[0x16, 0x03, 0x01, 0x02, 0x00]), Probe::No);
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_PROBE_TARGET));
        assert_eq!(message_start(&long), Probe::No);
    }

    #[test]
    fn loose_probe_accepts_what_the_strict_one_accepts() {
        for start in [
            &b"GET  /x  HTTP/1.1\r\n"[..],
            b"HTTP/1.1  200  OK\r\n",
            b"M-SEARCH * HTTP/1.1\r\n",
        ] {
            assert_eq!(message_start(start), Probe::Yes);
            assert_eq!(token_then_space(start), Probe::Yes);
        }
        assert_eq!(token_then_space(b"GET"), Probe::NeedMore);
        assert_eq!(token_then_space(b"GET  "), Probe::NeedMore);
        assert_eq!(token_then_space(b"GET \r\n"), Probe::No);
        assert_eq!(token_then_space(b"\x00GET / HTTP/1.1"), Probe::No);
    }

    proptest::proptest! {
        #[test]
        fn strict_start_implies_loose_start(
            method in "[A-Z]{1,8}",
            sp1 in 1usize..4,
            target in "[!-~]{1,20}",
            sp2 in 1usize..4,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let mut line = method.into_bytes();
            line.extend(std::iter::repeat_n(b' ', sp1));
            line.extend_from_slice(target.as_bytes());
            line.extend(std::iter::repeat_n(b' ', sp2));
            line.extend_from_slice(b"HTTP/1.");
            line.extend_from_slice(&tail);
            for cut in 1..=line.len() {
                let probe = message_start(&line[..cut]);
                if probe == Probe::Yes {
                    proptest::prop_assert_eq!(token_then_space(&line[..cut]), Probe::Yes);
                }
            }
            proptest::prop_assert_eq!(message_start(&line), Probe::Yes);
        }
    }

    #[test]
    fn tls_probe() {
        assert_eq!(tls_record_start(&[0x16, 0x03, 0x01, 0x02]), Probe::Yes);
        assert_eq!(tls_record_start(&[0x16]), Probe::NeedMore);
        assert_eq!(tls_record_start(b"GET"), Probe::No);
    }

    #[test]
    fn header_end_is_found_with_both_line_ends() {
        assert_eq!(find_header_end(b"GET / HTTP/1.1\r\n\r\nBODY", 0), Some(18));
        assert_eq!(find_header_end(b"GET / HTTP/1.1\n\nBODY", 0), Some(16));
        assert_eq!(find_header_end(b"GET / HTTP/1.1\r\nA: b\r\n\r", 0), None);
        assert_eq!(
            find_header_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\n", 20),
            Some(24)
        );
    }

    #[test]
    fn content_length_rules() {
        let h = |v: &str| vec![("content-length".to_string(), v.to_string())];
        assert_eq!(content_length(&h("12")), Ok(Some(12)));
        assert_eq!(content_length(&h(" 7 , 7")), Ok(Some(7)));
        assert!(content_length(&h("7, 8")).is_err());
        assert!(content_length(&h("-1")).is_err());
        assert!(content_length(&h("")).is_err());
        assert!(content_length(&h("99999999999999999999")).is_err());
        assert_eq!(content_length(&[]), Ok(None));
    }

    #[test]
    fn transfer_encoding_rules() {
        let h = |v: &str| vec![("Transfer-Encoding".to_string(), v.to_string())];
        assert_eq!(transfer_chunked(&h("gzip, Chunked")), Some(true));
        assert_eq!(transfer_chunked(&h("chunked, gzip")), Some(false));
        assert_eq!(transfer_chunked(&[]), None);
        assert!(request_framing(&h("gzip")).is_err());
        assert!(matches!(
            response_framing(200, Some("GET"), &h("gzip")),
            Ok(Framing::Close)
        ));
        assert!(matches!(
            response_framing(200, Some("HEAD"), &h("chunked")),
            Ok(Framing::NoBody)
        ));
    }

    #[test]
    fn obsolete_folding_becomes_spaces() {
        assert_eq!(header_value(b"a\r\n  b\r\n\tc"), "a b c");
        assert_eq!(header_value(b"plain"), "plain");
    }

    #[test]
    fn pending_requests_are_fifo_and_bounded() {
        let mut q = PendingRequests::default();
        for i in 0..3 {
            let req = PendingRequest {
                dir: Dir::ToServer,
                index: i,
                method: "GET".into(),
                maybe_answered_in_gap: false,
            };
            q.push(req, 2);
        }
        assert!(
            q.pop_for(Dir::ToServer).is_none(),
            "same direction never answers"
        );
        assert_eq!(q.pop_for(Dir::ToClient).map(|r| r.index), Some(1));
        assert_eq!(q.pop_for(Dir::ToClient).map(|r| r.index), Some(2));
        assert!(q.pop_for(Dir::ToClient).is_none());
    }
}
