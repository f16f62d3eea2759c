//! The transaction tracker: builds transactions from finished sessions and HTTP exchanges, in
//! the order they finish, numbers their steps on the reference ladder, and records what it
//! notices on the way as [`Note`]s for the findings stage.
//!
//! What concerns a transfer goes to its transaction even when it shows late: a connection the
//! CPE opened to the file server while the transfer waited for its fetch is watched until it
//! ends (an unanswered SYN is known only when the reassembler releases it), and a Connection
//! Request the CPE did not announce goes to the transaction of the session that followed it.

use super::ladder;
use super::matching::{Match, cpe_key, is_service_port, matches_order, split_url};
use super::model::{
    Cpe, Evidence, FetchSummary, FileConn, Kind, Note, Order, Outcome, Party, Step, Transaction,
};
use super::open::{OpenSet, OpenTx, Pending, Recent, Watched};
use crate::cwmp::{Rpc, TransferComplete};
use crate::limits::{Limit, LimitCounts, LimitSet};
use crate::session::{
    Completed, ConnRecord, ConnectionRequest, HttpExchange, Session, SessionMessage,
};
use crate::tcp::{ConnEnd, ConnInfo};
use crate::types::{ConnId, FrameRef, Nanos};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

const SECOND: Nanos = 1_000_000_000;

/// What the transaction stage hands on, in the order things finish: the findings stage judges
/// each and hands the printers the result.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Tracked {
    /// A finished session, with the transfer notes that concern it (ones of no transaction).
    Session(Session, Vec<Note>),
    /// A finished transaction, with its notes in order and the evidence of its transfer.
    Transaction(Transaction, Vec<Note>, Box<Evidence>),
    /// A connection of no session and no transaction.
    Connection(ConnRecord),
    /// A Connection Request the CPE accepted that no session followed.
    OrphanConnectionRequest(ConnectionRequest),
}

/// Limits of the transaction stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Transactions being built at once; beyond, the oldest is handed on as it stands
    /// (`open-transactions`).
    pub max_open: usize,
    /// Exchanges waiting for their transaction (`pending-exchanges`).
    pub max_pending_exchanges: usize,
    /// CPEs whose recent transfers are remembered (`cpe-history`).
    pub max_cpes: usize,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            max_open: Limit::OpenTransactions.default_usize(),
            max_pending_exchanges: Limit::PendingExchanges.default_usize(),
            max_cpes: Limit::CpeHistory.default_usize(),
        }
    }
}

/// How long an exchange waits for its transaction (a fetch follows its Download within
/// seconds; this is generous).
const PENDING_EXCHANGE_AGE: Nanos = 600 * SECOND;
/// How long a finished transaction waits for its file connections to close.
const LINGER: Nanos = 60 * SECOND;
/// How long a finished transaction waits for the end of a connection to its file server that
/// carried no HTTP: an unanswered SYN shows as such only when the reassembler releases the
/// connection, after its idle timeout (300 s by default).
const HANDSHAKE_WAIT: Nanos = 600 * SECOND;
/// How long a transfer waits for its TransferComplete after the session of its order ended,
/// before it is handed on as incomplete: an hour, as ACSs commonly allow a download (GenieACS's
/// default download timeout). Without it, every CPE that never reports would hold its
/// transaction for as long as the input lasts.
const REPORT_WAIT: Nanos = 3600 * SECOND;
/// Connections watched per transaction for a failed handshake.
const MAX_HANDSHAKES: usize = 16;
const RECENT_KEYS: usize = 16;

/// Builds transactions from finished sessions and HTTP exchanges.
#[derive(Default)]
pub struct TransactionTracker {
    open: OpenSet,
    /// File exchanges not yet claimed by a transaction (the fetch may finish before the
    /// session that ordered it).
    pending: Pending,
    /// By hash of the CPE key.
    recent: FxHashMap<u64, Recent>,
    next_number: u64,
    cfg: TransactionConfig,
    /// Limits reached so far, by limit.
    limits_hit: LimitCounts,
}

impl TransactionTracker {
    pub fn new() -> Self {
        TransactionTracker::with_config(TransactionConfig::default())
    }

    pub fn with_config(cfg: TransactionConfig) -> Self {
        TransactionTracker {
            open: OpenSet::default(),
            pending: Pending::default(),
            recent: FxHashMap::default(),
            next_number: 1,
            cfg,
            limits_hit: LimitCounts::default(),
        }
    }

    /// Limits reached so far, by limit.
    pub fn limits_hit(&self) -> &LimitCounts {
        &self.limits_hit
    }

