//! Tests of the rules on one finished session, family by family.

use super::*;
use crate::cwmp::{CwmpNs, Envelope, Header, TransferComplete};
use crate::findings::Severity;
use crate::findings::testkit::*;
use crate::session::{Note, Termination};
use crate::tcp::ConnEnd;
use crate::tcp::ConnStats;

fn check(l: &Ladder) -> Vec<Finding> {
    check_session(&l.build(), &Thresholds::default())
}

/// Inform → 401 → Inform (Digest) → InformResponse → empty POST → 204.
fn clean() -> Ladder {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .challenge(false)
        .opened(&["2 PERIODIC"])
        .closed();
    l
}

#[test]
fn a_clean_session_has_no_finding() {
    assert_eq!(check(&clean()), vec![]);
}

#[test]
fn basic_to_the_acs_is_cleartext_once_per_session() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["1 BOOT"])])
        .last(|m| m.credentials = Some(basic()))
        .acs(200, vec![inform_response()])
        .cpe(vec![])
        .last(|m| m.credentials = Some(basic()))
        .acs(204, vec![])
        .ends_normally();
    let f = check(&l);
    assert_eq!(codes(&f), ["basic-auth-cleartext"]);
    let b = only(&f, "basic-auth-cleartext");
    assert_eq!(b.severity, Severity::Error);
    assert_eq!(frames(b), [2]);
    assert_eq!(b.message_index, Some(0));
    assert!(
        b.message.contains("\"cpe\"") && b.message.contains("2 of 2"),
        "{}",
        b.message
    );
    assert!(!b.message.contains("secret"));
}

#[test]
fn basic_on_the_connection_request_get_is_cleartext() {
    let mut l = clean();
    let mut get = l.s.messages[0].clone();
    get.kind = MessageKind::ConnectionRequest;
    get.from_cpe = false;
    get.envelopes.clear();
    get.credentials = Some(basic());
    l.s.messages.insert(0, get.clone());
    let f = check(&l);
    assert_eq!(codes(&f), ["basic-auth-cleartext"]);
    assert!(
        only(&f, "basic-auth-cleartext")
            .message
            .contains("Connection Request")
    );
    // With Digest it is fine.
    l.s.messages[0].credentials = Some(digest());
    assert_eq!(check(&l), vec![]);
}

#[test]
fn a_401_to_credentials_in_the_challenged_scheme_is_auth_failed_unless_stale() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .last(|m| m.credentials = Some(digest()))
        .challenge(false)
        .opened(&["2 PERIODIC"])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["acs-auth-failed"]);
    let a = only(&f, "acs-auth-failed");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(frames(a), [2, 4]);
    assert_eq!(a.message_index, Some(1));
    assert!(a.message.contains("Digest"));

    // stale=true: the nonce expired, nothing failed.
    l.s.messages[1].challenges = vec![digest_challenge(true)];
    let f = check(&l);
    assert_eq!(codes(&f), ["auth-stale-nonce"]);
    let s = only(&f, "auth-stale-nonce");
    assert_eq!((s.severity, frames(s)), (Severity::Info, vec![4]));

    // Basic credentials answered by a Digest challenge: a scheme change, not a failure.
    l.s.messages[0].credentials = Some(basic());
    l.s.messages[1].challenges = vec![digest_challenge(false)];
    assert_eq!(codes(&check(&l)), ["basic-auth-cleartext"]);
}

#[test]
fn giving_up_after_a_challenge_is_auth_failed() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .challenge(false)
        .ends_abnormally(Termination::Closed);
    let f = check(&l);
    assert_eq!(codes(&f), ["acs-auth-failed", "session-not-terminated"]);
    let a = only(&f, "acs-auth-failed");
    assert!(a.message.contains("closed"), "{}", a.message);
    assert_eq!(frames(a), [4]);
    // The capture ending right after the challenge is no evidence of giving up.
    l.s.termination = Termination::CaptureEnded;
    assert_eq!(check(&l), vec![]);
}

#[test]
fn an_inform_accepted_without_challenge_or_credentials_is_auth_missing() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .acs(200, vec![inform_response()])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["acs-auth-missing"]);
    let a = only(&f, "acs-auth-missing");
    assert_eq!((a.severity, frames(a)), (Severity::Warning, vec![2, 4]));
    // With credentials (even without a challenge) it is not missing.
    l.s.messages[0].credentials = Some(digest());
    assert_eq!(check(&l), vec![]);
}

