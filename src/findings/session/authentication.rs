//! Authentication with the ACS and of the Connection Request: `acs-auth-missing`,
//! `basic-auth-cleartext`, `acs-auth-failed`, `auth-stale-nonce`,
//! `connection-request-unauthenticated`.

use super::{SessionView, at, carries_inform};
use crate::findings::{Code, Finding};
use crate::http::auth::{Challenge, Credentials};
use crate::session::{MessageKind, Termination};

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

pub(super) fn authentication(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // Decrypted HTTPS: credentials and their absence were not on plain HTTP.
    let over_tls = s.connections.iter().any(|c| c.tls.is_some());
    // basic-auth-cleartext, CWMP side: once per session, at the first such request.
    let basic: Vec<usize> = v
        .exchanges
        .iter()
        .map(|ex| ex.request)
        .filter(|&i| v.msg(i).is_some_and(|m| is_basic(&m.credentials)))
        .collect();
    if let Some(&first) = basic.first()
        && !over_tls
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
        if !challenged && !credentials && !over_tls {
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
