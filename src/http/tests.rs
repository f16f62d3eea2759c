//! Tests of the HTTP stage as a whole: reassembler events in, HTTP events out.

use super::*;
use crate::limits::LimitSet;
use crate::tcp::{ConnEnd, ConnInfo, ConnStats, StreamEvent};
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use proptest::prelude::*;
use std::io::Write;

/// An owned copy of the events, for assertions.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Ev {
    Open,
    Msg(HttpMessage),
    Malformed {
        dir: Dir,
        offset: u64,
        frame: u64,
        reason: String,
        limit: Option<Limit>,
    },
    Gap {
        dir: Dir,
        len: u64,
    },
    Rst,
    Fin(Dir),
    Closed {
        was_http: bool,
        tls: bool,
    },
}

#[derive(Default)]
struct Collect(Vec<Ev>);

impl Collect {
    fn on_http(&mut self, ev: HttpEvent) {
        self.0.push(match ev {
            HttpEvent::ConnOpen(_) => Ev::Open,
            HttpEvent::Message(m) => Ev::Msg(m),
            HttpEvent::Malformed {
                dir,
                offset,
                frame,
                reason,
                limit,
                ..
            } => Ev::Malformed {
                dir,
                offset,
                frame: frame.number,
                reason,
                limit,
            },
            HttpEvent::Gap { dir, len, .. } => Ev::Gap { dir, len },
            HttpEvent::Rst { .. } => Ev::Rst,
            HttpEvent::Fin { dir, .. } => Ev::Fin(dir),
            HttpEvent::ConnClosed { was_http, tls, .. } => Ev::Closed { was_http, tls },
        });
    }
}

const CONN: ConnId = ConnId(7);

struct Driver {
    layer: HttpLayer,
    sink: Collect,
    info: ConnInfo,
    frame: u64,
}

impl Driver {
    fn new(handshake_seen: bool) -> Self {
        Self::with_config(HttpConfig::default(), handshake_seen)
    }

    fn with_config(cfg: HttpConfig, handshake_seen: bool) -> Self {
        let info = ConnInfo {
            id: CONN,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "10.0.0.1:7547".parse().unwrap(),
            ts: 0,
            frame: FrameRef::new(0, 1),
            handshake_seen,
        };
        let mut d = Driver {
            layer: HttpLayer::new(cfg),
            sink: Collect::default(),
            info,
            frame: 1,
        };
        let info = d.info.clone();
        d.layer
            .push(StreamEvent::Open(&info), &mut |e| d.sink.on_http(e));
        d
    }

    fn next_frame(&mut self) -> (FrameRef, Nanos) {
        self.frame += 1;
        (FrameRef::new(0, self.frame), self.frame as Nanos * 1000)
    }

    fn data(&mut self, dir: Dir, bytes: &[u8]) {
        let (frame, ts) = self.next_frame();
        let ev = StreamEvent::Data {
            conn: CONN,
            dir,
            frame,
            ts,
            bytes,
        };
        self.layer.push(ev, &mut |e| self.sink.on_http(e));
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let (frame, ts) = self.next_frame();
        let ev = StreamEvent::Gap {
            conn: CONN,
            dir,
            frame,
            ts,
            len,
        };
        self.layer.push(ev, &mut |e| self.sink.on_http(e));
    }

    fn fin(&mut self, dir: Dir) {
        let (frame, ts) = self.next_frame();
        let ev = StreamEvent::Fin {
            conn: CONN,
            dir,
            frame,
            ts,
        };
        self.layer.push(ev, &mut |e| self.sink.on_http(e));
    }

    fn close(&mut self, end: ConnEnd) {
        let info = self.info.clone();
        let stats = ConnStats::default();
        let ev = StreamEvent::Closed {
            info: &info,
            ts: 99,
            end,
            stats: &stats,
        };
        self.layer.push(ev, &mut |e| self.sink.on_http(e));
    }

