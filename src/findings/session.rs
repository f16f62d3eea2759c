//! Rules that judge one finished CWMP session on its own: authentication, session structure,
//! Inform content, timing inside the session, and the TCP connections it used. Rules that need
//! a CPE's earlier sessions live in [`super::cpe`].
//!
//! Interpretation choices (documented in docs/findings.md):
//! - An empty POST carries no RPC, so it is not "the first CWMP request" of `inform-not-first`
//!   (netcwmp opens every session with one).
//! - A request answered by `401` (or by another error status) was not processed: its RPCs are
//!   not paired, and an Inform sent again after the challenge is not a second Inform.
//! - A session that was still open when the capture ended is not `session-not-terminated`.

use super::datetime;
use super::{Code, Finding, Thresholds};
use crate::cwmp::{CwmpNs, Envelope, Rpc};
use crate::http::auth::{Challenge, Credentials};
use crate::session::{ConnectionRequest, MessageKind, Note, Session, SessionMessage, Termination};
use crate::tcp::ConnEnd;
use crate::types::{Dir, FrameRef, Nanos};

/// The findings of one finished session.
pub fn check_session(s: &Session, th: &Thresholds) -> Vec<Finding> {
    let view = SessionView::new(s);
    let mut out = Vec::new();
    capture_notes(s, &mut out);
    malformed_messages(s, &mut out);
    authentication(&view, &mut out);
    structure(&view, &mut out);
    rpc_pairing(&view, &mut out);
    termination(&view, &mut out);
    cookies(&view, &mut out);
    inform_content(&view, th, &mut out);
    timing(&view, th, &mut out);
    tcp(&view, th, &mut out);
    out
}

/// `connection-request-timing` for an accepted Connection Request that no session claimed: no
/// Inform with `6 CONNECTION REQUEST` followed within the window.
pub fn orphan_connection_request(cr: &ConnectionRequest, th: &Thresholds) -> Finding {
    let status = cr
        .final_status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    Finding::new(
        Code::ConnectionRequestTiming,
        format!(
            "Connection Request to {} (answered {status}) was not followed by an Inform with \
             6 CONNECTION REQUEST within {} s",
            cr.cpe,
            secs(th.connection_request_timeout)
        ),
    )
    .frames(std::iter::once(cr.frame).chain(cr.final_frame))
}

/// Seconds with one decimal, for messages.
pub(super) fn secs(n: Nanos) -> String {
    format!("{:.1}", n as f64 / 1e9)
}

fn side(from_cpe: bool) -> &'static str {
    if from_cpe { "CPE" } else { "ACS" }
}

/// One CWMP HTTP request of the CPE with the ACS's response to it (paired per connection, in
/// order), as indices into `Session::messages`.
#[derive(Clone, Copy, Debug)]
struct Exchange {
    request: usize,
    response: Option<usize>,
}

/// A session with the pairings every rule needs.
struct SessionView<'a> {
    s: &'a Session,
    exchanges: Vec<Exchange>,
}

impl<'a> SessionView<'a> {
    fn new(s: &'a Session) -> Self {
        let mut exchanges: Vec<Exchange> = Vec::new();
        // Index into `exchanges` of the requests still waiting for a response, per connection.
        let mut waiting: Vec<(crate::types::ConnId, usize)> = Vec::new();
        for (i, m) in s.messages.iter().enumerate() {
            if m.kind != MessageKind::Cwmp {
                continue;
            }
            if m.from_cpe {
                waiting.push((m.conn, exchanges.len()));
                exchanges.push(Exchange {
                    request: i,
                    response: None,
                });
            } else if m.http.status.is_some_and(|st| st >= 200)
                && let Some(pos) = waiting.iter().position(|(c, _)| *c == m.conn)
            {
                let (_, e) = waiting.remove(pos);
                if let Some(ex) = exchanges.get_mut(e) {
                    ex.response = Some(i);
                }
            }
        }
        SessionView { s, exchanges }
    }

    fn msg(&self, i: usize) -> Option<&'a SessionMessage> {
        self.s.messages.get(i)
    }

    fn status_of(&self, ex: &Exchange) -> Option<u16> {
        ex.response
            .and_then(|r| self.msg(r))
            .and_then(|m| m.http.status)
    }

    /// Whether the ACS processed the request (a 2xx answer, or none seen).
    fn processed(&self, ex: &Exchange) -> bool {
        self.status_of(ex).is_none_or(|st| (200..300).contains(&st))
    }

    /// Index of the Inform message the session is built on (the last one, re-sent after a
    /// challenge), if any.
    fn inform_index(&self) -> Option<usize> {
        self.exchanges
            .iter()
            .filter(|ex| self.processed(ex))
            .map(|ex| ex.request)
            .find(|&i| self.msg(i).is_some_and(carries_inform))
            .or_else(|| {
                self.s
                    .messages
                    .iter()
                    .rposition(|m| m.from_cpe && carries_inform(m))
            })
    }

    fn inform(&self) -> Option<(usize, &'a crate::cwmp::Inform)> {
        let i = self.inform_index()?;
        let inform = self.msg(i)?.envelopes.iter().find_map(|e| match &e.rpc {
            Rpc::Inform(inform) => Some(inform),
            _ => None,
        })?;
        Some((i, inform))
    }

    /// Frame and message index of the first message, for findings about the whole session.
    fn anchor(&self) -> (Option<FrameRef>, Option<usize>) {
        match self.inform_index() {
            Some(i) => (self.msg(i).map(|m| m.last_frame), Some(i)),
            None => (self.s.messages.first().map(|m| m.last_frame), None),
        }
    }
}

fn carries_inform(m: &SessionMessage) -> bool {
    m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_)))
}

/// A finding tied to message `i` (its completing frame and its arrow).
fn at(f: Finding, s: &Session, i: usize) -> Finding {
    match s.messages.get(i) {
        Some(m) => f.frames([m.last_frame]).at_message(i),
        None => f,
    }
}

/// Ties a finding about the whole session to its Inform (or its first message).
pub(super) fn anchor_to_session(f: Finding, s: &Session) -> Finding {
    let (frame, index) = SessionView::new(s).anchor();
    let f = f.frames(frame);
    match index {
        Some(i) => f.at_message(i),
        None => f,
    }
}

// ---- capture notes and malformed messages ----

fn capture_notes(s: &Session, out: &mut Vec<Finding>) {
    for note in &s.notes {
        out.push(match note {
            Note::CaptureGap {
                frame,
                len,
                from_cpe,
                ..
            } => Finding::new(
                Code::CaptureGap,
                format!(
                    "{len} bytes from the {} lost by the capture; messages around frame {} are incomplete",
                    side(*from_cpe),
                    frame.number
                ),
            )
            .frames([*frame]),
            Note::MalformedHttp {
                frame,
                offset,
                reason,
                ..
            } => Finding::new(
                Code::MalformedMessage,
                format!("HTTP framing unreadable at stream byte {offset}: {reason}"),
            )
            .frames([*frame]),
        });
    }
}

fn malformed_messages(s: &Session, out: &mut Vec<Finding>) {
    for (i, m) in s.messages.iter().enumerate() {
        if let Some(bad) = &m.malformed {
            out.push(at(
                Finding::new(
                    Code::MalformedMessage,
                    format!(
                        "{} sent XML that cannot be parsed at body byte {}: {}",
                        side(m.from_cpe),
                        bad.offset,
                        bad.reason
                    ),
                ),
                s,
                i,
            ));
        }
    }
}

// ---- authentication ----

fn is_basic(c: &Option<Credentials>) -> bool {
    matches!(c, Some(Credentials::Basic { .. }))
}

fn basic_user(c: &Option<Credentials>) -> String {
    match c {
        Some(Credentials::Basic {
            username: Some(u), ..
        }) => format!(" (user \"{u}\")"),
        _ => String::new(),
    }
}

