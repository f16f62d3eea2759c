//! Builds report objects from finished sessions, transactions and findings: frame labels,
//! times relative to the start, decoded envelopes and credentials, with secrets redacted
//! ([`super::redact`]) unless asked for. A session or transaction is consumed: its strings
//! move into the report rather than being copied.

use super::Finding;
use super::model::*;
use super::redact::{is_secret_name, redact_args, redact_url_owned};
use crate::cwmp::{CwmpNs, DeviceId, Envelope, FaultStruct, Rpc, fault_meaning};
use crate::http::auth::{Challenge, Credentials, DigestParams};
use crate::session::{MessageKind, Session, SessionMessage, message_summary};
use crate::transaction::{Party, Transaction};
use crate::types::{FrameRef, Nanos, format_ts, ip_text, socket_text};

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

fn party(p: Party) -> &'static str {
    match p {
        Party::Cpe => "cpe",
        Party::Acs => "acs",
        Party::FileServer => "file-server",
    }
}

impl CpeInfo {
    /// The CPE at `ip` with this DeviceId (empty fields left out).
    pub fn new(ip: std::net::IpAddr, device: Option<&DeviceId>) -> CpeInfo {
        let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        CpeInfo {
            ip: ip_text(ip),
            manufacturer: device.and_then(|d| non_empty(&d.manufacturer)),
            oui: device.and_then(|d| non_empty(&d.oui)),
            product_class: device.and_then(|d| non_empty(&d.product_class)),
            serial: device.and_then(|d| non_empty(&d.serial_number)),
            inferred: false,
        }
    }
}

impl TransactionReport {
    pub fn build(t: Transaction, opts: &ReportOptions) -> TransactionReport {
        let origin = t.steps.first().map(|s| s.ts).unwrap_or(t.start);
        TransactionReport {
            id: numbered('t', t.number),
            kind: t.kind.as_str(),
            cpe: CpeInfo::new(t.cpe.ip, t.cpe.device.as_ref()),
            acs: AcsInfo {
                ip: ip_text(t.acs.ip()),
                port: t.acs.port(),
            },
            file_server: t.file_server.map(|a| ServerInfo {
                host: url_host(&t.url).unwrap_or_else(|| ip_text(a.ip())),
                ip: ip_text(a.ip()),
                port: a.port(),
                tls: t
                    .file_conns
                    .iter()
                    .find_map(|c| c.tls.as_deref())
                    .map(TlsReport::of),
            }),
            command_key: t.command_key,
            file_type: t.file_type,
            url: redact_url_owned(t.url, opts),
            announced_size: t.announced_size,
            received_bytes: t.received_bytes,
            file_hash: t.file_hash.map(|h| hex_lower(&h)),
            download_status: t.download_status,
            outcome: t.outcome,
            limits_hit: t.limits_hit.names(),
            fault: t.fault.filter(|f| f.code != Some(0)).map(fault_json),
            sessions: t.sessions.iter().map(|&n| numbered('s', n)).collect(),
            start: format_ts(t.start),
            end: format_ts(t.end),
            versions: t
                .versions
                .into_iter()
                .map(|(parameter, before, after)| VersionReport {
                    parameter,
                    before,
                    after,
                })
                .collect(),
            steps: t
                .steps
                .into_iter()
                .map(|s| StepReport {
                    step: s.step,
                    what: s.what,
                    frame: s.frame.map(|f| opts.frame(f)),
                    first_frame: s.first_frame.map(|f| opts.frame(f)),
                    ts: format_ts(s.ts),
                    from: party(s.from),
                    to: party(s.to),
                    session: s.session.map(|n| numbered('s', n)),
                    close: s.close,
                    rel: (s.ts - origin) as f64 / 1e9,
                })
                .collect(),
            findings: t
                .findings
                .into_iter()
                .map(|f| finding_report(f, opts))
                .collect(),
            number: t.number,
        }
    }
}

