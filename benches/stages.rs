//! Microbenchmarks of the analysis stages, each on generated or real input: frame decoding
//! (Ethernet/IPv4/TCP), TCP reassembly of a generated file transfer, HTTP parsing of a
//! keep-alive stream, the SHA-256 of a file body, CWMP SOAP decoding of real Inform and Download bodies, the whole
//! pipeline on a small campaign capture, and the JSON of its sessions (our writer and
//! serde_json's).
//!
//! Full run: `cargo bench --bench stages`. Smoke run (each benchmark once, no timing):
//! `cargo bench --bench stages -- --test`.

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use cwmpscope::cwmp::{self, DecodeLimits};
use cwmpscope::findings::Output;
use cwmpscope::http::body::{BodyStore, ContentCoding};
use cwmpscope::http::{HttpConfig, HttpEvent, HttpLayer};
use cwmpscope::limits::LimitSet;
use cwmpscope::report::{ReportOptions, SessionReport};
use cwmpscope::tcp::{ConnEnd, ConnInfo, ConnStats, Reassembler, ReassemblyConfig, StreamEvent};
use cwmpscope::threads::{Analyzer, AnalyzerConfig};
use cwmpscope::types::{ConnId, Dir, Frame, FrameRef, LinkType, Nanos};
use cwmpscope::wire::{Decoded, Decoder, SegmentHeader};
use cwmpscope_synth::campaign::{CampaignOptions, campaign_bytes};
use cwmpscope_synth::conversation::{Connection, Profile, SECOND};
use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
use cwmpscope_synth::http::HttpMessage;
use cwmpscope_synth::writer::OutputOptions;
use std::hint::black_box;
use std::net::SocketAddr;
use std::ops::Range;

/// Frames of an in-memory microsecond pcap written by the generator: (ts, byte range).
fn pcap_frames(bytes: &[u8]) -> Vec<(Nanos, Range<usize>)> {
    let mut frames = Vec::new();
    let mut at = 24;
    while let Some(header) = bytes.get(at..at + 16) {
        let field = |i: usize| {
            header
                .get(i..i + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes)
        };
        let ts = Nanos::from(field(0)) * SECOND + Nanos::from(field(4)) * 1_000;
        let len = field(8) as usize;
        let start = at + 16;
        if bytes.len() < start + len {
            break;
        }
        frames.push((ts, start..start + len));
        at = start + len;
    }
    frames
}

/// Frame `number` (1-based) of a capture.
fn frame<'a>(bytes: &'a [u8], number: usize, ts: Nanos, range: &Range<usize>) -> Frame<'a> {
    let data = bytes.get(range.clone()).unwrap_or_default();
    Frame {
        frame: FrameRef::new(0, number as u64),
        ts,
        link: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
    }
}

/// A small campaign capture (CPEs, web and TLS traffic) in pcap.
fn campaign() -> Vec<u8> {
    let opts = CampaignOptions {
        firmware_size: (200_000, 400_000),
        ..CampaignOptions::new(3, 4 << 20)
    };
    campaign_bytes(&opts).expect("campaign renders").1
}

/// One generated connection: the file fetch of a firmware image of 2 MB.
fn file_transfer(profile: &Profile) -> Vec<u8> {
    let opts = CwmpOptions {
        file_size: 2_000_000,
        ..CwmpOptions::firmware()
    };
    let flow = reference_flow(&opts);
    let fetch: Vec<Connection> = flow
        .connections
        .into_iter()
        .filter(|c| c.server == opts.file_server)
        .collect();
    cwmpscope_synth::capture_bytes(fetch, profile, &OutputOptions::default())
        .expect("renders")
        .1
}

/// A TCP segment with its payload copied out of the frame.
struct OwnedSegment {
    header: SegmentHeader,
    payload: Vec<u8>,
}

fn segments_of(bytes: &[u8]) -> Vec<OwnedSegment> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for (i, (ts, range)) in pcap_frames(bytes).iter().enumerate() {
        let f = frame(bytes, i + 1, *ts, range);
        if let Decoded::Tcp(s) = decoder.decode(&f) {
            out.push(OwnedSegment {
                header: s.header(),
                payload: s.payload.to_vec(),
            });
        }
    }
    out
}

