//! HTTP/1.x over reassembled TCP streams, on any port, recognized by content: requests paired
//! with responses (keep-alive, pipelining, 1xx, HEAD/204/304), Content-Length, chunked and
//! close-delimited bodies, gzip/deflate Content-Encoding, lenient header syntax. After a capture
//! gap the parser resynchronizes on the next message start.

use crate::tcp::{ConnEnd, ConnInfo, ConnStats, StreamEvent};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use std::net::SocketAddr;

pub mod auth;

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

/// Per-connection HTTP state machines; implements [`crate::tcp::StreamSink`]-style input via
/// [`HttpLayer::on_stream`].
pub struct HttpLayer {
    _private: (),
}

impl HttpLayer {
    pub fn new(_cfg: HttpConfig) -> Self {
        unimplemented!()
    }

    /// Consumes one reassembler event and emits HTTP events.
    pub fn on_stream(&mut self, _ev: StreamEvent<'_>, _out: &mut impl HttpSink) {
        unimplemented!()
    }
}
