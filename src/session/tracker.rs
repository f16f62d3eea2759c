//! The session state machine: assigns each HTTP message to a session (or to a Connection
//! Request, or to nothing), decides when a session is over, and hands it on.

use super::endpoints::{CWMP_PORT, KnownEndpoints};
use super::{
    Completed, ConnRecord, ConnectionRequest, CpeDirectory, ExchangeRequest, ExchangeResponse,
    HttpExchange, HttpLine, MessageKind, Note, RawDeflater, RawMessage, Session, SessionConn,
    SessionMessage, Termination,
};
use crate::cwmp::{self, DecodeLimits, Envelope, Rpc};
use crate::http::auth::{
    Challenge, Credentials, parse_challenges, parse_cookie_header, parse_credentials,
    parse_set_cookie,
};
use crate::http::{HttpEvent, HttpMessage, StartLine};
use crate::limits::{Limit, LimitCounts, LimitSet};
use crate::tcp::{ConnEnd, ConnStats};
use crate::tls::{TlsOutcome, TlsReason, TlsSummary};
use crate::types::{ConnId, Nanos};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

const SECOND: Nanos = 1_000_000_000;

/// Limits and timeouts of the session stage.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// How long a session whose connection closed before its end waits for a continuation on
    /// another connection (joined by cookie) before it is finished.
    pub continuation_wait: Nanos,
    /// How long an accepted Connection Request waits for the session it triggers.
    pub connection_request_window: Nanos,
    /// Messages buffered on a connection before its session is known
    /// (`unassigned-messages`).
    pub max_unassigned_messages: usize,
    /// Messages kept per session, further ones are counted, not kept (`session-messages`).
    pub max_messages_per_session: usize,
    /// Sessions open at once; beyond, the oldest is finished as it stands (`open-sessions`).
    pub max_open_sessions: usize,
    /// Connection Requests awaiting their session, in all (`pending-connection-requests`).
    pub max_pending_connection_requests: usize,
    /// Entries of each kind of [`KnownEndpoints`] (`known-endpoints`).
    pub max_known_endpoints: usize,
    /// Addresses of the [`CpeDirectory`] (`cpe-history`).
    pub max_cpes: usize,
    pub decode: DecodeLimits,
    /// Keep each message's bytes, deflated ([`RawMessage`]), for a view that shows them.
    pub keep_raw: bool,
    /// Largest stored body kept with `keep_raw`, a larger one is noted, not kept
    /// (`raw-body-bytes`).
    pub max_raw_body: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            continuation_wait: 30 * SECOND,
            connection_request_window: 60 * SECOND,
            max_unassigned_messages: Limit::UnassignedMessages.default_usize(),
            max_messages_per_session: Limit::SessionMessages.default_usize(),
            max_open_sessions: Limit::OpenSessions.default_usize(),
            max_pending_connection_requests: Limit::PendingConnectionRequests.default_usize(),
            max_known_endpoints: Limit::KnownEndpoints.default_usize(),
            max_cpes: Limit::CpeHistory.default_usize(),
            decode: DecodeLimits::default(),
            keep_raw: false,
            max_raw_body: Limit::RawBodyBytes.default_usize(),
        }
    }
}

/// Whole-run counters of the session stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub sessions: u64,
    pub http_messages: u64,
    pub cwmp_messages: u64,
    /// HTTP messages that belong to no session (file transfers, other web traffic).
    pub other_http_messages: u64,
    pub connection_requests: u64,
    /// Encrypted connections to no known ACS or file server (other HTTPS on the link).
    pub other_tls_connections: u64,
    /// Messages dropped because a per-session or per-connection limit was hit.
    pub dropped_messages: u64,
    /// TLS connections to an ACS or file server whose records were all decrypted.
    pub tls_decrypted: u64,
    /// TLS connections to an ACS or file server with records not decrypted (all of them, or
    /// those from where decryption stopped), by reason (in the order of [`TlsReason::ALL`]).
    pub tls_undecrypted: [u64; TlsReason::ALL.len()],
    /// Limits reached in this stage (CWMP decoding included), by limit; the CPE directory and
    /// the known endpoints count theirs apart (see [`SessionTracker::limits_hit`]).
    pub limits_hit: LimitCounts,
}

impl TrackerStats {
    /// Counts a connection to an ACS or file server by what became of its protected records
    /// (a connection that ended in its handshake has none).
    fn count_tls(&mut self, tls: Option<&TlsSummary>) {
        match tls.map(TlsSummary::outcome) {
            Some(TlsOutcome::Decrypted) => self.tls_decrypted += 1,
            Some(TlsOutcome::Undecrypted { reason, .. }) => {
                if let Some(i) = TlsReason::ALL.iter().position(|r| *r == reason) {
                    self.tls_undecrypted[i] += 1;
                }
            }
            Some(TlsOutcome::HandshakeOnly) | None => {}
        }
    }
}

/// How a connection ended, as the HTTP stage reports it.
struct Closing<'a> {
    end: ConnEnd,
    stats: Option<&'a ConnStats>,
    was_http: bool,
    tls: bool,
    tls_info: Option<Box<TlsSummary>>,
}

/// A message as decoded ahead of the session stage: its body's envelopes, why it did not
/// decode, the limits it reached, and its authentication and cookie headers.
#[derive(Debug, Default)]
pub struct DecodedBody {
    envelopes: Vec<Envelope>,
    malformed: Option<cwmp::MalformedXml>,
    limits: LimitSet,
    headers: HeaderAuth,
}

/// The authentication and cookie headers of a message, parsed.
#[derive(Debug, Default)]
struct HeaderAuth {
    /// The last `Authorization`.
    credentials: Option<Credentials>,
    challenges: Vec<Challenge>,
    cookies: Vec<(String, String)>,
    set_cookies: Vec<(String, String)>,
}

impl HeaderAuth {
    fn of(msg: &HttpMessage) -> HeaderAuth {
        let mut parsed = HeaderAuth::default();
        for (name, value) in &msg.headers {
            if name.eq_ignore_ascii_case("authorization") {
                parsed.credentials = Some(parse_credentials(value));
            } else if name.eq_ignore_ascii_case("www-authenticate") {
                parsed.challenges.extend(parse_challenges(value));
            } else if name.eq_ignore_ascii_case("cookie") {
                parsed.cookies.extend(parse_cookie_header(value));
            } else if name.eq_ignore_ascii_case("set-cookie") {
                parsed.set_cookies.extend(parse_set_cookie(value));
            }
        }
        parsed
    }
}

