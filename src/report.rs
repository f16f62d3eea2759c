//! The report model (the JSON contract of report.md) and its construction from finished
//! sessions. Secrets are redacted here, once, so every printer gets safe data by default.

use crate::cwmp::{CwmpNs, Envelope, FaultStruct, Rpc, fault_meaning};
pub use crate::findings::{Finding, Severity};
use crate::http::auth::{Challenge, Credentials, DigestParams};
use crate::session::{MessageKind, Session, SessionMessage, message_summary};
use crate::tcp::ConnEnd;
use crate::transaction::{Outcome, Party, Transaction};
use crate::types::{FrameRef, Nanos, format_ts};
use serde::Serialize;
use serde::ser::SerializeMap;

/// What replaces a secret in every output unless secrets are shown.
pub const REDACTED: &str = "<redacted>";

/// How report objects are built.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Show passwords, credentials and cookies instead of `<redacted>`.
    pub show_secrets: bool,
    /// Input file names; with more than one, frames are labelled `name:number`.
    pub files: Vec<String>,
}

impl ReportOptions {
    /// A frame as the report shows it: its number, or `file:number` for several inputs.
    pub fn frame(&self, f: FrameRef) -> FrameLabel {
        if self.files.len() > 1 {
            let name = self
                .files
                .get(usize::from(f.file))
                .map(String::as_str)
                .unwrap_or("?");
            FrameLabel::Named(format!("{name}:{}", f.number))
        } else {
            FrameLabel::Number(f.number)
        }
    }

    fn secret(&self, value: &str) -> String {
        if self.show_secrets || value.is_empty() {
            value.to_owned()
        } else {
            REDACTED.to_owned()
        }
    }
}

/// A frame reference in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FrameLabel {
    Number(u64),
    Named(String),
}

impl std::fmt::Display for FrameLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameLabel::Number(n) => write!(f, "{n}"),
            FrameLabel::Named(s) => f.write_str(s),
        }
    }
}

/// The version of the JSON contract (`docs/report.md`) these objects serialize to.
pub const SCHEMA_VERSION: u32 = 2;

/// One finding in the report (its code, severity, message and frames).
#[derive(Clone, Debug, Serialize)]
pub struct FindingReport {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub frames: Vec<FrameLabel>,
}

/// The `capture` part of the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureSummary {
    pub files: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Streams with bytes lost by the capture.
    pub tcp_gaps: u64,
    /// Bytes lost by the capture, over all streams.
    pub tcp_gap_bytes: u64,
    pub undecoded: Undecoded,
    pub hosts: u64,
    pub tcp_connections: u64,
    pub http_messages: u64,
    /// Problems with the input itself (a file cut in the middle of a packet).
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Undecoded {
    pub non_ip: u64,
    pub non_tcp: u64,
    pub truncated: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CpeInfo {
    pub ip: String,
    pub manufacturer: Option<String>,
    pub oui: Option<String>,
    pub product_class: Option<String>,
    pub serial: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AcsInfo {
    pub ip: String,
    pub port: u16,
}

/// Counts by name in order of first appearance, serialized as a JSON object.
#[derive(Clone, Debug, Default)]
pub struct Counts(pub Vec<(String, u64)>);

impl Counts {
    pub fn add(&mut self, name: &str) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c += 1,
            None => self.0.push((name.to_owned(), 1)),
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, c)| c).sum()
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One HTTP message of a session in the report.
#[derive(Clone, Debug, Serialize)]
pub struct MessageReport {
    /// The frame that completed the message (where Wireshark shows it).
    pub frame: FrameLabel,
    /// The frame of its first byte, when the message spans several frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_frame: Option<FrameLabel>,
    pub ts: String,
    pub from: &'static str,
    pub to: &'static str,
    /// `connection-request` for the ACS's GET to the CPE and its answers, else `cwmp`.
    pub kind: &'static str,
    /// Request line (`POST /acs`) or status line (`401 Unauthorized`).
    pub http: String,
    pub status: Option<u16>,
    pub rpcs: Vec<String>,
    pub cwmp_id: Option<String>,
    /// Step of the reference ladder (flow.md); filled by transaction analysis.
    pub step: Option<u32>,
    pub body_bytes: u64,
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<AuthReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<NameValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_cookies: Vec<NameValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub envelopes: Vec<EnvelopeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed: Option<MalformedReport>,
    /// Time since the session's first message, in seconds (for ladders).
    #[serde(skip)]
    pub rel: f64,
    /// Short human summary of the CWMP content (for ladders).
    #[serde(skip)]
    pub summary: String,
    #[serde(skip)]
    pub ts_nanos: Nanos,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRequestReport {
    pub acs_ip: String,
    pub cpe: String,
    pub uri: String,
    pub frame: FrameLabel,
    pub ts: String,
    pub challenged: bool,
    pub status: Option<u16>,
    pub answer_frame: Option<FrameLabel>,
}

/// One TCP connection of a session.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionReport {
    pub cpe: String,
    pub acs: String,
    pub opened: String,
    pub closed: Option<String>,
    /// How it ended: closed, reset, idle, capture-ended (null while the session went on).
    pub end: Option<ConnEnd>,
    /// Seconds from the session's start to the close (for ladders).
    #[serde(skip)]
    pub closed_rel: Option<f64>,
}

/// One session in the report.
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    pub id: String,
    pub cpe: CpeInfo,
    pub acs: AcsInfo,
    pub start: String,
    pub end: String,
    pub duration: f64,
    pub events: Vec<String>,
    pub connections: usize,
    /// The TCP connections the session used, in order.
    pub tcp: Vec<ConnectionReport>,
    pub termination: &'static str,
    pub cwmp_version: Option<String>,
    pub rpcs: Counts,
    pub connection_request: Option<ConnectionRequestReport>,
    pub messages: Vec<MessageReport>,
    pub findings: Vec<FindingReport>,
    #[serde(skip)]
    pub start_nanos: Nanos,
}