#[test]
fn a_connection_request_accepted_without_challenge_is_unauthenticated() {
    let mut l = Ladder::new();
    l.connection_request(false, 204, T0)
        .opened(&["6 CONNECTION REQUEST"])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["connection-request-unauthenticated"]);
    let c = only(&f, "connection-request-unauthenticated");
    assert_eq!((c.severity, frames(c)), (Severity::Error, vec![1000, 1001]));
    assert!(c.message.contains("204"));
    let mut l = Ladder::new();
    l.connection_request(true, 204, T0)
        .opened(&["6 CONNECTION REQUEST"])
        .closed();
    assert_eq!(check(&l), vec![]);
}

#[test]
fn inform_not_first_ignores_empty_posts() {
    // netcwmp: empty POST → 401 → Inform: the empty POST is no CWMP request.
    let mut l = Ladder::new();
    l.cpe(vec![])
        .challenge(false)
        .opened(&["0 BOOTSTRAP"])
        .closed();
    assert_eq!(check(&l), vec![]);

    let mut l = Ladder::new();
    let tc = env(other("GetRPCMethods"), Some("7"));
    l.cpe(vec![tc])
        .last(|m| m.credentials = Some(digest()))
        .acs(200, vec![env(other("GetRPCMethodsResponse"), Some("7"))])
        .opened(&["2 PERIODIC"])
        .closed();
    let f = check(&l);
    let n = only(&f, "inform-not-first");
    assert_eq!((n.severity, frames(n)), (Severity::Error, vec![2]));
    assert!(n.message.contains("GetRPCMethods"));
}

#[test]
fn a_second_processed_inform_is_multiple_informs() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"]).opened(&["2 PERIODIC"]).closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["multiple-informs"]);
    let m = only(&f, "multiple-informs");
    assert_eq!(
        (m.severity, frames(m), m.message_index),
        (Severity::Error, vec![6], Some(2))
    );
    // The Inform re-sent after a 401 is not a second one (see `clean`).
    assert_eq!(check(&clean()), vec![]);
}

#[test]
fn statuses_other_than_200_204_401_are_acs_http_errors() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .cpe(vec![])
        .last(|m| m.credentials = Some(digest()))
        .acs(500, vec![])
        .ends_abnormally(Termination::Closed);
    let f = check(&l);
    assert_eq!(codes(&f), ["acs-http-error", "session-not-terminated"]);
    let e = only(&f, "acs-http-error");
    assert_eq!((e.severity, frames(e)), (Severity::Error, vec![8]));
    assert!(
        e.message.contains("500") && e.message.contains("empty POST"),
        "{}",
        e.message
    );
}

#[test]
fn response_ids_must_echo_request_ids() {
    let mut l = clean();
    l.s.messages[3].envelopes[0].header.id = Some("2".to_owned());
    let f = check(&l);
    assert_eq!(codes(&f), ["cwmp-id-mismatch"]);
    let c = only(&f, "cwmp-id-mismatch");
    assert_eq!((c.severity, frames(c)), (Severity::Warning, vec![8]));
    assert!(c.message.contains("\"2\"") && c.message.contains("\"1\""));
    l.s.messages[3].envelopes[0].header.id = None;
    assert!(
        only(&check(&l), "cwmp-id-mismatch")
            .message
            .contains("no cwmp:ID")
    );
}

#[test]
fn namespaces_must_agree_and_be_known() {
    let mut l = clean();
    l.s.messages[3].envelopes[0].ns = Some(CwmpNs::V1(2));
    let f = check(&l);
    assert_eq!(codes(&f), ["cwmp-version-mismatch"]);
    let v = only(&f, "cwmp-version-mismatch");
    assert!(v.message.contains("cwmp-1-0") && v.message.contains("cwmp-1-2"));
    let mut l = clean();
    for m in &mut l.s.messages {
        for e in &mut m.envelopes {
            e.ns = Some(CwmpNs::Unknown("urn:dslforum-org:cwmp-2-0".to_owned()));
        }
    }
    let f = check(&l);
    assert_eq!(codes(&f), ["cwmp-version-mismatch"]);
    assert!(f[0].message.contains("unknown") && f[0].message.contains("cwmp-2-0"));
}

fn transfer_complete() -> Envelope {
    env(
        Rpc::TransferComplete(TransferComplete::default()),
        Some("2"),
    )
}