/// Counts the reassembler's data bytes.
#[derive(Default)]
struct StreamCount(u64);

impl StreamCount {
    fn on_stream(&mut self, ev: StreamEvent<'_>) {
        if let StreamEvent::Data { bytes, .. } = ev {
            self.0 += bytes.len() as u64;
        }
    }
}

/// Counts the HTTP stage's events.
#[derive(Default)]
struct HttpCount(u64);

impl HttpCount {
    fn on_http(&mut self, _ev: HttpEvent) {
        self.0 += 1;
    }
}

fn bench_decode(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, capture: &[u8]) {
    let frames = pcap_frames(capture);
    let bytes: u64 = frames.iter().map(|(_, r)| r.len() as u64).sum();
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("decode/eth-ipv4-tcp", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new();
            let mut payload = 0usize;
            for (i, (ts, range)) in frames.iter().enumerate() {
                let f = frame(capture, i + 1, *ts, range);
                if let Decoded::Tcp(s) = decoder.decode(&f) {
                    payload += s.payload.len();
                }
            }
            black_box(payload)
        })
    });
}

fn bench_reassembly(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    for (name, profile) in [
        ("reassembly/clean", Profile::clean(1)),
        ("reassembly/awkward", Profile::awkward(1)),
    ] {
        let segments = segments_of(&file_transfer(&profile));
        let bytes: u64 = segments.iter().map(|s| s.payload.len() as u64).sum();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut tcp = Reassembler::new(ReassemblyConfig::default());
                let mut sink = StreamCount::default();
                for s in &segments {
                    let seg = s.header.with_payload(&s.payload);
                    tcp.push(&seg, &mut |ev| sink.on_stream(ev));
                }
                tcp.finish(&mut |ev| sink.on_stream(ev));
                black_box(sink.0)
            })
        });
    }
}

/// A keep-alive browsing stream: (direction, bytes) of 40 GETs and their 200 answers (pages
/// and images).
fn keep_alive_stream() -> Vec<(Dir, Vec<u8>)> {
    let mut messages = Vec::new();
    for i in 0..40u32 {
        let target = format!("/static/{i}.html");
        messages.push((
            Dir::ToServer,
            HttpMessage::request("GET", &target, "www.example.net")
                .header("User-Agent", "Mozilla/5.0")
                .header("Accept", "*/*")
                .to_bytes(),
        ));
        let body: Vec<u8> = (0..(4_000 + 997 * i as usize))
            .map(|k| b"<p>lorem ipsum dolor</p>\n"[k % 25])
            .collect();
        messages.push((
            Dir::ToClient,
            HttpMessage::response(200)
                .header("Cache-Control", "no-cache")
                .body("text/html", body)
                .to_bytes(),
        ));
    }
    messages
}

fn bench_http(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let stream = keep_alive_stream();
    let bytes: u64 = stream.iter().map(|(_, m)| m.len() as u64).sum();
    let client: SocketAddr = "10.0.0.2:40000".parse().expect("address");
    let server: SocketAddr = "203.0.113.5:80".parse().expect("address");
    let info = ConnInfo {
        id: ConnId(1),
        client,
        server,
        ts: 0,
        frame: FrameRef::new(0, 1),
        handshake_seen: true,
    };
    let stats = ConnStats::default();
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("http/keep-alive", |b| {
        b.iter(|| {
            let mut http = HttpLayer::new(HttpConfig::default());
            let mut sink = HttpCount::default();
            http.push(StreamEvent::Open(&info), &mut |ev| sink.on_http(ev));
            let mut number = 1u64;
            for (dir, message) in &stream {
                for chunk in message.chunks(1460) {
                    number += 1;
                    http.push(
                        StreamEvent::Data {
                            conn: info.id,
                            dir: *dir,
                            frame: FrameRef::new(0, number),
                            ts: number as Nanos * 1_000,
                            bytes: chunk,
                        },
                        &mut |ev| sink.on_http(ev),
                    );
                }
            }
            http.push(
                StreamEvent::Closed {
                    info: &info,
                    ts: number as Nanos * 1_000,
                    end: ConnEnd::Closed,
                    stats: &stats,
                },
                &mut |ev| sink.on_http(ev),
            );
            black_box(sink.0)
        })
    });
}

