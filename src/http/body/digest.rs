//! The SHA-256 of file bodies, taken where the body is read or on a hashing thread of its own.
//!
//! With several analysis threads, the front half (reading, TCP, HTTP) is the one stage that
//! cannot be spread over cores, and hashing the files it carries was a fifth of its time. A
//! [`DigestQueue`] hands the bytes of each digested body, in batches, to [`run_hasher`] on
//! another thread; the message leaves the HTTP stage with a [`DigestTicket`] instead of its
//! digest, and [`DigestResults::wait`] gives the digest back before the session stage sees the
//! message. The digest is the same either way; only the thread computing it changes.

use super::BodyDigest;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

/// The number a body's digest is asked for and given back by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DigestTicket(pub u64);

/// Bytes and steps gathered before a batch goes to the hashing thread (or before the batch
/// is flushed), and batches in flight: at most ~1 MiB waits, whatever the number of open
/// bodies.
const BATCH_BYTES: usize = 128 << 10;
const BATCH_STEPS: usize = 4096;
/// Batches queued for the hashing thread at most (the capacity of its queue).
pub const BATCHES_IN_FLIGHT: usize = 8;

/// What the hashing thread is told, in order.
#[derive(Debug)]
enum Step {
    /// The next `len` bytes of the batch belong to this body.
    Bytes(DigestTicket, usize),
    /// The body is complete: its digest is wanted.
    Finish(DigestTicket),
    /// The body lost bytes or was dropped: no digest will be asked for.
    Forget(DigestTicket),
}

/// Work for the hashing thread: steps, and the bytes their `Bytes` steps take in turn.
#[derive(Debug, Default)]
pub struct DigestBatch {
    steps: Vec<Step>,
    bytes: Vec<u8>,
}

impl DigestBatch {
    /// An empty batch with room for what goes in one (a body's piece is at most a TCP
    /// segment's payload, so a full batch stays within its first allocation).
    fn with_room() -> Self {
        DigestBatch {
            steps: Vec::with_capacity(BATCH_STEPS + 1),
            bytes: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
        }
    }
}

struct Outgoing {
    batch: DigestBatch,
    to: SyncSender<DigestBatch>,
    /// Batches the hashing thread is done with, emptied, to be filled again.
    spare: Receiver<DigestBatch>,
    /// The last ticket given.
    next_ticket: u64,
}

impl Outgoing {
    fn send_if_full(&mut self) {
        if self.batch.bytes.len() >= BATCH_BYTES || self.batch.steps.len() >= BATCH_STEPS {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.steps.is_empty() {
            return;
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| DigestBatch::with_room());
        let batch = std::mem::replace(&mut self.batch, next);
        // A closed queue means the hashing thread panicked; its owner resumes that panic when
        // it joins it.
        let _ = self.to.send(batch);
    }
}

/// Where the HTTP stage sends the bytes of the bodies it digests (cloned into its settings;
/// every clone feeds the same batch).
#[derive(Clone)]
pub struct DigestQueue {
    outgoing: Arc<Mutex<Outgoing>>,
}

impl fmt::Debug for DigestQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestQueue")
    }
}

impl DigestQueue {
    /// A queue into `to`, which [`run_hasher`] reads, taking back the batches it is done with
    /// from `spare`.
    pub fn new(to: SyncSender<DigestBatch>, spare: Receiver<DigestBatch>) -> Self {
        DigestQueue {
            outgoing: Arc::new(Mutex::new(Outgoing {
                batch: DigestBatch::with_room(),
                to,
                spare,
                next_ticket: 0,
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Outgoing) -> R) -> R {
        let mut outgoing = self
            .outgoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut outgoing)
    }

    /// Sends what is batched. Done before the messages of the digests asked for so far are
    /// handed on, so that waiting for one of them never waits on a batch that is not full.
    pub fn flush(&self) {
        self.with(Outgoing::send);
    }
}

/// The SHA-256 of one body in progress.
pub(super) enum Digester {
    /// Computed here, as the bytes come.
    Here(Box<Sha256>),
    /// Computed on the hashing thread.
    Away {
        queue: DigestQueue,
        ticket: DigestTicket,
        /// `Finish` or `Forget` was sent.
        done: bool,
    },
}

/// A finished body's digest: known, or on its way from the hashing thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digested {
    /// Computed where the body was read.
    Known(BodyDigest),
    /// To be had from [`DigestResults::wait`].
    Pending(DigestTicket),
}

impl Digester {
    /// A digest of a new body: away when there is a queue, here otherwise.
    pub(super) fn new(queue: Option<&DigestQueue>) -> Self {
        match queue {
            Some(queue) => Digester::Away {
                ticket: queue.with(|out| {
                    out.next_ticket += 1;
                    DigestTicket(out.next_ticket)
                }),
                queue: queue.clone(),
                done: false,
            },
            None => Digester::Here(Box::new(Sha256::new())),
        }
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        match self {
            Digester::Here(sha) => sha.update(data),
            Digester::Away { queue, ticket, .. } => queue.with(|out| {
                out.batch.steps.push(Step::Bytes(*ticket, data.len()));
                out.batch.bytes.extend_from_slice(data);
                out.send_if_full();
            }),
        }
    }

