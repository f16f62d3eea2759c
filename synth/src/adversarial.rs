//! Hostile inputs for robustness tests: each [`Kind`] is one way a capture (or a TLS key log)
//! can attack its reader — floods, endless or huge HTTP units, deep or self-expanding XML,
//! lying lengths and timestamps, a decompression bomb, oversized TLS records, junk key logs.
//!
//! Every kind is deterministic for a seed and is written as a stream: the large ones (a million
//! SYNs, 50 MB of chunks, a 100 MB header line, 100 MB of padding behind gzip, a million key
//! log lines) are produced piece by piece and never held in memory. [`Options::scale`] shrinks
//! the large sizes for quick runs.

use crate::conversation::{self, Connection, MS, Profile, SECOND};
use crate::cwmp::{AcsSession, CwmpOptions, FlowBuilder, reference_flow};
use crate::http::AuthScheme;
use crate::packet::{FrameEncoder, LinkEncap, TcpHeader};
use crate::rng::SplitMix64;
use crate::soap;
use crate::types::{Dir, LinkType, Nanos, TcpFlags};
use crate::writer::{CaptureWriter, FrameSink, Interface, OutputOptions, PcapWriter, TsResolution};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// SYNs of the full-size flood.
pub const SYN_FLOOD_SYNS: u64 = 1_000_000;
/// Body bytes of the endless chunked POST at full size.
pub const CHUNKED_BODY_BYTES: u64 = 50 << 20;
/// Length of the one huge header line at full size.
pub const HEADER_LINE_BYTES: u64 = 100 << 20;
/// Nesting depth of the deep XML at full size.
pub const XML_DEPTH: u64 = 100_000;
/// Uncompressed size of the gzip bomb at full size.
pub const GZIP_EXPANDED_BYTES: u64 = 100 << 20;
/// Lines of the junk key log at full size.
pub const KEYLOG_LINES: u64 = 1_000_000;
/// Continuation records (16 KiB each) after the oversized TLS handshake header, at full size.
pub const TLS_CONTINUATION_RECORDS: u64 = 64;

/// One hostile input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A million half-open SYNs around a reference CWMP flow.
    SynFlood,
    /// A chunked POST whose body never ends.
    ChunkedEndless,
    /// A request with one 100 MB header line.
    Header100mb,
    /// An Inform with XML nested 100,000 deep.
    XmlDeep,
    /// An Inform with a DTD of self-expanding entities (billion laughs) and an external one.
    EntityBomb,
    /// `Content-Length: 18446744073709551615`, and values past u64.
    ContentLengthMax,
    /// Overlapping TCP segments that carry different bytes.
    OverlapConflict,
    /// Timestamps that go backwards and jump by years inside one session.
    TimeWarp,
    /// pcap records longer than the snap length, the last one longer than the file.
    CaplenLies,
    /// pcapng with unknown blocks, a section header in the middle, and a last block whose
    /// length reaches past the end of the file.
    PcapngLies,
    /// pcapng whose block in the middle has a trailing length that differs from its leading one.
    PcapngLiesTrailer,
    /// pcapng whose packet block in the middle is too short for its own fields.
    PcapngLiesShort,
    /// A gzip capture that expands a thousand-fold (mostly zero padding frames).
    GzipBomb,
    /// TLS record and handshake headers with impossible lengths, to ports 7547 and 443.
    TlsHugeRecord,
    /// A TLS key log of a million lines, junk with a few valid lines mixed in.
    KeylogJunk,
}

/// What a [`Kind`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// A classic pcap file.
    Pcap,
    /// A pcapng file.
    PcapNg,
    /// A gzip-compressed pcap file.
    PcapGzip,
    /// A text key log (NSS SSLKEYLOGFILE format), not a capture.
    Keylog,
}

impl Kind {
    /// Every kind, in the order `--list` shows them.
    pub const ALL: [Kind; 15] = [
        Kind::SynFlood,
        Kind::ChunkedEndless,
        Kind::Header100mb,
        Kind::XmlDeep,
        Kind::EntityBomb,
        Kind::ContentLengthMax,
        Kind::OverlapConflict,
        Kind::TimeWarp,
        Kind::CaplenLies,
        Kind::PcapngLies,
        Kind::PcapngLiesTrailer,
        Kind::PcapngLiesShort,
        Kind::GzipBomb,
        Kind::TlsHugeRecord,
        Kind::KeylogJunk,
    ];