impl SessionReport {
    /// Builds the report of a finished session.
    pub fn build(s: Session, opts: &ReportOptions) -> SessionReport {
        let mut rpcs = Counts::default();
        for (_, env) in s.envelopes() {
            let name = env.rpc.name();
            if !name.is_empty() {
                rpcs.add(name);
            }
        }
        let cwmp_version = s.envelopes().find_map(|(_, e)| e.ns.as_ref()).map(ns_uri);
        let start = s.start;
        let messages: Vec<MessageReport> = s
            .messages
            .into_iter()
            .map(|m| message_report(m, start, opts))
            .collect();
        SessionReport {
            id: numbered('s', s.number),
            cpe: match (&s.device, &s.inferred_device) {
                (None, Some(inferred)) => CpeInfo {
                    inferred: true,
                    ..CpeInfo::new(s.cpe_ip, Some(inferred))
                },
                (device, _) => CpeInfo::new(s.cpe_ip, device.as_ref()),
            },
            acs: AcsInfo {
                ip: ip_text(s.acs.ip()),
                port: s.acs.port(),
            },
            start: format_ts(s.start),
            end: format_ts(s.end),
            duration: (s.end - s.start) as f64 / 1e9,
            events: s.events.into_iter().map(|e| e.code).collect(),
            connections: s.connections.len(),
            tcp: s
                .connections
                .iter()
                .map(|c| ConnectionReport {
                    cpe: socket_text(c.cpe),
                    acs: socket_text(c.acs),
                    opened: format_ts(c.ts),
                    closed: c.end.map(|(_, ts)| format_ts(ts)),
                    end: c.end.map(|(end, _)| end),
                    closed_rel: c.end.map(|(_, ts)| (ts - s.start) as f64 / 1e9),
                    tls: c.tls.as_deref().map(TlsReport::of),
                })
                .collect(),
            termination: s.termination.as_str(),
            limits_hit: s.limits_hit.names(),
            cwmp_version,
            rpcs,
            connection_request: s.connection_request.map(|cr| ConnectionRequestReport {
                acs_ip: ip_text(cr.acs_ip),
                cpe: socket_text(cr.cpe),
                uri: cr.uri,
                frame: opts.frame(cr.frame),
                ts: format_ts(cr.ts),
                challenged: cr.challenged,
                status: cr.final_status,
                answer_frame: cr.final_frame.map(|f| opts.frame(f)),
            }),
            messages,
            findings: s
                .findings
                .into_iter()
                .map(|f| finding_report(f, opts))
                .collect(),
            start_nanos: s.start,
        }
    }
}

/// A finding as the report shows it.
pub fn finding_report(f: Finding, opts: &ReportOptions) -> FindingReport {
    FindingReport {
        code: f.code.id(),
        severity: f.severity,
        message: f.message,
        frames: f.frames.iter().map(|fr| opts.frame(*fr)).collect(),
        cpe: None,
    }
}

/// A finding of no session or transaction as the report shows it, with the CPE it concerns.
pub fn capture_finding_report(
    f: Finding,
    cpe: Option<&crate::transaction::Cpe>,
    opts: &ReportOptions,
) -> FindingReport {
    FindingReport {
        cpe: cpe.map(|c| CpeInfo::new(c.ip, c.device.as_ref())),
        ..finding_report(f, opts)
    }
}

fn ns_uri(ns: &CwmpNs) -> String {
    match ns {
        CwmpNs::V1(n) => format!("urn:dslforum-org:cwmp-1-{n}"),
        CwmpNs::Unknown(u) => u.clone(),
    }
}

