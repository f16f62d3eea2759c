//! The core wired together, synchronous and on the caller's thread: frames in, finished
//! sessions, transactions and findings ([`Output`]) out. It only connects the stages and keeps
//! the capture-wide counters; no protocol logic here, and no threads (those are in
//! `crate::threads`).
//!
//! Two halves, each handing on through a closure like every stage:
//!
//! - [`Front`]: [`Frame`] in, [`HttpEvent`] out: frame decoding (`wire`), TCP reassembly
//!   (`tcp`), TLS (`tls`: clear connections pass straight through) and HTTP (`http`), plus
//!   the packet, byte and host counts;
//! - [`Back`]: [`HttpEvent`] in, [`Output`] out: sessions (`session`, which decodes CWMP),
//!   transactions (`transaction`) and the findings judge (`findings`).
//!
//! [`Pipeline`] is both halves inline, with the capture clock ([`Ticker`]) that runs the
//! stages' timers as frames arrive.

use crate::cwmp::DecodeLimits;
use crate::findings::{Judge, Output, Thresholds};
use crate::http::{HttpConfig, HttpEvent, HttpLayer};
use crate::limits::{Limit, LimitCounts, Limits};
use crate::report::{CaptureSummary, Counts, TlsCounts, Undecoded};
use crate::session::{Completed, CpeDirectory, DecodedBody, SessionConfig, SessionTracker};
use crate::shard::{Position, ShardSpec};
use crate::tcp::{Reassembler, ReassemblyConfig, ReassemblyStats};
use crate::tls::{TlsEvent, TlsKeys, TlsLayer};
use crate::transaction::{Tracked, TransactionConfig, TransactionTracker};
use crate::types::{ConnId, Frame, Nanos, format_ts};
use crate::wire::{Decoded, Decoder, DecoderConfig, KindCounts, TcpSegment};
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Settings of every stage. Every resource limit among them is named in [`crate::limits`];
/// [`PipelineConfig::with_limits`] sets them all from a [`Limits`].
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub decoder: DecoderConfig,
    pub reassembly: ReassemblyConfig,
    pub http: HttpConfig,
    pub session: SessionConfig,
    pub transaction: TransactionConfig,
    pub thresholds: Thresholds,
    /// Distinct addresses counted in `capture.hosts` (`hosts`).
    pub max_hosts: usize,
    /// CPEs the findings stage remembers across sessions (`cpe-history`).
    pub findings_max_cpes: usize,
    /// Keys for TLS decryption (key logs, RSA keys); never printed.
    pub tls: Arc<TlsKeys>,
    /// Every this much capture time, the sessions still open are handed on as
    /// [`Output::Open`] (for a live view); `None`: never.
    pub open_every: Option<Nanos>,
    /// Only the CPEs of this shard get past the session stage (`--shard`); `None`: all.
    pub shard: Option<ShardSpec>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            decoder: DecoderConfig::default(),
            reassembly: ReassemblyConfig::default(),
            // Only bodies that may be CWMP are stored; file transfers are counted.
            http: HttpConfig {
                keep_all_bodies: false,
                ..HttpConfig::default()
            },
            session: SessionConfig::default(),
            transaction: TransactionConfig::default(),
            thresholds: Thresholds::default(),
            max_hosts: Limit::Hosts.default_usize(),
            findings_max_cpes: Limit::CpeHistory.default_usize(),
            tls: Arc::default(),
            open_every: None,
            shard: None,
        }
    }
}

