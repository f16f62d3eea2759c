//! Connection findings: connections and Connection Requests that belong to no session or
//! transaction (`handshake-failed`, `tls-opaque`, an orphan Connection Request), the failed
//! handshake to a file server a transaction waited for, and a Connection Request the CPE's
//! next session did not announce.

use super::{Code, Finding, Thresholds, secs};
use crate::session::{ConnRecord, ConnectionRequest};
use crate::tcp::ConnEnd;
use crate::tls::TlsOutcome;
use crate::transaction::matching::is_service_port;
use crate::types::FrameRef;

/// The finding of a connection of no session and no transaction, if any: a SYN to a service
/// port never answered, or an encrypted connection to an ACS or file server (other HTTPS is
/// only counted in the capture summary).
pub fn unclaimed(c: &ConnRecord) -> Option<Finding> {
    if c.end == ConnEnd::HandshakeFailed && is_service_port(c.server.port()) {
        Some(handshake_failed(c, "server"))
    } else if c.known_server && is_opaque(c) {
        Some(tls_opaque(c))
    } else {
        None
    }
}

/// Whether a connection carried encrypted records that were not decrypted (all, or from some
/// point on). One whose TLS ended in its handshake hid nothing: its handshake is judged.
pub fn is_opaque(c: &ConnRecord) -> bool {
    match c.tls_info.as_deref() {
        Some(t) => matches!(t.outcome(), TlsOutcome::Undecrypted { .. }),
        None => c.tls,
    }
}

fn answered(cr: &ConnectionRequest) -> String {
    cr.final_status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string())
}

/// `connection-request-timing` for an accepted Connection Request that no session claimed: no
/// Inform with `6 CONNECTION REQUEST` followed within the window.
pub fn orphan_connection_request(cr: &ConnectionRequest, th: &Thresholds) -> Finding {
    let status = answered(cr);
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

/// `connection-request-timing` for an accepted Connection Request whose CPE then opened
/// session `session` with an Inform (at `inform_frame`) that lacks `6 CONNECTION REQUEST`.
pub fn unannounced_connection_request(
    cr: &ConnectionRequest,
    session: u64,
    inform_frame: Option<FrameRef>,
) -> Finding {
    Finding::new(
        Code::ConnectionRequestTiming,
        format!(
            "Connection Request to {} (answered {}) was not announced: the CPE's next session \
             s{session} has an Inform without 6 CONNECTION REQUEST",
            cr.cpe,
            answered(cr)
        ),
    )
    .frames(
        std::iter::once(cr.frame)
            .chain(cr.final_frame)
            .chain(inform_frame),
    )
}

/// The client's SYN frames of a connection (its first frame when none was kept).
fn syn_frames(c: &ConnRecord) -> Vec<FrameRef> {
    if c.stats.syn_frames.is_empty() {
        vec![c.first_frame]
    } else {
        c.stats.syn_frames.clone()
    }
}

/// `frame 12` or `frames 12, 13, 15`.
fn frame_list(frames: &[FrameRef]) -> String {
    let numbers: Vec<String> = frames.iter().map(ToString::to_string).collect();
    match numbers.len() {
        1 => format!("frame {}", numbers.join("")),
        _ => format!("frames {}", numbers.join(", ")),
    }
}

/// `handshake-failed` for a connection whose SYN was never answered or was answered by a RST:
/// every SYN it saw (the first and its retransmissions), and the RST.
pub fn handshake_failed(c: &ConnRecord, what: &str) -> Finding {
    let syns = syn_frames(c);
    let sent = match syns.len() {
        1 => String::new(),
        n => format!(" (sent {n} times)"),
    };
    match (c.end, c.stats.rst_frame) {
        (ConnEnd::Refused, Some(rst)) => Finding::new(
            Code::HandshakeFailed,
            format!(
                "SYN from {} to the {what} {}{sent} refused: RST at frame {rst}",
                c.client, c.server
            ),
        )
        .frames(syns.into_iter().chain([rst])),
        _ => Finding::new(
            Code::HandshakeFailed,
            format!(
                "SYN from {} to the {what} {} never answered{sent}",
                c.client, c.server
            ),
        )
        .frames(syns),
    }
}

/// What the capture shows of a failed handshake, to name as the cause of a transfer fault:
/// `SYN to 10.0.0.3:80 unanswered at frames 12, 13, 15`.
pub fn handshake_cause(c: &ConnRecord) -> String {
    match (c.end, c.stats.rst_frame) {
        (ConnEnd::Refused, Some(rst)) => format!(
            "SYN to {} refused at {} (RST at frame {rst})",
            c.server,
            frame_list(&syn_frames(c))
        ),
        _ => format!(
            "SYN to {} unanswered at {}",
            c.server,
            frame_list(&syn_frames(c))
        ),
    }
}

/// `tls-opaque` for an encrypted connection, with why it was not decrypted when the TLS stage
/// says.
pub fn tls_opaque(c: &ConnRecord) -> Finding {
    let t = c.tls_info.as_deref();
    let (why, known) = match t.map(|t| (t, t.outcome())) {
        Some((t, TlsOutcome::Undecrypted { reason, in_part })) => (
            format!(
                " ({}, {}: {reason})",
                t.version_name(),
                if in_part {
                    "decrypted in part"
                } else {
                    "not decrypted"
                }
            ),
            if in_part {
                "after that, only timing and sizes are known"
            } else {
                "only timing and sizes are known"
            },
        ),
        Some((t, _)) => (
            format!(" ({})", t.version_name()),
            "only timing and sizes are known",
        ),
        None => (String::new(), "only timing and sizes are known"),
    };
    Finding::new(
        Code::TlsOpaque,
        format!(
            "encrypted connection {} → {}{why}: {known}",
            c.client, c.server
        ),
    )
    .frames([c.first_frame])
}
