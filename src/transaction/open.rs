//! The tracker's memory: transactions being built, file exchanges waiting for their
//! transaction, and each CPE's recently finished transfers, all bounded and bucketed by IP.

use super::Transaction;
use super::model::{Kind, Note, Order};
use crate::cwmp::DeviceId;
use crate::session::{ConnRecord, HttpExchange};
use crate::types::{ConnId, FrameRef, Nanos};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// A transaction being built.
pub(super) struct OpenTx {
    pub(super) tx: Transaction,
    pub(super) order: Order,
    pub(super) cpe_key: String,
    /// The file exchanges, in order.
    pub(super) fetch: Vec<HttpExchange>,
    /// Connections the fetch used, and whether each has closed (with its record).
    pub(super) conns: Vec<(ConnId, Option<ConnRecord>)>,
    /// Connections the CPE opened to the file server while the transfer waited for its fetch:
    /// until one carries HTTP or closes, it may be a failed handshake.
    pub(super) handshakes: Vec<Watched>,
    /// The TransferComplete arrived (or none is expected): done but for late connection
    /// records, until `release_at`.
    pub(super) done: bool,
    pub(super) release_at: Nanos,
    /// TransferComplete times, for the timing rules.
    pub(super) tc_times: Option<(String, String)>,
    /// The TRANSFER COMPLETE session got no InformResponse.
    pub(super) tc_session_unanswered: bool,
    /// `transfer-complete-missing` was already reported.
    pub(super) missing_reported: bool,
    /// The DeviceId at the Download.
    pub(super) device_at_order: Option<DeviceId>,
    /// The reporting Inform's CurrentTime and the capture time of its message.
    pub(super) report_clock: Option<(String, Nanos)>,
    /// When the session that carried the order ended.
    pub(super) order_session_end: Nanos,
    /// Frame of the CPE's answer to the order (DownloadResponse).
    pub(super) answer_frame: Option<FrameRef>,
    /// Frame of the reporting session's Inform.
    pub(super) report_inform_frame: Option<FrameRef>,
    /// What was noticed about the transaction, in order.
    pub(super) notes: Vec<Note>,
}

/// A connection watched for a failed handshake.
pub(super) struct Watched {
    pub(super) id: ConnId,
    pub(super) opened: Nanos,
    /// An HTTP exchange was seen on it (for this transfer or another): its handshake worked.
    pub(super) carried_http: bool,
}

/// Open transactions, bucketed by the CPE's IP address: almost every look-up concerns one CPE.
#[derive(Default)]
pub(super) struct OpenSet {
    by_ip: FxHashMap<IpAddr, Vec<OpenTx>>,
    len: usize,
}

impl OpenSet {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, o: OpenTx) {
        self.len += 1;
        self.by_ip.entry(o.tx.cpe.ip).or_default().push(o);
    }

    pub(super) fn of_ip(&self, ip: IpAddr) -> &[OpenTx] {
        self.by_ip.get(&ip).map_or(&[], Vec::as_slice)
    }

    pub(super) fn of_ip_mut(&mut self, ip: IpAddr) -> &mut [OpenTx] {
        self.by_ip.get_mut(&ip).map_or(&mut [], Vec::as_mut_slice)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &OpenTx> {
        self.by_ip.values().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut OpenTx> {
        self.by_ip.values_mut().flatten()
    }

    /// The first transaction of that CPE's bucket satisfying `pred`, else the first anywhere
    /// (a CPE whose address changed between sessions).
    pub(super) fn find_mut(
        &mut self,
        ip: IpAddr,
        pred: impl Fn(&OpenTx) -> bool,
    ) -> Option<&mut OpenTx> {
        if self.of_ip(ip).iter().any(&pred) {
            return self.of_ip_mut(ip).iter_mut().find(|o| pred(o));
        }
        self.iter_mut().find(|o| pred(o))
    }

    /// The transaction with the lowest number (the oldest), removed.
    pub(super) fn remove_oldest(&mut self) -> Option<OpenTx> {
        let oldest = self.iter().map(|o| o.tx.number).min()?;
        self.take_where(|o| o.tx.number == oldest).pop()
    }

    /// Removes and returns the transactions that satisfy `pred`.
    pub(super) fn take_where(&mut self, mut pred: impl FnMut(&OpenTx) -> bool) -> Vec<OpenTx> {
        let mut taken = Vec::new();
        for bucket in self.by_ip.values_mut() {
            let mut i = 0;
            while i < bucket.len() {
                if bucket.get(i).is_some_and(&mut pred) {
                    taken.push(bucket.swap_remove(i));
                } else {
                    i += 1;
                }
            }
        }
        self.by_ip.retain(|_, b| !b.is_empty());
        self.len -= taken.len();
        taken.sort_by_key(|o| o.tx.number);
        taken
    }
}

/// Exchanges waiting for their transaction, bucketed by the client's IP address.
#[derive(Default)]
pub(super) struct Pending {
    by_ip: FxHashMap<IpAddr, VecDeque<HttpExchange>>,
    len: usize,
}

impl Pending {
    /// Keeps an exchange waiting; when `max` wait already, the oldest exchange of the fullest
    /// bucket goes (bounded memory). Returns whether one went.
    pub(super) fn push(&mut self, x: HttpExchange, max: usize) -> bool {
        let mut dropped = false;
        if self.len >= max.max(1)
            && let Some(bucket) = self.by_ip.values_mut().max_by_key(|b| b.len())
            && bucket.pop_front().is_some()
        {
            self.len -= 1;
            dropped = true;
        }
        self.len += 1;
        self.by_ip.entry(x.client.ip()).or_default().push_back(x);
        dropped
    }

    /// Takes the exchanges of `ip` that satisfy `pred`, in order.
    pub(super) fn take(
        &mut self,
        ip: IpAddr,
        mut pred: impl FnMut(&HttpExchange) -> bool,
    ) -> Vec<HttpExchange> {
        let Some(bucket) = self.by_ip.get_mut(&ip) else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(bucket.len());
        for x in bucket.drain(..) {
            if pred(&x) {
                taken.push(x);
            } else {
                kept.push_back(x);
            }
        }
        *bucket = kept;
        if bucket.is_empty() {
            self.by_ip.remove(&ip);
        }
        self.len -= taken.len();
        taken
    }

    /// Forgets exchanges older than `limit`.
    pub(super) fn expire(&mut self, limit: Nanos) {
        let mut dropped = 0;
        for bucket in self.by_ip.values_mut() {
            while bucket.front().is_some_and(|x| x.request.ts < limit) {
                bucket.pop_front();
                dropped += 1;
            }
        }
        self.by_ip.retain(|_, b| !b.is_empty());
        self.len -= dropped;
    }
}

/// A CPE's recently finished transactions, to recognize a repeated TransferComplete: the
/// hashes of their CommandKeys (a few bytes per CPE, since every CPE of a capture has one).
#[derive(Default)]
pub(super) struct Recent {
    pub(super) keys: VecDeque<u64>,
    /// A configuration or firmware update happened for this CPE in the capture.
    pub(super) updated: Option<Kind>,
}