fn bench_cwmp(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let bodies: [(&str, &[u8]); 3] = [
        (
            "cwmp/inform",
            include_bytes!("../tests/fixtures/cwmp/genieacs_sim_inform_periodic.xml"),
        ),
        (
            "cwmp/inform-boot",
            include_bytes!("../tests/fixtures/cwmp/cwmp_sim_inform_boot.xml"),
        ),
        (
            "cwmp/download",
            include_bytes!("../tests/fixtures/cwmp/genieacs_download.xml"),
        ),
    ];
    let limits = DecodeLimits::default();
    for (name, body) in bodies {
        assert!(
            cwmp::decode(body, Some("text/xml; charset=utf-8"), &limits).is_ok(),
            "{name}: the fixture decodes"
        );
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let envelopes =
                    cwmp::decode(black_box(body), Some("text/xml; charset=utf-8"), &limits);
                black_box(envelopes.map(|e| e.len()).unwrap_or(0))
            })
        });
        // The same body read by quick-xml alone, the reader the faster one hands over to.
        g.bench_function(format!("{name}/quick-xml"), |b| {
            b.iter(|| {
                let mut hit = LimitSet::default();
                let envelopes = cwmp::decode_by_quick_xml(
                    black_box(body),
                    Some("text/xml; charset=utf-8"),
                    &limits,
                    &mut hit,
                );
                black_box(envelopes.map(|e| e.len()).unwrap_or(0))
            })
        });
    }
}

fn bench_pipeline(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, capture: &[u8]) {
    let frames = pcap_frames(capture);
    g.throughput(Throughput::Bytes(capture.len() as u64));
    g.bench_function("pipeline/campaign", |b| {
        b.iter(|| {
            let mut analyzer = Analyzer::new(AnalyzerConfig::default());
            let mut outputs = 0u64;
            let mut count = |_| outputs += 1;
            for (i, (ts, range)) in frames.iter().enumerate() {
                analyzer.push(&frame(capture, i + 1, *ts, range), &mut count);
            }
            analyzer.finish(&mut count);
            black_box(outputs)
        })
    });
}

/// The campaign's session reports written as JSON, by the report's own writer and by
/// serde_json (the same bytes).
fn bench_json(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, capture: &[u8]) {
    let frames = pcap_frames(capture);
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut sessions = Vec::new();
    let mut keep = |out| {
        if let Output::Session(s) = out {
            sessions.push(SessionReport::build(s, &ReportOptions::default()));
        }
    };
    for (i, (ts, range)) in frames.iter().enumerate() {
        analyzer.push(&frame(capture, i + 1, *ts, range), &mut keep);
    }
    analyzer.finish(&mut keep);
    let mut out = Vec::new();
    for s in &sessions {
        cwmpscope::output::compact::write(&mut out, s).unwrap();
    }
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("json/compact", |b| {
        b.iter(|| {
            out.clear();
            for s in &sessions {
                cwmpscope::output::compact::write(&mut out, s).unwrap();
            }
            black_box(out.len())
        })
    });
    g.bench_function("json/serde_json", |b| {
        b.iter(|| {
            out.clear();
            for s in &sessions {
                serde_json::to_writer(&mut out, s).unwrap();
            }
            black_box(out.len())
        })
    });
}

/// A file body fed to the body store in TCP-segment-sized pieces, with and without its SHA-256
/// (what a file download costs beyond storing nothing of it).
fn bench_body_digest(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let file: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    g.throughput(Throughput::Bytes(file.len() as u64));
    for (name, digest) in [("body/sha256", true), ("body/counted", false)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut store = BodyStore::new(0, ContentCoding::Identity, digest);
                for piece in file.chunks(1448) {
                    store.feed(piece);
                }
                black_box(store.finish_digest())
            })
        });
    }
}

fn stages(c: &mut Criterion) {
    let capture = campaign();
    let mut g = c.benchmark_group("stages");
    g.sample_size(20);
    bench_decode(&mut g, &capture);
    bench_reassembly(&mut g);
    bench_http(&mut g);
    bench_body_digest(&mut g);
    bench_cwmp(&mut g);
    bench_pipeline(&mut g, &capture);
    bench_json(&mut g, &capture);
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
