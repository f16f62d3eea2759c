//! Tests of the rules across a CPE's sessions: overlaps, matching by serial or IP, retries, and
//! the bound on CPEs kept.

use super::*;
use crate::cwmp::Rpc;
use crate::findings::testkit::*;

/// A session of serial `sn` starting at `start` (normal, or failed), with this RetryCount.
fn session(number: u64, sn: &str, start: Nanos, normal: bool, retry: u32) -> Session {
    let mut l = Ladder::new();
    l.wait(start - T0).opened(&["2 PERIODIC"]);
    if normal {
        l.closed();
    } else {
        l.ends_abnormally(Termination::Closed);
    }
    if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
        i.device_id.serial_number = sn.to_owned();
        i.retry_count = Some(retry);
    }
    let mut s = l.build();
    s.number = number;
    s.start = s.messages[0].ts;
    if let Some(d) = &mut s.device {
        d.serial_number = sn.to_owned();
    }
    s
}

fn codes_of(f: &[Finding]) -> Vec<(&'static str, Severity)> {
    f.iter().map(|f| (f.code.id(), f.severity)).collect()
}

#[test]
fn overlapping_sessions_of_one_cpe_even_out_of_order() {
    let th = Thresholds::default();
    let mut h = CpeHistory::default();
    // Session 2 (other CPE) overlaps in time but is another device.
    assert_eq!(h.check(&session(2, "B", T0, true, 0), &th), vec![]);
    // Session 3 of A finishes first, session 1 of A (started earlier) later: overlap.
    assert_eq!(
        h.check(&session(3, "A", T0 + 20 * MS, true, 0), &th),
        vec![]
    );
    let f = h.check(&session(1, "A", T0, true, 0), &th);
    assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
    assert!(f[0].message.contains("CPE A") && f[0].message.contains("session 3"));
    assert_eq!(f[0].frames, [crate::types::FrameRef::new(0, 2)]);
    assert_eq!(f[0].message_index, Some(0));
    // A later session that starts after both ended does not overlap.
    assert_eq!(h.check(&session(4, "A", T0 + 10 * S, true, 0), &th), vec![]);
    assert_eq!(h.len(), 2);
}

#[test]
fn sessions_without_serial_are_matched_by_ip() {
    let th = Thresholds::default();
    let mut h = CpeHistory::default();
    h.check(&session(1, "", T0, true, 0), &th);
    let f = h.check(&session(2, "", T0 + 5 * MS, true, 0), &th);
    assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
    assert!(f[0].message.contains("CPE 192.0.2.1"));
}

#[test]
fn retry_back_off_window_after_a_failed_session() {
    let th = Thresholds::default();
    assert_eq!(backoff_window(1, &th), (5.0, 10.0));
    assert_eq!(backoff_window(3, &th), (20.0, 40.0));
    assert_eq!(backoff_window(15, &th), backoff_window(10, &th));

    let failed = session(1, "A", T0, false, 0);
    let failed_end = failed.end;
    // RetryCount 1 → wait in [5, 10] s: 2 s is too early.
    let mut h = CpeHistory::default();
    h.check(&failed, &th);
    let f = h.check(&session(2, "A", failed_end + 2 * S - 10 * MS, true, 1), &th);
    assert_eq!(
        codes_of(&f),
        [
            ("retry-count-nonzero", Severity::Warning),
            ("retry-backoff-violation", Severity::Warning)
        ]
    );
    assert!(
        f[1].message.contains("2.0 s") && f[1].message.contains("[5.0, 10.0]"),
        "{}",
        f[1].message
    );
    assert!(f[0].message.contains("from 0") && f[0].message.contains("to 1"));
    // 7 s is inside the window.
    let mut h = CpeHistory::default();
    h.check(&failed, &th);
    let f = h.check(&session(2, "A", failed_end + 7 * S - 10 * MS, true, 1), &th);
    assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Warning)]);
    // After a session that ended normally the gap is not judged, and a steady count
    // does not grow.
    let mut h = CpeHistory::default();
    h.check(&session(1, "A", T0, true, 2), &th);
    assert_eq!(h.check(&session(2, "A", T0 + S, true, 2), &th), vec![]);
}

#[test]
fn growing_retry_count_replaces_the_info() {
    let th = Thresholds::default();
    let mut h = CpeHistory::default();
    let first = session(1, "A", T0, true, 1);
    let f = crate::findings::check_session_with_history(&first, &mut h, &th);
    assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Info)]);
    let second = session(2, "A", T0 + 60 * S, true, 2);
    let f = crate::findings::check_session_with_history(&second, &mut h, &th);
    assert_eq!(codes_of(&f), [("retry-count-nonzero", Severity::Warning)]);
}

#[test]
fn the_number_of_cpes_is_bounded_and_the_least_recent_goes_first() {
    let th = Thresholds::default();
    let mut h = CpeHistory::new(3);
    for (n, sn) in ["A", "B", "C"].iter().enumerate() {
        h.check(&session(n as u64, sn, T0 + n as i64 * S, true, 0), &th);
    }
    // A is used again, then D arrives: B is forgotten.
    h.check(&session(10, "A", T0 + 10 * S, true, 0), &th);
    h.check(&session(11, "D", T0 + 11 * S, true, 0), &th);
    assert_eq!(h.len(), 3);
    assert_eq!(h.forgotten(), 1);
    // B overlapping its earlier session is no longer noticed; A's still is.
    assert_eq!(h.check(&session(12, "B", T0 + S, true, 0), &th), vec![]);
    let f = h.check(&session(13, "A", T0 + 10 * S, true, 0), &th);
    assert_eq!(codes_of(&f), [("overlapping-sessions", Severity::Warning)]);
    for i in 0..1000u64 {
        h.check(&session(100 + i, &format!("X{i}"), T0, true, 0), &th);
    }
    assert_eq!(h.len(), 3);
    assert!(h.recency.len() <= 64 + 1);
}

#[test]
fn a_full_history_never_grows_while_cpes_come_and_go() {
    let th = Thresholds::default();
    let mut h = CpeHistory::default();
    let max = crate::limits::Limit::CpeHistory.default_usize() as u64;
    for i in 0..max {
        h.check(&session(i, &format!("CP{i}"), T0, true, 0), &th);
    }
    let capacity = h.cpes.capacity();
    // Full: ten times the bound of new CPEs, each forgetting the least recent. A table that
    // was only as large as the bound needs would double once removed slots pile up.
    for i in max..10 * max {
        h.check(&session(i, &format!("CP{i}"), T0, true, 0), &th);
    }
    assert_eq!(h.len(), crate::limits::Limit::CpeHistory.default_usize());
    assert!(
        h.cpes.capacity() <= capacity,
        "the table grew: {} > {capacity}",
        h.cpes.capacity()
    );
    assert!(h.recency.len() <= 2 * crate::limits::Limit::CpeHistory.default_usize() + 1);
}