#[test]
fn requests_while_hold_requests_is_set_are_violations() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["7 TRANSFER COMPLETE", "M Download"])])
        .last(|m| m.credentials = Some(digest()))
        .acs(200, vec![inform_response()])
        .last(|m| m.envelopes[0].header.hold_requests = Some(true))
        .cpe(vec![transfer_complete()])
        .acs(200, vec![env(other("TransferCompleteResponse"), Some("2"))])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["hold-requests-violated"]);
    let h = only(&f, "hold-requests-violated");
    assert_eq!((h.severity, frames(h)), (Severity::Error, vec![6]));
    // HoldRequests false: fine.
    l.s.messages[1].envelopes[0].header = Header {
        id: Some("1".to_owned()),
        hold_requests: Some(false),
        ..Header::default()
    };
    assert_eq!(check(&l), vec![]);
}

#[test]
fn a_request_after_the_empty_post_is_flagged_but_a_response_is_not() {
    let download = env(other("Download"), Some("9"));
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .cpe(vec![])
        .acs(200, vec![download])
        .cpe(vec![env(other("DownloadResponse"), Some("9"))])
        .acs(204, vec![])
        .ends_normally();
    assert_eq!(check(&l), vec![]);
    // Two envelopes in one POST are fine: the ACS accepts 2.
    l.s.messages[1].envelopes[0].rpc = Rpc::InformResponse {
        max_envelopes: Some(2),
    };
    assert_eq!(check(&l), vec![]);
    l.s.messages[4]
        .envelopes
        .push(env(other("GetRPCMethods"), Some("3")));
    l.s.messages[5]
        .envelopes
        .push(env(other("GetRPCMethodsResponse"), Some("3")));
    let f = check(&l);
    assert_eq!(codes(&f), ["request-after-empty-post"]);
    let r = only(&f, "request-after-empty-post");
    assert_eq!((r.severity, frames(r)), (Severity::Warning, vec![10]));
    assert!(r.message.contains("GetRPCMethods") && r.message.contains("frame 6"));
}

#[test]
fn bodies_beyond_the_receivers_max_envelopes() {
    let download = env(other("Download"), Some("9"));
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .last(|m| m.credentials = Some(digest()))
        .acs(200, vec![inform_response(), download])
        .cpe(vec![env(other("DownloadResponse"), Some("9"))])
        .acs(204, vec![])
        .ends_normally();
    let f = check(&l);
    assert_eq!(codes(&f), ["max-envelopes-exceeded"]);
    let m = only(&f, "max-envelopes-exceeded");
    assert_eq!((m.severity, frames(m)), (Severity::Warning, vec![4]));
    assert!(m.message.contains("2 envelopes") && m.message.contains("is 1"));
    // The seed flow: the CPE announced MaxEnvelopes 2.
    if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
        i.max_envelopes = Some(2);
    }
    assert_eq!(check(&l), vec![]);
}

#[test]
fn unanswered_and_mismatched_rpcs() {
    let download = env(other("Download"), Some("9"));
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .cpe(vec![])
        .acs(200, vec![download])
        .ends_abnormally(Termination::Closed);
    let f = check(&l);
    assert_eq!(codes(&f), ["rpc-unanswered", "session-not-terminated"]);
    let u = only(&f, "rpc-unanswered");
    assert_eq!((u.severity, frames(u)), (Severity::Error, vec![8]));
    assert!(u.message.contains("ACS's Download"));

    l.cpe(vec![env(other("GetParameterValuesResponse"), Some("9"))])
        .acs(204, vec![])
        .ends_normally();
    let f = check(&l);
    assert_eq!(codes(&f), ["response-mismatch"]);
    let r = only(&f, "response-mismatch");
    assert!(r.message.contains("Download") && r.message.contains("GetParameterValuesResponse"));
    assert_eq!(frames(r), [10]);

    // A Fault answers anything.
    l.s.messages[4].envelopes[0].rpc = Rpc::Fault(Default::default());
    assert_eq!(check(&l), vec![]);
}

#[test]
fn sessions_must_be_ended_by_the_acs() {
    for t in [
        Termination::Closed,
        Termination::Reset,
        Termination::Timeout,
    ] {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).ends_abnormally(t);
        let f = check(&l);
        let s = only(&f, "session-not-terminated");
        assert_eq!((s.severity, frames(s)), (Severity::Warning, vec![4]));
    }
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .ends_abnormally(Termination::CaptureEnded);
    assert_eq!(check(&l), vec![]);
}