fn challenge_is_stale(c: &Challenge) -> bool {
    matches!(c, Challenge::Digest(d) if d.stale == Some(true))
}

fn authentication(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // basic-auth-cleartext, CWMP side: once per session, at the first such request.
    let basic: Vec<usize> = v
        .exchanges
        .iter()
        .map(|ex| ex.request)
        .filter(|&i| v.msg(i).is_some_and(|m| is_basic(&m.credentials)))
        .collect();
    if let Some(&first) = basic.first()
        && let Some(m) = v.msg(first)
    {
        out.push(at(
            Finding::new(
                Code::BasicAuthCleartext,
                format!(
                    "CPE sent Authorization: Basic{} to the ACS over plain HTTP on {} of {} \
                     CWMP requests; the password is readable in the capture",
                    basic_user(&m.credentials),
                    basic.len(),
                    v.exchanges.len()
                ),
            ),
            s,
            first,
        ));
    }
    // basic-auth-cleartext, Connection Request side.
    if let Some(i) = s.messages.iter().position(|m| {
        m.kind == MessageKind::ConnectionRequest && !m.from_cpe && is_basic(&m.credentials)
    }) && let Some(m) = v.msg(i)
    {
        out.push(at(
            Finding::new(
                Code::BasicAuthCleartext,
                format!(
                    "ACS sent Authorization: Basic{} on the Connection Request GET over plain \
                     HTTP; the password is readable in the capture",
                    basic_user(&m.credentials)
                ),
            ),
            s,
            i,
        ));
    }

    // auth-stale-nonce and acs-auth-failed (a 401 to credentials in the challenged scheme).
    let mut failed = false;
    let mut first_challenge: Option<usize> = None;
    for (n, ex) in v.exchanges.iter().enumerate() {
        let Some(ri) = ex.response else { continue };
        let Some(resp) = v.msg(ri) else { continue };
        if resp.http.status != Some(401) {
            continue;
        }
        first_challenge.get_or_insert(n);
        if resp.challenges.iter().any(challenge_is_stale) {
            out.push(at(
                Finding::new(
                    Code::AuthStaleNonce,
                    "ACS answered 401 with stale=true: the CPE's Digest nonce expired and it must \
                     retry with the new one",
                ),
                s,
                ri,
            ));
            continue;
        }
        let Some(req) = v.msg(ex.request) else {
            continue;
        };
        let Some(cred) = &req.credentials else {
            continue;
        };
        let scheme = cred.scheme();
        if resp
            .challenges
            .iter()
            .any(|c| c.scheme().eq_ignore_ascii_case(scheme))
        {
            failed = true;
            out.push(
                Finding::new(
                    Code::AcsAuthFailed,
                    format!(
                        "ACS answered 401 to a request that already carried {scheme} credentials \
                         (wrong password, realm or nonce binding)"
                    ),
                )
                .frames([req.last_frame, resp.last_frame])
                .at_message(ri),
            );
        }
    }
    // acs-auth-failed: challenged, and never got past it.
    if let Some(first) = first_challenge
        && !failed
        && s.termination != Termination::CaptureEnded
    {
        // Got past the challenge: a later request succeeded, or carried credentials that the
        // ACS did not refuse with another 401 (a 503 after authenticating is not an auth failure).
        let authenticated = v.exchanges.iter().skip(first + 1).any(|ex| {
            let status = v.status_of(ex);
            status.is_some_and(|st| (200..300).contains(&st))
                || (v.msg(ex.request).is_some_and(|m| m.credentials.is_some())
                    && status.is_some_and(|st| st != 401))
        });
        if !authenticated && let Some(ex) = v.exchanges.get(first) {
            let ri = ex.response.unwrap_or(ex.request);
            out.push(at(
                Finding::new(
                    Code::AcsAuthFailed,
                    format!(
                        "the session ended ({}) after the ACS's 401 without the CPE ever \
                         authenticating",
                        s.termination.as_str()
                    ),
                ),
                s,
                ri,
            ));
        }
    }

    // acs-auth-missing: the Inform accepted with neither a challenge nor credentials.
    if let Some((n, ex)) = v.exchanges.iter().enumerate().find(|(_, ex)| {
        v.msg(ex.request).is_some_and(carries_inform)
            && v.status_of(ex).is_some_and(|st| (200..300).contains(&st))
    }) {
        let challenged = first_challenge.is_some_and(|c| c < n);
        let credentials = v.msg(ex.request).is_some_and(|m| m.credentials.is_some());
        if !challenged && !credentials {
            let ri = ex.response.unwrap_or(ex.request);
            out.push(
                Finding::new(
                    Code::AcsAuthMissing,
                    "ACS accepted the Inform over plain HTTP without any challenge or credentials",
                )
                .frames(v.msg(ex.request).map(|m| m.last_frame))
                .frames(v.msg(ri).map(|m| m.last_frame))
                .at_message(ri),
            );
        }
    }

    // connection-request-unauthenticated.
    if let Some(cr) = &s.connection_request
        && !cr.challenged
        && let Some(status @ (200 | 204)) = cr.final_status
    {
        let mut f = Finding::new(
            Code::ConnectionRequestUnauthenticated,
            format!(
                "CPE {} answered the Connection Request GET {} with {status} without challenging it",
                cr.cpe, cr.uri
            ),
        )
        .frames(std::iter::once(cr.frame).chain(cr.final_frame));
        if let Some(i) = s.messages.iter().position(|m| {
            m.kind == MessageKind::ConnectionRequest && m.from_cpe && m.http.status == Some(status)
        }) {
            f = f.at_message(i);
        }
        out.push(f);
    }
}

// ---- session structure ----

fn structure(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // inform-not-first: the first request that carries an RPC (empty POSTs are not CWMP
    // requests). A capture that began inside the connection may have missed the Inform.
    let began_mid_connection = s.connections.first().is_some_and(|c| !c.handshake_seen);
    if !began_mid_connection
        && let Some(first) = v
            .exchanges
            .iter()
            .map(|ex| ex.request)
            .find(|&i| v.msg(i).is_some_and(|m| m.rpc_names().next().is_some()))
        && let Some(m) = v.msg(first)
        && !carries_inform(m)
    {
        let names: Vec<&str> = m.rpc_names().collect();
        out.push(at(
            Finding::new(
                Code::InformNotFirst,
                format!(
                    "the session's first CWMP request is {}, not an Inform",
                    names.join(" + ")
                ),
            ),
            s,
            first,
        ));
    }

    // multiple-informs: Informs the ACS processed (not the one re-sent after a 401).
    let informs: Vec<usize> = v
        .exchanges
        .iter()
        .filter(|ex| v.processed(ex) && v.msg(ex.request).is_some_and(carries_inform))
        .map(|ex| ex.request)
        .collect();
    if let (Some(&first), Some(&second)) = (informs.first(), informs.get(1)) {
        let mut f = Finding::new(
            Code::MultipleInforms,
            format!(
                "{} Informs in one session (the first at frame {})",
                informs.len(),
                v.msg(first).map_or(0, |m| m.last_frame.number)
            ),
        );
        f = at(f, s, second);
        out.push(f);
    }

    // acs-http-error: every status outside 200/204/401.
    for ex in &v.exchanges {
        if let Some(ri) = ex.response
            && let Some(resp) = v.msg(ri)
            && let Some(st) = resp.http.status
            && !matches!(st, 200 | 204 | 401)
        {
            let reason = resp.http.reason.as_deref().unwrap_or("");
            let what = v
                .msg(ex.request)
                .map(|m| {
                    let names: Vec<&str> = m.rpc_names().collect();
                    if names.is_empty() {
                        "an empty POST".to_owned()
                    } else {
                        names.join(" + ")
                    }
                })
                .unwrap_or_default();
            out.push(at(
                Finding::new(
                    Code::AcsHttpError,
                    format!("ACS answered {what} with HTTP {st} {reason}")
                        .trim_end()
                        .to_owned(),
                ),
                s,
                ri,
            ));
        }
    }

    // pipelining: the next POST on a connection began before the previous response.
    for pair in v.exchanges.windows(2) {
        let [a, b] = pair else { continue };
        let (Some(ra), Some(rb)) = (v.msg(a.request), v.msg(b.request)) else {
            continue;
        };
        if ra.conn != rb.conn {
            continue;
        }
        let early = match a.response.and_then(|r| v.msg(r)) {
            Some(resp) => rb.ts < resp.ts,
            None => true,
        };
        if early {
            out.push(at(
                Finding::new(
                    Code::Pipelining,
                    format!(
                        "CPE sent its next POST before the ACS answered the one at frame {}",
                        ra.last_frame.number
                    ),
                ),
                s,
                b.request,
            ));
            break;
        }
    }

    hold_and_empty_post(v, out);
    versions(v, out);
    max_envelopes(v, out);
}

