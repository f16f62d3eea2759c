//! What the HTTP stage hands on: owned messages ([`HttpMessage`]) and the connection events
//! around them ([`HttpEvent`]).

use crate::limits::{Limit, LimitSet};
use crate::tcp::{ConnEnd, ConnInfo, ConnStats};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use std::net::SocketAddr;

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD target HTTP/1.x`.
    Request {
        /// The method as sent (`POST`, `GET`, ...).
        method: String,
        /// The request target as sent.
        uri: String,
    },
    /// `HTTP/1.x status reason`.
    Response {
        /// The status code.
        status: u16,
        /// The reason phrase (may be empty).
        reason: String,
    },
}

/// One HTTP message, owned. Bodies are stored decoded (de-chunked, decompressed) up to a limit.
#[derive(Clone, Debug)]
pub struct HttpMessage {
    /// The TCP connection.
    pub conn: ConnId,
    /// Direction inside the TCP connection.
    pub dir: Dir,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// 0-based position among the messages of this direction of the connection.
    pub index: u32,
    /// Request or status line.
    pub start: StartLine,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body after de-chunking and Content-Encoding, at most the configured limit.
    pub body: Vec<u8>,
    /// Body bytes on the wire (after de-chunking, before decompression), counted even when not
    /// stored; bytes lost in capture gaps inside the body are included (see `gap_bytes`).
    pub body_len: u64,
    /// True when the body was longer than the storage limit and `body` holds only its start.
    pub body_truncated: bool,
    /// False when the message was cut short (connection ended or a gap inside it).
    pub complete: bool,
    /// Bytes lost by the capture inside this message (0 normally).
    pub gap_bytes: u64,
    /// For a response to a GET (a file, maybe): the SHA-256 of its body bytes on the wire
    /// (after de-chunking), stored or not, however the capture cut them; `None` for other
    /// messages and when the capture lost any of them.
    pub body_sha256: Option<super::body::BodyDigest>,
    /// Set instead of `body_sha256` while the digest is taken on a hashing thread
    /// ([`super::body::DigestQueue`]); the analyzer fills `body_sha256` in from it before the
    /// session stage sees the message.
    pub digest_ticket: Option<super::body::DigestTicket>,
    /// For a response: the index of the request (same connection, other direction) it answers.
    pub answers: Option<u32>,
    /// For a response: the method of the request it answers.
    pub request_method: Option<String>,
    /// Interim (1xx) response.
    pub interim: bool,
    /// Frame that carried the first byte.
    pub first_frame: FrameRef,
    /// Frame that carried the last byte.
    pub last_frame: FrameRef,
    /// Time of the first byte.
    pub ts: Nanos,
    /// Time of the last byte.
    pub end_ts: Nanos,
    /// The limits this message reached: its body was cut at `http-body-bytes`, or (a request)
    /// it pushed the oldest request waiting for a response out (`http-pending-requests`).
    pub limits_hit: LimitSet,
}

impl HttpMessage {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }
}

/// What the HTTP stage passes up: messages and the connection events the session stage needs.
///
/// A message is emitted when its last byte arrived, so a response can come before the request it
/// answers when the request body is still arriving (`100 Continue`, an early `401`); `answers`
/// pairs them. Every variant of one connection comes after its `ConnOpen` (when the reassembler
/// sent `Open`) and before its `ConnClosed`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // messages are moved to the consumer, not stored in bulk
pub enum HttpEvent {
    /// A connection began.
    ConnOpen(ConnInfo),
    /// A message ended (or was cut short: `complete == false`).
    Message(HttpMessage),
    /// The stream could not be parsed as HTTP at `offset` (byte offset in that direction's
    /// stream); the parser skips ahead to the next message start.
    Malformed {
        /// The connection.
        conn: ConnId,
        /// The direction whose bytes are malformed.
        dir: Dir,
        /// Frame that carried the byte at `offset`.
        frame: FrameRef,
        /// Time of that frame.
        ts: Nanos,
        /// Byte offset in the direction's stream (gaps count as bytes).
        offset: u64,
        /// What is wrong.
        reason: String,
        /// The limit whose reaching made it malformed (a header block too large, too many
        /// header fields), if that is why.
        limit: Option<Limit>,
    },
    /// Bytes lost by the capture in one direction.
    Gap {
        /// The connection.
        conn: ConnId,
        /// The direction that lost bytes.
        dir: Dir,
        /// Frame after which the bytes were missed.
        frame: FrameRef,
        /// Time of that frame.
        ts: Nanos,
        /// Bytes lost.
        len: u64,
    },
    /// A RST was sent in direction `dir`.
    Rst {
        /// The connection.
        conn: ConnId,
        /// Direction of the RST.
        dir: Dir,
        /// Frame of the RST.
        frame: FrameRef,
        /// Time of that frame.
        ts: Nanos,
    },
    /// The sender of `dir` finished; any message it left open was emitted before this.
    Fin {
        /// The connection.
        conn: ConnId,
        /// Direction of the FIN.
        dir: Dir,
        /// Frame of the FIN.
        frame: FrameRef,
        /// Time of that frame.
        ts: Nanos,
    },
    /// Last event of a connection; messages still open were emitted (incomplete) before it.
    ConnClosed {
        /// The connection as first seen.
        info: ConnInfo,
        /// Time of the end.
        ts: Nanos,
        /// How it ended.
        end: ConnEnd,
        /// The reassembler's counters.
        stats: ConnStats,
        /// Whether any HTTP was recognized on the connection.
        was_http: bool,
        /// Whether a direction started with a TLS record the TLS stage passed on undecrypted.
        tls: bool,
        /// What the TLS stage knows of the connection's TLS (HTTPS, decrypted or not).
        tls_info: Option<Box<crate::tls::TlsSummary>>,
    },
}
