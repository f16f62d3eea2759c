//! CWMP sessions built from HTTP messages: from the CPE's Inform to the ACS's empty response,
//! across TCP connections joined by the ACS's cookie, several per connection, with the
//! Connection Request that triggered a `6 CONNECTION REQUEST` session tied to it.
//!
//! Input is the HTTP stage's events plus the decoded envelopes of each message; output is one
//! finished [`Session`] at a time, handed to a callback as soon as it can no longer change, after
//! which its state is freed. A session without an Inform is given the identity of the CPE last
//! seen at its address ([`CpeDirectory`]), marked as inferred.

mod describe;
mod endpoints;
mod directory;
mod raw;
mod tracker;

pub use describe::message_summary;
pub use directory::CpeDirectory;
pub use endpoints::{split_scheme, split_url, target_path};
pub use raw::{RawDeflater, RawMessage};
pub use tracker::{DecodedBody, SessionConfig, SessionTracker, TrackerStats};

use crate::catalogue::Finding;
use crate::cwmp::{DeviceId, Envelope, Event, MalformedXml, Rpc};
use crate::http::auth::{Challenge, Credentials};
use crate::limits::{Limit, LimitSet};
use crate::tcp::{ConnEnd, ConnInfo, ConnStats};
use crate::tls::TlsSummary;
use crate::types::{ConnId, FrameRef, Nanos};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Termination {
    /// The ACS ended it with an empty HTTP response.
    Normal,
    /// The connection closed (FIN) before the ACS ended the session.
    Closed,
    /// The connection was reset before the ACS ended the session.
    Reset,
    /// The connection went idle and was released before the session ended.
    Timeout,
    /// The capture ended while the session was still open.
    CaptureEnded,
}

impl Termination {
    pub fn as_str(self) -> &'static str {
        match self {
            Termination::Normal => "normal",
            Termination::Closed => "closed",
            Termination::Reset => "reset",
            Termination::Timeout => "timeout",
            Termination::CaptureEnded => "capture-ended",
        }
    }

    fn from_conn_end(end: ConnEnd) -> Termination {
        match end {
            ConnEnd::Closed => Termination::Closed,
            ConnEnd::Reset | ConnEnd::HandshakeFailed | ConnEnd::Refused => Termination::Reset,
            ConnEnd::Idle => Termination::Timeout,
            ConnEnd::CaptureEnded => Termination::CaptureEnded,
        }
    }
}

/// What an HTTP message was, as far as sessions are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A CWMP POST or its response.
    Cwmp,
    /// The ACS's Connection Request GET to the CPE, or the CPE's answer.
    ConnectionRequest,
}

/// The HTTP side of one message of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLine {
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    /// Body length on the wire (after de-chunking).
    pub body_len: u64,
    /// False when the capture lost part of the message or it was cut short.
    pub complete: bool,
    pub gap_bytes: u64,
    pub content_type: Option<String>,
}

/// One HTTP message of a session, with its decoded CWMP content.
#[derive(Clone, Debug)]
pub struct SessionMessage {
    pub kind: MessageKind,
    pub conn: ConnId,
    pub frame: FrameRef,
    pub last_frame: FrameRef,
    pub ts: Nanos,
    pub end_ts: Nanos,
    /// Sent by the CPE (false: by the ACS).
    pub from_cpe: bool,
    pub http: HttpLine,
    pub credentials: Option<Credentials>,
    pub challenges: Vec<Challenge>,
    /// `Cookie` pairs the request carried.
    pub cookies: Vec<(String, String)>,
    /// `Set-Cookie` pairs the response carried.
    pub set_cookies: Vec<(String, String)>,
    pub envelopes: Vec<Envelope>,
    /// The body could not be decoded as SOAP.
    pub malformed: Option<MalformedXml>,
    /// Step of the reference ladder (flow.md), set when the message belongs to a transaction.
    pub step: Option<u32>,
    /// The message's bytes, when the session stage keeps them ([`SessionConfig::keep_raw`]).
    pub raw: Option<Arc<RawMessage>>,
    /// The limits the message reached: in the HTTP stage (body cut, a pipelined request given
    /// up) and in decoding its body.
    pub limits_hit: LimitSet,
}