impl PipelineConfig {
    /// These settings with every resource limit taken from `limits`.
    pub fn with_limits(mut self, limits: &Limits) -> Self {
        let n = |limit| limits.usize(limit);
        self.decoder.max_fragment_datagrams = n(Limit::IpFragments);
        self.decoder.max_fragment_bytes = n(Limit::IpFragmentBytes);
        let tcp = &mut self.reassembly;
        tcp.max_connections = n(Limit::OpenConnections);
        tcp.max_half_open = n(Limit::HalfOpenConnections);
        tcp.max_pending_per_dir = n(Limit::StreamBufferBytes);
        tcp.max_pending_segments_per_dir = n(Limit::StreamBufferSegments);
        tcp.max_pending_total = n(Limit::TotalBufferBytes);
        self.max_hosts = n(Limit::Hosts);
        let http = &mut self.http;
        http.max_header_bytes = n(Limit::HttpHeaderBytes);
        http.max_headers = n(Limit::HttpHeaders);
        http.max_body = n(Limit::HttpBodyBytes);
        http.max_pending_requests = n(Limit::HttpPendingRequests);
        let decode = &mut self.session.decode;
        decode.max_depth = n(Limit::XmlDepth);
        decode.max_elements = n(Limit::XmlElements);
        decode.max_envelopes = n(Limit::XmlEnvelopes);
        decode.max_args = n(Limit::RpcArgs);
        decode.max_value_len = n(Limit::XmlValueBytes);
        let session = &mut self.session;
        session.max_open_sessions = n(Limit::OpenSessions);
        session.max_messages_per_session = n(Limit::SessionMessages);
        session.max_unassigned_messages = n(Limit::UnassignedMessages);
        session.max_pending_connection_requests = n(Limit::PendingConnectionRequests);
        session.max_known_endpoints = n(Limit::KnownEndpoints);
        session.max_raw_body = n(Limit::RawBodyBytes);
        session.max_cpes = n(Limit::CpeHistory);
        self.transaction.max_open = n(Limit::OpenTransactions);
        self.transaction.max_pending_exchanges = n(Limit::PendingExchanges);
        self.transaction.max_cpes = n(Limit::CpeHistory);
        self.findings_max_cpes = n(Limit::CpeHistory);
        self
    }
}

/// HyperLogLog registers of the estimate: 2^14 (16 KiB), a standard error of 0.8 %.
const HOST_REGISTER_BITS: u32 = 14;

/// Distinct IP addresses, for `capture.hosts`: exact in a set up to `max` (`hosts`), then
/// estimated (HyperLogLog) in fixed memory, so an endless input does not grow a set of every
/// address it saw. Passing to the estimate counts as the limit reached (once).
#[derive(Debug, Default)]
pub(crate) struct HostCount {
    exact: FxHashSet<IpAddr>,
    max: usize,
    /// Once the set is full: the estimate's registers (the set is then dropped).
    registers: Option<Box<[u8]>>,
}

impl HostCount {
    /// An empty count, exact up to `max` addresses.
    pub(crate) fn new(max: usize) -> Self {
        HostCount {
            max,
            ..HostCount::default()
        }
    }

    fn insert(&mut self, ip: IpAddr) {
        if let Some(registers) = &mut self.registers {
            observe(registers, ip);
            return;
        }
        self.exact.insert(ip);
        if self.exact.len() > self.max {
            let mut registers = vec![0u8; 1 << HOST_REGISTER_BITS].into_boxed_slice();
            for &ip in &self.exact {
                observe(&mut registers, ip);
            }
            self.exact = FxHashSet::default();
            self.registers = Some(registers);
        }
    }

    /// Addresses seen: exact, or the estimate (rounded) once the set was full.
    pub(crate) fn count(&self) -> u64 {
        match &self.registers {
            None => self.exact.len() as u64,
            Some(registers) => estimate(registers).round() as u64,
        }
    }
}

/// A well-mixed 64-bit hash of an address (FxHash then the SplitMix64 finalizer: the estimate
/// reads its leading bits).
fn mixed_hash(ip: IpAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    ip.hash(&mut h);
    crate::shard::mix(h.finish())
}

/// Notes one address in HyperLogLog registers: the first bits pick the register, which keeps
/// the longest run of leading zeros (plus one) seen in the rest.
fn observe(registers: &mut [u8], ip: IpAddr) {
    let hash = mixed_hash(ip);
    let index = (hash >> (64 - HOST_REGISTER_BITS)) as usize;
    let rest = hash << HOST_REGISTER_BITS;
    let rank = (rest.leading_zeros() + 1).min(64 - HOST_REGISTER_BITS + 1) as u8;
    if let Some(r) = registers.get_mut(index) {
        *r = (*r).max(rank);
    }
}

/// The HyperLogLog estimate of distinct values from its registers (with linear counting while
/// registers are still empty).
fn estimate(registers: &[u8]) -> f64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| (-f64::from(r)).exp2()).sum();
    let raw = alpha * m * m / sum;
    let empty = registers.iter().filter(|&&r| r == 0).count();
    if raw <= 2.5 * m && empty > 0 {
        m * (m / empty as f64).ln()
    } else {
        raw
    }
}
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

/// When the stages' timers run: at the first frame, then at the first frame a second or more
/// (of capture time) after the last run.
#[derive(Clone, Debug, Default)]
pub struct Ticker {
    next: Option<Nanos>,
}

