//! Hand-built sessions for the rules' unit tests: a scripted ladder of CPE and ACS messages on
//! one connection, each 10 ms after the previous one, frames numbered from 1.

use crate::cwmp::{CwmpNs, DeviceId, Envelope, Event, Header, Inform, Rpc};
use crate::findings::Finding;
use crate::http::auth::{Challenge, Credentials, DigestParams};
use crate::session::{
    ConnRecord, ConnectionRequest, HttpLine, MessageKind, Session, SessionConn, SessionMessage,
    Termination,
};
use crate::tcp::{ConnEnd, ConnStats};
use crate::types::{ConnId, FrameRef, Nanos};

pub const MS: Nanos = 1_000_000;
pub const S: Nanos = 1_000_000_000;
/// 2026-11-27T10:00:00Z.
pub const T0: Nanos = 1_795_773_600 * S;

/// An envelope in cwmp-1-0 with this ID.
pub fn env(rpc: Rpc, id: Option<&str>) -> Envelope {
    Envelope {
        ns: Some(CwmpNs::V1(0)),
        header: Header {
            id: id.map(str::to_owned),
            ..Header::default()
        },
        rpc,
    }
}

/// An RPC kept by name only.
pub fn other(name: &str) -> Rpc {
    Rpc::Other {
        name: name.to_owned(),
        args: Vec::new(),
    }
}

/// A valid Inform with these events.
pub fn inform(events: &[&str]) -> Inform {
    Inform {
        device_id: DeviceId {
            manufacturer: "ACME".to_owned(),
            oui: "00147F".to_owned(),
            product_class: "Box".to_owned(),
            serial_number: "SN1".to_owned(),
        },
        events: events
            .iter()
            .map(|c| Event {
                code: (*c).to_owned(),
                command_key: String::new(),
            })
            .collect(),
        max_envelopes: Some(1),
        current_time: Some("2026-11-27T10:00:00Z".to_owned()),
        retry_count: Some(0),
        parameters: Vec::new(),
    }
}

pub fn inform_env(events: &[&str]) -> Envelope {
    env(Rpc::Inform(inform(events)), Some("1"))
}

pub fn inform_response() -> Envelope {
    env(
        Rpc::InformResponse {
            max_envelopes: Some(1),
        },
        Some("1"),
    )
}

pub fn digest() -> Credentials {
    Credentials::Digest(DigestParams {
        username: Some("cpe".to_owned()),
        ..DigestParams::default()
    })
}

pub fn basic() -> Credentials {
    Credentials::Basic {
        username: Some("cpe".to_owned()),
        password: Some("secret".to_owned()),
    }
}

pub fn digest_challenge(stale: bool) -> Challenge {
    Challenge::Digest(DigestParams {
        realm: Some("acs".to_owned()),
        stale: stale.then_some(true),
        ..DigestParams::default()
    })
}

/// Builds a session message by message.
pub struct Ladder {
    pub s: Session,
    t: Nanos,
    frame: u64,
}

impl Default for Ladder {
    fn default() -> Self {
        Ladder::new()
    }
}

impl Ladder {
    pub fn new() -> Self {
        let cpe = "192.0.2.1:40000".parse().unwrap();
        let acs = "198.51.100.1:7547".parse().unwrap();
        Ladder {
            s: Session {
                number: 1,
                cpe_ip: "192.0.2.1".parse().unwrap(),
                acs,
                device: None,
                events: Vec::new(),
                start: T0,
                end: T0,
                connections: vec![SessionConn {
                    id: ConnId(1),
                    cpe,
                    acs,
                    ts: T0,
                    end: None,
                    end_frame: None,
                    stats: None,
                    handshake_seen: true,
                    tls: None,
                    acs_host: None,
                }],
                termination: Termination::CaptureEnded,
                ended_by: None,
                messages: Vec::new(),
                connection_request: None,
                unannounced_connection_request: None,
                inferred_device: None,
                notes: Vec::new(),
                findings: Vec::new(),
                limits_hit: Default::default(),
            },
            t: T0,
            frame: 0,
        }
    }

    /// Lets time pass before the next message.
    pub fn wait(&mut self, d: Nanos) -> &mut Self {
        self.t += d;
        self
    }

    fn push(&mut self, from_cpe: bool, status: Option<u16>, envelopes: Vec<Envelope>) -> &mut Self {
        self.t += 10 * MS;
        self.frame += 2;
        let body_len = envelopes.len() as u64 * 500;
        if let Some(Rpc::Inform(i)) = envelopes
            .iter()
            .map(|e| &e.rpc)
            .find(|r| matches!(r, Rpc::Inform(_)))
            && self.s.device.is_none()
        {
            self.s.device = Some(i.device_id.clone());
            self.s.events = i.events.clone();
        }
        self.s.messages.push(SessionMessage {
            kind: MessageKind::Cwmp,
            conn: ConnId(1),
            frame: FrameRef::new(0, self.frame - 1),
            last_frame: FrameRef::new(0, self.frame),
            ts: self.t,
            end_ts: self.t + MS,
            from_cpe,
            http: HttpLine {
                method: from_cpe.then(|| "POST".to_owned()),
                uri: from_cpe.then(|| "/acs".to_owned()),
                status,
                reason: status.map(|_| "Reason".to_owned()),
                body_len,
                complete: true,
                gap_bytes: 0,
                content_type: None,
            },
            credentials: None,
            challenges: Vec::new(),
            cookies: Vec::new(),
            set_cookies: Vec::new(),
            envelopes,
            malformed: None,
            step: None,
            raw: None,
            limits_hit: Default::default(),
        });
        self.s.end = self.t + MS;
        self
    }