/// Transactions by outcome.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ByOutcome {
    pub success: usize,
    pub failed: usize,
    pub incomplete: usize,
}

/// Findings by severity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BySeverity {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// The `summary` part.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub sessions: usize,
    pub transactions: usize,
    pub by_outcome: ByOutcome,
    /// Every finding of sessions, transactions and the capture, by code.
    pub findings: Counts,
    pub by_severity: BySeverity,
}

impl Summary {
    pub fn add_session(&mut self, s: &SessionReport) {
        self.sessions += 1;
        self.add_findings(&s.findings);
    }

    pub fn add_transaction(&mut self, t: &TransactionReport) {
        self.transactions += 1;
        match t.outcome {
            Outcome::Success => self.by_outcome.success += 1,
            Outcome::Failed => self.by_outcome.failed += 1,
            Outcome::Incomplete => self.by_outcome.incomplete += 1,
        }
        self.add_findings(&t.findings);
    }

    pub fn add_findings(&mut self, findings: &[FindingReport]) {
        for d in findings {
            self.findings.add(d.code);
            match d.severity {
                Severity::Error => self.by_severity.error += 1,
                Severity::Warning => self.by_severity.warning += 1,
                Severity::Info => self.by_severity.info += 1,
            }
        }
    }
}

/// The whole report (`--format json`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub sessions: Vec<SessionReport>,
    pub transactions: Vec<TransactionReport>,
    /// Findings that belong to no session or transaction.
    pub findings: Vec<FindingReport>,
    pub capture: CaptureSummary,
    pub summary: Summary,
}

impl Report {
    pub fn new(
        capture: CaptureSummary,
        mut sessions: Vec<SessionReport>,
        mut transactions: Vec<TransactionReport>,
        findings: Vec<FindingReport>,
    ) -> Report {
        sessions.sort_by_key(|s| (s.start_nanos, s.id.len(), s.id.clone()));
        transactions.sort_by_key(|t| t.number);
        let mut summary = Summary::default();
        for s in &sessions {
            summary.add_session(s);
        }
        for t in &transactions {
            summary.add_transaction(t);
        }
        summary.add_findings(&findings);
        Report {
            schema_version: SCHEMA_VERSION,
            sessions,
            transactions,
            findings,
            capture,
            summary,
        }
    }
}

/// A server a transaction's file came from: the host as the Download URL names it, and the
/// address and port the CPE connected to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    pub host: String,
    pub ip: String,
    pub port: u16,
}

impl std::fmt::Display for ServerInfo {
    /// `ip:port`, with an IPv6 address in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ip.contains(':') {
            write!(f, "[{}]:{}", self.ip, self.port)
        } else {
            write!(f, "{}:{}", self.ip, self.port)
        }
    }
}

/// The host of `scheme://[user@]host[:port]/path` (an IPv6 literal without its brackets).
fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// One step of a transaction in the report.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: Option<u32>,
    pub what: String,
    pub frame: Option<FrameLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_frame: Option<FrameLabel>,
    pub ts: String,
    pub from: &'static str,
    pub to: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// A connection close rather than a message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
    /// Seconds since the transaction's first step (for ladders).
    #[serde(skip)]
    pub rel: f64,
}