    /// The number the next transaction will get (numbers grow from 1 in order of creation).
    pub fn next_number(&self) -> u64 {
        self.next_number
    }

    /// Transactions not yet handed on.
    pub fn open_transactions(&self) -> usize {
        self.open.len()
    }

    /// Consumes one item of the session stage.
    pub fn push(&mut self, item: Completed, out: &mut impl FnMut(Tracked)) {
        match item {
            Completed::ConnectionOpened(info) => self.on_opened(&info),
            Completed::Session(s) => self.on_session(s, out),
            Completed::Exchange(x) => self.on_exchange(x),
            Completed::Connection(c) => self.on_connection(c, out),
            Completed::OrphanConnectionRequest(cr) => out(Tracked::OrphanConnectionRequest(cr)),
        }
    }

    /// Capture time moved to `now`: hands on finished transactions whose connections closed
    /// or whose wait ran out, and those whose TransferComplete did not come in time.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Tracked)) {
        let ready = self.open.take_where(|o| {
            if o.done {
                o.conns.iter().all(|(_, r)| r.is_some())
                    || (o.release_at <= now && !awaits_handshake(o, now))
            } else {
                o.order_session_end.saturating_add(REPORT_WAIT) <= now
            }
        });
        for mut o in ready {
            if o.done {
                let until = o.tx.end;
                self.claim_loose(&mut o, until);
            } else {
                self.claim_loose(&mut o, now);
                no_report_in_time(&mut o);
            }
            self.emit(o, out);
        }
        self.pending
            .expire(now.saturating_sub(PENDING_EXCHANGE_AGE));
    }

    /// End of input: every transaction is handed on; those still waiting for their
    /// TransferComplete are `incomplete`.
    pub fn finish(&mut self, out: &mut impl FnMut(Tracked)) {
        let all = self.open.take_where(|_| true);
        for mut o in all {
            self.claim_loose(&mut o, Nanos::MAX);
            if !o.done {
                at_capture_end(&mut o);
            }
            self.emit(o, out);
        }
        self.pending = Pending::default();
    }

    fn emit(&mut self, mut o: OpenTx, out: &mut impl FnMut(Tracked)) {
        let fetch = FetchSummary::of(&o.fetch);
        o.tx.received_bytes = fetch.received;
        o.tx.file_hash = fetch.hash;
        let report_frame =
            o.tx.steps
                .iter()
                .find(|st| st.step == Some(18))
                .and_then(|st| st.frame);
        for note in &o.notes {
            if let Note::FileServerUnreachable(c) = note {
                o.tx.file_server.get_or_insert(c.server);
                o.tx.steps.push(handshake_step(c));
            }
        }
        o.tx.steps.sort_by_key(|s| (s.ts, s.frame));
        o.tx.file_conns = file_conns(&o.conns, &o.fetch, &o.notes);
        let recent = self.recent_of(&o.cpe_key);
        // A transfer no longer awaited is not a finished one: a TransferComplete for it after
        // all matches no outstanding order.
        if o.done {
            if recent.keys.len() >= RECENT_KEYS {
                recent.keys.pop_front();
            }
            recent.keys.push_back(hash_of(&o.order.command_key));
        }
        if o.tx.outcome == Outcome::Success
            && matches!(o.tx.kind, Kind::ConfigurationUpdate | Kind::FirmwareUpgrade)
        {
            recent.updated = Some(o.tx.kind);
        }
        let evidence = Evidence {
            order: o.order,
            fetch: o.fetch,
            conns: o.conns,
            answer_frame: o.answer_frame,
            tc_times: o.tc_times,
            tc_session_unanswered: o.tc_session_unanswered,
            report_clock: o.report_clock,
            report_inform_frame: o.report_inform_frame,
            report_frame,
        };
        out(Tracked::Transaction(o.tx, o.notes, Box::new(evidence)));
    }

    fn recent_of(&mut self, key: &str) -> &mut Recent {
        let key = hash_of(key);
        if !self.recent.contains_key(&key) && self.recent.len() >= self.cfg.max_cpes.max(1) {
            // Bounded memory: forget everything rather than grow without limit.
            self.limits_hit
                .add_n(Limit::CpeHistory, self.recent.len() as u64);
            self.recent.clear();
        }
        self.recent.entry(key).or_default()
    }

    /// Whether this CPE finished a transaction with this CommandKey.
    fn recently_finished(&self, key: &str, command_key: &str) -> bool {
        let wanted = hash_of(command_key);
        self.recent
            .get(&hash_of(key))
            .is_some_and(|r| r.keys.contains(&wanted))
    }

    fn on_exchange(&mut self, x: HttpExchange) {
        // Only an exact URL match is attached at once; anything else waits, in case the
        // transaction it belongs to is not open yet (its session still finishing). A
        // transaction whose TransferComplete came already still takes what its own fetch
        // connection carries until that connection closes: a session is handed on as soon as
        // it ends, which can be before a fetch connection held up by a capture gap is done.
        let client_ip = x.client.ip();
        for o in self.open.of_ip_mut(client_ip) {
            for w in o.handshakes.iter_mut().filter(|w| w.id == x.conn) {
                w.carried_http = true;
            }
        }
        if let Some(o) = self.open.of_ip_mut(client_ip).iter_mut().find(|o| {
            (!o.done || o.conns.iter().any(|(id, r)| *id == x.conn && r.is_none()))
                && matches_order(&o.order, &x) == Match::Exact
        }) {
            attach(o, x);
            return;
        }
        if self.pending.push(x, self.cfg.max_pending_exchanges) {
            self.limits_hit.add(Limit::PendingExchanges);
        }
    }

    /// A transaction that saw no fetch of its URL takes the CPE's other requests made while it
    /// was waiting (a fetch of the wrong URL is still its fetch, and `file-url-mismatch`).
    fn claim_loose(&mut self, o: &mut OpenTx, until: Nanos) {
        if !o.fetch.is_empty() {
            return;
        }
        let mut conn = None;
        let (start, order) = (o.tx.start, o.order.clone());
        let taken = self.pending.take(o.tx.cpe.ip, |x| {
            let fits = x.request.ts + 5 * SECOND >= start
                && x.request.ts <= until
                && conn.is_none_or(|c| c == x.conn)
                && matches_order(&order, x) == Match::Loose;
            if fits {
                conn = Some(x.conn);
            }
            fits
        });
        for x in taken {
            attach(o, x);
        }
    }

    /// A connection the CPE opens to the file server of a transfer waiting for its fetch is
    /// watched: one that never carries HTTP may end as a failed handshake.
    fn on_opened(&mut self, info: &ConnInfo) {
        if let Some(o) = self.open.of_ip_mut(info.client.ip()).iter_mut().find(|o| {
            !o.done && o.handshakes.len() < MAX_HANDSHAKES && serves(&o.order.url, info.server)
        }) {
            if !o.conns.iter().any(|(id, _)| *id == info.id) {
                o.conns.push((info.id, None));
            }
            o.handshakes.push(Watched {
                id: info.id,
                opened: info.ts,
                carried_http: false,
            });
        }
    }

    fn on_connection(&mut self, c: ConnRecord, out: &mut impl FnMut(Tracked)) {
        let failed = matches!(c.end, ConnEnd::HandshakeFailed | ConnEnd::Refused);
        // A fetch connection's client is the CPE.
        for o in self.open.of_ip_mut(c.client.ip()) {
            if let Some(pos) = o.conns.iter().position(|(id, _)| *id == c.id) {
                let carried_http = o.fetch.iter().any(|x| x.conn == c.id)
                    || o.handshakes.iter().any(|w| w.id == c.id && w.carried_http);
                if failed && !carried_http {
                    o.notes.push(Note::FileServerUnreachable(c.clone()));
                }
                // Bytes of the transfer declared lost at a buffer limit, or the connection
                // released early.
                o.tx.limits_hit.extend(c.stats.limits_hit);
                if let Some(slot) = o.conns.get_mut(pos) {
                    slot.1 = Some(c);
                }
                return;
            }
        }
        // Connections of no transaction and no session.
        if failed && is_service_port(c.server.port()) {
            // A transaction waiting for a fetch from this server owns the failure.
            if let Some(o) = self
                .open
                .of_ip_mut(c.client.ip())
                .iter_mut()
                .find(|o| !o.done && serves(&o.order.url, c.server))
            {
                o.notes.push(Note::FileServerUnreachable(c));
                return;
            }
        }
        out(Tracked::Connection(c));
    }

    fn on_session(&mut self, mut s: Session, out: &mut impl FnMut(Tracked)) {
        let key = cpe_key(&s);
        // Notes that concern the session itself (no open transaction takes them).
        let mut notes = Vec::new();
        let unannounced = s.unannounced_connection_request.take();

        // 1. TransferCompletes (and `M Download` keys) close transactions ordered earlier.
        self.match_transfer_completes(&mut s, &key, &mut notes);
        // 2. Reboots and bootstraps after an update.
        self.note_boot_events(&s, &key, &mut notes);
        // 2b. A TRANSFER COMPLETE session that got no InformResponse (so no TransferComplete).
        self.note_unanswered_report(&mut s, &key);
        // 3. A later Inform without `7 TRANSFER COMPLETE` while a transfer awaits its report.
        self.note_missing_reports(&s, &key);
        // 4. Downloads ordered in this session open transactions.
        self.open_orders(&mut s, &key, out);
        // 5. A Connection Request the session followed without announcing it concerns the
        //    transaction the session belongs to, else the session.
        if let Some(cr) = unannounced {
            let message = s.messages.iter().position(|m| {
                m.from_cpe && m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_)))
            });
            let note = Note::UnannouncedConnectionRequest {
                cr,
                session: s.number,
                inform_frame: inform_frame(&s),
                message,
            };
            match self
                .open
                .of_ip_mut(s.cpe_ip)
                .iter_mut()
                .find(|o| o.tx.sessions.contains(&s.number))
            {
                Some(o) => o.notes.push(note),
                None => notes.push(note),
            }
        }

        out(Tracked::Session(s, notes));
    }

    fn match_transfer_completes(&mut self, s: &mut Session, key: &str, notes: &mut Vec<Note>) {
        let inform_events: Vec<(String, String)> = s
            .inform()
            .map(|i| {
                i.events
                    .iter()
                    .map(|e| (e.code.trim().to_owned(), e.command_key.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let tc_messages: Vec<usize> = s
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.from_cpe
                    && m.envelopes
                        .iter()
                        .any(|e| matches!(e.rpc, Rpc::TransferComplete(_)))
            })
            .map(|(i, _)| i)
            .collect();
        let mut matched: Option<u64> = None;
        // A TransferComplete sent again in this session (after a 401) is the same report.
        let mut seen_keys: Vec<String> = Vec::new();
        for index in tc_messages {
            let Some(tc) = s.messages.get(index).and_then(|m| {
                m.envelopes.iter().find_map(|e| match &e.rpc {
                    Rpc::TransferComplete(t) => Some(t.clone()),
                    _ => None,
                })
            }) else {
                continue;
            };
            if seen_keys.contains(&tc.command_key) {
                continue;
            }
            seen_keys.push(tc.command_key.clone());
            let frame = s.messages.get(index).map(|m| m.last_frame);
            let found = self.open.find_mut(s.cpe_ip, |o| {
                !o.done && same_cpe(o, s, key) && o.order.command_key == tc.command_key
            });
            match found {
                Some(o) => {
                    label_tc_session(s);
                    add_session_steps(o, s);
                    o.tx.sessions.push(s.number);
                    o.tc_times = Some((tc.start_time.clone(), tc.complete_time.clone()));
                    o.report_clock = report_clock(s);
                    o.report_inform_frame = inform_frame(s);
                    o.tc_session_unanswered = !s
                        .envelopes()
                        .any(|(_, e)| matches!(e.rpc, Rpc::InformResponse { .. }));
                    after_versions(o, s);
                    device_changed(o, s);
                    transfer_complete(o, &tc, frame);
                    o.done = true;
                    o.release_at = s.end + LINGER;
                    matched = Some(o.tx.number);
                }
                None => {
                    let repeated = self.recently_finished(key, &tc.command_key)
                        || self.open.of_ip(s.cpe_ip).iter().any(|o| {
                            o.done && same_cpe(o, s, key) && o.order.command_key == tc.command_key
                        });
                    let command_key = tc.command_key.clone();
                    notes.push(if repeated {
                        Note::RepeatedReport {
                            command_key,
                            frame,
                            message: index,
                        }
                    } else {
                        Note::UnknownReport {
                            command_key,
                            frame,
                            message: index,
                        }
                    });
                }
            }
        }
        // `M Download` must carry the CommandKey of an outstanding (or just reported) Download.
        for (code, command_key) in &inform_events {
            if code != "M Download" && code != "M ScheduleDownload" && code != "M Upload" {
                continue;
            }
            let known = self
                .open
                .of_ip(s.cpe_ip)
                .iter()
                .any(|o| o.cpe_key == key && o.order.command_key == *command_key)
                || self.recently_finished(key, command_key);
            if !known {
                let message = s
                    .messages
                    .iter()
                    .position(|m| m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))));
                let note = Note::UnknownEventKey {
                    event: code.clone(),
                    command_key: command_key.clone(),
                    frame: message
                        .and_then(|i| s.messages.get(i))
                        .map(|m| m.last_frame),
                    message,
                };
                // It concerns the transfer this session reports, when there is one.
                match matched.and_then(|n| self.open.iter_mut().find(|o| o.tx.number == n)) {
                    Some(o) => o.notes.push(note),
                    None => notes.push(note),
                }
            }
        }
    }

    fn note_boot_events(&mut self, s: &Session, key: &str, notes: &mut Vec<Note>) {
        let Some(inform) = s.inform() else {
            return;
        };
        let codes: Vec<String> = inform
            .events
            .iter()
            .map(|e| e.code.trim().to_owned())
            .collect();
        let boot = codes.iter().any(|c| c == "1 BOOT");
        let bootstrap = codes.iter().any(|c| c == "0 BOOTSTRAP");
        let m_reboot = codes.iter().any(|c| c == "M Reboot");
        if !boot && !bootstrap {
            return;
        }
        // Judged only for CPEs that received an update in this capture.
        let config_open = self
            .open
            .of_ip(s.cpe_ip)
            .iter()
            .filter(|o| o.cpe_key == key && o.tx.kind == Kind::ConfigurationUpdate)
            .count();
        let firmware_open = self
            .open
            .of_ip(s.cpe_ip)
            .iter()
            .any(|o| o.cpe_key == key && o.tx.kind == Kind::FirmwareUpgrade);
        let updated = self.recent.get(&hash_of(key)).and_then(|r| r.updated);
        let position = s
            .messages
            .iter()
            .position(|m| m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))));
        let frame = position
            .and_then(|i| s.messages.get(i))
            .map(|m| m.last_frame);
        let after_update = config_open > 0 || firmware_open || updated.is_some();
        if bootstrap && after_update {
            let note = Note::BootstrapAfterUpdate {
                frame,
                message: position,
            };
            self.note_to_open_or_session(key, s, note, notes);
        }
        if boot
            && !m_reboot
            && !firmware_open
            && updated != Some(Kind::FirmwareUpgrade)
            && (config_open > 0 || updated == Some(Kind::ConfigurationUpdate))
        {
            let note = Note::BootAfterConfiguration {
                frame,
                message: position,
            };
            self.note_to_open_or_session(key, s, note, notes);
        }
    }

    /// Gives a note to the CPE's open transaction, or to the session when there is none.
    fn note_to_open_or_session(
        &mut self,
        key: &str,
        s: &Session,
        note: Note,
        notes: &mut Vec<Note>,
    ) {
        match self
            .open
            .of_ip_mut(s.cpe_ip)
            .iter_mut()
            .rev()
            .find(|o| o.cpe_key == key)
        {
            Some(o) => o.notes.push(note),
            None => notes.push(note),
        }
    }

    fn note_unanswered_report(&mut self, s: &mut Session, key: &str) {
        let Some(inform) = s.inform() else {
            return;
        };
        let announces = inform
            .events
            .iter()
            .any(|e| e.code.trim() == "7 TRANSFER COMPLETE");
        let keys: Vec<String> = inform
            .events
            .iter()
            .filter(|e| e.code.trim().starts_with("M "))
            .map(|e| e.command_key.clone())
            .collect();
        let answered = s
            .envelopes()
            .any(|(_, e)| matches!(e.rpc, Rpc::InformResponse { .. } | Rpc::TransferComplete(_)));
        if !announces || answered {
            return;
        }
        let frame = inform_frame(s);
        let bucket = self.open.of_ip_mut(s.cpe_ip);
        let pos = bucket
            .iter()
            .position(|o| !o.done && o.cpe_key == key && keys.contains(&o.order.command_key))
            .or_else(|| {
                bucket
                    .iter()
                    .position(|o| !o.done && o.cpe_key == key && o.tx.download_status == Some(1))
            });
        if let Some(o) = pos.and_then(|p| bucket.get_mut(p)) {
            label_tc_session(s);
            add_session_steps(o, s);
            o.tx.sessions.push(s.number);
            o.missing_reported = false;
            o.notes.push(Note::ReportUnanswered {
                session: s.number,
                frame,
            });
        }
    }

    fn note_missing_reports(&mut self, s: &Session, key: &str) {
        let Some(inform) = s.inform() else {
            return;
        };
        let reports = inform
            .events
            .iter()
            .any(|e| e.code.trim() == "7 TRANSFER COMPLETE")
            || s.envelopes()
                .any(|(_, e)| matches!(e.rpc, Rpc::TransferComplete(_)));
        if reports {
            return;
        }
        let frame = s
            .messages
            .iter()
            .find(|m| m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))))
            .map(|m| m.last_frame);
        for o in self.open.of_ip_mut(s.cpe_ip).iter_mut().filter(|o| {
            !o.done
                && o.cpe_key == key
                && o.tx.download_status == Some(1)
                && !o.missing_reported
                && !o.tx.sessions.contains(&s.number)
                && s.start >= o.order_session_end
        }) {
            o.missing_reported = true;
            o.notes.push(Note::ReportMissing {
                session: s.number,
                command_key: o.order.command_key.clone(),
                frame,
            });
        }
    }

    fn open_orders(&mut self, s: &mut Session, key: &str, out: &mut impl FnMut(Tracked)) {
        let orders: Vec<(usize, Order, Option<String>)> = s
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.from_cpe)
            .flat_map(|(i, m)| {
                m.envelopes.iter().filter_map(move |e| {
                    let id = e.header.id.clone();
                    match &e.rpc {
                        Rpc::Download(d) => Some((
                            i,
                            Order {
                                command_key: d.command_key.clone(),
                                file_type: d.file_type.clone(),
                                url: d.url.clone(),
                                username: d.username.clone(),
                                file_size: d.file_size.filter(|n| *n > 0),
                                upload: false,
                            },
                            id,
                        )),
                        rpc @ Rpc::Other { name, .. } if name == "Upload" => Some((
                            i,
                            Order {
                                command_key: rpc.arg("CommandKey").unwrap_or("").to_owned(),
                                file_type: rpc.arg("FileType").unwrap_or("").to_owned(),
                                url: rpc.arg("URL").unwrap_or("").to_owned(),
                                username: rpc.arg("Username").unwrap_or("").to_owned(),
                                file_size: None,
                                upload: true,
                            },
                            id,
                        )),
                        _ => None,
                    }
                })
            })
            .collect();
        if orders.is_empty() {
            return;
        }
        label_order_session(s);
        for (index, order, id) in orders {
            let number = self.next_number;
            self.next_number += 1;
            let device = s.device.clone();
            let mut o = OpenTx {
                tx: Transaction {
                    number,
                    kind: Kind::of(&order.file_type, order.upload),
                    cpe: Cpe {
                        ip: s.cpe_ip,
                        device: device.clone(),
                    },
                    acs: s.acs,
                    file_server: None,
                    command_key: order.command_key.clone(),
                    file_type: order.file_type.clone(),
                    url: order.url.clone(),
                    announced_size: order.file_size,
                    received_bytes: None,
                    file_hash: None,
                    download_status: None,
                    outcome: Outcome::Incomplete,
                    fault: None,
                    sessions: vec![s.number],
                    steps: Vec::new(),
                    findings: Vec::new(),
                    versions: Vec::new(),
                    start: s.messages.get(index).map(|m| m.ts).unwrap_or(s.start),
                    end: s.end,
                    file_conns: Vec::new(),
                    limits_hit: LimitSet::EMPTY,
                },
                order,
                cpe_key: key.to_owned(),
                fetch: Vec::new(),
                conns: Vec::new(),
                handshakes: Vec::new(),
                done: false,
                release_at: 0,
                tc_times: None,
                tc_session_unanswered: false,
                missing_reported: false,
                device_at_order: device,
                report_clock: None,
                order_session_end: s.end,
                answer_frame: None,
                report_inform_frame: None,
                notes: Vec::new(),
            };
            add_session_steps(&mut o, s);
            before_versions(&mut o, s);
            order_answer(&mut o, s, index, id.as_deref());
            // Exchanges that finished before this session did.
            let (start, order) = (o.tx.start, o.order.clone());
            let taken = self.pending.take(s.cpe_ip, |x| {
                x.request.ts + 5 * SECOND >= start && matches_order(&order, x) == Match::Exact
            });
            for x in taken {
                attach(&mut o, x);
            }
            if o.done {
                o.release_at = s.end + LINGER;
            }
            if self.open.len() >= self.cfg.max_open.max(1)
                && let Some(mut oldest) = self.open.remove_oldest()
            {
                // Bounded memory: the oldest transaction is handed on as it stands.
                oldest.tx.limits_hit.insert(Limit::OpenTransactions);
                self.limits_hit.add(Limit::OpenTransactions);
                self.emit(oldest, out);
            }
            self.open.push(o);
        }
    }
}

