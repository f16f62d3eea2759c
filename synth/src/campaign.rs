//! The benchmark capture: a provisioning campaign on a busy network, generated as a stream.
//!
//! Thousands of CPEs inform the ACS at their periodic-inform phase (arrivals spread over time,
//! sessions of different CPEs overlapping) and most of them receive a Download: the reference
//! configuration update and its accepted variants, a few firmware upgrades with a large image,
//! and a few failures (file not found, fault 9016, no TransferComplete). Unrelated web browsing
//! (keep-alive HTTP GETs of pages and images on port 80) and TLS traffic (port 443) share the
//! link. [`Campaign`] yields the connections in start order, building each CPE's flow only when
//! the capture reaches its start, so memory stays bounded by what is open at once, whatever the
//! capture's size.

use super::conversation::{At, Connection, End, MS, Profile};
use super::cwmp::{CwmpOptions, DEFAULT_START, FileServerReply, Flow, FlowBuilder, reference_flow};
use super::http::{AuthScheme, HttpMessage};
use super::rng::SplitMix64;
use super::writer::{CaptureWriter, FrameSink, OutputOptions};
use crate::types::{Dir, Nanos};
use std::cell::Cell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::rc::Rc;

/// Bytes a pcap record header adds to each frame.
const PCAP_RECORD_HEADER: u64 = 16;
/// Largest TLS record payload.
const TLS_RECORD_MAX: usize = 16_384;

/// What a CPE of the campaign does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CpeScenario {
    /// A periodic Inform and nothing else (no transaction).
    InformOnly,
    /// The reference configuration update.
    Reference,
    /// MaxEnvelopes 1: the Download answers an empty POST.
    MaxEnvelopes1,
    /// The session continues on a new connection with the ACS's cookie.
    Cookie,
    /// A firmware image of a few megabytes, a reboot, a new SoftwareVersion.
    Firmware,
    /// DownloadResponse Status 0: fetched during the session, no TRANSFER COMPLETE session.
    Status0,
    /// The ACS first sends a Connection Request.
    ConnectionRequest,
    /// Basic authentication with the ACS and the file server.
    Basic,
    /// The file server answers 404; the TransferComplete reports fault 9016.
    FileNotFound,
    /// The file server answers 403; the TransferComplete reports fault 9016.
    Fault9016,
    /// The CPE never comes back with its TransferComplete.
    MissingTransferComplete,
}

impl CpeScenario {
    /// Every scenario with its share of CPEs, in CPEs per [`DECK_SIZE`].
    pub const MIX: [(CpeScenario, u32); 11] = [
        (CpeScenario::InformOnly, 40),
        (CpeScenario::Reference, 58),
        (CpeScenario::MaxEnvelopes1, 18),
        (CpeScenario::Cookie, 16),
        (CpeScenario::Firmware, 1),
        (CpeScenario::Status0, 16),
        (CpeScenario::ConnectionRequest, 20),
        (CpeScenario::Basic, 19),
        (CpeScenario::FileNotFound, 4),
        (CpeScenario::Fault9016, 4),
        (CpeScenario::MissingTransferComplete, 4),
    ];

    /// The outcome the analyzer must give this CPE's transaction (`None`: no transaction).
    pub fn expected_outcome(self) -> Option<ExpectedOutcome> {
        match self {
            CpeScenario::InformOnly => None,
            CpeScenario::FileNotFound | CpeScenario::Fault9016 => Some(ExpectedOutcome::Failed),
            CpeScenario::MissingTransferComplete => Some(ExpectedOutcome::Incomplete),
            _ => Some(ExpectedOutcome::Success),
        }
    }
}

/// CPEs per shuffled deck of scenarios: every run of this many consecutive CPEs has exactly the
/// shares of [`CpeScenario::MIX`].
pub const DECK_SIZE: u32 = 200;

/// Outcome of a transaction, as the analyzer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExpectedOutcome {
    /// `success`.
    Success,
    /// `failed`.
    Failed,
    /// `incomplete`.
    Incomplete,
}