/// A version parameter before and after the transfer.
#[derive(Clone, Debug, Serialize)]
pub struct VersionReport {
    pub parameter: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One transaction in the report.
#[derive(Clone, Debug, Serialize)]
pub struct TransactionReport {
    pub id: String,
    pub kind: &'static str,
    pub cpe: CpeInfo,
    pub acs: AcsInfo,
    pub file_server: Option<ServerInfo>,
    pub command_key: String,
    pub file_type: String,
    pub url: String,
    pub announced_size: Option<u64>,
    pub received_bytes: Option<u64>,
    /// 64-bit hash of the file as delivered (16 hex digits): equal hashes, equal files.
    pub file_hash: Option<String>,
    pub download_status: Option<u32>,
    pub outcome: Outcome,
    pub fault: Option<FaultReport>,
    pub sessions: Vec<String>,
    pub start: String,
    pub end: String,
    pub versions: Vec<VersionReport>,
    pub steps: Vec<StepReport>,
    pub findings: Vec<FindingReport>,
    #[serde(skip)]
    pub number: u64,
}

fn party(p: Party) -> &'static str {
    match p {
        Party::Cpe => "cpe",
        Party::Acs => "acs",
        Party::FileServer => "file-server",
    }
}

impl TransactionReport {
    pub fn build(t: &Transaction, opts: &ReportOptions) -> TransactionReport {
        let device = t.cpe.device.as_ref();
        let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let origin = t.steps.first().map(|s| s.ts).unwrap_or(t.start);
        TransactionReport {
            id: format!("t{}", t.number),
            kind: t.kind.as_str(),
            cpe: CpeInfo {
                ip: t.cpe.ip.to_string(),
                manufacturer: device.and_then(|d| non_empty(&d.manufacturer)),
                oui: device.and_then(|d| non_empty(&d.oui)),
                product_class: device.and_then(|d| non_empty(&d.product_class)),
                serial: device.and_then(|d| non_empty(&d.serial_number)),
            },
            acs: AcsInfo {
                ip: t.acs.ip().to_string(),
                port: t.acs.port(),
            },
            file_server: t.file_server.map(|a| ServerInfo {
                host: url_host(&t.url).unwrap_or_else(|| a.ip().to_string()),
                ip: a.ip().to_string(),
                port: a.port(),
            }),
            command_key: t.command_key.clone(),
            file_type: t.file_type.clone(),
            url: redact_url(&t.url, opts),
            announced_size: t.announced_size,
            received_bytes: t.received_bytes,
            file_hash: t.file_hash.map(|h| format!("{h:016x}")),
            download_status: t.download_status,
            outcome: t.outcome,
            fault: t
                .fault
                .as_ref()
                .filter(|f| f.code != Some(0))
                .map(fault_json),
            sessions: t.sessions.iter().map(|n| format!("s{n}")).collect(),
            start: format_ts(t.start),
            end: format_ts(t.end),
            versions: t
                .versions
                .iter()
                .map(|(p, b, a)| VersionReport {
                    parameter: p.clone(),
                    before: b.clone(),
                    after: a.clone(),
                })
                .collect(),
            steps: t
                .steps
                .iter()
                .map(|s| StepReport {
                    step: s.step,
                    what: s.what.clone(),
                    frame: s.frame.map(|f| opts.frame(f)),
                    first_frame: s.first_frame.map(|f| opts.frame(f)),
                    ts: format_ts(s.ts),
                    from: party(s.from),
                    to: party(s.to),
                    session: s.session.map(|n| format!("s{n}")),
                    close: s.close,
                    rel: (s.ts - origin) as f64 / 1e9,
                })
                .collect(),
            findings: t.findings.iter().map(|f| finding_report(f, opts)).collect(),
            number: t.number,
        }
    }
}

