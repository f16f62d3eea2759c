//! TCP reassembly on real captures: connections, delivered bytes, gaps and how connections end.
//!
//! The frames are read with a minimal classic-pcap reader and decoded with etherparse here, so
//! these tests depend only on the reassembler.

use cwmpscope::tcp::{ConnEnd, Reassembler, ReassemblyConfig, StreamEvent};
use cwmpscope::types::{Dir, FrameRef, Nanos};
use cwmpscope::wire::{TcpFlags, TcpSegment};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");

/// What one connection produced.
#[derive(Debug, Default)]
struct ConnView {
    handshake_seen: bool,
    server_port: u16,
    data: [Vec<u8>; 2],
    gaps: [Vec<(usize, u64)>; 2],
    fins: usize,
    rsts: usize,
    end: Option<ConnEnd>,
    retransmissions: u64,
}

#[derive(Default)]
struct Views(BTreeMap<u64, ConnView>);

impl Views {
    fn on_stream(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open(info) => {
                let view = self.0.entry(info.id.0).or_default();
                view.handshake_seen = info.handshake_seen;
                view.server_port = info.server.port();
            }
            StreamEvent::Data {
                conn, dir, bytes, ..
            } => {
                let view = self.0.entry(conn.0).or_default();
                view.data[dir.index()].extend_from_slice(bytes);
            }
            StreamEvent::Gap { conn, dir, len, .. } => {
                let view = self.0.entry(conn.0).or_default();
                let at = view.data[dir.index()].len();
                view.gaps[dir.index()].push((at, len));
            }
            StreamEvent::Fin { conn, .. } => self.0.entry(conn.0).or_default().fins += 1,
            StreamEvent::Rst { conn, .. } => self.0.entry(conn.0).or_default().rsts += 1,
            StreamEvent::Closed {
                info, end, stats, ..
            } => {
                let view = self.0.entry(info.id.0).or_default();
                assert!(view.end.is_none(), "closed twice");
                view.end = Some(end);
                view.retransmissions = stats.retransmissions.iter().sum();
            }
        }
    }
}