impl Ticker {
    /// Whether the timers are due at the time of a frame; if so, the next run is a tick later.
    pub fn due(&mut self, ts: Nanos) -> bool {
        match self.next {
            Some(t) if ts < t => false,
            _ => {
                self.next = Some(ts.saturating_add(TICK));
                true
            }
        }
    }
}

/// The stages of the front half after frame decoding: TCP segments in, [`HttpEvent`] out
/// (reassemble → TLS → HTTP). All their state is per connection, apart from the capture-wide
/// limits of the reassembler and the TLS session cache, so they can run as one per group of
/// address pairs (`crate::threads`).
pub struct Streams {
    tcp: Reassembler,
    tls: TlsLayer,
    http: HttpLayer,
}

/// Hands one TLS stage event on to the HTTP stage.
fn to_http(ev: TlsEvent<'_>, http: &mut HttpLayer, out: &mut impl FnMut(HttpEvent)) {
    match ev {
        TlsEvent::Stream(ev) => http.push(ev, out),
        TlsEvent::Summary { conn, summary } => http.note_tls(conn, summary),
    }
}

impl Streams {
    /// The stages with the settings of `cfg` (its reassembly, HTTP and TLS).
    pub fn new(cfg: &PipelineConfig) -> Self {
        Streams {
            tcp: Reassembler::new(cfg.reassembly.clone()),
            tls: TlsLayer::new(Arc::clone(&cfg.tls)),
            http: HttpLayer::new(HttpConfig {
                digest_only_for: cfg.shard,
                ..cfg.http.clone()
            }),
        }
    }

    /// Feeds one segment; the HTTP events it completes go to `out`.
    pub fn push(&mut self, seg: &TcpSegment<'_>, out: &mut impl FnMut(HttpEvent)) {
        let (tls, http) = (&mut self.tls, &mut self.http);
        self.tcp.push(seg, &mut |ev| {
            tls.push(ev, &mut |ev| to_http(ev, http, out))
        });
    }

    /// Capture time moved on: releases idle connections.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(HttpEvent)) {
        while self.release_due(now, out).is_some() {}
    }

    /// Releases the connection due first at `now`, if any (see [`Reassembler::release_due`]),
    /// and returns the deadline and id it was released by.
    pub fn release_due(
        &mut self,
        now: Nanos,
        out: &mut impl FnMut(HttpEvent),
    ) -> Option<(Nanos, ConnId)> {
        let (tls, http) = (&mut self.tls, &mut self.http);
        self.tcp.release_due(now, &mut |ev| {
            tls.push(ev, &mut |ev| to_http(ev, http, out))
        })
    }

    /// End of input: every open connection is finished, in the order they opened.
    pub fn finish(&mut self, out: &mut impl FnMut(HttpEvent)) {
        let (tls, http) = (&mut self.tls, &mut self.http);
        self.tcp
            .finish(&mut |ev| tls.push(ev, &mut |ev| to_http(ev, http, out)));
    }

    /// Key log text found in the capture, for the TLS connections that follow.
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        self.tls.add_embedded_keylog(text);
    }

    /// The resource limits these stages reached so far, by limit.
    pub fn limits_hit(&self) -> LimitCounts {
        let mut counts = self.tcp.stats().limits_hit;
        counts.merge(&self.http.stats().limits_hit);
        counts
    }

    /// The reassembler's whole-run counters.
    pub fn tcp_stats(&self) -> &ReassemblyStats {
        self.tcp.stats()
    }
}

impl Counters {
    /// Counts one frame.
    pub fn count(&mut self, frame: &Frame<'_>) {
        self.packets += 1;
        self.bytes += u64::from(frame.orig_len);
        self.first_ts = Some(self.first_ts.map_or(frame.ts, |t| t.min(frame.ts)));
        self.last_ts = Some(self.last_ts.map_or(frame.ts, |t| t.max(frame.ts)));
    }
}

/// Counts the two hosts of a connection that opened.
pub(crate) fn count_hosts(ev: &HttpEvent, hosts: &mut HostCount) {
    if let HttpEvent::ConnOpen(info) = ev {
        hosts.insert(info.client.ip());
        hosts.insert(info.server.ip());
    }
}

/// The front half: [`Frame`] in, [`HttpEvent`] out (decode → reassemble → TLS → HTTP), with
/// the capture-wide counts.
pub struct Front {
    decoder: Decoder,
    streams: Streams,
    counters: Counters,
    hosts: HostCount,
}

