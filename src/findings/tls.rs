//! TLS findings: the TLS of one connection judged from its handshake (`tls-weak-version`,
//! `tls-weak-cipher`, `tls-certificate-expired`, `tls-certificate-name-mismatch`,
//! `tls-handshake-failed`). The rules read only [`TlsFacts`], what the handshake showed.

use super::{Code, Finding};
use crate::session::ServerRole;
use crate::tls::TlsSummary;
use crate::types::{Dir, FrameRef, Nanos, format_ts};
use std::net::{IpAddr, SocketAddr};
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherSuite};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// A server certificate larger than this is not examined (real leaf certificates are a few
/// kilobytes; a Certificate message may claim up to 16 MiB).
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// Names of one certificate examined for `tls-certificate-name-mismatch`; the rest are ignored.
const MAX_NAMES_CHECKED: usize = 1000;
/// Names of the certificate a message lists; the rest are counted.
const MAX_NAMES_SHOWN: usize = 8;
/// Characters of one name or subject a message shows.
const MAX_NAME_CHARS: usize = 100;

const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// Which server of the CWMP traffic the connection goes to: it names both ends in messages
/// and says which URL the expected host comes from.
pub use crate::session::ServerRole as TlsServer;

impl ServerRole {
    fn name(self) -> &'static str {
        match self {
            ServerRole::Acs => "ACS",
            ServerRole::FileServer => "file server",
            ServerRole::Cpe => "CPE",
        }
    }

    /// The other end: the ACS sends Connection Requests, the CPE opens everything else.
    fn client_name(self) -> &'static str {
        match self {
            ServerRole::Cpe => "ACS",
            ServerRole::Acs | ServerRole::FileServer => "CPE",
        }
    }

    /// Where the host the client expects comes from.
    fn url_name(self) -> &'static str {
        match self {
            ServerRole::Acs => "ManagementServer.URL",
            ServerRole::FileServer => "the transfer URL",
            ServerRole::Cpe => "ConnectionRequestURL",
        }
    }
}

/// Where the host a client expects comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostSource {
    /// The URL the CWMP traffic gave it (see [`TlsServer`]).
    Url,
    /// The server name of its ClientHello, when no URL is known.
    Sni,
}

/// An alert seen on the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsAlert {
    /// Level and description as sent; `None` for an encrypted alert that could not be opened.
    pub content: Option<(u8, u8)>,
    /// The client sent it (else the server).
    pub from_client: bool,
    /// The frame that carries it.
    pub frame: FrameRef,
}

/// What one connection's TLS handshake showed: all the TLS rules need.
#[derive(Clone, Debug)]
pub struct TlsFacts<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub role: TlsServer,
    /// Negotiated version (`0x0301` TLS 1.0 … `0x0304` TLS 1.3), if a ServerHello was seen.
    pub version: Option<u16>,
    /// Negotiated cipher suite (IANA id), if a ServerHello was seen.
    pub cipher_suite: Option<u16>,
    /// The server's leaf certificate (DER), if the handshake showed it.
    pub server_certificate: Option<&'a [u8]>,
    /// The host the client was told to reach (a DNS name or an IP literal, `[…]` allowed).
    pub expected_host: Option<&'a str>,
    pub host_source: HostSource,
    /// Capture time of the handshake (of the Certificate message when there is one).
    pub at: Nanos,
    /// Both Finished messages were seen (or the connection carried application data).
    pub finished: bool,
    /// The first alert of the connection, if any.
    pub alert: Option<TlsAlert>,
    pub server_hello_frame: Option<FrameRef>,
    pub certificate_frame: Option<FrameRef>,
    /// The connection's first frame, cited when the handshake's own frame is unknown.
    pub first_frame: FrameRef,
}

/// Where a connection is, for [`TlsFacts::of`].
#[derive(Clone, Copy, Debug)]
pub struct TlsEnds<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub role: TlsServer,
    /// The host of the URL the client was given, when the CWMP traffic showed it.
    pub url_host: Option<&'a str>,
    /// The connection's first frame and its time.
    pub first_frame: FrameRef,
    pub opened: Nanos,
}

