//! Tests of the transfer rules on hand-built transactions: a failed handshake to the file
//! server and what it explains.

use super::*;
use crate::cwmp::FaultStruct;
use crate::findings::testkit::{T0, codes, conn_record, frames, only};
use crate::transaction::{Cpe, Order};
use crate::types::FrameRef;

const URL: &str = "http://10.0.0.3/configs/a.cfg";

/// A configuration update answered Status 1, reported by a TransferComplete with `fault`, and
/// never fetched.
fn transaction(fault: u32) -> (Transaction, Evidence) {
    let tx = Transaction {
        number: 1,
        kind: Kind::ConfigurationUpdate,
        cpe: Cpe {
            ip: "10.0.0.5".parse().unwrap(),
            device: None,
        },
        acs: "10.0.0.2:7547".parse().unwrap(),
        file_server: None,
        command_key: "cfg-1".to_owned(),
        file_type: "3 Vendor Configuration File".to_owned(),
        url: URL.to_owned(),
        announced_size: None,
        received_bytes: None,
        file_hash: None,
        download_status: Some(1),
        outcome: if fault == 0 {
            Outcome::Success
        } else {
            Outcome::Failed
        },
        fault: Some(FaultStruct {
            code: Some(fault),
            string: "Unable to contact file server".to_owned(),
        }),
        sessions: vec![1, 2],
        steps: Vec::new(),
        findings: Vec::new(),
        versions: Vec::new(),
        start: T0,
        end: T0,
        file_conns: Vec::new(),
        limits_hit: Default::default(),
    };
    let ev = Evidence {
        order: Order {
            command_key: "cfg-1".to_owned(),
            file_type: "3 Vendor Configuration File".to_owned(),
            url: URL.to_owned(),
            ..Order::default()
        },
        fetch: Vec::new(),
        conns: Vec::new(),
        answer_frame: Some(FrameRef::new(0, 10)),
        tc_times: Some((
            "0001-01-01T00:00:00Z".to_owned(),
            "0001-01-01T00:00:00Z".to_owned(),
        )),
        tc_session_unanswered: false,
        report_clock: None,
        report_inform_frame: None,
        report_frame: Some(FrameRef::new(0, 30)),
    };
    (tx, ev)
}

fn fault_note() -> Note {
    Note::TransferFault {
        command_key: "cfg-1".to_owned(),
        fault: FaultStruct {
            code: Some(9015),
            string: "Unable to contact file server".to_owned(),
        },
        frame: Some(FrameRef::new(0, 30)),
    }
}

fn unanswered() -> Note {
    Note::FileServerUnreachable(conn_record(
        "10.0.0.5:40000",
        "10.0.0.3:80",
        ConnEnd::HandshakeFailed,
        &[12, 13, 15],
        None,
    ))
}

fn refused() -> Note {
    Note::FileServerUnreachable(conn_record(
        "10.0.0.5:40000",
        "10.0.0.3:80",
        ConnEnd::Refused,
        &[12],
        Some(13),
    ))
}

#[test]
fn a_fault_is_tied_to_the_failed_handshake_it_follows() {
    let found = of_notes(&[unanswered(), fault_note()]);
    assert_eq!(codes(&found), ["handshake-failed", "transfer-fault"]);
    let syn = only(&found, "handshake-failed");
    assert_eq!(frames(syn), [12, 13, 15], "every SYN");
    assert!(syn.message.contains("sent 3 times"), "{}", syn.message);
    let fault = only(&found, "transfer-fault");
    assert!(
        fault.message.contains(
            "9015 (Unable to contact file server): \"Unable to contact file server\" ↔ SYN to \
             10.0.0.3:80 unanswered at frames 12, 13, 15"
        ),
        "{}",
        fault.message
    );
    assert_eq!(frames(fault), [30]);
    // A refused SYN: the RST is a frame of the finding and named as the cause.
    let found = of_notes(&[refused(), fault_note()]);
    let syn = only(&found, "handshake-failed");
    assert_eq!(frames(syn), [12, 13]);
    assert!(
        syn.message.contains("refused: RST at frame 13"),
        "{}",
        syn.message
    );
    assert!(
        only(&found, "transfer-fault")
            .message
            .ends_with("↔ SYN to 10.0.0.3:80 refused at frame 12 (RST at frame 13)")
    );
    // Without a failed handshake the fault stands alone.
    let found = of_notes(&[fault_note()]);
    assert!(!found[0].message.contains('↔'));
}

#[test]
fn a_failed_handshake_is_not_a_missing_fetch() {
    let th = Thresholds::default();
    let (tx, ev) = transaction(9015);
    assert_eq!(codes(&judge(&tx, &[], &ev, &th)), ["file-not-fetched"]);
    assert_eq!(
        codes(&judge(&tx, &[unanswered()], &ev, &th)),
        Vec::<&str>::new()
    );
    // Reported as a success although nothing came through.
    let (tx, ev) = transaction(0);
    let found = judge(&tx, &[refused()], &ev, &th);
    let f = only(&found, "transfer-contradicts-capture");
    assert!(f.message.contains("refused at frame 12"), "{}", f.message);
    assert_eq!(frames(f), [30]);
}
