//! What the CWMP traffic tells about the places it names: each CPE's ConnectionRequestURL, and
//! the ACS and file servers (from Informs' `ManagementServer.URL`, Download URLs and the clear
//! fetches from them). Learned as the capture goes, bounded.

use super::{NamedServer, ServerRole};
use crate::cwmp::{Envelope, Rpc};
use crate::limits::Limit;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::{IpAddr, SocketAddr};

/// TR-069's default port of the ACS, and of a CPE's Connection Request server.
pub const CWMP_PORT: u16 = 7547;

/// Splits a URL at its first `://`: (scheme, the rest). The scheme is short, so a search of
/// three bytes costs less than a substring searcher.
pub fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let sep = url.as_bytes().windows(3).position(|w| w == b"://")?;
    Some((url.get(..sep)?, url.get(sep + 3..)?))
}

/// Splits `http://host[:port]/path` into (host, port, path).
pub fn split_url(url: &str) -> Option<(String, u16, String)> {
    let (scheme, rest) = split_scheme(url)?;
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else if scheme.eq_ignore_ascii_case("https") {
        443
    } else if scheme.eq_ignore_ascii_case("ftp") {
        21
    } else {
        0
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

/// Where a CPE takes Connection Requests (its `ConnectionRequestURL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrTarget {
    /// The URL's host (lower case), for judging the CPE's certificate over HTTPS.
    pub host: String,
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

/// The servers and Connection Request URLs the CWMP traffic named so far; at most `max`
/// entries of each kind (`known-endpoints`): past it, only what is already known is updated.
#[derive(Debug)]
pub struct KnownEndpoints {
    max: usize,
    /// Entries not learned because their kind was full.
    not_learned: u64,
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
    /// The host and port of each CPE's `ManagementServer.URL` (its latest Inform's).
    acs_urls: FxHashMap<IpAddr, (String, u16)>,
    /// The host of the latest Download URL ordered to a CPE, by the CPE and the URL's port.
    file_urls: FxHashMap<(IpAddr, u16), String>,
}

impl Default for KnownEndpoints {
    fn default() -> Self {
        KnownEndpoints::new(Limit::KnownEndpoints.default_usize())
    }
}

impl KnownEndpoints {
    /// Nothing known yet; at most `max` entries of each kind.
    pub fn new(max: usize) -> Self {
        KnownEndpoints {
            max,
            not_learned: 0,
            cr_urls: FxHashMap::default(),
            servers: FxHashSet::default(),
            named: FxHashSet::default(),
            named_for_cpe: FxHashSet::default(),
            acs_urls: FxHashMap::default(),
            file_urls: FxHashMap::default(),
        }
    }

    /// Entries not learned so far because their kind was full.
    pub fn not_learned(&self) -> u64 {
        self.not_learned
    }

    /// Counts an entry that did not fit.
    fn note(&mut self, learned: bool) {
        if !learned {
            self.not_learned += 1;
        }
    }

    /// Learns from the envelopes of one CWMP message between `cpe` and its ACS.
    pub fn learn(&mut self, cpe: IpAddr, envelopes: &[Envelope]) {
        for envelope in envelopes {
            match &envelope.rpc {
                Rpc::Inform(inform) => {
                    for p in &inform.parameters {
                        if p.name.ends_with("ManagementServer.ConnectionRequestURL") {
                            self.learn_cr_url(cpe, &p.value);
                        } else if p.name.ends_with("ManagementServer.URL")
                            && let Some(url) = self.learn_server(cpe, &p.value)
                        {
                            let learned =
                                insert_bounded_map(&mut self.acs_urls, cpe, url, self.max);
                            self.note(learned);
                        }
                    }
                }
                Rpc::Download(d) => {
                    if let Some((host, port)) = self.learn_server(cpe, &d.url) {
                        let learned =
                            insert_bounded_map(&mut self.file_urls, (cpe, port), host, self.max);
                        self.note(learned);
                    }
                }
                _ => {}
            }
        }
    }

    fn learn_cr_url(&mut self, cpe: IpAddr, url: &str) {
        let Some((host, port, path)) = split_url(url.trim()) else {
            return;
        };
        let key = host.parse().unwrap_or(cpe);
        let learned = insert_bounded_map(
            &mut self.cr_urls,
            key,
            CrTarget { host, port, path },
            self.max,
        );
        self.note(learned);
    }

    /// Learns the server of a URL given to `cpe`; its host and port, when it names one.
    fn learn_server(&mut self, cpe: IpAddr, url: &str) -> Option<(String, u16)> {
        let (host, port, _) = split_url(url.trim())?;
        if port == 0 || host.is_empty() {
            return None;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                let learned =
                    insert_bounded(&mut self.servers, SocketAddr::new(ip, port), self.max);
                self.note(learned);
            }
            Err(_) => {
                let learned = insert_bounded(&mut self.named, (host.clone(), port), self.max);
                self.note(learned);
                let learned = insert_bounded(&mut self.named_for_cpe, (cpe, port), self.max);
                self.note(learned);
            }
        }
        Some((host, port))
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
            let learned = insert_bounded(&mut self.servers, server, self.max);
            self.note(learned);
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

    /// What the CWMP traffic named the server of a connection from `client` as, if anything:
    /// a CPE's Connection Request URL, the client's ACS (`acs`: the server is an ACS endpoint
    /// of a session), the file server of a Download to the client, or, by the port alone, an
    /// ACS or file server (`cpe`: the server's address is a CPE's, so a connection to port
    /// 7547 is a Connection Request). Each with the host of its URL when one is known.
    pub fn named_server(
        &self,
        client: SocketAddr,
        server: SocketAddr,
        acs: bool,
        cpe: bool,
    ) -> Option<NamedServer> {
        let named = |role, host: Option<&String>| {
            Some(NamedServer {
                role,
                host: host.cloned(),
            })
        };
        if let Some(t) = self
            .cr_urls
            .get(&server.ip())
            .filter(|t| t.port == server.port())
        {
            return named(ServerRole::Cpe, Some(&t.host));
        }
        let acs_url = self
            .acs_urls
            .get(&client.ip())
            .filter(|(host, port)| *port == server.port() && names_ip(host, server.ip()));
        if acs || acs_url.is_some() {
            return named(ServerRole::Acs, acs_url.map(|(host, _)| host));
        }
        if let Some(host) = self
            .file_urls
            .get(&(client.ip(), server.port()))
            .filter(|host| names_ip(host, server.ip()))
        {
            return named(ServerRole::FileServer, Some(host));
        }
        if server.port() == CWMP_PORT && cpe {
            return named(ServerRole::Cpe, None);
        }
        if self.is_server(client, server) {
            let role = if server.port() == CWMP_PORT {
                ServerRole::Acs
            } else {
                ServerRole::FileServer
            };
            return named(role, None);
        }
        None
    }

    /// The host of the `ManagementServer.URL` of the CPE at `cpe` when its port is `port`.
    pub fn acs_host(&self, cpe: IpAddr, port: u16) -> Option<&str> {
        self.acs_urls
            .get(&cpe)
            .filter(|(_, p)| *p == port)
            .map(|(host, _)| host.as_str())
    }
}

/// Whether a URL's host may be `ip`: a name (its address is not known), or that address.
fn names_ip(host: &str, ip: IpAddr) -> bool {
    host.parse::<IpAddr>().map_or(true, |h| h == ip)
}

/// Inserts a value below the bound `max`; false when it did not fit (and was not there).
fn insert_bounded<T: std::hash::Hash + Eq>(set: &mut FxHashSet<T>, value: T, max: usize) -> bool {
    if set.len() < max {
        set.insert(value);
        true
    } else {
        set.contains(&value)
    }
}

/// Inserts or replaces an entry; a new key only below the bound `max`. False when the key
/// did not fit.
fn insert_bounded_map<K: std::hash::Hash + Eq, V>(
    map: &mut FxHashMap<K, V>,
    key: K,
    value: V,
    max: usize,
) -> bool {
    if map.len() < max || map.contains_key(&key) {
        map.insert(key, value);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests;