/// A 64-bit hash of a key (CPE serial, CommandKey) for the compact per-CPE memory.
fn hash_of(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    text.hash(&mut h);
    h.finish()
}

/// Whether a connection to `server` may be the fetch of the order's URL: the URL's port, and
/// its address when the URL names one of the server's family (a host name, or an address of
/// the other family across a translator, cannot be compared without the request's `Host`).
fn serves(url: &str, server: SocketAddr) -> bool {
    split_url(url).is_some_and(|(host, port, _)| {
        port == server.port()
            && match host.parse::<std::net::IpAddr>() {
                Ok(ip) => ip == server.ip() || ip.is_ipv4() != server.ip().is_ipv4(),
                Err(_) => true,
            }
    })
}

/// Whether a finished transaction still waits for a connection to its file server that carried
/// no HTTP and has not ended: it may be a failed handshake.
fn awaits_handshake(o: &OpenTx, now: Nanos) -> bool {
    o.handshakes.iter().any(|w| {
        !w.carried_http
            && w.opened.saturating_add(HANDSHAKE_WAIT) > now
            && o.conns.iter().any(|(c, r)| *c == w.id && r.is_none())
    })
}

/// The step of a failed handshake to the file server: the CPE's SYNs, unanswered or refused,
/// from the first SYN to the last SYN (or the RST).
fn handshake_step(c: &ConnRecord) -> Step {
    let syns = &c.stats.syn_frames;
    let first = syns.first().copied().unwrap_or(c.first_frame);
    let count = if syns.len() > 1 {
        format!(" ×{}", syns.len())
    } else {
        String::new()
    };
    let (what, last) = match c.end {
        ConnEnd::Refused => (format!("SYN{count} refused (RST)"), c.stats.rst_frame),
        _ => (format!("SYN{count} unanswered"), syns.last().copied()),
    };
    let last = last.unwrap_or(first);
    Step {
        step: None,
        what,
        from: Party::Cpe,
        to: Party::FileServer,
        frame: Some(last),
        first_frame: (first != last).then_some(first),
        ts: c.opened,
        session: None,
        close: false,
    }
}