impl DecodedBody {
    /// A message whose body is not read (a Connection Request's): its headers alone.
    fn without_body(msg: &HttpMessage) -> DecodedBody {
        DecodedBody {
            headers: HeaderAuth::of(msg),
            ..DecodedBody::default()
        }
    }

    /// The CWMP content of a message's body as the session stage reads it (nothing for an
    /// empty body or one that does not look like SOAP), and its parsed authentication and
    /// cookie headers. A function of the message and the limits alone, so it can be worked
    /// out on another thread ahead of the session stage ([`SessionTracker::push_decoded`]).
    pub fn of(msg: &HttpMessage, limits: &DecodeLimits) -> DecodedBody {
        let mut body = DecodedBody::without_body(msg);
        if msg.body.is_empty() || !cwmp::looks_like_soap(&msg.body) {
            return body;
        }
        match cwmp::decode_noting(
            &msg.body,
            msg.header("content-type"),
            limits,
            &mut body.limits,
        ) {
            Ok(envelopes) => body.envelopes = envelopes,
            Err(e) => body.malformed = Some(e),
        }
        body
    }
}

/// The parsed authentication and cookie headers of `msg`: taken from its decoding ahead on
/// another thread (`predecoded`) when there was one, else parsed now (the same either way).
fn headers_of(
    predecoded: &mut Option<(ConnId, u32, DecodedBody)>,
    msg: &HttpMessage,
) -> HeaderAuth {
    match predecoded {
        Some((conn, index, body)) if *conn == msg.conn && *index == msg.index => {
            std::mem::take(&mut body.headers)
        }
        _ => HeaderAuth::of(msg),
    }
}

/// What a request turned out to be, remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    /// Part of this session.
    Session(u64),
    /// CWMP-looking but not yet in a session (buffered on the connection).
    Unassigned,
    /// An empty GET that may be a Connection Request (see `pending_crs`).
    ConnectionRequest,
    Other,
}

struct ConnState {
    client: SocketAddr,
    server: SocketAddr,
    opened: Nanos,
    /// Time of the last message seen on it.
    last: Nanos,
    session: Option<u64>,
    unassigned: Vec<SessionMessage>,
    unassigned_notes: Vec<Note>,
    /// Limits reached on the connection before its session was known.
    unassigned_limits: LimitSet,
    /// Request index → kind, for pairing responses.
    requests: VecDeque<(u32, RequestKind)>,
    /// Requests outside sessions waiting for their responses.
    exchanges: VecDeque<(u32, ExchangeRequest)>,
    handshake_seen: bool,
    first_frame: crate::types::FrameRef,
}

impl ConnState {
    /// A connection's state before any message: opened at `ts` between these roles.
    fn new(
        client: SocketAddr,
        server: SocketAddr,
        ts: Nanos,
        handshake_seen: bool,
        first_frame: crate::types::FrameRef,
    ) -> Box<ConnState> {
        Box::new(ConnState {
            client,
            server,
            opened: ts,
            last: ts,
            session: None,
            unassigned: Vec::new(),
            unassigned_notes: Vec::new(),
            unassigned_limits: LimitSet::EMPTY,
            requests: VecDeque::new(),
            exchanges: VecDeque::new(),
            handshake_seen,
            first_frame,
        })
    }
}

struct OpenSession {
    session: Session,
    /// Connections of this session still open.
    open_conns: usize,
    inform_answered: bool,
    cookies: Vec<String>,
    /// Set when every connection closed before the session ended: when to give up waiting.
    waiting_until: Option<Nanos>,
    last_end: Option<ConnEnd>,
    dropped: u64,
    /// The Connection Requests were looked at for an unannounced one (once, after the Inform).
    unannounced_checked: bool,
}

/// A Connection Request exchange in progress or accepted, keyed by the CPE's IP.
struct PendingCr {
    cr: ConnectionRequest,
    messages: Vec<SessionMessage>,
    accepted: bool,
    /// Addressed to the CPE's ConnectionRequestURL (or, none known for that address, to port
    /// 7547): a Connection Request whatever follows. Otherwise it is one only if a session
    /// with `6 CONNECTION REQUEST` from that CPE confirms it (see `confirms`), and ordinary
    /// web traffic otherwise.
    certain: bool,
}

/// Assigns HTTP messages to CWMP sessions; see the module documentation.
pub struct SessionTracker {
    cfg: SessionConfig,
    /// Boxed: a hash table keeps up to twice as many buckets as entries, and a flood of
    /// half-open connections should cost one state each, not two.
    conns: FxHashMap<ConnId, Box<ConnState>>,
    open: FxHashMap<u64, OpenSession>,
    by_cookie: FxHashMap<String, u64>,
    /// ACS endpoints seen in sessions: an empty POST to one of them is CWMP.
    acs_endpoints: FxHashSet<SocketAddr>,
    /// ConnectionRequestURLs, ACS and file servers the CWMP traffic named so far.
    known: KnownEndpoints,
    pending_crs: VecDeque<PendingCr>,
    /// Numbers of the sessions opened, oldest first (some may have finished since): the one
    /// to finish when `max_open_sessions` is reached.
    open_order: VecDeque<u64>,
    next_number: u64,
    stats: TrackerStats,
    /// Deflates the bytes of a finished session's messages, with `keep_raw`.
    raw: Option<RawDeflater>,
    /// The CPE last seen at each address, for sessions without an Inform.
    directory: CpeDirectory,
    /// The body of the message being pushed, decoded ahead (connection, message index).
    predecoded: Option<(ConnId, u32, DecodedBody)>,
}

impl SessionTracker {
    pub fn new(cfg: SessionConfig) -> Self {
        let raw = cfg.keep_raw.then(RawDeflater::default);
        SessionTracker {
            conns: FxHashMap::default(),
            open: FxHashMap::default(),
            by_cookie: FxHashMap::default(),
            acs_endpoints: FxHashSet::default(),
            known: KnownEndpoints::new(cfg.max_known_endpoints),
            pending_crs: VecDeque::new(),
            open_order: VecDeque::new(),
            next_number: 1,
            stats: TrackerStats::default(),
            raw,
            directory: CpeDirectory::new(cfg.max_cpes),
            predecoded: None,
            cfg,
        }
    }

    /// The limits CWMP bodies are decoded with.
    pub fn decode_limits(&self) -> DecodeLimits {
        self.cfg.decode.clone()
    }

    pub fn stats(&self) -> &TrackerStats {
        &self.stats
    }

