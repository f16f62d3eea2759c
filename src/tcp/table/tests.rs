//! Tests of the reassembler as a whole: the event stream it emits for generated segments.

use super::*;
use crate::limits::{Limit, LimitSet};
use crate::tcp::{ConnStats, half::REORDER_GRACE_PACKETS};
use crate::types::{Dir, FrameRef};
use crate::wire::TcpFlags;
use std::net::SocketAddr;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;
const SEC: Nanos = 1_000_000_000;

/// An owned copy of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Open {
        id: u64,
        client: SocketAddr,
        server: SocketAddr,
        handshake_seen: bool,
    },
    Data {
        id: u64,
        dir: Dir,
        frame: u64,
        bytes: Vec<u8>,
    },
    Gap {
        id: u64,
        dir: Dir,
        frame: u64,
        len: u64,
    },
    Fin {
        id: u64,
        dir: Dir,
    },
    Rst {
        id: u64,
        dir: Dir,
    },
    Closed {
        id: u64,
        end: ConnEnd,
        stats: ConnStats,
    },
}

#[derive(Default)]
struct Collect(Vec<Ev>);

impl Collect {
    fn on_stream(&mut self, ev: StreamEvent<'_>) {
        self.0.push(match ev {
            StreamEvent::Open(info) => Ev::Open {
                id: info.id.0,
                client: info.client,
                server: info.server,
                handshake_seen: info.handshake_seen,
            },
            StreamEvent::Data {
                conn,
                dir,
                frame,
                bytes,
                ..
            } => Ev::Data {
                id: conn.0,
                dir,
                frame: frame.number,
                bytes: bytes.to_vec(),
            },
            StreamEvent::Gap {
                conn,
                dir,
                frame,
                len,
                ..
            } => Ev::Gap {
                id: conn.0,
                dir,
                frame: frame.number,
                len,
            },
            StreamEvent::Fin { conn, dir, .. } => Ev::Fin { id: conn.0, dir },
            StreamEvent::Rst { conn, dir, .. } => Ev::Rst { id: conn.0, dir },
            StreamEvent::Closed {
                info, end, stats, ..
            } => Ev::Closed {
                id: info.id.0,
                end,
                stats: stats.clone(),
            },
        });
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Drives a reassembler with one client and one server, numbering frames from 1 and
/// spacing them 1 ms apart.
struct Harness {
    r: Reassembler,
    out: Collect,
    frame: u64,
    client: SocketAddr,
    server: SocketAddr,
}

impl Harness {
    fn new() -> Self {
        Self::with(
            ReassemblyConfig::default(),
            "10.0.0.1:50000",
            "10.0.0.2:7547",
        )
    }

    fn with(cfg: ReassemblyConfig, client: &str, server: &str) -> Self {
        Harness {
            r: Reassembler::new(cfg),
            out: Collect::default(),
            frame: 0,
            client: addr(client),
            server: addr(server),
        }
    }

    fn now(&self) -> Nanos {
        self.frame as Nanos * 1_000_000
    }

    fn send(&mut self, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.send_cut(to_server, seq, ack, flags, payload, 0);
    }

    fn send_cut(
        &mut self,
        to_server: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        cut: u32,
    ) {
        self.frame += 1;
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let seg = TcpSegment {
            frame: FrameRef::new(0, self.frame),
            ts: self.now(),
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 65535,
            payload,
            payload_cut: cut,
        };
        self.r.push(&seg, &mut |ev| self.out.on_stream(ev));
    }

    /// Client → server.
    fn c(&mut self, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.send(true, seq, ack, flags, payload);
    }

    /// Server → client.
    fn s(&mut self, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.send(false, seq, ack, flags, payload);
    }

    /// SYN (client ISN `ci`), SYN-ACK (server ISN `si`), ACK.
    fn handshake(&mut self, ci: u32, si: u32) {
        self.c(ci, 0, SYN, b"");
        self.s(si, ci.wrapping_add(1), SYN | ACK, b"");
        self.c(ci.wrapping_add(1), si.wrapping_add(1), ACK, b"");
    }

    fn advance(&mut self, now: Nanos) {
        self.r.advance(now, &mut |ev| self.out.on_stream(ev));
    }

    fn finish(&mut self) {
        self.r.finish(&mut |ev| self.out.on_stream(ev));
    }

    fn events(&self) -> &[Ev] {
        &self.out.0
    }

    /// Delivered bytes of one direction, concatenated.
    fn data(&self, want: Dir) -> Vec<u8> {
        let mut all = Vec::new();
        for ev in self.events() {
            if let Ev::Data { dir, bytes, .. } = ev
                && *dir == want
            {
                all.extend_from_slice(bytes);
            }
        }
        all
    }

    /// Gaps of one direction as (stream offset, length).
    fn gaps(&self, want: Dir) -> Vec<(u64, u64)> {
        let mut offset = 0;
        let mut gaps = Vec::new();
        for ev in self.events() {
            match ev {
                Ev::Data { dir, bytes, .. } if *dir == want => offset += bytes.len() as u64,
                Ev::Gap { dir, len, .. } if *dir == want => {
                    gaps.push((offset, *len));
                    offset += len;
                }
                _ => {}
            }
        }
        gaps
    }

    fn closed(&self) -> Vec<(u64, ConnEnd, ConnStats)> {
        self.events()
            .iter()
            .filter_map(|ev| match ev {
                Ev::Closed { id, end, stats } => Some((*id, *end, stats.clone())),
                _ => None,
            })
            .collect()
    }

    fn position(&self, pred: impl Fn(&Ev) -> bool) -> usize {
        self.events()
            .iter()
            .position(pred)
            .expect("expected event missing")
    }
}

#[test]
fn full_connection_in_order() {
    let mut h = Harness::new();
    h.handshake(1000, 5000);
    h.c(1001, 5001, ACK | PSH, b"POST / HTTP/1.1\r\n\r\n");
    h.s(5001, 1020, ACK | PSH, b"HTTP/1.1 200 OK\r\n\r\n");
    h.c(1020, 5020, FIN | ACK, b"");
    h.s(5020, 1021, FIN | ACK, b"");
    h.c(1021, 5021, ACK, b"");
    assert_eq!(h.r.open_connections(), 1, "kept for the close linger");
    // Reported closed at the second FIN, without waiting for the linger.
    assert_eq!(h.closed().len(), 1);
    h.advance(h.now() + 6 * SEC);
    assert_eq!(h.r.open_connections(), 0);

    let ev = h.events();
    assert_eq!(
        ev.first(),
        Some(&Ev::Open {
            id: 1,
            client: h.client,
            server: h.server,
            handshake_seen: true
        })
    );
    assert_eq!(h.data(Dir::ToServer), b"POST / HTTP/1.1\r\n\r\n");
    assert_eq!(h.data(Dir::ToClient), b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(h.gaps(Dir::ToServer).is_empty() && h.gaps(Dir::ToClient).is_empty());
    let closed = h.closed();
    assert_eq!(closed.len(), 1);
    let (id, end, stats) = &closed[0];
    assert_eq!((*id, *end), (1, ConnEnd::Closed));
    // The last ACK came after the close was reported: absorbed.
    assert_eq!(stats.frames, [4, 3]);
    assert_eq!(stats.data_segments, [1, 1]);
    assert_eq!(stats.bytes, [19, 19]);
    assert_eq!(stats.retransmissions, [0, 0]);
    assert!(matches!(ev.last(), Some(Ev::Closed { .. })));
    let fins: Vec<_> = ev.iter().filter(|e| matches!(e, Ev::Fin { .. })).collect();
    assert_eq!(fins.len(), 2);
    assert_eq!(h.r.stats().connections, 1);
}

/// A sink that records where delivered bytes live in memory.
struct PointerSink(Vec<*const u8>);

impl PointerSink {
    fn on_stream(&mut self, ev: StreamEvent<'_>) {
        if let StreamEvent::Data { bytes, .. } = ev {
            self.0.push(bytes.as_ptr());
        }
    }
}

#[test]
fn in_order_payload_is_passed_without_copying() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut out = PointerSink(Vec::new());
    let payload = b"hello world".to_vec();
    let seg = TcpSegment {
        frame: FrameRef::new(0, 1),
        ts: 0,
        src: addr("10.0.0.1:40000"),
        dst: addr("10.0.0.2:80"),
        seq: 7,
        ack: 9,
        flags: TcpFlags(ACK),
        window: 100,
        payload: &payload,
        payload_cut: 0,
    };
    r.push(&seg, &mut |ev| out.on_stream(ev));
    assert_eq!(out.0, vec![payload.as_ptr()]);
    assert_eq!(r.pending_bytes(), 0);
}

#[test]
fn out_of_order_and_retransmitted_segments() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"aaaa");
    h.c(9, 1, ACK, b"cccc"); // ahead of a hole
    h.c(9, 1, ACK, b"cccc"); // duplicate of a buffered segment
    assert_eq!(h.data(Dir::ToServer), b"aaaa");
    h.c(5, 1, ACK, b"bbbb"); // fills the hole
    h.c(1, 1, ACK, b"aaaa"); // duplicate of delivered data
    h.c(3, 1, ACK, b"aabbbbcc"); // covers old data only
    h.c(11, 1, ACK, b"ccdd"); // half old, half new
    assert_eq!(h.data(Dir::ToServer), b"aaaabbbbccccdd");
    assert_eq!(h.r.pending_bytes(), 0);
    h.finish();
    let (_, end, stats) = &h.closed()[0];
    assert_eq!(*end, ConnEnd::CaptureEnded);
    assert_eq!(stats.out_of_order[0], 1);
    assert_eq!(stats.retransmissions[0], 3);
    assert_eq!(stats.data_segments[0], 7);
    assert_eq!(stats.bytes[0], 14);
    assert!(h.gaps(Dir::ToServer).is_empty());
}