impl SessionMessage {
    /// RPC names of the envelopes, in order.
    pub fn rpc_names(&self) -> impl Iterator<Item = &str> {
        self.envelopes
            .iter()
            .map(|e| e.rpc.name())
            .filter(|n| !n.is_empty())
    }

    /// An HTTP message without SOAP content (empty POST, empty response, 401 …).
    pub fn is_empty_body(&self) -> bool {
        self.http.body_len == 0
    }

    /// Whether its body did not decode because of a resource limit: cut at `http-body-bytes`,
    /// or beyond `xml-depth`, `xml-elements` or `xml-envelopes`.
    pub fn undecodable_by_a_limit(&self) -> bool {
        self.malformed.is_some()
            && [
                Limit::HttpBodyBytes,
                Limit::XmlDepth,
                Limit::XmlElements,
                Limit::XmlEnvelopes,
            ]
            .iter()
            .any(|l| self.limits_hit.contains(*l))
    }
}

/// Something the session stage noticed that later becomes a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Bytes lost by the capture in one of the session's connections.
    CaptureGap {
        conn: ConnId,
        frame: FrameRef,
        ts: Nanos,
        len: u64,
        from_cpe: bool,
    },
    /// HTTP framing that could not be parsed.
    MalformedHttp {
        conn: ConnId,
        frame: FrameRef,
        ts: Nanos,
        offset: u64,
        reason: String,
        from_cpe: bool,
    },
}

/// The ACS's Connection Request that triggered a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequest {
    pub acs_ip: IpAddr,
    pub cpe: SocketAddr,
    pub uri: String,
    /// First GET of the exchange.
    pub frame: FrameRef,
    pub ts: Nanos,
    /// The CPE challenged (401) at least once.
    pub challenged: bool,
    /// Status of the CPE's final answer, if seen.
    pub final_status: Option<u16>,
    pub final_frame: Option<FrameRef>,
    pub final_ts: Option<Nanos>,
}

/// Which server of the CWMP traffic a connection goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRole {
    /// The ACS (its URL: `ManagementServer.URL`).
    Acs,
    /// The file server of a Download or Upload (its URL: the transfer's).
    FileServer,
    /// A CPE, receiving a Connection Request (its URL: `ConnectionRequestURL`).
    Cpe,
}

/// What the CWMP traffic named a connection's server as: its role, and the host of the URL
/// its client was given, when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedServer {
    pub role: ServerRole,
    pub host: Option<String>,
}

/// One TCP connection a session used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConn {
    pub id: ConnId,
    pub cpe: SocketAddr,
    pub acs: SocketAddr,
    pub ts: Nanos,
    pub end: Option<(ConnEnd, Nanos)>,
    /// The frame of the first FIN or RST of the connection.
    pub end_frame: Option<FrameRef>,
    /// The reassembler's counters, once the connection closed.
    pub stats: Option<ConnStats>,
    /// Whether the three-way handshake was seen.
    pub handshake_seen: bool,
    /// The connection's TLS (HTTPS), once it closed.
    pub tls: Option<Box<TlsSummary>>,
    /// For a TLS connection: the host of the CPE's `ManagementServer.URL` known when it closed.
    pub acs_host: Option<String>,
}

impl SessionConn {
    /// The frame of the connection's RST, once it closed with one.
    pub fn rst_frame(&self) -> Option<FrameRef> {
        self.stats.as_ref().and_then(|s| s.rst_frame)
    }
}

/// One HTTP request of an exchange outside CWMP sessions (a file GET, a Connection Request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeRequest {
    pub method: String,
    pub uri: String,
    pub host: Option<String>,
    pub credentials: Option<Credentials>,
    pub body_len: u64,
    pub frame: FrameRef,
    pub last_frame: FrameRef,
    pub ts: Nanos,
    pub end_ts: Nanos,
}

