//! The front half split by address pair (`--threads 5` and more). The caller's thread reads
//! and decodes frames and hands each TCP segment to one of several front shards; each runs the
//! reassembly, TLS and HTTP stages ([`Streams`]) for the connections whose two addresses hash
//! to it. A merging thread puts their HTTP events back into the order one front half emits
//! them, numbers the connections as it would, and feeds the back half.
//!
//! The order is rebuilt from three facts:
//! - the events of a segment come as one group, and the dispatcher tells the merger which
//!   shard each segment went to, in capture order;
//! - at a tick of the capture clock each shard releases its idle connections by (scheduled
//!   deadline, id), and the merger interleaves the releases of all shards by that key;
//! - at the end each shard releases its connections by id, and the merger interleaves them by
//!   id.
//!
//! Local ids grow in the order connections open in a shard, as the merged ids do, so a key's
//! order is the same in either numbering. Each shard applies the capture-wide limits of the
//! reassembler (open and half-open connections, buffered bytes) to its own connections: the
//! outputs are those of one front half as long as the run reaches none of them. Two
//! connections of one address pair always share a shard, so TLS sessions resumed between the
//! same two hosts are followed.

use super::{BackEvent, Worker, drain, spawn_named};
use crate::findings::Output;
use crate::http::HttpEvent;
use crate::pipeline::{
    Back, Counters, FrontParts, HostCount, PipelineConfig, Streams, Ticker, capture_summary_of,
    count_hosts,
};
use crate::report::CaptureSummary;
use crate::types::{ConnId, Frame, Nanos};
use crate::wire::{Decoded, Decoder, SegmentHeader};
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A shard's batch is sent at this many segments or payload bytes.
const SEGMENTS_PER_BATCH: usize = 512;
const BYTES_PER_BATCH: usize = 256 * 1024;
/// The routes are sent at this many.
const ROUTES_PER_BATCH: usize = 4096;
/// A shard's outputs are sent at this many.
const OUTPUTS_PER_BATCH: usize = 512;
/// Batches in flight on each queue.
const BATCHES_IN_FLIGHT: usize = 4;

/// What a front shard is given, in capture order.
enum Input {
    /// A segment, its payload the span of the batch's bytes.
    Segment(SegmentHeader, usize, usize),
    /// Capture time moved on.
    Advance(Nanos),
    /// End of input.
    Finish,
    /// Key log text found in the capture (its span in the batch's bytes).
    Keylog(usize, usize),
}

#[derive(Default)]
struct InputBatch {
    items: Vec<Input>,
    bytes: Vec<u8>,
}

impl InputBatch {
    /// An empty batch with room for a full one (and the frame that fills it).
    fn with_room() -> InputBatch {
        InputBatch {
            items: Vec::with_capacity(SEGMENTS_PER_BATCH + 1),
            bytes: Vec::with_capacity(BYTES_PER_BATCH + 64 * 1024),
        }
    }
}

/// What a front shard hands the merger: for each segment, advance and finish it was given,
/// that input's events and then `End`; in an advance or finish, each connection released is
/// announced by `Release` with the key it was released by (its id is the shard's own).
#[allow(clippy::large_enum_variant)] // events are moved through once, as in the back half's queue
enum ShardOutput {
    Event(HttpEvent),
    Release(Nanos, ConnId),
    End,
}

/// What the merger takes next, in capture order.
#[derive(Clone, Copy)]
enum Route {
    /// The events of the next segment of this shard.
    Segment(usize),
    /// The releases of every shard at this time, then the back half's timers.
    Advance(Nanos),
    /// The back half hands on its open sessions.
    ReportOpen,
    /// The releases of every shard at the end.
    Finish,
}

/// The shard of a segment: that of its unordered pair of addresses.
fn shard_of(a: IpAddr, b: IpAddr, shards: usize) -> usize {
    let hash = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => crate::shard::mix(u64::from(u32::from(v4))),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            crate::shard::mix(crate::shard::mix(bits as u64) ^ (bits >> 64) as u64)
        }
    };
    let h = crate::shard::mix(hash(a).wrapping_add(hash(b)));
    (h % shards.max(1) as u64) as usize
}

/// The connection an HTTP event belongs to.
fn conn_of(ev: &mut HttpEvent) -> &mut ConnId {
    match ev {
        HttpEvent::ConnOpen(info) | HttpEvent::ConnClosed { info, .. } => &mut info.id,
        HttpEvent::Message(msg) => &mut msg.conn,
        HttpEvent::Malformed { conn, .. }
        | HttpEvent::Gap { conn, .. }
        | HttpEvent::Rst { conn, .. }
        | HttpEvent::Fin { conn, .. } => conn,
    }
}