    /// The name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::SynFlood => "syn-flood",
            Kind::ChunkedEndless => "chunked-endless",
            Kind::Header100mb => "header-100mb",
            Kind::XmlDeep => "xml-deep",
            Kind::EntityBomb => "entity-bomb",
            Kind::ContentLengthMax => "content-length-max",
            Kind::OverlapConflict => "overlap-conflict",
            Kind::TimeWarp => "time-warp",
            Kind::CaplenLies => "caplen-lies",
            Kind::PcapngLies => "pcapng-lies",
            Kind::PcapngLiesTrailer => "pcapng-lies-trailer",
            Kind::PcapngLiesShort => "pcapng-lies-short",
            Kind::GzipBomb => "gzip-bomb",
            Kind::TlsHugeRecord => "tls-huge-record",
            Kind::KeylogJunk => "keylog-junk",
        }
    }

    /// The kind of a command-line name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What the kind writes.
    pub const fn container(self) -> Container {
        match self {
            Kind::PcapngLies | Kind::PcapngLiesTrailer | Kind::PcapngLiesShort => Container::PcapNg,
            Kind::GzipBomb => Container::PcapGzip,
            Kind::KeylogJunk => Container::Keylog,
            _ => Container::Pcap,
        }
    }

    /// One line on what the input holds (for `--list`).
    pub const fn about(self) -> &'static str {
        match self {
            Kind::SynFlood => {
                "1,000,000 SYNs never answered, from random addresses and ports to random ports \
                 of the ACS, the file server and other hosts; the reference flow runs in the \
                 middle of it"
            }
            Kind::ChunkedEndless => {
                "a normal session, then a chunked POST to the ACS whose body (50 MB of 16 KiB \
                 chunks) never gets its last chunk; the capture ends with the connection open"
            }
            Kind::Header100mb => {
                "a POST to the ACS with one 100 MB header line, answered 431, then a normal \
                 session"
            }
            Kind::XmlDeep => {
                "an Inform with 100,000 nested elements inside cwmp:Inform, in an otherwise \
                 normal session"
            }
            Kind::EntityBomb => {
                "an Inform with a DTD of ten nested entity levels (10^10 expansions) and an \
                 external entity, referenced from DeviceId; ProductClass uses the five \
                 predefined entities"
            }
            Kind::ContentLengthMax => {
                "three connections: Content-Length 18446744073709551615 on a POST, \
                 18446744073709551616 (past u64) on a POST, and u64::MAX on the ACS's 200"
            }
            Kind::OverlapConflict => {
                "two sessions whose Inform is overlapped by a segment with another serial \
                 number: after the original in one, before it in the other"
            }
            Kind::TimeWarp => {
                "the reference flow with the first session's timestamps jumping +30 years, \
                 back 10 years, to 1970 and to 2106"
            }
            Kind::CaplenLies => {
                "pcap with snap length 96 whose records are longer, some with an original \
                 length below the captured one, the last claiming 65000 bytes where 200 remain"
            }
            Kind::PcapngLies => {
                "pcapng: the reference flow with unknown block types between packets, a \
                 big-endian section header in the middle, and a last block whose length \
                 reaches past the end of the file"
            }
            Kind::PcapngLiesTrailer => {
                "pcapng: the reference flow with, half-way, a packet block whose trailing \
                 length differs from its leading one"
            }
            Kind::PcapngLiesShort => {
                "pcapng: the reference flow with, half-way, a packet block (20 bytes) too \
                 short for its own fields"
            }
            Kind::GzipBomb => {
                "gzip pcap: the reference flow, then zero-filled frames up to 100 MB \
                 uncompressed, about 1000 times the compressed size"
            }
            Kind::TlsHugeRecord => {
                "to the ACS on 7547: a record of 2^14+1 bytes holding a ClientHello of \
                 2^24-1 bytes, continued over 1 MiB of records; to 443: a record of 2^16-1 \
                 bytes"
            }
            Kind::KeylogJunk => {
                "a TLS key log of 1,000,000 lines: malformed, overlong, binary and unused \
                 lines, with the lines of --keylog FILE spread among them"
            }
        }
    }
}

/// How to write a hostile input.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Factor applied to the large sizes (SYNs, body and header bytes, depth, padding, key
    /// log lines): 1.0 writes the full sizes. At least 1e-6, at most 1.
    pub scale: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Lines of a real key log to mix into [`Kind::KeylogJunk`] (ignored by the other kinds).
    pub keylog_lines: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scale: 1.0,
            seed: 1,
            keylog_lines: Vec::new(),
        }
    }
}

impl Options {
    /// `full` scaled down, never below `floor`.
    fn scaled(&self, full: u64, floor: u64) -> u64 {
        let scale = if self.scale.is_finite() {
            self.scale.clamp(1e-6, 1.0)
        } else {
            1.0
        };
        ((full as f64 * scale).round() as u64).max(floor)
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Frames written, a lying record or block included (lines for a key log).
    pub frames: u64,
    /// Bytes written to the output.
    pub bytes: u64,
    /// Bytes before compression (equal to `bytes` when the output is not compressed).
    pub expanded: u64,
}

/// Writes the hostile input `kind` to `out`.
pub fn write(kind: Kind, opts: &Options, out: &mut dyn Write) -> io::Result<Written> {
    let mut counted = Counting {
        inner: out,
        bytes: 0,
    };
    let mut written = Written::default();
    match kind {
        Kind::TimeWarp => written.frames = time_warp(opts, &mut counted)?,
        Kind::CaplenLies => written.frames = caplen_lies(opts, &mut counted)?,
        Kind::PcapngLies | Kind::PcapngLiesTrailer | Kind::PcapngLiesShort => {
            written.frames = pcapng_lies(kind, opts, &mut counted)?;
        }
        Kind::GzipBomb => written = gzip_bomb(opts, &mut counted)?,
        Kind::KeylogJunk => written.frames = keylog_junk(opts, &mut counted)?,
        Kind::SynFlood
        | Kind::ChunkedEndless
        | Kind::Header100mb
        | Kind::XmlDeep
        | Kind::EntityBomb
        | Kind::ContentLengthMax
        | Kind::OverlapConflict
        | Kind::TlsHugeRecord => {
            let mut sink = CaptureWriter::new(
                &mut counted,
                &OutputOptions::default(),
                &[LinkType::ETHERNET],
            )?;
            written.frames = match kind {
                Kind::SynFlood => syn_flood(opts, &mut sink)?,
                Kind::ChunkedEndless => chunked_endless(opts, &mut sink)?,
                Kind::Header100mb => header_line(opts, &mut sink)?,
                Kind::XmlDeep => xml_deep(opts, &mut sink)?,
                Kind::EntityBomb => entity_bomb(opts, &mut sink)?,
                Kind::ContentLengthMax => content_length_max(opts, &mut sink)?,
                Kind::OverlapConflict => overlap_conflict(opts, &mut sink)?,
                _ => tls_huge_record(opts, &mut sink)?,
            };
            sink.into_inner()?;
        }
    }
    counted.flush()?;
    written.bytes = counted.bytes;
    if written.expanded == 0 {
        written.expanded = written.bytes;
    }
    Ok(written)
}

/// Counts the bytes that go through.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Frames kept in memory (only ever those of a small flow).
#[derive(Default)]
struct Collected(Vec<(Nanos, Vec<u8>)>);

impl FrameSink for Collected {
    fn write_frame(&mut self, ts: Nanos, _interface: usize, data: &[u8]) -> io::Result<()> {
        self.0.push((ts, data.to_vec()));
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The frames of the reference flow (Ethernet, clean transport) for `seed`.
fn reference_frames(seed: u64) -> io::Result<Vec<(Nanos, Vec<u8>)>> {
    let flow = reference_flow(&CwmpOptions {
        seed,
        ..CwmpOptions::default()
    });
    let mut frames = Collected::default();
    conversation::render(flow.connections, &Profile::clean(seed), &mut frames)?;
    Ok(frames.0)
}

/// TCP segment size of hand-driven connections.
const MSS: usize = 1460;
/// Time between two frames of a hand-driven connection.
const FRAME_GAP: Nanos = 10_000;

/// Frames of hand-driven TCP connections (Ethernet, IPv4), written straight to a sink.
struct Wire<'a> {
    sink: &'a mut dyn FrameSink,
    encoder: FrameEncoder,
    frames: u64,
}

impl<'a> Wire<'a> {
    fn new(sink: &'a mut dyn FrameSink) -> Self {
        Wire {
            sink,
            encoder: FrameEncoder::new(LinkEncap::default(), None, false),
            frames: 0,
        }
    }