fn u32_le(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Reassembles a little-endian, microsecond, Ethernet pcap file, calling `advance` once per
/// second of capture time like the pipeline does.
fn reassemble(path: &str) -> (Views, Reassembler) {
    let file = std::fs::read(format!("{CAPTURES}/{path}")).expect("capture file");
    assert_eq!(
        u32_le(&file, 0),
        0xa1b2_c3d4,
        "{path}: little-endian microsecond pcap"
    );
    assert_eq!(u32_le(&file, 20), 1, "{path}: Ethernet");
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut views = Views::default();
    let mut at = 24;
    let mut number = 0;
    let mut last_advance: Nanos = 0;
    while at + 16 <= file.len() {
        let ts =
            i64::from(u32_le(&file, at)) * 1_000_000_000 + i64::from(u32_le(&file, at + 4)) * 1000;
        let captured = u32_le(&file, at + 8) as usize;
        let frame = &file[at + 16..at + 16 + captured];
        at += 16 + captured;
        number += 1;
        if ts - last_advance >= 1_000_000_000 {
            r.advance(ts, &mut |ev| views.on_stream(ev));
            last_advance = ts;
        }
        let Ok(packet) = SlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let (src_ip, dst_ip): (IpAddr, IpAddr) = match &packet.net {
            Some(NetSlice::Ipv4(ip)) => (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            ),
            _ => continue,
        };
        let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
            continue;
        };
        let mut flags = 0;
        for (on, bit) in [
            (tcp.fin(), TcpFlags::FIN),
            (tcp.syn(), TcpFlags::SYN),
            (tcp.rst(), TcpFlags::RST),
            (tcp.psh(), TcpFlags::PSH),
            (tcp.ack(), TcpFlags::ACK),
        ] {
            if on {
                flags |= bit;
            }
        }
        let seg = TcpSegment {
            frame: FrameRef::new(0, number),
            ts,
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: TcpFlags(flags),
            window: tcp.window_size(),
            payload: tcp.payload(),
            payload_cut: 0,
        };
        r.push(&seg, &mut |ev| views.on_stream(ev));
    }
    r.finish(&mut |ev| views.on_stream(ev));
    assert_eq!(r.open_connections(), 0);
    assert_eq!(r.pending_bytes(), 0);
    (views, r)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

const C2S: usize = Dir::ToServer.index();
const S2C: usize = Dir::ToClient.index();

#[test]
fn cwmp_captures_reassemble_without_gaps() {
    for (path, connections, messages) in [
        ("third-party/cwmp_sim_digest_config_update.pcap", 5, 26),
        (
            "third-party/genieacs_genieacs_sim_config_update.pcap",
            5,
            18,
        ),
        ("third-party/netcwmp_digest_session.pcap", 3, 18),
        ("third-party/cwmp_sim_fleet5.pcap", 20, 130),
        ("third-party/cwmp_sim_firmware_nginx.pcap", 5, 24),
    ] {
        let (views, r) = reassemble(path);
        assert_eq!(views.0.len(), connections, "{path}");
        assert_eq!(r.stats().gap_bytes, 0, "{path}");
        let mut http = 0;
        for (id, view) in &views.0 {
            assert!(view.handshake_seen, "{path} conn {id}");
            assert!(view.gaps.iter().all(Vec::is_empty), "{path} conn {id}");
            assert_eq!(view.end, Some(ConnEnd::Closed), "{path} conn {id}");
            assert_eq!(view.fins, 2, "{path} conn {id}");
            assert!(
                [7547, 80, 7567].contains(&view.server_port),
                "{path} conn {id}"
            );
            http += count(&view.data[C2S], b" HTTP/1.1\r\n");
            http += count(&view.data[S2C], b"HTTP/1.1 ");
        }
        assert_eq!(http, messages, "{path}");
    }
}

#[test]
fn retransmissions_are_delivered_once() {
    let (views, r) = reassemble("public/arkime_wireshark-retrans_xml-post-chunked.pcap");
    assert_eq!(views.0.len(), 1);
    let view = &views.0[&1];
    assert_eq!(view.server_port, 4000);
    assert_eq!(count(&view.data[C2S], b"POST "), 4);
    assert_eq!(count(&view.data[S2C], b"HTTP/1.1 "), 4);
    // TShark flags 47 frames; 11 of them are SYN, SYN-ACK and FIN repeats without payload.
    assert_eq!(view.retransmissions, 36);
    assert_eq!(r.stats().gap_bytes, 0);

    let (views, r) = reassemble("public/zeek_http_m57-long-49583-80.pcap");
    assert_eq!(views.0.len(), 1);
    let view = &views.0[&1];
    assert_eq!(count(&view.data[C2S], b"GET "), 3);
    assert_eq!(count(&view.data[S2C], b"HTTP/1.1 206"), 3);
    assert!(view.retransmissions > 0);
    assert_eq!(r.stats().gap_bytes, 0);
}

#[test]
fn reordered_handshake_is_one_connection() {
    let (views, r) = reassemble("public/zeek_tcp_handshake-reorder.pcap");
    assert_eq!(views.0.len(), 1, "{:?}", views.0.keys());
    let view = &views.0[&1];
    assert!(view.handshake_seen);
    assert_eq!(view.server_port, 80);
    assert_eq!(count(&view.data[C2S], b"GET "), 1);
    assert_eq!(count(&view.data[S2C], b"HTTP/1."), 1);
    assert!(view.data[S2C].len() > 4700);
    assert_eq!(r.stats().gap_bytes, 0);
}

#[test]
fn pipelined_and_interim_responses_are_complete() {
    let (views, _) = reassemble("public/zeek_http_pipelined-requests.pcap");
    let view = &views.0[&1];
    assert_eq!(count(&view.data[C2S], b"GET "), 5);
    assert_eq!(count(&view.data[S2C], b"HTTP/1.1 "), 5);
    assert!(view.gaps.iter().all(Vec::is_empty));

    let (views, _) = reassemble("public/zeek_http_100-continue.pcap");
    let view = &views.0[&1];
    assert_eq!(count(&view.data[C2S], b"POST "), 1);
    assert_eq!(count(&view.data[S2C], b"HTTP/1.1 100"), 1);
    assert!(view.gaps.iter().all(Vec::is_empty));
}

#[test]
fn segments_lost_by_the_capture_are_gaps() {
    let (views, r) = reassemble("public/zeek_http_1000-requests-one-dropped-response.pcap");
    assert_eq!(views.0.len(), 1);
    let view = &views.0[&1];
    assert_eq!(count(&view.data[C2S], b"GET "), 1000);
    assert!(view.gaps[C2S].is_empty());
    // The first response (238 bytes) was never captured; the client acknowledged it.
    assert_eq!(view.gaps[S2C], vec![(0, 238)]);
    assert_eq!(count(&view.data[S2C], b"HTTP/1.1 200"), 999);
    assert_eq!(r.stats().connections_with_gaps, 1);

    // Three segments lost (TShark, relative sequence numbers): client bytes 4349..5623 and
    // 10702..11977, server bytes 1863..2405. Stream offsets are one less (after the SYN).
    let (views, r) = reassemble("public/zeek_http_zero-length-bodies-with-drops.pcap");
    assert_eq!(views.0.len(), 1);
    let view = &views.0[&1];
    assert_eq!(view.gaps[C2S], vec![(4348, 1274), (9427, 1275)]);
    assert_eq!(view.gaps[S2C], vec![(1862, 542)]);
    assert_eq!(r.stats().gap_bytes, 1274 + 1275 + 542);
}
