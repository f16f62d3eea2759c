//! Inform content: `event-missing`, `event-duplicate`, `device-id-invalid`, `clock-skew`,
//! `retry-count-nonzero`.

use super::{SessionView, at};
use crate::cwmp::Rpc;
use crate::findings::{Code, Finding, Thresholds, datetime, secs};

/// The number of a numbered event code (`7 TRANSFER COMPLETE` → 7).
fn event_number(code: &str) -> Option<u32> {
    code.split_whitespace().next()?.parse().ok()
}

fn is_method_event(code: &str, method: &str) -> bool {
    let mut words = code.split_whitespace();
    words.next() == Some("M") && words.next().is_some_and(|w| w.eq_ignore_ascii_case(method))
}

pub(super) fn inform_content(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
    let s = v.s;
    let Some((ii, inform)) = v.inform() else {
        return;
    };
    let codes: Vec<&str> = inform.events.iter().map(|e| e.code.trim()).collect();
    let has_number = |n: u32| codes.iter().any(|c| event_number(c) == Some(n));
    let has_method = |m: &str| codes.iter().any(|c| is_method_event(c, m));

    // event-missing: (missing event, why), one finding per missing event.
    let mut missing: Vec<(&str, String)> = Vec::new();
    let transfer_methods =
        has_method("Download") || has_method("ScheduleDownload") || has_method("Upload");
    let carries_tc = s
        .envelopes()
        .any(|(m, e)| m.from_cpe && matches!(e.rpc, Rpc::TransferComplete(_)));
    if has_number(7) && !transfer_methods {
        missing.push((
            "M Download/M ScheduleDownload/M Upload",
            "the Inform has 7 TRANSFER COMPLETE".to_owned(),
        ));
    }
    if !has_number(7) && (transfer_methods || carries_tc) {
        let why = match (transfer_methods, carries_tc) {
            (true, true) => {
                "the Inform has a transfer method event and the session carries TransferComplete"
            }
            (true, false) => {
                "the Inform has a transfer method event (M Download/M ScheduleDownload/M Upload)"
            }
            _ => "the session carries TransferComplete",
        };
        missing.push(("7 TRANSFER COMPLETE", why.to_owned()));
    }
    if has_number(3) && !has_method("ScheduleInform") {
        missing.push(("M ScheduleInform", "the Inform has 3 SCHEDULED".to_owned()));
    }
    if has_method("Reboot") && !has_number(1) {
        missing.push(("1 BOOT", "the Inform has M Reboot".to_owned()));
    }
    if has_number(11) && !has_method("ChangeDUState") {
        missing.push((
            "M ChangeDUState",
            "the Inform has 11 DU STATE CHANGE COMPLETE".to_owned(),
        ));
    }
    for (event, why) in missing {
        out.push(at(
            Finding::new(
                Code::EventMissing,
                format!("Inform events [{}] lack {event}: {why}", codes.join(", ")),
            ),
            s,
            ii,
        ));
    }

    // event-duplicate: a numbered event twice.
    let mut seen: Vec<u32> = Vec::new();
    let mut reported: Vec<u32> = Vec::new();
    for c in &codes {
        let Some(n) = event_number(c) else { continue };
        if seen.contains(&n) {
            if !reported.contains(&n) {
                reported.push(n);
                let times = codes.iter().filter(|x| event_number(x) == Some(n)).count();
                out.push(at(
                    Finding::new(
                        Code::EventDuplicate,
                        format!("event \"{c}\" appears {times} times in one Inform"),
                    ),
                    s,
                    ii,
                ));
            }
        } else if seen.len() < 64 {
            seen.push(n);
        }
    }

    // device-id-invalid.
    let id = &inform.device_id;
    let mut problems = Vec::new();
    let oui = id.oui.trim();
    if oui.len() != 6 || !oui.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(format!("OUI \"{}\" is not 6 hex digits", id.oui));
    }
    if id.serial_number.trim().is_empty() {
        problems.push("SerialNumber is empty".to_owned());
    }
    if !problems.is_empty() {
        out.push(at(
            Finding::new(Code::DeviceIdInvalid, problems.join("; ")),
            s,
            ii,
        ));
    }

    // clock-skew.
    if let Some(text) = inform.current_time.as_deref()
        && !datetime::is_unknown_time(text)
        && let Some(t) = datetime::parse(text)
        && let Some(m) = v.msg(ii)
    {
        let skew = t.nanos.saturating_sub(m.ts);
        if skew.unsigned_abs() > th.clock_skew.unsigned_abs() {
            let dir = if skew > 0 { "ahead of" } else { "behind" };
            let zone = if t.has_zone {
                ""
            } else {
                " (no time zone given: taken as UTC)"
            };
            out.push(at(
                Finding::new(
                    Code::ClockSkew,
                    format!(
                        "Inform CurrentTime {} is {} s {dir} the capture time {}{zone}",
                        text.trim(),
                        secs(skew.saturating_abs()),
                        crate::types::format_ts(m.ts)
                    ),
                ),
                s,
                ii,
            ));
        }
    }

    // retry-count-nonzero (info; the CPE history upgrades it when it grows).
    if let Some(n) = inform.retry_count.filter(|&n| n > 0) {
        out.push(at(
            Finding::new(
                Code::RetryCountNonzero,
                format!("Inform RetryCount is {n}: the CPE's earlier sessions failed"),
            ),
            s,
            ii,
        ));
    }
}