impl ExpectedOutcome {
    /// The outcome's name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedOutcome::Success => "success",
            ExpectedOutcome::Failed => "failed",
            ExpectedOutcome::Incomplete => "incomplete",
        }
    }
}

/// Settings of a campaign capture. [`CampaignOptions::new`] gives the realistic mix.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignOptions {
    /// Seed of every choice.
    pub seed: u64,
    /// Capture size to reach (pcap bytes); no new CPE or connection starts once it is written,
    /// and the flows under way then complete, so the file ends a little larger.
    pub size: u64,
    /// Time of the first connection.
    pub start: Nanos,
    /// Mean time between two CPEs' first sessions (their periodic-inform phases are uniform,
    /// so arrivals are a Poisson process).
    pub cpe_interval: Nanos,
    /// Mean time between two web-browsing connections.
    pub web_interval: Nanos,
    /// Mean time between two TLS connections.
    pub tls_interval: Nanos,
    /// Configuration file sizes (bytes, inclusive range).
    pub config_size: (u64, u64),
    /// Firmware image sizes (bytes, inclusive range).
    pub firmware_size: (u64, u64),
    /// Remember each CPE's serial, CommandKey and expected outcome (for tests; the list grows
    /// with the capture).
    pub record_expectations: bool,
}

impl CampaignOptions {
    /// The realistic mix for a capture of about `size` bytes: ten CPEs a second, a web
    /// connection every 4 s, a TLS connection every 5 s, configuration files of 4–24 kB,
    /// firmware images of 1–3 MB.
    pub fn new(seed: u64, size: u64) -> Self {
        CampaignOptions {
            seed,
            size,
            start: DEFAULT_START,
            cpe_interval: 100 * MS,
            web_interval: 4_000 * MS,
            tls_interval: 5_000 * MS,
            config_size: (4_000, 24_000),
            firmware_size: (1_000_000, 3_000_000),
            record_expectations: false,
        }
    }
}

/// One CPE's transaction as generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedTransaction {
    /// CPE serial number.
    pub serial: String,
    /// The Download's CommandKey (unique per CPE).
    pub command_key: String,
    /// What the CPE does.
    pub scenario: CpeScenario,
    /// The outcome the analyzer must report.
    pub outcome: ExpectedOutcome,
}

/// Payload bytes (TCP data) by kind of traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficBytes {
    /// CWMP sessions and Connection Requests (HTTP and SOAP).
    pub cwmp: u64,
    /// Firmware and configuration file fetches (HTTP heads and bodies).
    pub files: u64,
    /// Unrelated web browsing on port 80.
    pub web: u64,
    /// TLS on port 443.
    pub tls: u64,
}

impl TrafficBytes {
    /// All payload bytes.
    pub fn total(&self) -> u64 {
        self.cwmp + self.files + self.web + self.tls
    }
}

/// What a campaign generated so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampaignStats {
    /// CPEs started.
    pub cpes: u64,
    /// CPEs by scenario (in the order of [`CpeScenario::MIX`]).
    pub by_scenario: Vec<(CpeScenario, u64)>,
    /// Transactions expected with outcome success.
    pub success: u64,
    /// Transactions expected with outcome failed.
    pub failed: u64,
    /// Transactions expected with outcome incomplete.
    pub incomplete: u64,
    /// CWMP HTTP requests (ACS, file server and Connection Requests).
    pub cwmp_http_requests: u64,
    /// Web-browsing connections.
    pub web_connections: u64,
    /// Web HTTP requests (each answered).
    pub web_requests: u64,
    /// TLS connections.
    pub tls_connections: u64,
    /// Connections yielded.
    pub connections: u64,
    /// Payload bytes by kind.
    pub payload: TrafficBytes,
    /// Per-CPE expectations, when [`CampaignOptions::record_expectations`] is set.
    pub expected: Vec<ExpectedTransaction>,
}

