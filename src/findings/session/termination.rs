//! How the session ended: `session-not-terminated`, `empty-response-not-204`.

use super::{SessionView, at};
use crate::findings::{Code, Finding};
use crate::session::Termination;

pub(super) fn termination(v: &SessionView<'_>, out: &mut Vec<Finding>) {
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
