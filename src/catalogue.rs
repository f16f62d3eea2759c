//! The finding vocabulary: the catalogue of finding codes ([`Code`], each with its id, default
//! severity and meaning), [`Severity`], one [`Finding`], and the [`Thresholds`] of the timing
//! and ratio rules. It depends on nothing but `types`, so every stage may hold findings; the
//! rules that raise them live in `findings`. docs/findings.md documents exactly these codes.

use crate::types::{FrameRef, Nanos};
use std::fmt;

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// The severity named `name` (as [`Severity::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// Declares [`Code`]: one line per code with its id, catalogue severity and meaning.
macro_rules! codes {
    ($($variant:ident = $id:literal, $severity:ident, $meaning:literal;)*) => {
        /// A finding code of the catalogue. Its [`id`](Code::id) is what reports print.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in the order of docs/findings.md.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case id (`transfer-fault`).
            pub fn id(self) -> &'static str {
                match self {
                    $(Code::$variant => $id,)*
                }
            }

            /// The catalogue severity (a rule may raise some codes higher; see
            /// [`Finding::with_severity`]).
            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// What the code means, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }

            /// The code of a stable id (`transfer-fault`), if it is one of the catalogue.
            pub fn from_id(id: &str) -> Option<Code> {
                match id {
                    $($id => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    // Authentication
    AcsAuthMissing = "acs-auth-missing", Warning,
        "The ACS accepted an Inform on plain HTTP without any challenge or credentials.";
    BasicAuthCleartext = "basic-auth-cleartext", Error,
        "Basic credentials sent over plain HTTP (to the ACS, the CPE or a file server).";
    AcsAuthFailed = "acs-auth-failed", Error,
        "Authentication with the ACS was refused or never completed.";
    AuthStaleNonce = "auth-stale-nonce", Info,
        "A 401 with stale=true: the Digest nonce expired.";
    FileAuthFailed = "file-auth-failed", Error,
        "The file server answered 401 to a request that carried credentials.";
    FileCredentialsUnused = "file-credentials-unused", Error,
        "The file server challenged and the CPE never retried with the Download's credentials.";
    ConnectionRequestUnauthenticated = "connection-request-unauthenticated", Error,
        "The CPE accepted a Connection Request without challenging it.";
    // Session structure
    InformNotFirst = "inform-not-first", Error,
        "The first CWMP request of a session is not an Inform.";
    MultipleInforms = "multiple-informs", Error,
        "A second Inform inside one session.";
    AcsHttpError = "acs-http-error", Error,
        "The ACS answered a CWMP POST with an error status.";
    CwmpIdMismatch = "cwmp-id-mismatch", Warning,
        "A response's cwmp:ID differs from its request's.";
    CwmpVersionMismatch = "cwmp-version-mismatch", Warning,
        "CPE and ACS use different or unknown cwmp namespaces.";
    HoldRequestsViolated = "hold-requests-violated", Error,
        "The CPE sent a request while HoldRequests was set.";
    RequestAfterEmptyPost = "request-after-empty-post", Warning,
        "The CPE sent a request after its empty POST.";
    MaxEnvelopesExceeded = "max-envelopes-exceeded", Warning,
        "An HTTP body holds more envelopes than the receiver's MaxEnvelopes.";
    RpcUnanswered = "rpc-unanswered", Error,
        "A request got neither response nor fault before the session ended.";
    ResponseMismatch = "response-mismatch", Error,
        "A response does not match the outstanding request.";
    SessionNotTerminated = "session-not-terminated", Warning,
        "The session ended without the ACS's empty HTTP response.";
    EmptyResponseNot204 = "empty-response-not-204", Info,
        "The ACS ended the session with 200 and an empty body instead of 204.";
    Pipelining = "pipelining", Warning,
        "The CPE sent its next POST before the previous response.";
    CookieNotReturned = "cookie-not-returned", Warning,
        "The CPE did not return a cookie the ACS set.";
    OverlappingSessions = "overlapping-sessions", Warning,
        "Two sessions of one CPE at the same time.";
    MalformedMessage = "malformed-message", Error,
        "HTTP framing or XML that cannot be parsed.";
    // Inform content
    EventMissing = "event-missing", Error,
        "An event the Inform must carry is absent.";
    EventDuplicate = "event-duplicate", Warning,
        "A numbered event twice in one Inform.";
    DeviceIdInvalid = "device-id-invalid", Warning,
        "A malformed DeviceId, or one that changed within a transaction.";
    ClockSkew = "clock-skew", Info,
        "The Inform's CurrentTime is far from the capture time.";
    // Retries and timing
    RetryCountNonzero = "retry-count-nonzero", Info,
        "RetryCount > 0 (raised to warning when it grows across a CPE's Informs).";
    RetryBackoffViolation = "retry-backoff-violation", Warning,
        "The gap between retries is outside the back-off window.";
    SlowResponse = "slow-response", Warning,
        "A response took longer than the threshold.";
    SessionTimeout = "session-timeout", Error,
        "A gap inside a session longer than the session timeout.";
    ConnectionRequestTiming = "connection-request-timing", Warning,
        "No timely Inform with 6 CONNECTION REQUEST after an accepted Connection Request.";
    // Transfers
    DownloadRejected = "download-rejected", Error,
        "The CPE answered the Download with a Fault.";
    FileNotFetched = "file-not-fetched", Warning,
        "DownloadResponse Status 1 but no request for the file in the capture.";
    FileUrlMismatch = "file-url-mismatch", Warning,
        "The CPE fetched another host, port or path than the Download URL.";
    FileHttpError = "file-http-error", Error,
        "The file server answered 403, 404 or 5xx.";
    FileSizeMismatch = "file-size-mismatch", Error,
        "The file body differs from FileSize or was cut short.";
    TransferCompleteMissing = "transfer-complete-missing", Error,
        "A Download with Status 1 was never reported by a TransferComplete.";
    CommandKeyMismatch = "command-key-mismatch", Error,
        "A TransferComplete or M Download CommandKey matches no outstanding Download.";
    TransferFault = "transfer-fault", Error,
        "TransferComplete with a FaultCode other than 0.";
    TransferContradictsCapture = "transfer-contradicts-capture", Warning,
        "The TransferComplete contradicts the fetch the capture shows.";
    TransferTimesInconsistent = "transfer-times-inconsistent", Warning,
        "TransferComplete times are inconsistent or do not cover the observed fetch.";
    TransferCompleteRepeated = "transfer-complete-repeated", Warning,
        "A TransferComplete already reported in an earlier session.";
    UnexpectedReboot = "unexpected-reboot", Warning,
        "1 BOOT without M Reboot after a configuration download.";
    UnexpectedBootstrap = "unexpected-bootstrap", Error,
        "0 BOOTSTRAP after an update (factory reset or ACS URL change).";
    VersionUnchanged = "version-unchanged", Warning,
        "After a successful transfer the version parameter did not change.";
    RollbackSuspected = "rollback-suspected", Warning,
        "The TRANSFER COMPLETE session got no InformResponse: a rollback is likely.";
    // TCP and capture
    TcpReset = "tcp-reset", Error,
        "A connection was reset inside a CWMP session or file transfer.";
    TcpRetransmissions = "tcp-retransmissions", Warning,
        "Too many of a connection's data segments are retransmissions.";
    CaptureGap = "capture-gap", Warning,
        "Bytes lost by the capture inside a reassembled stream.";
    HandshakeFailed = "handshake-failed", Error,
        "A SYN to a CWMP or file-server port was never answered.";
    TlsOpaque = "tls-opaque", Info,
        "An encrypted connection to an ACS or file server: only timing and sizes are known.";
    // TLS
    TlsWeakVersion = "tls-weak-version", Warning,
        "A TLS version before 1.2 (SSL 3.0, TLS 1.0, TLS 1.1) was negotiated.";
    TlsWeakCipher = "tls-weak-cipher", Error,
        "A cipher suite without encryption, export grade, RC4, DES, 3DES or anonymous was negotiated.";
    TlsCertificateExpired = "tls-certificate-expired", Error,
        "The server's certificate was expired or not yet valid at the handshake.";
    TlsCertificateNameMismatch = "tls-certificate-name-mismatch", Error,
        "The server's certificate does not name the host of the URL the client was given.";
    TlsHandshakeFailed = "tls-handshake-failed", Error,
        "An alert instead of a finished TLS handshake.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// One finding: a catalogue code, its severity, a one-line message naming the concrete values,
/// and the frames where it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub frames: Vec<FrameRef>,
    /// Index of the session message it concerns (to print it under that arrow), if any.
    pub message_index: Option<usize>,
}

impl Finding {
    /// A finding with the code's catalogue severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.severity(),
            message: message.into(),
            frames: Vec::new(),
            message_index: None,
        }
    }

    /// Raises (or lowers) the severity where the rule says so (`retry-count-nonzero` is a
    /// warning when the count grows).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds the frames where the finding shows.
    pub fn frames(mut self, frames: impl IntoIterator<Item = FrameRef>) -> Self {
        self.frames.extend(frames);
        self
    }

    /// Ties the finding to one message of its session.
    pub fn at_message(mut self, index: usize) -> Self {
        self.message_index = Some(index);
        self
    }
}

/// Thresholds of the timing and ratio rules (each has a command-line flag).
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// `slow-response`: a response later than this (`--slow-response`, 5 s).
    pub slow_response: Nanos,
    /// `session-timeout`: a gap inside a session longer than this, unless the CPE's
    /// SessionTimeout says otherwise (`--session-timeout`, 30 s).
    pub session_timeout: Nanos,
    /// `clock-skew`: Inform CurrentTime this far from the capture time (`--clock-skew`, 300 s).
    pub clock_skew: Nanos,
    /// `connection-request-timing`: the Inform must follow an accepted Connection Request
    /// within this (`--cr-timeout`, 30 s).
    pub connection_request_timeout: Nanos,
    /// `tcp-retransmissions`: share of a connection's data segments that are retransmissions
    /// (`--retransmission-threshold`, 5 %).
    pub retransmission_ratio: f64,
    /// Retry back-off window of `retry-backoff-violation`: m (s) and k of
    /// `[m·(k/1000)^(n−1), m·(k/1000)^n]` (`--retry-min-wait`, 5; `--retry-interval-multiplier`, 2000).
    pub retry_min_wait: f64,
    pub retry_interval_multiplier: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        const S: Nanos = 1_000_000_000;
        Thresholds {
            slow_response: 5 * S,
            session_timeout: 30 * S,
            clock_skew: 300 * S,
            connection_request_timeout: 30 * S,
            retransmission_ratio: 0.05,
            retry_min_wait: 5.0,
            retry_interval_multiplier: 2000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = Code::ALL.iter().map(|c| c.id()).collect();
        assert!(ids.iter().all(|id| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Code::ALL.len());
    }

    #[test]
    fn a_finding_takes_the_catalogue_severity() {
        let f = Finding::new(Code::RetryCountNonzero, "x");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            f.with_severity(Severity::Warning).severity,
            Severity::Warning
        );
        assert_eq!(Code::TransferFault.to_string(), "transfer-fault");
    }

    #[test]
    fn every_id_leads_back_to_its_code() {
        for &code in Code::ALL {
            assert_eq!(Code::from_id(code.id()), Some(code));
        }
        assert_eq!(Code::from_id("no-such-code"), None);
    }
}