impl CampaignStats {
    /// Transactions expected, whatever their outcome.
    pub fn transactions(&self) -> u64 {
        self.success + self.failed + self.incomplete
    }
}

/// A connection waiting for its start, ordered by (start, arrival number).
struct Pending {
    start: Nanos,
    number: u64,
    connection: Connection,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.start, self.number) == (other.start, other.number)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.start, self.number).cmp(&(other.start, other.number))
    }
}

/// Kinds of arrivals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Cpe,
    Web,
    Tls,
}

/// The lazy, time-ordered generator of a campaign's connections. Give it (by `&mut`) to
/// [`super::conversation::render`] with a sink that adds what it writes to
/// [`Campaign::written`]; read [`Campaign::stats`] afterwards.
pub struct Campaign {
    opts: CampaignOptions,
    written: Rc<Cell<u64>>,
    arrivals: SplitMix64,
    next_at: [Nanos; 3],
    counts: [u64; 3],
    deck: Vec<CpeScenario>,
    pending: BinaryHeap<Reverse<Pending>>,
    numbered: u64,
    stats: CampaignStats,
}

impl Campaign {
    /// A campaign for `opts`, stopping new arrivals once `written` reaches `opts.size`.
    pub fn new(opts: CampaignOptions, written: Rc<Cell<u64>>) -> Self {
        let mut arrivals = SplitMix64::derive(opts.seed, 0xca3);
        let next_at = [
            opts.start,
            opts.start + exponential(&mut arrivals, opts.web_interval),
            opts.start + exponential(&mut arrivals, opts.tls_interval),
        ];
        let stats = CampaignStats {
            by_scenario: CpeScenario::MIX.iter().map(|&(s, _)| (s, 0)).collect(),
            ..CampaignStats::default()
        };
        Campaign {
            opts,
            written,
            arrivals,
            next_at,
            counts: [0; 3],
            deck: Vec::new(),
            pending: BinaryHeap::new(),
            numbered: 0,
            stats,
        }
    }

    /// What was generated so far.
    pub fn stats(&self) -> &CampaignStats {
        &self.stats
    }

