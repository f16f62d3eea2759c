//! Rules that judge one finished CWMP session on its own, one family per file: capture notes,
//! authentication, session structure, RPC pairing, termination, cookies, Inform content,
//! timing inside the session, and the TCP connections it used. Rules that need a CPE's earlier
//! sessions live in [`super::cpe`]. This file holds the entry point and the pairing of
//! requests with responses every family uses.
//!
//! Interpretation choices (documented in docs/findings.md):
//! - An empty POST carries no RPC, so it is not "the first CWMP request" of `inform-not-first`
//!   (netcwmp opens every session with one).
//! - A request answered by `401` (or by another error status) was not processed: its RPCs are
//!   not paired, and an Inform sent again after the challenge is not a second Inform.
//! - A session that was still open when the capture ended is not `session-not-terminated`.

mod authentication;
mod cookies;
mod inform;
mod notes;
mod rpc_pairing;
mod structure;
mod tcp;
mod termination;
#[cfg(test)]
mod tests;
mod timing;

use super::{Finding, Thresholds};
use crate::cwmp::Rpc;
use crate::session::{MessageKind, Session, SessionMessage};
use crate::types::{ConnId, FrameRef};

/// The findings of one finished session.
pub fn check_session(s: &Session, th: &Thresholds) -> Vec<Finding> {
    let view = SessionView::new(s);
    let mut out = Vec::new();
    notes::capture_notes(s, &mut out);
    notes::malformed_messages(s, &mut out);
    authentication::authentication(&view, &mut out);
    structure::structure(&view, &mut out);
    rpc_pairing::rpc_pairing(&view, &mut out);
    termination::termination(&view, &mut out);
    cookies::cookies(&view, &mut out);
    inform::inform_content(&view, th, &mut out);
    timing::timing(&view, th, &mut out);
    tcp::tcp(&view, th, &mut out);
    out
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
        let mut waiting: Vec<(ConnId, usize)> = Vec::new();
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