/// Whether a transaction is of the CPE of this session (by serial number; by IP when the
/// session carries no DeviceId, e.g. one without its Inform).
fn same_cpe(o: &OpenTx, s: &Session, key: &str) -> bool {
    o.cpe_key == key || (s.serial().is_none_or(str::is_empty) && o.tx.cpe.ip == s.cpe_ip)
}

/// The connections of a transfer: those of its exchanges (with their records once closed),
/// then the failed handshakes to the file server (a connection watched that carried another
/// transfer's HTTP is none of these).
fn file_conns(
    conns: &[(ConnId, Option<ConnRecord>)],
    fetch: &[HttpExchange],
    notes: &[Note],
) -> Vec<FileConn> {
    let mut out: Vec<FileConn> = conns
        .iter()
        .filter_map(|(id, record)| {
            let first_exchange = fetch.iter().find(|x| x.conn == *id);
            match (record, first_exchange) {
                (Some(r), Some(_)) => Some(FileConn {
                    id: *id,
                    client: r.client,
                    server: r.server,
                    first: Some(r.opened),
                    last: Some(r.closed),
                    tls: r.tls_info.clone(),
                }),
                (None, Some(x)) => Some(FileConn {
                    id: *id,
                    client: x.client,
                    server: x.server,
                    first: Some(x.request.ts),
                    last: None,
                    tls: None,
                }),
                (_, None) => None,
            }
        })
        .collect();
    for note in notes {
        if let Note::FileServerUnreachable(r) = note
            && !out.iter().any(|c| c.id == r.id)
        {
            out.push(FileConn {
                id: r.id,
                client: r.client,
                server: r.server,
                first: Some(r.opened),
                last: Some(r.closed),
                tls: r.tls_info.clone(),
            });
        }
    }
    out
}

