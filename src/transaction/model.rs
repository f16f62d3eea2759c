//! The transaction model: what a finished transaction is ([`Transaction`], its [`Step`]s on the
//! reference ladder), and the facts the tracker hands the findings stage with it ([`Note`]s in
//! the order they were noticed, and the [`Evidence`] of the file transfer).

use crate::catalogue::Finding;
use crate::cwmp::{DeviceId, FaultStruct};
use crate::limits::LimitSet;
use crate::session::{ConnRecord, ConnectionRequest, HttpExchange};
use crate::types::{ConnId, FrameRef, Nanos};
use std::net::{IpAddr, SocketAddr};

/// What a transaction transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    FirmwareUpgrade,
    ConfigurationUpdate,
    Download,
    Upload,
}

impl Kind {
    pub(super) fn of(file_type: &str, upload: bool) -> Kind {
        if upload {
            Kind::Upload
        } else if file_type.trim_start().starts_with("1 ") {
            Kind::FirmwareUpgrade
        } else if file_type.trim_start().starts_with("3 ") {
            Kind::ConfigurationUpdate
        } else {
            Kind::Download
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FirmwareUpgrade => "firmware-upgrade",
            Kind::ConfigurationUpdate => "configuration-update",
            Kind::Download => "download",
            Kind::Upload => "upload",
        }
    }
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Success,
    Failed,
    Incomplete,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        }
    }

    /// The outcome named `name` (as [`Outcome::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Outcome> {
        [Outcome::Success, Outcome::Failed, Outcome::Incomplete]
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// The three parties of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Cpe,
    Acs,
    FileServer,
}

/// One observed message (or connection close) of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Step of the reference ladder, or None where the message fits none.
    pub step: Option<u32>,
    /// What it is, for people (`Inform (2 PERIODIC)`, `GET /x.cfg`, `401 Digest`).
    pub what: String,
    pub from: Party,
    pub to: Party,
    /// None for a connection close.
    pub frame: Option<FrameRef>,
    pub first_frame: Option<FrameRef>,
    pub ts: Nanos,
    /// Session number, for messages of a CWMP session.
    pub session: Option<u64>,
    /// A connection close rather than a message (`frame` is its first FIN or RST).
    pub close: bool,
}

/// The CPE a transaction concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpe {
    pub ip: IpAddr,
    pub device: Option<DeviceId>,
}

/// A finished transaction.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub number: u64,
    pub kind: Kind,
    pub cpe: Cpe,
    pub acs: SocketAddr,
    pub file_server: Option<SocketAddr>,
    pub command_key: String,
    pub file_type: String,
    pub url: String,
    pub announced_size: Option<u64>,
    pub received_bytes: Option<u64>,
    /// SHA-256 of the file body as delivered, when no byte of it was lost.
    pub file_hash: Option<crate::http::body::BodyDigest>,
    pub download_status: Option<u32>,
    pub outcome: Outcome,
    pub fault: Option<FaultStruct>,
    pub sessions: Vec<u64>,
    pub steps: Vec<Step>,
    pub findings: Vec<Finding>,
    /// (parameter, before, after) of the version parameters the Informs carried.
    pub versions: Vec<(String, Option<String>, Option<String>)>,
    pub start: Nanos,
    pub end: Nanos,
    /// The TCP connections of the file transfer (the fetch, an unanswered SYN to the file
    /// server), in the order they joined; the sessions' connections are in their `Session`s.
    /// Not in the report: it tells shells such as `extract` which frames are the transfer's.
    pub file_conns: Vec<FileConn>,
    /// The resource limits that cut the transaction short: its sessions', its file
    /// connections', and the transaction stage's own; empty when none did.
    pub limits_hit: LimitSet,
}

/// One TCP connection of a transaction's file transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConn {
    pub id: ConnId,
    /// The CPE's side (the initiator).
    pub client: SocketAddr,
    /// The file server's side.
    pub server: SocketAddr,
    /// First packet, when known (the connection record, else the first request).
    pub first: Option<Nanos>,
    /// When it ended, once it closed within the capture.
    pub last: Option<Nanos>,
    /// Its TLS (HTTPS), once it closed.
    pub tls: Option<Box<crate::tls::TlsSummary>>,
}

/// The Download (or Upload) order as the ACS sent it.
#[derive(Clone, Debug, Default)]
pub struct Order {
    pub command_key: String,
    pub file_type: String,
    pub url: String,
    pub username: String,
    pub file_size: Option<u64>,
    pub upload: bool,
}