    /// The shared count of bytes written, which ends the arrivals.
    pub fn written(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.written)
    }

    fn next_source(&self) -> (Source, Nanos) {
        let mut best = (Source::Cpe, self.next_at[0]);
        for (source, at) in [
            (Source::Web, self.next_at[1]),
            (Source::Tls, self.next_at[2]),
        ] {
            if at < best.1 {
                best = (source, at);
            }
        }
        best
    }

    fn enqueue(&mut self, connection: Connection) {
        self.stats.connections += 1;
        let number = self.numbered;
        self.numbered += 1;
        self.pending.push(Reverse(Pending {
            start: connection.start,
            number,
            connection,
        }));
    }

    /// Starts the next arrival (a CPE's flow, a web or a TLS connection).
    fn arrive(&mut self, source: Source, at: Nanos) {
        let index = source as usize;
        let number = self.counts.get(index).copied().unwrap_or(0);
        if let Some(c) = self.counts.get_mut(index) {
            *c += 1;
        }
        let interval = match source {
            Source::Cpe => self.opts.cpe_interval,
            Source::Web => self.opts.web_interval,
            Source::Tls => self.opts.tls_interval,
        };
        if let Some(next) = self.next_at.get_mut(index) {
            *next = at + exponential(&mut self.arrivals, interval).max(1);
        }
        match source {
            Source::Cpe => {
                let scenario = self.deal(number);
                let flow = self.cpe_flow(number, scenario, at);
                for c in flow.connections {
                    self.enqueue(c);
                }
            }
            Source::Web => {
                let c = self.web_connection(number, at);
                self.enqueue(c);
            }
            Source::Tls => {
                let c = self.tls_connection(number, at);
                self.enqueue(c);
            }
        }
    }

    /// The scenario of CPE number `number`: decks of [`DECK_SIZE`] shuffled scenarios.
    fn deal(&mut self, number: u64) -> CpeScenario {
        let slot = (number % u64::from(DECK_SIZE)) as usize;
        if slot == 0 || self.deck.is_empty() {
            self.deck.clear();
            for &(scenario, count) in &CpeScenario::MIX {
                self.deck
                    .extend(std::iter::repeat_n(scenario, count as usize));
            }
            let mut rng = SplitMix64::derive(self.opts.seed ^ 0xdec, number);
            for i in (1..self.deck.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                self.deck.swap(i, j);
            }
        }
        self.deck
            .get(slot)
            .copied()
            .unwrap_or(CpeScenario::Reference)
    }

    /// The whole flow of CPE number `number` starting at `at`.
    fn cpe_flow(&mut self, number: u64, scenario: CpeScenario, at: Nanos) -> Flow {
        let mut rng = SplitMix64::derive(self.opts.seed ^ 0xc9e, number);
        let mut o = CwmpOptions {
            seed: rng.next_u64(),
            start: at,
            ..CwmpOptions::default()
        };
        if scenario == CpeScenario::Firmware {
            o = CwmpOptions {
                seed: o.seed,
                start: at,
                ..CwmpOptions::firmware()
            };
        }
        let serial = format!("CP{:010}", number + 1);
        o.device.serial.clone_from(&serial);
        o.cpe_ip = cpe_address(number);
        o.cpe_first_port = rng.range_inclusive(49_152, 60_000) as u16;
        o.timing.rtt = rng.range_inclusive(4, 60) as Nanos * MS;
        o.echo_request_ids = true;
        o.command_key = format!("campaign-{}", number + 1);
        match scenario {
            CpeScenario::Firmware => {
                let (low, high) = self.opts.firmware_size;
                o.file_size = rng.range_inclusive(low, high);
                o.command_key = format!("fw-{}", number + 1);
            }
            _ => {
                let (low, high) = self.opts.config_size;
                o.file_size = rng.range_inclusive(low, high);
                o.file_path = format!("/configs/{serial}.cfg");
            }
        }
        match scenario {
            CpeScenario::MaxEnvelopes1 => o.max_envelopes = 1,
            CpeScenario::Cookie => o.cookie_across_connections = true,
            CpeScenario::Status0 => o.download_status = 0,
            CpeScenario::ConnectionRequest => o.connection_request = true,
            CpeScenario::Basic => {
                o.acs_auth = AuthScheme::Basic;
                o.file_auth = AuthScheme::Basic;
            }
            CpeScenario::FileNotFound => {
                o.quirks.file_server_reply = FileServerReply::Status(404);
                o.quirks.transfer_fault = Some((9016, "Unable to access file".into()));
            }
            CpeScenario::Fault9016 => {
                o.quirks.file_server_reply = FileServerReply::Status(403);
                o.quirks.transfer_fault = Some((9016, "Unable to access file".into()));
            }
            _ => {}
        }
        let acs = o.acs;
        let file_server = o.file_server;
        let mut flow = if scenario == CpeScenario::InformOnly {
            let mut b = FlowBuilder::new(o.clone());
            b.inform_only_session(at, &[("2 PERIODIC", "")]);
            b.finish()
        } else {
            reference_flow(&o)
        };
        if scenario == CpeScenario::MissingTransferComplete
            && let Some(last) = flow.connections.iter().rposition(|c| c.server == acs)
        {
            flow.connections.remove(last);
        }

        let s = &mut self.stats;
        s.cpes += 1;
        if let Some(entry) = s.by_scenario.iter_mut().find(|(k, _)| *k == scenario) {
            entry.1 += 1;
        }
        if let Some(outcome) = scenario.expected_outcome() {
            match outcome {
                ExpectedOutcome::Success => s.success += 1,
                ExpectedOutcome::Failed => s.failed += 1,
                ExpectedOutcome::Incomplete => s.incomplete += 1,
            }
            if self.opts.record_expectations {
                s.expected.push(ExpectedTransaction {
                    serial,
                    command_key: o.command_key.clone(),
                    scenario,
                    outcome,
                });
            }
        }
        for c in &flow.connections {
            let bytes: u64 = c.steps.iter().map(|st| st.bytes.len() as u64).sum();
            // Every CWMP connection is client-initiated HTTP (the Connection Request too).
            let requests = c
                .steps
                .iter()
                .filter(|st| st.dir == Dir::ToServer && !st.bytes.is_empty())
                .count() as u64;
            s.cwmp_http_requests += requests;
            if c.server == file_server {
                s.payload.files += bytes;
            } else {
                s.payload.cwmp += bytes;
            }
        }
        flow
    }

    /// Web browsing: a keep-alive connection with one to eight GETs of pages and images.
    fn web_connection(&mut self, number: u64, at: Nanos) -> Connection {
        let mut rng = SplitMix64::derive(self.opts.seed ^ 0x3eb, number);
        let (client, server) = (
            client_endpoint(0, number),
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + rng.below(40) as u8)),
                80,
            ),
        );
        let host = match server.ip() {
            IpAddr::V4(ip) => format!("www{}.example.net", ip.octets()[3]),
            IpAddr::V6(_) => "www.example.net".to_string(),
        };
        let mut c = Connection::new(client, server, at);
        c.rtt = rng.range_inclusive(5, 80) as Nanos * MS;
        let requests = rng.range_inclusive(1, 8);
        let mut bytes = 0u64;
        for k in 0..requests {
            let page = k == 0 || rng.chance(0.3);
            let target = if page {
                format!("/news/{}.html", rng.hex(6))
            } else {
                format!("/img/{}.jpg", rng.hex(8))
            };
            let request = HttpMessage::request("GET", &target, &host)
                .header(
                    "User-Agent",
                    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                )
                .header("Accept", "*/*")
                .header("Connection", "keep-alive")
                .to_bytes();
            let think = if k == 0 {
                0
            } else {
                rng.range_inclusive(20, 400) as Nanos * MS
            };
            let response = if !page && rng.chance(0.1) {
                HttpMessage::response(304)
                    .header("Cache-Control", "max-age=3600")
                    .to_bytes()
            } else if page {
                HttpMessage::response(200)
                    .header("Cache-Control", "no-cache")
                    .body(
                        "text/html; charset=utf-8",
                        html_page(rng.range_inclusive(4_000, 60_000) as usize, &mut rng),
                    )
                    .to_bytes()
            } else {
                let mut image = vec![0u8; rng.range_inclusive(8_000, 250_000) as usize];
                rng.fill(&mut image);
                if let Some(head) = image.get_mut(..4) {
                    head.copy_from_slice(&[0xff, 0xd8, 0xff, 0xe0]);
                }
                HttpMessage::response(200)
                    .header("Cache-Control", "max-age=86400")
                    .body("image/jpeg", image)
                    .to_bytes()
            };
            bytes += (request.len() + response.len()) as u64;
            c.client_sends(think, request);
            c.server_sends(rng.range_inclusive(1, 30) as Nanos * MS, response);
        }
        c.ends(
            End::ClientFinFirst,
            At::After(rng.range_inclusive(100, 5_000) as Nanos * MS),
        );
        self.stats.web_connections += 1;
        self.stats.web_requests += requests;
        self.stats.payload.web += bytes;
        c
    }

    /// TLS: handshake records, then a few exchanges of opaque application-data records.
    fn tls_connection(&mut self, number: u64, at: Nanos) -> Connection {
        let mut rng = SplitMix64::derive(self.opts.seed ^ 0x7e5, number);
        let client = client_endpoint(1, number);
        let server = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1 + rng.below(60) as u8)),
            443,
        );
        let mut c = Connection::new(client, server, at);
        c.rtt = rng.range_inclusive(5, 120) as Nanos * MS;
        let mut bytes = 0u64;
        let mut send = |c: &mut Connection, dir: Dir, delay: Nanos, data: Vec<u8>| {
            bytes += data.len() as u64;
            c.push(dir, At::After(delay), data);
        };
        send(&mut c, Dir::ToServer, 0, tls_records(0x16, 517, &mut rng));
        send(
            &mut c,
            Dir::ToClient,
            MS,
            tls_records(0x16, rng.range_inclusive(2_500, 5_000) as usize, &mut rng),
        );
        send(&mut c, Dir::ToServer, MS, tls_records(0x14, 1, &mut rng));
        for _ in 0..rng.range_inclusive(1, 6) {
            let request = rng.range_inclusive(80, 2_000) as usize;
            send(
                &mut c,
                Dir::ToServer,
                rng.range_inclusive(10, 800) as Nanos * MS,
                tls_records(0x17, request, &mut rng),
            );
            let answer = rng.range_inclusive(200, 120_000) as usize;
            send(
                &mut c,
                Dir::ToClient,
                rng.range_inclusive(2, 40) as Nanos * MS,
                tls_records(0x17, answer, &mut rng),
            );
        }
        c.ends(
            End::ClientFinFirst,
            At::After(rng.range_inclusive(50, 2_000) as Nanos * MS),
        );
        self.stats.tls_connections += 1;
        self.stats.payload.tls += bytes;
        c
    }
}