/// One front shard: its inputs through [`Streams`], the events out in groups.
/// Each batch, once done, goes back to the dispatcher through `spent` to be filled again.
fn run_shard(
    mut streams: Streams,
    inputs: Receiver<InputBatch>,
    outputs: SyncSender<Vec<ShardOutput>>,
    spent: Sender<InputBatch>,
) -> Streams {
    let mut out = Vec::with_capacity(OUTPUTS_PER_BATCH);
    for mut batch in inputs {
        for item in &batch.items {
            match *item {
                Input::Segment(ref header, start, end) => {
                    let payload = batch.bytes.get(start..end).unwrap_or_default();
                    let seg = header.with_payload(payload);
                    streams.push(&seg, &mut |ev| out.push(ShardOutput::Event(ev)));
                }
                Input::Advance(now) => loop {
                    let mark = out.len();
                    out.push(ShardOutput::Release(0, ConnId(0)));
                    let released =
                        streams.release_due(now, &mut |ev| out.push(ShardOutput::Event(ev)));
                    match released {
                        Some((deadline, id)) => out[mark] = ShardOutput::Release(deadline, id),
                        None => {
                            out.truncate(mark);
                            break;
                        }
                    }
                },
                Input::Finish => {
                    // The connections are released one after the other, in the order of
                    // their ids, each with all its events.
                    let mut last = None;
                    streams.finish(&mut |mut ev| {
                        let conn = *conn_of(&mut ev);
                        if last != Some(conn) {
                            last = Some(conn);
                            out.push(ShardOutput::Release(0, conn));
                        }
                        out.push(ShardOutput::Event(ev));
                    });
                }
                Input::Keylog(start, end) => {
                    if let Some(text) = batch.bytes.get(start..end) {
                        streams.add_embedded_keylog(text);
                    }
                    continue;
                }
            }
            out.push(ShardOutput::End);
            if out.len() >= OUTPUTS_PER_BATCH && !send_outputs(&outputs, &mut out) {
                return streams;
            }
        }
        // Whatever this batch made goes now: the merger may be waiting for it.
        if !out.is_empty() && !send_outputs(&outputs, &mut out) {
            return streams;
        }
        batch.items.clear();
        batch.bytes.clear();
        // The dispatcher is gone only when the analyzer is dropped.
        let _ = spent.send(batch);
    }
    streams
}

/// Sends a shard's outputs; false when the merger stopped (it panicked; `finish` reports it).
fn send_outputs(to: &SyncSender<Vec<ShardOutput>>, out: &mut Vec<ShardOutput>) -> bool {
    let batch = std::mem::replace(out, Vec::with_capacity(OUTPUTS_PER_BATCH));
    to.send(batch).is_ok()
}

/// The outputs of one shard, read one at a time.
struct ShardReader {
    from: Receiver<Vec<ShardOutput>>,
    pending: std::vec::IntoIter<ShardOutput>,
}

impl ShardReader {
    fn next(&mut self) -> ShardOutput {
        loop {
            if let Some(item) = self.pending.next() {
                return item;
            }
            // A closed queue: the shard panicked, which `finish` reports.
            self.pending = self.from.recv().expect("a front shard answers").into_iter();
        }
    }
}

/// Where the merger hands the events on: the back half on its worker thread (or, in tests, a
/// recorder).
pub(super) trait Downstream: Send + 'static {
    /// What is left once the input ended.
    type Done: Send + 'static;
    /// Queues one event.
    fn push(&mut self, ev: BackEvent);
    /// Sends what was queued.
    fn send(&mut self);
    /// End of input.
    fn join(self) -> Self::Done;
}

impl Downstream for Worker {
    type Done = Back;

    fn push(&mut self, ev: BackEvent) {
        Worker::push(self, ev);
    }

    fn send(&mut self) {
        Worker::send(self);
    }

    fn join(mut self) -> Back {
        Worker::join(&mut self).0
    }
}

/// The merging thread's state: the shards' outputs, the connections' ids in one numbering,
/// the host count, and where the events go.
struct Merger<D> {
    shards: Vec<ShardReader>,
    ids: FxHashMap<(usize, ConnId), ConnId>,
    next_id: u64,
    hosts: HostCount,
    worker: D,
    /// The releases of one advance or finish (reused).
    releases: Vec<Release>,
}