fn attach(o: &mut OpenTx, x: HttpExchange) {
    if !o.conns.iter().any(|(id, _)| *id == x.conn) {
        o.conns.push((x.conn, None));
    }
    o.tx.file_server.get_or_insert(x.server);
    o.fetch.push(x);
    ladder::label_fetch(&mut o.tx.steps, &o.fetch);
}

/// Steps 2–8 for the session that carried the Download.
fn label_order_session(s: &mut Session) {
    ladder::label_session(s, ladder::ORDER_STEPS);
}

/// Steps 14–22 for the session that carried the TransferComplete.
fn label_tc_session(s: &mut Session) {
    ladder::label_session(s, ladder::REPORT_STEPS);
}

/// The frame of the session's Inform.
fn inform_frame(s: &Session) -> Option<FrameRef> {
    s.messages
        .iter()
        .find(|m| m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))))
        .map(|m| m.last_frame)
}

/// The Inform's CurrentTime and the capture time of its message (the CPE's clock against the
/// capture's).
fn report_clock(s: &Session) -> Option<(String, Nanos)> {
    let m = s
        .messages
        .iter()
        .find(|m| m.envelopes.iter().any(|e| matches!(e.rpc, Rpc::Inform(_))))?;
    let current = s.inform()?.current_time.clone()?;
    Some((current, m.ts))
}