impl Iterator for Campaign {
    type Item = Connection;

    fn next(&mut self) -> Option<Connection> {
        loop {
            let (source, at) = self.next_source();
            let head = self.pending.peek().map(|Reverse(p)| p.start);
            let open = self.written.get() < self.opts.size;
            match head {
                Some(start) if start <= at || !open => {
                    return self.pending.pop().map(|Reverse(p)| p.connection);
                }
                None if !open => return None,
                _ => self.arrive(source, at),
            }
        }
    }
}

/// A delay drawn from the exponential distribution with mean `mean`.
fn exponential(rng: &mut SplitMix64, mean: Nanos) -> Nanos {
    let unit = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let delay = -unit.ln() * mean as f64;
    if delay.is_finite() {
        delay.min(1e15) as Nanos
    } else {
        mean
    }
}

/// Address of CPE number `number`: 100.64.0.0/10 (carrier-grade NAT space), skipping .0 and
/// .255 host bytes.
fn cpe_address(number: u64) -> IpAddr {
    let n = number % (64 * 256 * 254);
    let host = (n % 254) as u8 + 1;
    let rest = n / 254;
    IpAddr::V4(Ipv4Addr::new(
        100,
        64 + (rest / 256) as u8,
        (rest % 256) as u8,
        host,
    ))
}