    /// A frame built elsewhere.
    fn frame(&mut self, ts: Nanos, data: &[u8]) -> io::Result<()> {
        self.frames += 1;
        self.sink.write_frame(ts, 0, data)
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        ts: Nanos,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        ip_id: u32,
    ) -> io::Result<()> {
        let header = TcpHeader {
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 64_240,
            mss_option: (flags & TcpFlags::SYN != 0).then_some(MSS as u16),
        };
        let sink = &mut *self.sink;
        let mut frames = 0;
        self.encoder.encode(&header, payload, ip_id, |frame| {
            frames += 1;
            sink.write_frame(ts, 0, frame)
        })?;
        self.frames += frames;
        Ok(())
    }
}

/// One TCP connection driven by hand: its sequence numbers, IP identifications and clock.
struct Tcp {
    client: SocketAddr,
    server: SocketAddr,
    /// Next sequence number of each direction.
    next: [u32; 2],
    ip_id: [u32; 2],
    ts: Nanos,
}

impl Tcp {
    /// SYN, SYN/ACK, ACK at `ts`.
    fn open(
        wire: &mut Wire<'_>,
        client: SocketAddr,
        server: SocketAddr,
        ts: Nanos,
        rng: &mut SplitMix64,
    ) -> io::Result<Tcp> {
        let isn = [rng.next_u32(), rng.next_u32()];
        let mut tcp = Tcp {
            client,
            server,
            next: [isn[0].wrapping_add(1), isn[1].wrapping_add(1)],
            ip_id: [rng.next_u32(), rng.next_u32()],
            ts,
        };
        tcp.raw(wire, Dir::ToServer, isn[0], 0, TcpFlags::SYN, &[])?;
        let ack = tcp.next[0];
        tcp.raw(
            wire,
            Dir::ToClient,
            isn[1],
            ack,
            TcpFlags::SYN | TcpFlags::ACK,
            &[],
        )?;
        tcp.ack(wire, Dir::ToServer)?;
        Ok(tcp)
    }

    /// One segment with explicit sequence number; the clock advances by [`FRAME_GAP`].
    fn raw(
        &mut self,
        wire: &mut Wire<'_>,
        dir: Dir,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let (src, dst) = match dir {
            Dir::ToServer => (self.client, self.server),
            Dir::ToClient => (self.server, self.client),
        };
        let id = &mut self.ip_id[dir.index()];
        *id = id.wrapping_add(1);
        wire.segment(self.ts, src, dst, seq, ack, flags, payload, *id)?;
        self.ts += FRAME_GAP;
        Ok(())
    }

    /// A pure ACK from `from` of everything the other side sent.
    fn ack(&mut self, wire: &mut Wire<'_>, from: Dir) -> io::Result<()> {
        let (seq, ack) = (self.next[from.index()], self.next[from.reverse().index()]);
        self.raw(wire, from, seq, ack, TcpFlags::ACK, &[])
    }

    /// `bytes` from `dir` in segments of [`MSS`]; the peer acknowledges every second segment
    /// and the last.
    fn send(&mut self, wire: &mut Wire<'_>, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        let d = dir.index();
        let count = bytes.len().div_ceil(MSS);
        for (k, chunk) in bytes.chunks(MSS).enumerate() {
            let last = k + 1 == count;
            let flags = TcpFlags::ACK | if last { TcpFlags::PSH } else { 0 };
            let (seq, ack) = (self.next[d], self.next[1 - d]);
            self.raw(wire, dir, seq, ack, flags, chunk)?;
            self.next[d] = seq.wrapping_add(chunk.len() as u32);
            if k % 2 == 1 || last {
                self.ack(wire, dir.reverse())?;
            }
        }
        Ok(())
    }

