//! Connection findings: connections and Connection Requests that belong to no session or
//! transaction (`handshake-failed`, `tls-opaque`, an orphan Connection Request), and the
//! failed handshake to a file server a transaction waited for.

use super::{Code, Finding, Thresholds, secs};
use crate::session::{ConnRecord, ConnectionRequest};
use crate::tcp::ConnEnd;
use crate::transaction::matching::is_service_port;

/// The finding of a connection of no session and no transaction, if any: a SYN to a service
/// port never answered, or an encrypted connection to an ACS or file server (other HTTPS is
/// only counted in the capture summary).
pub fn unclaimed(c: &ConnRecord) -> Option<Finding> {
    if c.end == ConnEnd::HandshakeFailed && is_service_port(c.server.port()) {
        Some(handshake_failed(c, "server"))
    } else if c.tls && c.known_server {
        Some(tls_opaque(c))
    } else {
        None
    }
}

/// `connection-request-timing` for an accepted Connection Request that no session claimed: no
/// Inform with `6 CONNECTION REQUEST` followed within the window.
pub fn orphan_connection_request(cr: &ConnectionRequest, th: &Thresholds) -> Finding {
    let status = cr
        .final_status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
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

/// `handshake-failed` for a connection whose SYN was never answered.
pub fn handshake_failed(c: &ConnRecord, what: &str) -> Finding {
    Finding::new(
        Code::HandshakeFailed,
        format!(
            "SYN from {} to the {what} {} never answered",
            c.client, c.server
        ),
    )
    .frames([c.first_frame])
}

/// `tls-opaque` for an encrypted connection.
pub fn tls_opaque(c: &ConnRecord) -> Finding {
    Finding::new(
        Code::TlsOpaque,
        format!(
            "encrypted connection {} → {}: only timing and sizes are known",
            c.client, c.server
        ),
    )
    .frames([c.first_frame])
}