#[test]
fn overlapping_conflicts_keep_the_first_copy() {
    let mut h = Harness::new();
    h.handshake(100, 200);
    h.c(105, 201, ACK, b"EFGH"); // offsets 4..8
    h.c(103, 201, ACK, b"CDxyGHIJ"); // 2..10: "xy" conflicts with "EF"
    h.c(101, 201, ACK, b"AB");
    assert_eq!(h.data(Dir::ToServer), b"ABCDEFGHIJ");
    h.finish();
    let (_, _, stats) = &h.closed()[0];
    assert_eq!(stats.conflicting_bytes[0], 2);
    assert!(h.gaps(Dir::ToServer).is_empty());
    assert_eq!(h.r.stats().connections_with_conflicts, 1);
    assert_eq!(h.r.stats().conflicting_bytes, 2);
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut h = Harness::new();
    let isn = u32::MAX - 5;
    h.handshake(isn, 77);
    let base = isn.wrapping_add(1);
    h.c(base.wrapping_add(8), 78, ACK, b"89abcdef"); // after the wrap, out of order
    h.c(base, 78, ACK, b"01234567"); // crosses 2^32
    h.c(base.wrapping_add(16), 78, ACK, b"ghij");
    assert_eq!(h.data(Dir::ToServer), b"0123456789abcdefghij");
    assert!(h.gaps(Dir::ToServer).is_empty());
}

#[test]
fn lost_segment_becomes_one_gap_once_acked() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, ACK, &[b'a'; 100]);
    // [101, 201) is never captured (nor its retransmission).
    h.s(201, 1, ACK, &[b'c'; 100]);
    h.s(301, 1, ACK, &[b'd'; 50]);
    assert!(h.gaps(Dir::ToClient).is_empty(), "no proof of loss yet");
    h.c(1, 351, ACK, b""); // the client got everything
    for _ in 0..REORDER_GRACE_PACKETS {
        assert!(h.gaps(Dir::ToClient).is_empty(), "within the reorder grace");
        h.c(1, 351, ACK, b"");
    }
    assert_eq!(h.gaps(Dir::ToClient), vec![(100, 100)]);
    let gap_frame = h.events().iter().find_map(|e| match e {
        Ev::Gap { frame, .. } => Some(*frame),
        _ => None,
    });
    assert_eq!(
        gap_frame,
        Some(5),
        "attributed to the segment after the hole"
    );
    let mut expected = vec![b'a'; 100];
    expected.extend([b'c'; 100]);
    expected.extend([b'd'; 50]);
    assert_eq!(h.data(Dir::ToClient), expected);
    assert_eq!(h.r.pending_bytes(), 0);
    assert_eq!(h.r.stats().gap_bytes, 100);
    assert_eq!(h.r.stats().connections_with_gaps, 1);
    h.finish();
    assert_eq!(h.closed()[0].2.gap_bytes, [0, 100]);
    assert_eq!(
        h.gaps(Dir::ToClient),
        vec![(100, 100)],
        "no more gaps at the end"
    );
}