/// Something the tracker noticed while following a transfer, kept (in order) with the session
/// or transaction it concerns; the findings stage turns each into a finding.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    /// The CPE answered the order with a Fault.
    OrderRejected {
        command_key: String,
        fault: FaultStruct,
        frame: FrameRef,
    },
    /// The TransferComplete reports a fault.
    TransferFault {
        command_key: String,
        fault: FaultStruct,
        frame: Option<FrameRef>,
    },
    /// The DeviceId changed between the order and the session `session` that reported it.
    DeviceChanged {
        before: DeviceId,
        after: DeviceId,
        session: u64,
    },
    /// `0 BOOTSTRAP` after an update of the CPE (at the Inform, message `message`).
    BootstrapAfterUpdate {
        frame: Option<FrameRef>,
        message: Option<usize>,
    },
    /// `1 BOOT` without `M Reboot` after a configuration download of the CPE.
    BootAfterConfiguration {
        frame: Option<FrameRef>,
        message: Option<usize>,
    },
    /// The TRANSFER COMPLETE session `session` got no InformResponse.
    ReportUnanswered {
        session: u64,
        frame: Option<FrameRef>,
    },
    /// A later Inform (session `session`) lacks `7 TRANSFER COMPLETE` while the transfer
    /// awaits its report.
    ReportMissing {
        session: u64,
        command_key: String,
        frame: Option<FrameRef>,
    },
    /// Status 1 and no TransferComplete by the end of the capture.
    NoReportAtEnd {
        command_key: String,
        frame: Option<FrameRef>,
    },
    /// Status 1 and no TransferComplete `waited` after the session of the order ended: the
    /// transfer is no longer awaited.
    NoReportInTime {
        command_key: String,
        frame: Option<FrameRef>,
        waited: Nanos,
    },
    /// A TransferComplete (at message `message`) whose CommandKey matches no outstanding order.
    UnknownReport {
        command_key: String,
        frame: Option<FrameRef>,
        message: usize,
    },
    /// A TransferComplete (at message `message`) already reported in an earlier session.
    RepeatedReport {
        command_key: String,
        frame: Option<FrameRef>,
        message: usize,
    },
    /// An `M Download`-style event whose CommandKey matches no order of the CPE.
    UnknownEventKey {
        event: String,
        command_key: String,
        frame: Option<FrameRef>,
        message: Option<usize>,
    },
    /// The CPE's SYN to the file server, while the transfer waited for its fetch, was never
    /// answered or was refused (the record's `end`).
    FileServerUnreachable(ConnRecord),
    /// An accepted Connection Request that session `session` followed without announcing it:
    /// its Inform (at `inform_frame`) lacks `6 CONNECTION REQUEST`.
    UnannouncedConnectionRequest {
        cr: ConnectionRequest,
        session: u64,
        inform_frame: Option<FrameRef>,
        message: Option<usize>,
    },
}

/// What the capture shows of a finished transaction's file transfer and report, for the
/// findings that judge the whole transaction.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub order: Order,
    /// The file exchanges, in order.
    pub fetch: Vec<HttpExchange>,
    /// Connections the fetch used, with their records once closed.
    pub conns: Vec<(ConnId, Option<ConnRecord>)>,
    /// Frame of the CPE's answer to the order (DownloadResponse).
    pub answer_frame: Option<FrameRef>,
    /// StartTime and CompleteTime of the TransferComplete, when one reported the transfer.
    pub tc_times: Option<(String, String)>,
    /// The TRANSFER COMPLETE session got no InformResponse.
    pub tc_session_unanswered: bool,
    /// The reporting Inform's CurrentTime and the capture time of its message.
    pub report_clock: Option<(String, Nanos)>,
    /// Frame of the reporting session's Inform.
    pub report_inform_frame: Option<FrameRef>,
    /// Frame of the first step 18 (TransferComplete) among the steps as recorded.
    pub report_frame: Option<FrameRef>,
}

/// What the capture shows of the file fetch: its final answer.
#[derive(Clone, Copy, Debug)]
pub struct FetchSummary {
    /// The last response that was not a challenge.
    pub final_status: Option<u16>,
    pub final_frame: Option<FrameRef>,
    pub final_complete: bool,
    pub received: Option<u64>,
    pub first_request_ts: Option<Nanos>,
    pub final_end_ts: Option<Nanos>,
    /// The capture lost bytes of the final answer.
    pub lost: bool,
    /// SHA-256 of the final 2xx body (when no byte of it was lost).
    pub hash: Option<crate::http::body::BodyDigest>,
}

impl FetchSummary {
    /// The summary of a transaction's file exchanges.
    pub fn of(fetch: &[HttpExchange]) -> FetchSummary {
        let mut f = FetchSummary {
            final_status: None,
            final_frame: None,
            final_complete: false,
            received: None,
            first_request_ts: fetch.first().map(|x| x.request.ts),
            final_end_ts: None,
            lost: false,
            hash: None,
        };
        for x in fetch {
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
                    f.hash = r.body_sha256.filter(|_| r.gap_bytes == 0);
                }
            }
        }
        f
    }
}