impl<'a> TlsFacts<'a> {
    /// The facts of one connection from what the TLS stage saw of it; the expected host is
    /// the URL's, else the ClientHello's server name.
    pub fn of(t: &'a TlsSummary, ends: TlsEnds<'a>) -> TlsFacts<'a> {
        let (expected_host, host_source) = match ends.url_host {
            Some(host) => (Some(host), HostSource::Url),
            None => (t.sni.as_deref(), HostSource::Sni),
        };
        TlsFacts {
            client: ends.client,
            server: ends.server,
            role: ends.role,
            version: t.version,
            cipher_suite: t.cipher_suite,
            server_certificate: t.server_certificate.as_deref(),
            expected_host,
            host_source,
            at: t.handshake_ts.unwrap_or(ends.opened),
            finished: t.finished,
            alert: t.alert.map(|a| TlsAlert {
                content: a.content,
                from_client: a.from == Dir::ToServer,
                frame: a.frame,
            }),
            server_hello_frame: t.server_hello_frame,
            certificate_frame: t.certificate_frame,
            first_frame: t.client_hello_frame.unwrap_or(ends.first_frame),
        }
    }
}

/// Every TLS finding of one connection's handshake.
pub fn judge_tls(f: &TlsFacts, out: &mut Vec<Finding>) {
    let hello = [f.server_hello_frame.unwrap_or(f.first_frame)];
    let (client, server) = ends(f);
    if let Some(version) = f.version.filter(|&v| is_weak_version(v)) {
        out.push(
            Finding::new(
                Code::TlsWeakVersion,
                format!(
                    "{} negotiated between the {client} and the {server}: RFC 8996 deprecates \
                     everything before TLS 1.2",
                    version_name(version),
                ),
            )
            .frames(hello),
        );
    }
    if let Some(id) = f.cipher_suite
        && let Some((suite, reasons)) = weak_cipher(id)
    {
        out.push(
            Finding::new(
                Code::TlsWeakCipher,
                format!(
                    "cipher suite {} (0x{:04x}) negotiated between the {client} and the \
                     {server}: {}",
                    suite.name,
                    id,
                    reasons.join("; ")
                ),
            )
            .frames(hello),
        );
    }
    if let Some(der) = f.server_certificate {
        judge_certificate(f, der, out);
    }
    if let Some(alert) = f.alert.filter(|_| !f.finished) {
        out.push(handshake_failed(f, &alert));
    }
}

/// `the CPE 192.0.2.1:40000`, `the ACS 198.51.100.1:443` (without the article).
fn ends(f: &TlsFacts) -> (String, String) {
    (
        format!("{} {}", f.role.client_name(), f.client),
        format!("{} {}", f.role.name(), f.server),
    )
}

/// SSL 2.0 and 3.0, TLS 1.0 and 1.1 (unknown values are not judged).
pub fn is_weak_version(version: u16) -> bool {
    matches!(version, 0x0002 | 0x0200 | 0x0300 | 0x0301 | 0x0302)
}

/// `TLS 1.2`, `SSL 3.0`, or the hex value of a version of no name.
pub fn version_name(version: u16) -> String {
    match version {
        0x0002 | 0x0200 => "SSL 2.0".to_owned(),
        0x0300 => "SSL 3.0".to_owned(),
        0x0301 => "TLS 1.0".to_owned(),
        0x0302 => "TLS 1.1".to_owned(),
        0x0303 => "TLS 1.2".to_owned(),
        0x0304 => "TLS 1.3".to_owned(),
        other => format!("version 0x{other:04x}"),
    }
}

/// The suite of `id` and why it is weak (no encryption, export grade, RC4, DES, 3DES, 64-bit
/// block ciphers, anonymous key exchange), or `None` for a suite of no weakness or unknown id.
pub fn weak_cipher(id: u16) -> Option<(&'static TlsCipherSuite, Vec<&'static str>)> {
    let suite = TlsCipherSuite::from_id(id)?;
    if suite.name.ends_with("_SCSV") {
        return None;
    }
    let mut reasons = Vec::new();
    if suite.enc == TlsCipherEnc::Null {
        reasons.push("no encryption (NULL)");
    }
    if suite.name.contains("_EXPORT") {
        reasons.push("export grade (keys of 40 to 56 bits)");
    }
    match suite.enc {
        TlsCipherEnc::Rc4 => reasons.push("RC4 (prohibited by RFC 7465)"),
        TlsCipherEnc::Des => reasons.push("DES (56-bit key)"),
        TlsCipherEnc::TripleDes => reasons.push("3DES (64-bit blocks, Sweet32)"),
        TlsCipherEnc::Rc2 => reasons.push("RC2"),
        TlsCipherEnc::Idea => reasons.push("IDEA (64-bit blocks)"),
        _ => {}
    }
    if suite.au == TlsCipherAu::Null {
        reasons.push("anonymous: the server is not authenticated");
    }
    (!reasons.is_empty()).then_some((suite, reasons))
}