fn is_cwmp_request(e: &Envelope) -> bool {
    let name = e.rpc.name();
    !name.is_empty() && !is_response_name(name)
}

fn is_response_name(name: &str) -> bool {
    name == "Fault" || name.ends_with("Response")
}

fn hold_and_empty_post(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    let mut hold = false;
    let mut hold_reported = false;
    let mut empty_post: Option<usize> = None;
    let mut after_empty_reported = false;
    let mut inform_seen = false;
    for ex in &v.exchanges {
        let Some(req) = v.msg(ex.request) else {
            continue;
        };
        let request_rpc = req
            .envelopes
            .iter()
            .find(|e| is_cwmp_request(e))
            .map(|e| e.rpc.name());
        if let Some(name) = request_rpc {
            if hold && !hold_reported {
                hold_reported = true;
                out.push(at(
                    Finding::new(
                        Code::HoldRequestsViolated,
                        format!("CPE sent {name} while the ACS had set HoldRequests"),
                    ),
                    s,
                    ex.request,
                ));
            }
            if let Some(e) = empty_post
                && !after_empty_reported
                && name != "Inform"
            {
                after_empty_reported = true;
                out.push(at(
                    Finding::new(
                        Code::RequestAfterEmptyPost,
                        format!(
                            "CPE sent {name} after its empty POST at frame {}",
                            v.msg(e).map_or(0, |m| m.last_frame.number)
                        ),
                    ),
                    s,
                    ex.request,
                ));
            }
        }
        inform_seen |= carries_inform(req);
        let accepted = v.status_of(ex).is_some_and(|st| (200..300).contains(&st));
        if accepted && req.is_empty_body() && inform_seen && empty_post.is_none() {
            empty_post = Some(ex.request);
        }
        if let Some(resp) = ex.response.and_then(|r| v.msg(r))
            && !resp.envelopes.is_empty()
        {
            hold = resp
                .envelopes
                .iter()
                .any(|e| e.header.hold_requests == Some(true));
        }
    }
}

fn versions(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    let mut cpe_ns: Option<(&CwmpNs, usize)> = None;
    let mut acs_ns: Option<(&CwmpNs, usize)> = None;
    let mut unknown_reported: Vec<&CwmpNs> = Vec::new();
    for (i, m) in s.messages.iter().enumerate() {
        for e in &m.envelopes {
            let Some(ns) = &e.ns else { continue };
            if matches!(ns, CwmpNs::Unknown(_)) && !unknown_reported.contains(&ns) {
                unknown_reported.push(ns);
                out.push(at(
                    Finding::new(
                        Code::CwmpVersionMismatch,
                        format!("{} used the unknown cwmp namespace {ns}", side(m.from_cpe)),
                    ),
                    s,
                    i,
                ));
            }
            let slot = if m.from_cpe { &mut cpe_ns } else { &mut acs_ns };
            slot.get_or_insert((ns, i));
        }
    }
    if let (Some((c, _)), Some((a, ai))) = (cpe_ns, acs_ns)
        && c != a
        && !unknown_reported.contains(&c)
        && !unknown_reported.contains(&a)
    {
        out.push(at(
            Finding::new(
                Code::CwmpVersionMismatch,
                format!("CPE uses {c} but the ACS answers with {a}"),
            ),
            s,
            ai,
        ));
    }
}

fn max_envelopes(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    let cpe_limit = v.inform().and_then(|(_, i)| i.max_envelopes);
    let acs_limit = s
        .messages
        .iter()
        .flat_map(|m| m.envelopes.iter())
        .find_map(|e| match e.rpc {
            Rpc::InformResponse { max_envelopes } => max_envelopes,
            _ => None,
        });
    let mut reported = [false, false];
    for (i, m) in s.messages.iter().enumerate() {
        if m.kind != MessageKind::Cwmp {
            continue;
        }
        // The CPE's MaxEnvelopes bounds the ACS's bodies and the reverse; 0 is no bound.
        let (limit, receiver, slot) = if m.from_cpe {
            (acs_limit, "ACS", 1)
        } else {
            (cpe_limit, "CPE", 0)
        };
        let Some(limit) = limit.filter(|&l| l > 0) else {
            continue;
        };
        let count = m.envelopes.len();
        if count > limit as usize
            && let Some(done) = reported.get_mut(slot)
            && !*done
        {
            *done = true;
            out.push(at(
                Finding::new(
                    Code::MaxEnvelopesExceeded,
                    format!(
                        "{} put {count} envelopes in one body but the {receiver}'s MaxEnvelopes is {limit}",
                        side(m.from_cpe)
                    ),
                ),
                s,
                i,
            ));
        }
    }
}

// ---- RPC pairing ----

/// A request waiting for its response.
struct Outstanding<'a> {
    name: &'a str,
    id: Option<&'a str>,
    message: usize,
}

fn rpc_pairing(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // Requests of the CPE waiting for the ACS's responses, and the reverse.
    let mut cpe_waiting: Vec<Outstanding<'_>> = Vec::new();
    let mut acs_waiting: Vec<Outstanding<'_>> = Vec::new();
    let mut id_reported = false;
    for ex in &v.exchanges {
        let processed = v.processed(ex);
        if let Some(req) = v.msg(ex.request) {
            // A request the ACS refused (401, error) was not processed: it pairs nothing.
            for e in req.envelopes.iter().filter(|_| processed) {
                pair_envelope(
                    s,
                    e,
                    ex.request,
                    &mut cpe_waiting,
                    &mut acs_waiting,
                    &mut id_reported,
                    out,
                );
            }
        }
        if processed
            && let Some(ri) = ex.response
            && let Some(resp) = v.msg(ri)
        {
            for e in &resp.envelopes {
                pair_envelope(
                    s,
                    e,
                    ri,
                    &mut acs_waiting,
                    &mut cpe_waiting,
                    &mut id_reported,
                    out,
                );
            }
        }
    }
    if s.termination == Termination::CaptureEnded {
        // The capture ended first: the answers may simply not be in it.
        return;
    }
    for (waiting, who) in [(&cpe_waiting, "CPE"), (&acs_waiting, "ACS")] {
        for o in waiting {
            out.push(at(
                Finding::new(
                    Code::RpcUnanswered,
                    format!(
                        "{who}'s {} got neither response nor fault before the session ended ({})",
                        o.name,
                        s.termination.as_str()
                    ),
                ),
                s,
                o.message,
            ));
        }
    }
}

