//! Timing inside the session: `slow-response`, `session-timeout`, `connection-request-timing`.

use super::structure::is_cwmp_request;
use super::{SessionView, carries_inform};
use crate::findings::{Code, Finding, Thresholds, secs};
use crate::session::{MessageKind, SessionMessage};
use crate::types::Nanos;

pub(super) fn timing(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
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
