//! The findings stage: takes what the transaction stage hands on, in order, adds the findings
//! of each item, and hands the result to the printers as [`Output`]. A finding of no session
//! or transaction names the CPE it concerns when one is known at its address.

use super::{CpeHistory, Finding, Thresholds, check_session_with_history, connection, transfer};
use crate::session::{CpeDirectory, Session};
use crate::tcp::ConnEnd;
use crate::transaction::matching::is_service_port;
use crate::transaction::{Cpe, Tracked, Transaction};
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
        Judge {
            thresholds,
            history: CpeHistory::default(),
            directory: CpeDirectory::default(),
        }
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
                s.findings = found;
                out(Output::Session(s));
            }
            Tracked::Transaction(mut tx, notes, evidence) => {
                // What was noticed along the way, in order, then the whole transfer.
                let mut found = transfer::of_notes(&notes);
                found.extend(transfer::judge(&tx, &notes, &evidence, &self.thresholds));
                tx.findings = found;
                out(Output::Transaction(tx));
            }
            Tracked::Connection(c) => {
                let found = if c.end == ConnEnd::Refused && is_service_port(c.server.port()) {
                    Some(connection::handshake_failed(&c, "server"))
                } else {
                    connection::unclaimed(&c)
                };
                if let Some(f) = found {
                    // The CPE is the client (its SYN), or the server (a Connection Request).
                    out(Output::Finding(
                        f,
                        self.cpe_at(&[c.client.ip(), c.server.ip()]),
                    ));
                }
            }
            Tracked::OrphanConnectionRequest(cr) => out(Output::Finding(
                connection::orphan_connection_request(&cr, &self.thresholds),
                self.cpe_at(&[cr.cpe.ip()]),
            )),
        }
    }
}