impl Front {
    /// The front half with the settings of `cfg` (its decoder, reassembly, HTTP and TLS).
    pub fn new(cfg: &PipelineConfig) -> Self {
        Front {
            decoder: Decoder::with_config(&cfg.decoder),
            streams: Streams::new(cfg),
            counters: Counters::default(),
            hosts: HostCount::new(cfg.max_hosts),
        }
    }

    /// The parts the `capture` summary is made of.
    pub(crate) fn parts(&self) -> FrontParts<'_> {
        FrontParts {
            decoder: &self.decoder,
            streams: std::slice::from_ref(&self.streams),
            counters: &self.counters,
            hosts: &self.hosts,
        }
    }

    /// Feeds one frame (it is counted); the HTTP events it completes go to `out`.
    pub fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(HttpEvent)) {
        self.counters.count(frame);
        // Only segments go on: a mirrored copy (`Decoded::MirrorCopy`) is counted by the
        // decoder and never reassembled, so it is never taken for a retransmission.
        if let Decoded::Tcp(seg) = self.decoder.decode(frame) {
            let hosts = &mut self.hosts;
            self.streams.push(&seg, &mut |ev| {
                count_hosts(&ev, hosts);
                out(ev)
            });
        }
    }

    /// Capture time moved on: releases idle connections.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(HttpEvent)) {
        self.streams.advance(now, out);
    }

    /// End of input: every open connection is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(HttpEvent)) {
        self.streams.finish(out);
    }

    /// Key log text found in the capture (pcapng Decryption Secrets Block), for the TLS
    /// connections that follow.
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        self.streams.add_embedded_keylog(text);
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// The front half's parts the `capture` summary is made of: on one thread, or with the
/// [`Streams`] split over several.
pub(crate) struct FrontParts<'a> {
    pub decoder: &'a Decoder,
    pub streams: &'a [Streams],
    pub counters: &'a Counters,
    pub hosts: &'a HostCount,
}

impl FrontParts<'_> {
    /// The limits these parts reached.
    fn limits_hit(&self) -> LimitCounts {
        let mut counts = *self.decoder.limits_hit();
        for s in self.streams {
            counts.merge(&s.limits_hit());
        }
        counts.add_n(Limit::Hosts, u64::from(self.hosts.registers.is_some()));
        counts
    }
}

/// The `capture` part of the report from the front half's parts and, once it has finished
/// (or when it runs on this thread), the back half's counts.
pub(crate) fn capture_summary_of(
    parts: FrontParts<'_>,
    back: Option<&Back>,
    files: Vec<String>,
    warnings: Vec<String>,
) -> CaptureSummary {
    let mut limits = parts.limits_hit();
    let FrontParts {
        decoder,
        streams,
        counters,
        hosts,
    } = parts;
    let d = decoder.stats();
    let mut t = ReassemblyStats::default();
    for s in streams {
        t.merge(s.tcp_stats());
    }
    let mut summary = CaptureSummary {
        files,
        packets: counters.packets,
        bytes: counters.bytes,
        start: counters.first_ts.map(format_ts),
        end: counters.last_ts.map(format_ts),
        tcp_gaps: t.connections_with_gaps,
        tcp_gap_bytes: t.gap_bytes,
        tcp_conflicts: t.connections_with_conflicts,
        tcp_conflicting_bytes: t.conflicting_bytes,
        undecoded: Undecoded {
            non_ip: d.non_ip,
            non_tcp: d.non_tcp,
            truncated: d.truncated,
            non_ip_kinds: largest_first(&d.non_ip_kinds),
            non_tcp_kinds: largest_first(&d.non_tcp_kinds),
        },
        encapsulations: Counts(
            d.encapsulations
                .seen()
                .map(|(e, n)| (e.name().to_owned(), n))
                .collect(),
        ),
        mirror_duplicates: d.mirror_duplicates,
        hosts: hosts.count(),
        tcp_connections: t.connections,
        http_messages: back.map_or(0, Back::http_messages),
        other_tls_connections: 0,
        tls: TlsCounts::default(),
        warnings,
        limits_hit: Counts::default(),
        shard_limits_hit: None,
    };
    if let Some(back) = back {
        summary.other_tls_connections = back.other_tls_connections();
        summary.tls = back.tls_counts();
        limits.merge(&back.limits_hit());
        summary.shard_limits_hit = back.shard_limits_hit().map(|l| Counts::of_limits(&l));
    }
    summary.limits_hit = Counts::of_limits(&limits);
    summary
}