#[test]
fn an_empty_200_ending_the_session_is_info() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .cpe(vec![])
        .acs(200, vec![])
        .ends_normally();
    let f = check(&l);
    assert_eq!(codes(&f), ["empty-response-not-204"]);
    let e = only(&f, "empty-response-not-204");
    assert_eq!(
        (e.severity, frames(e), e.message_index),
        (Severity::Info, vec![8], Some(3))
    );
}

#[test]
fn a_post_before_the_previous_response_is_pipelining() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"]).closed();
    // Move the empty POST before the InformResponse.
    l.s.messages[2].ts = l.s.messages[1].ts - 5 * MS;
    let f = check(&l);
    assert_eq!(codes(&f), ["pipelining"]);
    let p = only(&f, "pipelining");
    assert_eq!((p.severity, frames(p)), (Severity::Warning, vec![6]));
}

#[test]
fn cookies_the_acs_set_must_come_back() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .last(|m| m.set_cookies = vec![("sid".to_owned(), "abc".to_owned())])
        .cpe(vec![])
        .acs(204, vec![])
        .ends_normally();
    let f = check(&l);
    assert_eq!(codes(&f), ["cookie-not-returned"]);
    let c = only(&f, "cookie-not-returned");
    assert_eq!((c.severity, frames(c)), (Severity::Warning, vec![4, 6]));
    assert!(c.message.contains("sid=abc"));
    l.s.messages[2].cookies = vec![("sid".to_owned(), "abc".to_owned())];
    assert_eq!(check(&l), vec![]);
}

#[test]
fn event_pairings() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["7 TRANSFER COMPLETE"],
            "M Download/M ScheduleDownload/M Upload",
        ),
        (&["M Download"], "7 TRANSFER COMPLETE"),
        (&["3 SCHEDULED"], "M ScheduleInform"),
        (&["M Reboot"], "1 BOOT"),
        (&["11 DU STATE CHANGE COMPLETE"], "M ChangeDUState"),
        (&["1 BOOT", "1 BOOT"], ""),
    ];
    for (events, lacks) in cases {
        let mut l = Ladder::new();
        l.opened(events).closed();
        let f = check(&l);
        if lacks.is_empty() {
            let d = only(&f, "event-duplicate");
            assert_eq!((d.severity, frames(d)), (Severity::Warning, vec![2]));
            assert!(d.message.contains("\"1 BOOT\" appears 2 times"));
            continue;
        }
        let e = only(&f, "event-missing");
        assert_eq!(
            (e.severity, frames(e)),
            (Severity::Error, vec![2]),
            "{events:?}"
        );
        assert!(
            e.message.contains(&format!("lack {lacks}")),
            "{}",
            e.message
        );
    }
    for fine in [
        &["7 TRANSFER COMPLETE", "M Download"][..],
        &["3 SCHEDULED", "M ScheduleInform"],
        &["1 BOOT", "M Reboot"],
        &["M Download", "M Download", "7 TRANSFER COMPLETE"],
    ] {
        let mut l = Ladder::new();
        l.opened(fine).closed();
        assert_eq!(check(&l), vec![], "{fine:?}");
    }
}

#[test]
fn transfer_complete_needs_7_transfer_complete_in_the_inform() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .cpe(vec![transfer_complete()])
        .acs(200, vec![env(other("TransferCompleteResponse"), Some("2"))])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["event-missing"]);
    assert!(
        f[0].message
            .contains("lack 7 TRANSFER COMPLETE: the session carries TransferComplete")
    );
    if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
        i.events = inform(&["7 TRANSFER COMPLETE", "M Download"]).events;
    }
    assert_eq!(check(&l), vec![]);
}

fn with_inform(edit: impl FnOnce(&mut crate::cwmp::Inform)) -> Ladder {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"]).closed();
    if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
        edit(i);
    }
    l
}

#[test]
fn device_ids_need_a_hex_oui_and_a_serial() {
    let f = check(&with_inform(|i| i.device_id.oui = "00147G".to_owned()));
    assert_eq!(codes(&f), ["device-id-invalid"]);
    assert!(f[0].message.contains("00147G"));
    let f = check(&with_inform(|i| {
        i.device_id.oui = "0014".to_owned();
        i.device_id.serial_number = " ".to_owned();
    }));
    assert_eq!(codes(&f), ["device-id-invalid"]);
    assert!(f[0].message.contains("0014") && f[0].message.contains("SerialNumber is empty"));
    assert_eq!(
        check(&with_inform(|i| i.device_id.oui = "a1b2c3".to_owned())),
        vec![]
    );
}

