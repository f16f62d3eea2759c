//! One direction of one connection: an incremental HTTP/1.x parser fed with reassembled bytes.
//!
//! Bytes are parsed in place; only an unfinished unit (a header block, a chunk-size line, the
//! start of a line that may begin a message) is copied and kept until more bytes arrive, so the
//! buffer never holds more than one header block. Body bytes go straight to bounded storage.
//!
//! This file is the state machine of a direction (idle, hunting for a message start, in a body,
//! opaque); its parts are `message_start` (request/status line and TLS probes), `head` (header
//! block end and parsing), `framing` (body length, storage policy) and `pending` (pairing
//! responses with requests).

mod framing;
mod head;
mod message_start;
mod pending;

use super::body::{BodyStore, ChunkStatus, ChunkedDecoder, ContentCoding, Digested};
use super::{HttpConfig, HttpEvent, HttpMessage, HttpStats, StartLine};
use crate::limits::{Limit, LimitSet};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use framing::{Framing, body_worth_keeping, request_framing, response_framing};
use head::{Head, find_header_end, parse_head, parse_partial_head};
use message_start::{MAX_PROBE_TARGET, Probe, message_start, tls_record_start, token_then_space};
use pending::PendingRequest;
pub(crate) use pending::PendingRequests;
use std::net::SocketAddr;

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
        self.stats.count_message(&msg);
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
                        None,
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
            // The start line passed the probe above (the strict one for a direction's first
            // message), so an endless head is HTTP gone wrong, reported, not a direction to
            // give up silently.
            None if input.len() - start >= limit => self.malformed(
                start,
                start,
                false,
                "header block exceeds the size limit",
                Some(Limit::HttpHeaderBytes),
                span,
                cx,
            ),
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

    /// Reports broken framing at `at` once (counting `limit` when reaching it is why), then
    /// hunts for the next message from `resume`.
    #[allow(clippy::too_many_arguments)]
    fn malformed<S: FnMut(HttpEvent) + ?Sized>(
        &mut self,
        at: usize,
        resume: usize,
        resume_at_line_start: bool,
        reason: &str,
        limit: Option<Limit>,
        span: Span,
        cx: &mut Cx<'_, S>,
    ) -> Step {
        let origin = span.at(at);
        cx.stats.malformed += 1;
        if let Some(limit) = limit {
            cx.stats.limits_hit.add(limit);
        }
        (cx.out)(HttpEvent::Malformed {
            conn: cx.conn,
            dir: cx.dir,
            frame: origin.frame,
            ts: origin.ts,
            offset: self.consumed + at as u64,
            reason: reason.to_string(),
            limit,
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
            Err(e) if self.http => {
                return self.malformed(start, start, false, &e.reason, e.limit, span, cx);
            }
            Err(e) => {
                if let Some(limit) = e.limit {
                    // As for an oversized first header block: counted here only.
                    cx.stats.limits_hit.add(limit);
                }
                return self.not_http(start);
            }
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
                return self.malformed(start, end, true, reason, None, span, cx);
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
        // Files come as answers to a GET: only those are digested (in a shard run, only
        // those fetched by its CPEs).
        let digest = msg
            .request_method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("GET"))
            && cx
                .cfg
                .digest_only_for
                .is_none_or(|shard| shard.owns(msg.dst.ip()));
        self.mode = Mode::Body(Box::new(Draft {
            msg,
            framing: body,
            store: BodyStore::digested_by(limit, coding, digest, cx.cfg.digests.as_ref()),
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
            body_sha256: None,
            digest_ticket: None,
            answers: None,
            request_method: None,
            interim: false,
            first_frame: first.frame,
            last_frame: first.frame,
            ts: first.ts,
            end_ts: first.ts,
            limits_hit: LimitSet::EMPTY,
        };
        match &msg.start {
            StartLine::Request { method, .. } => {
                let req = PendingRequest {
                    dir: cx.dir,
                    index,
                    method: method.clone(),
                    maybe_answered_in_gap: false,
                };
                if cx.pending.push(req, cx.cfg.max_pending_requests) {
                    msg.limits_hit.insert(Limit::HttpPendingRequests);
                }
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
                self.malformed(next, next, false, e.reason(), None, span, cx)
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
        mut store,
    } = draft;
    if let BodyFraming::Chunked(mut dec) = framing {
        msg.headers.extend(dec.take_trailers());
    }
    match store.finish_digest() {
        Some(Digested::Known(digest)) => msg.body_sha256 = Some(digest),
        Some(Digested::Pending(ticket)) => msg.digest_ticket = Some(ticket),
        None => {}
    }
    // A body stored for decoding (not one only counted) cut at the limit.
    let kept_for_decoding = store.limit() > 0;
    let (body, truncated) = store.finish();
    msg.body = body;
    msg.body_truncated = truncated;
    if truncated && kept_for_decoding {
        msg.limits_hit.insert(Limit::HttpBodyBytes);
    }
    msg.complete = complete && msg.gap_bytes == 0;
    msg
}

fn next_line_start(input: &[u8], from: usize) -> Option<usize> {
    let rest = input.get(from..)?;
    memchr::memchr(b'\n', rest).map(|i| from + i + 1)
}

#[cfg(test)]
mod tests;