    /// The digest of the bytes fed so far. Away, the request leaves with the batch: whoever
    /// hands the message on must [`DigestQueue::flush`] before the message can be waited for.
    pub(super) fn finish(mut self) -> Digested {
        match &mut self {
            Digester::Here(sha) => Digested::Known(sha.as_ref().clone().finalize().into()),
            Digester::Away {
                queue,
                ticket,
                done,
            } => {
                *done = true;
                queue.with(|out| {
                    out.batch.steps.push(Step::Finish(*ticket));
                    out.send_if_full();
                });
                Digested::Pending(*ticket)
            }
        }
    }
}

impl Drop for Digester {
    fn drop(&mut self) {
        if let Digester::Away {
            queue,
            ticket,
            done: false,
        } = self
        {
            let ticket = *ticket;
            queue.with(|out| {
                out.batch.steps.push(Step::Forget(ticket));
                out.send_if_full();
            });
        }
    }
}

/// The hashing thread: takes the batches in order and answers each `Finish` with the body's
/// digest, until the queue closes; each batch, emptied, goes back on `spare`. It holds one
/// hash state per body in progress.
pub fn run_hasher(
    batches: Receiver<DigestBatch>,
    results: Sender<(DigestTicket, BodyDigest)>,
    spare: Sender<DigestBatch>,
) {
    let mut open: FxHashMap<DigestTicket, Sha256> = FxHashMap::default();
    for mut batch in batches {
        let mut at = 0;
        for step in batch.steps.drain(..) {
            match step {
                Step::Bytes(ticket, len) => {
                    let end = at + len;
                    let data = batch.bytes.get(at..end).unwrap_or_default();
                    open.entry(ticket).or_default().update(data);
                    at = end;
                }
                Step::Finish(ticket) => {
                    let digest = open.remove(&ticket).unwrap_or_default().finalize().into();
                    if results.send((ticket, digest)).is_err() {
                        return;
                    }
                }
                Step::Forget(ticket) => {
                    open.remove(&ticket);
                }
            }
        }
        batch.bytes.clear();
        // The queue's owner may be gone; the batch is then dropped.
        let _ = spare.send(batch);
    }
}

/// The digests the hashing thread sends back, waited for by ticket (they come in the order
/// bodies finished, which is the order their messages arrive in).
pub struct DigestResults {
    from: Receiver<(DigestTicket, BodyDigest)>,
    early: FxHashMap<DigestTicket, BodyDigest>,
}

impl DigestResults {
    /// The digests [`run_hasher`] sends on `from`.
    pub fn new(from: Receiver<(DigestTicket, BodyDigest)>) -> Self {
        DigestResults {
            from,
            early: FxHashMap::default(),
        }
    }

    /// The digest of the body behind `ticket`, waiting for it if need be; `None` when the
    /// hashing thread is gone (it panicked; its owner reports that).
    pub fn wait(&mut self, ticket: DigestTicket) -> Option<BodyDigest> {
        if let Some(digest) = self.early.remove(&ticket) {
            return Some(digest);
        }
        while let Ok((got, digest)) = self.from.recv() {
            if got == ticket {
                return Some(digest);
            }
            self.early.insert(got, digest);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, sync_channel};

    #[test]
    fn digests_taken_away_equal_those_taken_here_whatever_the_interleaving() {
        let (to, batches) = sync_channel(BATCHES_IN_FLIGHT);
        let (results_tx, results_rx) = channel();
        let (spare_tx, spare) = channel();
        let hasher = std::thread::spawn(move || run_hasher(batches, results_tx, spare_tx));
        let queue = DigestQueue::new(to, spare);
        let mut results = DigestResults::new(results_rx);
        let bodies: Vec<Vec<u8>> = (0..5u32)
            .map(|b| (0..(b * 70_000 + 3)).map(|i| (i * 31 + b) as u8).collect())
            .collect();
        let mut here: Vec<Digester> = bodies.iter().map(|_| Digester::new(None)).collect();
        let mut away: Vec<Digester> = bodies.iter().map(|_| Digester::new(Some(&queue))).collect();
        // One body dropped half-way: its bytes are forgotten, the others are unaffected.
        let mut dropped = Digester::new(Some(&queue));
        dropped.update(b"lost");
        drop(dropped);
        for piece in 0..60 {
            for (b, body) in bodies.iter().enumerate() {
                let chunk = body
                    .chunks(body.len() / 50 + 1)
                    .nth(piece)
                    .unwrap_or_default();
                here[b].update(chunk);
                away[b].update(chunk);
            }
        }
        // Finished in reverse order, waited for in order.
        let pending: Vec<Digested> = away.into_iter().rev().map(Digester::finish).collect();
        queue.flush();
        for (b, (h, a)) in here.into_iter().zip(pending.into_iter().rev()).enumerate() {
            let Digested::Known(expected) = h.finish() else {
                panic!("computed here");
            };
            let Digested::Pending(ticket) = a else {
                panic!("computed away");
            };
            assert_eq!(results.wait(ticket), Some(expected), "body {b}");
        }
        drop(queue);
        hasher.join().unwrap();
        // The thread gone, nothing more comes.
        assert_eq!(results.wait(DigestTicket(99)), None);
    }
}