/// Frames by kind for the report: largest count first (then by name), and `other` (the kinds
/// beyond the counter's bound) last.
fn largest_first<K: Copy + Eq + std::fmt::Display>(kinds: &KindCounts<K>) -> Counts {
    let mut counts: Vec<(String, u64)> = kinds
        .kinds()
        .iter()
        .map(|(kind, n)| (kind.to_string(), *n))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if kinds.other() > 0 {
        counts.push(("other".to_owned(), kinds.other()));
    }
    Counts(counts)
}

/// The back half: [`HttpEvent`] in, [`Output`] out (sessions → transactions → findings).
/// [`Back::into_stages`] parts it in two, for the later stages to run on another thread.
pub struct Back {
    sessions: SessionStage,
    later: Later,
}

/// The back half's first stage (sessions) on its own: [`HttpEvent`] in, [`LaterEvent`] out.
pub struct SessionStage {
    tracker: SessionTracker,
    /// How often the open sessions are handed on, and when next.
    open_every: Option<Nanos>,
    next_open: Nanos,
}

/// The back half's later stages (transactions, then the judge) on their own: [`LaterEvent`]
/// in, [`Output`] out.
pub struct LaterStages(Later);

/// What the session stage hands the later stages, in the order they are to see it.
#[allow(clippy::large_enum_variant)]
pub enum LaterEvent {
    Item(Completed),
    /// A timer run: `Some(now)` as capture time moves on, `None` at the end of input.
    Timers(Option<Nanos>),
    /// An output of the session stage's own (the open sessions), to be handed on in its place
    /// among the later stages' outputs.
    Pass(Output),
}

/// The stages after the session stage, and in a shard run which of the session stage's items
/// go to them.
struct Later {
    transactions: TransactionTracker,
    judge: Judge,
    shard: Option<ShardState>,
}

/// What a shard run keeps to pass on only its CPEs' items and to place each output in the
/// whole run's order ([`Position`]). The session stage before it runs whole in every shard,
/// so its items come in the same order everywhere and are numbered alike.
struct ShardState {
    spec: ShardSpec,
    /// Items of the session stage and timer runs of the transaction stage so far.
    trigger: u64,
    /// The CPE last seen at each address, as the judge records it but over every shard's
    /// sessions: a connection of no session goes to the shard where the judge knows its CPE.
    directory: CpeDirectory,
    /// Open transactions by number: the trigger that created them.
    created: FxHashMap<u64, u64>,
    /// Transactions created by the current trigger and already handed on.
    emitted_new: Vec<u64>,
}

impl ShardState {
    /// Whether this item concerns a CPE of this shard (recording the CPEs of sessions).
    fn keeps(&mut self, item: &Completed) -> bool {
        let ip = match item {
            Completed::ConnectionOpened(info) => info.client.ip(),
            Completed::Session(s) => {
                if let Some(device) = &s.device {
                    self.directory.record(s.cpe_ip, device);
                }
                s.cpe_ip
            }
            Completed::Exchange(x) => x.client.ip(),
            // The CPE is the client (its SYN) or the server (a Connection Request): the
            // judge takes the first of the two it knows.
            Completed::Connection(c) => [c.client.ip(), c.server.ip()]
                .into_iter()
                .find(|&ip| self.directory.get(ip).is_some())
                .unwrap_or(c.client.ip()),
            Completed::OrphanConnectionRequest(cr) => cr.cpe.ip(),
        };
        self.spec.owns(ip)
    }

    /// Hands on `item` preceded by its position: `order` as given, `created` for a
    /// transaction (one numbered `first_new` or later was created by the current trigger).
    fn emit(
        &mut self,
        item: Output,
        order: [u64; 3],
        first_new: u64,
        out: &mut impl FnMut(Output),
    ) {
        let created = match &item {
            Output::Transaction(t) => {
                let trigger = match self.created.remove(&t.number) {
                    Some(trigger) => trigger,
                    None if t.number >= first_new => {
                        self.emitted_new.push(t.number);
                        self.trigger
                    }
                    None => 0,
                };
                Some([trigger, t.number])
            }
            _ => None,
        };
        out(Output::Position(Position { order, created }));
        out(item);
    }
}

impl Later {
    fn new(
        transactions: TransactionTracker,
        judge: Judge,
        shard: Option<ShardSpec>,
        max_cpes: usize,
    ) -> Self {
        Later {
            transactions,
            judge,
            shard: shard.map(|spec| ShardState {
                spec,
                trigger: 0,
                directory: CpeDirectory::new(max_cpes),
                created: FxHashMap::default(),
                emitted_new: Vec::new(),
            }),
        }
    }