/// The name of an alert description (RFC 8446 §6, RFC 5246 §7.2 and later registrations).
pub fn alert_name(description: u8) -> Option<&'static str> {
    Some(match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return None,
    })
}

/// Whether the alert says the sender refused its peer's certificate.
fn rejects_certificate(description: u8) -> bool {
    matches!(description, 42..=46 | 48)
}

/// `tls-handshake-failed` for an alert before the handshake finished, with what it usually
/// means.
fn handshake_failed(f: &TlsFacts, alert: &TlsAlert) -> Finding {
    let (client, server) = ends(f);
    let (sender, receiver, sender_role, receiver_role) = if alert.from_client {
        (client, server, f.role.client_name(), f.role.name())
    } else {
        (server, client, f.role.name(), f.role.client_name())
    };
    let Some((level, description)) = alert.content else {
        return Finding::new(
            Code::TlsHandshakeFailed,
            format!(
                "the {sender} sent an encrypted alert to the {receiver} instead of finishing \
                 the handshake (its description needs the keys)"
            ),
        )
        .frames([alert.frame]);
    };
    let name = alert_name(description).unwrap_or("unknown alert");
    let level = match level {
        1 => "warning".to_owned(),
        2 => "fatal".to_owned(),
        other => format!("level {other}"),
    };
    let meaning = match description {
        d if rejects_certificate(d) => {
            format!(": the {sender_role} rejected the {receiver_role}'s certificate")
        }
        116 if !alert.from_client => {
            format!(
                ": the {sender_role} wants a client certificate the {receiver_role} did not send"
            )
        }
        40 => ": no version, cipher suite or group acceptable to both sides".to_owned(),
        70 => ": no TLS version acceptable to both sides".to_owned(),
        71 => ": the client offers only suites too weak for the server".to_owned(),
        112 => ": the server knows no host of the name the client asked for (SNI)".to_owned(),
        51 => ": a handshake signature or Finished did not verify".to_owned(),
        20 => ": a record failed its integrity check".to_owned(),
        _ => String::new(),
    };
    let mut frames = Vec::with_capacity(2);
    if alert.from_client && rejects_certificate(description) {
        frames.extend(f.certificate_frame);
    }
    frames.push(alert.frame);
    Finding::new(
        Code::TlsHandshakeFailed,
        format!(
            "the {sender} sent alert {name} ({description}, {level}) to the {receiver} instead \
             of finishing the handshake{meaning}"
        ),
    )
    .frames(frames)
}

/// `tls-certificate-expired` and `tls-certificate-name-mismatch` for the server's leaf
/// certificate. A certificate that is too large or cannot be parsed is not judged.
fn judge_certificate(f: &TlsFacts, der: &[u8], out: &mut Vec<Finding>) {
    if der.len() > MAX_CERTIFICATE_BYTES {
        return;
    }
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return;
    };
    let frames = [f.certificate_frame.unwrap_or(f.first_frame)];
    let subject = shown(&cert.subject().to_string());
    let server = ends(f).1;
    let validity = cert.validity();
    let (from, until) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let at = f.at.div_euclid(NANOS_PER_SEC);
    let state = if at > until {
        Some(format!("expired {} before the handshake", span(at - until)))
    } else if at < from {
        Some(format!(
            "is not valid until {} after the handshake",
            span(from - at)
        ))
    } else {
        None
    };
    if let Some(state) = state {
        out.push(
            Finding::new(
                Code::TlsCertificateExpired,
                format!(
                    "the certificate of the {server} ({subject}) {state}: valid from {} to {}, \
                     handshake at {}",
                    utc(&validity.not_before),
                    utc(&validity.not_after),
                    format_ts(f.at)
                ),
            )
            .frames(frames),
        );
    }
    let Some(host) = f.expected_host.and_then(Host::parse) else {
        return;
    };
    let Some(names) = CertificateNames::of(&cert) else {
        return;
    };
    if !names.cover(&host) {
        let whence = match f.host_source {
            HostSource::Url => format!("the host of {}", f.role.url_name()),
            HostSource::Sni => format!("the name the {} asked for (SNI)", f.role.client_name()),
        };
        out.push(
            Finding::new(
                Code::TlsCertificateNameMismatch,
                format!(
                    "the certificate of the {server} does not name {}, {whence}: it names {}",
                    host.shown(),
                    names.listed()
                ),
            )
            .frames(frames),
        );
    }
}