/// Copies a session's messages (and connection closes) into the transaction's steps.
fn add_session_steps(o: &mut OpenTx, s: &Session) {
    // A session of the transaction cut short by a limit cuts the transaction short too.
    o.tx.limits_hit.extend(s.limits_hit);
    for m in &s.messages {
        o.tx.steps.push(step_of_message(m, s.number));
    }
    let last_close = s
        .connections
        .iter()
        .filter_map(|c| c.end.map(|(_, ts)| ts))
        .max();
    for c in &s.connections {
        if let Some((end, ts)) = c.end {
            let (step, what) = ladder::close_step(s, end);
            let step = step.filter(|_| Some(ts) == last_close);
            let frame = match end {
                ConnEnd::Reset => c.rst_frame().or(c.end_frame),
                _ => c.end_frame,
            };
            o.tx.steps.push(Step {
                step,
                what,
                from: Party::Cpe,
                to: Party::Acs,
                frame,
                first_frame: None,
                ts,
                session: Some(s.number),
                close: true,
            });
        }
    }
    o.tx.end = o.tx.end.max(s.end);
}

fn step_of_message(m: &SessionMessage, session: u64) -> Step {
    let (from, to) = if m.from_cpe {
        (Party::Cpe, Party::Acs)
    } else {
        (Party::Acs, Party::Cpe)
    };
    Step {
        step: m.step,
        what: ladder::describe_message(m),
        from,
        to,
        frame: Some(m.last_frame),
        first_frame: (m.frame != m.last_frame).then_some(m.frame),
        ts: m.ts,
        session: Some(session),
        close: false,
    }
}