impl<D: Downstream> Merger<D> {
    /// Renumbers an event of `shard`'s connections and hands it to the back half.
    fn forward(&mut self, shard: usize, mut ev: HttpEvent) {
        let open = matches!(ev, HttpEvent::ConnOpen(_));
        let closed = matches!(ev, HttpEvent::ConnClosed { .. });
        let conn = conn_of(&mut ev);
        let local = (shard, *conn);
        if open {
            *conn = ConnId(self.next_id);
            self.next_id += 1;
            self.ids.insert(local, *conn);
            count_hosts(&ev, &mut self.hosts);
        } else if closed {
            *conn = self.ids.remove(&local).unwrap_or(*conn);
        } else if let Some(id) = self.ids.get(&local) {
            *conn = *id;
        }
        self.worker.push(BackEvent::Http(ev, None));
    }

    /// The events of the next segment of `shard`.
    fn segment(&mut self, shard: usize) {
        loop {
            match self.shards[shard].next() {
                ShardOutput::Event(ev) => self.forward(shard, ev),
                ShardOutput::End => return,
                ShardOutput::Release(..) => {}
            }
        }
    }

    /// The releases of every shard for one advance or finish, in the order of their keys.
    fn releases(&mut self) {
        let mut releases = std::mem::take(&mut self.releases);
        for shard in 0..self.shards.len() {
            let first = releases.len();
            loop {
                match self.shards[shard].next() {
                    ShardOutput::Release(deadline, local) => {
                        let id = self.ids.get(&(shard, local)).copied().unwrap_or(local);
                        releases.push(Release {
                            deadline,
                            id,
                            shard,
                            events: Vec::new(),
                        });
                    }
                    ShardOutput::Event(ev) => match releases.get_mut(first..) {
                        Some([.., release]) => release.events.push(ev),
                        // Before any release (none is): handed on as it comes.
                        _ => self.forward(shard, ev),
                    },
                    ShardOutput::End => break,
                }
            }
        }
        // Keys are unique (ids are): the order is the one a single table releases in.
        releases.sort_unstable_by_key(|r| (r.deadline, r.id));
        for release in releases.drain(..) {
            for ev in release.events {
                self.forward(release.shard, ev);
            }
        }
        self.releases = releases;
    }
}

/// One connection released by a shard in an advance or at the end, with its events.
struct Release {
    deadline: Nanos,
    /// In the merged numbering.
    id: ConnId,
    shard: usize,
    events: Vec<HttpEvent>,
}

/// The merging thread: takes the shards' outputs in the routes' order into the back half.
fn run_merger<D: Downstream>(
    routes: Receiver<Vec<Route>>,
    mut merger: Merger<D>,
) -> (D::Done, HostCount) {
    for batch in routes {
        for route in batch {
            match route {
                Route::Segment(shard) => merger.segment(shard),
                Route::Advance(now) => {
                    merger.releases();
                    merger.worker.push(BackEvent::Advance(now));
                    merger.worker.send();
                }
                Route::ReportOpen => {
                    merger.worker.push(BackEvent::ReportOpen);
                    merger.worker.send();
                }
                Route::Finish => merger.releases(),
            }
        }
    }
    (merger.worker.join(), merger.hosts)
}

/// The queue to one front shard, the batch being filled for it and those it is done with.
struct Feed {
    to: Option<SyncSender<InputBatch>>,
    batch: InputBatch,
    spent: Receiver<InputBatch>,
}

impl Feed {
    fn send(&mut self) {
        if self.batch.items.is_empty() {
            return;
        }
        let next = self
            .spent
            .try_recv()
            .unwrap_or_else(|_| InputBatch::with_room());
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(to) = &self.to {
            // A closed queue: the shard panicked; `finish` reports it.
            let _ = to.send(batch);
        }
    }
}

/// What is left once every thread is joined.
struct Joined<B> {
    back: B,
    streams: Vec<Streams>,
    hosts: HostCount,
}

/// The analyzer with the front half split: frames are decoded here and their segments
/// handed to the shards; the merger and the back half run on threads of their own.
pub(super) struct Sharded<D: Downstream = Worker> {
    decoder: Decoder,
    counters: Counters,
    ticker: Ticker,
    feeds: Vec<Feed>,
    routes: Vec<Route>,
    route_to: Option<SyncSender<Vec<Route>>>,
    shards: Vec<JoinHandle<Streams>>,
    merger: Option<JoinHandle<(D::Done, HostCount)>>,
    outputs: Receiver<Output>,
    joined: Option<Joined<D::Done>>,
    max_hosts: usize,
}