#[test]
fn clock_skew_with_and_without_zone() {
    // The Inform is captured at T0 + 10 ms = 10:00:00.010Z.
    let f = check(&with_inform(|i| {
        i.current_time = Some("2026-11-27T10:06:00.010+00:00".to_owned())
    }));
    assert_eq!(codes(&f), ["clock-skew"]);
    let c = only(&f, "clock-skew");
    assert_eq!((c.severity, frames(c)), (Severity::Info, vec![2]));
    assert!(c.message.contains("360.0 s ahead of"), "{}", c.message);
    assert!(!c.message.contains("UTC)"));
    let f = check(&with_inform(|i| {
        i.current_time = Some("2026-11-27T09:00:00".to_owned())
    }));
    let c = only(&f, "clock-skew");
    assert!(c.message.contains("3600.0 s behind") && c.message.contains("taken as UTC"));
    // Within 300 s, an offset that makes it right, and the Unknown Time: nothing.
    for fine in [
        "2026-11-27T10:04:00Z",
        "2026-11-27T11:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "garbage",
    ] {
        let f = check(&with_inform(|i| i.current_time = Some(fine.to_owned())));
        assert_eq!(f, vec![], "{fine}");
    }
}

#[test]
fn a_nonzero_retry_count_is_info() {
    let f = check(&with_inform(|i| i.retry_count = Some(2)));
    assert_eq!(codes(&f), ["retry-count-nonzero"]);
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].message.contains("RetryCount is 2"));
}

#[test]
fn slow_responses_from_either_side() {
    let mut l = Ladder::new();
    l.cpe(vec![inform_env(&["2 PERIODIC"])])
        .last(|m| m.credentials = Some(digest()))
        .wait(6 * S)
        .acs(
            200,
            vec![inform_response(), env(other("Reboot"), Some("4"))],
        )
        .wait(7 * S)
        .cpe(vec![env(other("RebootResponse"), Some("4"))])
        .acs(204, vec![])
        .ends_normally();
    if let Rpc::Inform(i) = &mut l.s.messages[0].envelopes[0].rpc {
        i.max_envelopes = Some(2);
    }
    let f = check(&l);
    assert_eq!(codes(&f), ["slow-response", "slow-response"]);
    assert_eq!(frames(&f[0]), [2, 4]);
    assert!(f[0].message.contains("ACS took 6.0 s"), "{}", f[0].message);
    assert_eq!(frames(&f[1]), [4, 6]);
    assert!(f[1].message.contains("CPE took 7.0 s"), "{}", f[1].message);
    assert_eq!(f[0].severity, Severity::Warning);
    // 4 s is under the 5 s threshold.
    l.s.messages[1].ts -= 2 * S;
    l.s.messages[2].ts -= 3 * S;
    assert_eq!(check(&l), vec![]);
}

#[test]
fn silence_beyond_the_session_timeout() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"]).wait(31 * S).closed();
    let f = check(&l);
    let t = only(&f, "session-timeout");
    assert_eq!(
        (t.severity, frames(t), t.message_index),
        (Severity::Error, vec![4, 6], Some(2))
    );
    assert!(
        t.message.contains("31.0 s") && t.message.contains("30.0 s"),
        "{}",
        t.message
    );
    // The CPE asked for 60 s.
    l.s.messages[0].envelopes[0].header.session_timeout = Some(60);
    assert_eq!(codes(&check(&l)), Vec::<&str>::new());
    // ... or for 10 s.
    l.s.messages[0].envelopes[0].header.session_timeout = Some(10);
    let mut short = Ladder::new();
    short.opened(&["2 PERIODIC"]).wait(15 * S).closed();
    short.s.messages[0].envelopes[0].header.session_timeout = Some(10);
    let t = check(&short);
    assert!(
        only(&t, "session-timeout")
            .message
            .contains("SessionTimeout of 10 s")
    );
}