#[test]
fn ack_of_unseen_bytes_then_later_data_is_a_gap() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, ACK, b"0123456789");
    h.c(1, 21, ACK, b""); // 10 bytes reached the client that the capture never showed
    h.c(1, 21, ACK, b"");
    assert!(
        h.gaps(Dir::ToClient).is_empty(),
        "nothing after the hole yet"
    );
    h.s(21, 1, ACK, b"after");
    for _ in 0..REORDER_GRACE_PACKETS {
        h.c(1, 26, ACK, b"");
    }
    assert_eq!(h.gaps(Dir::ToClient), vec![(10, 10)]);
    assert_eq!(h.data(Dir::ToClient), b"0123456789after");
}

#[test]
fn segment_captured_after_its_ack_is_not_a_gap() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, ACK, b"aaaa");
    h.s(9, 1, ACK, b"cccc");
    h.c(1, 13, ACK, b""); // acks a segment the capture shows only later
    h.s(5, 1, ACK, b"bbbb");
    for _ in 0..10 {
        h.c(1, 13, ACK, b"");
    }
    h.finish();
    assert_eq!(h.data(Dir::ToClient), b"aaaabbbbcccc");
    assert!(h.gaps(Dir::ToClient).is_empty());
}

#[test]
fn missing_data_before_fin_is_a_gap_then_fin() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, ACK, b"head");
    // [5, 15) lost, then the FIN at 15.
    h.s(15, 1, FIN | ACK, b"");
    h.c(1, 16, ACK, b""); // acks the FIN
    for _ in 0..REORDER_GRACE_PACKETS {
        h.c(1, 16, ACK, b"");
    }
    assert_eq!(h.gaps(Dir::ToClient), vec![(4, 10)]);
    let gap = h.position(|e| matches!(e, Ev::Gap { .. }));
    let fin = h.position(|e| matches!(e, Ev::Fin { .. }));
    assert!(gap < fin);
}

#[test]
fn unacked_hole_before_fin_is_gapped_when_the_connection_ends() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"aaaa");
    h.c(9, 1, FIN | ACK, b"cccc"); // [5, 9) missing, nobody acked it
    h.s(1, 5, FIN | ACK, b"");
    assert!(h.gaps(Dir::ToServer).is_empty());
    assert!(!h.events().iter().any(|e| matches!(
        e,
        Ev::Fin {
            dir: Dir::ToServer,
            ..
        }
    )));
    h.advance(h.now() + 10 * SEC); // end of the close linger
    assert_eq!(h.gaps(Dir::ToServer), vec![(4, 4)]);
    assert_eq!(h.data(Dir::ToServer), b"aaaacccc");
    let data = h.position(|e| matches!(e, Ev::Data { bytes, .. } if bytes == b"cccc"));
    let fin = h.position(|e| {
        matches!(
            e,
            Ev::Fin {
                dir: Dir::ToServer,
                ..
            }
        )
    });
    let closed = h.position(|e| matches!(e, Ev::Closed { .. }));
    assert!(data < fin && fin < closed);
    assert_eq!(h.closed()[0].1, ConnEnd::Closed);
}

#[test]
fn acked_but_unseen_tail_is_a_gap_at_the_end() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, ACK, b"0123456789");
    h.c(1, 31, ACK, b""); // 20 more bytes reached the client, none captured
    h.finish();
    assert_eq!(h.gaps(Dir::ToClient), vec![(10, 20)]);
}

#[test]
fn fin_waits_for_reordered_data() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"abc");
    h.c(7, 1, FIN | ACK, b"ghi");
    h.c(4, 1, ACK, b"def");
    let ev = h.events();
    let fin = h.position(|e| matches!(e, Ev::Fin { .. }));
    let last_data = ev
        .iter()
        .rposition(|e| matches!(e, Ev::Data { .. }))
        .expect("data");
    assert!(last_data < fin);
    assert_eq!(h.data(Dir::ToServer), b"abcdefghi");
    // Data claimed after the FIN is never delivered.
    h.c(10, 1, ACK, b"zzz");
    assert_eq!(h.data(Dir::ToServer), b"abcdefghi");
}

#[test]
fn reset_ends_the_connection() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"GET");
    h.c(8, 1, ACK, b"late"); // buffered behind a hole of 4
    h.s(1, 4, RST | ACK, b"");
    let rst = h.position(|e| {
        matches!(
            e,
            Ev::Rst {
                dir: Dir::ToClient,
                ..
            }
        )
    });
    let gap = h.position(|e| matches!(e, Ev::Gap { .. }));
    assert!(gap < rst, "what was buffered is flushed before the RST");
    assert_eq!(h.data(Dir::ToServer), b"GETlate");
    let n = h.events().len();
    h.c(4, 1, ACK, b"more"); // absorbed
    assert_eq!(h.events().len(), n);
    h.advance(h.now() + 10 * SEC);
    let closed = h.closed();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].1, ConnEnd::Reset);
    // Reported at the RST: the late packet after it is not counted.
    assert_eq!(closed[0].2.frames, [4, 2]);
    assert_eq!(h.r.open_connections(), 0);
}