/// A URL with any `user:password@` part redacted.
fn redact_url(url: &str, opts: &ReportOptions) -> String {
    if opts.show_secrets {
        return url.to_owned();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{REDACTED}@{host}{path}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

impl SessionReport {
    /// Builds the report of a finished session.
    pub fn build(s: &Session, opts: &ReportOptions) -> SessionReport {
        let device = s.device.as_ref();
        let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let mut rpcs = Counts::default();
        for (_, env) in s.envelopes() {
            let name = env.rpc.name();
            if !name.is_empty() {
                rpcs.add(name);
            }
        }
        let cwmp_version = s.envelopes().find_map(|(_, e)| e.ns.as_ref()).map(ns_uri);
        let messages: Vec<MessageReport> = s
            .messages
            .iter()
            .map(|m| message_report(m, s.start, opts))
            .collect();
        SessionReport {
            id: format!("s{}", s.number),
            cpe: CpeInfo {
                ip: s.cpe_ip.to_string(),
                manufacturer: device.and_then(|d| non_empty(&d.manufacturer)),
                oui: device.and_then(|d| non_empty(&d.oui)),
                product_class: device.and_then(|d| non_empty(&d.product_class)),
                serial: device.and_then(|d| non_empty(&d.serial_number)),
            },
            acs: AcsInfo {
                ip: s.acs.ip().to_string(),
                port: s.acs.port(),
            },
            start: format_ts(s.start),
            end: format_ts(s.end),
            duration: (s.end - s.start) as f64 / 1e9,
            events: s.events.iter().map(|e| e.code.clone()).collect(),
            connections: s.connections.len(),
            tcp: s
                .connections
                .iter()
                .map(|c| ConnectionReport {
                    cpe: c.cpe.to_string(),
                    acs: c.acs.to_string(),
                    opened: format_ts(c.ts),
                    closed: c.end.map(|(_, ts)| format_ts(ts)),
                    end: c.end.map(|(end, _)| end),
                    closed_rel: c.end.map(|(_, ts)| (ts - s.start) as f64 / 1e9),
                })
                .collect(),
            termination: s.termination.as_str(),
            cwmp_version,
            rpcs,
            connection_request: s
                .connection_request
                .as_ref()
                .map(|cr| ConnectionRequestReport {
                    acs_ip: cr.acs_ip.to_string(),
                    cpe: cr.cpe.to_string(),
                    uri: cr.uri.clone(),
                    frame: opts.frame(cr.frame),
                    ts: format_ts(cr.ts),
                    challenged: cr.challenged,
                    status: cr.final_status,
                    answer_frame: cr.final_frame.map(|f| opts.frame(f)),
                }),
            messages,
            findings: s.findings.iter().map(|f| finding_report(f, opts)).collect(),
            start_nanos: s.start,
        }
    }
}

/// A finding as the report shows it.
pub fn finding_report(f: &Finding, opts: &ReportOptions) -> FindingReport {
    FindingReport {
        code: f.code.id(),
        severity: f.severity,
        message: f.message.clone(),
        frames: f.frames.iter().map(|fr| opts.frame(*fr)).collect(),
    }
}

fn ns_uri(ns: &CwmpNs) -> String {
    match ns {
        CwmpNs::V1(n) => format!("urn:dslforum-org:cwmp-1-{n}"),
        CwmpNs::Unknown(u) => u.clone(),
    }
}

fn message_report(m: &SessionMessage, session_start: Nanos, opts: &ReportOptions) -> MessageReport {
    let (from, to) = if m.from_cpe {
        ("cpe", "acs")
    } else {
        ("acs", "cpe")
    };
    let http = match (&m.http.method, &m.http.uri, m.http.status) {
        (Some(method), Some(uri), _) => format!("{method} {uri}"),
        (_, _, Some(status)) => format!("{status} {}", m.http.reason.as_deref().unwrap_or(""))
            .trim_end()
            .to_owned(),
        _ => String::new(),
    };
    MessageReport {
        frame: opts.frame(m.last_frame),
        first_frame: (m.last_frame != m.frame).then(|| opts.frame(m.frame)),
        ts: format_ts(m.ts),
        from,
        to,
        kind: match m.kind {
            MessageKind::Cwmp => "cwmp",
            MessageKind::ConnectionRequest => "connection-request",
        },
        http,
        status: m.http.status,
        rpcs: m.rpc_names().map(str::to_owned).collect(),
        cwmp_id: m.envelopes.iter().find_map(|e| e.header.id.clone()),
        step: m.step,
        body_bytes: m.http.body_len,
        complete: m.http.complete,
        auth: m.credentials.as_ref().map(|c| credentials_json(c, opts)),
        challenges: m.challenges.iter().map(challenge_json).collect(),
        cookies: m
            .cookies
            .iter()
            .map(|(k, v)| NameValue::new(k, opts.secret(v)))
            .collect(),
        set_cookies: m
            .set_cookies
            .iter()
            .map(|(k, v)| NameValue::new(k, opts.secret(v)))
            .collect(),
        envelopes: m.envelopes.iter().map(|e| envelope_json(e, opts)).collect(),
        malformed: m.malformed.as_ref().map(|e| MalformedReport {
            offset: e.offset,
            reason: e.reason.clone(),
        }),
        rel: (m.ts - session_start) as f64 / 1e9,
        summary: message_summary(m),
        ts_nanos: m.ts,
    }
}

/// A `name=value` pair (cookies).
#[derive(Clone, Debug, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

impl NameValue {
    fn new(name: &str, value: String) -> Self {
        NameValue {
            name: name.to_owned(),
            value,
        }
    }
}

/// Why a body could not be decoded.
#[derive(Clone, Debug, Serialize)]
pub struct MalformedReport {
    pub offset: u64,
    pub reason: String,
}

/// Credentials (`Authorization`) or a challenge (`WWW-Authenticate`), as on the wire; secrets
/// (`password`, Digest `response`) redacted unless shown.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuthReport {
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opaque: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl AuthReport {
    fn digest(scheme: &str, d: &DigestParams) -> AuthReport {
        AuthReport {
            scheme: scheme.to_owned(),
            username: d.username.clone(),
            realm: d.realm.clone(),
            nonce: d.nonce.clone(),
            uri: d.uri.clone(),
            qop: d.qop.clone(),
            nc: d.nc.clone(),
            cnonce: d.cnonce.clone(),
            opaque: d.opaque.clone(),
            algorithm: d.algorithm.clone(),
            stale: d.stale,
            ..AuthReport::default()
        }
    }
}

fn credentials_json(c: &Credentials, opts: &ReportOptions) -> AuthReport {
    match c {
        Credentials::Basic { username, password } => AuthReport {
            scheme: c.scheme().to_owned(),
            username: username.clone(),
            password: password.as_deref().map(|p| opts.secret(p)),
            ..AuthReport::default()
        },
        Credentials::Digest(d) => AuthReport {
            response: d.response.as_deref().map(|r| opts.secret(r)),
            ..AuthReport::digest(c.scheme(), d)
        },
        Credentials::Other { .. } => AuthReport {
            scheme: c.scheme().to_owned(),
            ..AuthReport::default()
        },
    }
}

fn challenge_json(c: &Challenge) -> AuthReport {
    match c {
        Challenge::Basic { realm } => AuthReport {
            scheme: c.scheme().to_owned(),
            realm: realm.clone(),
            ..AuthReport::default()
        },
        Challenge::Digest(d) => AuthReport::digest(c.scheme(), d),
        Challenge::Other { .. } => AuthReport {
            scheme: c.scheme().to_owned(),
            ..AuthReport::default()
        },
    }
}

/// Whether a parameter or argument name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["password", "passphrase", "presharedkey", "secret"]
        .iter()
        .any(|s| lower.ends_with(s))
}

/// A CWMP fault with its meaning.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    pub code: Option<u32>,
    pub string: String,
    pub meaning: Option<&'static str>,
}