    /// Client FIN, server FIN, client ACK.
    fn close(&mut self, wire: &mut Wire<'_>) -> io::Result<()> {
        for dir in [Dir::ToServer, Dir::ToClient] {
            let d = dir.index();
            let (seq, ack) = (self.next[d], self.next[1 - d]);
            self.raw(wire, dir, seq, ack, TcpFlags::FIN | TcpFlags::ACK, &[])?;
            self.next[d] = seq.wrapping_add(1);
        }
        self.ack(wire, Dir::ToServer)
    }
}

/// Plays a scripted connection's steps over a hand-driven connection opened at `ts` (1 ms
/// between steps, FIN exchange at the end); returns the time after its last frame.
fn replay(
    wire: &mut Wire<'_>,
    conn: &Connection,
    ts: Nanos,
    rng: &mut SplitMix64,
) -> io::Result<Nanos> {
    let mut tcp = Tcp::open(wire, conn.client, conn.server, ts, rng)?;
    for step in &conn.steps {
        tcp.ts += MS;
        tcp.send(wire, step.dir, &step.bytes)?;
    }
    tcp.ts += MS;
    tcp.close(wire)?;
    Ok(tcp.ts)
}

/// The options of the plain sessions the hostile inputs build on: the default CPE and ACS, no
/// authentication (fewer messages), 204 at the end of each session.
fn session_options(seed: u64) -> CwmpOptions {
    CwmpOptions {
        seed,
        acs_auth: AuthScheme::None,
        empty_response_status: 204,
        echo_request_ids: true,
        ..CwmpOptions::default()
    }
}

/// A complete session on one connection: the CPE POSTs `inform` (an envelope), the ACS answers
/// InformResponse, empty POST, 204.
fn session_with_inform(b: &mut FlowBuilder, start: Nanos, inform: &str) -> Connection {
    let mut s: AcsSession = b.open_acs_session(start);
    let id = b.last_id().to_owned();
    b.cpe_post(&mut s, Some(inform), None);
    let style = b.opts.soap.clone();
    let response = b.response_envelope(&id, &soap::inform_response(1, &style), true);
    b.acs_reply(&mut s, 200, Some(&response), false);
    b.cpe_post(&mut s, None, None);
    b.acs_reply(&mut s, 204, None, false);
    s.connection
}

/// A plain `2 PERIODIC` session at `start`.
fn plain_session(b: &mut FlowBuilder, start: Nanos) -> Connection {
    let inform = b.inform_envelope(&[("2 PERIODIC", "")], start, false);
    session_with_inform(b, start, &inform)
}

/// The head of a CPE POST to the ACS, with the given extra header lines (each ending in CRLF).
fn post_head(o: &CwmpOptions, extra: &str) -> String {
    format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: cwmp-cpe/1.0\r\nSOAPAction: \"\"\r\n\
         Content-Type: text/xml; charset=\"utf-8\"\r\n{extra}\r\n",
        o.acs_path, o.acs
    )
}

/// Half-open flood: SYNs only, never answered, from 100.64.0.0/10 with random ports to random
/// ports of the ACS (half of them), the file server (a quarter) and 203.0.113.0/24. The
/// reference flow's frames are merged in by time, three seconds after the flood starts.
fn syn_flood(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    let reference = reference_frames(opts.seed)?;
    let (first, last) = match (reference.first(), reference.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => return Err(io::Error::other("the reference flow has no frames")),
    };
    let o = CwmpOptions::default();
    let syns = opts.scaled(SYN_FLOOD_SYNS, 1000);
    let start = first - 3 * SECOND;
    let gap = ((last - first + 6 * SECOND) / syns as Nanos).max(1);
    let mut rng = SplitMix64::derive(opts.seed, 0x5f1d);
    let mut wire = Wire::new(sink);
    let mut reference = reference.into_iter().peekable();
    for i in 0..syns {
        let ts = start + i as Nanos * gap;
        while let Some((t, frame)) = reference.next_if(|(t, _)| *t <= ts) {
            wire.frame(t, &frame)?;
        }
        let octet = |rng: &mut SplitMix64| rng.below(256) as u8;
        let src_ip = Ipv4Addr::new(
            100,
            64 + rng.below(64) as u8,
            octet(&mut rng),
            octet(&mut rng),
        );
        let src = SocketAddr::new(IpAddr::V4(src_ip), 1024 + rng.below(64_512) as u16);
        let dst_ip = match rng.below(4) {
            0 | 1 => o.acs.ip(),
            2 => o.file_server.ip(),
            _ => IpAddr::V4(Ipv4Addr::new(203, 0, 113, octet(&mut rng))),
        };
        let dst = SocketAddr::new(dst_ip, 1 + rng.below(65_535) as u16);
        let (seq, id) = (rng.next_u32(), rng.next_u32());
        wire.segment(ts, src, dst, seq, 0, TcpFlags::SYN, &[], id)?;
    }
    for (t, frame) in reference {
        wire.frame(t, &frame)?;
    }
    Ok(wire.frames)
}

/// A plain session, then a chunked POST whose body starts an Inform and goes on with 16 KiB
/// chunks of whitespace, never the last chunk; the capture ends with the connection open.
fn chunked_endless(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    const CHUNK: usize = 16 << 10;
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0xc4);
    let mut wire = Wire::new(sink);
    let plain = plain_session(&mut b, o.start);
    let at = replay(&mut wire, &plain, o.start, &mut rng)?;
    let client = b.cpe_endpoint();
    let mut tcp = Tcp::open(&mut wire, client, o.acs, at + SECOND, &mut rng)?;
    tcp.send(
        &mut wire,
        Dir::ToServer,
        post_head(&o, "Transfer-Encoding: chunked\r\n").as_bytes(),
    )?;
    let inform = b.inform_envelope(&[("2 PERIODIC", "")], at, false);
    let opening = inform
        .find("<cwmp:Inform>")
        .and_then(|i| inform.get(..i))
        .unwrap_or(&inform);
    let mut first = format!("{:x}\r\n", opening.len()).into_bytes();
    first.extend_from_slice(opening.as_bytes());
    first.extend_from_slice(b"\r\n");
    tcp.send(&mut wire, Dir::ToServer, &first)?;
    let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
    chunk.extend((0..CHUNK).map(|i| if i % 64 == 63 { b'\n' } else { b' ' }));
    chunk.extend_from_slice(b"\r\n");
    let chunks = opts.scaled(CHUNKED_BODY_BYTES, CHUNK as u64) / CHUNK as u64;
    for _ in 0..chunks {
        tcp.send(&mut wire, Dir::ToServer, &chunk)?;
    }
    Ok(wire.frames)
}

/// A POST whose `X-Padding` header line is 100 MB long, answered `431` and closed; then a
/// plain session.
fn header_line(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    const PIECE: usize = 64 * MSS;
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0x4d);
    let mut wire = Wire::new(sink);
    let client = b.cpe_endpoint();
    let mut tcp = Tcp::open(&mut wire, client, o.acs, o.start, &mut rng)?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: cwmp-cpe/1.0\r\nX-Padding: ",
        o.acs_path, o.acs
    );
    tcp.send(&mut wire, Dir::ToServer, head.as_bytes())?;
    let piece = vec![b'a'; PIECE];
    let mut left = opts.scaled(HEADER_LINE_BYTES, 1);
    while left > 0 {
        let n = left.min(PIECE as u64) as usize;
        tcp.send(&mut wire, Dir::ToServer, piece.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    tcp.send(&mut wire, Dir::ToServer, b"\r\nContent-Length: 0\r\n\r\n")?;
    tcp.ts += MS;
    tcp.send(
        &mut wire,
        Dir::ToClient,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\
          Connection: close\r\n\r\n",
    )?;
    tcp.close(&mut wire)?;
    let start = tcp.ts + SECOND;
    let plain = plain_session(&mut b, start);
    replay(&mut wire, &plain, start, &mut rng)?;
    Ok(wire.frames)
}

/// A session whose Inform holds `<d>` nested [`XML_DEPTH`] deep right inside `cwmp:Inform`.
fn xml_deep(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0xd3);
    let depth = opts.scaled(XML_DEPTH, 2) as usize;
    let inform = b.inform_envelope(&[("2 PERIODIC", "")], o.start, false);
    let mut deep = String::with_capacity(depth * 7);
    for _ in 0..depth {
        deep.push_str("<d>");
    }
    for _ in 0..depth {
        deep.push_str("</d>");
    }
    let inform = inform.replacen("<cwmp:Inform>\n", &format!("<cwmp:Inform>\n{deep}\n"), 1);
    let conn = session_with_inform(&mut b, o.start, &inform);
    let mut wire = Wire::new(sink);
    replay(&mut wire, &conn, o.start, &mut rng)?;
    Ok(wire.frames)
}