/// A certificate time as `2021-01-01T12:00:00Z`.
fn utc(t: &x509_parser::time::ASN1Time) -> String {
    t.to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("@{}", t.timestamp()))
}

/// A span of seconds in the unit that reads best: `40 s`, `5.0 h`, `731 days`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 86_400 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{} days", s / 86_400),
    }
}

/// Text from a certificate as a message shows it: control characters replaced, at most
/// [`MAX_NAME_CHARS`] characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(MAX_NAME_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The host a client was told to reach.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    /// Lower case, without a trailing dot.
    Dns(String),
}

impl Host {
    /// An IP literal (IPv6 with or without brackets) or a DNS name; `None` for anything that
    /// is neither (empty, a port, a zone, spaces), which cannot be judged.
    fn parse(text: &str) -> Option<Host> {
        let text = text.trim();
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Some(Host::Ip(ip.to_canonical()));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        let numeric_top = name
            .rsplit('.')
            .next()
            .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()));
        let valid = !numeric_top
            && !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        valid.then(|| Host::Dns(name.to_lowercase()))
    }

    fn shown(&self) -> String {
        match self {
            Host::Ip(ip) => ip.to_string(),
            Host::Dns(name) => shown(name),
        }
    }
}

/// The identities a certificate presents for the name check (RFC 6125 / RFC 9525).
#[derive(Debug, Default)]
struct CertificateNames {
    /// subjectAltName dNSName entries.
    dns: Vec<String>,
    /// subjectAltName iPAddress entries.
    ips: Vec<IpAddr>,
    /// Subject common names; used only when there is no dNSName.
    common_names: Vec<String>,
}

impl CertificateNames {
    /// The names of `cert` (the first [`MAX_NAMES_CHECKED`]), or `None` when its
    /// subjectAltName extension cannot be read (then the names are not judged).
    fn of(cert: &X509Certificate) -> Option<CertificateNames> {
        let mut names = CertificateNames::default();
        if let Some(san) = cert.subject_alternative_name().ok()? {
            for name in san.value.general_names.iter().take(MAX_NAMES_CHECKED) {
                match name {
                    GeneralName::DNSName(dns) => names.dns.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => names.ips.extend(ip_of(bytes)),
                    _ => {}
                }
            }
        }
        if names.dns.is_empty() {
            names.common_names = cert
                .subject()
                .iter_common_name()
                .take(MAX_NAMES_CHECKED)
                .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
                .collect();
        }
        Some(names)
    }

    /// Whether one of the names is `host`: iPAddress entries for an IP literal; dNSName
    /// entries (the subject CN when there is none) for a DNS name.
    fn cover(&self, host: &Host) -> bool {
        match host {
            Host::Ip(ip) => self.ips.iter().any(|c| c.to_canonical() == *ip),
            Host::Dns(name) => self
                .dns
                .iter()
                .chain(&self.common_names)
                .any(|pattern| dns_name_matches(pattern, name)),
        }
    }

    /// `DNS:a.example.net, IP:192.0.2.1 and 3 more`, or `no host`.
    fn listed(&self) -> String {
        let all: Vec<String> = self
            .dns
            .iter()
            .map(|d| format!("DNS:{}", shown(d)))
            .chain(self.ips.iter().map(|ip| format!("IP:{ip}")))
            .chain(
                self.common_names
                    .iter()
                    .map(|cn| format!("CN={}", shown(cn))),
            )
            .collect();
        if all.is_empty() {
            return "no host".to_owned();
        }
        let mut text = all
            .iter()
            .take(MAX_NAMES_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if all.len() > MAX_NAMES_SHOWN {
            text.push_str(&format!(" and {} more", all.len() - MAX_NAMES_SHOWN));
        }
        text
    }
}

/// The address of an iPAddress entry (4 or 16 bytes).
fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Whether the certificate name `pattern` matches `host` (lower case, no trailing dot): equal
/// ignoring ASCII case, or a wildcard `*` that is the whole left-most label of a pattern with
/// at least two more labels and stands for exactly one non-empty label of the host.
fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    match pattern.strip_prefix("*.") {
        Some(rest) => {
            let rest_ok = !rest.contains('*')
                && rest.split('.').filter(|l| !l.is_empty()).count() >= 2
                && !rest.split('.').any(str::is_empty);
            rest_ok
                && host.split_once('.').is_some_and(|(first, tail)| {
                    !first.is_empty() && tail.eq_ignore_ascii_case(rest)
                })
        }
        None => !pattern.contains('*') && pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests;
