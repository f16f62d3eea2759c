//! The HTTP stage proper: one state per TCP connection, one parser per direction; reassembler
//! events in, [`HttpEvent`]s out.

use super::parser::{Cx, DirParser, Origin, PendingRequests};
use super::{HttpConfig, HttpEvent, HttpMessage, HttpStats};
use crate::tcp::{ConnEnd, ConnInfo, ConnStats, StreamEvent};
use crate::tls::TlsSummary;
use crate::types::{ConnId, Dir, Nanos};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

/// State of one connection.
struct ConnState {
    client: SocketAddr,
    server: SocketAddr,
    dirs: [DirParser; 2],
    pending: PendingRequests,
    tls_info: Option<Box<TlsSummary>>,
}

impl ConnState {
    fn new(client: SocketAddr, server: SocketAddr, mid_stream: bool) -> Self {
        ConnState {
            client,
            server,
            dirs: [DirParser::new(mid_stream), DirParser::new(mid_stream)],
            pending: PendingRequests::default(),
            tls_info: None,
        }
    }

    fn was_http(&self) -> bool {
        self.dirs.iter().any(DirParser::is_http)
    }

    fn is_tls(&self) -> bool {
        self.dirs.iter().any(DirParser::is_tls)
    }
}

/// Per-connection HTTP state machines: [`HttpLayer::push`] takes the reassembler's events and
/// hands the HTTP events they complete to a closure.
pub struct HttpLayer {
    cfg: HttpConfig,
    pconf: httparse::ParserConfig,
    /// Boxed: a hash table keeps up to twice as many buckets as entries, and a flood of
    /// half-open connections should cost one state each, not two.
    conns: FxHashMap<ConnId, Box<ConnState>>,
    stats: HttpStats,
}