/// Marker the predefined entities of [`Kind::EntityBomb`] decode to inside ProductClass.
pub const PREDEFINED_DECODED: &str = "TG&<>\"'789";

/// A session whose Inform carries a DTD: ten levels of entities each ten times the one below
/// (`lol0` = "lol"), and an external entity naming a local file; `&lol9;` is the
/// Manufacturer, `&xxe;` a parameter value. ProductClass is written with the five predefined
/// entities (decoding to [`PREDEFINED_DECODED`]).
fn entity_bomb(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0xeb);
    let inform = b.inform_envelope(&[("2 PERIODIC", "")], o.start, false);
    let mut dtd = String::from("<!DOCTYPE soap-env:Envelope [\n<!ENTITY lol0 \"lol\">\n");
    for level in 1..10 {
        let below = format!("&lol{};", level - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{level} \"{below}\">\n"));
    }
    dtd.push_str("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n");
    let device = &o.device;
    let inform = inform
        .replacen("?>\n", &format!("?>\n{dtd}"), 1)
        .replacen(
            &format!("<Manufacturer>{}</Manufacturer>", device.manufacturer),
            "<Manufacturer>&lol9;</Manufacturer>",
            1,
        )
        .replacen(
            &format!("<ProductClass>{}</ProductClass>", device.product_class),
            "<ProductClass>TG&amp;&lt;&gt;&quot;&apos;789</ProductClass>",
            1,
        )
        .replacen(
            "<Value xsi:type=\"xsd:string\">",
            "<Value xsi:type=\"xsd:string\">&xxe;",
            1,
        );
    let conn = session_with_inform(&mut b, o.start, &inform);
    let mut wire = Wire::new(sink);
    replay(&mut wire, &conn, o.start, &mut rng)?;
    Ok(wire.frames)
}

/// Three connections whose Content-Length is absurd: u64::MAX on a POST with an Inform, one
/// past u64::MAX on another, and u64::MAX on the ACS's 200 to a plain Inform.
fn content_length_max(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0xc1);
    let mut wire = Wire::new(sink);
    let mut at = o.start;
    for length in ["18446744073709551615", "18446744073709551616"] {
        let inform = b.inform_envelope(&[("2 PERIODIC", "")], at, false);
        let client = b.cpe_endpoint();
        let mut tcp = Tcp::open(&mut wire, client, o.acs, at, &mut rng)?;
        let mut request = post_head(&o, &format!("Content-Length: {length}\r\n")).into_bytes();
        request.extend_from_slice(inform.as_bytes());
        tcp.send(&mut wire, Dir::ToServer, &request)?;
        tcp.ts += MS;
        tcp.close(&mut wire)?;
        at = tcp.ts + SECOND;
    }
    let inform = b.inform_envelope(&[("2 PERIODIC", "")], at, false);
    let id = b.last_id().to_owned();
    let client = b.cpe_endpoint();
    let mut tcp = Tcp::open(&mut wire, client, o.acs, at, &mut rng)?;
    let mut request = post_head(&o, &format!("Content-Length: {}\r\n", inform.len())).into_bytes();
    request.extend_from_slice(inform.as_bytes());
    tcp.send(&mut wire, Dir::ToServer, &request)?;
    let response = b.response_envelope(&id, &soap::inform_response(1, &o.soap), true);
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
         Content-Length: {}\r\n\r\n",
        u64::MAX
    )
    .into_bytes();
    reply.extend_from_slice(response.as_bytes());
    tcp.ts += MS;
    tcp.send(&mut wire, Dir::ToClient, &reply)?;
    tcp.ts += MS;
    tcp.close(&mut wire)?;
    Ok(wire.frames)
}

/// Serial numbers of the two CPEs of [`Kind::OverlapConflict`], and what the conflicting
/// segment writes over them. The first CPE's session gets the conflicting copy after the
/// original, the second's before it: the copy first in the capture is the one a reader keeping
/// the first copy reports (`CP0000000001` and `EVIL00000002`).
pub const OVERLAP_SERIALS: [(&str, &str); 2] = [
    ("CP0000000001", "EVIL00000001"),
    ("CP0000000002", "EVIL00000002"),
];

/// Two sessions of two CPEs; in each, a segment carrying only the serial number's bytes, with
/// another serial, overlaps the Inform: after the original segment in the first session, before
/// it (out of order, ahead of the bytes before it) in the second.
fn overlap_conflict(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    let mut rng = SplitMix64::derive(opts.seed, 0x0c);
    let mut wire = Wire::new(sink);
    let mut at = CwmpOptions::default().start;
    for (index, (serial, evil)) in OVERLAP_SERIALS.iter().enumerate() {
        let mut o = session_options(opts.seed.wrapping_add(index as u64));
        o.device.serial = (*serial).to_owned();
        o.cpe_ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7 + index as u8));
        let mut b = FlowBuilder::new(o);
        let conn = plain_session(&mut b, at);
        let mut tcp = Tcp::open(&mut wire, conn.client, conn.server, at, &mut rng)?;
        for (k, step) in conn.steps.iter().enumerate() {
            tcp.ts += MS;
            let marker = format!("<SerialNumber>{serial}</SerialNumber>");
            let found = step
                .bytes
                .windows(marker.len())
                .position(|w| w == marker.as_bytes());
            let (Some(pos), 0) = (found, k) else {
                tcp.send(&mut wire, step.dir, &step.bytes)?;
                continue;
            };
            let offset = pos + "<SerialNumber>".len();
            let base = tcp.next[0];
            let seq = base.wrapping_add(offset as u32);
            let ack = tcp.next[1];
            let flags = TcpFlags::ACK | TcpFlags::PSH;
            if index == 0 {
                tcp.send(&mut wire, step.dir, &step.bytes)?;
                tcp.raw(&mut wire, Dir::ToServer, seq, ack, flags, evil.as_bytes())?;
            } else {
                tcp.raw(&mut wire, Dir::ToServer, seq, ack, flags, evil.as_bytes())?;
                tcp.send(&mut wire, step.dir, &step.bytes)?;
            }
        }
        tcp.ts += MS;
        tcp.close(&mut wire)?;
        at = tcp.ts + SECOND;
    }
    Ok(wire.frames)
}