#[test]
fn midstream_pickup_guesses_roles() {
    // The first packet comes from the CWMP port: that side is the server.
    let mut h = Harness::new();
    h.s(5000, 9000, ACK, b"response");
    h.c(9000, 5008, ACK, b"request");
    assert_eq!(
        h.events().first(),
        Some(&Ev::Open {
            id: 1,
            client: h.client,
            server: h.server,
            handshake_seen: false
        })
    );
    assert_eq!(h.data(Dir::ToClient), b"response");
    assert_eq!(h.data(Dir::ToServer), b"request");

    // No service port on either side: the first sender is the client.
    let mut h = Harness::with(
        ReassemblyConfig::default(),
        "10.0.0.1:40000",
        "10.0.0.2:45000",
    );
    h.s(1, 1, ACK, b"x");
    assert!(matches!(h.events().first(), Some(Ev::Open { client, .. }) if *client == h.server));

    // A SYN-ACK first: its sender is the server, even on unknown ports.
    let mut h = Harness::with(
        ReassemblyConfig::default(),
        "10.0.0.1:40000",
        "10.0.0.2:45000",
    );
    h.s(700, 101, SYN | ACK, b"");
    h.c(100, 0, SYN, b""); // the SYN, captured late
    h.c(101, 701, ACK, b"hi");
    assert!(matches!(
        h.events().first(),
        Some(Ev::Open { client, handshake_seen: true, .. }) if *client == h.client
    ));
    assert_eq!(h.data(Dir::ToServer), b"hi");
    assert_eq!(h.r.stats().connections, 1, "the late SYN is not port reuse");
}

#[test]
fn midstream_data_before_the_first_seen_segment_is_recovered_via_ack() {
    let mut h = Harness::new();
    // The client's ACK tells where the server's data starts; the server's segments arrive
    // out of order.
    h.c(50, 1000, ACK, b"");
    h.s(1004, 50, ACK, b"5678");
    h.s(1000, 50, ACK, b"1234");
    assert_eq!(h.data(Dir::ToClient), b"12345678");
}

#[test]
fn new_syn_after_close_is_a_new_connection() {
    let mut h = Harness::new();
    h.handshake(10, 20);
    h.c(11, 21, FIN | ACK, b"");
    h.s(21, 12, FIN | ACK, b"");
    h.c(12, 22, ACK, b"");
    h.handshake(90_000, 4_000); // same ports, new ISN, within the linger
    h.c(90_001, 4_001, ACK, b"new");
    let ev = h.events();
    let closed1 = h.position(|e| matches!(e, Ev::Closed { id: 1, .. }));
    let open2 = h.position(|e| matches!(e, Ev::Open { id: 2, .. }));
    assert!(closed1 < open2);
    assert!(matches!(
        ev.get(closed1),
        Some(Ev::Closed {
            end: ConnEnd::Closed,
            ..
        })
    ));
    assert!(ev.contains(&Ev::Data {
        id: 2,
        dir: Dir::ToServer,
        frame: 10,
        bytes: b"new".to_vec()
    }));
    assert_eq!(h.r.open_connections(), 1);
    assert_eq!(h.r.stats().connections, 2);
}

#[test]
fn idle_connections_are_released_by_advance() {
    let cfg = ReassemblyConfig {
        idle_timeout: 60 * SEC,
        ..ReassemblyConfig::default()
    };
    let mut h = Harness::with(cfg, "10.0.0.1:50000", "10.0.0.2:7547");
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"x");
    let last = h.now();
    h.advance(last + 30 * SEC);
    assert!(h.closed().is_empty());
    h.advance(last + 59 * SEC);
    assert!(h.closed().is_empty());
    h.advance(last + 60 * SEC);
    assert_eq!(h.closed().len(), 1);
    assert_eq!(h.closed()[0].1, ConnEnd::Idle);
    assert_eq!(h.r.open_connections(), 0);
    h.finish();
    assert_eq!(h.closed().len(), 1, "released exactly once");
}

#[test]
fn activity_postpones_the_idle_release() {
    let cfg = ReassemblyConfig {
        idle_timeout: 60 * SEC,
        ..ReassemblyConfig::default()
    };
    let mut h = Harness::with(cfg, "10.0.0.1:50000", "10.0.0.2:7547");
    h.c(1, 1, ACK, b"x");
    h.frame = 50_000; // 50 s later
    h.c(2, 1, ACK, b"y");
    h.advance(61 * SEC);
    assert!(h.closed().is_empty());
    h.advance(111 * SEC);
    assert_eq!(h.closed().len(), 1);
}

#[test]
fn many_short_connections_keep_the_schedule_small() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut out = Collect::default();
    let server = addr("10.0.0.2:7547");
    // One long-lived connection keeps the table non-empty.
    let keep = |r: &mut Reassembler, out: &mut Collect| {
        let seg = TcpSegment {
            frame: FrameRef::new(0, 1),
            ts: 0,
            src: addr("10.0.0.9:1"),
            dst: server,
            seq: 1,
            ack: 1,
            flags: TcpFlags(ACK),
            window: 1,
            payload: b"",
            payload_cut: 0,
        };
        r.push(&seg, &mut |ev| out.on_stream(ev));
    };
    keep(&mut r, &mut out);
    for i in 0..20_000u32 {
        let client = SocketAddr::from(([10, 0, 0, 1], 1024 + (i % 60_000) as u16));
        let ts = Nanos::from(i) * 1_000_000;
        let rst = TcpSegment {
            frame: FrameRef::new(0, u64::from(i)),
            ts,
            src: client,
            dst: server,
            seq: i,
            ack: 0,
            flags: TcpFlags(RST),
            window: 1,
            payload: b"",
            payload_cut: 0,
        };
        r.push(&rst, &mut |ev| out.on_stream(ev));
        r.advance(ts, &mut |ev| out.on_stream(ev));
    }
    assert!(r.open_connections() < 10_000);
    assert!(r.expiries.len() <= 4 * r.open_connections() + 1024 + 2);
    assert!(r.slots.len() <= r.open_connections() + r.free_slots.len());
}