fn message_report(m: SessionMessage, session_start: Nanos, opts: &ReportOptions) -> MessageReport {
    let (from, to) = if m.from_cpe {
        ("cpe", "acs")
    } else {
        ("acs", "cpe")
    };
    let http = match (&m.http.method, &m.http.uri, m.http.status) {
        (Some(method), Some(uri), _) => {
            let mut line = String::with_capacity(method.len() + 1 + uri.len());
            line.push_str(method);
            line.push(' ');
            line.push_str(uri);
            line
        }
        (_, _, Some(status)) => {
            let reason = m.http.reason.as_deref().unwrap_or("");
            let mut line = String::with_capacity(4 + reason.len());
            line.push_str(itoa::Buffer::new().format(status));
            line.push(' ');
            line.push_str(reason);
            line.truncate(line.trim_end().len());
            line
        }
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
        rel: (m.ts - session_start) as f64 / 1e9,
        summary: message_summary(&m),
        ts_nanos: m.ts,
        step: m.step,
        body_bytes: m.http.body_len,
        complete: m.http.complete,
        auth: m.credentials.map(|c| Box::new(credentials_json(c, opts))),
        challenges: m.challenges.into_iter().map(challenge_json).collect(),
        cookies: m
            .cookies
            .into_iter()
            .map(|(name, v)| NameValue {
                name,
                value: opts.secret(v),
            })
            .collect(),
        set_cookies: m
            .set_cookies
            .into_iter()
            .map(|(name, v)| NameValue {
                name,
                value: opts.secret(v),
            })
            .collect(),
        envelopes: m
            .envelopes
            .into_iter()
            .map(|e| envelope_json(e, opts))
            .collect(),
        malformed: m.malformed.map(|e| MalformedReport {
            offset: e.offset,
            reason: e.reason,
        }),
        raw: m.raw,
    }
}

impl AuthReport {
    fn digest(d: DigestParams) -> AuthReport {
        AuthReport {
            scheme: "Digest".to_owned(),
            username: d.username,
            realm: d.realm,
            nonce: d.nonce,
            uri: d.uri,
            qop: d.qop,
            nc: d.nc,
            cnonce: d.cnonce,
            opaque: d.opaque,
            algorithm: d.algorithm,
            stale: d.stale,
            ..AuthReport::default()
        }
    }
}

fn credentials_json(c: Credentials, opts: &ReportOptions) -> AuthReport {
    match c {
        Credentials::Basic { username, password } => AuthReport {
            scheme: "Basic".to_owned(),
            username,
            password: password.map(|p| opts.secret(p)),
            ..AuthReport::default()
        },
        Credentials::Digest(mut d) => AuthReport {
            response: d.response.take().map(|r| opts.secret(r)),
            ..AuthReport::digest(d)
        },
        Credentials::Other { scheme } => AuthReport {
            scheme,
            ..AuthReport::default()
        },
    }
}

fn challenge_json(c: Challenge) -> AuthReport {
    match c {
        Challenge::Basic { realm } => AuthReport {
            scheme: "Basic".to_owned(),
            realm,
            ..AuthReport::default()
        },
        Challenge::Digest(d) => AuthReport::digest(d),
        Challenge::Other { scheme } => AuthReport {
            scheme,
            ..AuthReport::default()
        },
    }
}

fn fault_json(f: FaultStruct) -> FaultReport {
    FaultReport {
        code: f.code,
        meaning: f.code.and_then(fault_meaning),
        string: f.string,
    }
}