    /// One item of the session stage on to the transactions and the judge: in a shard run,
    /// only the items of this shard's CPEs, each output preceded by its position.
    fn push(&mut self, item: Completed, out: &mut impl FnMut(Output)) {
        let (transactions, judge) = (&mut self.transactions, &mut self.judge);
        let Some(shard) = &mut self.shard else {
            return transactions.push(item, &mut |t| judge.push(t, out));
        };
        shard.trigger += 1;
        if !shard.keeps(&item) {
            return;
        }
        let (trigger, first_new) = (shard.trigger, transactions.next_number());
        let mut rank = 0;
        transactions.push(item, &mut |t| {
            judge.push(t, &mut |o| {
                rank += 1;
                shard.emit(o, [trigger, 0, rank], first_new, out)
            })
        });
        for number in first_new..transactions.next_number() {
            if !shard.emitted_new.contains(&number) {
                shard.created.insert(number, trigger);
            }
        }
        shard.emitted_new.clear();
    }

    /// A timer run of the transaction stage (`finish`: the last one): in a shard run, the
    /// transactions it releases are placed by the order of their creation.
    fn run_timers(&mut self, now: Option<Nanos>, out: &mut impl FnMut(Output)) {
        let (transactions, judge) = (&mut self.transactions, &mut self.judge);
        let Some(shard) = &mut self.shard else {
            let mut judged = |t: Tracked| judge.push(t, out);
            return match now {
                Some(now) => transactions.advance(now, &mut judged),
                None => transactions.finish(&mut judged),
            };
        };
        shard.trigger += 1;
        let (trigger, first_new) = (shard.trigger, transactions.next_number());
        let mut rank = 0;
        let mut judged = |t: Tracked| {
            judge.push(t, &mut |o| {
                rank += 1;
                let order = match &o {
                    Output::Transaction(t) => {
                        let created = shard.created.get(&t.number).copied().unwrap_or(0);
                        [trigger, created, t.number]
                    }
                    _ => [trigger, 0, rank],
                };
                shard.emit(o, order, first_new, out)
            })
        };
        match now {
            Some(now) => transactions.advance(now, &mut judged),
            None => transactions.finish(&mut judged),
        }
    }

    /// One event of the session stage.
    fn apply(&mut self, ev: LaterEvent, out: &mut impl FnMut(Output)) {
        match ev {
            LaterEvent::Item(item) => self.push(item, out),
            LaterEvent::Timers(now) => self.run_timers(now, out),
            LaterEvent::Pass(output) => out(output),
        }
    }

    /// The limits reached by these stages (in a shard run, over this shard's CPEs only).
    fn limits_hit(&self) -> LimitCounts {
        let mut counts = *self.transactions.limits_hit();
        counts.merge(&self.judge.limits_hit());
        counts
    }
}

/// Open sessions handed on at most in one [`Output::Open`] (the most recent).
pub const MAX_OPEN_SHOWN: usize = 1000;

impl Back {
    /// The back half with these session settings and thresholds, and the default limits of
    /// the later stages.
    pub fn new(session: SessionConfig, thresholds: Thresholds) -> Self {
        Back {
            sessions: SessionStage::new(SessionTracker::new(session), None),
            later: Later::new(
                TransactionTracker::new(),
                Judge::new(thresholds),
                None,
                Limit::CpeHistory.default_usize(),
            ),
        }
    }

    /// The back half with the settings of `cfg`.
    pub fn with_config(cfg: &PipelineConfig) -> Self {
        Back {
            sessions: SessionStage::new(SessionTracker::new(cfg.session.clone()), cfg.open_every),
            later: Later::new(
                TransactionTracker::with_config(cfg.transaction.clone()),
                Judge::with_max_cpes(cfg.thresholds.clone(), cfg.findings_max_cpes),
                cfg.shard,
                cfg.findings_max_cpes,
            ),
        }
    }

    /// The two stages apart, to run on two threads: what the first hands on, given in order
    /// to the second, gives the outputs of the whole.
    pub fn into_stages(self) -> (SessionStage, LaterStages) {
        (self.sessions, LaterStages(self.later))
    }

    /// The back half again from its two stages (for its counts once both have finished).
    pub fn from_stages(sessions: SessionStage, later: LaterStages) -> Self {
        Back {
            sessions,
            later: later.0,
        }
    }

    /// The resource limits this half reached so far, by limit.
    pub fn limits_hit(&self) -> LimitCounts {
        let mut counts = self.sessions.tracker.limits_hit();
        counts.merge(&self.later.limits_hit());
        counts
    }