/// A subscriber device's address and port for connection `number` of traffic kind `kind`
/// (4064 devices per kind, host bytes 1 to 254; ports cycle through 1024..65024, so a 4-tuple
/// repeats only after 260 million connections).
fn client_endpoint(kind: u8, number: u64) -> SocketAddr {
    const DEVICES: u64 = 16 * 254;
    let device = number % DEVICES;
    let port = 1024 + (number / DEVICES) % 64_000;
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(
            10,
            kind.wrapping_mul(16),
            1 + (device / 254) as u8,
            1 + (device % 254) as u8,
        )),
        port as u16,
    )
}

/// An HTML page of `len` bytes.
fn html_page(len: usize, rng: &mut SplitMix64) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "network", "update", "provider", "customer", "service", "weather", "sports", "market",
        "local", "video", "report", "today",
    ];
    let mut page = b"<!DOCTYPE html>\n<html><head><title>News</title></head><body>\n".to_vec();
    while page.len() < len {
        page.extend_from_slice(b"<p>");
        for _ in 0..12 {
            let word = WORDS
                .get(rng.below(WORDS.len() as u64) as usize)
                .copied()
                .unwrap_or("news");
            page.extend_from_slice(word.as_bytes());
            page.push(b' ');
        }
        page.extend_from_slice(b"</p>\n");
    }
    page.truncate(len.saturating_sub(15));
    page.extend_from_slice(b"</body></html>\n");
    page
}

