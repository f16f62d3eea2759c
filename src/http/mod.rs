//! HTTP/1.x over reassembled TCP streams, on any port, recognized by content: requests paired
//! with responses (keep-alive, pipelining, 1xx, HEAD/204/304), Content-Length, chunked and
//! close-delimited bodies, gzip/deflate Content-Encoding, lenient header syntax. After a capture
//! gap the parser resynchronizes on the next message start.

use crate::tcp::{ConnEnd, ConnInfo, ConnStats, StreamEvent};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use parser::{Cx, DirParser, Origin, PendingRequests};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

pub mod auth;
pub mod body;
mod parser;

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { status: u16, reason: String },
}

/// One HTTP message, owned. Bodies are stored decoded (de-chunked, decompressed) up to a limit.
#[derive(Clone, Debug)]
pub struct HttpMessage {
    pub conn: ConnId,
    /// Direction inside the TCP connection.
    pub dir: Dir,
    /// Sender and receiver.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// 0-based position among the messages of this direction of the connection.
    pub index: u32,
    pub start: StartLine,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body after de-chunking and Content-Encoding, at most the configured limit.
    pub body: Vec<u8>,
    /// Body bytes on the wire (after de-chunking, before decompression), counted even when not
    /// stored.
    pub body_len: u64,
    /// True when the body was longer than the storage limit and `body` holds only its start.
    pub body_truncated: bool,
    /// False when the message was cut short (connection ended or a gap inside it).
    pub complete: bool,
    /// Bytes lost by the capture inside this message (0 normally).
    pub gap_bytes: u64,
    /// For a response: the index of the request (same connection, other direction) it answers.
    pub answers: Option<u32>,
    /// For a response: the method of the request it answers.
    pub request_method: Option<String>,
    /// Interim (1xx) response.
    pub interim: bool,
    pub first_frame: FrameRef,
    pub last_frame: FrameRef,
    /// Time of the first and last byte.
    pub ts: Nanos,
    pub end_ts: Nanos,
}

impl HttpMessage {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }
}

/// What the HTTP stage passes up: messages and the connection events the session stage needs.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // messages are moved to the consumer, not stored in bulk
pub enum HttpEvent<'a> {
    ConnOpen(&'a ConnInfo),
    Message(HttpMessage),
    /// The stream could not be parsed as HTTP at `offset` (byte offset in that direction's
    /// stream); the parser skips ahead to the next message start.
    Malformed {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
        offset: u64,
        reason: String,
    },
    /// Bytes lost by the capture in one direction.
    Gap {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
        len: u64,
    },
    Rst {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
    },
    Fin {
        conn: ConnId,
        dir: Dir,
        frame: FrameRef,
        ts: Nanos,
    },
    ConnClosed {
        info: &'a ConnInfo,
        ts: Nanos,
        end: ConnEnd,
        stats: &'a ConnStats,
        /// Whether any HTTP was recognized on the connection.
        was_http: bool,
        /// Whether a direction started with a TLS record (HTTPS or other TLS).
        tls: bool,
    },
}

pub trait HttpSink {
    fn on_http(&mut self, ev: HttpEvent<'_>);
}

#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest body stored per message (the rest is counted, not kept).
    pub max_body: usize,
    /// Largest header block accepted before the stream is declared malformed.
    pub max_header_bytes: usize,
    /// Largest number of header fields in one message.
    pub max_headers: usize,
    /// Requests waiting for their responses per connection (pipelining depth).
    pub max_pending_requests: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body: 4 << 20,
            max_header_bytes: 64 << 10,
            max_headers: 128,
            max_pending_requests: 64,
        }
    }
}

/// Counters of the HTTP stage over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Connections seen (opened or first data).
    pub connections: u64,
    /// Connections on which HTTP was recognized.
    pub http_connections: u64,
    /// Connections whose first bytes were a TLS record.
    pub tls_connections: u64,
    /// Messages emitted (interim and incomplete ones included).
    pub messages: u64,
    /// Messages emitted with `complete == false`.
    pub incomplete_messages: u64,
    /// `Malformed` events emitted.
    pub malformed: u64,
    /// `Gap` events seen.
    pub gaps: u64,
    /// Bytes of directions that are not HTTP (TLS, other protocols, tunnels), dropped unparsed.
    pub opaque_bytes: u64,
    /// Bytes skipped while looking for a message start after a gap or malformed framing.
    pub skipped_bytes: u64,
}

/// State of one connection.
struct ConnState {
    client: SocketAddr,
    server: SocketAddr,
    dirs: [DirParser; 2],
    pending: PendingRequests,
}

impl ConnState {
    fn new(client: SocketAddr, server: SocketAddr, mid_stream: bool) -> Self {
        ConnState {
            client,
            server,
            dirs: [DirParser::new(mid_stream), DirParser::new(mid_stream)],
            pending: PendingRequests::default(),
        }
    }

    fn was_http(&self) -> bool {
        self.dirs.iter().any(DirParser::is_http)
    }

    fn is_tls(&self) -> bool {
        self.dirs.iter().any(DirParser::is_tls)
    }
}

/// Per-connection HTTP state machines; implements [`crate::tcp::StreamSink`]-style input via
/// [`HttpLayer::on_stream`].
pub struct HttpLayer {
    cfg: HttpConfig,
    pconf: httparse::ParserConfig,
    conns: FxHashMap<ConnId, ConnState>,
    stats: HttpStats,
}