impl Sharded {
    /// `shards` front shards, and `decoders` decoder threads before the back half. Files are
    /// hashed on the shards (they already spread over cores).
    pub(super) fn new(cfg: PipelineConfig, shards: usize, decoders: usize) -> Sharded {
        let mut cfg = cfg;
        cfg.http.digests = None;
        let (output_to, outputs) = std::sync::mpsc::channel();
        let worker = Worker::spawn(
            Back::with_config(&cfg),
            decoders,
            true,
            None,
            None,
            output_to,
        );
        Sharded::with_downstream(cfg, shards, worker, outputs)
    }

    /// The `capture` part of the report: complete after `finish`; before, only what the
    /// decoding on this thread counted.
    pub(super) fn capture_summary(
        &self,
        files: Vec<String>,
        warnings: Vec<String>,
    ) -> CaptureSummary {
        let no_hosts = HostCount::new(self.max_hosts);
        let (streams, hosts, back) = match &self.joined {
            Some(j) => (&j.streams[..], &j.hosts, Some(&j.back)),
            None => (&[][..], &no_hosts, None),
        };
        let parts = FrontParts {
            decoder: &self.decoder,
            streams,
            counters: &self.counters,
            hosts,
        };
        capture_summary_of(parts, back, files, warnings)
    }
}

impl<D: Downstream> Sharded<D> {
    /// `shards` front shards whose events the merger hands to `worker`; the back half's
    /// outputs arrive on `outputs`.
    fn with_downstream(
        cfg: PipelineConfig,
        shards: usize,
        worker: D,
        outputs: Receiver<Output>,
    ) -> Sharded<D> {
        let mut feeds = Vec::new();
        let mut readers = Vec::new();
        let mut handles = Vec::new();
        for n in 0..shards.max(1) {
            let (to, inputs) = sync_channel(BATCHES_IN_FLIGHT);
            let (outputs_to, from) = sync_channel(BATCHES_IN_FLIGHT);
            let (spent_to, spent) = std::sync::mpsc::channel();
            let streams = Streams::new(&cfg);
            handles.push(spawn_named(format!("front-{}", n + 1), move || {
                run_shard(streams, inputs, outputs_to, spent_to)
            }));
            feeds.push(Feed {
                to: Some(to),
                batch: InputBatch::with_room(),
                spent,
            });
            readers.push(ShardReader {
                from,
                pending: Vec::new().into_iter(),
            });
        }
        let (route_to, routes) = sync_channel(BATCHES_IN_FLIGHT);
        let merger = Merger {
            shards: readers,
            ids: FxHashMap::default(),
            next_id: 1,
            hosts: HostCount::new(cfg.max_hosts),
            worker,
            releases: Vec::new(),
        };
        let merger = spawn_named("merger".into(), move || run_merger(routes, merger));
        Sharded {
            decoder: Decoder::with_config(&cfg.decoder),
            counters: Counters::default(),
            ticker: Ticker::default(),
            feeds,
            routes: Vec::with_capacity(ROUTES_PER_BATCH),
            route_to: Some(route_to),
            shards: handles,
            merger: Some(merger),
            outputs,
            joined: None,
            max_hosts: cfg.max_hosts,
        }
    }

