//! The report objects: what the JSON contract (`docs/report.md`) serializes and the printers
//! read. Plain data, built by [`super::build`].

use super::Severity;
use crate::limits::LimitCounts;
use crate::session::RawMessage;
use crate::tcp::ConnEnd;
use crate::transaction::Outcome;
use crate::types::Nanos;
use serde::Serialize;
use serde::ser::SerializeMap;
use std::sync::Arc;

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
/// 3: `transactions[].file_hash` is the file's SHA-256 (it was a 64-bit hash).
pub const SCHEMA_VERSION: u32 = 3;

/// One finding in the report (its code, severity, message and frames).
#[derive(Clone, Debug, Serialize)]
pub struct FindingReport {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub frames: Vec<FrameLabel>,
    /// For a finding of no session or transaction: the CPE it concerns, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpe: Option<CpeInfo>,
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
    /// Streams where a segment overlapped bytes already buffered with different content (the
    /// copy first in the capture was kept, as the receiver would have), and those bytes.
    pub tcp_conflicts: u64,
    pub tcp_conflicting_bytes: u64,
    pub undecoded: Undecoded,
    /// Frames by the encapsulation unwrapped on the way to IP (a frame counts once per kind),
    /// only the kinds seen, in a fixed order.
    pub encapsulations: Counts,
    /// TCP segments dropped as mirrored copies of one seen just before.
    pub mirror_duplicates: u64,
    pub hosts: u64,
    pub tcp_connections: u64,
    pub http_messages: u64,
    /// Encrypted connections to no known ACS or file server (counted, not findings).
    pub other_tls_connections: u64,
    /// TLS connections to the ACS and file servers, decrypted or not.
    pub tls: TlsCounts,
    /// Problems with the input itself (a file cut in the middle of a packet).
    pub warnings: Vec<String>,
    /// How many times each resource limit was reached, only those reached, in the order of
    /// the limits table (`crate::limits`).
    pub limits_hit: Counts,
    /// In a shard run: the part of `limits_hit` reached over this shard's CPEs alone (the
    /// rest is the whole run's, the same in every shard); written by NDJSON for
    /// `cwmpscope merge`.
    #[serde(skip)]
    pub shard_limits_hit: Option<Counts>,
}

/// Frames that gave no TCP segment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Undecoded {
    pub non_ip: u64,
    pub non_tcp: u64,
    pub truncated: u64,
    /// The `non_ip` frames by why they carried no IP, largest count first.
    pub non_ip_kinds: Counts,
    /// The `non_tcp` frames by transport protocol, largest count first.
    pub non_tcp_kinds: Counts,
}

/// A CPE as the report names it: its address and the DeviceId of its Inform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CpeInfo {
    pub ip: String,
    pub manufacturer: Option<String>,
    pub oui: Option<String>,
    pub product_class: Option<String>,
    pub serial: Option<String>,
    /// The DeviceId is not the session's own (it has no Inform) but that of the CPE last seen
    /// at its address.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

