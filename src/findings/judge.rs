//! The findings stage: takes what the transaction stage hands on, in order, adds the findings
//! of each item, and hands the result to the printers as [`Output`]. A finding of no session
//! or transaction names the CPE it concerns when one is known at its address. The TLS of each
//! connection is judged where the connection belongs: with the transaction whose file server
//! it goes to, else the session that used it, else the capture.

use super::tls::{TlsEnds, TlsFacts, judge_tls};
use super::{CpeHistory, Finding, Thresholds, check_session_with_history, connection, transfer};
use crate::limits::{Limit, LimitCounts};
use crate::session::{ConnRecord, CpeDirectory, ServerRole, Session, split_url};
use crate::tcp::ConnEnd;
use crate::transaction::matching::is_service_port;
use crate::transaction::{Cpe, Evidence, Tracked, Transaction};
use std::net::IpAddr;

/// What the analysis core hands to the printers.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Output {
    Session(Session),
    Transaction(Transaction),
    /// A finding that belongs to no session or transaction (a SYN to the ACS never answered),
    /// with the CPE it concerns when one was seen at its address (the latest DeviceId an Inform
    /// from there carried).
    Finding(Finding, Option<Cpe>),
    /// The sessions open at this point of capture time, as they stand (no findings yet): a
    /// view of what is in progress, emitted only when asked for
    /// ([`crate::pipeline::PipelineConfig::open_every`]). Each is reported again as
    /// [`Output::Session`] once it ends.
    Open(Vec<Session>),
    /// In a shard run (`--shard`), comes just before each session, transaction and finding:
    /// where that output stands in the whole run (see [`crate::shard::Position`]).
    Position(crate::shard::Position),
}

/// Judges each finished session, transaction and loose connection.
pub struct Judge {
    thresholds: Thresholds,
    /// Every session, in the order they finish, for the rules across a CPE's sessions.
    history: CpeHistory,
    /// The CPE last seen at each address, for findings of no session or transaction.
    directory: CpeDirectory,
}

impl Judge {
    pub fn new(thresholds: Thresholds) -> Self {
        Judge::with_max_cpes(thresholds, Limit::CpeHistory.default_usize())
    }

    /// A judge remembering at most `max_cpes` CPEs across sessions (`cpe-history`).
    pub fn with_max_cpes(thresholds: Thresholds, max_cpes: usize) -> Self {
        Judge {
            thresholds,
            history: CpeHistory::new(max_cpes),
            directory: CpeDirectory::new(max_cpes),
        }
    }

    /// Limits reached so far, by limit: CPEs forgotten by the history and the directory.
    pub fn limits_hit(&self) -> LimitCounts {
        let mut counts = LimitCounts::default();
        counts.add_n(
            Limit::CpeHistory,
            self.history.forgotten() + self.directory.forgotten(),
        );
        counts
    }

    /// The CPE at the first of these addresses where one was seen.
    fn cpe_at(&self, ips: &[IpAddr]) -> Option<Cpe> {
        ips.iter().find_map(|&ip| {
            self.directory.get(ip).map(|device| Cpe {
                ip,
                device: Some(device.clone()),
            })
        })
    }