impl HttpLayer {
    /// A layer with no connections.
    pub fn new(cfg: HttpConfig) -> Self {
        let mut pconf = httparse::ParserConfig::default();
        pconf
            .allow_spaces_after_header_name_in_responses(true)
            .allow_multiple_spaces_in_request_line_delimiters(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_space_before_first_header_name(true)
            .ignore_invalid_headers_in_requests(true)
            .ignore_invalid_headers_in_responses(true);
        HttpLayer {
            cfg,
            pconf,
            conns: FxHashMap::default(),
            stats: HttpStats::default(),
        }
    }

    /// Consumes one reassembler event; the HTTP events it completes go to `out`, in stream
    /// order.
    pub fn push(&mut self, ev: StreamEvent<'_>, out: &mut impl FnMut(HttpEvent)) {
        match ev {
            StreamEvent::Open(info) => {
                self.stats.connections += 1;
                let state = ConnState::new(info.client, info.server, !info.handshake_seen);
                self.conns.insert(info.id, Box::new(state));
                out(HttpEvent::ConnOpen(info.clone()));
            }
            StreamEvent::Data {
                conn,
                dir,
                frame,
                ts,
                bytes,
            } => {
                let origin = Origin { frame, ts };
                self.with_dir(conn, dir, out, |parser, cx| {
                    parser.on_data(bytes, origin, cx)
                });
            }
            StreamEvent::Gap {
                conn,
                dir,
                frame,
                ts,
                len,
            } => {
                self.stats.gaps += 1;
                self.with_dir(conn, dir, out, |parser, cx| parser.on_gap(len, cx));
                out(HttpEvent::Gap {
                    conn,
                    dir,
                    frame,
                    ts,
                    len,
                });
            }
            StreamEvent::Fin {
                conn,
                dir,
                frame,
                ts,
            } => {
                self.with_dir(conn, dir, out, |parser, cx| {
                    if let Some(msg) = parser.on_end(true, cx) {
                        cx.emit(msg);
                    }
                });
                out(HttpEvent::Fin {
                    conn,
                    dir,
                    frame,
                    ts,
                });
            }
            StreamEvent::Rst {
                conn,
                dir,
                frame,
                ts,
            } => out(HttpEvent::Rst {
                conn,
                dir,
                frame,
                ts,
            }),
            StreamEvent::Closed {
                info,
                ts,
                end,
                stats,
            } => self.close(info, ts, end, stats, out),
        }
    }

    /// Keeps what the TLS stage knows of a connection, for its `ConnClosed`.
    pub fn note_tls(&mut self, conn: ConnId, summary: Box<TlsSummary>) {
        if let Some(state) = self.conns.get_mut(&conn) {
            state.tls_info = Some(summary);
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Connections currently tracked.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Runs `f` on the parser of one direction (creating the connection if its `Open` was
    /// not seen) and applies a protocol switch to the other direction.
    fn with_dir<S: FnMut(HttpEvent)>(
        &mut self,
        conn: ConnId,
        dir: Dir,
        out: &mut S,
        f: impl FnOnce(&mut DirParser, &mut Cx<'_, S>),
    ) {
        let stats = &mut self.stats;
        let state = self.conns.entry(conn).or_insert_with(|| {
            stats.connections += 1;
            let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
            Box::new(ConnState::new(unknown, unknown, true))
        });
        let (src, dst) = match dir {
            Dir::ToServer => (state.client, state.server),
            Dir::ToClient => (state.server, state.client),
        };
        let [to_server, to_client] = &mut state.dirs;
        let (parser, other) = match dir {
            Dir::ToServer => (to_server, to_client),
            Dir::ToClient => (to_client, to_server),
        };
        let mut cx = Cx {
            cfg: &self.cfg,
            pconf: &self.pconf,
            conn,
            dir,
            src,
            dst,
            pending: &mut state.pending,
            out,
            stats,
            tunnel: false,
        };
        f(parser, &mut cx);
        if cx.tunnel {
            other.enter_tunnel();
        }
    }

    fn close(
        &mut self,
        info: &ConnInfo,
        ts: Nanos,
        end: ConnEnd,
        stats: &ConnStats,
        out: &mut impl FnMut(HttpEvent),
    ) {
        let mut was_http = false;
        let mut tls = false;
        let mut tls_info = None;
        if let Some(mut state) = self.conns.remove(&info.id) {
            let mut unfinished: Vec<HttpMessage> = Vec::new();
            for dir in [Dir::ToServer, Dir::ToClient] {
                let (src, dst) = match dir {
                    Dir::ToServer => (state.client, state.server),
                    Dir::ToClient => (state.server, state.client),
                };
                let mut cx = Cx {
                    cfg: &self.cfg,
                    pconf: &self.pconf,
                    conn: info.id,
                    dir,
                    src,
                    dst,
                    pending: &mut state.pending,
                    out: &mut *out,
                    stats: &mut self.stats,
                    tunnel: false,
                };
                if let Some(msg) = state.dirs[dir.index()].on_end(false, &mut cx) {
                    unfinished.push(msg);
                }
            }
            unfinished.sort_by_key(|m| (m.ts, m.first_frame));
            for msg in unfinished {
                self.stats.count_message(&msg);
                out(HttpEvent::Message(msg));
            }
            was_http = state.was_http();
            tls = state.is_tls();
            tls_info = state.tls_info.take();
        }
        if was_http {
            self.stats.http_connections += 1;
        }
        if tls {
            self.stats.tls_connections += 1;
        }
        out(HttpEvent::ConnClosed {
            info: info.clone(),
            ts,
            end,
            stats: stats.clone(),
            was_http,
            tls,
            tls_info,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_table_buckets_hold_a_pointer_not_the_state() {
        // The spare buckets of a table grown by a SYN flood stay two words each.
        assert!(std::mem::size_of::<(ConnId, Box<ConnState>)>() <= 16);
        assert!(std::mem::size_of::<ConnState>() > 64, "boxing is worth it");
    }
}