// ---- facts of the order and its report ----

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
fn before_versions(o: &mut OpenTx, s: &Session) {
    o.tx.versions = inform_params(s)
        .into_iter()
        .map(|(name, value)| (name, Some(value), None))
        .collect();
}

/// Version parameters as the reporting session's Inform reported them.
fn after_versions(o: &mut OpenTx, s: &Session) {
    for (name, value) in inform_params(s) {
        match o.tx.versions.iter_mut().find(|(n, _, _)| *n == name) {
            Some(entry) => entry.2 = Some(value),
            None => o.tx.versions.push((name, None, Some(value))),
        }
    }
}

/// Notes a DeviceId that changed between the Download and its report.
fn device_changed(o: &mut OpenTx, s: &Session) {
    let (Some(before), Some(after)) = (&o.device_at_order, &s.device) else {
        return;
    };
    if before.oui != after.oui || before.serial_number != after.serial_number {
        o.notes.push(Note::DeviceChanged {
            before: before.clone(),
            after: after.clone(),
            session: s.number,
        });
    }
}

/// The CPE's answer to the Download ordered at message `index`: DownloadResponse (Status 0 or
/// 1) or a Fault.
fn order_answer(o: &mut OpenTx, s: &Session, index: usize, id: Option<&str>) {
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
            o.notes.push(Note::OrderRejected {
                command_key: o.order.command_key.clone(),
                fault: f.cwmp.clone(),
                frame,
            });
        }
        _ => {}
    }
}

/// The TransferComplete that reports the transaction.
fn transfer_complete(o: &mut OpenTx, tc: &TransferComplete, frame: Option<FrameRef>) {
    o.tx.fault = Some(tc.fault.clone());
    match tc.fault.code {
        Some(0) => o.tx.outcome = Outcome::Success,
        _ => {
            o.tx.outcome = Outcome::Failed;
            o.notes.push(Note::TransferFault {
                command_key: tc.command_key.clone(),
                fault: tc.fault.clone(),
                frame,
            });
        }
    }
}

/// Notes for a transaction whose TransferComplete did not come within [`REPORT_WAIT`].
fn no_report_in_time(o: &mut OpenTx) {
    if o.tx.download_status == Some(1) && !o.missing_reported {
        o.notes.push(Note::NoReportInTime {
            command_key: o.order.command_key.clone(),
            frame: o.answer_frame,
            waited: REPORT_WAIT,
        });
    }
}

/// Notes for a transaction still waiting at the end of the capture.
fn at_capture_end(o: &mut OpenTx) {
    if o.tx.download_status == Some(1) && !o.missing_reported {
        o.notes.push(Note::NoReportAtEnd {
            command_key: o.order.command_key.clone(),
            frame: o.answer_frame,
        });
    }
}