fn envelope_json(e: Envelope, opts: &ReportOptions) -> EnvelopeReport {
    let rpc = e.rpc.name().to_owned();
    let args = match e.rpc {
        Rpc::Inform(i) => Some(RpcArgs::Inform {
            device_id: DeviceIdReport {
                manufacturer: i.device_id.manufacturer,
                oui: i.device_id.oui,
                product_class: i.device_id.product_class,
                serial_number: i.device_id.serial_number,
            },
            events: i
                .events
                .into_iter()
                .map(|ev| EventReport {
                    code: ev.code,
                    command_key: ev.command_key,
                })
                .collect(),
            max_envelopes: i.max_envelopes,
            current_time: i.current_time,
            retry_count: i.retry_count,
            parameters: i
                .parameters
                .into_iter()
                .map(|p| ParameterReport {
                    value: if is_secret_name(&p.name) {
                        opts.secret(p.value)
                    } else {
                        redact_url_owned(p.value, opts)
                    },
                    name: p.name,
                    xsi_type: p.xsi_type,
                })
                .collect(),
        }),
        Rpc::InformResponse { max_envelopes } => Some(RpcArgs::InformResponse { max_envelopes }),
        Rpc::Download(d) => Some(RpcArgs::Download {
            command_key: d.command_key,
            file_type: d.file_type,
            url: redact_url_owned(d.url, opts),
            username: d.username,
            password: opts.secret(d.password),
            file_size: d.file_size,
            target_file_name: d.target_file_name,
            delay_seconds: d.delay_seconds,
            success_url: redact_url_owned(d.success_url, opts),
            failure_url: redact_url_owned(d.failure_url, opts),
        }),
        Rpc::DownloadResponse(d) => Some(RpcArgs::DownloadResponse {
            status: d.status,
            start_time: d.start_time,
            complete_time: d.complete_time,
        }),
        Rpc::TransferComplete(t) => Some(RpcArgs::TransferComplete {
            command_key: t.command_key,
            fault: fault_json(t.fault),
            start_time: t.start_time,
            complete_time: t.complete_time,
        }),
        Rpc::Fault(f) => Some(RpcArgs::Fault {
            faultcode: f.soap_faultcode,
            faultstring: f.soap_faultstring,
            fault: fault_json(f.cwmp),
            parameter_faults: f
                .parameter_faults
                .into_iter()
                .map(|p| ParameterFaultReport {
                    parameter: p.parameter_name,
                    fault: fault_json(p.fault),
                })
                .collect(),
        }),
        Rpc::Other { args, .. } => Some(RpcArgs::Other(redact_args(args, opts))),
        Rpc::Empty => None,
    };
    let h = e.header;
    EnvelopeReport {
        cwmp: e.ns.as_ref().map(ns_uri),
        id: h.id,
        hold_requests: h.hold_requests,
        no_more_requests: h.no_more_requests,
        session_timeout: h.session_timeout,
        supported_cwmp_versions: h.supported_cwmp_versions,
        use_cwmp_version: h.use_cwmp_version,
        rpc,
        args,
    }
}

/// An id of the report: `t12`, `s3` (one per session, transaction and step).
fn numbered(prefix: char, number: u64) -> String {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(number);
    let mut id = String::with_capacity(1 + digits.len());
    id.push(prefix);
    id.push_str(digits);
    id
}

/// Bytes as lowercase hexadecimal digits, as `sha256sum` prints a digest.
fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cwmp::{Download, Header};

    #[test]
    fn credentials_in_download_urls_are_redacted_unless_shown() {
        let envelope = Envelope {
            ns: None,
            header: Header::default(),
            rpc: Rpc::Download(Download {
                url: "http://fs:fspass@192.0.2.20/cfg.ini".to_owned(),
                success_url: "https://u:p@portal.example/ok".to_owned(),
                failure_url: "https://portal.example/failed".to_owned(),
                password: "fspass".to_owned(),
                ..Download::default()
            }),
        };
        let args = |show_secrets| {
            let opts = ReportOptions {
                show_secrets,
                files: Vec::new(),
            };
            serde_json::to_value(envelope_json(envelope.clone(), &opts).args).unwrap()
        };
        let hidden = args(false);
        assert_eq!(hidden["url"], "http://<redacted>@192.0.2.20/cfg.ini");
        assert_eq!(
            hidden["success_url"],
            "https://<redacted>@portal.example/ok"
        );
        assert_eq!(hidden["failure_url"], "https://portal.example/failed");
        assert_eq!(hidden["password"], "<redacted>");
        let shown = args(true);
        assert_eq!(shown["url"], "http://fs:fspass@192.0.2.20/cfg.ini");
        assert_eq!(shown["password"], "fspass");
    }
}
