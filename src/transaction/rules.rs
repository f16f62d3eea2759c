//! The transfer findings of the catalogue (deviations.md, "Transfers", and the file-server side
//! of "Authentication" and "TCP and capture"), judged on one transaction.

use super::{Kind, OpenTx, Outcome, SECOND, Step};
use crate::cwmp::{FaultStruct, Rpc, TransferComplete, fault_meaning};
use crate::findings::datetime::known_nanos;
use crate::findings::{Code, Finding, Thresholds};
use crate::http::auth::Credentials;
use crate::session::{ConnRecord, Session};
use crate::tcp::ConnEnd;
use crate::types::{FrameRef, Nanos};

/// Tolerance between the times a CPE reports and what the capture shows.
const TIME_TOLERANCE: Nanos = 2 * SECOND;

fn fault_text(f: &FaultStruct) -> String {
    match f.code {
        Some(code) => match fault_meaning(code) {
            Some(meaning) => format!("{code} ({meaning})"),
            None => format!("{code}"),
        },
        None => "a fault without a code".to_owned(),
    }
}

/// Whether a parameter is one of the version parameters the ladder compares.
fn version_param(name: &str) -> bool {
    name.ends_with("DeviceInfo.SoftwareVersion")
        || (name.contains("DeviceInfo.VendorConfigFile.") && name.ends_with(".Version"))
}

