//! Pairing each side's requests with the other side's responses: `rpc-unanswered`,
//! `response-mismatch`, `cwmp-id-mismatch`.

use super::structure::is_response_name;
use super::{SessionView, at, side};
use crate::cwmp::Envelope;
use crate::findings::{Code, Finding};
use crate::session::{Session, Termination};

/// A request waiting for its response.
struct Outstanding<'a> {
    name: &'a str,
    id: Option<&'a str>,
    message: usize,
}

pub(super) fn rpc_pairing(v: &SessionView<'_>, out: &mut Vec<Finding>) {
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
