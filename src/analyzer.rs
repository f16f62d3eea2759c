//! The pipeline: frames in, finished sessions and transactions out. It wires the stages together
//! (decode → reassemble → HTTP → sessions → transactions) and keeps the capture-wide counters;
//! no protocol logic here.
//!
//! Two halves: the front (frame decoding, TCP reassembly, HTTP) runs on the caller's thread;
//! the back (CWMP decoding, sessions, transactions, findings) runs on the caller's thread too
//! with `threads = 1`, or on a worker thread fed by a bounded queue of HTTP events. Both
//! give the same outputs in the same order.

use crate::capture::Frame;
use crate::findings::{Judge, Output, Thresholds};
use crate::http::{HttpConfig, HttpEvent, HttpLayer};
use crate::report::{CaptureSummary, Undecoded};
use crate::session::{Completed, SessionConfig, SessionTracker};
use crate::tcp::{Reassembler, ReassemblyConfig, StreamEvent};
use crate::transaction::{Tracked, TransactionTracker};
use crate::types::{Nanos, format_ts};
use crate::wire::{Decoded, Decoder};
use rustc_hash::FxHashSet;
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Settings of every stage.
#[derive(Clone, Debug)]
pub struct AnalyzerConfig {
    pub reassembly: ReassemblyConfig,
    pub http: HttpConfig,
    pub session: SessionConfig,
    pub thresholds: Thresholds,
    /// 1: everything on the caller's thread; 2 or more: the back half on a worker thread.
    pub threads: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            reassembly: ReassemblyConfig::default(),
            // Only bodies that may be CWMP are stored; file transfers are counted.
            http: HttpConfig {
                keep_all_bodies: false,
                ..HttpConfig::default()
            },
            session: SessionConfig::default(),
            thresholds: Thresholds::default(),
            threads: 2,
        }
    }
}

/// Hosts counted at most (the count saturates beyond).
const MAX_HOSTS: usize = 1 << 20;
/// How often (in capture time) timers run.
const TICK: Nanos = 1_000_000_000;
/// HTTP events handed to the worker at once, and batches in flight.
const BATCH: usize = 256;
const BATCHES_IN_FLIGHT: usize = 8;

/// Capture-wide counters.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<Nanos>,
    pub last_ts: Option<Nanos>,
}

/// What the worker thread receives: the front half's HTTP events (they own their data), and
/// the capture clock.
#[allow(clippy::large_enum_variant)]
enum BackEvent {
    Http(HttpEvent),
    /// Capture time moved on.
    Advance(Nanos),
}

/// The back half: sessions, transactions, findings.
struct Back {
    sessions: SessionTracker,
    transactions: TransactionTracker,
    judge: Judge,
}

impl Back {
    fn on_http(&mut self, ev: HttpEvent, out: &mut impl FnMut(Output)) {
        let (transactions, judge) = (&mut self.transactions, &mut self.judge);
        let mut judged = |item: Tracked| judge.push(item, out);
        self.sessions.push(ev, &mut |item: Completed| {
            transactions.push(item, &mut judged)
        });
    }

    fn on_event(&mut self, ev: BackEvent, out: &mut impl FnMut(Output)) {
        match ev {
            BackEvent::Http(ev) => self.on_http(ev, out),
            BackEvent::Advance(now) => self.advance(now, out),
        }
    }

    fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        let (transactions, judge) = (&mut self.transactions, &mut self.judge);
        let mut judged = |item: Tracked| judge.push(item, out);
        self.sessions.advance(now, &mut |item: Completed| {
            transactions.push(item, &mut judged)
        });
        transactions.advance(now, &mut judged);
    }

    fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let (transactions, judge) = (&mut self.transactions, &mut self.judge);
        let mut judged = |item: Tracked| judge.push(item, out);
        self.sessions
            .finish(&mut |item: Completed| transactions.push(item, &mut judged));
        transactions.finish(&mut judged);
    }
}

/// The back half on a worker thread.
struct Worker {
    batches: SyncSender<Vec<BackEvent>>,
    outputs: Receiver<Output>,
    handle: JoinHandle<Back>,
    /// Events not yet sent.
    batch: Vec<BackEvent>,
}

/// Where the back half runs.
enum BackHalf {
    Inline(Back),
    Threaded(Worker),
    /// After `finish` joined the worker.
    Done(Back),
}

/// The analysis core: push frames, collect finished sessions, transactions and findings.
pub struct Analyzer {
    decoder: Decoder,
    tcp: Reassembler,
    http: HttpLayer,
    back: BackHalf,
    counters: Counters,
    hosts: FxHashSet<IpAddr>,
    next_tick: Option<Nanos>,
}

/// Hands one of the front half's HTTP events on: straight into the back half, or into the batch
/// for the worker.
fn to_back(back: &mut BackHalf, ev: HttpEvent, out: &mut impl FnMut(Output)) {
    match back {
        BackHalf::Inline(back) | BackHalf::Done(back) => back.on_http(ev, out),
        BackHalf::Threaded(worker) => {
            worker.batch.push(BackEvent::Http(ev));
            if worker.batch.len() >= BATCH {
                worker.send();
            }
        }
    }
}