/// Pairs one envelope sent by one side: a request joins `own` (requests of the sender), a
/// response or fault answers the oldest request of `other`.
fn pair_envelope<'a>(
    s: &Session,
    e: &'a Envelope,
    message: usize,
    own: &mut Vec<Outstanding<'a>>,
    other: &mut Vec<Outstanding<'a>>,
    id_reported: &mut bool,
    out: &mut Vec<Finding>,
) {
    let name = e.rpc.name();
    if name.is_empty() {
        return;
    }
    let id = e.header.id.as_deref();
    if !is_response_name(name) {
        if own.len() < 64 {
            own.push(Outstanding { name, id, message });
        }
        return;
    }
    let sender = s.messages.get(message).is_some_and(|m| m.from_cpe);
    if other.is_empty() {
        out.push(at(
            Finding::new(
                Code::ResponseMismatch,
                format!(
                    "{} sent {name} but no request was outstanding",
                    side(sender)
                ),
            ),
            s,
            message,
        ));
        return;
    }
    let request = other.remove(0);
    let matches = name == "Fault"
        || name
            .strip_suffix("Response")
            .is_some_and(|base| base == request.name);
    if !matches {
        out.push(at(
            Finding::new(
                Code::ResponseMismatch,
                format!(
                    "{} answered {} (frame {}) with {name}",
                    side(sender),
                    request.name,
                    s.messages
                        .get(request.message)
                        .map_or(0, |m| m.last_frame.number)
                ),
            ),
            s,
            message,
        ));
    }
    if let Some(req_id) = request.id
        && id != Some(req_id)
        && !*id_reported
    {
        *id_reported = true;
        let got = id.map_or_else(|| "no cwmp:ID".to_owned(), |i| format!("cwmp:ID \"{i}\""));
        out.push(at(
            Finding::new(
                Code::CwmpIdMismatch,
                format!(
                    "{name} carries {got} but its request {} had cwmp:ID \"{req_id}\"",
                    request.name
                ),
            ),
            s,
            message,
        ));
    }
}

// ---- termination ----

fn termination(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    match s.termination {
        Termination::Normal => {
            let ended = s
                .ended_by
                .and_then(|f| s.messages.iter().position(|m| !m.from_cpe && m.frame == f));
            if let Some(i) = ended
                && s.messages.get(i).and_then(|m| m.http.status) == Some(200)
            {
                out.push(at(
                    Finding::new(
                        Code::EmptyResponseNot204,
                        "ACS ended the session with 200 and an empty body (Amendment 6 wants 204)",
                    ),
                    s,
                    i,
                ));
            }
        }
        Termination::CaptureEnded => {}
        t @ (Termination::Closed | Termination::Reset | Termination::Timeout) => {
            let how = match t {
                Termination::Closed => "the connection closed",
                Termination::Reset => "the connection was reset",
                _ => "the connection went idle",
            };
            let last = s.messages.len().checked_sub(1);
            let mut f = Finding::new(
                Code::SessionNotTerminated,
                format!("{how} before the ACS ended the session with an empty HTTP response"),
            );
            if let Some(i) = last {
                f = at(f, s, i);
            }
            out.push(f);
        }
    }
}

// ---- cookies ----

fn cookies(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // Cookies the ACS set, latest value per name, with the message that set them.
    let mut set: Vec<(&str, &str, usize)> = Vec::new();
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for (i, m) in s.messages.iter().enumerate() {
        if m.kind != MessageKind::Cwmp {
            continue;
        }
        if !m.from_cpe {
            for (name, value) in &m.set_cookies {
                if let Some(slot) = set.iter_mut().find(|(n, _, _)| n == name) {
                    *slot = (name, value, i);
                } else if set.len() < 16 {
                    set.push((name, value, i));
                }
            }
            continue;
        }
        for &(name, value, setter) in &set {
            let returned = m.cookies.iter().any(|(n, v)| n == name && v == value);
            if !returned && !reported.contains(&(name, value)) {
                reported.push((name, value));
                out.push(
                    Finding::new(
                        Code::CookieNotReturned,
                        format!(
                            "ACS set cookie {name}={value} (frame {}) but the CPE's next request lacks it",
                            s.messages.get(setter).map_or(0, |m| m.last_frame.number)
                        ),
                    )
                    .frames(s.messages.get(setter).map(|m| m.last_frame))
                    .frames([m.last_frame])
                    .at_message(i),
                );
            }
        }
    }
}

// ---- Inform content ----

/// The number of a numbered event code (`7 TRANSFER COMPLETE` → 7).
fn event_number(code: &str) -> Option<u32> {
    code.split_whitespace().next()?.parse().ok()
}

fn is_method_event(code: &str, method: &str) -> bool {
    let mut words = code.split_whitespace();
    words.next() == Some("M") && words.next().is_some_and(|w| w.eq_ignore_ascii_case(method))
}

fn inform_content(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
    let s = v.s;
    let Some((ii, inform)) = v.inform() else {
        return;
    };
    let codes: Vec<&str> = inform.events.iter().map(|e| e.code.trim()).collect();
    let has_number = |n: u32| codes.iter().any(|c| event_number(c) == Some(n));
    let has_method = |m: &str| codes.iter().any(|c| is_method_event(c, m));

    // event-missing: (missing event, why), one finding per missing event.
    let mut missing: Vec<(&str, String)> = Vec::new();
    let transfer_methods =
        has_method("Download") || has_method("ScheduleDownload") || has_method("Upload");
    let carries_tc = s
        .envelopes()
        .any(|(m, e)| m.from_cpe && matches!(e.rpc, Rpc::TransferComplete(_)));
    if has_number(7) && !transfer_methods {
        missing.push((
            "M Download/M ScheduleDownload/M Upload",
            "the Inform has 7 TRANSFER COMPLETE".to_owned(),
        ));
    }
    if !has_number(7) && (transfer_methods || carries_tc) {
        let why = match (transfer_methods, carries_tc) {
            (true, true) => {
                "the Inform has a transfer method event and the session carries TransferComplete"
            }
            (true, false) => {
                "the Inform has a transfer method event (M Download/M ScheduleDownload/M Upload)"
            }
            _ => "the session carries TransferComplete",
        };
        missing.push(("7 TRANSFER COMPLETE", why.to_owned()));
    }
    if has_number(3) && !has_method("ScheduleInform") {
        missing.push(("M ScheduleInform", "the Inform has 3 SCHEDULED".to_owned()));
    }
    if has_method("Reboot") && !has_number(1) {
        missing.push(("1 BOOT", "the Inform has M Reboot".to_owned()));
    }
    if has_number(11) && !has_method("ChangeDUState") {
        missing.push((
            "M ChangeDUState",
            "the Inform has 11 DU STATE CHANGE COMPLETE".to_owned(),
        ));
    }
    for (event, why) in missing {
        out.push(at(
            Finding::new(
                Code::EventMissing,
                format!("Inform events [{}] lack {event}: {why}", codes.join(", ")),
            ),
            s,
            ii,
        ));
    }

    // event-duplicate: a numbered event twice.
    let mut seen: Vec<u32> = Vec::new();
    let mut reported: Vec<u32> = Vec::new();
    for c in &codes {
        let Some(n) = event_number(c) else { continue };
        if seen.contains(&n) {
            if !reported.contains(&n) {
                reported.push(n);
                let times = codes.iter().filter(|x| event_number(x) == Some(n)).count();
                out.push(at(
                    Finding::new(
                        Code::EventDuplicate,
                        format!("event \"{c}\" appears {times} times in one Inform"),
                    ),
                    s,
                    ii,
                ));
            }
        } else if seen.len() < 64 {
            seen.push(n);
        }
    }

    // device-id-invalid.
    let id = &inform.device_id;
    let mut problems = Vec::new();
    let oui = id.oui.trim();
    if oui.len() != 6 || !oui.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(format!("OUI \"{}\" is not 6 hex digits", id.oui));
    }
    if id.serial_number.trim().is_empty() {
        problems.push("SerialNumber is empty".to_owned());
    }
    if !problems.is_empty() {
        out.push(at(
            Finding::new(Code::DeviceIdInvalid, problems.join("; ")),
            s,
            ii,
        ));
    }

    // clock-skew.
    if let Some(text) = inform.current_time.as_deref()
        && !datetime::is_unknown_time(text)
        && let Some(t) = datetime::parse(text)
        && let Some(m) = v.msg(ii)
    {
        let skew = t.nanos.saturating_sub(m.ts);
        if skew.unsigned_abs() > th.clock_skew.unsigned_abs() {
            let dir = if skew > 0 { "ahead of" } else { "behind" };
            let zone = if t.has_zone {
                ""
            } else {
                " (no time zone given: taken as UTC)"
            };
            out.push(at(
                Finding::new(
                    Code::ClockSkew,
                    format!(
                        "Inform CurrentTime {} is {} s {dir} the capture time {}{zone}",
                        text.trim(),
                        secs(skew.saturating_abs()),
                        crate::types::format_ts(m.ts)
                    ),
                ),
                s,
                ii,
            ));
        }
    }

    // retry-count-nonzero (info; the CPE history upgrades it when it grows).
    if let Some(n) = inform.retry_count.filter(|&n| n > 0) {
        out.push(at(
            Finding::new(
                Code::RetryCountNonzero,
                format!("Inform RetryCount is {n}: the CPE's earlier sessions failed"),
            ),
            s,
            ii,
        ));
    }
}