#[test]
fn unanswered_syns_are_a_failed_handshake() {
    let mut h = Harness::new();
    h.c(1234, 0, SYN, b"");
    h.c(1234, 0, SYN, b"");
    h.c(1234, 0, SYN, b"");
    assert_eq!(h.r.stats().connections, 1, "retransmitted SYNs");
    h.finish();
    let closed = h.closed();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].1, ConnEnd::HandshakeFailed);
    assert_eq!(closed[0].2.frames, [3, 0]);
    let syns: Vec<u64> = closed[0].2.syn_frames.iter().map(|f| f.number).collect();
    assert_eq!(syns, [1, 2, 3], "every SYN is kept");
    assert_eq!(closed[0].2.rst_frame, None);
}

#[test]
fn syns_kept_per_connection_are_bounded() {
    let mut h = Harness::new();
    for _ in 0..3 * crate::tcp::MAX_SYN_FRAMES {
        h.c(1234, 0, SYN, b"");
    }
    h.finish();
    let closed = h.closed();
    assert_eq!(closed[0].2.syn_frames.len(), crate::tcp::MAX_SYN_FRAMES);
    assert_eq!(closed[0].2.syn_frames.first().map(|f| f.number), Some(1));
}

#[test]
fn a_syn_answered_by_a_reset_is_refused() {
    let mut h = Harness::new();
    h.c(1234, 0, SYN, b"");
    h.c(1234, 0, SYN, b"");
    h.s(0, 1235, RST | ACK, b"");
    let closed = h.closed();
    assert_eq!(closed.len(), 1, "reported at the RST");
    assert_eq!(closed[0].1, ConnEnd::Refused);
    let syns: Vec<u64> = closed[0].2.syn_frames.iter().map(|f| f.number).collect();
    assert_eq!(syns, [1, 2]);
    assert_eq!(closed[0].2.rst_frame.map(|f| f.number), Some(3));
    // A reset after the handshake is a reset, with its frame.
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(1, 1, RST | ACK, b"");
    let closed = h.closed();
    assert_eq!(closed[0].1, ConnEnd::Reset);
    assert_eq!(closed[0].2.rst_frame.map(|f| f.number), Some(4));
    // So is a RST the client sends to its own unanswered SYN.
    let mut h = Harness::new();
    h.c(1234, 0, SYN, b"");
    h.c(1235, 0, RST, b"");
    assert_eq!(h.closed()[0].1, ConnEnd::Reset);
}

#[test]
fn pending_limit_turns_the_hole_into_a_gap() {
    let cfg = ReassemblyConfig {
        max_pending_per_dir: 1000,
        ..ReassemblyConfig::default()
    };
    let mut h = Harness::with(cfg, "10.0.0.1:50000", "10.0.0.2:7547");
    h.handshake(0, 0);
    // [1, 101) never arrives; 100-byte segments pile up after it.
    let chunk = [7u8; 100];
    for i in 1..=20u32 {
        h.s(1 + 100 * i, 1, ACK, &chunk);
        assert!(h.r.pending_bytes() <= 1000, "bounded at segment {i}");
    }
    assert_eq!(h.gaps(Dir::ToClient).first(), Some(&(0, 100)));
    assert_eq!(h.gaps(Dir::ToClient).len(), 1);
    assert_eq!(h.r.stats().limits_hit.get(Limit::StreamBufferBytes), 1);
    h.finish();
    assert_eq!(h.data(Dir::ToClient).len(), 2000);
    assert_eq!(h.r.pending_bytes(), 0);
    let limits = closed_limits(h.events());
    assert_eq!(limits, [LimitSet::of(Limit::StreamBufferBytes)]);
}

/// The `limits_hit` of each connection's `Closed`, in order.
fn closed_limits(events: &[Ev]) -> Vec<LimitSet> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Closed { stats, .. } => Some(stats.limits_hit),
            _ => None,
        })
        .collect()
}

#[test]
fn segment_count_limit_turns_the_hole_into_a_gap() {
    let cfg = ReassemblyConfig {
        max_pending_segments_per_dir: 3,
        ..ReassemblyConfig::default()
    };
    let mut h = Harness::with(cfg, "10.0.0.1:50000", "10.0.0.2:7547");
    h.handshake(0, 0);
    // [1, 11) never arrives; 10-byte segments pile up after it, every other one missing too.
    for i in 1..=6u32 {
        h.s(1 + 20 * i, 1, ACK, &[7u8; 10]);
    }
    // Four buffered segments exceed three: holes go oldest first, one at a time.
    assert_eq!(h.gaps(Dir::ToClient).first(), Some(&(0, 20)));
    let skipped = h.gaps(Dir::ToClient).len() as u64;
    assert_eq!(skipped, 3);
    assert_eq!(
        h.r.stats().limits_hit.get(Limit::StreamBufferSegments),
        skipped
    );
    assert_eq!(h.r.stats().limits_hit.get(Limit::StreamBufferBytes), 0);
    h.finish();
    assert_eq!(
        closed_limits(h.events()),
        [LimitSet::of(Limit::StreamBufferSegments)]
    );
}

#[test]
fn buffering_within_the_limits_marks_nothing() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.s(11, 1, ACK, b"later");
    h.s(1, 1, ACK, b"0123456789");
    h.finish();
    assert!(h.r.stats().limits_hit.is_empty());
    assert_eq!(closed_limits(h.events()), [LimitSet::EMPTY]);
}