/// Seconds in a (Julian) year.
const YEAR: Nanos = 31_557_600 * SECOND;

/// The reference flow in pcap, with the first session's frames from the 4th on moved: +30
/// years, then 10 years back, then to 1970, then to 2106 (the last second a pcap header holds,
/// less a day), where the rest of the flow stays.
fn time_warp(opts: &Options, out: &mut dyn Write) -> io::Result<u64> {
    let frames = reference_frames(opts.seed)?;
    let mut pcap = PcapWriter::new(
        out,
        Interface {
            link: LinkType::ETHERNET,
            resolution: TsResolution::Micro,
        },
    )?;
    let late = (i64::from(u32::MAX) - 86_400) * SECOND;
    let mut anchor = 0;
    for (k, (ts, frame)) in frames.iter().enumerate() {
        if matches!(k, 3 | 5 | 7 | 9) {
            anchor = *ts;
        }
        let warped = match k {
            0..3 => *ts,
            3..5 => ts + 30 * YEAR,
            5..7 => ts + 20 * YEAR,
            7..9 => SECOND + (ts - anchor),
            _ => late + (ts - anchor),
        };
        pcap.write_frame(warped, 0, frame)?;
    }
    pcap.finish()?;
    Ok(frames.len() as u64)
}

/// Snap length announced by [`Kind::CaplenLies`].
const LYING_SNAPLEN: u32 = 96;

