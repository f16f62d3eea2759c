//! Transfer findings: the catalogue's "Transfers" codes and the file-server side of
//! authentication and TCP, judged on what the transaction stage hands on: its notes (in the
//! order they were noticed) and the evidence of the whole transfer.

use super::datetime::known_nanos;
use super::{Code, Finding, Thresholds, connection};
use crate::cwmp::{FaultStruct, fault_meaning};
use crate::http::auth::Credentials;
use crate::tcp::ConnEnd;
use crate::transaction::matching::{Match, matches_order, split_url, target_path};
use crate::transaction::{Evidence, FetchSummary, Kind, Note, Outcome, Transaction};
use crate::types::Nanos;

const SECOND: Nanos = 1_000_000_000;

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

/// The findings of a transaction's notes, in order. A transfer fault is tied to what the
/// capture shows of its cause: the failed handshakes to the file server it names.
pub fn of_notes(notes: &[Note]) -> Vec<Finding> {
    let causes: Vec<String> = notes
        .iter()
        .filter_map(|n| match n {
            Note::FileServerUnreachable(c) => Some(connection::handshake_cause(c)),
            _ => None,
        })
        .collect();
    notes
        .iter()
        .map(|note| {
            let mut f = of_note(note);
            if f.code == Code::TransferFault && !causes.is_empty() {
                f.message = format!("{} ↔ {}", f.message, causes.join("; "));
            }
            f
        })
        .collect()
}

/// The finding of one note of the transaction stage.
pub fn of_note(note: &Note) -> Finding {
    match note {
        Note::OrderRejected {
            command_key,
            fault,
            frame,
        } => Finding::new(
            Code::DownloadRejected,
            format!(
                "the CPE rejected Download \"{command_key}\" with fault {}",
                fault_text(fault)
            ),
        )
        .frames([*frame]),
        Note::TransferFault {
            command_key,
            fault,
            frame,
        } => Finding::new(
            Code::TransferFault,
            format!(
                "TransferComplete for \"{command_key}\" reports {}{}",
                fault_text(fault),
                if fault.string.is_empty() {
                    String::new()
                } else {
                    format!(": \"{}\"", fault.string)
                }
            ),
        )
        .frames(*frame),
        Note::DeviceChanged {
            before,
            after,
            session,
        } => Finding::new(
            Code::DeviceIdInvalid,
            format!(
                "DeviceId changed within the transaction: {}-{} at the Download, {}-{} in session s{session}",
                before.oui, before.serial_number, after.oui, after.serial_number
            ),
        ),
        Note::BootstrapAfterUpdate { frame, message } => at_inform(
            Finding::new(
                Code::UnexpectedBootstrap,
                "0 BOOTSTRAP after an update: the CPE was factory-reset or its ACS URL changed",
            ),
            *frame,
            *message,
        ),
        Note::BootAfterConfiguration { frame, message } => at_inform(
            Finding::new(
                Code::UnexpectedReboot,
                "1 BOOT after a configuration download (no reboot is intended; no M Reboot)",
            ),
            *frame,
            *message,
        ),
        Note::ReportUnanswered { session, frame } => Finding::new(
            Code::RollbackSuspected,
            format!(
                "the TRANSFER COMPLETE session s{session} got no InformResponse: a Thomson CPE rolls the configuration back"
            ),
        )
        .frames(*frame),
        Note::ReportMissing {
            session,
            command_key,
            frame,
        } => Finding::new(
            Code::TransferCompleteMissing,
            format!(
                "a later Inform (session s{session}) lacks 7 TRANSFER COMPLETE while Download \"{command_key}\" awaits its TransferComplete"
            ),
        )
        .frames(*frame),
        Note::NoReportInTime {
            command_key,
            frame,
            waited,
        } => Finding::new(
            Code::TransferCompleteMissing,
            format!(
                "Download \"{command_key}\" answered Status 1, but no TransferComplete within {} s of the order: no longer awaited",
                waited / SECOND
            ),
        )
        .frames(*frame),
        Note::NoReportAtEnd { command_key, frame } => Finding::new(
            Code::TransferCompleteMissing,
            format!(
                "Download \"{command_key}\" answered Status 1, but no TransferComplete by the end of the capture"
            ),
        )
        .frames(*frame),
        Note::UnknownReport {
            command_key,
            frame,
            message,
        } => Finding::new(
            Code::CommandKeyMismatch,
            format!(
                "TransferComplete CommandKey \"{command_key}\" matches no outstanding Download of this CPE"
            ),
        )
        .frames(*frame)
        .at_message(*message),
        Note::RepeatedReport {
            command_key,
            frame,
            message,
        } => Finding::new(
            Code::TransferCompleteRepeated,
            format!(
                "TransferComplete for CommandKey \"{command_key}\" was already reported in an earlier session"
            ),
        )
        .frames(*frame)
        .at_message(*message),
        Note::UnknownEventKey {
            event,
            command_key,
            frame,
            message,
        } => at_inform(
            Finding::new(
                Code::CommandKeyMismatch,
                format!(
                    "{event} event CommandKey \"{command_key}\" matches no outstanding Download of this CPE"
                ),
            ),
            *frame,
            *message,
        ),
        Note::FileServerUnreachable(c) => connection::handshake_failed(c, "file server"),
        Note::UnannouncedConnectionRequest {
            cr,
            session,
            inform_frame,
            message,
        } => {
            let f = connection::unannounced_connection_request(cr, *session, *inform_frame);
            match message {
                Some(i) => f.at_message(*i),
                None => f,
            }
        }
    }
}