    pub(super) fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        if self.joined.is_some() {
            return;
        }
        self.counters.count(frame);
        // Only segments go on (a mirrored copy is counted by the decoder).
        if let Decoded::Tcp(seg) = self.decoder.decode(frame) {
            let shard = shard_of(seg.src.ip(), seg.dst.ip(), self.feeds.len());
            let feed = &mut self.feeds[shard];
            let batch = &mut feed.batch;
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(seg.payload);
            let end = batch.bytes.len();
            batch.items.push(Input::Segment(seg.header(), start, end));
            let full =
                batch.items.len() >= SEGMENTS_PER_BATCH || batch.bytes.len() >= BYTES_PER_BATCH;
            self.routes.push(Route::Segment(shard));
            // A shard's batch never goes without the routes to it: were the merger not told
            // of them, the shard's outputs would fill its queue and block it.
            if full || self.routes.len() >= ROUTES_PER_BATCH {
                self.send_routes();
            }
        }
        if self.ticker.due(frame.ts) {
            self.advance(frame.ts, out);
        }
    }

    /// Sends every shard's batch, then the routes that refer to them: the merger never waits
    /// for a segment still held here, and a shard's outputs are always for segments the
    /// merger knows of, so neither blocks the other for good.
    fn send_routes(&mut self) {
        for feed in &mut self.feeds {
            feed.send();
        }
        let routes = std::mem::replace(&mut self.routes, Vec::with_capacity(ROUTES_PER_BATCH));
        if let Some(to) = &self.route_to {
            // A closed queue: the merger panicked; `finish` reports it.
            let _ = to.send(routes);
        }
    }

    /// Gives every shard an input and the merger its route.
    fn broadcast(&mut self, input: impl Fn() -> Input, route: Route) {
        for feed in &mut self.feeds {
            feed.batch.items.push(input());
        }
        self.routes.push(route);
        self.send_routes();
    }

    pub(super) fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        if self.joined.is_some() {
            return;
        }
        self.broadcast(|| Input::Advance(now), Route::Advance(now));
        drain(&self.outputs, out);
    }

    pub(super) fn flush(&mut self, out: &mut impl FnMut(Output)) {
        if self.joined.is_none() {
            self.routes.push(Route::ReportOpen);
            self.send_routes();
        }
        drain(&self.outputs, out);
    }

    pub(super) fn add_embedded_keylog(&mut self, text: &[u8]) {
        for feed in &mut self.feeds {
            let start = feed.batch.bytes.len();
            feed.batch.bytes.extend_from_slice(text);
            let end = feed.batch.bytes.len();
            feed.batch.items.push(Input::Keylog(start, end));
        }
    }

    /// End of input: the shards release every connection, the back half finishes, every
    /// thread is joined. A panic of one of them is resumed here (a shard's first: the merger
    /// then fails for want of its outputs).
    pub(super) fn finish(&mut self, out: &mut impl FnMut(Output)) {
        if self.joined.is_some() {
            return;
        }
        self.broadcast(|| Input::Finish, Route::Finish);
        self.route_to = None;
        for feed in &mut self.feeds {
            feed.to = None;
        }
        let merged = self.merger.take().map(JoinHandle::join);
        let mut streams = Vec::new();
        for shard in self.shards.drain(..) {
            match shard.join() {
                Ok(s) => streams.push(s),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let Some(merged) = merged else { return };
        let (back, hosts) = merged.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        drain(&self.outputs, out);
        self.joined = Some(Joined {
            back,
            streams,
            hosts,
        });
    }

    pub(super) fn counters(&self) -> &Counters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Front;
    use crate::types::{FrameRef, LinkType};
    use std::sync::{Arc, Mutex};

    /// Records the merged events as text.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Downstream for Recorder {
        type Done = ();

        fn push(&mut self, ev: BackEvent) {
            let text = match ev {
                BackEvent::Http(ev, _) => format!("{ev:?}"),
                BackEvent::Advance(now) => format!("advance {now}"),
                BackEvent::ReportOpen => "report open".to_owned(),
            };
            self.0.lock().unwrap().push(text);
        }

        fn send(&mut self) {}

        fn join(self) {}
    }

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const SECOND: Nanos = 1_000_000_000;

    struct Packet {
        ts: Nanos,
        data: Vec<u8>,
    }

    /// An Ethernet, IPv4 and TCP frame.
    fn packet(
        ts: Nanos,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        (seq, ack, flags): (u32, u32, u8),
        payload: &[u8],
    ) -> Packet {
        let mut d = vec![0u8; 12];
        d.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        d.extend_from_slice(&[0x45, 0]);
        d.extend_from_slice(&total.to_be_bytes());
        // A distinct identification each time: no packet is a mirrored copy of another.
        d.extend_from_slice(&((ts / 1000) as u16 | 1).to_be_bytes());
        d.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        d.extend_from_slice(&src.0);
        d.extend_from_slice(&dst.0);
        d.extend_from_slice(&src.1.to_be_bytes());
        d.extend_from_slice(&dst.1.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&ack.to_be_bytes());
        d.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        d.extend_from_slice(payload);
        Packet { ts, data: d }
    }

    /// Forty connections between as many address pairs, opened 300 ms apart, each sending a
    /// request or two and then going quiet: with a 2-second idle timeout, the ticks release
    /// several at a time, from different shards, and the last ones are open at the end.
    fn packets() -> Vec<Packet> {
        let mut packets = Vec::new();
        for i in 0..40u8 {
            let start = i64::from(i) * 300_000_000;
            let client = ([10, 0, i, 1], 40_000 + u16::from(i));
            let server = ([10, 1, i % 7, 1], 80);
            let request = format!("GET /{i} HTTP/1.1\r\nHost: s{i}\r\n\r\n");
            let len = request.len() as u32;
            packets.push(packet(start, client, server, (100, 0, SYN), b""));
            packets.push(packet(
                start + 1_000,
                server,
                client,
                (500, 101, SYN | ACK),
                b"",
            ));
            packets.push(packet(start + 2_000, client, server, (101, 501, ACK), b""));
            let req = request.as_bytes();
            packets.push(packet(
                start + 3_000,
                client,
                server,
                (101, 501, PSH_ACK),
                req,
            ));
            if i % 3 == 0 {
                // A second request a while later moves this one's deadline.
                let again = (101 + len, 501, PSH_ACK);
                packets.push(packet(start + 1_700_000_000, client, server, again, req));
            }
        }
        packets.sort_by_key(|p| p.ts);
        packets
    }

    fn config() -> PipelineConfig {
        let mut cfg = PipelineConfig::default();
        cfg.reassembly.idle_timeout = 2 * SECOND;
        cfg
    }

    fn frame(n: usize, p: &Packet) -> Frame<'_> {
        Frame {
            frame: FrameRef::new(0, n as u64 + 1),
            ts: p.ts,
            link: LinkType::ETHERNET,
            orig_len: p.data.len() as u32,
            data: &p.data,
        }
    }

    #[test]
    fn the_shards_events_merge_into_those_of_one_front_half() {
        let packets = packets();
        let mut front = Front::new(&config());
        let mut ticker = Ticker::default();
        let mut one = Vec::new();
        for (n, p) in packets.iter().enumerate() {
            front.push(&frame(n, p), &mut |ev| one.push(format!("{ev:?}")));
            if ticker.due(p.ts) {
                front.advance(p.ts, &mut |ev| one.push(format!("{ev:?}")));
                one.push(format!("advance {}", p.ts));
            }
        }
        front.finish(&mut |ev| one.push(format!("{ev:?}")));
        let closed_idle = one.iter().filter(|e| e.contains("end: Idle")).count();
        let closed_at_end = one.iter().filter(|e| e.contains("CaptureEnded")).count();
        assert!(
            closed_idle > 20 && closed_at_end > 3,
            "{closed_idle} {closed_at_end}"
        );

        for shards in [1, 2, 3, 5] {
            let got = Arc::new(Mutex::new(Vec::new()));
            let (_, outputs) = std::sync::mpsc::channel();
            let recorder = Recorder(Arc::clone(&got));
            let mut sharded = Sharded::with_downstream(config(), shards, recorder, outputs);
            for (n, p) in packets.iter().enumerate() {
                sharded.push(&frame(n, p), &mut |_| {});
            }
            sharded.finish(&mut |_| {});
            let got = got.lock().unwrap();
            assert_eq!(one.len(), got.len(), "{shards} shards");
            for (i, (a, b)) in one.iter().zip(got.iter()).enumerate() {
                assert_eq!(a, b, "{shards} shards, event {i}");
            }
            let joined = sharded.joined.as_ref().expect("joined");
            let connections: u64 = joined
                .streams
                .iter()
                .map(|s| s.tcp_stats().connections)
                .sum();
            assert_eq!(connections, 40);
            assert_eq!(joined.hosts.count(), 47, "40 clients and 7 servers");
            // The pairs spread over the shards.
            let busy = joined
                .streams
                .iter()
                .filter(|s| s.tcp_stats().connections > 0);
            assert_eq!(busy.count(), shards, "{shards} shards");
        }
    }

    #[test]
    fn both_directions_of_a_pair_go_to_one_shard() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::7".parse().unwrap();
        for shards in 1..9 {
            assert_eq!(shard_of(a, b, shards), shard_of(b, a, shards));
            assert!(shard_of(a, b, shards) < shards);
        }
        // A thousand pairs spread evenly enough over four shards.
        let mut per_shard = [0; 4];
        for n in 0..1000u32 {
            let cpe = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            per_shard[shard_of(cpe, a, 4)] += 1;
        }
        assert!(per_shard.iter().all(|&n| n > 200), "{per_shard:?}");
    }
}
