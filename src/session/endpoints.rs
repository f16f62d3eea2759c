//! What the CWMP traffic tells about the places it names: each CPE's ConnectionRequestURL, and
//! the ACS and file servers (from Informs' `ManagementServer.URL`, Download URLs and the clear
//! fetches from them). Learned as the capture goes, bounded.

use crate::cwmp::{Envelope, Rpc};
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::{IpAddr, SocketAddr};

/// TR-069's default port of the ACS, and of a CPE's Connection Request server.
pub const CWMP_PORT: u16 = 7547;

/// Entries kept per kind of knowledge; past it, only what is already known is updated.
const MAX_ENTRIES: usize = 1 << 16;

/// Splits `http://host[:port]/path` into (host, port, path).
pub fn split_url(url: &str) -> Option<(String, u16, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        "ftp" => 21,
        _ => 0,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse() {
            Ok(port) => (h, port),
            Err(_) => (authority, default_port),
        },
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_ascii_lowercase(), port, path.to_owned()))
}

/// The path part of a request target (absolute-form targets reduced to their path).
pub fn target_path(uri: &str) -> String {
    match split_url(uri) {
        Some((_, _, path)) => path,
        None => uri.to_owned(),
    }
}

/// A path without its query, `/` when empty.
fn bare_path(path: &str) -> &str {
    match path.split('?').next() {
        Some("") | None => "/",
        Some(p) => p,
    }
}

/// Where a CPE takes Connection Requests (its `ConnectionRequestURL`, less the host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrTarget {
    pub port: u16,
    pub path: String,
}

impl CrTarget {
    /// Whether a GET to `port` with request target `uri` is addressed to this URL (the query
    /// is not compared).
    pub fn matches(&self, port: u16, uri: &str) -> bool {
        port == self.port && bare_path(&target_path(uri)) == bare_path(&self.path)
    }
}

/// The servers and Connection Request URLs the CWMP traffic named so far.
#[derive(Debug, Default)]
pub struct KnownEndpoints {
    /// Each CPE's ConnectionRequestURL, by the address it names (by the Inform's sender when it
    /// names a host).
    cr_urls: FxHashMap<IpAddr, CrTarget>,
    /// ACS and file servers by address: named in URLs, or seen in clear under a URL's name.
    servers: FxHashSet<SocketAddr>,
    /// Host names (lower case) and ports of ACS and file server URLs, to learn their address
    /// from a clear request's `Host` header.
    named: FxHashSet<(String, u16)>,
    /// A CPE and the port of a server it was told of by name: its connections there are to
    /// that server even where no clear request showed the address.
    named_for_cpe: FxHashSet<(IpAddr, u16)>,
}

impl KnownEndpoints {
    /// Learns from the envelopes of one CWMP message between `cpe` and its ACS.
    pub fn learn(&mut self, cpe: IpAddr, envelopes: &[Envelope]) {
        for envelope in envelopes {
            match &envelope.rpc {
                Rpc::Inform(inform) => {
                    for p in &inform.parameters {
                        if p.name.ends_with("ManagementServer.ConnectionRequestURL") {
                            self.learn_cr_url(cpe, &p.value);
                        } else if p.name.ends_with("ManagementServer.URL") {
                            self.learn_server(cpe, &p.value);
                        }
                    }
                }
                Rpc::Download(d) => self.learn_server(cpe, &d.url),
                _ => {}
            }
        }
    }

    fn learn_cr_url(&mut self, cpe: IpAddr, url: &str) {
        let Some((host, port, path)) = split_url(url.trim()) else {
            return;
        };
        let key = host.parse().unwrap_or(cpe);
        if self.cr_urls.len() < MAX_ENTRIES || self.cr_urls.contains_key(&key) {
            self.cr_urls.insert(key, CrTarget { port, path });
        }
    }

    fn learn_server(&mut self, cpe: IpAddr, url: &str) {
        let Some((host, port, _)) = split_url(url.trim()) else {
            return;
        };
        if port == 0 || host.is_empty() {
            return;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => insert_bounded(&mut self.servers, SocketAddr::new(ip, port)),
            Err(_) => {
                insert_bounded(&mut self.named, (host, port));
                insert_bounded(&mut self.named_for_cpe, (cpe, port));
            }
        }
    }

    /// A clear request to `server` with this `Host` header: the address of a server known by
    /// name is learned.
    pub fn learn_request(&mut self, server: SocketAddr, host_header: Option<&str>) {
        let Some(host) = host_header else {
            return;
        };
        if self.named.is_empty() {
            return;
        }
        let host = host.trim();
        // `name:port` or `[v6]:port`; the port is the connection's anyway.
        let name = match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => h,
            _ => host,
        };
        let name = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if self.named.contains(&(name, server.port())) {
            insert_bounded(&mut self.servers, server);
        }
    }

    /// The ConnectionRequestURL known for a CPE address.
    pub fn cr_target(&self, cpe: IpAddr) -> Option<&CrTarget> {
        self.cr_urls.get(&cpe)
    }

    /// Whether a connection from `client` to `server` goes to a known ACS or file server, or
    /// to the CWMP port.
    pub fn is_server(&self, client: SocketAddr, server: SocketAddr) -> bool {
        server.port() == CWMP_PORT
            || self.servers.contains(&server)
            || self.named_for_cpe.contains(&(client.ip(), server.port()))
    }
}

fn insert_bounded<T: std::hash::Hash + Eq>(set: &mut FxHashSet<T>, value: T) {
    if set.len() < MAX_ENTRIES {
        set.insert(value);
    }
}

#[cfg(test)]
mod tests;