// ---- timing ----

fn timing(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
    let s = v.s;
    // slow-response: each one.
    for ex in &v.exchanges {
        let (Some(req), Some(ri)) = (v.msg(ex.request), ex.response) else {
            continue;
        };
        let Some(resp) = v.msg(ri) else { continue };
        let took = resp.ts.saturating_sub(req.end_ts);
        if took > th.slow_response {
            out.push(
                Finding::new(
                    Code::SlowResponse,
                    format!(
                        "ACS took {} s to answer the request at frame {} (threshold {} s)",
                        secs(took),
                        req.last_frame.number,
                        secs(th.slow_response)
                    ),
                )
                .frames([req.last_frame, resp.last_frame])
                .at_message(ri),
            );
        }
    }
    // The CPE answering the ACS's requests slowly is judged the same way: an ACS response
    // carrying requests followed by the CPE's next POST on the connection.
    for pair in v.exchanges.windows(2) {
        let [a, b] = pair else { continue };
        let Some(resp) = a.response.and_then(|r| v.msg(r)) else {
            continue;
        };
        let Some(next) = v.msg(b.request) else {
            continue;
        };
        let acs_asked = resp.envelopes.iter().any(is_cwmp_request);
        let took = next.ts.saturating_sub(resp.end_ts);
        if acs_asked && next.conn == resp.conn && took > th.slow_response {
            out.push(
                Finding::new(
                    Code::SlowResponse,
                    format!(
                        "CPE took {} s to answer the ACS's request at frame {} (threshold {} s)",
                        secs(took),
                        resp.last_frame.number,
                        secs(th.slow_response)
                    ),
                )
                .frames([resp.last_frame, next.last_frame])
                .at_message(b.request),
            );
        }
    }

    // session-timeout: the longest silence between consecutive messages.
    let cpe_timeout = s
        .messages
        .iter()
        .filter(|m| m.from_cpe)
        .flat_map(|m| m.envelopes.iter())
        .find_map(|e| e.header.session_timeout);
    let limit = cpe_timeout.map_or(th.session_timeout, |t| i64::from(t) * 1_000_000_000);
    let cwmp: Vec<(usize, &SessionMessage)> = s
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == MessageKind::Cwmp)
        .collect();
    let mut worst: Option<(Nanos, usize, usize)> = None;
    let mut over = 0usize;
    for pair in cwmp.windows(2) {
        let [(ai, a), (bi, b)] = pair else { continue };
        let gap = b.ts.saturating_sub(a.end_ts);
        if gap > limit {
            over += 1;
            if worst.is_none_or(|(g, _, _)| gap > g) {
                worst = Some((gap, *ai, *bi));
            }
        }
    }
    if let Some((gap, ai, bi)) = worst {
        let source = match cpe_timeout {
            Some(t) => format!("the CPE's SessionTimeout of {t} s"),
            None => format!("the session timeout of {} s", secs(limit)),
        };
        let more = if over > 1 {
            format!(" ({over} such gaps)")
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                Code::SessionTimeout,
                format!(
                    "{} s of silence inside the session, longer than {source}{more}",
                    secs(gap)
                ),
            )
            .frames(s.messages.get(ai).map(|m| m.last_frame))
            .frames(s.messages.get(bi).map(|m| m.last_frame))
            .at_message(bi),
        );
    }

    // connection-request-timing.
    if let Some(cr) = &s.connection_request
        && cr.final_status.is_some_and(|st| (200..300).contains(&st))
        && let Some(cr_ts) = cr.final_ts
        && let Some(ii) =
            v.s.messages
                .iter()
                .position(|m| m.from_cpe && carries_inform(m))
        && let Some(inform) = v.msg(ii)
    {
        let delay = inform.ts.saturating_sub(cr_ts);
        let message = if inform.ts < cr_ts {
            Some(format!(
                "the Inform came {} s before the CPE's answer to the Connection Request",
                secs(delay.saturating_neg())
            ))
        } else if delay > th.connection_request_timeout {
            Some(format!(
                "the Inform with 6 CONNECTION REQUEST came {} s after the accepted Connection \
                 Request (limit {} s)",
                secs(delay),
                secs(th.connection_request_timeout)
            ))
        } else {
            None
        };
        if let Some(message) = message {
            out.push(
                Finding::new(Code::ConnectionRequestTiming, message)
                    .frames(cr.final_frame)
                    .frames([inform.last_frame])
                    .at_message(ii),
            );
        }
    }
}

// ---- TCP ----