/// `len` bytes of content in TLS records of type `content_type` (random bytes: nobody decrypts
/// them).
fn tls_records(content_type: u8, len: usize, rng: &mut SplitMix64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 5 * (len / TLS_RECORD_MAX + 1));
    let mut left = len.max(1);
    while left > 0 {
        let chunk = left.min(TLS_RECORD_MAX);
        out.extend_from_slice(&[content_type, 0x03, 0x03]);
        out.extend_from_slice(&(chunk as u16).to_be_bytes());
        let start = out.len();
        out.resize(start + chunk, 0);
        if let Some(body) = out.get_mut(start..) {
            rng.fill(body);
        }
        left -= chunk;
    }
    out
}

/// A frame sink that adds each frame's pcap size to a shared counter (the campaign's budget).
pub struct CountingSink<S> {
    inner: S,
    written: Rc<Cell<u64>>,
}

impl<S: FrameSink> CountingSink<S> {
    /// Wraps `inner`, counting into `written`.
    pub fn new(inner: S, written: Rc<Cell<u64>>) -> Self {
        CountingSink { inner, written }
    }

    /// The wrapped sink.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: FrameSink> FrameSink for CountingSink<S> {
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()> {
        self.written
            .set(self.written.get() + data.len() as u64 + PCAP_RECORD_HEADER);
        self.inner.write_frame(ts, interface, data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// What [`write_campaign`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignReport {
    /// The generator's counts.
    pub stats: CampaignStats,
    /// Frames written.
    pub frames: u64,
    /// Bytes of the capture (pcap headers included, before any compression).
    pub bytes: u64,
    /// Timestamp of the first frame.
    pub first_ts: Option<Nanos>,
    /// Timestamp of the last frame.
    pub last_ts: Option<Nanos>,
}

/// The campaign's transport: clean Ethernet/IPv4, 1460-byte segments.
pub fn campaign_profile(seed: u64) -> Profile {
    Profile::clean(seed)
}

/// Renders the campaign of `opts` into `sink`, streaming.
pub fn render_campaign<S: FrameSink>(
    opts: &CampaignOptions,
    sink: S,
) -> io::Result<(CampaignReport, S)> {
    let written = Rc::new(Cell::new(0u64));
    let mut campaign = Campaign::new(opts.clone(), Rc::clone(&written));
    let mut counting = CountingSink::new(sink, Rc::clone(&written));
    let render =
        super::conversation::render(&mut campaign, &campaign_profile(opts.seed), &mut counting)?;
    counting.finish()?;
    let report = CampaignReport {
        stats: campaign.stats,
        frames: render.frames,
        bytes: written.get(),
        first_ts: render.first_ts,
        last_ts: render.last_ts,
    };
    Ok((report, counting.into_inner()))
}

/// Writes the campaign of `opts` as a capture file at `path` (pcap unless `output` says
/// otherwise; `frames_per_file` is ignored).
pub fn write_campaign(
    opts: &CampaignOptions,
    output: &OutputOptions,
    path: &Path,
) -> io::Result<CampaignReport> {
    let options = OutputOptions {
        frames_per_file: None,
        ..*output
    };
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    write_campaign_to(opts, &options, file)
}

/// Writes the campaign of `opts` as a capture into `out` (a pipe, standard output), streaming;
/// `frames_per_file` is ignored.
pub fn write_campaign_to<W: Write>(
    opts: &CampaignOptions,
    output: &OutputOptions,
    out: W,
) -> io::Result<CampaignReport> {
    let options = OutputOptions {
        frames_per_file: None,
        ..*output
    };
    let sink = CaptureWriter::new(out, &options, &campaign_profile(opts.seed).link_types())?;
    // Rendering ends with a flush, so a closed pipe is an error, not lost at drop.
    let (mut report, _) = render_campaign(opts, sink)?;
    // The 24-byte pcap file header.
    report.bytes += 24;
    Ok(report)
}

/// The campaign of `opts` as one in-memory pcap.
pub fn campaign_bytes(opts: &CampaignOptions) -> io::Result<(CampaignReport, Vec<u8>)> {
    let sink = CaptureWriter::new(
        Vec::new(),
        &OutputOptions::default(),
        &campaign_profile(opts.seed).link_types(),
    )?;
    let (report, sink) = render_campaign(opts, sink)?;
    Ok((report, sink.into_inner()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(size: u64) -> CampaignOptions {
        CampaignOptions {
            record_expectations: true,
            ..CampaignOptions::new(5, size)
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (_, a) = campaign_bytes(&small(600_000)).unwrap();
        let (_, b) = campaign_bytes(&small(600_000)).unwrap();
        let (_, c) = campaign_bytes(&CampaignOptions::new(6, 600_000)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn size_is_reached_without_much_overshoot() {
        let (report, bytes) = campaign_bytes(&small(3_000_000)).unwrap();
        assert!(bytes.len() as u64 >= 3_000_000, "{}", bytes.len());
        assert!(bytes.len() < 9_000_000, "{}", bytes.len());
        assert_eq!(report.bytes + 24, bytes.len() as u64);
        assert!(report.stats.web_connections > 0 && report.stats.tls_connections > 0);
    }

    #[test]
    fn decks_hold_the_mix_exactly() {
        let mut c = Campaign::new(small(0), Rc::new(Cell::new(0)));
        let mut counts = std::collections::BTreeMap::new();
        for n in 0..u64::from(DECK_SIZE) {
            *counts.entry(c.deal(n)).or_insert(0u32) += 1;
        }
        for (scenario, share) in CpeScenario::MIX {
            assert_eq!(counts.get(&scenario), Some(&share), "{scenario:?}");
        }
    }

    #[test]
    fn connections_come_in_start_order_with_distinct_cpes() {
        let written = Rc::new(Cell::new(0));
        let mut c = Campaign::new(small(1), Rc::clone(&written));
        let mut last = Nanos::MIN;
        let mut taken = 0;
        for conn in c.by_ref() {
            assert!(conn.start >= last);
            last = conn.start;
            taken += 1;
            if taken == 2_000 {
                // Stop the arrivals: what is under way drains.
                written.set(u64::MAX);
            }
        }
        let stats = c.stats();
        assert!(stats.cpes > 100, "{}", stats.cpes);
        let mut serials: Vec<&str> = stats.expected.iter().map(|e| e.serial.as_str()).collect();
        serials.sort_unstable();
        serials.dedup();
        assert_eq!(serials.len(), stats.expected.len());
        assert_eq!(stats.transactions(), stats.expected.len() as u64);
    }

    #[test]
    fn addresses_are_distinct() {
        assert_ne!(cpe_address(0), cpe_address(1));
        assert_ne!(cpe_address(253), cpe_address(254));
        assert_eq!(cpe_address(0), IpAddr::V4(Ipv4Addr::new(100, 64, 0, 1)));
        assert_ne!(client_endpoint(0, 5), client_endpoint(0, 5 + 16 * 254));
        assert_eq!(
            client_endpoint(0, 0),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), 1024)
        );
        assert_ne!(client_endpoint(0, 5), client_endpoint(1, 5));
    }

    #[test]
    fn tls_records_are_well_formed() {
        let mut rng = SplitMix64::new(1);
        let bytes = tls_records(0x17, 40_000, &mut rng);
        let mut at = 0;
        let mut total = 0;
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 3], &[0x17, 3, 3]);
            let len = usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
            assert!(len <= TLS_RECORD_MAX);
            total += len;
            at += 5 + len;
        }
        assert_eq!((at, total), (bytes.len(), 40_000));
    }

    #[test]
    fn html_page_has_the_requested_length() {
        let mut rng = SplitMix64::new(2);
        for len in [100, 4_000, 60_000] {
            let page = html_page(len, &mut rng);
            assert_eq!(page.len(), len);
            assert!(page.ends_with(b"</body></html>\n"));
        }
    }
}