/// The reference flow in a pcap whose header announces a 96-byte snap length while records
/// carry whole frames; every fifth record claims an original length half its captured one;
/// the last record claims 65000 bytes, of which 200 follow before the file ends. Returns the
/// records written, the last one included.
fn caplen_lies(opts: &Options, out: &mut dyn Write) -> io::Result<u64> {
    let frames = reference_frames(opts.seed)?;
    let mut header = [0u8; 24];
    header[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header[4..6].copy_from_slice(&2u16.to_le_bytes());
    header[6..8].copy_from_slice(&4u16.to_le_bytes());
    header[16..20].copy_from_slice(&LYING_SNAPLEN.to_le_bytes());
    header[20..24].copy_from_slice(&LinkType::ETHERNET.0.to_le_bytes());
    out.write_all(&header)?;
    let record = |out: &mut dyn Write, ts: Nanos, caplen: u32, orig: u32| {
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&((ts / SECOND) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((ts % SECOND / 1000) as u32).to_le_bytes());
        r[8..12].copy_from_slice(&caplen.to_le_bytes());
        r[12..16].copy_from_slice(&orig.to_le_bytes());
        out.write_all(&r)
    };
    let mut last_ts = 0;
    for (k, (ts, frame)) in frames.iter().enumerate() {
        let len = frame.len() as u32;
        let orig = if k % 5 == 4 { len / 2 } else { len };
        record(out, *ts, len, orig)?;
        out.write_all(frame)?;
        last_ts = *ts;
    }
    record(out, last_ts + MS, 65_000, 65_000)?;
    out.write_all(&[0x5a; 200])?;
    Ok(frames.len() as u64 + 1)
}

/// Writes one pcapng block: type, total length, body padded to 4 bytes, total length again
/// (`trailer` replaces the trailing copy when given).
fn ng_block(
    out: &mut dyn Write,
    big_endian: bool,
    block_type: u32,
    body: &[u8],
    trailer: Option<u32>,
) -> io::Result<()> {
    let padded = body.len().div_ceil(4) * 4;
    let total = u32::try_from(12 + padded)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block too large"))?;
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    out.write_all(&u32b(block_type))?;
    out.write_all(&u32b(total))?;
    out.write_all(body)?;
    out.write_all(&[0u8; 3][..padded - body.len()])?;
    out.write_all(&u32b(trailer.unwrap_or(total)))
}

/// Section header and one Ethernet interface (`tsresol` 6 or 9) in the given byte order.
fn ng_section(out: &mut dyn Write, big_endian: bool, tsresol: u8) -> io::Result<()> {
    let mut shb = Vec::new();
    let mut idb = Vec::new();
    if big_endian {
        shb.extend_from_slice(&0x1a2b_3c4du32.to_be_bytes());
        shb.extend_from_slice(&1u16.to_be_bytes());
        shb.extend_from_slice(&0u16.to_be_bytes());
        shb.extend_from_slice(&(-1i64).to_be_bytes());
        idb.extend_from_slice(&1u16.to_be_bytes());
        idb.extend_from_slice(&0u16.to_be_bytes());
        idb.extend_from_slice(&262_144u32.to_be_bytes());
        idb.extend_from_slice(&9u16.to_be_bytes());
        idb.extend_from_slice(&1u16.to_be_bytes());
    } else {
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        idb.extend_from_slice(&9u16.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
    }
    idb.extend_from_slice(&[tsresol, 0, 0, 0, 0, 0, 0, 0]);
    ng_block(out, big_endian, 0x0a0d_0d0a, &shb, None)?;
    ng_block(out, big_endian, 1, &idb, None)
}

/// The body of an Enhanced Packet Block on interface 0.
fn epb_body(big_endian: bool, units: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(20 + data.len());
    let len = data.len() as u32;
    for v in [0, (units >> 32) as u32, units as u32, len, len] {
        body.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    body.extend_from_slice(data);
    body
}

/// The reference flow in pcapng, broken as `kind` says (see [`Kind::about`]). Returns the
/// packet blocks written, the lying one included.
fn pcapng_lies(kind: Kind, opts: &Options, out: &mut dyn Write) -> io::Result<u64> {
    const EPB: u32 = 6;
    let frames = reference_frames(opts.seed)?;
    let half = frames.len() / 2;
    let mut rng = SplitMix64::derive(opts.seed, 0x9e);
    ng_section(out, false, 6)?;
    let (mut big_endian, mut nanos) = (false, false);
    let mut written = 0;
    for (k, (ts, frame)) in frames.iter().enumerate() {
        if kind == Kind::PcapngLies {
            if k % 7 == 3 {
                // Unknown block types: one unassigned, one of the local-use range (high bit).
                let mut junk = vec![0u8; 8 + rng.below(120) as usize];
                rng.fill(&mut junk);
                let block_type = if k % 2 == 0 { 0x0000_0bad } else { 0x8000_0bad };
                ng_block(out, big_endian, block_type, &junk, None)?;
            }
            if k == half {
                ng_section(out, true, 9)?;
                (big_endian, nanos) = (true, true);
            }
        } else if k == half {
            written += 1;
            let body = epb_body(false, 0, &[0u8; 64]);
            match kind {
                Kind::PcapngLiesTrailer => ng_block(out, false, EPB, &body, Some(1 << 12))?,
                _ => ng_block(out, false, EPB, &[0u8; 8], None)?,
            }
        }
        let units = (*ts as u64) / if nanos { 1 } else { 1000 };
        ng_block(
            out,
            big_endian,
            EPB,
            &epb_body(big_endian, units, frame),
            None,
        )?;
        written += 1;
    }
    if kind == Kind::PcapngLies {
        // A last packet block announcing 1 MiB, of which 100 bytes follow.
        written += 1;
        for v in [EPB, 1 << 20] {
            out.write_all(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })?;
        }
        out.write_all(&[0x5a; 100])?;
    }
    Ok(written)
}

/// The reference flow, then zero-filled frames of the largest snap length until the
/// uncompressed pcap reaches [`GZIP_EXPANDED_BYTES`], gzip-compressed at the best level.
fn gzip_bomb(opts: &Options, out: &mut dyn Write) -> io::Result<Written> {
    const PAD_FRAME: usize = 262_144;
    struct Plain<'a> {
        inner: GzEncoder<&'a mut dyn Write>,
        bytes: u64,
    }
    impl Write for Plain<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.bytes += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
    let frames = reference_frames(opts.seed)?;
    let mut plain = Plain {
        inner: GzEncoder::new(out, Compression::best()),
        bytes: 0,
    };
    let target = opts.scaled(GZIP_EXPANDED_BYTES, PAD_FRAME as u64);
    let mut count = 0;
    {
        let mut pcap = PcapWriter::new(
            &mut plain,
            Interface {
                link: LinkType::ETHERNET,
                resolution: TsResolution::Micro,
            },
        )?;
        let mut ts = 0;
        for (t, frame) in &frames {
            pcap.write_frame(*t, 0, frame)?;
            ts = *t;
            count += 1;
        }
        let zeros = vec![0u8; PAD_FRAME];
        while pcap.get_mut().bytes < target {
            ts += MS;
            pcap.write_frame(ts, 0, &zeros)?;
            count += 1;
        }
        pcap.finish()?;
    }
    let expanded = plain.bytes;
    plain.inner.finish()?.flush()?;
    Ok(Written {
        frames: count,
        bytes: 0,
        expanded,
    })
}

/// A TLS record: type, version, 16-bit length as given (which may lie), body.
fn tls_record_head(record_type: u8, length: u16) -> [u8; 5] {
    let [hi, lo] = length.to_be_bytes();
    [record_type, 0x03, 0x03, hi, lo]
}

/// To the ACS on 7547: a handshake record of 2^14+1 bytes (one over the plaintext limit)
/// whose ClientHello header claims 2^24-1 bytes, continued by [`TLS_CONTINUATION_RECORDS`]
/// records of 2^14 bytes, then FIN. To the file server on 443: an application-data record
/// claiming 2^16-1 bytes, all sent, then FIN.
fn tls_huge_record(opts: &Options, sink: &mut dyn FrameSink) -> io::Result<u64> {
    const HANDSHAKE: u8 = 0x16;
    const APPLICATION_DATA: u8 = 0x17;
    let o = session_options(opts.seed);
    let mut b = FlowBuilder::new(o.clone());
    let mut rng = SplitMix64::derive(opts.seed, 0x7e);
    let mut wire = Wire::new(sink);
    let client = b.cpe_endpoint();
    let mut tcp = Tcp::open(&mut wire, client, o.acs, o.start, &mut rng)?;
    let oversized: u16 = (1 << 14) + 1;
    let mut record = tls_record_head(HANDSHAKE, oversized).to_vec();
    record.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0x03, 0x03]);
    let mut filler = vec![0u8; usize::from(oversized) - 6];
    rng.fill(&mut filler);
    record.extend_from_slice(&filler);
    tcp.send(&mut wire, Dir::ToServer, &record)?;
    let mut continuation = tls_record_head(HANDSHAKE, 1 << 14).to_vec();
    continuation.resize(5 + (1 << 14), 0x41);
    for _ in 0..opts.scaled(TLS_CONTINUATION_RECORDS, 1) {
        tcp.send(&mut wire, Dir::ToServer, &continuation)?;
    }
    tcp.ts += MS;
    tcp.close(&mut wire)?;
    let client = b.cpe_endpoint();
    let https = SocketAddr::new(o.file_server.ip(), 443);
    let mut tcp = Tcp::open(&mut wire, client, https, tcp.ts + SECOND, &mut rng)?;
    let mut record = tls_record_head(APPLICATION_DATA, u16::MAX).to_vec();
    let mut filler = vec![0u8; usize::from(u16::MAX)];
    rng.fill(&mut filler);
    record.extend_from_slice(&filler);
    tcp.send(&mut wire, Dir::ToServer, &record)?;
    tcp.ts += MS;
    tcp.close(&mut wire)?;
    Ok(wire.frames)
}