fn fault_json(f: &FaultStruct) -> FaultReport {
    FaultReport {
        code: f.code,
        string: f.string.clone(),
        meaning: f.code.and_then(fault_meaning),
    }
}

/// One SOAP envelope: its header fields and its RPC with the arguments.
#[derive(Clone, Debug, Serialize)]
pub struct EnvelopeReport {
    pub cwmp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_requests: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_more_requests: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_timeout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_cwmp_versions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_cwmp_version: Option<String>,
    pub rpc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<RpcArgs>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceIdReport {
    pub manufacturer: String,
    pub oui: String,
    pub product_class: String,
    pub serial_number: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventReport {
    pub code: String,
    pub command_key: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ParameterReport {
    pub name: String,
    pub value: String,
    #[serde(rename = "type")]
    pub xsi_type: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ParameterFaultReport {
    pub parameter: String,
    pub fault: FaultReport,
}

/// The arguments of an RPC: typed for the RPCs the analysis relies on, `[path, value]` pairs
/// for every other.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum RpcArgs {
    Inform {
        device_id: DeviceIdReport,
        events: Vec<EventReport>,
        max_envelopes: Option<u32>,
        current_time: Option<String>,
        retry_count: Option<u32>,
        parameters: Vec<ParameterReport>,
    },
    InformResponse {
        max_envelopes: Option<u32>,
    },
    Download {
        command_key: String,
        file_type: String,
        url: String,
        username: String,
        password: String,
        file_size: Option<u64>,
        target_file_name: String,
        delay_seconds: Option<u32>,
        success_url: String,
        failure_url: String,
    },
    DownloadResponse {
        status: Option<u32>,
        start_time: String,
        complete_time: String,
    },
    TransferComplete {
        command_key: String,
        fault: FaultReport,
        start_time: String,
        complete_time: String,
    },
    Fault {
        faultcode: String,
        faultstring: String,
        fault: FaultReport,
        parameter_faults: Vec<ParameterFaultReport>,
    },
    Other(Vec<(String, String)>),
}

fn envelope_json(e: &Envelope, opts: &ReportOptions) -> EnvelopeReport {
    let h = &e.header;
    let args = match &e.rpc {
        Rpc::Inform(i) => Some(RpcArgs::Inform {
            device_id: DeviceIdReport {
                manufacturer: i.device_id.manufacturer.clone(),
                oui: i.device_id.oui.clone(),
                product_class: i.device_id.product_class.clone(),
                serial_number: i.device_id.serial_number.clone(),
            },
            events: i
                .events
                .iter()
                .map(|ev| EventReport {
                    code: ev.code.clone(),
                    command_key: ev.command_key.clone(),
                })
                .collect(),
            max_envelopes: i.max_envelopes,
            current_time: i.current_time.clone(),
            retry_count: i.retry_count,
            parameters: i
                .parameters
                .iter()
                .map(|p| ParameterReport {
                    name: p.name.clone(),
                    value: if is_secret_name(&p.name) {
                        opts.secret(&p.value)
                    } else {
                        p.value.clone()
                    },
                    xsi_type: p.xsi_type.clone(),
                })
                .collect(),
        }),
        Rpc::InformResponse { max_envelopes } => Some(RpcArgs::InformResponse {
            max_envelopes: *max_envelopes,
        }),
        Rpc::Download(d) => Some(RpcArgs::Download {
            command_key: d.command_key.clone(),
            file_type: d.file_type.clone(),
            url: d.url.clone(),
            username: d.username.clone(),
            password: opts.secret(&d.password),
            file_size: d.file_size,
            target_file_name: d.target_file_name.clone(),
            delay_seconds: d.delay_seconds,
            success_url: d.success_url.clone(),
            failure_url: d.failure_url.clone(),
        }),
        Rpc::DownloadResponse(d) => Some(RpcArgs::DownloadResponse {
            status: d.status,
            start_time: d.start_time.clone(),
            complete_time: d.complete_time.clone(),
        }),
        Rpc::TransferComplete(t) => Some(RpcArgs::TransferComplete {
            command_key: t.command_key.clone(),
            fault: fault_json(&t.fault),
            start_time: t.start_time.clone(),
            complete_time: t.complete_time.clone(),
        }),
        Rpc::Fault(f) => Some(RpcArgs::Fault {
            faultcode: f.soap_faultcode.clone(),
            faultstring: f.soap_faultstring.clone(),
            fault: fault_json(&f.cwmp),
            parameter_faults: f
                .parameter_faults
                .iter()
                .map(|p| ParameterFaultReport {
                    parameter: p.parameter_name.clone(),
                    fault: fault_json(&p.fault),
                })
                .collect(),
        }),
        Rpc::Other { args, .. } => Some(RpcArgs::Other(redact_args(args, opts))),
        Rpc::Empty => None,
    };
    EnvelopeReport {
        cwmp: e.ns.as_ref().map(ns_uri),
        id: h.id.clone(),
        hold_requests: h.hold_requests,
        no_more_requests: h.no_more_requests,
        session_timeout: h.session_timeout,
        supported_cwmp_versions: h.supported_cwmp_versions.clone(),
        use_cwmp_version: h.use_cwmp_version.clone(),
        rpc: e.rpc.name().to_owned(),
        args,
    }
}

/// Generic arguments as `[path, value]` pairs; a value whose own name, or the `Name` just
/// before it, designates a secret is redacted.
fn redact_args(args: &[(String, String)], opts: &ReportOptions) -> Vec<(String, String)> {
    let mut last_name_secret = false;
    args.iter()
        .map(|(path, value)| {
            let leaf = path.rsplit('.').next().unwrap_or(path);
            let secret = is_secret_name(leaf) || (leaf == "Value" && last_name_secret);
            if leaf == "Name" {
                last_name_secret = is_secret_name(value);
            }
            let shown = if secret {
                opts.secret(value)
            } else {
                value.clone()
            };
            (path.clone(), shown)
        })
        .collect()
}