impl CpeInfo {
    /// `THOMSON TG784n CP0923JT0XX (10.0.0.5)`, `(10.0.0.5, inferred)` for an inferred
    /// identity, or the address alone.
    pub fn label(&self) -> String {
        let parts: Vec<&str> = [&self.manufacturer, &self.product_class, &self.serial]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        let inferred = if self.inferred { ", inferred" } else { "" };
        if parts.is_empty() {
            format!("{}{inferred}", self.ip)
        } else {
            format!("{} ({}{inferred})", parts.join(" "), self.ip)
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AcsInfo {
    pub ip: String,
    pub port: u16,
}

/// Counts by name in order of first appearance (or as built), serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

    /// The limits reached, by name, in table order.
    pub fn of_limits(counts: &LimitCounts) -> Counts {
        Counts(
            counts
                .reached()
                .map(|(limit, n)| (limit.name().to_owned(), n))
                .collect(),
        )
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
    pub auth: Option<Box<AuthReport>>,
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
    /// The message's bytes, when the session stage kept them (for the interactive view).
    #[serde(skip)]
    pub raw: Option<Arc<RawMessage>>,
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
    /// The connection's TLS; absent for clear HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
}

/// A connection's TLS in the report: what was negotiated and whether it was decrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsReport {
    /// `TLS 1.3`, `TLS 1.2`, … (`TLS` without a ServerHello).
    pub version: String,
    /// The IANA name of the cipher suite.
    pub cipher_suite: Option<String>,
    pub decrypted: bool,
    /// Why it was not (or not wholly) decrypted, as a code (`no-key`, `record-lost`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl TlsReport {
    pub fn of(t: &crate::tls::TlsSummary) -> TlsReport {
        TlsReport {
            version: t.version_name(),
            cipher_suite: t.cipher_suite_name(),
            decrypted: t.decrypted,
            reason: t.reason.map(crate::tls::TlsReason::code),
        }
    }

    /// `TLS 1.3 decrypted`, `TLS 1.2 not decrypted: no key for this client random`.
    pub fn label(&self) -> String {
        match (self.decrypted, self.reason) {
            (true, None) => format!("{} decrypted", self.version),
            (true, Some(r)) => format!("{} decrypted in part ({r})", self.version),
            (false, Some(r)) => format!("{} not decrypted ({r})", self.version),
            (false, None) => format!("{} not decrypted", self.version),
        }
    }
}

/// TLS connections to the ACS and file servers, decrypted or not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsCounts {
    /// Connections whose records were all decrypted.
    pub decrypted: u64,
    /// Connections with records not decrypted (none of them, or from where decryption
    /// stopped).
    pub undecrypted: u64,
    /// The `undecrypted` connections by reason code (`no-key`: 2), only the reasons given.
    pub reasons: Counts,
}

impl TlsCounts {
    /// The counts from connections not wholly decrypted by reason (in the order of
    /// [`crate::tls::TlsReason::ALL`]).
    pub fn new(decrypted: u64, undecrypted: &[u64]) -> TlsCounts {
        let reasons: Vec<(String, u64)> = crate::tls::TlsReason::ALL
            .iter()
            .zip(undecrypted)
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| (r.code().to_owned(), *n))
            .collect();
        TlsCounts {
            decrypted,
            undecrypted: undecrypted.iter().sum(),
            reasons: Counts(reasons),
        }
    }

    /// `no-key ×2, record-lost ×1`.
    pub fn reasons_label(&self) -> String {
        self.reasons
            .0
            .iter()
            .map(|(code, n)| format!("{code} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
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
    /// The resource limits that cut the session short, in table order; left out when none did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<&'static str>,
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
        self.add_item(None, s.findings.iter().map(|d| (d.code, d.severity)));
    }

    pub fn add_transaction(&mut self, t: &TransactionReport) {
        self.add_item(
            Some(t.outcome),
            t.findings.iter().map(|d| (d.code, d.severity)),
        );
    }

    /// One more session (`outcome` `None`) or transaction of this outcome, with the code and
    /// severity of each of its findings.
    pub fn add_item(
        &mut self,
        outcome: Option<Outcome>,
        findings: impl IntoIterator<Item = (&'static str, Severity)>,
    ) {
        match outcome {
            Some(outcome) => self.add_outcome(outcome),
            None => self.sessions += 1,
        }
        for (code, severity) in findings {
            self.add_finding(code, severity);
        }
    }

    /// One more transaction, of this outcome (its findings are added apart).
    pub fn add_outcome(&mut self, outcome: Outcome) {
        self.transactions += 1;
        match outcome {
            Outcome::Success => self.by_outcome.success += 1,
            Outcome::Failed => self.by_outcome.failed += 1,
            Outcome::Incomplete => self.by_outcome.incomplete += 1,
        }
    }

    pub fn add_findings(&mut self, findings: &[FindingReport]) {
        for d in findings {
            self.add_finding(d.code, d.severity);
        }
    }

    /// One more finding of this code and severity.
    pub fn add_finding(&mut self, code: &str, severity: Severity) {
        self.findings.add(code);
        match severity {
            Severity::Error => self.by_severity.error += 1,
            Severity::Warning => self.by_severity.warning += 1,
            Severity::Info => self.by_severity.info += 1,
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
    /// The fetch's TLS (HTTPS); absent for clear HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
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
    /// The resource limits that cut the transaction short, in table order; left out when none
    /// did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<&'static str>,
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

/// A `name=value` pair (cookies).
#[derive(Clone, Debug, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
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

/// A CWMP fault with its meaning.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    pub code: Option<u32>,
    pub string: String,
    pub meaning: Option<&'static str>,
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