impl HttpLayer {
    /// A layer with no connections.
    pub fn new(cfg: HttpConfig) -> Self {
        let mut pconf = httparse::ParserConfig::default();
        pconf
            .allow_spaces_after_header_name_in_responses(true)
            .allow_multiple_spaces_in_request_line_delimiters(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_space_before_first_header_name(true)
            .ignore_invalid_headers_in_requests(true)
            .ignore_invalid_headers_in_responses(true);
        HttpLayer {
            cfg,
            pconf,
            conns: FxHashMap::default(),
            stats: HttpStats::default(),
        }
    }

    /// Consumes one reassembler event and emits HTTP events.
    pub fn on_stream(&mut self, ev: StreamEvent<'_>, out: &mut impl HttpSink) {
        match ev {
            StreamEvent::Open(info) => {
                self.stats.connections += 1;
                let state = ConnState::new(info.client, info.server, !info.handshake_seen);
                self.conns.insert(info.id, state);
                out.on_http(HttpEvent::ConnOpen(info));
            }
            StreamEvent::Data {
                conn,
                dir,
                frame,
                ts,
                bytes,
            } => {
                let origin = Origin { frame, ts };
                self.with_dir(conn, dir, out, |parser, cx| {
                    parser.on_data(bytes, origin, cx)
                });
            }
            StreamEvent::Gap {
                conn,
                dir,
                frame,
                ts,
                len,
            } => {
                self.stats.gaps += 1;
                self.with_dir(conn, dir, out, |parser, cx| parser.on_gap(len, cx));
                out.on_http(HttpEvent::Gap {
                    conn,
                    dir,
                    frame,
                    ts,
                    len,
                });
            }
            StreamEvent::Fin {
                conn,
                dir,
                frame,
                ts,
            } => {
                self.with_dir(conn, dir, out, |parser, cx| {
                    if let Some(msg) = parser.on_end(true, cx) {
                        cx.emit(msg);
                    }
                });
                out.on_http(HttpEvent::Fin {
                    conn,
                    dir,
                    frame,
                    ts,
                });
            }
            StreamEvent::Rst {
                conn,
                dir,
                frame,
                ts,
            } => out.on_http(HttpEvent::Rst {
                conn,
                dir,
                frame,
                ts,
            }),
            StreamEvent::Closed {
                info,
                ts,
                end,
                stats,
            } => self.close(info, ts, end, stats, out),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Connections currently tracked.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Runs `f` on the parser of one direction (creating the connection if its `Open` was
    /// not seen) and applies a protocol switch to the other direction.
    fn with_dir<S: HttpSink>(
        &mut self,
        conn: ConnId,
        dir: Dir,
        out: &mut S,
        f: impl FnOnce(&mut DirParser, &mut Cx<'_, S>),
    ) {
        let stats = &mut self.stats;
        let state = self.conns.entry(conn).or_insert_with(|| {
            stats.connections += 1;
            let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
            ConnState::new(unknown, unknown, true)
        });
        let (src, dst) = match dir {
            Dir::ToServer => (state.client, state.server),
            Dir::ToClient => (state.server, state.client),
        };
        let [to_server, to_client] = &mut state.dirs;
        let (parser, other) = match dir {
            Dir::ToServer => (to_server, to_client),
            Dir::ToClient => (to_client, to_server),
        };
        let mut cx = Cx {
            cfg: &self.cfg,
            pconf: &self.pconf,
            conn,
            dir,
            src,
            dst,
            pending: &mut state.pending,
            out,
            stats,
            tunnel: false,
        };
        f(parser, &mut cx);
        if cx.tunnel {
            other.enter_tunnel();
        }
    }

    fn close(
        &mut self,
        info: &ConnInfo,
        ts: Nanos,
        end: ConnEnd,
        stats: &ConnStats,
        out: &mut impl HttpSink,
    ) {
        let mut was_http = false;
        let mut tls = false;
        if let Some(mut state) = self.conns.remove(&info.id) {
            let mut unfinished: Vec<HttpMessage> = Vec::new();
            for dir in [Dir::ToServer, Dir::ToClient] {
                let (src, dst) = match dir {
                    Dir::ToServer => (state.client, state.server),
                    Dir::ToClient => (state.server, state.client),
                };
                let mut cx = Cx {
                    cfg: &self.cfg,
                    pconf: &self.pconf,
                    conn: info.id,
                    dir,
                    src,
                    dst,
                    pending: &mut state.pending,
                    out: &mut *out,
                    stats: &mut self.stats,
                    tunnel: false,
                };
                if let Some(msg) = state.dirs[dir.index()].on_end(false, &mut cx) {
                    unfinished.push(msg);
                }
            }
            unfinished.sort_by_key(|m| (m.ts, m.first_frame));
            for msg in unfinished {
                self.stats.messages += 1;
                if !msg.complete {
                    self.stats.incomplete_messages += 1;
                }
                out.on_http(HttpEvent::Message(msg));
            }
            was_http = state.was_http();
            tls = state.is_tls();
        }
        if was_http {
            self.stats.http_connections += 1;
        }
        if tls {
            self.stats.tls_connections += 1;
        }
        out.on_http(HttpEvent::ConnClosed {
            info,
            ts,
            end,
            stats,
            was_http,
            tls,
        });
    }
}
