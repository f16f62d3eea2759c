//! Rules that judge one finished CWMP session, and a CPE's sessions over time.

use super::{Finding, Severity, Thresholds};
use crate::session::{Note, Session};

/// The findings of one finished session.
pub fn check_session(s: &Session, _th: &Thresholds) -> Vec<Finding> {
    let side = |from_cpe: bool| if from_cpe { "CPE" } else { "ACS" };
    let mut out = Vec::new();
    for note in &s.notes {
        out.push(match note {
            Note::CaptureGap {
                frame,
                len,
                from_cpe,
                ..
            } => Finding::new(
                "capture-gap",
                Severity::Warning,
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
                "malformed-message",
                Severity::Error,
                format!("HTTP framing unreadable at stream byte {offset}: {reason}"),
            )
            .frames([*frame]),
        });
    }
    for (i, m) in s.messages.iter().enumerate() {
        if let Some(bad) = &m.malformed {
            out.push(
                Finding::new(
                    "malformed-message",
                    Severity::Error,
                    format!(
                        "{} sent XML that cannot be parsed at body byte {}: {}",
                        side(m.from_cpe),
                        bad.offset,
                        bad.reason
                    ),
                )
                .frames([m.last_frame])
                .at_message(i),
            );
        }
    }
    out
}