    /// Consumes one item of the transaction stage.
    pub fn push(&mut self, item: Tracked, out: &mut impl FnMut(Output)) {
        match item {
            Tracked::Session(mut s, notes) => {
                if let Some(device) = &s.device {
                    self.directory.record(s.cpe_ip, device);
                }
                // The session's own rules first, then what the transaction stage noticed.
                let mut found = check_session_with_history(&s, &mut self.history, &self.thresholds);
                found.extend(notes.iter().map(transfer::of_note));
                tls_of_session(&s, &mut found);
                s.findings = found;
                out(Output::Session(s));
            }
            Tracked::Transaction(mut tx, notes, evidence) => {
                // What was noticed along the way, in order, then the whole transfer.
                let mut found = transfer::of_notes(&notes);
                found.extend(transfer::judge(&tx, &notes, &evidence, &self.thresholds));
                tls_of_transaction(&evidence, &mut found);
                tx.findings = found;
                out(Output::Transaction(tx));
            }
            Tracked::Connection(c) => {
                // The CPE is the client (its SYN), or the server (a Connection Request).
                let cpe = self.cpe_at(&[c.client.ip(), c.server.ip()]);
                // A failed handshake is CWMP's business only with an ACS or file server, or
                // with a known CPE: other traffic on a span port is not judged.
                let ours = c.known_server || cpe.is_some();
                let found = if c.end == ConnEnd::Refused && is_service_port(c.server.port()) {
                    ours.then(|| connection::handshake_failed(&c, "server"))
                } else if c.end == ConnEnd::HandshakeFailed && !ours {
                    None
                } else {
                    connection::unclaimed(&c)
                };
                let mut tls = Vec::new();
                tls_of_connection(&c, &mut tls);
                for f in found.into_iter().chain(tls) {
                    out(Output::Finding(f, cpe.clone()));
                }
            }
            Tracked::OrphanConnectionRequest(cr) => out(Output::Finding(
                connection::orphan_connection_request(&cr, &self.thresholds),
                self.cpe_at(&[cr.cpe.ip()]),
            )),
        }
    }
}

/// The TLS findings of a session's connections to its ACS; the expected host is the CPE's
/// `ManagementServer.URL` as known when the connection closed.
fn tls_of_session(s: &Session, out: &mut Vec<Finding>) {
    for c in &s.connections {
        let Some(t) = c.tls.as_deref() else {
            continue;
        };
        let first = s.messages.iter().find(|m| m.conn == c.id);
        let Some(first) = first.or(s.messages.first()) else {
            continue;
        };
        let ends = TlsEnds {
            client: c.cpe,
            server: c.acs,
            role: ServerRole::Acs,
            url_host: c.acs_host.as_deref(),
            first_frame: first.frame,
            opened: c.ts,
        };
        judge_tls(&TlsFacts::of(t, ends), out);
    }
}

/// The TLS findings of the connections a transaction watched or fetched on (to its file
/// server, whose expected host is the order's URL's), and `tls-opaque` for those whose
/// records were not decrypted and carried no fetch the capture shows.
fn tls_of_transaction(evidence: &Evidence, out: &mut Vec<Finding>) {
    let url_host = split_url(evidence.order.url.trim()).map(|(host, _, _)| host);
    for (id, record) in &evidence.conns {
        let Some(c) = record else {
            continue;
        };
        let Some(t) = c.tls_info.as_deref() else {
            continue;
        };
        // Not when it asked for another name: another server on the file server's port (a
        // URL's name says no address).
        if asks_for(t, url_host.as_deref()) {
            let ends = TlsEnds {
                client: c.client,
                server: c.server,
                role: ServerRole::FileServer,
                url_host: url_host.as_deref().filter(|h| !h.is_empty()),
                first_frame: c.first_frame,
                opened: c.opened,
            };
            judge_tls(&TlsFacts::of(t, ends), out);
        }
        if connection::is_opaque(c) && !evidence.fetch.iter().any(|x| x.conn == *id) {
            out.push(connection::tls_opaque(c));
        }
    }
}

/// Whether a TLS client may be talking to the server of a URL naming `host`: unless the URL
/// names a host by name (which a connection's address cannot be compared with) and the
/// client asked for another name (SNI). A connection to the port of a file server or ACS
/// known only by name may be to any server.
fn asks_for(t: &crate::tls::TlsSummary, host: Option<&str>) -> bool {
    match (host, t.sni.as_deref()) {
        (Some(host), Some(sni)) if host.parse::<IpAddr>().is_err() => sni
            .trim_end_matches('.')
            .eq_ignore_ascii_case(host.trim_end_matches('.')),
        _ => true,
    }
}

