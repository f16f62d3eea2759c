//! Numbering messages against the reference ladder of flow.md: steps 2–8 for the session that
//! carries the Download, 9–12 for the file fetch, 14–22 for the session that reports it.

use super::{Party, Step};
use crate::cwmp::Rpc;
use crate::http::auth::{Challenge, Credentials};
use crate::session::HttpExchange;
use crate::session::{Session, SessionMessage};
use crate::tcp::ConnEnd;

/// The role a message plays in a session of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    FirstInform,
    Challenge,
    AuthInform,
    InformResponse,
    EmptyPost,
    /// The ACS's response carrying the Download (when not with the InformResponse).
    Order,
    /// The CPE's DownloadResponse (or Fault) to it.
    OrderAnswer,
    TransferComplete,
    TransferCompleteResponse,
    FinalEmpty,
}

/// Step numbers per role, and for the connection close.
pub struct StepTable {
    steps: &'static [(Role, u32)],
    close: u32,
}

pub const ORDER_STEPS: StepTable = StepTable {
    steps: &[
        (Role::FirstInform, 2),
        (Role::Challenge, 3),
        (Role::AuthInform, 4),
        (Role::InformResponse, 5),
        (Role::EmptyPost, 5),
        (Role::Order, 5),
        (Role::OrderAnswer, 6),
        (Role::FinalEmpty, 7),
    ],
    close: 8,
};

pub const REPORT_STEPS: StepTable = StepTable {
    steps: &[
        (Role::FirstInform, 14),
        (Role::Challenge, 15),
        (Role::AuthInform, 16),
        (Role::InformResponse, 17),
        (Role::TransferComplete, 18),
        (Role::TransferCompleteResponse, 19),
        (Role::EmptyPost, 20),
        (Role::FinalEmpty, 21),
    ],
    close: 22,
};

fn has(m: &SessionMessage, pred: impl Fn(&Rpc) -> bool) -> bool {
    m.envelopes.iter().any(|e| pred(&e.rpc))
}

/// Sets `step` on the messages of `s` per `table`.
pub fn label_session(s: &mut Session, table: StepTable) {
    let Some(first) = s
        .messages
        .iter()
        .position(|m| m.from_cpe && has(m, |r| matches!(r, Rpc::Inform(_))))
    else {
        return;
    };
    let ended_by = s.ended_by;
    let mut answered = false;
    let mut ordered = false;
    let mut roles: Vec<Option<Role>> = vec![None; s.messages.len()];
    for (i, m) in s.messages.iter().enumerate().skip(first) {
        let role = if i == first {
            Some(Role::FirstInform)
        } else if !answered && m.http.status == Some(401) {
            Some(Role::Challenge)
        } else if !answered && m.from_cpe && has(m, |r| matches!(r, Rpc::Inform(_))) {
            Some(Role::AuthInform)
        } else if !m.from_cpe && has(m, |r| matches!(r, Rpc::InformResponse { .. })) {
            answered = true;
            if has(m, |r| matches!(r, Rpc::Download(_))) {
                ordered = true;
            }
            Some(Role::InformResponse)
        } else if !m.from_cpe && Some(m.last_frame) == ended_by {
            Some(Role::FinalEmpty)
        } else if !m.from_cpe
            && has(m, |r| {
                matches!(r, Rpc::Download(_))
                    || matches!(r, Rpc::Other { name, .. } if name == "Upload")
            })
        {
            ordered = true;
            Some(Role::Order)
        } else if m.from_cpe
            && ordered
            && has(m, |r| {
                matches!(r, Rpc::DownloadResponse(_) | Rpc::Fault(_))
                    || matches!(r, Rpc::Other { name, .. } if name == "UploadResponse")
            })
        {
            Some(Role::OrderAnswer)
        } else if m.from_cpe && has(m, |r| matches!(r, Rpc::TransferComplete(_))) {
            Some(Role::TransferComplete)
        } else if !m.from_cpe
            && has(
                m,
                |r| matches!(r, Rpc::Other { name, .. } if name == "TransferCompleteResponse"),
            )
        {
            Some(Role::TransferCompleteResponse)
        } else if m.from_cpe && m.envelopes.is_empty() && m.http.body_len == 0 && answered {
            Some(Role::EmptyPost)
        } else {
            None
        };
        if let Some(slot) = roles.get_mut(i) {
            *slot = role;
        }
    }
    // The empty POST belongs to the order exchange only before the Download arrives.
    for (m, role) in s.messages.iter_mut().zip(roles) {
        m.step = role.and_then(|r| {
            table
                .steps
                .iter()
                .find(|(role, _)| *role == r)
                .map(|(_, n)| *n)
        });
    }
    if table.close == 8 {
        // In the order session an empty POST after the Download is no ladder step.
        let mut seen_order = false;
        for m in &mut s.messages {
            if m.step == Some(5) && !m.from_cpe && has(m, |r| matches!(r, Rpc::Download(_))) {
                seen_order = true;
            } else if seen_order && m.step == Some(5) && m.from_cpe {
                m.step = None;
            }
        }
    }
}