fn inform_params(s: &Session) -> Vec<(String, String)> {
    s.inform()
        .map(|i| {
            i.parameters
                .iter()
                .filter(|p| version_param(&p.name))
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Version parameters as the ordering session's Inform reported them.
pub fn before_versions(o: &mut OpenTx, s: &Session) {
    o.tx.versions = inform_params(s)
        .into_iter()
        .map(|(name, value)| (name, Some(value), None))
        .collect();
}

/// Version parameters as the reporting session's Inform reported them.
pub fn after_versions(o: &mut OpenTx, s: &Session) {
    for (name, value) in inform_params(s) {
        match o.tx.versions.iter_mut().find(|(n, _, _)| *n == name) {
            Some(entry) => entry.2 = Some(value),
            None => o.tx.versions.push((name, None, Some(value))),
        }
    }
}

/// `device-id-invalid`: the DeviceId changed between the Download and its report.
pub fn device_changed(o: &mut OpenTx, s: &Session) {
    let (Some(before), Some(after)) = (&o.device_at_order, &s.device) else {
        return;
    };
    if before.oui != after.oui || before.serial_number != after.serial_number {
        o.tx.findings.push(Finding::new(
            Code::DeviceIdInvalid,
            format!(
                "DeviceId changed within the transaction: {}-{} at the Download, {}-{} in session s{}",
                before.oui, before.serial_number, after.oui, after.serial_number, s.number
            ),
        ));
    }
}

/// The CPE's answer to the Download ordered at message `index`: DownloadResponse (Status 0 or
/// 1) or a Fault.
pub fn order_answer(o: &mut OpenTx, s: &Session, index: usize, id: Option<&str>) {
    let answers = s.messages.iter().skip(index + 1).filter(|m| m.from_cpe);
    let mut fallback = None;
    for m in answers {
        for e in &m.envelopes {
            let fits = match &e.rpc {
                Rpc::Fault(_) => true,
                Rpc::DownloadResponse(_) => !o.order.upload,
                Rpc::Other { name, .. } => o.order.upload && name == "UploadResponse",
                _ => false,
            };
            if !fits {
                continue;
            }
            if id.is_some() && e.header.id.as_deref() == id {
                apply_answer(o, &e.rpc, m.last_frame);
                return;
            }
            fallback.get_or_insert((e.rpc.clone(), m.last_frame));
        }
    }
    if let Some((rpc, frame)) = fallback {
        apply_answer(o, &rpc, frame);
    }
}

fn apply_answer(o: &mut OpenTx, rpc: &Rpc, frame: FrameRef) {
    o.answer_frame = Some(frame);
    match rpc {
        Rpc::DownloadResponse(d) => {
            o.tx.download_status = d.status;
            if d.status == Some(0) {
                o.tx.outcome = Outcome::Success;
                o.done = true;
            }
        }
        Rpc::Other { .. } => {
            let status = rpc.arg("Status").and_then(|v| v.trim().parse().ok());
            o.tx.download_status = status;
            if status == Some(0) {
                o.tx.outcome = Outcome::Success;
                o.done = true;
            }
        }
        Rpc::Fault(f) => {
            o.tx.fault = Some(f.cwmp.clone());
            o.tx.outcome = Outcome::Failed;
            o.done = true;
            o.tx.findings.push(
                Finding::new(
                    Code::DownloadRejected,
                    format!(
                        "the CPE rejected Download \"{}\" with fault {}",
                        o.order.command_key,
                        fault_text(&f.cwmp)
                    ),
                )
                .frames([frame]),
            );
        }
        _ => {}
    }
}

/// The TransferComplete that reports the transaction.
pub fn transfer_complete(o: &mut OpenTx, tc: &TransferComplete, frame: Option<FrameRef>) {
    o.tx.fault = Some(tc.fault.clone());
    match tc.fault.code {
        Some(0) => o.tx.outcome = Outcome::Success,
        _ => {
            o.tx.outcome = Outcome::Failed;
            o.tx.findings.push(
                Finding::new(
                    Code::TransferFault,
                    format!(
                        "TransferComplete for \"{}\" reports {}{}",
                        tc.command_key,
                        fault_text(&tc.fault),
                        if tc.fault.string.is_empty() {
                            String::new()
                        } else {
                            format!(": \"{}\"", tc.fault.string)
                        }
                    ),
                )
                .frames(frame),
            );
        }
    }
}

/// What the capture shows of the file transfer.
struct Fetch {
    /// The last response that was not a challenge.
    final_status: Option<u16>,
    final_frame: Option<FrameRef>,
    final_complete: bool,
    received: Option<u64>,
    first_request_ts: Option<Nanos>,
    final_end_ts: Option<Nanos>,
    /// The capture lost bytes of the final answer.
    lost: bool,
    /// Hash of the final 2xx body (when no byte of it was lost).
    hash: Option<u64>,
}

fn fetch_of(o: &OpenTx) -> Fetch {
    let mut f = Fetch {
        final_status: None,
        final_frame: None,
        final_complete: false,
        received: None,
        first_request_ts: o.fetch.first().map(|x| x.request.ts),
        final_end_ts: None,
        lost: false,
        hash: None,
    };
    for x in &o.fetch {
        if let Some(r) = &x.response
            && r.status != 401
        {
            f.final_status = Some(r.status);
            f.final_frame = Some(r.last_frame);
            f.final_complete = r.complete;
            f.final_end_ts = Some(r.end_ts);
            f.lost = r.gap_bytes > 0;
            if (200..300).contains(&r.status) {
                f.received = Some(r.body_len);
                f.hash = (r.gap_bytes == 0).then_some(r.body_hash);
            }
        }
    }
    f
}

/// Every rule that needs the whole transaction; runs once, when it is handed on.
pub fn transfer(o: &mut OpenTx, th: &Thresholds) {
    let fetch = fetch_of(o);
    o.tx.received_bytes = fetch.received;
    o.tx.file_hash = fetch.hash;
    let mut out: Vec<Finding> = Vec::new();
    let key = o.order.command_key.clone();

    if o.tx.download_status == Some(1) && o.fetch.is_empty() && !o.order.upload {
        out.push(
            Finding::new(
                Code::FileNotFetched,
                format!(
                    "DownloadResponse Status 1 for \"{key}\" but no GET of {} in the capture",
                    o.order.url
                ),
            )
            .frames(o.answer_frame),
        );
    }
    if let Some((host, port, path)) = super::split_url(&o.order.url) {
        for x in &o.fetch {
            if super::matches_order(&o.order, x) != super::Match::Exact {
                out.push(
                    Finding::new(
                        Code::FileUrlMismatch,
                        format!(
                            "the CPE fetched {} from {} but the Download URL is {path} on {host}:{port}",
                            super::target_path(&x.request.uri),
                            x.server
                        ),
                    )
                    .frames([x.request.last_frame]),
                );
                break;
            }
        }
    }
    for x in &o.fetch {
        let req = &x.request;
        if let Some(Credentials::Basic { .. }) = &req.credentials
            && x.server.port() != 443
        {
            out.push(
                Finding::new(
                    Code::BasicAuthCleartext,
                    format!(
                        "{} {} to the file server {} carries Basic credentials on plain HTTP",
                        req.method, req.uri, x.server
                    ),
                )
                .frames([req.last_frame]),
            );
            break;
        }
    }
    // file-auth-failed: a 401 answered a GET that carried credentials in the challenged scheme.
    for x in &o.fetch {
        let Some(r) = &x.response else { continue };
        let Some(creds) = &x.request.credentials else {
            continue;
        };
        if r.status != 401 {
            continue;
        }
        let same_scheme = r.challenges.is_empty()
            || r.challenges
                .iter()
                .any(|c| c.scheme().eq_ignore_ascii_case(creds.scheme()));
        let stale = r
            .challenges
            .iter()
            .any(|c| matches!(c, crate::http::auth::Challenge::Digest(d) if d.stale == Some(true)));
        if same_scheme && !stale {
            out.push(
                Finding::new(
                    Code::FileAuthFailed,
                    format!(
                        "the file server answered 401 to {} {} with {} credentials",
                        x.request.method,
                        x.request.uri,
                        creds.scheme()
                    ),
                )
                .frames([r.last_frame]),
            );
            break;
        }
    }
    // file-credentials-unused: challenged, the Download had a Username, never retried with one.
    if let Some(pos) = o
        .fetch
        .iter()
        .position(|x| x.response.as_ref().is_some_and(|r| r.status == 401))
        && !o.order.username.is_empty()
        && !o
            .fetch
            .iter()
            .skip(pos + 1)
            .any(|x| x.request.credentials.is_some())
    {
        let frame = o
            .fetch
            .get(pos)
            .and_then(|x| x.response.as_ref())
            .map(|r| r.last_frame);
        out.push(
            Finding::new(
                Code::FileCredentialsUnused,
                format!(
                    "the file server challenged and the Download carried Username \"{}\", but the CPE never retried with credentials",
                    o.order.username
                ),
            )
            .frames(frame),
        );
    }
    if let Some(status) = fetch.final_status
        && (status == 403 || status == 404 || status >= 500)
    {
        let reason = o
            .fetch
            .iter()
            .rev()
            .find_map(|x| x.response.as_ref().filter(|r| r.status == status))
            .map(|r| r.reason.clone())
            .unwrap_or_default();
        let uri = o
            .fetch
            .last()
            .map(|x| x.request.uri.clone())
            .unwrap_or_default();
        out.push(
            Finding::new(
                Code::FileHttpError,
                format!("file server answered {status} {reason} to GET {uri}").replace("  ", " "),
            )
            .frames(fetch.final_frame),
        );
    }
    let ok_fetch = fetch.final_status.is_some_and(|s| (200..300).contains(&s));
    // A body with bytes lost by the capture is not judged: what the CPE got is unknown.
    let judged = !fetch.lost;
    let mut cut_short = false;
    if ok_fetch && judged {
        if !fetch.final_complete {
            cut_short = true;
            out.push(
                Finding::new(
                    Code::FileSizeMismatch,
                    format!(
                        "the file body was cut short: {} bytes received{}",
                        fetch.received.unwrap_or(0),
                        o.order
                            .file_size
                            .map(|n| format!(" of FileSize {n}"))
                            .unwrap_or_default()
                    ),
                )
                .frames(fetch.final_frame),
            );
        } else if let (Some(announced), Some(received)) = (o.order.file_size, fetch.received)
            && announced != received
        {
            out.push(
                Finding::new(
                    Code::FileSizeMismatch,
                    format!(
                        "received {received} bytes but the Download announced FileSize {announced}"
                    ),
                )
                .frames(fetch.final_frame),
            );
        }
    }
    // Capture loss inside the file transfer.
    for x in &o.fetch {
        if let Some(r) = &x.response
            && r.gap_bytes > 0
        {
            out.push(
                Finding::new(
                    Code::CaptureGap,
                    format!(
                        "{} bytes of the file server's answer to {} were lost by the capture; the transfer is judged on what was seen",
                        r.gap_bytes, x.request.uri
                    ),
                )
                .frames([r.last_frame]),
            );
        }
    }
    if let Some(fault) = &o.tx.fault
        && o.tc_times.is_some()
        && !o.fetch.is_empty()
        && judged
    {
        let visibly_failed = !ok_fetch || cut_short;
        match fault.code {
            Some(0) if visibly_failed => out.push(
                Finding::new(
                    Code::TransferContradictsCapture,
                    format!(
                        "TransferComplete reports success (FaultCode 0) but the fetch visibly failed ({})",
                        match fetch.final_status {
                            Some(s) if !(200..300).contains(&s) => format!("status {s}"),
                            Some(_) => "body incomplete or of the wrong size".to_owned(),
                            None => "no response".to_owned(),
                        }
                    ),
                )
                .frames(fetch.final_frame),
            ),
            Some(code) if code != 0 && !visibly_failed => out.push(
                Finding::new(
                    Code::TransferContradictsCapture,
                    format!(
                        "TransferComplete reports {} although the capture shows a complete {} of {} bytes",
                        fault_text(fault),
                        fetch.final_status.unwrap_or(200),
                        fetch.received.unwrap_or(0)
                    ),
                )
                .frames(fetch.final_frame),
            ),
            _ => {}
        }
    }
    if let Some((start, complete)) = o.tc_times.clone() {
        out.extend(times_rule(o, &start, &complete, &fetch));
    }
    if o.tc_times.is_some() && o.tc_session_unanswered {
        out.push(Finding::new(
            Code::RollbackSuspected,
            "the TRANSFER COMPLETE session got no InformResponse: a Thomson CPE rolls the configuration back",
        ));
    }
    if o.tx.outcome == Outcome::Success && o.tc_times.is_some() {
        let wanted = match o.tx.kind {
            Kind::ConfigurationUpdate => Some("VendorConfigFile"),
            Kind::FirmwareUpgrade => Some("SoftwareVersion"),
            _ => None,
        };
        if let Some(wanted) = wanted {
            for (name, before, after) in &o.tx.versions {
                if name.contains(wanted)
                    && let (Some(b), Some(a)) = (before, after)
                    && a == b
                {
                    out.push(
                        Finding::new(
                            Code::VersionUnchanged,
                            format!("after FaultCode 0, {name} is still {a}"),
                        )
                        .frames(o.report_inform_frame),
                    );
                    break;
                }
            }
        }
    }
    // TCP on the file connections.
    for (_, record) in &o.conns {
        let Some(c) = record else { continue };
        if c.end == ConnEnd::Reset && !fetch.final_complete {
            out.push(
                Finding::new(
                    Code::TcpReset,
                    format!(
                        "the file connection {} → {} was reset during the transfer",
                        c.client, c.server
                    ),
                )
                .frames([c.first_frame]),
            );
        }
        for (dir, name) in [(0usize, "CPE"), (1, "file server")] {
            let data = c.stats.data_segments[dir];
            let retx = c.stats.retransmissions[dir];
            if data > 0 && (retx as f64) / (data as f64) > th.retransmission_ratio {
                out.push(
                    Finding::new(
                        Code::TcpRetransmissions,
                        format!(
                            "{retx} of {data} data segments from the {name} on {} → {} were retransmissions ({:.1} %)",
                            c.client,
                            c.server,
                            100.0 * retx as f64 / data as f64
                        ),
                    )
                    .frames([c.first_frame]),
                );
            }
        }
    }
    o.tx.findings.extend(out);
}

fn times_rule(o: &OpenTx, start: &str, complete: &str, fetch: &Fetch) -> Vec<Finding> {
    let success = o.tx.fault.as_ref().is_some_and(|f| f.code == Some(0));
    let (s, c) = (known_nanos(start), known_nanos(complete));
    let frame =
        o.tx.steps
            .iter()
            .find(|st: &&Step| st.step == Some(18))
            .and_then(|st| st.frame);
    let finding = |msg: String| Finding::new(Code::TransferTimesInconsistent, msg).frames(frame);
    match (s, c) {
        (Some(s), Some(c)) if s > c => {
            return vec![finding(format!(
                "TransferComplete StartTime {start} is after CompleteTime {complete}"
            ))];
        }
        (Some(s), Some(c)) => {
            // Compare with the fetch, in the CPE's clock.
            let offset = o.clock_offset.unwrap_or(0);
            if let (Some(first), Some(end)) = (fetch.first_request_ts, fetch.final_end_ts) {
                let (first, end) = (first + offset, end + offset);
                if s > first + TIME_TOLERANCE
                    || c + TIME_TOLERANCE < end
                    || c > end + TIME_TOLERANCE
                {
                    let secs = |n: Nanos| n as f64 / 1e9;
                    return vec![finding(format!(
                        "TransferComplete times {start} .. {complete} do not cover the observed transfer ({:+.1} s at the start, {:+.1} s at the end)",
                        secs(s - first),
                        secs(c - end)
                    ))];
                }
            }
        }
        _ if success => {
            return vec![finding(format!(
                "TransferComplete reports success with StartTime \"{start}\" and CompleteTime \"{complete}\" (Unknown Time or empty)"
            ))];
        }
        _ => {}
    }
    Vec::new()
}

/// Findings for a transaction still waiting at the end of the capture.
pub fn at_capture_end(o: &mut OpenTx) {
    if o.tx.download_status == Some(1) && !o.missing_reported {
        o.tx.findings.push(
            Finding::new(
                Code::TransferCompleteMissing,
                format!(
                    "Download \"{}\" answered Status 1, but no TransferComplete by the end of the capture",
                    o.order.command_key
                ),
            )
            .frames(o.answer_frame),
        );
    }
}

/// `handshake-failed` for a connection whose SYN was never answered.
pub fn handshake_failed(c: &ConnRecord, what: &str) -> Finding {
    Finding::new(
        Code::HandshakeFailed,
        format!(
            "SYN from {} to the {what} {} never answered",
            c.client, c.server
        ),
    )
    .frames([c.first_frame])
}

/// `tls-opaque` for an encrypted connection.
pub fn tls_opaque(c: &ConnRecord) -> Finding {
    Finding::new(
        Code::TlsOpaque,
        format!(
            "encrypted connection {} → {}: only timing and sizes are known",
            c.client, c.server
        ),
    )
    .frames([c.first_frame])
}