fn tcp(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
    let s = v.s;
    let session_end = s
        .ended_by
        .and_then(|f| s.messages.iter().find(|m| !m.from_cpe && m.frame == f))
        .map(|m| m.end_ts);
    for c in &s.connections {
        let last = s.messages.iter().rposition(|m| m.conn == c.id);
        if let Some((ConnEnd::Reset, ts)) = c.end
            && session_end.is_none_or(|end| ts < end)
        {
            let mut f = Finding::new(
                Code::TcpReset,
                format!(
                    "connection {} ↔ {} was reset inside the CWMP session at {}",
                    c.cpe,
                    c.acs,
                    crate::types::format_ts(ts)
                ),
            );
            if let Some(i) = last {
                f = at(f, s, i);
            }
            out.push(f);
        }
        if let Some(stats) = &c.stats {
            let mut parts = Vec::new();
            for (dir, who) in [(Dir::ToServer, "CPE"), (Dir::ToClient, "ACS")] {
                let data = stats.data_segments.get(dir.index()).copied().unwrap_or(0);
                let re = stats.retransmissions.get(dir.index()).copied().unwrap_or(0);
                if data > 0 && re as f64 / data as f64 > th.retransmission_ratio {
                    parts.push(format!(
                        "{re} of {data} data segments from the {who} ({:.1} %)",
                        re as f64 * 100.0 / data as f64
                    ));
                }
            }
            if !parts.is_empty() {
                let mut f = Finding::new(
                    Code::TcpRetransmissions,
                    format!(
                        "retransmissions on {} ↔ {}: {} (threshold {:.1} %)",
                        c.cpe,
                        c.acs,
                        parts.join(", "),
                        th.retransmission_ratio * 100.0
                    ),
                );
                if let Some(i) = s.messages.iter().position(|m| m.conn == c.id) {
                    f = at(f, s, i);
                }
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cwmp::{Header, TransferComplete};
    use crate::findings::Severity;
    use crate::findings::testkit::*;
    use crate::tcp::ConnStats;

    fn check(l: &Ladder) -> Vec<Finding> {
        check_session(&l.build(), &Thresholds::default())
    }

    fn frames(f: &Finding) -> Vec<u64> {
        f.frames.iter().map(|f| f.number).collect()
    }

    /// Inform → 401 → Inform (Digest) → InformResponse → empty POST → 204.
    fn clean() -> Ladder {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .challenge(false)
            .opened(&["2 PERIODIC"])
            .closed();
        l
    }

    #[test]
    fn a_clean_session_has_no_finding() {
        assert_eq!(check(&clean()), vec![]);
    }

    #[test]
    fn basic_to_the_acs_is_cleartext_once_per_session() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["1 BOOT"])])
            .last(|m| m.credentials = Some(basic()))
            .acs(200, vec![inform_response()])
            .cpe(vec![])
            .last(|m| m.credentials = Some(basic()))
            .acs(204, vec![])
            .ends_normally();
        let f = check(&l);
        assert_eq!(codes(&f), ["basic-auth-cleartext"]);
        let b = only(&f, "basic-auth-cleartext");
        assert_eq!(b.severity, Severity::Error);
        assert_eq!(frames(b), [2]);
        assert_eq!(b.message_index, Some(0));
        assert!(
            b.message.contains("\"cpe\"") && b.message.contains("2 of 2"),
            "{}",
            b.message
        );
        assert!(!b.message.contains("secret"));
    }

    #[test]
    fn basic_on_the_connection_request_get_is_cleartext() {
        let mut l = clean();
        let mut get = l.s.messages[0].clone();
        get.kind = MessageKind::ConnectionRequest;
        get.from_cpe = false;
        get.envelopes.clear();
        get.credentials = Some(basic());
        l.s.messages.insert(0, get.clone());
        let f = check(&l);
        assert_eq!(codes(&f), ["basic-auth-cleartext"]);
        assert!(
            only(&f, "basic-auth-cleartext")
                .message
                .contains("Connection Request")
        );
        // With Digest it is fine.
        l.s.messages[0].credentials = Some(digest());
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn a_401_to_credentials_in_the_challenged_scheme_is_auth_failed_unless_stale() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .last(|m| m.credentials = Some(digest()))
            .challenge(false)
            .opened(&["2 PERIODIC"])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["acs-auth-failed"]);
        let a = only(&f, "acs-auth-failed");
        assert_eq!(a.severity, Severity::Error);
        assert_eq!(frames(a), [2, 4]);
        assert_eq!(a.message_index, Some(1));
        assert!(a.message.contains("Digest"));

        // stale=true: the nonce expired, nothing failed.
        l.s.messages[1].challenges = vec![digest_challenge(true)];
        let f = check(&l);
        assert_eq!(codes(&f), ["auth-stale-nonce"]);
        let s = only(&f, "auth-stale-nonce");
        assert_eq!((s.severity, frames(s)), (Severity::Info, vec![4]));

        // Basic credentials answered by a Digest challenge: a scheme change, not a failure.
        l.s.messages[0].credentials = Some(basic());
        l.s.messages[1].challenges = vec![digest_challenge(false)];
        assert_eq!(codes(&check(&l)), ["basic-auth-cleartext"]);
    }

    #[test]
    fn giving_up_after_a_challenge_is_auth_failed() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .challenge(false)
            .ends_abnormally(Termination::Closed);
        let f = check(&l);
        assert_eq!(codes(&f), ["acs-auth-failed", "session-not-terminated"]);
        let a = only(&f, "acs-auth-failed");
        assert!(a.message.contains("closed"), "{}", a.message);
        assert_eq!(frames(a), [4]);
        // The capture ending right after the challenge is no evidence of giving up.
        l.s.termination = Termination::CaptureEnded;
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn an_inform_accepted_without_challenge_or_credentials_is_auth_missing() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .acs(200, vec![inform_response()])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["acs-auth-missing"]);
        let a = only(&f, "acs-auth-missing");
        assert_eq!((a.severity, frames(a)), (Severity::Warning, vec![2, 4]));
        // With credentials (even without a challenge) it is not missing.
        l.s.messages[0].credentials = Some(digest());
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn a_connection_request_accepted_without_challenge_is_unauthenticated() {
        let mut l = Ladder::new();
        l.connection_request(false, 204, T0)
            .opened(&["6 CONNECTION REQUEST"])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["connection-request-unauthenticated"]);
        let c = only(&f, "connection-request-unauthenticated");
        assert_eq!((c.severity, frames(c)), (Severity::Error, vec![1000, 1001]));
        assert!(c.message.contains("204"));
        let mut l = Ladder::new();
        l.connection_request(true, 204, T0)
            .opened(&["6 CONNECTION REQUEST"])
            .closed();
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn inform_not_first_ignores_empty_posts() {
        // netcwmp: empty POST → 401 → Inform: the empty POST is no CWMP request.
        let mut l = Ladder::new();
        l.cpe(vec![])
            .challenge(false)
            .opened(&["0 BOOTSTRAP"])
            .closed();
        assert_eq!(check(&l), vec![]);

        let mut l = Ladder::new();
        let tc = env(other("GetRPCMethods"), Some("7"));
        l.cpe(vec![tc])
            .last(|m| m.credentials = Some(digest()))
            .acs(200, vec![env(other("GetRPCMethodsResponse"), Some("7"))])
            .opened(&["2 PERIODIC"])
            .closed();
        let f = check(&l);
        let n = only(&f, "inform-not-first");
        assert_eq!((n.severity, frames(n)), (Severity::Error, vec![2]));
        assert!(n.message.contains("GetRPCMethods"));
    }

    #[test]
    fn a_second_processed_inform_is_multiple_informs() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).opened(&["2 PERIODIC"]).closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["multiple-informs"]);
        let m = only(&f, "multiple-informs");
        assert_eq!(
            (m.severity, frames(m), m.message_index),
            (Severity::Error, vec![6], Some(2))
        );
        // The Inform re-sent after a 401 is not a second one (see `clean`).
        assert_eq!(check(&clean()), vec![]);
    }

    #[test]
    fn statuses_other_than_200_204_401_are_acs_http_errors() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .cpe(vec![])
            .last(|m| m.credentials = Some(digest()))
            .acs(500, vec![])
            .ends_abnormally(Termination::Closed);
        let f = check(&l);
        assert_eq!(codes(&f), ["acs-http-error", "session-not-terminated"]);
        let e = only(&f, "acs-http-error");
        assert_eq!((e.severity, frames(e)), (Severity::Error, vec![8]));
        assert!(
            e.message.contains("500") && e.message.contains("empty POST"),
            "{}",
            e.message
        );
    }

    #[test]
    fn response_ids_must_echo_request_ids() {
        let mut l = clean();
        l.s.messages[3].envelopes[0].header.id = Some("2".to_owned());
        let f = check(&l);
        assert_eq!(codes(&f), ["cwmp-id-mismatch"]);
        let c = only(&f, "cwmp-id-mismatch");
        assert_eq!((c.severity, frames(c)), (Severity::Warning, vec![8]));
        assert!(c.message.contains("\"2\"") && c.message.contains("\"1\""));
        l.s.messages[3].envelopes[0].header.id = None;
        assert!(
            only(&check(&l), "cwmp-id-mismatch")
                .message
                .contains("no cwmp:ID")
        );
    }

    #[test]
    fn namespaces_must_agree_and_be_known() {
        let mut l = clean();
        l.s.messages[3].envelopes[0].ns = Some(CwmpNs::V1(2));
        let f = check(&l);
        assert_eq!(codes(&f), ["cwmp-version-mismatch"]);
        let v = only(&f, "cwmp-version-mismatch");
        assert!(v.message.contains("cwmp-1-0") && v.message.contains("cwmp-1-2"));
        let mut l = clean();
        for m in &mut l.s.messages {
            for e in &mut m.envelopes {
                e.ns = Some(CwmpNs::Unknown("urn:dslforum-org:cwmp-2-0".to_owned()));
            }
        }
        let f = check(&l);
        assert_eq!(codes(&f), ["cwmp-version-mismatch"]);
        assert!(f[0].message.contains("unknown") && f[0].message.contains("cwmp-2-0"));
    }

    fn transfer_complete() -> Envelope {
        env(
            Rpc::TransferComplete(TransferComplete::default()),
            Some("2"),
        )
    }

    #[test]
    fn requests_while_hold_requests_is_set_are_violations() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["7 TRANSFER COMPLETE", "M Download"])])
            .last(|m| m.credentials = Some(digest()))
            .acs(200, vec![inform_response()])
            .last(|m| m.envelopes[0].header.hold_requests = Some(true))
            .cpe(vec![transfer_complete()])
            .acs(200, vec![env(other("TransferCompleteResponse"), Some("2"))])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["hold-requests-violated"]);
        let h = only(&f, "hold-requests-violated");
        assert_eq!((h.severity, frames(h)), (Severity::Error, vec![6]));
        // HoldRequests false: fine.
        l.s.messages[1].envelopes[0].header = Header {
            id: Some("1".to_owned()),
            hold_requests: Some(false),
            ..Header::default()
        };
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn a_request_after_the_empty_post_is_flagged_but_a_response_is_not() {
        let download = env(other("Download"), Some("9"));
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .cpe(vec![])
            .acs(200, vec![download])
            .cpe(vec![env(other("DownloadResponse"), Some("9"))])
            .acs(204, vec![])
            .ends_normally();
        assert_eq!(check(&l), vec![]);
        // Two envelopes in one POST are fine: the ACS accepts 2.
        l.s.messages[1].envelopes[0].rpc = Rpc::InformResponse {
            max_envelopes: Some(2),
        };
        assert_eq!(check(&l), vec![]);
        l.s.messages[4]
            .envelopes
            .push(env(other("GetRPCMethods"), Some("3")));
        l.s.messages[5]
            .envelopes
            .push(env(other("GetRPCMethodsResponse"), Some("3")));
        let f = check(&l);
        assert_eq!(codes(&f), ["request-after-empty-post"]);
        let r = only(&f, "request-after-empty-post");
        assert_eq!((r.severity, frames(r)), (Severity::Warning, vec![10]));
        assert!(r.message.contains("GetRPCMethods") && r.message.contains("frame 6"));
    }

    #[test]
    fn bodies_beyond_the_receivers_max_envelopes() {
        let download = env(other("Download"), Some("9"));
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .last(|m| m.credentials = Some(digest()))
            .acs(200, vec![inform_response(), download])
            .cpe(vec![env(other("DownloadResponse"), Some("9"))])
            .acs(204, vec![])
            .ends_normally();
        let f = check(&l);
        assert_eq!(codes(&f), ["max-envelopes-exceeded"]);
        let m = only(&f, "max-envelopes-exceeded");
        assert_eq!((m.severity, frames(m)), (Severity::Warning, vec![4]));
        assert!(m.message.contains("2 envelopes") && m.message.contains("is 1"));
        // The seed flow: the CPE announced MaxEnvelopes 2.
        if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
            i.max_envelopes = Some(2);
        }
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn unanswered_and_mismatched_rpcs() {
        let download = env(other("Download"), Some("9"));
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .cpe(vec![])
            .acs(200, vec![download])
            .ends_abnormally(Termination::Closed);
        let f = check(&l);
        assert_eq!(codes(&f), ["rpc-unanswered", "session-not-terminated"]);
        let u = only(&f, "rpc-unanswered");
        assert_eq!((u.severity, frames(u)), (Severity::Error, vec![8]));
        assert!(u.message.contains("ACS's Download"));

        l.cpe(vec![env(other("GetParameterValuesResponse"), Some("9"))])
            .acs(204, vec![])
            .ends_normally();
        let f = check(&l);
        assert_eq!(codes(&f), ["response-mismatch"]);
        let r = only(&f, "response-mismatch");
        assert!(r.message.contains("Download") && r.message.contains("GetParameterValuesResponse"));
        assert_eq!(frames(r), [10]);

        // A Fault answers anything.
        l.s.messages[4].envelopes[0].rpc = Rpc::Fault(Default::default());
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn sessions_must_be_ended_by_the_acs() {
        for t in [
            Termination::Closed,
            Termination::Reset,
            Termination::Timeout,
        ] {
            let mut l = Ladder::new();
            l.opened(&["2 PERIODIC"]).ends_abnormally(t);
            let f = check(&l);
            let s = only(&f, "session-not-terminated");
            assert_eq!((s.severity, frames(s)), (Severity::Warning, vec![4]));
        }
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .ends_abnormally(Termination::CaptureEnded);
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn an_empty_200_ending_the_session_is_info() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .cpe(vec![])
            .acs(200, vec![])
            .ends_normally();
        let f = check(&l);
        assert_eq!(codes(&f), ["empty-response-not-204"]);
        let e = only(&f, "empty-response-not-204");
        assert_eq!(
            (e.severity, frames(e), e.message_index),
            (Severity::Info, vec![8], Some(3))
        );
    }

    #[test]
    fn a_post_before_the_previous_response_is_pipelining() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        // Move the empty POST before the InformResponse.
        l.s.messages[2].ts = l.s.messages[1].ts - 5 * MS;
        let f = check(&l);
        assert_eq!(codes(&f), ["pipelining"]);
        let p = only(&f, "pipelining");
        assert_eq!((p.severity, frames(p)), (Severity::Warning, vec![6]));
    }

    #[test]
    fn cookies_the_acs_set_must_come_back() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .last(|m| m.set_cookies = vec![("sid".to_owned(), "abc".to_owned())])
            .cpe(vec![])
            .acs(204, vec![])
            .ends_normally();
        let f = check(&l);
        assert_eq!(codes(&f), ["cookie-not-returned"]);
        let c = only(&f, "cookie-not-returned");
        assert_eq!((c.severity, frames(c)), (Severity::Warning, vec![4, 6]));
        assert!(c.message.contains("sid=abc"));
        l.s.messages[2].cookies = vec![("sid".to_owned(), "abc".to_owned())];
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn event_pairings() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["7 TRANSFER COMPLETE"],
                "M Download/M ScheduleDownload/M Upload",
            ),
            (&["M Download"], "7 TRANSFER COMPLETE"),
            (&["3 SCHEDULED"], "M ScheduleInform"),
            (&["M Reboot"], "1 BOOT"),
            (&["11 DU STATE CHANGE COMPLETE"], "M ChangeDUState"),
            (&["1 BOOT", "1 BOOT"], ""),
        ];
        for (events, lacks) in cases {
            let mut l = Ladder::new();
            l.opened(events).closed();
            let f = check(&l);
            if lacks.is_empty() {
                let d = only(&f, "event-duplicate");
                assert_eq!((d.severity, frames(d)), (Severity::Warning, vec![2]));
                assert!(d.message.contains("\"1 BOOT\" appears 2 times"));
                continue;
            }
            let e = only(&f, "event-missing");
            assert_eq!(
                (e.severity, frames(e)),
                (Severity::Error, vec![2]),
                "{events:?}"
            );
            assert!(
                e.message.contains(&format!("lack {lacks}")),
                "{}",
                e.message
            );
        }
        for fine in [
            &["7 TRANSFER COMPLETE", "M Download"][..],
            &["3 SCHEDULED", "M ScheduleInform"],
            &["1 BOOT", "M Reboot"],
            &["M Download", "M Download", "7 TRANSFER COMPLETE"],
        ] {
            let mut l = Ladder::new();
            l.opened(fine).closed();
            assert_eq!(check(&l), vec![], "{fine:?}");
        }
    }

    #[test]
    fn transfer_complete_needs_7_transfer_complete_in_the_inform() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .cpe(vec![transfer_complete()])
            .acs(200, vec![env(other("TransferCompleteResponse"), Some("2"))])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["event-missing"]);
        assert!(
            f[0].message
                .contains("lack 7 TRANSFER COMPLETE: the session carries TransferComplete")
        );
        if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
            i.events = inform(&["7 TRANSFER COMPLETE", "M Download"]).events;
        }
        assert_eq!(check(&l), vec![]);
    }

    fn with_inform(edit: impl FnOnce(&mut crate::cwmp::Inform)) -> Ladder {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
            edit(i);
        }
        l
    }

    #[test]
    fn device_ids_need_a_hex_oui_and_a_serial() {
        let f = check(&with_inform(|i| i.device_id.oui = "00147G".to_owned()));
        assert_eq!(codes(&f), ["device-id-invalid"]);
        assert!(f[0].message.contains("00147G"));
        let f = check(&with_inform(|i| {
            i.device_id.oui = "0014".to_owned();
            i.device_id.serial_number = " ".to_owned();
        }));
        assert_eq!(codes(&f), ["device-id-invalid"]);
        assert!(f[0].message.contains("0014") && f[0].message.contains("SerialNumber is empty"));
        assert_eq!(
            check(&with_inform(|i| i.device_id.oui = "a1b2c3".to_owned())),
            vec![]
        );
    }

    #[test]
    fn clock_skew_with_and_without_zone() {
        // The Inform is captured at T0 + 10 ms = 10:00:00.010Z.
        let f = check(&with_inform(|i| {
            i.current_time = Some("2026-11-27T10:06:00.010+00:00".to_owned())
        }));
        assert_eq!(codes(&f), ["clock-skew"]);
        let c = only(&f, "clock-skew");
        assert_eq!((c.severity, frames(c)), (Severity::Info, vec![2]));
        assert!(c.message.contains("360.0 s ahead of"), "{}", c.message);
        assert!(!c.message.contains("UTC)"));
        let f = check(&with_inform(|i| {
            i.current_time = Some("2026-11-27T09:00:00".to_owned())
        }));
        let c = only(&f, "clock-skew");
        assert!(c.message.contains("3600.0 s behind") && c.message.contains("taken as UTC"));
        // Within 300 s, an offset that makes it right, and the Unknown Time: nothing.
        for fine in [
            "2026-11-27T10:04:00Z",
            "2026-11-27T11:00:00+01:00",
            "0001-01-01T00:00:00Z",
            "garbage",
        ] {
            let f = check(&with_inform(|i| i.current_time = Some(fine.to_owned())));
            assert_eq!(f, vec![], "{fine}");
        }
    }

    #[test]
    fn a_nonzero_retry_count_is_info() {
        let f = check(&with_inform(|i| i.retry_count = Some(2)));
        assert_eq!(codes(&f), ["retry-count-nonzero"]);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].message.contains("RetryCount is 2"));
    }

    #[test]
    fn slow_responses_from_either_side() {
        let mut l = Ladder::new();
        l.cpe(vec![inform_env(&["2 PERIODIC"])])
            .last(|m| m.credentials = Some(digest()))
            .wait(6 * S)
            .acs(
                200,
                vec![inform_response(), env(other("Reboot"), Some("4"))],
            )
            .wait(7 * S)
            .cpe(vec![env(other("RebootResponse"), Some("4"))])
            .acs(204, vec![])
            .ends_normally();
        if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
            i.max_envelopes = Some(2);
        }
        let f = check(&l);
        assert_eq!(codes(&f), ["slow-response", "slow-response"]);
        assert_eq!(frames(&f[0]), [2, 4]);
        assert!(f[0].message.contains("ACS took 6.0 s"), "{}", f[0].message);
        assert_eq!(frames(&f[1]), [4, 6]);
        assert!(f[1].message.contains("CPE took 7.0 s"), "{}", f[1].message);
        assert_eq!(f[0].severity, Severity::Warning);
        // 4 s is under the 5 s threshold.
        l.s.messages[1].ts -= 2 * S;
        l.s.messages[2].ts -= 3 * S;
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn silence_beyond_the_session_timeout() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).wait(31 * S).closed();
        let f = check(&l);
        let t = only(&f, "session-timeout");
        assert_eq!(
            (t.severity, frames(t), t.message_index),
            (Severity::Error, vec![4, 6], Some(2))
        );
        assert!(
            t.message.contains("31.0 s") && t.message.contains("30.0 s"),
            "{}",
            t.message
        );
        // The CPE asked for 60 s.
        l.s.messages[0].envelopes[0].header.session_timeout = Some(60);
        assert_eq!(codes(&check(&l)), Vec::<&str>::new());
        // ... or for 10 s.
        l.s.messages[0].envelopes[0].header.session_timeout = Some(10);
        let mut short = Ladder::new();
        short.opened(&["2 PERIODIC"]).wait(15 * S).closed();
        short.s.messages[0].envelopes[0].header.session_timeout = Some(10);
        let t = check(&short);
        assert!(
            only(&t, "session-timeout")
                .message
                .contains("SessionTimeout of 10 s")
        );
    }

    #[test]
    fn connection_request_timing() {
        // The Inform (at T0 + 10 ms) 40 s after the CR's 204.
        let mut l = Ladder::new();
        l.connection_request(true, 204, T0 - 40 * S)
            .opened(&["6 CONNECTION REQUEST"])
            .closed();
        let f = check(&l);
        assert_eq!(codes(&f), ["connection-request-timing"]);
        assert_eq!(frames(&f[0]), [1001, 2]);
        assert!(f[0].message.contains("40.0 s after"), "{}", f[0].message);
        // Before the CR's answer.
        let mut l = Ladder::new();
        l.connection_request(true, 204, T0 + S)
            .opened(&["6 CONNECTION REQUEST"])
            .closed();
        assert!(
            only(&check(&l), "connection-request-timing")
                .message
                .contains("before")
        );
        // 1 s after: fine.
        let mut l = Ladder::new();
        l.connection_request(true, 204, T0 - S)
            .opened(&["6 CONNECTION REQUEST"])
            .closed();
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn orphan_connection_requests() {
        let mut l = Ladder::new();
        l.connection_request(true, 200, T0);
        let cr = l.s.connection_request.clone().unwrap();
        let f = orphan_connection_request(&cr, &Thresholds::default());
        assert_eq!(
            (f.code.id(), f.severity),
            ("connection-request-timing", Severity::Warning)
        );
        assert_eq!(frames(&f), [1000, 1001]);
        assert!(f.message.contains("answered 200") && f.message.contains("30.0 s"));
    }

    #[test]
    fn resets_inside_the_session_and_retransmissions() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"])
            .ends_abnormally(Termination::Reset);
        let f = check(&l);
        assert_eq!(codes(&f), ["session-not-terminated", "tcp-reset"]);
        let r = only(&f, "tcp-reset");
        assert_eq!((r.severity, frames(r)), (Severity::Error, vec![4]));
        // A reset after the ACS's empty response is outside the session.
        let mut l = clean();
        let t = l.s.end + MS;
        l.conn_ends(ConnEnd::Reset, t);
        assert_eq!(check(&l), vec![]);

        let mut l = clean();
        l.s.connections[0].stats = Some(ConnStats {
            data_segments: [20, 10],
            retransmissions: [2, 0],
            ..ConnStats::default()
        });
        let f = check(&l);
        assert_eq!(codes(&f), ["tcp-retransmissions"]);
        assert!(
            f[0].message
                .contains("2 of 20 data segments from the CPE (10.0 %)"),
            "{}",
            f[0].message
        );
        l.s.connections[0].stats = Some(ConnStats {
            data_segments: [20, 10],
            retransmissions: [1, 0],
            ..ConnStats::default()
        });
        assert_eq!(check(&l), vec![]);
    }

    #[test]
    fn capture_notes_and_malformed_xml() {
        let mut l = clean();
        l.s.notes.push(Note::CaptureGap {
            conn: crate::types::ConnId(1),
            frame: FrameRef::new(0, 3),
            ts: T0,
            len: 100,
            from_cpe: true,
        });
        l.s.messages[2].malformed = Some(crate::cwmp::MalformedXml {
            offset: 12,
            reason: "bad".to_owned(),
        });
        let f = check(&l);
        assert_eq!(codes(&f), ["capture-gap", "malformed-message"]);
        assert!(
            only(&f, "malformed-message")
                .message
                .contains("body byte 12")
        );
    }
}