    /// In a shard run, the limits reached over this shard's CPEs alone (those of the stages
    /// after the session stage; the others are the whole run's); `None` otherwise.
    pub fn shard_limits_hit(&self) -> Option<LimitCounts> {
        self.later.shard.as_ref().map(|_| self.later.limits_hit())
    }

    /// Hands on the open sessions every `every` of capture time (see [`Output::Open`]).
    pub fn with_open_every(mut self, every: Option<Nanos>) -> Self {
        self.sessions.open_every = every;
        self
    }

    /// The limits the session stage decodes CWMP bodies with (for [`DecodedBody::of`] on
    /// another thread).
    pub fn decode_limits(&self) -> DecodeLimits {
        self.sessions.decode_limits()
    }

    /// As [`Back::push`], with the body of the event's message decoded ahead.
    pub fn push_decoded(&mut self, ev: HttpEvent, body: DecodedBody, out: &mut impl FnMut(Output)) {
        let later = &mut self.later;
        self.sessions
            .push_decoded(ev, body, &mut |ev| later.apply(ev, out));
    }

    /// Feeds one HTTP event; what finishes because of it goes to `out`.
    pub fn push(&mut self, ev: HttpEvent, out: &mut impl FnMut(Output)) {
        let later = &mut self.later;
        self.sessions.push(ev, &mut |ev| later.apply(ev, out));
    }

    /// Capture time moved on: finishes waiting sessions and transactions.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        let later = &mut self.later;
        self.sessions.advance(now, &mut |ev| later.apply(ev, out));
    }

    /// Hands on the sessions open now as [`Output::Open`], if they are wanted at all (the
    /// shell asks when the source is quiet, so a live view shows what waits).
    pub fn report_open(&mut self, out: &mut impl FnMut(Output)) {
        let later = &mut self.later;
        self.sessions.report_open(&mut |ev| later.apply(ev, out));
    }

    /// End of input: every open session and transaction is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let later = &mut self.later;
        self.sessions.finish(&mut |ev| later.apply(ev, out));
    }

    /// HTTP messages the session stage received so far.
    pub fn http_messages(&self) -> u64 {
        self.sessions.tracker.stats().http_messages
    }

    /// Encrypted connections to no known ACS or file server, so far.
    pub fn other_tls_connections(&self) -> u64 {
        self.sessions.tracker.stats().other_tls_connections
    }

    /// TLS connections to the ACS and file servers, decrypted or not, so far.
    pub fn tls_counts(&self) -> TlsCounts {
        let s = self.sessions.tracker.stats();
        TlsCounts::new(s.tls_decrypted, &s.tls_undecrypted)
    }
}

impl SessionStage {
    fn new(tracker: SessionTracker, open_every: Option<Nanos>) -> Self {
        SessionStage {
            tracker,
            open_every,
            next_open: 0,
        }
    }

    /// The limits CWMP bodies are decoded with (for [`DecodedBody::of`] on another thread).
    pub fn decode_limits(&self) -> DecodeLimits {
        self.tracker.decode_limits()
    }

    /// As [`SessionStage::push`], with the body of the event's message decoded ahead.
    pub fn push_decoded(
        &mut self,
        ev: HttpEvent,
        body: DecodedBody,
        out: &mut impl FnMut(LaterEvent),
    ) {
        self.tracker
            .push_decoded(ev, body, &mut |item| out(LaterEvent::Item(item)));
    }

    /// Feeds one HTTP event; what finishes because of it goes to `out`.
    pub fn push(&mut self, ev: HttpEvent, out: &mut impl FnMut(LaterEvent)) {
        self.tracker
            .push(ev, &mut |item| out(LaterEvent::Item(item)));
    }

    /// Capture time moved on: finishes waiting sessions, then runs the later stages' timers.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(LaterEvent)) {
        self.tracker
            .advance(now, &mut |item| out(LaterEvent::Item(item)));
        out(LaterEvent::Timers(Some(now)));
        if let Some(every) = self.open_every
            && now >= self.next_open
        {
            self.next_open = now.saturating_add(every);
            self.report_open(out);
        }
    }

    /// The sessions open now, if they are wanted at all (see [`Back::report_open`]).
    pub fn report_open(&mut self, out: &mut impl FnMut(LaterEvent)) {
        if self.open_every.is_some() {
            out(LaterEvent::Pass(Output::Open(
                self.tracker.open_snapshot(MAX_OPEN_SHOWN),
            )));
        }
    }

    /// End of input: every open session is finished, then the later stages' last timer run.
    pub fn finish(&mut self, out: &mut impl FnMut(LaterEvent)) {
        self.tracker.finish(&mut |item| out(LaterEvent::Item(item)));
        out(LaterEvent::Timers(None));
        if self.open_every.is_some() {
            out(LaterEvent::Pass(Output::Open(Vec::new())));
        }
    }
}