    /// Every limit reached in this stage so far, by limit.
    pub fn limits_hit(&self) -> LimitCounts {
        let mut counts = self.stats.limits_hit;
        counts.add_n(Limit::KnownEndpoints, self.known.not_learned());
        counts.add_n(Limit::CpeHistory, self.directory.forgotten());
        counts
    }

    /// Sessions currently open.
    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }

    /// The open sessions as they stand (copies, the `max` most recent), in order of start.
    pub fn open_snapshot(&self, max: usize) -> Vec<Session> {
        let mut numbers: Vec<u64> = self.open.keys().copied().collect();
        numbers.sort_unstable();
        let skip = numbers.len().saturating_sub(max);
        numbers[skip..]
            .iter()
            .filter_map(|n| self.open.get(n))
            .map(|o| o.session.clone())
            .collect()
    }

    /// Consumes one HTTP-stage event; finished sessions go to `out`.
    pub fn on_http(&mut self, ev: HttpEvent, out: &mut impl FnMut(Completed)) {
        match ev {
            HttpEvent::ConnOpen(info) => {
                self.conns.insert(
                    info.id,
                    ConnState::new(
                        info.client,
                        info.server,
                        info.ts,
                        info.handshake_seen,
                        info.frame,
                    ),
                );
                if info.handshake_seen {
                    out(Completed::ConnectionOpened(info));
                }
            }
            HttpEvent::Message(msg) => self.on_message(msg, out),
            HttpEvent::Malformed {
                conn,
                dir: _,
                frame,
                ts,
                offset,
                reason,
                limit,
            } => {
                let Some(state) = self.conns.get(&conn) else {
                    return;
                };
                if let Some(limit) = limit {
                    // Framing refused at a limit: the session shows the limit, and no one is
                    // blamed for malformed HTTP.
                    self.add_limit(conn, state.session, limit);
                    return;
                }
                // Without knowing the sender's role, the client side is the CPE.
                let note = Note::MalformedHttp {
                    conn,
                    frame,
                    ts,
                    offset,
                    reason,
                    from_cpe: true,
                };
                self.add_note(conn, state.session, note);
            }
            HttpEvent::Gap {
                conn,
                dir,
                frame,
                ts,
                len,
            } => {
                let Some(state) = self.conns.get(&conn) else {
                    return;
                };
                let note = Note::CaptureGap {
                    conn,
                    frame,
                    ts,
                    len,
                    from_cpe: dir == crate::types::Dir::ToServer,
                };
                self.add_note(conn, state.session, note);
            }
            HttpEvent::Rst { conn, frame, .. } | HttpEvent::Fin { conn, frame, .. } => {
                let session = self.conns.get(&conn).and_then(|c| c.session);
                if let Some(open) = session.and_then(|n| self.open.get_mut(&n))
                    && let Some(c) = open.session.connections.iter_mut().find(|c| c.id == conn)
                {
                    c.end_frame.get_or_insert(frame);
                }
            }
            HttpEvent::ConnClosed {
                info,
                ts,
                end,
                stats,
                was_http,
                tls,
                tls_info,
            } => {
                let closing = Closing {
                    end,
                    stats: Some(&stats),
                    was_http,
                    tls,
                    tls_info,
                };
                self.on_conn_closed(info.id, ts, closing, out)
            }
        }
    }

    /// Capture time moved to `now`: finishes sessions that waited long enough for a
    /// continuation, and forgets stale Connection Requests.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Completed)) {
        let expired: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, s)| s.waiting_until.is_some_and(|t| t <= now))
            .map(|(n, _)| *n)
            .collect();
        for number in expired {
            self.finalize(number, out);
        }
        let window = self.cfg.connection_request_window;
        while self
            .pending_crs
            .front()
            .is_some_and(|p| p.cr.ts + window <= now)
        {
            if let Some(p) = self.pending_crs.pop_front() {
                self.let_go(p, out);
            }
        }
    }

    /// End of input: every session still open is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Completed)) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            let ts = self.conns.get(&conn).map(|c| c.last).unwrap_or_default();
            let closing = Closing {
                end: ConnEnd::CaptureEnded,
                stats: None,
                was_http: true,
                tls: false,
                tls_info: None,
            };
            self.on_conn_closed(conn, ts, closing, out);
        }
        let mut rest: Vec<u64> = self.open.keys().copied().collect();
        rest.sort_unstable();
        for number in rest {
            self.finalize(number, out);
        }
        for p in std::mem::take(&mut self.pending_crs) {
            self.let_go(p, out);
        }
    }

    fn add_note(&mut self, conn: ConnId, session: Option<u64>, note: Note) {
        if let Some(open) = session.and_then(|n| self.open.get_mut(&n)) {
            open.session.notes.push(note);
        } else if let Some(state) = self.conns.get_mut(&conn) {
            if state.unassigned_notes.len() < self.cfg.max_unassigned_messages {
                state.unassigned_notes.push(note);
            } else {
                self.stats.limits_hit.add(Limit::UnassignedMessages);
                state.unassigned_limits.insert(Limit::UnassignedMessages);
            }
        }
    }

    /// A limit reached on a connection: it marks the connection's session, or the one the
    /// connection will be found to carry.
    fn add_limit(&mut self, conn: ConnId, session: Option<u64>, limit: Limit) {
        if let Some(open) = session.and_then(|n| self.open.get_mut(&n)) {
            open.session.limits_hit.insert(limit);
        } else if let Some(state) = self.conns.get_mut(&conn) {
            state.unassigned_limits.insert(limit);
        }
    }

    fn on_message(&mut self, msg: HttpMessage, out: &mut impl FnMut(Completed)) {
        self.stats.http_messages += 1;
        let conn_id = msg.conn;
        let state = self.conns.entry(conn_id).or_insert_with(|| {
            // A message on a connection never announced: take the roles from the message.
            let (client, server) = if msg.is_request() {
                (msg.src, msg.dst)
            } else {
                (msg.dst, msg.src)
            };
            ConnState::new(client, server, msg.ts, false, msg.first_frame)
        });
        state.last = msg.end_ts;
        if msg.is_request() {
            self.on_request(msg, out);
        } else {
            self.on_response(msg, out);
        }
    }

    fn on_request(&mut self, msg: HttpMessage, out: &mut impl FnMut(Completed)) {
        let conn_id = msg.conn;
        let method = msg.method().unwrap_or_default().to_owned();
        if method.eq_ignore_ascii_case("GET")
            && msg.body_len == 0
            && let Some(certain) = self.connection_request_address(&msg)
        {
            self.remember_request(conn_id, msg.index, RequestKind::ConnectionRequest);
            self.remember_exchange(&msg);
            self.on_possible_connection_request(msg, certain);
            return;
        }
        if !method.eq_ignore_ascii_case("POST") {
            self.stats.other_http_messages += 1;
            self.remember_request(conn_id, msg.index, RequestKind::Other);
            self.remember_exchange(&msg);
            return;
        }
        let body = self.decode_body(&msg);
        self.known.learn(msg.src.ip(), &body.envelopes);
        let soap = !body.envelopes.is_empty() || body.malformed.is_some();
        let Some(state) = self.conns.get(&conn_id) else {
            return;
        };
        let mut session = state.session;
        if msg.body_len > 0 && !soap {
            // A POST of something else (an Upload's file, a web form).
            self.stats.other_http_messages += 1;
            self.remember_request(conn_id, msg.index, RequestKind::Other);
            self.remember_exchange(&msg);
            return;
        }
        self.stats.cwmp_messages += 1;
        let has_inform = body
            .envelopes
            .iter()
            .any(|e| matches!(e.rpc, Rpc::Inform(_)));
        let message = self.session_message(&msg, MessageKind::Cwmp, true, body);

        if has_inform {
            if let Some(n) = session
                && self
                    .open
                    .get(&n)
                    .is_none_or(|s| s.session.ended_by.is_some())
            {
                // The previous session on this connection is over: a new one starts.
                self.detach_conn(conn_id, n, msg.ts, out);
                session = None;
            }
            if session.is_none() {
                session =
                    Some(self.start_session(conn_id, msg.src, msg.dst, msg.ts, msg.end_ts, out));
            }
        } else if session.is_none() {
            session = self.session_by_cookie(&message);
            if let Some(n) = session {
                self.attach_conn(conn_id, n);
            }
        }
        match session {
            Some(n) => {
                self.remember_request(conn_id, msg.index, RequestKind::Session(n));
                self.push_message(n, message);
            }
            None => {
                self.remember_request(conn_id, msg.index, RequestKind::Unassigned);
                self.push_unassigned(conn_id, message, out);
            }
        }
    }

    fn on_response(&mut self, msg: HttpMessage, out: &mut impl FnMut(Completed)) {
        let conn_id = msg.conn;
        let kind = self.request_kind(conn_id, msg.answers, msg.interim);
        match kind {
            RequestKind::Session(n) => {
                let body = self.decode_body(&msg);
                self.known.learn(msg.dst.ip(), &body.envelopes);
                self.stats.cwmp_messages += 1;
                let message = self.session_message(&msg, MessageKind::Cwmp, false, body);
                let ends = !msg.interim
                    && matches!(msg.status(), Some(200 | 204))
                    && msg.body_len == 0
                    && msg.complete;
                if let Some(open) = self.open.get_mut(&n) {
                    if message
                        .envelopes
                        .iter()
                        .any(|e| matches!(e.rpc, Rpc::InformResponse { .. }))
                    {
                        open.inform_answered = true;
                    }
                    if ends && open.inform_answered && open.session.ended_by.is_none() {
                        open.session.ended_by = Some(message.frame);
                    }
                    for (_, value) in &message.set_cookies {
                        if !open.cookies.contains(value) {
                            open.cookies.push(value.clone());
                        }
                        self.by_cookie.insert(value.clone(), n);
                    }
                }
                self.push_message(n, message);
            }
            RequestKind::Unassigned => {
                let body = self.decode_body(&msg);
                self.known.learn(msg.dst.ip(), &body.envelopes);
                self.stats.cwmp_messages += 1;
                let message = self.session_message(&msg, MessageKind::Cwmp, false, body);
                self.push_unassigned(conn_id, message, out);
            }
            RequestKind::ConnectionRequest => {
                self.complete_exchange(&msg, out);
                self.on_connection_request_answer(msg);
            }
            RequestKind::Other => {
                self.stats.other_http_messages += 1;
                self.complete_exchange(&msg, out);
            }
        }
    }

    fn remember_exchange(&mut self, msg: &HttpMessage) {
        self.known.learn_request(msg.dst, msg.header("host"));
        let Some(state) = self.conns.get_mut(&msg.conn) else {
            return;
        };
        if state.exchanges.len() >= 64 {
            state.exchanges.pop_front();
        }
        let (method, uri) = match &msg.start {
            StartLine::Request { method, uri } => (method.clone(), uri.clone()),
            StartLine::Response { .. } => return,
        };
        let credentials = headers_of(&mut self.predecoded, msg).credentials;
        state.exchanges.push_back((
            msg.index,
            ExchangeRequest {
                method,
                uri,
                host: msg.header("host").map(str::to_owned),
                credentials,
                body_len: msg.body_len,
                frame: msg.first_frame,
                last_frame: msg.last_frame,
                ts: msg.ts,
                end_ts: msg.end_ts,
            },
        ));
    }

    /// Pairs a response with its remembered request and hands the exchange on.
    fn complete_exchange(&mut self, msg: &HttpMessage, out: &mut impl FnMut(Completed)) {
        if msg.interim {
            return;
        }
        let Some(state) = self.conns.get_mut(&msg.conn) else {
            return;
        };
        let Some(index) = msg.answers else {
            return;
        };
        let Some(pos) = state.exchanges.iter().position(|(i, _)| *i == index) else {
            return;
        };
        let Some((_, request)) = state.exchanges.remove(pos) else {
            return;
        };
        let challenges = headers_of(&mut self.predecoded, msg).challenges;
        let response = ExchangeResponse {
            status: msg.status().unwrap_or_default(),
            reason: match &msg.start {
                StartLine::Response { reason, .. } => reason.clone(),
                StartLine::Request { .. } => String::new(),
            },
            challenges,
            content_length: msg
                .header("content-length")
                .and_then(|v| v.trim().parse().ok()),
            body_len: msg.body_len,
            body_sha256: msg.body_sha256,
            complete: msg.complete,
            gap_bytes: msg.gap_bytes,
            frame: msg.first_frame,
            last_frame: msg.last_frame,
            ts: msg.ts,
            end_ts: msg.end_ts,
        };
        out(Completed::Exchange(HttpExchange {
            conn: msg.conn,
            client: msg.dst,
            server: msg.src,
            request,
            response: Some(response),
        }));
    }

    /// The request kind a response answers; interim responses leave it pending.
    fn request_kind(&mut self, conn: ConnId, answers: Option<u32>, interim: bool) -> RequestKind {
        let Some(state) = self.conns.get_mut(&conn) else {
            return RequestKind::Other;
        };
        let Some(index) = answers else {
            // A response with no request seen (capture began mid-exchange): it belongs with
            // whatever the connection carries.
            return state
                .session
                .map(RequestKind::Session)
                .unwrap_or(RequestKind::Unassigned);
        };
        while let Some(&(i, kind)) = state.requests.front() {
            if i < index {
                state.requests.pop_front();
                continue;
            }
            if i == index {
                if !interim {
                    state.requests.pop_front();
                }
                // A request that became part of a session after it was sent.
                return match (kind, state.session) {
                    (RequestKind::Unassigned, Some(n)) => RequestKind::Session(n),
                    _ => kind,
                };
            }
            break;
        }
        RequestKind::Other
    }

    fn remember_request(&mut self, conn: ConnId, index: u32, kind: RequestKind) {
        if let Some(state) = self.conns.get_mut(&conn) {
            if state.requests.len() >= 256 {
                state.requests.pop_front();
            }
            state.requests.push_back((index, kind));
        }
    }

    /// Decodes a message's body, counting the decoding limits it reached.
    fn decode_body(&mut self, msg: &HttpMessage) -> DecodedBody {
        let body = match self.predecoded.take() {
            Some((conn, index, body)) if conn == msg.conn && index == msg.index => body,
            _ => DecodedBody::of(msg, &self.cfg.decode),
        };
        for limit in body.limits.iter() {
            self.stats.limits_hit.add(limit);
        }
        body
    }

    fn session_message(
        &mut self,
        msg: &HttpMessage,
        kind: MessageKind,
        from_cpe: bool,
        body: DecodedBody,
    ) -> SessionMessage {
        let DecodedBody {
            envelopes,
            malformed,
            limits,
            headers,
        } = body;
        let HeaderAuth {
            credentials,
            challenges,
            cookies,
            set_cookies,
        } = headers;
        let mut limits_hit = msg.limits_hit;
        limits_hit.extend(limits);
        let raw = self
            .cfg
            .keep_raw
            .then(|| Arc::new(RawMessage::of(msg, self.cfg.max_raw_body)));
        if raw.as_ref().is_some_and(|r| r.body_dropped.is_some()) {
            self.stats.limits_hit.add(Limit::RawBodyBytes);
        }
        let (method, uri, status, reason) = match &msg.start {
            StartLine::Request { method, uri } => {
                (Some(method.clone()), Some(uri.clone()), None, None)
            }
            StartLine::Response { status, reason } => {
                (None, None, Some(*status), Some(reason.clone()))
            }
        };
        SessionMessage {
            kind,
            conn: msg.conn,
            frame: msg.first_frame,
            last_frame: msg.last_frame,
            ts: msg.ts,
            end_ts: msg.end_ts,
            from_cpe,
            http: HttpLine {
                method,
                uri,
                status,
                reason,
                body_len: msg.body_len,
                complete: msg.complete,
                gap_bytes: msg.gap_bytes,
                content_type: msg.header("content-type").map(str::to_owned),
            },
            credentials,
            challenges,
            cookies,
            set_cookies,
            envelopes,
            malformed,
            step: None,
            raw,
            limits_hit,
        }
    }

    fn session_by_cookie(&self, message: &SessionMessage) -> Option<u64> {
        message
            .cookies
            .iter()
            .filter_map(|(_, v)| self.by_cookie.get(v))
            .copied()
            .find(|n| {
                self.open
                    .get(n)
                    .is_some_and(|s| s.session.ended_by.is_none())
            })
    }

    fn start_session(
        &mut self,
        conn_id: ConnId,
        cpe: SocketAddr,
        acs: SocketAddr,
        ts: Nanos,
        end_ts: Nanos,
        out: &mut impl FnMut(Completed),
    ) -> u64 {
        self.make_room_for_a_session(out);
        let number = self.next_number;
        self.next_number += 1;
        self.stats.sessions += 1;
        self.acs_endpoints.insert(acs);
        let conn_ts = self.conns.get(&conn_id).map(|c| c.opened).unwrap_or(ts);
        let handshake_seen = self.conns.get(&conn_id).is_some_and(|c| c.handshake_seen);
        let session = Session {
            number,
            cpe_ip: cpe.ip(),
            acs,
            device: None,
            events: Vec::new(),
            start: ts,
            end: end_ts,
            connections: vec![SessionConn {
                id: conn_id,
                cpe,
                acs,
                ts: conn_ts,
                end: None,
                end_frame: None,
                stats: None,
                handshake_seen,
                tls: None,
                acs_host: None,
            }],
            termination: Termination::CaptureEnded,
            ended_by: None,
            messages: Vec::new(),
            connection_request: None,
            unannounced_connection_request: None,
            inferred_device: None,
            notes: Vec::new(),
            findings: Vec::new(),
            limits_hit: LimitSet::EMPTY,
        };
        self.open.insert(
            number,
            OpenSession {
                session,
                open_conns: 1,
                inform_answered: false,
                cookies: Vec::new(),
                waiting_until: None,
                last_end: None,
                dropped: 0,
                unannounced_checked: false,
            },
        );
        self.open_order.push_back(number);
        if let Some(state) = self.conns.get_mut(&conn_id) {
            state.session = Some(number);
            let earlier = std::mem::take(&mut state.unassigned);
            let notes = std::mem::take(&mut state.unassigned_notes);
            let limits = std::mem::take(&mut state.unassigned_limits);
            if let Some(open) = self.open.get_mut(&number) {
                if let Some(first) = earlier.first() {
                    open.session.start = first.ts;
                }
                open.session.notes.extend(notes);
                open.session.limits_hit.extend(limits);
                for m in &earlier {
                    open.session.limits_hit.extend(m.limits_hit);
                }
                open.session.messages.extend(earlier);
            }
        }
        number
    }

    /// Before a session opens: when `max_open_sessions` are open, the oldest is finished as
    /// it stands, marked with the limit; so is what follows on its connections (a session
    /// without an Inform).
    fn make_room_for_a_session(&mut self, out: &mut impl FnMut(Completed)) {
        while self.open.len() >= self.cfg.max_open_sessions.max(1) {
            let Some(oldest) = self.open_order.pop_front() else {
                break;
            };
            let Some(open) = self.open.get_mut(&oldest) else {
                continue;
            };
            open.session.limits_hit.insert(Limit::OpenSessions);
            self.stats.limits_hit.add(Limit::OpenSessions);
            for c in &open.session.connections {
                if let Some(state) = self.conns.get_mut(&c.id)
                    && state.session == Some(oldest)
                {
                    state.unassigned_limits.insert(Limit::OpenSessions);
                }
            }
            self.finalize(oldest, out);
        }
        if self.open_order.len() > 2 * self.open.len() + 1024 {
            // Sessions that finished on their own leave their numbers behind: drop them now
            // and then (amortized O(1)).
            let open = &self.open;
            self.open_order.retain(|n| open.contains_key(n));
        }
    }

    fn attach_conn(&mut self, conn_id: ConnId, number: u64) {
        let Some(state) = self.conns.get_mut(&conn_id) else {
            return;
        };
        state.session = Some(number);
        let earlier = std::mem::take(&mut state.unassigned);
        let notes = std::mem::take(&mut state.unassigned_notes);
        let limits = std::mem::take(&mut state.unassigned_limits);
        if let Some(open) = self.open.get_mut(&number) {
            open.session.limits_hit.extend(limits);
            for m in &earlier {
                open.session.limits_hit.extend(m.limits_hit);
            }
            open.open_conns += 1;
            open.waiting_until = None;
            open.session.connections.push(SessionConn {
                id: conn_id,
                cpe: state.client,
                acs: state.server,
                ts: state.opened,
                end: None,
                end_frame: None,
                stats: None,
                handshake_seen: state.handshake_seen,
                tls: None,
                acs_host: None,
            });
            open.session.notes.extend(notes);
            open.session.messages.extend(earlier);
        }
    }

    /// The connection leaves its finished session (a new session starts on it).
    fn detach_conn(
        &mut self,
        conn_id: ConnId,
        number: u64,
        ts: Nanos,
        out: &mut impl FnMut(Completed),
    ) {
        if let Some(state) = self.conns.get_mut(&conn_id) {
            state.session = None;
        }
        let Some(open) = self.open.get_mut(&number) else {
            return;
        };
        open.open_conns = open.open_conns.saturating_sub(1);
        if let Some(c) = open
            .session
            .connections
            .iter_mut()
            .find(|c| c.id == conn_id)
        {
            c.end = Some((ConnEnd::Closed, ts));
        }
        if open.open_conns == 0 {
            self.finalize(number, out);
        }
    }

    fn push_message(&mut self, number: u64, message: SessionMessage) {
        let Some(open) = self.open.get_mut(&number) else {
            return;
        };
        if let Some(inform) = message.envelopes.iter().find_map(|e| match &e.rpc {
            Rpc::Inform(i) => Some(i),
            _ => None,
        }) && open.session.device.is_none()
        {
            open.session.device = Some(inform.device_id.clone());
            open.session.events = inform.events.clone();
            self.directory
                .record(open.session.cpe_ip, &inform.device_id);
        }
        open.session.end = open.session.end.max(message.end_ts);
        open.session.limits_hit.extend(message.limits_hit);
        if open.session.messages.len() < self.cfg.max_messages_per_session {
            open.session.messages.push(message);
        } else {
            open.dropped += 1;
            open.session.limits_hit.insert(Limit::SessionMessages);
            self.stats.dropped_messages += 1;
            self.stats.limits_hit.add(Limit::SessionMessages);
        }
    }

    fn push_unassigned(
        &mut self,
        conn_id: ConnId,
        message: SessionMessage,
        out: &mut impl FnMut(Completed),
    ) {
        let limit = self.cfg.max_unassigned_messages;
        let Some(state) = self.conns.get_mut(&conn_id) else {
            return;
        };
        state.unassigned.push(message);
        if state.unassigned.len() >= limit {
            // Too long without an Inform: this is a session of its own (one that lacks its
            // Inform, or whose start the capture missed).
            self.stats.limits_hit.add(Limit::UnassignedMessages);
            state.unassigned_limits.insert(Limit::UnassignedMessages);
            self.promote_unassigned(conn_id, out);
        }
    }

    /// Turns a connection's unassigned CWMP messages into a session without an Inform.
    fn promote_unassigned(&mut self, conn_id: ConnId, out: &mut impl FnMut(Completed)) {
        let Some(state) = self.conns.get(&conn_id) else {
            return;
        };
        let Some(first) = state.unassigned.first() else {
            return;
        };
        let (cpe, acs, ts, end_ts) = (state.client, state.server, first.ts, first.end_ts);
        self.start_session(conn_id, cpe, acs, ts, end_ts, out);
    }

    fn on_conn_closed(
        &mut self,
        conn_id: ConnId,
        ts: Nanos,
        closing: Closing<'_>,
        out: &mut impl FnMut(Completed),
    ) {
        let Closing {
            end,
            stats,
            was_http,
            tls,
            tls_info,
        } = closing;
        // Encrypted and not (wholly) decrypted: as the HTTP stage saw it, or as the TLS stage
        // reports it.
        let tls = tls || tls_info.as_ref().is_some_and(|t| !t.decrypted);
        let Some(state) = self.conns.get(&conn_id) else {
            return;
        };
        if state.session.is_none() && !state.unassigned.is_empty() {
            // CWMP content, or empty POSTs to an ACS (known, or on the CWMP port).
            let evidence = state
                .unassigned
                .iter()
                .any(|m| !m.envelopes.is_empty() || m.malformed.is_some())
                || self.acs_endpoints.contains(&state.server)
                || state.server.port() == 7547;
            if evidence {
                self.promote_unassigned(conn_id, out);
            } else {
                self.stats.other_http_messages += state.unassigned.len() as u64;
            }
        }
        let Some(mut state) = self.conns.remove(&conn_id) else {
            return;
        };
        for (_, request) in state.exchanges.drain(..) {
            out(Completed::Exchange(HttpExchange {
                conn: conn_id,
                client: state.client,
                server: state.server,
                request,
                response: None,
            }));
        }
        let Some(number) = state.session else {
            // Decided on what is known when the connection ends: an ACS or file server named
            // only later in the capture is missed.
            let known_server = self.acs_endpoints.contains(&state.server)
                || self.known.is_server(state.client, state.server);
            if (tls || tls_info.is_some()) && !known_server {
                self.stats.other_tls_connections += 1;
            }
            if known_server {
                self.stats.count_tls(tls_info.as_deref());
            }
            let named = tls_info.as_ref().and_then(|_| {
                self.known.named_server(
                    state.client,
                    state.server,
                    self.acs_endpoints.contains(&state.server),
                    self.directory.get(state.server.ip()).is_some(),
                )
            });
            out(Completed::Connection(ConnRecord {
                id: conn_id,
                client: state.client,
                server: state.server,
                opened: state.opened,
                first_frame: state.first_frame,
                closed: ts,
                end,
                stats: stats.cloned().unwrap_or_default(),
                handshake_seen: state.handshake_seen,
                was_http,
                tls,
                tls_info,
                known_server,
                named,
            }));
            return;
        };
        let Some(open) = self.open.get_mut(&number) else {
            return;
        };
        if let Some(stats) = stats {
            // Bytes of the connection declared lost at a buffer limit, or the connection
            // released early.
            open.session.limits_hit.extend(stats.limits_hit);
        }
        if let Some(c) = open
            .session
            .connections
            .iter_mut()
            .find(|c| c.id == conn_id)
        {
            c.end = Some((end, ts));
            c.stats = stats.cloned();
            self.stats.count_tls(tls_info.as_deref());
            if tls_info.is_some() {
                c.acs_host = self
                    .known
                    .acs_host(c.cpe.ip(), c.acs.port())
                    .map(str::to_owned);
            }
            c.tls = tls_info;
        }
        open.last_end = Some(end);
        open.open_conns = open.open_conns.saturating_sub(1);
        if open.open_conns > 0 {
            return;
        }
        if open.session.ended_by.is_none()
            && !open.cookies.is_empty()
            && matches!(end, ConnEnd::Closed)
        {
            // The session may go on over a new connection carrying the ACS's cookie.
            open.waiting_until = Some(ts + self.cfg.continuation_wait);
            return;
        }
        self.finalize(number, out);
    }

    fn finalize(&mut self, number: u64, out: &mut impl FnMut(Completed)) {
        let Some(mut open) = self.open.remove(&number) else {
            return;
        };
        for cookie in &open.cookies {
            if self.by_cookie.get(cookie) == Some(&number) {
                self.by_cookie.remove(cookie);
            }
        }
        for conn in &open.session.connections {
            if let Some(state) = self.conns.get_mut(&conn.id)
                && state.session == Some(number)
            {
                state.session = None;
            }
        }
        let session = &mut open.session;
        session.termination = if session.ended_by.is_some() {
            Termination::Normal
        } else {
            open.last_end
                .map(Termination::from_conn_end)
                .unwrap_or(Termination::CaptureEnded)
        };
        if session.device.is_none() {
            session.inferred_device = self.directory.get(session.cpe_ip).cloned();
        }
        if let Some(close) = session
            .connections
            .iter()
            .filter_map(|c| c.end.map(|(_, ts)| ts))
            .max()
        {
            session.end = session.end.max(close);
        }
        // Completion order is causal (a request is complete before its response begins).
        session.messages.sort_by_key(|m| (m.end_ts, m.last_frame));
        if let Some(first) = session.messages.first() {
            session.start = session.start.min(first.ts);
        }
        if let Some(deflater) = &mut self.raw {
            deflater.deflate(&mut session.messages);
        }
        out(Completed::Session(open.session));
    }

    // ---- Connection Requests ----
    //
    // A Connection Request is an empty GET to a CPE's ConnectionRequestURL, learned from its
    // Informs (host, port and path), or, where no URL is known for that address, to port 7547.
    // Other GETs are ordinary web traffic. One exception keeps an honest place for a CPE whose
    // URL the capture has not shown yet (it listens elsewhere: cwmp-sim on 7557, GenieACS-sim
    // on any port), or whose URL changed since: any other empty GET to a CPE is held as
    // uncertain, and becomes a Connection Request only when that CPE's next session says
    // `6 CONNECTION REQUEST` within the window and either its Inform's URL names that port and
    // path, or the GET was authenticated (a challenge or credentials) and answered 200/204 with
    // an empty body, as TR-069 requires of a Connection Request. Unconfirmed, it is never
    // reported; a certain one is preferred when both could be claimed.

    /// Whether an empty GET may be a Connection Request: `Some(true)` when it is one (see
    /// above), `Some(false)` when only a following session can tell, `None` when it is not
    /// (a GET to an ACS).
    fn connection_request_address(&self, msg: &HttpMessage) -> Option<bool> {
        if self.acs_endpoints.contains(&msg.dst) {
            // A GET to an ACS is the CPE fetching something.
            return None;
        }
        let uri = match &msg.start {
            StartLine::Request { uri, .. } => uri.as_str(),
            StartLine::Response { .. } => return None,
        };
        Some(match self.known.cr_target(msg.dst.ip()) {
            Some(target) => target.matches(msg.dst.port(), uri),
            None => msg.dst.port() == CWMP_PORT,
        })
    }

    /// Whether an uncertain Connection Request is confirmed by a session of its CPE that says
    /// `6 CONNECTION REQUEST` (see above).
    fn confirms(&self, p: &PendingCr) -> bool {
        if self
            .known
            .cr_target(p.cr.cpe.ip())
            .is_some_and(|t| t.matches(p.cr.cpe.port(), &p.cr.uri))
        {
            return true;
        }
        let authenticated = p.cr.challenged
            || p.messages
                .iter()
                .any(|m| !m.from_cpe && m.credentials.is_some());
        p.accepted && authenticated && matches!(p.cr.final_status, Some(200 | 204))
    }

    /// A Connection Request no session claims any more: an accepted certain one is an orphan,
    /// an uncertain one was ordinary web traffic.
    fn let_go(&mut self, p: PendingCr, out: &mut impl FnMut(Completed)) {
        if !p.certain {
            self.stats.other_http_messages += p.messages.len() as u64;
        } else if p.accepted {
            out(Completed::OrphanConnectionRequest(p.cr));
        }
    }

    fn on_possible_connection_request(&mut self, msg: HttpMessage, certain: bool) {
        let message = self.session_message(
            &msg,
            MessageKind::ConnectionRequest,
            false,
            DecodedBody::without_body(&msg),
        );
        let uri = match &msg.start {
            StartLine::Request { uri, .. } => uri.clone(),
            StartLine::Response { .. } => String::new(),
        };
        // A retry after a challenge continues the same exchange.
        if let Some(p) = self.pending_crs.iter_mut().rev().find(|p| {
            !p.accepted
                && p.cr.cpe.ip() == msg.dst.ip()
                && p.cr.acs_ip == msg.src.ip()
                && p.cr.uri == uri
        }) {
            if p.messages.len() < 16 {
                p.messages.push(message);
            }
            return;
        }
        if self.pending_crs.len() >= self.cfg.max_pending_connection_requests.max(1) {
            // Room is made at the expense of uncertain ones first, so that web traffic cannot
            // push out a real Connection Request.
            self.stats.limits_hit.add(Limit::PendingConnectionRequests);
            let oldest = self.pending_crs.iter().position(|p| !p.certain);
            if let Some(p) = self.pending_crs.remove(oldest.unwrap_or(0))
                && !p.certain
            {
                self.stats.other_http_messages += p.messages.len() as u64;
            }
        }
        self.pending_crs.push_back(PendingCr {
            cr: ConnectionRequest {
                acs_ip: msg.src.ip(),
                cpe: msg.dst,
                uri,
                frame: msg.first_frame,
                ts: msg.ts,
                challenged: false,
                final_status: None,
                final_frame: None,
                final_ts: None,
            },
            messages: vec![message],
            accepted: false,
            certain,
        });
    }

    fn on_connection_request_answer(&mut self, msg: HttpMessage) {
        // The answer travels CPE → ACS.
        let cpe_ip = msg.src.ip();
        let acs_ip = msg.dst.ip();
        let Some(pos) = self.pending_crs.iter().rposition(|p| {
            p.cr.cpe.ip() == cpe_ip && p.cr.acs_ip == acs_ip && p.cr.final_status.is_none()
        }) else {
            self.stats.other_http_messages += 1;
            return;
        };
        let status = msg.status();
        if msg.body_len > 0 && matches!(status, Some(200..=299)) {
            // A body: this was an ordinary download, not a Connection Request.
            self.pending_crs.remove(pos);
            self.stats.other_http_messages += 2;
            return;
        }
        let message = self.session_message(
            &msg,
            MessageKind::ConnectionRequest,
            true,
            DecodedBody::without_body(&msg),
        );
        let Some(p) = self.pending_crs.get_mut(pos) else {
            return;
        };
        if p.messages.len() < 16 {
            p.messages.push(message);
        }
        match status {
            Some(401) => p.cr.challenged = true,
            Some(s) if !msg.interim => {
                p.cr.final_status = Some(s);
                p.cr.final_frame = Some(msg.first_frame);
                p.cr.final_ts = Some(msg.ts);
                p.accepted = (200..300).contains(&s);
                if !p.certain && !p.accepted {
                    // Refused: nothing an uncertain one could be confirmed by.
                    if let Some(p) = self.pending_crs.remove(pos) {
                        self.stats.other_http_messages += p.messages.len() as u64;
                    }
                }
            }
            _ => {}
        }
    }

    /// Ties the latest Connection Request to this CPE to a session whose Inform says
    /// `6 CONNECTION REQUEST`.
    fn claim_connection_request(&mut self, cpe_ip: IpAddr, inform_ts: Nanos) -> Option<PendingCr> {
        let candidate = |p: &PendingCr| p.cr.cpe.ip() == cpe_ip && p.cr.ts <= inform_ts;
        let pos = self
            .pending_crs
            .iter()
            .rposition(|p| candidate(p) && p.certain)
            .or_else(|| {
                self.pending_crs
                    .iter()
                    .rposition(|p| candidate(p) && !p.certain && self.confirms(p))
            })?;
        let pending = self.pending_crs.remove(pos)?;
        self.stats.connection_requests += 1;
        Some(pending)
    }

    /// Called after a message joined a session: ties a Connection Request when the session's
    /// Inform asks for it.
    fn tie_connection_request(&mut self, number: u64) {
        let Some(open) = self.open.get(&number) else {
            return;
        };
        if open.session.connection_request.is_some() {
            return;
        }
        let wants = open
            .session
            .events
            .iter()
            .any(|e| e.code.trim() == "6 CONNECTION REQUEST");
        if !wants {
            return;
        }
        let (cpe_ip, ts) = (open.session.cpe_ip, open.session.start);
        if let Some(p) = self.claim_connection_request(cpe_ip, ts)
            && let Some(open) = self.open.get_mut(&number)
        {
            open.session.connection_request = Some(p.cr);
            open.session.messages.extend(p.messages);
        }
    }
}