/// The TLS findings of a connection of no session and no transaction to a server the CWMP
/// traffic named (an ACS, a file server, a CPE's Connection Request URL).
fn tls_of_connection(c: &ConnRecord, out: &mut Vec<Finding>) {
    let (Some(t), Some(named)) = (c.tls_info.as_deref(), &c.named) else {
        return;
    };
    if !asks_for(t, named.host.as_deref()) {
        return;
    }
    let ends = TlsEnds {
        client: c.client,
        server: c.server,
        role: named.role,
        url_host: named.host.as_deref(),
        first_frame: c.first_frame,
        opened: c.opened,
    };
    judge_tls(&TlsFacts::of(t, ends), out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Code;
    use crate::findings::testkit::{Ladder, T0, codes, conn_record, frames, only};
    use crate::session::NamedServer;
    use crate::tls::{TlsAlert, TlsReason, TlsSummary};
    use crate::transaction::{Note, Order};
    use crate::types::{ConnId, Dir, FrameRef};

    fn outputs(judge: &mut Judge, items: Vec<Tracked>) -> Vec<Output> {
        let mut out = Vec::new();
        for item in items {
            judge.push(item, &mut |o| out.push(o));
        }
        out
    }

    fn loose(out: &[Output]) -> Vec<(&Finding, Option<&Cpe>)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Finding(f, cpe) => Some((f, cpe.as_ref())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn failed_handshakes_of_traffic_that_is_not_cwmp_are_not_judged() {
        let mut judge = Judge::new(Thresholds::default());
        // A workstation's SYN to some web server, never answered, and another refused.
        let out = outputs(
            &mut judge,
            vec![
                Tracked::Connection(conn_record(
                    "192.0.2.50:40001",
                    "198.51.100.80:80",
                    ConnEnd::HandshakeFailed,
                    &[1, 2],
                    None,
                )),
                Tracked::Connection(conn_record(
                    "192.0.2.50:40002",
                    "198.51.100.80:443",
                    ConnEnd::Refused,
                    &[3],
                    Some(4),
                )),
            ],
        );
        assert!(loose(&out).is_empty(), "{:#?}", loose(&out));
        // The same from a known CPE is judged.
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        let mut session = l.build();
        session.cpe_ip = "192.0.2.50".parse().unwrap();
        let out = outputs(
            &mut judge,
            vec![
                Tracked::Session(session, Vec::new()),
                Tracked::Connection(conn_record(
                    "192.0.2.50:40003",
                    "198.51.100.80:80",
                    ConnEnd::HandshakeFailed,
                    &[5],
                    None,
                )),
            ],
        );
        let found = loose(&out);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].0.code, Code::HandshakeFailed);
    }

    #[test]
    fn findings_of_no_session_carry_the_cpe_last_seen_at_their_address() {
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        let session = l.build();
        let serial = |c: Option<&Cpe>| {
            c.and_then(|c| c.device.as_ref())
                .map(|d| d.serial_number.clone())
        };
        let mut judge = Judge::new(Thresholds::default());
        // Before any session of the address, the CPE is unknown.
        let early = conn_record(
            "192.0.2.1:40001",
            "198.51.100.1:7547",
            ConnEnd::HandshakeFailed,
            &[1],
            None,
        );
        let out = outputs(&mut judge, vec![Tracked::Connection(early.clone())]);
        assert_eq!(serial(loose(&out)[0].1), None);
        // The CPE's SYN to the ACS, never answered (three SYNs), after its session.
        let mut cr = l
            .connection_request(true, 204, T0)
            .build()
            .connection_request;
        let cr = cr.take().unwrap();
        let out = outputs(
            &mut judge,
            vec![
                Tracked::Session(session, Vec::new()),
                Tracked::Connection(conn_record(
                    "192.0.2.1:40001",
                    "198.51.100.1:7547",
                    ConnEnd::HandshakeFailed,
                    &[5, 6, 8],
                    None,
                )),
                // The ACS's SYN to the CPE, refused: the CPE is the server.
                Tracked::Connection(conn_record(
                    "198.51.100.1:50000",
                    "192.0.2.1:7547",
                    ConnEnd::Refused,
                    &[10],
                    Some(11),
                )),
                Tracked::OrphanConnectionRequest(cr),
                // An address no Inform came from.
                Tracked::Connection(conn_record(
                    "203.0.113.9:40001",
                    "198.51.100.1:7547",
                    ConnEnd::HandshakeFailed,
                    &[20],
                    None,
                )),
            ],
        );
        let found = loose(&out);
        assert_eq!(found.len(), 4, "{found:#?}");
        let (syn, cpe) = found[0];
        assert_eq!(syn.code, Code::HandshakeFailed);
        assert_eq!(frames(syn), [5, 6, 8]);
        assert_eq!(serial(cpe).as_deref(), Some("SN1"));
        assert_eq!(cpe.map(|c| c.ip.to_string()).as_deref(), Some("192.0.2.1"));
        let (refused, cpe) = found[1];
        assert_eq!(frames(refused), [10, 11]);
        assert!(refused.message.contains("refused"), "{}", refused.message);
        assert_eq!(serial(cpe).as_deref(), Some("SN1"));
        let (orphan, cpe) = found[2];
        assert_eq!(orphan.code, Code::ConnectionRequestTiming);
        assert_eq!(serial(cpe).as_deref(), Some("SN1"));
        assert_eq!(serial(found[3].1), None);
        // Notes of the transaction stage on a session become its findings.
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        let note = Note::UnannouncedConnectionRequest {
            cr: l
                .connection_request(true, 204, T0)
                .build()
                .connection_request
                .unwrap(),
            session: 1,
            inform_frame: Some(crate::types::FrameRef::new(0, 2)),
            message: Some(0),
        };
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        let out = outputs(&mut judge, vec![Tracked::Session(l.build(), vec![note])]);
        let Some(Output::Session(s)) = out.first() else {
            panic!("a session");
        };
        let f = crate::findings::testkit::only(&s.findings, "connection-request-timing");
        assert_eq!(frames(f), [1000, 1001, 2]);
        assert!(f.message.contains("not announced") && f.message.contains("s1"));
    }

    const VALID: &[u8] = include_bytes!("../../tests/fixtures/tls/certs/valid.der");
    const EXPIRED: &[u8] = include_bytes!("../../tests/fixtures/tls/certs/expired.der");

    /// A TLS 1.2 handshake as the TLS stage reports it: ServerHello at frame 4, the
    /// certificate (`der`) at frame 5, at T0, finished and decrypted.
    fn tls(der: &[u8]) -> Box<TlsSummary> {
        Box::new(TlsSummary {
            version: Some(0x0303),
            cipher_suite: Some(0xc02f),
            sni: Some("acs.example.net".to_owned()),
            decrypted: true,
            server_certificate: Some(der.to_vec()),
            finished: true,
            client_hello_frame: Some(FrameRef::new(0, 3)),
            server_hello_frame: Some(FrameRef::new(0, 4)),
            certificate_frame: Some(FrameRef::new(0, 5)),
            handshake_ts: Some(T0),
            ..TlsSummary::default()
        })
    }

    #[test]
    fn tls_findings_go_with_the_session_the_transaction_or_the_capture() {
        let mut judge = Judge::new(Thresholds::default());
        // A session over TLS 1.0 with an expired certificate that names the ACS's host.
        let mut l = Ladder::new();
        l.opened(&["2 PERIODIC"]).closed();
        let mut session = l.build();
        let mut weak = tls(EXPIRED);
        weak.version = Some(0x0301);
        session.connections[0].tls = Some(weak);
        session.connections[0].acs_host = Some("acs.example.net".to_owned());
        let out = outputs(&mut judge, vec![Tracked::Session(session, Vec::new())]);
        let Some(Output::Session(s)) = out.first() else {
            panic!("a session");
        };
        let tls_codes: Vec<&str> = codes(&s.findings)
            .into_iter()
            .filter(|c| c.starts_with("tls-"))
            .collect();
        assert_eq!(tls_codes, ["tls-certificate-expired", "tls-weak-version"]);
        assert_eq!(frames(only(&s.findings, "tls-certificate-expired")), [5]);
        assert_eq!(frames(only(&s.findings, "tls-weak-version")), [4]);

        // A connection of no session to the CPE's ACS, named for another host, whose client
        // refused the certificate: at the capture level, with the CPE; not tls-opaque (the
        // handshake hid nothing).
        let mut refused = conn_record(
            "192.0.2.1:40001",
            "198.51.100.1:7547",
            ConnEnd::Reset,
            &[10],
            None,
        );
        let mut failed = tls(VALID);
        failed.decrypted = false;
        failed.finished = false;
        failed.sni = Some("acs.other.example".to_owned());
        failed.alert = Some(TlsAlert {
            content: Some((2, 48)),
            from: Dir::ToServer,
            frame: FrameRef::new(0, 14),
        });
        refused.tls_info = Some(failed);
        refused.tls = true;
        refused.named = Some(NamedServer {
            role: ServerRole::Acs,
            host: Some("acs.other.example".to_owned()),
        });
        // The same to a server the CWMP traffic never named: not judged.
        let mut unnamed = refused.clone();
        unnamed.named = None;
        unnamed.known_server = false;
        // Nor one to the ACS's port that asked for another name: another server.
        let mut elsewhere = refused.clone();
        if let Some(t) = elsewhere.tls_info.as_mut() {
            t.sni = Some("cloud.example.com".to_owned());
        }
        let out = outputs(
            &mut judge,
            vec![
                Tracked::Connection(refused),
                Tracked::Connection(unnamed),
                Tracked::Connection(elsewhere),
            ],
        );
        let found = loose(&out);
        let seen: Vec<(&str, Option<String>)> = found
            .iter()
            .map(|(f, cpe)| (f.code.id(), cpe.map(|c| c.ip.to_string())))
            .collect();
        let cpe = Some("192.0.2.1".to_owned());
        assert_eq!(
            seen,
            [
                ("tls-certificate-name-mismatch", cpe.clone()),
                ("tls-handshake-failed", cpe)
            ]
        );
        assert!(
            found[0]
                .0
                .message
                .contains("does not name acs.other.example, the host of ManagementServer.URL"),
            "{}",
            found[0].0.message
        );
        assert_eq!(frames(found[1].0), [5, 14]);

        // A transaction's connection to its file server, not decrypted: the certificate is
        // judged against the Download URL's host, and the connection is tls-opaque, both
        // with the transaction.
        let mut fetch = conn_record(
            "192.0.2.1:40002",
            "198.51.100.3:443",
            ConnEnd::Closed,
            &[20],
            None,
        );
        let mut opaque = tls(VALID);
        opaque.decrypted = false;
        opaque.reason = Some(TlsReason::NoKey);
        opaque.sni = Some("files.example.net".to_owned());
        fetch.tls_info = Some(opaque);
        fetch.tls = true;
        let evidence = Evidence {
            order: Order {
                url: "https://files.example.net/fw.bin".to_owned(),
                ..Order::default()
            },
            fetch: Vec::new(),
            conns: vec![(ConnId(9), Some(fetch)), (ConnId(10), None)],
            answer_frame: None,
            tc_times: None,
            tc_session_unanswered: false,
            report_clock: None,
            report_inform_frame: None,
            report_frame: None,
        };
        let mut found = Vec::new();
        tls_of_transaction(&evidence, &mut found);
        assert_eq!(
            codes(&found),
            ["tls-certificate-name-mismatch", "tls-opaque"]
        );
        // The same connection asking for another name is to another server on that port:
        // its certificate is not the file server's (still opaque, and the transaction's).
        let mut other = evidence.clone();
        if let Some(t) = other.conns[0].1.as_mut().and_then(|c| c.tls_info.as_mut()) {
            t.sni = Some("telemetry.example.com".to_owned());
        }
        let mut others = Vec::new();
        tls_of_transaction(&other, &mut others);
        assert_eq!(codes(&others), ["tls-opaque"]);
        let mismatch = only(&found, "tls-certificate-name-mismatch");
        assert!(
            mismatch
                .message
                .contains("the file server 198.51.100.3:443 does not name files.example.net, the host of the transfer URL"),
            "{}",
            mismatch.message
        );
        assert!(
            only(&found, "tls-opaque")
                .message
                .contains("(TLS 1.2, not decrypted: no key for this client random)")
        );
    }
}
