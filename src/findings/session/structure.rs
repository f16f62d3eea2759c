//! Session structure: `inform-not-first`, `multiple-informs`, `acs-http-error`, HoldRequests
//! and the empty POST, cwmp versions, `max-envelopes-exceeded`, `pipelining`.

use super::{SessionView, at, carries_inform, side};
use crate::cwmp::{CwmpNs, Envelope, Rpc};
use crate::findings::{Code, Finding};
use crate::session::MessageKind;

pub(super) fn structure(v: &SessionView<'_>, out: &mut Vec<Finding>) {
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

pub(super) fn is_cwmp_request(e: &Envelope) -> bool {
    let name = e.rpc.name();
    !name.is_empty() && !is_response_name(name)
}

pub(super) fn is_response_name(name: &str) -> bool {
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
