//! Capture notes of the session stage (`capture-gap`) and messages that could not be parsed
//! (`malformed-message`).

use super::{at, side};
use crate::findings::{Code, Finding};
use crate::session::{Note, Session};

pub(super) fn capture_notes(s: &Session, out: &mut Vec<Finding>) {
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

/// Bodies that could not be decoded, but not those a resource limit made undecodable (cut at
/// `http-body-bytes`, or beyond an XML limit): the session shows that limit instead, and the
/// sender is not to blame.
pub(super) fn malformed_messages(s: &Session, out: &mut Vec<Finding>) {
    for (i, m) in s.messages.iter().enumerate() {
        if m.undecodable_by_a_limit() {
            continue;
        }
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