/// Hands one reassembler event on to the HTTP stage (noting the hosts of new connections), and
/// what that completes on to the back half.
fn to_http(
    ev: StreamEvent<'_>,
    http: &mut HttpLayer,
    hosts: &mut FxHashSet<IpAddr>,
    back: &mut BackHalf,
    out: &mut impl FnMut(Output),
) {
    if let StreamEvent::Open(info) = &ev
        && hosts.len() < MAX_HOSTS
    {
        hosts.insert(info.client.ip());
        hosts.insert(info.server.ip());
    }
    http.push(ev, &mut |ev: HttpEvent| to_back(back, ev, out));
}

impl Worker {
    fn spawn(mut back: Back) -> Worker {
        let (batches, batch_rx) = sync_channel::<Vec<BackEvent>>(BATCHES_IN_FLIGHT);
        let (output_tx, outputs) = std::sync::mpsc::channel::<Output>();
        let handle = std::thread::spawn(move || {
            let mut out = |item: Output| {
                // The receiver lives as long as the analyzer; a send fails only while it is
                // being dropped, when the outputs no longer matter.
                let _ = output_tx.send(item);
            };
            for batch in batch_rx {
                for ev in batch {
                    back.on_event(ev, &mut out);
                }
            }
            back.finish(&mut out);
            back
        });
        Worker {
            batches,
            outputs,
            handle,
            batch: Vec::with_capacity(BATCH),
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A closed channel means the worker panicked; `finish` reports it.
        let _ = self.batches.send(batch);
    }

    /// Hands on whatever the worker finished so far.
    fn drain(&self, out: &mut impl FnMut(Output)) {
        while let Ok(item) = self.outputs.try_recv() {
            out(item);
        }
    }
}

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        let back = Back {
            sessions: SessionTracker::new(cfg.session),
            transactions: TransactionTracker::new(),
            judge: Judge::new(cfg.thresholds),
        };
        Analyzer {
            decoder: Decoder::new(),
            tcp: Reassembler::new(cfg.reassembly),
            http: HttpLayer::new(cfg.http),
            back: if cfg.threads > 1 {
                BackHalf::Threaded(Worker::spawn(back))
            } else {
                BackHalf::Inline(back)
            },
            counters: Counters::default(),
            hosts: FxHashSet::default(),
            next_tick: None,
        }
    }

    /// Feeds one frame; what finished because of it (or of the time it carries) goes to `out`
    /// (with a worker thread, possibly a little later: at a following call).
    pub fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(frame.orig_len);
        c.first_ts = Some(c.first_ts.map_or(frame.ts, |t| t.min(frame.ts)));
        c.last_ts = Some(c.last_ts.map_or(frame.ts, |t| t.max(frame.ts)));

        if let Decoded::Tcp(seg) = self.decoder.decode(frame) {
            let (http, hosts, back) = (&mut self.http, &mut self.hosts, &mut self.back);
            self.tcp
                .push(&seg, &mut |ev| to_http(ev, http, hosts, back, out));
        }
        match self.next_tick {
            Some(t) if frame.ts < t => {}
            _ => {
                self.advance(frame.ts, out);
                self.next_tick = Some(frame.ts + TICK);
            }
        }
    }

    /// Capture time moved on: releases idle connections and finishes waiting sessions.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        let (http, hosts, back) = (&mut self.http, &mut self.hosts, &mut self.back);
        self.tcp
            .advance(now, &mut |ev| to_http(ev, http, hosts, back, out));
        match &mut self.back {
            BackHalf::Inline(back) | BackHalf::Done(back) => back.advance(now, out),
            BackHalf::Threaded(worker) => {
                worker.batch.push(BackEvent::Advance(now));
                worker.send();
                worker.drain(out);
            }
        }
    }

    /// End of input: every open connection and session is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let (http, hosts, back) = (&mut self.http, &mut self.hosts, &mut self.back);
        self.tcp
            .finish(&mut |ev| to_http(ev, http, hosts, back, out));
        let back = std::mem::replace(
            &mut self.back,
            BackHalf::Inline(Back {
                sessions: SessionTracker::new(SessionConfig::default()),
                transactions: TransactionTracker::new(),
                judge: Judge::new(Thresholds::default()),
            }),
        );
        self.back = match back {
            BackHalf::Inline(mut back) | BackHalf::Done(mut back) => {
                back.finish(out);
                BackHalf::Done(back)
            }
            BackHalf::Threaded(mut worker) => {
                worker.send();
                let Worker {
                    batches,
                    outputs,
                    handle,
                    ..
                } = worker;
                // Closing the queue lets the worker finish.
                drop(batches);
                let back = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                while let Ok(item) = outputs.try_recv() {
                    out(item);
                }
                BackHalf::Done(back)
            }
        };
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The `capture` part of the report, as of now (complete after `finish`).
    pub fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        let d = self.decoder.stats();
        let t = self.tcp.stats();
        let http_messages = match &self.back {
            BackHalf::Inline(back) | BackHalf::Done(back) => back.sessions.stats().http_messages,
            BackHalf::Threaded(_) => 0,
        };
        CaptureSummary {
            files,
            packets: self.counters.packets,
            bytes: self.counters.bytes,
            start: self.counters.first_ts.map(format_ts),
            end: self.counters.last_ts.map(format_ts),
            tcp_gaps: t.connections_with_gaps,
            tcp_gap_bytes: t.gap_bytes,
            undecoded: Undecoded {
                non_ip: d.non_ip,
                non_tcp: d.non_tcp,
                truncated: d.truncated,
            },
            hosts: self.hosts.len() as u64,
            tcp_connections: t.connections,
            http_messages,
            warnings,
        }
    }
}