    fn messages(&self) -> Vec<&HttpMessage> {
        self.sink
            .0
            .iter()
            .filter_map(|e| match e {
                Ev::Msg(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// The limits of the `Malformed` events, in order.
    fn malformed_limits(&self) -> Vec<Option<Limit>> {
        self.sink
            .0
            .iter()
            .filter_map(|e| match e {
                Ev::Malformed { limit, .. } => Some(*limit),
                _ => None,
            })
            .collect()
    }

    fn malformed(&self) -> Vec<(Dir, u64, String)> {
        self.sink
            .0
            .iter()
            .filter_map(|e| match e {
                Ev::Malformed {
                    dir,
                    offset,
                    reason,
                    ..
                } => Some((*dir, *offset, reason.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Every event as text, frames left out (they depend on the chunking).
fn summary(events: &[Ev]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Ev::Msg(m) => format!(
                "{:?}#{} {:?} v{} {:?} body={:?} len={} trunc={} complete={} gap={} answers={:?} {:?} interim={}",
                m.dir,
                m.index,
                m.start,
                m.version,
                m.headers,
                String::from_utf8_lossy(&m.body),
                m.body_len,
                m.body_truncated,
                m.complete,
                m.gap_bytes,
                m.answers,
                m.request_method,
                m.interim
            ),
            Ev::Malformed {
                dir,
                offset,
                reason,
                ..
            } => format!("malformed {dir:?}@{offset}: {reason}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

use Dir::{ToClient as C, ToServer as S};

/// A conversation exercising most framing rules; pieces in the order they travel.
fn conversation() -> Vec<(Dir, Vec<u8>)> {
    let zipped = gzip(b"<Envelope>compressed</Envelope>");
    let mut gz_response = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        zipped.len()
    )
    .into_bytes();
    gz_response.extend_from_slice(&zipped);
    vec![
        (
            S,
            b"POST /acs HTTP/1.1\r\nHost: acs\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"
                .to_vec(),
        ),
        (C, b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
        (
            S,
            b"hello worldGET /a HTTP/1.1\r\nHost:x\r\nContent-Type:\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.0\n\n"
                .to_vec(),
        ),
        (
            C,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nabcde\r\n3\r\nfgh\r\n0\r\nT: 1\r\n\r\n"
                .to_vec(),
        ),
        (C, gz_response),
        (C, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".to_vec()),
        (C, b"HTTP/1.0 200 OK\nServer: old\n\nclose-delimited body".to_vec()),
    ]
}

/// Runs the conversation, each piece cut at the given positions, then FIN and close.
fn run_cut(pieces: &[(Dir, Vec<u8>)], cuts: &[Vec<usize>]) -> Vec<String> {
    let mut d = Driver::new(true);
    for (i, (dir, bytes)) in pieces.iter().enumerate() {
        let mut at = 0;
        let mut piece_cuts: Vec<usize> = cuts.get(i).cloned().unwrap_or_default();
        piece_cuts.retain(|&c| c > 0 && c < bytes.len());
        piece_cuts.sort_unstable();
        piece_cuts.dedup();
        for c in piece_cuts {
            d.data(*dir, &bytes[at..c]);
            at = c;
        }
        d.data(*dir, &bytes[at..]);
    }
    d.fin(C);
    d.close(ConnEnd::Closed);
    summary(&d.sink.0)
}

#[test]
fn conversation_in_one_piece_per_send() {
    let pieces = conversation();
    let mut d = Driver::new(true);
    for (dir, bytes) in &pieces {
        d.data(*dir, bytes);
    }
    d.fin(C);
    d.close(ConnEnd::Closed);
    let msgs = d.messages();
    assert_eq!(msgs.len(), 9, "{:#?}", summary(&d.sink.0));
    // Messages are emitted when they end: the 100 Continue before the POST's body.
    let cont = msgs[0];
    assert!(cont.interim);
    assert_eq!(cont.status(), Some(100));
    assert_eq!(cont.answers, Some(0));
    assert_eq!(cont.src, d.info.server);
    let post = msgs[1];
    assert_eq!(post.method(), Some("POST"));
    assert_eq!(post.index, 0);
    assert_eq!(post.src, d.info.client);
    assert_eq!(post.dst, d.info.server);
    assert_eq!(post.body, b"hello world");
    assert!(post.complete);
    let get_a = msgs[2];
    assert_eq!(get_a.header("host"), Some("x"));
    assert_eq!(get_a.header("Content-Type"), Some(""));
    assert_eq!(msgs[3].method(), Some("HEAD"));
    assert_eq!(msgs[4].version, 0);
    let chunked = msgs[5];
    assert_eq!(
        chunked.answers,
        Some(0),
        "100 Continue did not consume the POST"
    );
    assert_eq!(chunked.index, 1);
    assert_eq!(chunked.body, b"abcdefgh");
    assert_eq!(chunked.body_len, 8);
    assert_eq!(chunked.header("T"), Some("1"), "trailer appended");
    let gz = msgs[6];
    assert_eq!(gz.answers, Some(1));
    assert_eq!(gz.request_method.as_deref(), Some("GET"));
    assert_eq!(gz.body, b"<Envelope>compressed</Envelope>");
    assert!(gz.body_len > 0 && gz.body_len != gz.body.len() as u64);
    let head = msgs[7];
    assert_eq!(head.request_method.as_deref(), Some("HEAD"));
    assert!(head.body.is_empty() && head.complete);
    let close = msgs[8];
    assert_eq!(close.answers, Some(3));
    assert_eq!(close.body, b"close-delimited body");
    assert!(close.complete, "ended by FIN");
    assert!(d.malformed().is_empty());
    assert!(matches!(
        d.sink.0.last(),
        Some(Ev::Closed {
            was_http: true,
            tls: false
        })
    ));
    assert_eq!(d.layer.open_connections(), 0);
}

#[test]
fn every_split_position_gives_the_same_result() {
    let pieces = conversation();
    let whole = run_cut(&pieces, &[]);
    for (i, (_, bytes)) in pieces.iter().enumerate() {
        for at in 1..bytes.len() {
            let mut cuts = vec![Vec::new(); pieces.len()];
            cuts[i] = vec![at];
            assert_eq!(run_cut(&pieces, &cuts), whole, "piece {i} cut at {at}");
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_result() {
    let pieces = conversation();
    let whole = run_cut(&pieces, &[]);
    let cuts: Vec<Vec<usize>> = pieces.iter().map(|(_, b)| (1..b.len()).collect()).collect();
    assert_eq!(run_cut(&pieces, &cuts), whole);
}

proptest! {
    #[test]
    fn random_chunkings_give_the_same_result(
        cuts in proptest::collection::vec(proptest::collection::vec(0usize..200, 0..8), 7)
    ) {
        let pieces = conversation();
        let whole = run_cut(&pieces, &[]);
        prop_assert_eq!(run_cut(&pieces, &cuts), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        script in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64), 0u8..8),
            0..24,
        ),
        cfg_small in any::<bool>(),
    ) {
        let cfg = if cfg_small {
            HttpConfig { max_body: 8, max_header_bytes: 40, max_headers: 2, max_pending_requests: 1, keep_all_bodies: false, digest_only_for: None, digests: None }
        } else {
            HttpConfig::default()
        };
        let mut d = Driver::with_config(cfg, false);
        for (to_server, mut bytes, action) in script {
            let dir = if to_server { S } else { C };
            if action == 0 {
                bytes.splice(0..0, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".iter().copied());
            } else if action == 1 {
                bytes.splice(0..0, b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n".iter().copied());
            }
            match action {
                7 => d.gap(dir, bytes.len() as u64 + 1),
                6 => d.fin(dir),
                _ => d.data(dir, &bytes),
            }
        }
        d.close(ConnEnd::CaptureEnded);
        let closed = matches!(d.sink.0.last(), Some(Ev::Closed { .. }));
        prop_assert!(closed);
        prop_assert_eq!(d.layer.open_connections(), 0);
    }
}

#[test]
fn frames_and_times_follow_first_and_last_byte() {
    let mut d = Driver::new(true);
    d.data(S, b"POST /acs HTTP/1.1\r\nContent-"); // frame 2
    d.data(S, b"Length: 6\r\n\r\nabc"); // frame 3
    d.data(S, b"defGET / HTTP/1.1\r\n"); // frame 4
    d.data(S, b"\r\n"); // frame 5
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        (msgs[0].first_frame.number, msgs[0].last_frame.number),
        (2, 4)
    );
    assert_eq!((msgs[0].ts, msgs[0].end_ts), (2000, 4000));
    assert_eq!(
        (msgs[1].first_frame.number, msgs[1].last_frame.number),
        (4, 5)
    );
}

#[test]
fn pipelined_requests_pair_in_order() {
    let mut d = Driver::new(true);
    d.data(
        S,
        b"GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    d.data(
        C,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nC",
    );
    let msgs = d.messages();
    let responses: Vec<_> = msgs.iter().filter(|m| !m.is_request()).collect();
    assert_eq!(responses.len(), 3);
    let pairs: Vec<_> = responses
        .iter()
        .map(|m| (m.answers, m.request_method.clone(), m.body.clone()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (Some(0), Some("GET".into()), b"A".to_vec()),
            (Some(1), Some("HEAD".into()), Vec::new()),
            (Some(2), Some("GET".into()), b"C".to_vec()),
        ]
    );
    assert_eq!(responses[2].status(), Some(404));
}

#[test]
fn pending_queue_is_bounded() {
    let cfg = HttpConfig {
        max_pending_requests: 2,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(
        S,
        b"GET /0 HTTP/1.1\r\n\r\nGET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    d.data(C, b"HTTP/1.1 204 No Content\r\n\r\n");
    let last = *d.messages().last().unwrap();
    assert_eq!(last.answers, Some(1), "the oldest request was given up");
    // The request that pushed it out carries the limit; it is counted once.
    let marked: Vec<bool> = d
        .messages()
        .iter()
        .map(|m| m.limits_hit.contains(Limit::HttpPendingRequests))
        .collect();
    assert_eq!(marked, [false, false, true, false]);
    assert_eq!(
        d.layer.stats().limits_hit.get(Limit::HttpPendingRequests),
        1
    );
}

#[test]
fn bodiless_statuses_ignore_length() {
    let mut d = Driver::new(true);
    d.data(
        S,
        b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    d.data(
        C,
        b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let statuses: Vec<_> = d
        .messages()
        .iter()
        .filter_map(|m| m.status().map(|s| (s, m.body.clone(), m.complete)))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (204, vec![], true),
            (304, vec![], true),
            (200, b"ok".to_vec(), true)
        ]
    );
    assert!(d.malformed().is_empty());
}

#[test]
fn deflate_bodies_zlib_and_raw() {
    let text = b"<cwmp:Inform>deflated</cwmp:Inform>";
    let wrapped = zlib(text);
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    raw.write_all(text).unwrap();
    let raw = raw.finish().unwrap();
    for body in [wrapped, raw] {
        let mut d = Driver::new(true);
        let mut msg = format!(
            "POST / HTTP/1.1\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        msg.extend_from_slice(&body);
        d.data(S, &msg);
        let m = d.messages()[0];
        assert_eq!(m.body, text);
        assert_eq!(m.body_len, body.len() as u64);
    }
}

#[test]
fn large_body_is_counted_not_stored() {
    let cfg = HttpConfig {
        max_body: 10,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    for _ in 0..100 {
        d.data(C, &[b'x'; 1000]);
    }
    let m = d.messages()[0];
    assert_eq!(m.body.len(), 10);
    assert!(m.body_truncated);
    assert_eq!(m.body_len, 100_000);
    assert!(m.complete);
    assert_eq!(m.limits_hit, LimitSet::of(Limit::HttpBodyBytes));
    assert_eq!(d.layer.stats().limits_hit.get(Limit::HttpBodyBytes), 1);
}

#[test]
fn a_body_only_counted_is_no_limit_reached() {
    // A file fetch's body is not kept for decoding: however long, it reaches no limit.
    let cfg = HttpConfig {
        max_body: 10,
        keep_all_bodies: false,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(S, b"GET /fw.bin HTTP/1.1\r\n\r\n");
    d.data(
        C,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n",
    );
    d.data(C, &[b'x'; 100]);
    let m = d.messages()[1];
    assert_eq!(m.body_len, 100);
    assert!(m.body.is_empty());
    assert!(m.limits_hit.is_empty());
    assert!(d.layer.stats().limits_hit.is_empty());
}

#[test]
fn close_delimited_without_fin_is_incomplete() {
    let mut d = Driver::new(true);
    d.data(C, b"HTTP/1.1 200 OK\r\n\r\npartial");
    assert!(d.messages().is_empty());
    d.close(ConnEnd::Reset);
    let m = d.messages()[0];
    assert_eq!(m.body, b"partial");
    assert!(!m.complete);
}

#[test]
fn request_without_length_has_no_body() {
    let mut d = Driver::new(true);
    d.data(S, b"POST /acs HTTP/1.1\r\nHost: a\r\n\r\n");
    let m = d.messages()[0];
    assert!(m.body.is_empty() && m.complete);
}

#[test]
fn gap_inside_content_length_body_keeps_framing() {
    let mut d = Driver::new(true);
    d.data(S, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    d.gap(S, 4);
    d.data(S, b"hijGET /next HTTP/1.1\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].body, b"abchij");
    assert_eq!(msgs[0].gap_bytes, 4);
    assert_eq!(msgs[0].body_len, 10);
    assert!(!msgs[0].complete);
    assert_eq!(msgs[1].method(), Some("GET"));
    assert!(msgs[1].complete);
    assert!(
        d.sink
            .0
            .iter()
            .any(|e| matches!(e, Ev::Gap { dir: S, len: 4 }))
    );
    assert!(d.malformed().is_empty());
}

#[test]
fn gap_past_the_body_end_resynchronizes() {
    let mut d = Driver::new(true);
    d.data(S, b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    d.gap(S, 30);
    d.data(S, b"tail of a lost message\r\nPOST /x HTTP/1.1\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert!(!msgs[0].complete);
    assert_eq!(msgs[0].gap_bytes, 2);
    assert_eq!(
        msgs[1].start,
        StartLine::Request {
            method: "POST".into(),
            uri: "/x".into()
        }
    );
    assert!(d.malformed().is_empty());
}

#[test]
fn gap_in_headers_emits_partial_and_resyncs() {
    let mut d = Driver::new(true);
    d.data(S, b"POST /acs HTTP/1.1\r\nHost: acs\r\nContent-Le");
    d.gap(S, 100);
    d.data(S, b"ngth: 5\r\n\r\nhello");
    d.data(S, b"\r\nGET /ok HTTP/1.1\r\n\r\n");
    d.data(C, b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 3, "{:#?}", summary(&d.sink.0));
    assert_eq!(msgs[0].method(), Some("POST"));
    assert!(!msgs[0].complete);
    assert_eq!(msgs[0].header("Host"), Some("acs"));
    assert_eq!(msgs[1].method(), Some("GET"));
    assert_eq!(
        msgs[2].answers,
        Some(0),
        "the cut request is still answered"
    );
    assert!(d.malformed().is_empty());
}

#[test]
fn response_lost_in_a_gap_is_skipped_when_pairing() {
    let mut d = Driver::new(true);
    d.data(S, b"GET /0 HTTP/1.1\r\n\r\n");
    d.gap(C, 238); // the head of the response to /0
    d.data(C, b"<html>rest of body 0</html>\n");
    d.data(S, b"GET /1 HTTP/1.1\r\n\r\n");
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr1");
    d.data(S, b"GET /2 HTTP/1.1\r\n\r\n");
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr2");
    let answers: Vec<_> = d
        .messages()
        .iter()
        .filter(|m| !m.is_request())
        .map(|m| m.answers)
        .collect();
    assert_eq!(answers, vec![Some(1), Some(2)]);
}

#[test]
fn pipelined_requests_keep_fifo_order_after_a_gap() {
    let mut d = Driver::new(true);
    d.data(S, b"GET /0 HTTP/1.1\r\n\r\nGET /1 HTTP/1.1\r\n\r\n");
    d.gap(C, 100);
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let answers: Vec<_> = d.messages().iter().map(|m| m.answers).collect();
    assert_eq!(answers, vec![None, None, Some(0)]);
}

#[test]
fn gap_in_chunked_body() {
    let mut d = Driver::new(true);
    d.data(
        C,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabcd",
    );
    d.gap(C, 4); // inside the chunk: framing kept
    d.data(C, b"ijklmnop\r\n4\r\nqr");
    d.gap(C, 50); // past the chunk: framing lost
    d.data(C, b"junk\nHTTP/1.1 204 No Content\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2, "{:#?}", summary(&d.sink.0));
    assert_eq!(msgs[0].body, b"abcdijklmnopqr");
    assert_eq!(msgs[0].gap_bytes, 4);
    assert!(!msgs[0].complete);
    assert_eq!(msgs[1].status(), Some(204));
}

#[test]
fn malformed_bytes_between_messages_reported_once() {
    let mut d = Driver::new(true);
    d.data(S, b"GET / HTTP/1.1\r\n\r\n");
    d.data(S, b"\x00\x01\x02garbage\r\nmore garbage\r\n");
    d.data(S, b"\x00still garbage\n");
    d.data(S, b"GET /again HTTP/1.1\r\n\r\n");
    let bad = d.malformed();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, S);
    assert_eq!(bad[0].1, 18, "offset in the direction's stream");
    let frames: Vec<u64> = d
        .sink
        .0
        .iter()
        .filter_map(|e| match e {
            Ev::Malformed { frame, .. } => Some(*frame),
            _ => None,
        })
        .collect();
    assert_eq!(frames, vec![3], "the frame that carried the bad byte");
    assert_eq!(d.messages().len(), 2);
}

#[test]
fn bad_chunk_size_is_malformed() {
    let mut d = Driver::new(true);
    d.data(
        C,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
    );
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert!(!msgs[0].complete);
    assert_eq!(msgs[0].body, b"abc");
    let bad = d.malformed();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].1, 55, "offset of the bad size line");
    assert!(bad[0].2.contains("chunk"));
}

#[test]
fn oversized_header_block_is_malformed() {
    let cfg = HttpConfig {
        max_header_bytes: 200,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(S, b"GET / HTTP/1.1\r\n\r\n");
    d.data(S, b"GET /big HTTP/1.1\r\n");
    for _ in 0..20 {
        d.data(S, b"X-Filler: 0123456789\r\n");
    }
    d.data(S, b"\r\nGET /after HTTP/1.1\r\n\r\n");
    assert_eq!(d.malformed().len(), 1);
    assert_eq!(d.malformed_limits(), [Some(Limit::HttpHeaderBytes)]);
    assert_eq!(d.layer.stats().limits_hit.get(Limit::HttpHeaderBytes), 1);
    let uris: Vec<_> = d
        .messages()
        .iter()
        .map(|m| match &m.start {
            StartLine::Request { uri, .. } => uri.clone(),
            StartLine::Response { .. } => String::new(),
        })
        .collect();
    assert_eq!(uris, vec!["/", "/after"]);
}

#[test]
fn oversized_first_header_block_is_malformed_not_ignored() {
    let cfg = HttpConfig {
        max_header_bytes: 200,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(S, b"POST /acs HTTP/1.1\r\nX-Padding: ");
    for _ in 0..40 {
        d.data(S, b"aaaaaaaaaaaaaaaaaaaa");
    }
    d.data(
        S,
        b"\r\nContent-Length: 0\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
    );
    let bad = d.malformed();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].1, 0, "reported where the head starts");
    assert!(bad[0].2.contains("size limit"), "{bad:?}");
    let uris: Vec<_> = d
        .messages()
        .iter()
        .map(|m| match &m.start {
            StartLine::Request { uri, .. } => uri.clone(),
            StartLine::Response { .. } => String::new(),
        })
        .collect();
    assert_eq!(uris, vec!["/after"]);
}

#[test]
fn many_headers_retry_and_limit() {
    let mut block = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        block.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    block.extend_from_slice(b"\r\n");
    let mut d = Driver::new(true);
    d.data(S, &block);
    assert_eq!(d.messages()[0].headers.len(), 100);

    let cfg = HttpConfig {
        max_headers: 50,
        ..HttpConfig::default()
    };
    let mut d = Driver::with_config(cfg, true);
    d.data(S, b"GET / HTTP/1.1\r\n\r\n");
    d.data(S, &block);
    let bad = d.malformed();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].2.contains("header fields"), "{bad:?}");
    assert_eq!(d.malformed_limits(), [Some(Limit::HttpHeaders)]);
    assert_eq!(d.layer.stats().limits_hit.get(Limit::HttpHeaders), 1);
}

#[test]
fn lenient_header_syntax() {
    let mut d = Driver::new(true);
    d.data(
        S,
        b"GET  /x  HTTP/1.1\r\nHost:x\r\nContent-Type:\r\nX-Empty: \r\n\r\n",
    );
    d.data(S, b"GET  /y HTTP/1.1\r\n\r\n");
    d.data(
        C,
        b"HTTP/1.1  200  OK\r\nServer : cpe\r\nX-Fold: a\r\n  b\r\nBad Header Line\r\nContent-Length: 2\r\n\r\nok",
    );
    let msgs = d.messages();
    assert_eq!(msgs.len(), 3, "{:#?}", summary(&d.sink.0));
    assert!(d.malformed().is_empty());
    assert_eq!(msgs[0].header("Host"), Some("x"));
    assert_eq!(msgs[0].header("content-type"), Some(""));
    assert_eq!(msgs[0].header("X-Empty"), Some(""));
    assert_eq!(msgs[1].method(), Some("GET"));
    assert_eq!(msgs[2].header("Server"), Some("cpe"));
    assert_eq!(msgs[2].header("X-Fold"), Some("a b"));
    assert_eq!(msgs[2].body, b"ok");
}

#[test]
fn binary_stream_is_ignored_quietly() {
    let mut d = Driver::new(true);
    let mut noise = Vec::new();
    let mut seed = 1u32;
    for _ in 0..20_000 {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        noise.push((seed >> 24) as u8);
    }
    noise[0] = 0x00;
    for part in noise.chunks(1460) {
        d.data(S, part);
        d.data(C, part);
    }
    d.close(ConnEnd::Closed);
    assert!(d.malformed().is_empty());
    assert!(d.messages().is_empty());
    assert!(matches!(
        d.sink.0.last(),
        Some(Ev::Closed {
            was_http: false,
            tls: false
        })
    ));
    assert_eq!(d.layer.stats().opaque_bytes, 40_000);
}

#[test]
fn tls_and_ssh_are_not_http() {
    let mut d = Driver::new(true);
    d.data(S, &[0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]);
    d.data(S, b"GET / HTTP/1.1\r\n\r\n");
    d.data(C, b"SSH-2.0-OpenSSH_9.6\r\n");
    d.close(ConnEnd::Closed);
    assert!(d.messages().is_empty());
    assert!(d.malformed().is_empty());
    assert!(matches!(
        d.sink.0.last(),
        Some(Ev::Closed {
            was_http: false,
            tls: true
        })
    ));
}

#[test]
fn mid_stream_pickup_finds_the_next_message() {
    let mut d = Driver::new(false);
    d.data(C, b"rest of a body</soap:Envelope>\r\n");
    d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    d.data(S, b"er>\r\n</soap:Envelope>");
    d.data(S, b"POST /acs HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].status(), Some(200));
    assert_eq!(msgs[0].answers, None);
    assert_eq!(msgs[1].method(), Some("POST"));
    assert!(d.malformed().is_empty());
}

#[test]
fn roles_come_from_content() {
    // The reassembler guessed the roles wrong: requests travel ToClient.
    let mut d = Driver::new(false);
    d.data(C, b"GET / HTTP/1.1\r\n\r\n");
    d.data(S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    let msgs = d.messages();
    assert_eq!(msgs[0].dir, C);
    assert_eq!(msgs[1].dir, S);
    assert_eq!(msgs[1].answers, Some(0));
    assert_eq!(msgs[1].src, d.info.client);
}

#[test]
fn switching_protocols_stops_parsing() {
    let mut d = Driver::new(true);
    d.data(S, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
    d.data(C, b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello");
    d.data(S, b"\x81\x85\x00\x00\x00\x00hello");
    assert_eq!(d.messages().len(), 2);
    assert!(!d.messages()[1].interim);
    assert!(d.malformed().is_empty());
}

#[test]
fn fin_and_close_flush_partial_messages() {
    let mut d = Driver::new(true);
    d.data(S, b"POST /acs HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort");
    d.fin(S);
    let m = d.messages()[0];
    assert!(!m.complete);
    assert_eq!(m.body, b"short");
    d.data(C, b"HTTP/1.1 5");
    d.close(ConnEnd::Reset);
    assert_eq!(
        d.messages().len(),
        1,
        "status line incomplete: not a message"
    );
    let kinds: Vec<_> = d.sink.0.iter().map(|e| format!("{e:?}")).collect();
    assert!(kinds[0].starts_with("Open"));
    assert!(kinds.last().unwrap().starts_with("Closed"));
    assert!(d.sink.0.iter().any(|e| matches!(e, Ev::Fin(S))));
}

#[test]
fn close_emits_cut_header_blocks_in_time_order() {
    let mut d = Driver::new(true);
    d.data(S, b"POST /acs HTTP/1.1\r\nHost: a\r\n");
    d.data(C, b"HTTP/1.1 200 OK\r\nServer: x\r\n");
    d.close(ConnEnd::CaptureEnded);
    let msgs = d.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].method(), Some("POST"));
    assert_eq!(msgs[1].status(), Some(200));
    assert_eq!(msgs[1].answers, Some(0));
    assert!(msgs.iter().all(|m| !m.complete));
}

#[test]
fn data_without_open_is_handled() {
    let mut layer = HttpLayer::new(HttpConfig::default());
    let mut sink = Collect::default();
    let ev = StreamEvent::Data {
        conn: ConnId(99),
        dir: S,
        frame: FrameRef::new(0, 5),
        ts: 5,
        bytes: b"GET / HTTP/1.1\r\n\r\n",
    };
    layer.push(ev, &mut |e| sink.on_http(e));
    assert!(matches!(sink.0.as_slice(), [Ev::Msg(_)]));
    assert_eq!(layer.open_connections(), 1);
}

#[test]
fn rst_is_forwarded() {
    let mut d = Driver::new(true);
    let ev = StreamEvent::Rst {
        conn: CONN,
        dir: C,
        frame: FrameRef::new(0, 3),
        ts: 3,
    };
    d.layer.push(ev, &mut |e| d.sink.on_http(e));
    assert!(matches!(d.sink.0.last(), Some(Ev::Rst)));
}

#[test]
fn a_shard_digests_only_the_files_its_cpes_fetch() {
    use crate::shard::{ShardSpec, shard_of};
    // The client 10.0.0.2 fetches a file: its shard digests it, the other does not.
    let owner = shard_of("10.0.0.2".parse().unwrap(), 2);
    let digest_in = |index| {
        let mut d = Driver::with_config(
            HttpConfig {
                digest_only_for: Some(ShardSpec { index, count: 2 }),
                ..HttpConfig::default()
            },
            true,
        );
        d.data(S, b"GET /fw.bin HTTP/1.1\r\nHost: fs\r\n\r\n");
        d.data(C, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let messages = d.messages();
        assert_eq!(messages.len(), 2);
        messages[1].body_sha256
    };
    assert!(digest_in(owner).is_some());
    assert!(digest_in(3 - owner).is_none());
}