#[test]
fn global_pending_limit_holds_across_connections() {
    let cfg = ReassemblyConfig {
        max_pending_total: 2000,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut out = Collect::default();
    let payload = [1u8; 300];
    for port in 0..20u16 {
        for k in 1..4u32 {
            let seg = TcpSegment {
                frame: FrameRef::new(0, u64::from(port) * 10 + u64::from(k)),
                ts: 0,
                src: SocketAddr::from(([10, 0, 0, 1], 40000 + port)),
                dst: addr("10.0.0.2:7547"),
                seq: 1000 * k,
                ack: 1,
                flags: TcpFlags(ACK),
                window: 100,
                payload: &payload,
                payload_cut: 0,
            };
            r.push(&seg, &mut |ev| out.on_stream(ev));
            assert!(r.pending_bytes() <= 2000);
        }
    }
    r.finish(&mut |ev| out.on_stream(ev));
    assert_eq!(r.pending_bytes(), 0);
    let hit = r.stats().limits_hit.get(Limit::TotalBufferBytes);
    assert!(hit > 0);
    // Each hole skipped for the total is a gap of a connection marked with the limit.
    let marked = closed_limits(&out.0)
        .iter()
        .filter(|l| l.contains(Limit::TotalBufferBytes))
        .count();
    assert!(marked > 0 && marked as u64 <= hit, "{marked} of {hit}");
}

#[test]
fn half_open_limit_releases_the_oldest_unanswered_syn_and_spares_answered_connections() {
    let cfg = ReassemblyConfig {
        max_half_open: 2,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut out = Collect::default();
    let server = addr("10.0.0.2:7547");
    let mut push = |port: u16, to_server: bool, flags: u8, ts: Nanos, out: &mut Collect| {
        let client = SocketAddr::from(([10, 0, 0, 1], port));
        let (src, dst) = if to_server {
            (client, server)
        } else {
            (server, client)
        };
        let seg = TcpSegment {
            frame: FrameRef::new(0, ts as u64),
            ts,
            src,
            dst,
            seq: 100,
            ack: if flags & ACK != 0 { 101 } else { 0 },
            flags: TcpFlags(flags),
            window: 100,
            payload: b"",
            payload_cut: 0,
        };
        r.push(&seg, &mut |ev| out.on_stream(ev));
    };
    push(1001, true, SYN, 1, &mut out); // conn 1, half-open
    push(1001, false, SYN | ACK, 2, &mut out); // answered: no longer half-open
    push(1002, true, SYN, 3, &mut out); // conn 2, half-open
    push(1003, true, SYN, 4, &mut out); // conn 3, half-open (2 of 2)
    push(1002, true, SYN, 5, &mut out); // conn 2's retransmitted SYN: not a new connection
    push(1004, true, SYN, 6, &mut out); // conn 4: releases conn 2, the oldest unanswered
    push(1005, true, SYN, 7, &mut out); // conn 5: releases conn 3
    let closed: Vec<u64> = out
        .0
        .iter()
        .filter_map(|e| match e {
            Ev::Closed { id, end, .. } => {
                // Released unanswered: it ends as the failed handshake it was.
                assert_eq!(*end, ConnEnd::HandshakeFailed);
                Some(*id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(closed, vec![2, 3]);
    assert_eq!(r.stats().limits_hit.get(Limit::HalfOpenConnections), 2);
    assert_eq!(r.stats().limits_hit.get(Limit::OpenConnections), 0);
    assert_eq!(
        r.open_connections(),
        3,
        "the answered one and the two newest SYNs"
    );
    assert_eq!(
        closed_limits(&out.0),
        [
            LimitSet::of(Limit::HalfOpenConnections),
            LimitSet::of(Limit::HalfOpenConnections)
        ]
    );
}

#[test]
fn connection_limit_evicts_the_least_recently_active() {
    let cfg = ReassemblyConfig {
        max_connections: 2,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut out = Collect::default();
    let mut push = |port: u16, ts: Nanos, out: &mut Collect| {
        let seg = TcpSegment {
            frame: FrameRef::new(0, 1),
            ts,
            src: SocketAddr::from(([10, 0, 0, 1], port)),
            dst: addr("10.0.0.2:7547"),
            seq: ts as u32,
            ack: 1,
            flags: TcpFlags(ACK),
            window: 100,
            payload: b"",
            payload_cut: 0,
        };
        r.push(&seg, &mut |ev| out.on_stream(ev));
    };
    push(1001, 1, &mut out); // conn 1
    push(1002, 2, &mut out); // conn 2
    push(1001, 3, &mut out); // conn 1 active again
    push(1003, 4, &mut out); // conn 3: evicts conn 2
    let closed: Vec<u64> = out
        .0
        .iter()
        .filter_map(|e| match e {
            Ev::Closed { id, end, .. } => {
                assert_eq!(*end, ConnEnd::Idle);
                Some(*id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(closed, vec![2]);
    assert_eq!(r.stats().evicted, 1);
    assert_eq!(r.stats().limits_hit.get(Limit::OpenConnections), 1);
    assert_eq!(r.open_connections(), 2);
    assert_eq!(
        closed_limits(&out.0),
        [LimitSet::of(Limit::OpenConnections)]
    );
}

#[test]
fn bytes_cut_by_the_snap_length_are_gaps() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.send_cut(false, 1, 1, ACK, b"HTTP", 96); // 100 bytes on the wire, 4 captured
    h.send_cut(false, 201, 1, ACK, b"late", 6); // out of order, cut too
    h.send_cut(false, 101, 1, ACK, b"mid", 97);
    assert_eq!(h.data(Dir::ToClient), b"HTTPmidlate");
    assert_eq!(h.gaps(Dir::ToClient), vec![(4, 96), (103, 97), (204, 6)]);
}

#[test]
fn keep_alive_probes_are_not_data() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.c(1, 1, ACK, b"abc");
    h.c(3, 1, ACK, b"c"); // keep-alive: one old byte at next - 1
    h.c(3, 1, ACK, b""); // keep-alive without payload
    h.c(4, 1, ACK, b"d");
    assert_eq!(h.data(Dir::ToServer), b"abcd");
    h.finish();
    let (_, _, stats) = &h.closed()[0];
    assert_eq!(stats.data_segments[0], 2);
    assert_eq!(stats.retransmissions[0], 0);
}

/// Gap bytes of both directions once the harness's connection closed.
fn lost_bytes(h: &Harness) -> u64 {
    h.closed()
        .iter()
        .map(|(_, _, s)| s.gap_bytes.iter().sum::<u64>())
        .sum()
}

#[test]
fn midstream_empty_idle_probe_is_not_an_anchor() {
    // Picked up on an idle connection: the client's probe sits one before its next byte, the
    // server's answer acknowledges that byte.
    let mut h = Harness::new();
    h.c(99, 500, ACK, b"");
    h.s(500, 100, ACK, b"");
    h.c(99, 500, ACK, b""); // the next probe, 75 s later on a real link
    h.s(500, 100, ACK, b"");
    h.finish();
    assert!(h.gaps(Dir::ToServer).is_empty(), "{:?}", h.events());
    assert_eq!(lost_bytes(&h), 0);
    assert_eq!(h.r.stats().connections_with_gaps, 0);

    // The same, then a request at the acknowledged position: delivered whole.
    let mut h = Harness::new();
    h.c(99, 500, ACK, b"");
    h.s(500, 100, ACK, b"");
    h.c(100, 500, ACK | PSH, b"GET / HTTP/1.1\r\n\r\n");
    h.finish();
    assert_eq!(h.data(Dir::ToServer), b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(lost_bytes(&h), 0);
}

#[test]
fn midstream_empty_probe_then_data_without_its_answer_loses_nothing() {
    // The server's answer to the probe is not in the capture: the data one past the probe
    // shows where the stream is.
    let mut h = Harness::new();
    h.c(99, 500, ACK, b"");
    h.c(100, 500, ACK | PSH, b"abc");
    h.s(500, 103, ACK, b"");
    h.finish();
    assert_eq!(h.data(Dir::ToServer), b"abc");
    assert_eq!(lost_bytes(&h), 0);
}

#[test]
fn midstream_one_byte_idle_probe_is_not_data() {
    // A probe carrying one old byte (as some stacks send) first, then its answer and data.
    let mut h = Harness::new();
    h.c(99, 500, ACK, b"\0");
    h.s(500, 100, ACK, b"");
    h.c(100, 500, ACK | PSH, b"abc");
    h.c(102, 500, ACK, b"c"); // a later probe at next - 1
    h.s(500, 103, ACK, b"");
    h.finish();
    assert_eq!(h.data(Dir::ToServer), b"abc");
    assert_eq!(lost_bytes(&h), 0);
    let (_, _, stats) = &h.closed()[0];
    assert_eq!(stats.data_segments[0], 1);
}

#[test]
fn midstream_pure_ack_then_data_in_place_is_a_normal_anchor() {
    // An empty segment at the next byte (not a probe) anchors as before: data behind it is
    // buffered and a hole before it is still a gap.
    let mut h = Harness::new();
    h.c(100, 500, ACK, b"");
    h.s(500, 100, ACK, b"");
    h.c(103, 500, ACK, b"def");
    h.c(100, 500, ACK, b"abc");
    assert_eq!(h.data(Dir::ToServer), b"abcdef");
    let mut h = Harness::new();
    h.c(100, 500, ACK, b"");
    h.s(500, 100, ACK, b"");
    h.c(102, 500, ACK, b"cd"); // bytes 100..102 never captured
    h.s(500, 104, ACK, b"");
    h.finish();
    assert_eq!(h.gaps(Dir::ToServer), vec![(0, 2)]);
}

#[test]
fn a_genuine_one_byte_hole_is_still_lost() {
    // Mid-stream after data, and after a probe-answered pickup: one byte missing between two
    // segments, acknowledged by the peer, is a gap of one byte.
    let mut h = Harness::new();
    h.c(100, 500, ACK, b"ab");
    h.c(103, 500, ACK, b"d");
    h.s(500, 104, ACK, b"");
    h.finish();
    assert_eq!(h.data(Dir::ToServer), b"abd");
    assert_eq!(h.gaps(Dir::ToServer), vec![(2, 1)]);
    assert_eq!(lost_bytes(&h), 1);

    let mut h = Harness::new();
    h.c(99, 500, ACK, b"");
    h.s(500, 100, ACK, b"");
    h.c(101, 500, ACK, b"bc"); // byte 100 never captured
    h.s(500, 103, ACK, b"");
    h.finish();
    assert_eq!(h.gaps(Dir::ToServer), vec![(0, 1)]);
    assert_eq!(lost_bytes(&h), 1);
}

#[test]
fn finish_closes_everything_in_id_order() {
    let mut h = Harness::new();
    h.c(1, 1, ACK, b"a");
    let other = addr("10.0.0.3:50001");
    let seg = TcpSegment {
        frame: FrameRef::new(0, 9),
        ts: 5,
        src: other,
        dst: h.server,
        seq: 1,
        ack: 1,
        flags: TcpFlags(ACK | FIN),
        window: 1,
        payload: b"",
        payload_cut: 0,
    };
    h.r.push(&seg, &mut |ev| h.out.on_stream(ev));
    h.finish();
    let closed = h.closed();
    assert_eq!(
        closed.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(),
        vec![(1, ConnEnd::CaptureEnded), (2, ConnEnd::Closed)]
    );
    assert_eq!(h.r.open_connections(), 0);
}

/// Small deterministic generator for the model tests.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Splits `len` bytes into segments that cover all of it, plus random overlapping extras
/// and duplicates, in shuffled order. Each is (offset, length).
fn scrambled_segments(len: usize, rng: &mut XorShift) -> Vec<(usize, usize)> {
    let mut segs = Vec::new();
    let mut at = 0;
    while at < len {
        let n = 1 + rng.below(300).min(len - at - 1);
        segs.push((at, n));
        at += n;
    }
    for _ in 0..rng.below(len / 50 + 2) {
        let start = rng.below(len);
        let n = 1 + rng.below(400).min(len - start - 1);
        segs.push((start, n));
    }
    for _ in 0..rng.below(segs.len() / 3 + 1) {
        let dup = segs[rng.below(segs.len())];
        segs.push(dup);
    }
    for i in (1..segs.len()).rev() {
        segs.swap(i, rng.below(i + 1));
    }
    segs
}

/// The reassembled stream equals the original, whatever the arrival order, with the
/// receiver acknowledging what it holds and the FIN arriving anywhere.
fn check_model(original: &[u8], isn: u32, seed: u64) {
    let mut rng = XorShift(seed | 1);
    let mut h = Harness::new();
    h.handshake(isn, 42);
    let base = isn.wrapping_add(1);
    let segs = scrambled_segments(original.len(), &mut rng);
    let fin_at = rng.below(segs.len() + 1);
    let fin_seq = base.wrapping_add(original.len() as u32);
    let mut received = vec![false; original.len()];
    let mut acked = 0;
    for (i, &(start, n)) in segs.iter().enumerate() {
        if i == fin_at {
            h.c(fin_seq, 43, FIN | ACK, b"");
        }
        h.c(
            base.wrapping_add(start as u32),
            43,
            ACK,
            &original[start..start + n],
        );
        received[start..start + n]
            .iter_mut()
            .for_each(|r| *r = true);
        while acked < received.len() && received[acked] {
            acked += 1;
        }
        if rng.below(2) == 0 {
            h.s(43, base.wrapping_add(acked as u32), ACK, b"");
        }
    }
    if fin_at == segs.len() {
        h.c(fin_seq, 43, FIN | ACK, b"");
    }
    h.s(43, fin_seq.wrapping_add(1), ACK, b"");
    h.finish();
    assert_eq!(h.data(Dir::ToServer), original, "isn {isn} seed {seed}");
    assert!(h.gaps(Dir::ToServer).is_empty(), "isn {isn} seed {seed}");
    let fin = h.position(|e| {
        matches!(
            e,
            Ev::Fin {
                dir: Dir::ToServer,
                ..
            }
        )
    });
    let last_data = h
        .events()
        .iter()
        .rposition(|e| matches!(e, Ev::Data { .. }))
        .unwrap_or(0);
    assert!(last_data < fin);
    assert!(matches!(
        h.events().last(),
        Some(Ev::Closed {
            end: ConnEnd::Closed,
            ..
        })
    ));
    assert_eq!(h.r.pending_bytes(), 0);
}

#[test]
fn model_any_arrival_order_reproduces_the_stream() {
    let original: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
    for seed in 1..200u64 {
        let isn = u32::MAX - (seed as u32 * 37) % 5000;
        check_model(&original, isn, seed);
    }
}

/// An owned segment for property tests.
#[derive(Clone, Debug)]
struct OwnedSeg {
    conn: u8,
    to_server: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
    cut: u32,
    advance: bool,
}

fn owned_seg() -> impl proptest::strategy::Strategy<Value = OwnedSeg> {
    use proptest::prelude::*;
    (
        0u8..3,
        any::<bool>(),
        prop_oneof![0u32..3000, any::<u32>(), (u32::MAX - 3000)..=u32::MAX],
        prop_oneof![0u32..3000, any::<u32>()],
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        prop_oneof![Just(0u32), 0u32..500],
        proptest::bool::weighted(0.05),
    )
        .prop_map(
            |(conn, to_server, seq, ack, flags, payload, cut, advance)| OwnedSeg {
                conn,
                to_server,
                seq,
                ack,
                flags,
                payload,
                cut,
                advance,
            },
        )
}

proptest::proptest! {
    #[test]
    fn model_random_streams_reassemble_exactly(
        original in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..2500),
        isn in proptest::prelude::any::<u32>(),
        seed in proptest::prelude::any::<u64>(),
    ) {
        check_model(&original, isn, seed);
    }

    #[test]
    fn arbitrary_segments_keep_the_event_contract(
        segs in proptest::collection::vec(owned_seg(), 0..120),
    ) {
        let cfg = ReassemblyConfig {
            idle_timeout: 50 * 1_000_000,
            close_linger: 5 * 1_000_000,
            max_pending_per_dir: 1500,
            max_pending_segments_per_dir: 8,
            max_pending_total: 4000,
            max_connections: 2,
            max_half_open: 1,
        };
        let mut r = Reassembler::new(cfg);
        let mut out = Collect::default();
        for (i, s) in segs.iter().enumerate() {
            let client = SocketAddr::from(([10, 0, 0, 1], 40000 + u16::from(s.conn)));
            let server = addr("10.0.0.2:7547");
            let (src, dst) = if s.to_server { (client, server) } else { (server, client) };
            let ts = i as Nanos * 1_000_000;
            let seg = TcpSegment {
                frame: FrameRef::new(0, i as u64 + 1),
                ts,
                src,
                dst,
                seq: s.seq,
                ack: s.ack,
                flags: TcpFlags(s.flags),
                window: 1,
                payload: &s.payload,
                payload_cut: s.cut,
            };
            r.push(&seg, &mut |ev| out.on_stream(ev));
            proptest::prop_assert!(r.pending_bytes() <= 4000);
            if s.advance {
                r.advance(ts, &mut |ev| out.on_stream(ev));
            }
        }
        r.finish(&mut |ev| out.on_stream(ev));
        proptest::prop_assert_eq!(r.open_connections(), 0);
        proptest::prop_assert_eq!(r.pending_bytes(), 0);
        // Per connection: Open first, Closed last and once; nothing after a direction's
        // FIN or the connection's RST.
        let mut state: std::collections::HashMap<u64, (bool, bool, [bool; 2], bool)> =
            Default::default();
        for ev in &out.0 {
            match ev {
                Ev::Open { id, .. } => {
                    proptest::prop_assert!(state.insert(*id, (true, false, [false; 2], false)).is_none());
                }
                Ev::Data { id, dir, .. } | Ev::Gap { id, dir, .. } => {
                    let st = state.get(id).copied().unwrap_or_default();
                    proptest::prop_assert!(st.0 && !st.1 && !st.2[dir.index()] && !st.3);
                }
                Ev::Fin { id, dir } => {
                    let st = state.entry(*id).or_default();
                    proptest::prop_assert!(st.0 && !st.1 && !st.2[dir.index()]);
                    st.2[dir.index()] = true;
                }
                Ev::Rst { id, .. } => {
                    let st = state.entry(*id).or_default();
                    proptest::prop_assert!(st.0 && !st.1 && !st.3);
                    st.3 = true;
                }
                Ev::Closed { id, .. } => {
                    let st = state.entry(*id).or_default();
                    proptest::prop_assert!(st.0 && !st.1);
                    st.1 = true;
                }
            }
        }
        proptest::prop_assert!(state.values().all(|st| st.1));
    }
}