#[test]
fn connection_request_timing() {
    // The Inform (at T0 + 10 ms) 40 s after the CR's 204.
    let mut l = Ladder::new();
    l.connection_request(true, 204, T0 - 40 * S)
        .opened(&["6 CONNECTION REQUEST"])
        .closed();
    let f = check(&l);
    assert_eq!(codes(&f), ["connection-request-timing"]);
    assert_eq!(frames(&f[0]), [1001, 2]);
    assert!(f[0].message.contains("40.0 s after"), "{}", f[0].message);
    // Before the CR's answer.
    let mut l = Ladder::new();
    l.connection_request(true, 204, T0 + S)
        .opened(&["6 CONNECTION REQUEST"])
        .closed();
    assert!(
        only(&check(&l), "connection-request-timing")
            .message
            .contains("before")
    );
    // 1 s after: fine.
    let mut l = Ladder::new();
    l.connection_request(true, 204, T0 - S)
        .opened(&["6 CONNECTION REQUEST"])
        .closed();
    assert_eq!(check(&l), vec![]);
}

#[test]
fn orphan_connection_requests() {
    let mut l = Ladder::new();
    l.connection_request(true, 200, T0);
    let cr = l.s.connection_request.clone().unwrap();
    let f = crate::findings::connection::orphan_connection_request(&cr, &Thresholds::default());
    assert_eq!(
        (f.code.id(), f.severity),
        ("connection-request-timing", Severity::Warning)
    );
    assert_eq!(frames(&f), [1000, 1001]);
    assert!(f.message.contains("answered 200") && f.message.contains("30.0 s"));
}

#[test]
fn resets_inside_the_session_and_retransmissions() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .ends_abnormally(Termination::Reset);
    let f = check(&l);
    assert_eq!(codes(&f), ["session-not-terminated", "tcp-reset"]);
    let r = only(&f, "tcp-reset");
    assert_eq!((r.severity, frames(r)), (Severity::Error, vec![4]));
    // A reset after the ACS's empty response is outside the session.
    let mut l = clean();
    let t = l.s.end + MS;
    l.conn_ends(ConnEnd::Reset, t);
    assert_eq!(check(&l), vec![]);

    let mut l = clean();
    l.s.connections[0].stats = Some(ConnStats {
        data_segments: [20, 10],
        retransmissions: [2, 0],
        ..ConnStats::default()
    });
    let f = check(&l);
    assert_eq!(codes(&f), ["tcp-retransmissions"]);
    assert!(
        f[0].message
            .contains("2 of 20 data segments from the CPE (10.0 %)"),
        "{}",
        f[0].message
    );
    l.s.connections[0].stats = Some(ConnStats {
        data_segments: [20, 10],
        retransmissions: [1, 0],
        ..ConnStats::default()
    });
    assert_eq!(check(&l), vec![]);
}

#[test]
fn capture_notes_and_malformed_xml() {
    let mut l = clean();
    l.s.notes.push(Note::CaptureGap {
        conn: crate::types::ConnId(1),
        frame: FrameRef::new(0, 3),
        ts: T0,
        len: 100,
        from_cpe: true,
    });
    l.s.messages[2].malformed = Some(crate::cwmp::MalformedXml {
        offset: 12,
        reason: "bad".to_owned(),
    });
    let f = check(&l);
    assert_eq!(codes(&f), ["capture-gap", "malformed-message"]);
    assert!(
        only(&f, "malformed-message")
            .message
            .contains("body byte 12")
    );
    // The same body refused at a decoding limit blames no one: the session shows the limit.
    l.s.messages[2].limits_hit = crate::limits::LimitSet::of(crate::limits::Limit::XmlDepth);
    assert_eq!(codes(&check(&l)), ["capture-gap"]);
    // A limit that does not make a body undecodable does not hide the finding.
    l.s.messages[2].limits_hit = crate::limits::LimitSet::of(crate::limits::Limit::RpcArgs);
    assert_eq!(codes(&check(&l)), ["capture-gap", "malformed-message"]);
}

#[test]
fn a_reset_is_cited_at_its_rst() {
    let mut l = Ladder::new();
    l.opened(&["2 PERIODIC"])
        .ends_abnormally(Termination::Reset);
    l.s.connections[0].stats = Some(ConnStats {
        rst_frame: Some(FrameRef::new(0, 7)),
        ..ConnStats::default()
    });
    let f = check(&l);
    let r = only(&f, "tcp-reset");
    assert_eq!(frames(r), [7], "the RST, not the last message (frame 4)");
    assert_eq!(r.message_index, Some(1));
}
