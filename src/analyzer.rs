//! The pipeline: frames in, finished sessions and transactions out. It wires the stages together
//! (decode → reassemble → HTTP → sessions → transactions) and keeps the capture-wide counters; no protocol logic here.

use crate::capture::Frame;
use crate::findings::Thresholds;
use crate::http::{HttpConfig, HttpEvent, HttpLayer, HttpSink};
use crate::report::{CaptureSummary, Undecoded};
use crate::session::{Completed, SessionConfig, SessionTracker};
use crate::tcp::{Reassembler, ReassemblyConfig, StreamEvent, StreamSink};
use crate::transaction::{Output, TransactionTracker};
use crate::types::{Nanos, format_ts};
use crate::wire::{Decoded, Decoder};
use rustc_hash::FxHashSet;
use std::net::IpAddr;

/// Settings of every stage.
#[derive(Clone, Debug)]
pub struct AnalyzerConfig {
    pub reassembly: ReassemblyConfig,
    pub http: HttpConfig,
    pub session: SessionConfig,
    pub thresholds: Thresholds,
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
        }
    }
}

/// Hosts counted at most (the count saturates beyond).
const MAX_HOSTS: usize = 1 << 20;
/// How often (in capture time) timers run.
const TICK: Nanos = 1_000_000_000;

/// Capture-wide counters.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<Nanos>,
    pub last_ts: Option<Nanos>,
}

/// The analysis core: push frames, collect finished sessions.
pub struct Analyzer {
    decoder: Decoder,
    tcp: Reassembler,
    http: HttpLayer,
    sessions: SessionTracker,
    transactions: TransactionTracker,
    counters: Counters,
    hosts: FxHashSet<IpAddr>,
    next_tick: Option<Nanos>,
}

struct ToHttp<'a, F: FnMut(Output)> {
    http: &'a mut HttpLayer,
    sessions: &'a mut SessionTracker,
    transactions: &'a mut TransactionTracker,
    hosts: &'a mut FxHashSet<IpAddr>,
    out: &'a mut F,
}

struct ToSessions<'a, F: FnMut(Output)> {
    sessions: &'a mut SessionTracker,
    transactions: &'a mut TransactionTracker,
    out: &'a mut F,
}

impl<F: FnMut(Output)> StreamSink for ToHttp<'_, F> {
    fn on_stream(&mut self, ev: StreamEvent<'_>) {
        if let StreamEvent::Open(info) = &ev
            && self.hosts.len() < MAX_HOSTS
        {
            self.hosts.insert(info.client.ip());
            self.hosts.insert(info.server.ip());
        }
        let mut next = ToSessions {
            sessions: self.sessions,
            transactions: self.transactions,
            out: self.out,
        };
        self.http.on_stream(ev, &mut next);
    }
}

impl<F: FnMut(Output)> HttpSink for ToSessions<'_, F> {
    fn on_http(&mut self, ev: HttpEvent<'_>) {
        let (transactions, out) = (&mut *self.transactions, &mut *self.out);
        self.sessions
            .push(ev, &mut |item: Completed| transactions.push(item, out));
    }
}

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        Analyzer {
            decoder: Decoder::new(),
            tcp: Reassembler::new(cfg.reassembly),
            http: HttpLayer::new(cfg.http),
            sessions: SessionTracker::new(cfg.session),
            transactions: TransactionTracker::new(cfg.thresholds),
            counters: Counters::default(),
            hosts: FxHashSet::default(),
            next_tick: None,
        }
    }

    /// Feeds one frame; sessions that finished because of it (or of the time it carries) go
    /// to `out`.
    pub fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(frame.orig_len);
        c.first_ts = Some(c.first_ts.map_or(frame.ts, |t| t.min(frame.ts)));
        c.last_ts = Some(c.last_ts.map_or(frame.ts, |t| t.max(frame.ts)));

        if let Decoded::Tcp(seg) = self.decoder.decode(frame) {
            let mut sink = ToHttp {
                http: &mut self.http,
                sessions: &mut self.sessions,
                transactions: &mut self.transactions,
                hosts: &mut self.hosts,
                out,
            };
            self.tcp.push(&seg, &mut sink);
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
        let mut sink = ToHttp {
            http: &mut self.http,
            sessions: &mut self.sessions,
            transactions: &mut self.transactions,
            hosts: &mut self.hosts,
            out,
        };
        self.tcp.advance(now, &mut sink);
        let transactions = &mut self.transactions;
        self.sessions
            .advance(now, &mut |item: Completed| transactions.push(item, out));
        self.transactions.advance(now, out);
    }

    /// End of input: every open connection and session is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let mut sink = ToHttp {
            http: &mut self.http,
            sessions: &mut self.sessions,
            transactions: &mut self.transactions,
            hosts: &mut self.hosts,
            out,
        };
        self.tcp.finish(&mut sink);
        let transactions = &mut self.transactions;
        self.sessions
            .finish(&mut |item: Completed| transactions.push(item, out));
        self.transactions.finish(out);
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The `capture` part of the report, as of now.
    pub fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        let d = self.decoder.stats();
        let t = self.tcp.stats();
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
            http_messages: self.sessions.stats().http_messages,
            warnings,
        }
    }
}