    /// A CPE POST carrying these envelopes (none: an empty POST).
    pub fn cpe(&mut self, envelopes: Vec<Envelope>) -> &mut Self {
        self.push(true, None, envelopes)
    }

    /// An ACS response.
    pub fn acs(&mut self, status: u16, envelopes: Vec<Envelope>) -> &mut Self {
        self.push(false, Some(status), envelopes)
    }

    /// A 401 with one Digest challenge.
    pub fn challenge(&mut self, stale: bool) -> &mut Self {
        self.acs(401, vec![])
            .last(|m| m.challenges = vec![digest_challenge(stale)])
    }

    /// Changes the last message.
    pub fn last(&mut self, f: impl FnOnce(&mut SessionMessage)) -> &mut Self {
        if let Some(m) = self.s.messages.last_mut() {
            f(m);
        }
        self
    }

    /// Inform (Digest) → InformResponse.
    pub fn opened(&mut self, events: &[&str]) -> &mut Self {
        self.cpe(vec![inform_env(events)])
            .last(|m| m.credentials = Some(digest()))
            .acs(200, vec![inform_response()])
    }

    /// Empty POST → empty 204, and the session ends normally.
    pub fn closed(&mut self) -> &mut Self {
        self.cpe(vec![]).acs(204, vec![]).ends_normally()
    }

    /// The last message (an empty ACS response) ended the session.
    pub fn ends_normally(&mut self) -> &mut Self {
        self.s.termination = Termination::Normal;
        self.s.ended_by = self.s.messages.last().map(|m| m.frame);
        let t = self.t + 2 * MS;
        self.conn_ends(ConnEnd::Closed, t)
    }

    pub fn conn_ends(&mut self, end: ConnEnd, ts: Nanos) -> &mut Self {
        if let Some(c) = self.s.connections.first_mut() {
            c.end = Some((end, ts));
        }
        self.s.end = self.s.end.max(ts);
        self
    }

    /// The session ended without the ACS's empty response.
    pub fn ends_abnormally(&mut self, t: Termination) -> &mut Self {
        self.s.termination = t;
        let end = match t {
            Termination::Reset => ConnEnd::Reset,
            Termination::Timeout => ConnEnd::Idle,
            Termination::CaptureEnded => ConnEnd::CaptureEnded,
            _ => ConnEnd::Closed,
        };
        let ts = self.t + 2 * MS;
        self.conn_ends(end, ts)
    }

    /// A Connection Request (GET → optional 401 → answer) before the session.
    pub fn connection_request(
        &mut self,
        challenged: bool,
        status: u16,
        answered_at: Nanos,
    ) -> &mut Self {
        let acs_ip = self.s.acs.ip();
        let cpe = "192.0.2.1:7547".parse().unwrap();
        self.s.connection_request = Some(ConnectionRequest {
            acs_ip,
            cpe,
            uri: "/cr".to_owned(),
            frame: FrameRef::new(0, 1000),
            ts: answered_at - MS,
            challenged,
            final_status: Some(status),
            final_frame: Some(FrameRef::new(0, 1001)),
            final_ts: Some(answered_at),
        });
        self
    }

    pub fn build(&self) -> Session {
        self.s.clone()
    }
}

/// The codes of some findings, sorted.
pub fn codes(findings: &[Finding]) -> Vec<&'static str> {
    let mut c: Vec<_> = findings.iter().map(|f| f.code.id()).collect();
    c.sort_unstable();
    c
}

/// The frame numbers of a finding.
pub fn frames(f: &Finding) -> Vec<u64> {
    f.frames.iter().map(|f| f.number).collect()
}

/// The only finding with this code.
pub fn only<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    let found: Vec<_> = findings.iter().filter(|f| f.code.id() == code).collect();
    assert_eq!(found.len(), 1, "{code} in {findings:#?}");
    found[0]
}

/// A connection of no session from `client` to `server` that ended `end`, with the client's
/// SYNs at `syns` and a RST at `rst`.
pub fn conn_record(
    client: &str,
    server: &str,
    end: ConnEnd,
    syns: &[u64],
    rst: Option<u64>,
) -> ConnRecord {
    let first = syns.first().copied().unwrap_or(1);
    let server: std::net::SocketAddr = server.parse().unwrap();
    ConnRecord {
        id: ConnId(9),
        client: client.parse().unwrap(),
        server,
        opened: T0,
        first_frame: FrameRef::new(0, first),
        closed: T0 + 3 * S,
        end,
        stats: ConnStats {
            frames: [syns.len() as u64, u64::from(rst.is_some())],
            syn_frames: syns.iter().map(|&n| FrameRef::new(0, n)).collect(),
            rst_frame: rst.map(|n| FrameRef::new(0, n)),
            ..ConnStats::default()
        },
        handshake_seen: true,
        was_http: false,
        tls: false,
        tls_info: None,
        // As the session stage decides with nothing learned yet: the CWMP port.
        known_server: server.port() == 7547,
        named: None,
    }
}