/// The response of such an exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeResponse {
    pub status: u16,
    pub reason: String,
    pub challenges: Vec<Challenge>,
    /// The Content-Length header, when present.
    pub content_length: Option<u64>,
    /// Body bytes on the wire (after de-chunking), lost bytes included.
    pub body_len: u64,
    /// SHA-256 of the body bytes, for an answer to a GET none of whose bytes was lost.
    pub body_sha256: Option<crate::http::body::BodyDigest>,
    /// False when the body was cut short (connection ended, capture gap).
    pub complete: bool,
    pub gap_bytes: u64,
    pub frame: FrameRef,
    pub last_frame: FrameRef,
    pub ts: Nanos,
    pub end_ts: Nanos,
}

/// An HTTP request/response pair that belongs to no CWMP session: file downloads and uploads,
/// Connection Requests, other web traffic. Emitted when the response completes, or when the
/// connection ends with the request unanswered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpExchange {
    pub conn: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub request: ExchangeRequest,
    pub response: Option<ExchangeResponse>,
}

/// A TCP connection that carried no CWMP session, as it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRecord {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub opened: Nanos,
    pub first_frame: FrameRef,
    pub closed: Nanos,
    pub end: ConnEnd,
    pub stats: ConnStats,
    pub handshake_seen: bool,
    pub was_http: bool,
    /// Encrypted and not decrypted (or not wholly).
    pub tls: bool,
    /// What the TLS stage knows of the connection's TLS, decrypted or not.
    pub tls_info: Option<Box<TlsSummary>>,
    /// The server is an ACS or file server the CWMP traffic named before the connection ended
    /// (or listens on port 7547).
    pub known_server: bool,
    /// For a TLS connection: what the CWMP traffic named its server as, before it ended.
    pub named: Option<NamedServer>,
}

/// What the session stage hands on, in the order things finish.
#[derive(Clone, Debug)]
pub enum Completed {
    /// A TCP connection that began with its handshake, as it opens: one that never carries
    /// HTTP may end as a failed handshake, which the transaction stage waits for when it is to
    /// the file server of a transfer.
    ConnectionOpened(ConnInfo),
    Session(Session),
    Exchange(HttpExchange),
    Connection(ConnRecord),
    /// A Connection Request the CPE accepted that no `6 CONNECTION REQUEST` session followed
    /// within the window.
    OrphanConnectionRequest(ConnectionRequest),
}

/// A finished CWMP session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Sequential number, from 1, in order of the session's start.
    pub number: u64,
    pub cpe_ip: IpAddr,
    pub acs: SocketAddr,
    pub device: Option<DeviceId>,
    pub events: Vec<Event>,
    pub start: Nanos,
    pub end: Nanos,
    pub connections: Vec<SessionConn>,
    pub termination: Termination,
    /// Frame of the ACS's empty response that ended it (for `Normal`).
    pub ended_by: Option<FrameRef>,
    pub messages: Vec<SessionMessage>,
    pub connection_request: Option<ConnectionRequest>,
    /// An accepted Connection Request to this CPE, answered before the session's Inform,
    /// which lacks `6 CONNECTION REQUEST`: no session announced it.
    pub unannounced_connection_request: Option<ConnectionRequest>,
    /// For a session without an Inform: the DeviceId of the CPE last seen at its address (an
    /// earlier session's Inform). Reports show it as inferred; the rules go by `device`.
    pub inferred_device: Option<DeviceId>,
    pub notes: Vec<Note>,
    /// Findings about this session (filled by the rules after the session finished).
    pub findings: Vec<Finding>,
    /// The resource limits that cut the session short (its messages', its connections', and
    /// the session stage's own); empty when none did.
    pub limits_hit: LimitSet,
}

impl Session {
    /// The Inform that opened the session (the last one, if it was re-sent after a 401).
    pub fn inform(&self) -> Option<&crate::cwmp::Inform> {
        self.messages
            .iter()
            .flat_map(|m| m.envelopes.iter())
            .find_map(|e| match &e.rpc {
                Rpc::Inform(i) => Some(i),
                _ => None,
            })
    }

    pub fn serial(&self) -> Option<&str> {
        self.device.as_ref().map(|d| d.serial_number.as_str())
    }

    /// Every envelope of the session with the message that carried it.
    pub fn envelopes(&self) -> impl Iterator<Item = (&SessionMessage, &Envelope)> {
        self.messages
            .iter()
            .flat_map(|m| m.envelopes.iter().map(move |e| (m, e)))
    }
}
