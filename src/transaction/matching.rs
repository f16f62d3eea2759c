//! Matching what the capture shows to the transfers the ACS ordered: which CPE a session is of,
//! and how well an HTTP exchange fits an order's URL.

use super::Order;
use crate::session::{HttpExchange, Session};
pub use crate::session::{split_url, target_path};

/// The key a CPE is known by: its serial number, else its IP.
pub fn cpe_key(s: &Session) -> String {
    match s.serial() {
        Some(serial) if !serial.is_empty() => serial.to_owned(),
        _ => s.cpe_ip.to_string(),
    }
}

/// How well an exchange fits an order's URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Same host, port and path.
    Exact,
    /// Same kind of request to another place (a wrong URL is still this transfer's fetch).
    Loose,
    No,
}

/// How well exchange `x` fits `order`.
pub fn matches_order(order: &Order, x: &HttpExchange) -> Match {
    let method_ok = if order.upload {
        matches!(x.request.method.as_str(), "PUT" | "POST")
    } else {
        x.request.method == "GET"
    };
    if !method_ok {
        return Match::No;
    }
    let Some((host, port, path)) = split_url(&order.url) else {
        return Match::No;
    };
    let same_path = target_path(&x.request.uri) == path;
    let host_header = x.request.host.as_deref().map(|h| {
        h.rsplit_once(':')
            .map_or(h, |(h, _)| h)
            .to_ascii_lowercase()
    });
    let same_host = x.server.ip().to_string() == host || host_header.as_deref() == Some(&host);
    let same_port = x.server.port() == port;
    if same_path && same_host && same_port {
        Match::Exact
    } else if x.server.port() == 7547 || x.request.body_len > 0 && !order.upload {
        Match::No
    } else {
        Match::Loose
    }
}

/// Ports a CWMP or file-server connection uses (7547 and the web ports).
pub fn is_service_port(port: u16) -> bool {
    matches!(port, 7547 | 7548 | 80 | 8080 | 443 | 8443 | 7557)
}