/// A key log of [`KEYLOG_LINES`] lines (scaled): ten kinds of junk in turn (random text,
/// odd-length and non-hex randoms, comments, missing secrets, lines over 512 bytes and one
/// of 1 MiB every 100,000, binary bytes,
/// unknown labels, blank lines, well-formed entries for client randoms nobody used), with
/// [`Options::keylog_lines`] spread evenly among them.
fn keylog_junk(opts: &Options, out: &mut dyn Write) -> io::Result<u64> {
    let total = opts.scaled(KEYLOG_LINES, 10);
    let valid = &opts.keylog_lines;
    let every = total / (valid.len() as u64 + 1);
    let mut next_valid = valid.iter();
    let mut rng = SplitMix64::derive(opts.seed, 0x6b);
    let mut buf = Vec::with_capacity(8192);
    for i in 0..total {
        buf.clear();
        if every > 0
            && i % every == every / 2
            && let Some(line) = next_valid.next()
        {
            buf.extend_from_slice(line.trim_end().as_bytes());
            buf.push(b'\n');
            out.write_all(&buf)?;
            continue;
        }
        match i % 10 {
            0 => {
                let len = 1 + rng.below(200) as usize;
                buf.extend((0..len).map(|_| b' ' + rng.below(95) as u8));
            }
            1 => {
                let (a, b) = (rng.hex(63), rng.hex(96));
                buf.extend_from_slice(format!("CLIENT_RANDOM {a} {b}").as_bytes());
            }
            2 => {
                let a = rng.hex(64);
                buf.extend_from_slice(format!("CLIENT_RANDOM {a} {}", "zz".repeat(48)).as_bytes());
            }
            3 => buf.extend_from_slice(format!("# line {i} of junk").as_bytes()),
            4 => {
                let a = rng.hex(64);
                buf.extend_from_slice(format!("SERVER_HANDSHAKE_TRAFFIC_SECRET {a}").as_bytes());
            }
            5 if i % 100_000 == 5 => {
                let a = rng.hex(1 << 20);
                buf.extend_from_slice(format!("CLIENT_RANDOM {a}").as_bytes());
            }
            5 => {
                let a = rng.hex(520);
                buf.extend_from_slice(format!("CLIENT_RANDOM {a}").as_bytes());
            }
            6 => {
                let mut bytes = [0u8; 40];
                rng.fill(&mut bytes);
                buf.extend(bytes.iter().map(|b| b | 0x80));
            }
            7 => {
                let (a, b) = (rng.hex(64), rng.hex(64));
                buf.extend_from_slice(format!("NOT_A_LABEL {a} {b}\r").as_bytes());
            }
            8 => buf.extend_from_slice(b" \t "),
            _ => {
                let (a, b) = (rng.hex(64), rng.hex(96));
                buf.extend_from_slice(format!("CLIENT_RANDOM {a} {b}").as_bytes());
            }
        }
        buf.push(b'\n');
        out.write_all(&buf)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Options {
        Options {
            scale: 0.001,
            ..Options::default()
        }
    }

    fn bytes_of(kind: Kind, opts: &Options) -> Vec<u8> {
        let mut out = Vec::new();
        write(kind, opts, &mut out).expect("written");
        out
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            assert!(!kind.about().is_empty());
        }
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        assert_eq!(Kind::from_name("nope"), None);
    }

    #[test]
    fn every_kind_is_deterministic_and_seeded() {
        for kind in Kind::ALL {
            let a = bytes_of(kind, &small());
            assert!(!a.is_empty(), "{kind:?}");
            assert_eq!(
                a,
                bytes_of(kind, &small()),
                "{kind:?}: same seed, same bytes"
            );
            let other = Options { seed: 2, ..small() };
            assert_ne!(a, bytes_of(kind, &other), "{kind:?}: the seed matters");
        }
    }

    #[test]
    fn scale_sets_the_large_sizes() {
        let mut out = Vec::new();
        let w = write(Kind::SynFlood, &small(), &mut out).unwrap();
        assert!(w.frames >= 1000 && w.frames < 1100, "{w:?}");
        let w = write(Kind::Header100mb, &small(), &mut io::sink()).unwrap();
        let header = HEADER_LINE_BYTES / 1000;
        assert!(w.bytes > header && w.bytes < header + header / 5, "{w:?}");
        let w = write(Kind::KeylogJunk, &small(), &mut io::sink()).unwrap();
        assert_eq!(w.frames, KEYLOG_LINES / 1000);
    }

    #[test]
    fn gzip_bomb_expands_a_thousand_fold() {
        let opts = Options {
            scale: 0.1,
            ..Options::default()
        };
        let mut out = Vec::new();
        let w = write(Kind::GzipBomb, &opts, &mut out).unwrap();
        assert_eq!(w.bytes, out.len() as u64);
        assert!(w.expanded >= GZIP_EXPANDED_BYTES / 10);
        assert!(
            w.expanded / w.bytes >= 500,
            "ratio {}",
            w.expanded / w.bytes
        );
        let mut plain = Vec::new();
        io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&out[..]), &mut plain).unwrap();
        assert_eq!(plain.len() as u64, w.expanded);
    }

    #[test]
    fn keylog_keeps_every_valid_line_whole() {
        let valid = vec![
            format!("CLIENT_RANDOM {} {}", "ab".repeat(32), "cd".repeat(48)),
            format!("CLIENT_RANDOM {} {}", "12".repeat(32), "34".repeat(48)),
        ];
        let opts = Options {
            keylog_lines: valid.clone(),
            ..small()
        };
        let text = bytes_of(Kind::KeylogJunk, &opts);
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        for line in &valid {
            assert_eq!(
                lines.iter().filter(|l| **l == line.as_bytes()).count(),
                1,
                "{line}"
            );
        }
    }

    #[test]
    fn lying_containers_lie_where_they_say() {
        let pcap = bytes_of(Kind::CaplenLies, &small());
        assert_eq!(u32::from_le_bytes(pcap[16..20].try_into().unwrap()), 96);
        // The last record claims 65000 bytes; 200 follow.
        let tail = &pcap[pcap.len() - 216..];
        assert_eq!(u32::from_le_bytes(tail[8..12].try_into().unwrap()), 65_000);
        let ng = bytes_of(Kind::PcapngLies, &small());
        let sections = ng
            .windows(4)
            .filter(|w| *w == [0x0a, 0x0d, 0x0d, 0x0a])
            .count();
        assert!(sections >= 2, "a section header in the middle");
        assert_eq!(
            &ng[ng.len() - 108..ng.len() - 100],
            &[0, 0, 0, 6, 0, 16, 0, 0]
        );
    }

    #[test]
    fn time_warp_reaches_1970_and_2106() {
        let pcap = bytes_of(Kind::TimeWarp, &small());
        let mut secs = Vec::new();
        let mut at = 24;
        while at + 16 <= pcap.len() {
            secs.push(u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap()));
            let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap());
            at += 16 + caplen as usize;
        }
        assert_eq!(at, pcap.len());
        assert!(secs.iter().any(|s| *s < 10), "1970");
        assert!(secs.iter().any(|s| *s > u32::MAX - 86_400 * 2), "2106");
        assert!(secs.windows(2).any(|w| w[1] < w[0]), "time goes back");
    }
}