impl LaterStages {
    /// One event of the session stage; what it finishes goes to `out`.
    pub fn push(&mut self, ev: LaterEvent, out: &mut impl FnMut(Output)) {
        self.0.apply(ev, out);
    }
}

/// The whole core on the caller's thread: push frames, collect finished sessions, transactions
/// and findings.
pub struct Pipeline {
    front: Front,
    back: Back,
    ticker: Ticker,
}

impl Pipeline {
    pub fn new(cfg: PipelineConfig) -> Self {
        Pipeline {
            front: Front::new(&cfg),
            back: Back::with_config(&cfg),
            ticker: Ticker::default(),
        }
    }

    /// Feeds one frame; what finished because of it (or of the time it carries) goes to `out`.
    pub fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.push(frame, &mut |ev| back.push(ev, out));
        if self.ticker.due(frame.ts) {
            self.advance(frame.ts, out);
        }
    }

    /// Capture time moved on: releases idle connections and finishes waiting sessions.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.advance(now, &mut |ev| back.push(ev, out));
        self.back.advance(now, out);
    }

    /// End of input: every open connection and session is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.finish(&mut |ev| back.push(ev, out));
        self.back.finish(out);
    }

    /// Hands on the sessions open now (see [`Back::report_open`]).
    pub fn report_open(&mut self, out: &mut impl FnMut(Output)) {
        self.back.report_open(out);
    }

    /// Key log text found in the capture (see [`Front::add_embedded_keylog`]).
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        self.front.add_embedded_keylog(text);
    }

    pub fn counters(&self) -> &Counters {
        self.front.counters()
    }

    /// The `capture` part of the report, as of now (complete after `finish`).
    pub fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        capture_summary_of(self.front.parts(), Some(&self.back), files, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_limits_table_s() {
        let default = PipelineConfig::default();
        let from_table = PipelineConfig::default().with_limits(&Limits::default());
        assert_eq!(format!("{default:?}"), format!("{from_table:?}"));
    }

    #[test]
    fn every_limit_sets_a_setting() {
        let default = format!("{:?}", PipelineConfig::default());
        for limit in Limit::ALL {
            let mut limits = Limits::default();
            limits.set(limit, 987_654_321);
            let set = format!("{:?}", PipelineConfig::default().with_limits(&limits));
            assert_ne!(set, default, "{limit}");
            assert!(set.contains("987654321"), "{limit}");
        }
    }

    use std::net::{Ipv4Addr, Ipv6Addr};

    const EXACT_HOSTS: usize = 1000;

    fn host_count() -> HostCount {
        HostCount {
            max: EXACT_HOSTS,
            ..HostCount::default()
        }
    }

    fn v4(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn hosts_are_exact_up_to_the_bound() {
        let mut h = host_count();
        for round in 0..3 {
            for n in 0..EXACT_HOSTS as u32 {
                h.insert(v4(n));
            }
            assert_eq!(h.count(), EXACT_HOSTS as u64, "round {round}");
        }
        assert!(h.registers.is_none());
        // One more: from now on an estimate.
        h.insert(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(h.registers.is_some(), "counted as the limit reached");
        let error = (h.count() as f64 - (EXACT_HOSTS + 1) as f64).abs() / EXACT_HOSTS as f64;
        assert!(error < 0.03, "estimate {}", h.count());
    }

    #[test]
    fn beyond_the_bound_hosts_are_estimated_in_fixed_memory() {
        let mut h = host_count();
        let distinct = 20 * EXACT_HOSTS as u32;
        for n in 0..distinct {
            // Each address twice: repeats do not count.
            h.insert(v4(0x6440_0000 + n));
            h.insert(v4(0x6440_0000 + n));
        }
        // The set is gone: what is kept is the registers alone.
        assert_eq!(h.exact.capacity(), 0);
        assert_eq!(
            h.registers.as_ref().map(|r| r.len()),
            Some(1 << HOST_REGISTER_BITS)
        );
        let error = (h.count() as f64 - f64::from(distinct)).abs() / f64::from(distinct);
        assert!(error < 0.03, "estimate {} for {distinct}", h.count());
    }
}