impl SessionTracker {
    /// As [`SessionTracker::push`], with the body of the event's message already decoded
    /// (by [`DecodedBody::of`] with this stage's limits).
    pub fn push_decoded(
        &mut self,
        ev: HttpEvent,
        decoded: DecodedBody,
        out: &mut impl FnMut(Completed),
    ) {
        if let HttpEvent::Message(m) = &ev {
            self.predecoded = Some((m.conn, m.index, decoded));
        }
        self.push(ev, out);
        self.predecoded = None;
    }

    /// Entry point used by the pipeline: one HTTP event in, finished sessions out, with the
    /// Connection Request tie-in applied after each message.
    pub fn push(&mut self, ev: HttpEvent, out: &mut impl FnMut(Completed)) {
        let conn = match &ev {
            HttpEvent::Message(m) => Some(m.conn),
            _ => None,
        };
        self.on_http(ev, out);
        if let Some(number) = conn
            .and_then(|c| self.conns.get(&c))
            .and_then(|s| s.session)
        {
            self.tie_connection_request(number);
            self.take_unannounced_connection_request(number);
        }
    }

    /// Called after a message joined a session, until its Inform is in: an accepted Connection
    /// Request to this CPE answered before the Inform, which lacks `6 CONNECTION REQUEST`, was
    /// not announced (the CPE must announce it in its next session), and the session takes it.
    fn take_unannounced_connection_request(&mut self, number: u64) {
        let Some(open) = self.open.get_mut(&number) else {
            return;
        };
        let s = &open.session;
        if open.unannounced_checked || s.device.is_none() {
            return;
        }
        open.unannounced_checked = true;
        if s.connection_request.is_some()
            || s.events
                .iter()
                .any(|e| e.code.trim() == "6 CONNECTION REQUEST")
        {
            return;
        }
        let Some(inform_ts) = s
            .messages
            .iter()
            .find(|m| m.from_cpe && m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))))
            .map(|m| m.ts)
        else {
            return;
        };
        let cpe_ip = s.cpe_ip;
        let Some(pos) = self.pending_crs.iter().rposition(|p| {
            p.accepted && p.cr.cpe.ip() == cpe_ip && p.cr.final_ts.is_some_and(|t| t <= inform_ts)
        }) else {
            return;
        };
        if let Some(p) = self.pending_crs.remove(pos) {
            open.session.unannounced_connection_request = Some(p.cr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_table_buckets_hold_a_pointer_not_the_state() {
        // The spare buckets of a table grown by a SYN flood stay two words each.
        assert!(std::mem::size_of::<(ConnId, Box<ConnState>)>() <= 16);
        assert!(std::mem::size_of::<ConnState>() > 64, "boxing is worth it");
    }
}