/// Ties a finding to the session's Inform message, when there is one.
fn at_inform(f: Finding, frame: Option<crate::types::FrameRef>, message: Option<usize>) -> Finding {
    match message {
        Some(i) => f.frames(frame).at_message(i),
        None => f,
    }
}

/// Every rule that needs the whole transaction, on the evidence handed on with it (and its
/// notes, for what they already explain).
pub fn judge(tx: &Transaction, notes: &[Note], ev: &Evidence, th: &Thresholds) -> Vec<Finding> {
    let fetch = FetchSummary::of(&ev.fetch);
    let mut out: Vec<Finding> = Vec::new();
    let key = ev.order.command_key.clone();
    // The CPE tried the file server and its handshake failed: that is the finding, not a
    // missing fetch.
    let unreachable = notes.iter().find_map(|n| match n {
        Note::FileServerUnreachable(c) => Some(c),
        _ => None,
    });

    if tx.download_status == Some(1)
        && ev.fetch.is_empty()
        && !ev.order.upload
        && unreachable.is_none()
    {
        out.push(
            Finding::new(
                Code::FileNotFetched,
                format!(
                    "DownloadResponse Status 1 for \"{key}\" but no GET of {} in the capture",
                    ev.order.url
                ),
            )
            .frames(ev.answer_frame),
        );
    }
    if let Some((host, port, path)) = split_url(&ev.order.url) {
        for x in &ev.fetch {
            if matches_order(&ev.order, x) != Match::Exact {
                out.push(
                    Finding::new(
                        Code::FileUrlMismatch,
                        format!(
                            "the CPE fetched {} from {} but the Download URL is {path} on {host}:{port}",
                            target_path(&x.request.uri),
                            x.server
                        ),
                    )
                    .frames([x.request.last_frame]),
                );
                break;
            }
        }
    }
    for x in &ev.fetch {
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
    for x in &ev.fetch {
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
    if let Some(pos) = ev
        .fetch
        .iter()
        .position(|x| x.response.as_ref().is_some_and(|r| r.status == 401))
        && !ev.order.username.is_empty()
        && !ev
            .fetch
            .iter()
            .skip(pos + 1)
            .any(|x| x.request.credentials.is_some())
    {
        let frame = ev
            .fetch
            .get(pos)
            .and_then(|x| x.response.as_ref())
            .map(|r| r.last_frame);
        out.push(
            Finding::new(
                Code::FileCredentialsUnused,
                format!(
                    "the file server challenged and the Download carried Username \"{}\", but the CPE never retried with credentials",
                    ev.order.username
                ),
            )
            .frames(frame),
        );
    }
    if let Some(status) = fetch.final_status
        && (status == 403 || status == 404 || status >= 500)
    {
        let reason = ev
            .fetch
            .iter()
            .rev()
            .find_map(|x| x.response.as_ref().filter(|r| r.status == status))
            .map(|r| r.reason.clone())
            .unwrap_or_default();
        let uri = ev
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
                        ev.order
                            .file_size
                            .map(|n| format!(" of FileSize {n}"))
                            .unwrap_or_default()
                    ),
                )
                .frames(fetch.final_frame),
            );
        } else if let (Some(announced), Some(received)) = (ev.order.file_size, fetch.received)
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
    for x in &ev.fetch {
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
    if let Some(fault) = &tx.fault
        && ev.tc_times.is_some()
        && !ev.fetch.is_empty()
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
    if let (Some(fault), Some(c)) = (&tx.fault, unreachable)
        && fault.code == Some(0)
        && ev.tc_times.is_some()
        && ev.fetch.is_empty()
    {
        out.push(
            Finding::new(
                Code::TransferContradictsCapture,
                format!(
                    "TransferComplete reports success (FaultCode 0) but nothing was fetched: {}",
                    connection::handshake_cause(c)
                ),
            )
            .frames(ev.report_frame),
        );
    }
    if let Some((start, complete)) = ev.tc_times.clone() {
        out.extend(times_rule(tx, ev, &start, &complete, &fetch));
    }
    if ev.tc_times.is_some() && ev.tc_session_unanswered {
        out.push(Finding::new(
            Code::RollbackSuspected,
            "the TRANSFER COMPLETE session got no InformResponse: a Thomson CPE rolls the configuration back",
        ));
    }
    if tx.outcome == Outcome::Success && ev.tc_times.is_some() {
        let wanted = match tx.kind {
            Kind::ConfigurationUpdate => Some("VendorConfigFile"),
            Kind::FirmwareUpgrade => Some("SoftwareVersion"),
            _ => None,
        };
        if let Some(wanted) = wanted {
            for (name, before, after) in &tx.versions {
                if name.contains(wanted)
                    && let (Some(b), Some(a)) = (before, after)
                    && a == b
                {
                    out.push(
                        Finding::new(
                            Code::VersionUnchanged,
                            format!("after FaultCode 0, {name} is still {a}"),
                        )
                        .frames(ev.report_inform_frame),
                    );
                    break;
                }
            }
        }
    }
    // TCP on the file connections.
    for (_, record) in &ev.conns {
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
                .frames([c.stats.rst_frame.unwrap_or(c.first_frame)]),
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
    out
}

fn times_rule(
    tx: &Transaction,
    ev: &Evidence,
    start: &str,
    complete: &str,
    fetch: &FetchSummary,
) -> Vec<Finding> {
    let success = tx.fault.as_ref().is_some_and(|f| f.code == Some(0));
    let (s, c) = (known_nanos(start), known_nanos(complete));
    let frame = ev.report_frame;
    let finding = |msg: String| Finding::new(Code::TransferTimesInconsistent, msg).frames(frame);
    match (s, c) {
        (Some(s), Some(c)) if s > c => {
            return vec![finding(format!(
                "TransferComplete StartTime {start} is after CompleteTime {complete}"
            ))];
        }
        (Some(s), Some(c)) => {
            // Compare with the fetch, in the CPE's clock.
            let offset = ev
                .report_clock
                .as_ref()
                .and_then(|(current, ts)| known_nanos(current).map(|c| c - ts))
                .unwrap_or(0);
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

#[cfg(test)]
mod tests;