/// The step of a session's connection close: 8 or 22 for the connection the session ended
/// on, nothing for earlier ones.
pub fn close_step(s: &Session, end: ConnEnd) -> (Option<u32>, String) {
    let order = s.messages.iter().any(|m| matches!(m.step, Some(2..=7)));
    let report = s.messages.iter().any(|m| matches!(m.step, Some(14..=21)));
    let what = match end {
        ConnEnd::Closed => "connection closed",
        ConnEnd::Reset => "connection reset",
        ConnEnd::Idle => "connection idle, released",
        ConnEnd::HandshakeFailed => "handshake failed",
        ConnEnd::Refused => "connection refused",
        ConnEnd::CaptureEnded => "capture ended",
    }
    .to_owned();
    let step = if order {
        Some(8)
    } else if report {
        Some(22)
    } else {
        None
    };
    (step, what)
}

/// `401` and the first challenge: its scheme, the realm and whether the nonce was stale.
fn unauthorized_text(challenges: &[Challenge]) -> String {
    let mut t = "401".to_owned();
    match challenges.first() {
        Some(Challenge::Digest(d)) => {
            t.push_str(" Digest");
            if let Some(realm) = &d.realm {
                t.push_str(" realm=");
                t.push_str(realm);
            }
            if d.stale == Some(true) {
                t.push_str(" stale");
            }
        }
        Some(Challenge::Basic { realm }) => {
            t.push_str(" Basic");
            if let Some(r) = realm {
                t.push_str(" realm=");
                t.push_str(r);
            }
        }
        Some(Challenge::Other { scheme }) => {
            t.push(' ');
            t.push_str(scheme);
        }
        None => {}
    }
    trim_end_in_place(&mut t);
    t
}

/// Appends ` (+Digest)` (the scheme) to the text of a message that carries credentials.
fn push_auth_suffix(text: &mut String, c: &Option<Credentials>) {
    if let Some(c) = c {
        text.push_str(" (+");
        text.push_str(c.scheme());
        text.push(')');
    }
}

fn trim_end_in_place(text: &mut String) {
    let len = text.trim_end().len();
    text.truncate(len);
}

/// A short description of a session message for transaction steps (built by appending: there
/// is one per message of every transaction).
pub fn describe_message(m: &SessionMessage) -> String {
    if m.http.method.is_none() && m.http.status == Some(401) {
        return unauthorized_text(&m.challenges);
    }
    let summary = crate::session::message_summary(m);
    let mut text = String::with_capacity(24 + summary.len());
    match (&m.http.method, m.http.status) {
        (Some(method), _) => {
            if summary.is_empty() && m.http.body_len == 0 && method == "POST" {
                text.push_str("POST (empty)");
            } else {
                text.push_str(method);
                text.push(' ');
                text.push_str(if summary.is_empty() {
                    m.http.uri.as_deref().unwrap_or("")
                } else {
                    &summary
                });
            }
            push_auth_suffix(&mut text, &m.credentials);
        }
        (None, Some(status)) => {
            text.push_str(itoa::Buffer::new().format(status));
            if !summary.is_empty() {
                text.push(' ');
                text.push_str(&summary);
            } else if m.http.body_len == 0 {
                text.push_str(" (empty)");
            } else {
                text.push(' ');
                text.push_str(m.http.reason.as_deref().unwrap_or(""));
                trim_end_in_place(&mut text);
            }
        }
        (None, None) => {}
    }
    text
}

/// Rebuilds the fetch steps (9–12) of a transaction from its file exchanges.
pub fn label_fetch(steps: &mut Vec<Step>, fetch: &[HttpExchange]) {
    steps.retain(|s| s.from != Party::FileServer && s.to != Party::FileServer);
    let mut challenged = false;
    let mut first = true;
    for x in fetch {
        let req = &x.request;
        let step = if first {
            Some(9)
        } else if challenged {
            Some(11)
        } else {
            None
        };
        first = false;
        steps.push(Step {
            step,
            what: {
                let mut what = format!("{} {}", req.method, req.uri);
                push_auth_suffix(&mut what, &req.credentials);
                what
            },
            from: Party::Cpe,
            to: Party::FileServer,
            frame: Some(req.last_frame),
            first_frame: (req.frame != req.last_frame).then_some(req.frame),
            ts: req.ts,
            session: None,
            close: false,
        });
        if let Some(resp) = &x.response {
            let (step, what) = if resp.status == 401 {
                challenged = true;
                (Some(10), unauthorized_text(&resp.challenges))
            } else {
                let size = if resp.complete {
                    format!("{} bytes", resp.body_len)
                } else {
                    format!("{} bytes, cut short", resp.body_len)
                };
                (
                    Some(12),
                    format!("{} {} · {size}", resp.status, resp.reason).replace("  ", " "),
                )
            };
            steps.push(Step {
                step,
                what,
                from: Party::FileServer,
                to: Party::Cpe,
                frame: Some(resp.last_frame),
                first_frame: (resp.frame != resp.last_frame).then_some(resp.frame),
                ts: resp.ts,
                session: None,
                close: false,
            });
        }
    }
}
