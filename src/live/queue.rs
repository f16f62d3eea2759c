//! The bounded hand-over of frames from a reading thread to the analysis thread.
//!
//! Frames are copied into large batches (one byte buffer holding many frames plus a small
//! index), and whole batches cross a bounded channel. Emptied batches come back through a
//! return channel and are reused, so the steady state allocates nothing per frame or per
//! batch. When the channel is full, a reader that must never stall (live capture) drops the
//! batch and counts its frames; a reader that may wait (a pipe, a file) blocks instead.

use crate::types::{Frame, FrameRef, LinkType, Nanos};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, TrySendError, channel,
    sync_channel,
};
use std::time::{Duration, Instant};

/// Bytes of frame data a batch holds before it is handed over (a single larger frame still
/// fits: the batch then grows to hold it alone).
pub const BATCH_BYTES: usize = 1 << 20;
/// Frames a batch holds at most.
pub const BATCH_FRAMES: usize = 8192;

/// Where one frame sits in its batch.
#[derive(Clone, Copy, Debug)]
struct Slot {
    frame: FrameRef,
    ts: Nanos,
    link: LinkType,
    orig_len: u32,
    start: usize,
    len: usize,
}

/// Many frames copied into one buffer.
#[derive(Debug)]
pub struct FrameBatch {
    data: Vec<u8>,
    slots: Vec<Slot>,
    /// When the first frame went in (for the reader's latency bound).
    opened: Option<Instant>,
    /// TLS key log text the input carried before the batch's frames (a pcapng's Decryption
    /// Secrets Blocks; bounded by the reader).
    keylog: Vec<u8>,
}

impl Default for FrameBatch {
    fn default() -> Self {
        FrameBatch::new()
    }
}

impl FrameBatch {
    /// An empty batch with room for [`BATCH_BYTES`] of frame data.
    pub fn new() -> FrameBatch {
        FrameBatch {
            data: Vec::with_capacity(BATCH_BYTES),
            slots: Vec::with_capacity(256),
            opened: None,
            keylog: Vec::new(),
        }
    }

    /// A batch without buffers, standing in while the real one is in flight.
    fn placeholder() -> FrameBatch {
        FrameBatch {
            data: Vec::new(),
            slots: Vec::new(),
            opened: None,
            keylog: Vec::new(),
        }
    }

    /// Number of frames held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no frame is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether `frame` still fits (an empty batch takes any frame).
    pub fn fits(&self, frame: &Frame<'_>) -> bool {
        self.slots.is_empty()
            || (self.slots.len() < BATCH_FRAMES
                && self.data.len().saturating_add(frame.data.len()) <= BATCH_BYTES)
    }

    /// Copies a frame in.
    pub fn push(&mut self, frame: &Frame<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(frame.data);
        self.slots.push(Slot {
            frame: frame.frame,
            ts: frame.ts,
            link: frame.link,
            orig_len: frame.orig_len,
            start,
            len: frame.data.len(),
        });
        if self.opened.is_none() {
            self.opened = Some(Instant::now());
        }
    }

    /// How long ago the first frame went in (zero when empty).
    pub fn age(&self) -> Duration {
        self.opened.map(|t| t.elapsed()).unwrap_or_default()
    }

    /// The frames, in the order they were pushed.
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> + '_ {
        self.slots.iter().map(|s| Frame {
            frame: s.frame,
            ts: s.ts,
            link: s.link,
            orig_len: s.orig_len,
            data: s
                .start
                .checked_add(s.len)
                .and_then(|end| self.data.get(s.start..end))
                .unwrap_or_default(),
        })
    }

    /// TLS key log text to use from this batch's frames on.
    pub fn keylog(&self) -> &[u8] {
        &self.keylog
    }

    /// Empties the batch, keeping its buffers. A buffer grown for one oversized frame shrinks
    /// back, so memory stays bounded by the pool size times [`BATCH_BYTES`].
    pub fn clear(&mut self) {
        self.data.clear();
        self.slots.clear();
        self.opened = None;
        self.keylog = Vec::new();
        if self.data.capacity() > 2 * BATCH_BYTES {
            self.data.shrink_to(BATCH_BYTES);
        }
        if self.slots.capacity() > BATCH_FRAMES {
            self.slots.shrink_to(BATCH_FRAMES);
        }
    }
}

/// What the reader does when the analysis has not caught up and the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room (pipes and files: nothing is lost, the writer is slowed down).
    Block,
    /// Drop the batch and count its frames (live capture: the capture never waits).
    Drop,
}

/// The analysis side went away: nothing more can be handed over.
#[derive(Debug, PartialEq, Eq)]
pub struct Disconnected;

/// Counters shared by both ends.
#[derive(Debug, Default)]
struct Shared {
    dropped: AtomicU64,
    queued: AtomicU64,
    /// Batches sent and not yet received.
    in_flight: AtomicU64,
}

/// The reading end: copies frames into the current batch and hands full batches over.
pub struct BatchSender {
    tx: SyncSender<FrameBatch>,
    returned: Receiver<FrameBatch>,
    current: FrameBatch,
    allocated: usize,
    max_batches: usize,
    overflow: Overflow,
    shared: Arc<Shared>,
}

/// The analysis end: receives batches and gives them back for reuse.
pub struct BatchReceiver {
    rx: Receiver<FrameBatch>,
    give_back: Sender<FrameBatch>,
    shared: Arc<Shared>,
}

/// A queue of at most `depth` batches in flight (at least 1), with the given overflow policy.
pub fn frame_queue(depth: usize, overflow: Overflow) -> (BatchSender, BatchReceiver) {
    let depth = depth.max(1);
    let (tx, rx) = sync_channel(depth);
    let (give_back, returned) = channel();
    let shared = Arc::new(Shared::default());
    (
        BatchSender {
            tx,
            returned,
            current: FrameBatch::new(),
            allocated: 1,
            // The queue, one batch being analyzed and one being filled.
            max_batches: depth + 2,
            overflow,
            shared: Arc::clone(&shared),
        },
        BatchReceiver {
            rx,
            give_back,
            shared,
        },
    )
}

impl BatchSender {
    /// Copies a frame into the current batch, handing the batch over first if it is full.
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<(), Disconnected> {
        if !self.current.fits(frame) {
            self.flush()?;
        }
        self.current.push(frame);
        Ok(())
    }

    /// TLS key log text for the frames pushed from now on: it goes with the current batch,
    /// ahead of its frames.
    pub fn push_keylog(&mut self, text: &[u8]) {
        self.current.keylog.extend_from_slice(text);
    }

    /// Hands the current batch over if it holds frames.
    pub fn flush(&mut self) -> Result<(), Disconnected> {
        if self.current.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.current, FrameBatch::placeholder());
        let frames = full.len() as u64;
        match self.overflow {
            Overflow::Block => {
                self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
                self.tx.send(full).map_err(|_| Disconnected)?;
            }
            Overflow::Drop => {
                // Counted before the send, so the receiver never counts it down first.
                self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
                let sent = self.tx.try_send(full);
                match sent {
                    Ok(()) => {}
                    Err(TrySendError::Full(mut back)) => {
                        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                        self.shared.dropped.fetch_add(frames, Ordering::Relaxed);
                        back.clear();
                        self.current = back;
                        return Ok(());
                    }
                    Err(TrySendError::Disconnected(_)) => return Err(Disconnected),
                }
            }
        }
        self.current = self.spare_batch()?;
        self.shared.queued.fetch_add(frames, Ordering::Relaxed);
        Ok(())
    }

    /// Hands the current batch over if its first frame waited at least `age` and the
    /// analysis has nothing else queued. While it is busy, the batch keeps filling up, so a
    /// burst travels in few large batches instead of many small ones.
    pub fn flush_if_older(&mut self, age: Duration) -> Result<(), Disconnected> {
        if !self.current.is_empty()
            && self.current.age() >= age
            && self.shared.in_flight.load(Ordering::SeqCst) == 0
        {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Frames dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// An empty batch: a returned one, a new one while under the pool size, or (blocking) the
    /// next one returned.
    fn spare_batch(&mut self) -> Result<FrameBatch, Disconnected> {
        match self.returned.try_recv() {
            Ok(mut b) => {
                b.clear();
                return Ok(b);
            }
            Err(TryRecvError::Disconnected) => return Err(Disconnected),
            Err(TryRecvError::Empty) => {}
        }
        if self.allocated < self.max_batches {
            self.allocated += 1;
            return Ok(FrameBatch::new());
        }
        match self.returned.recv() {
            Ok(mut b) => {
                b.clear();
                Ok(b)
            }
            Err(_) => Err(Disconnected),
        }
    }
}

impl BatchReceiver {
    /// The next batch, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<FrameBatch, RecvTimeoutError> {
        let batch = self.rx.recv_timeout(timeout)?;
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(batch)
    }

    /// The next batch if one is waiting.
    pub fn try_recv(&self) -> Result<FrameBatch, TryRecvError> {
        let batch = self.rx.try_recv()?;
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(batch)
    }

    /// Gives an analyzed batch back to the reader for reuse.
    pub fn recycle(&self, mut batch: FrameBatch) {
        batch.clear();
        // The reader may have finished; then the batch is simply freed.
        let _ = self.give_back.send(batch);
    }

    /// Frames the reader dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Frames handed over so far.
    pub fn queued(&self) -> u64 {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// The queue's counters, readable from any thread while the receiver is in use.
    pub fn counts(&self) -> QueueCounts {
        QueueCounts(Arc::clone(&self.shared))
    }
}

/// A handle on a queue's counters (frames handed over and dropped), for a display on another
/// thread.
#[derive(Clone)]
pub struct QueueCounts(Arc<Shared>);

impl QueueCounts {
    /// Frames handed over so far.
    pub fn queued(&self) -> u64 {
        self.0.queued.load(Ordering::Relaxed)
    }

    /// Frames dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(number: u64, data: &[u8]) -> Frame<'_> {
        Frame {
            frame: FrameRef::new(0, number),
            ts: number as Nanos * 1000,
            link: LinkType::ETHERNET,
            orig_len: data.len() as u32 + 4,
            data,
        }
    }

    #[test]
    fn frames_come_out_in_order_with_their_bytes() {
        let (mut tx, rx) = frame_queue(4, Overflow::Block);
        let payloads: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; usize::from(i)]).collect();
        for (i, p) in payloads.iter().enumerate() {
            tx.push(&frame(i as u64 + 1, p)).unwrap();
        }
        tx.flush().unwrap();
        let batch = rx.try_recv().unwrap();
        let got: Vec<(u64, Nanos, u32, Vec<u8>)> = batch
            .frames()
            .map(|f| (f.frame.number, f.ts, f.orig_len, f.data.to_vec()))
            .collect();
        assert_eq!(got.len(), 100);
        for (i, (number, ts, orig, data)) in got.into_iter().enumerate() {
            assert_eq!(number, i as u64 + 1);
            assert_eq!(ts, (i as Nanos + 1) * 1000);
            assert_eq!(orig, data.len() as u32 + 4);
            assert_eq!(data, payloads[i]);
        }
    }

    #[test]
    fn a_full_batch_is_handed_over_and_an_oversized_frame_travels_alone() {
        let (mut tx, rx) = frame_queue(8, Overflow::Block);
        let big = vec![7u8; BATCH_BYTES + 10];
        tx.push(&frame(1, b"small")).unwrap();
        tx.push(&frame(2, &big)).unwrap();
        tx.push(&frame(3, b"after")).unwrap();
        tx.flush().unwrap();
        let sizes: Vec<Vec<u64>> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|b| b.frames().map(|f| f.frame.number).collect())
            .collect();
        assert_eq!(sizes, vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_full_queue_drops_and_counts_in_drop_mode() {
        let (mut tx, rx) = frame_queue(2, Overflow::Drop);
        for round in 0..5u64 {
            tx.push(&frame(round * 2 + 1, b"a")).unwrap();
            tx.push(&frame(round * 2 + 2, b"b")).unwrap();
            tx.flush().unwrap();
        }
        // Two batches fit in the queue; the other three were dropped, 2 frames each.
        assert_eq!(tx.dropped(), 6);
        assert_eq!(rx.dropped(), 6);
        assert_eq!(rx.queued(), 4);
        let first: Vec<u64> = rx
            .try_recv()
            .unwrap()
            .frames()
            .map(|f| f.frame.number)
            .collect();
        assert_eq!(first, vec![1, 2]);
    }

    #[test]
    fn batches_are_recycled_and_the_pool_stays_bounded() {
        let (mut tx, rx) = frame_queue(2, Overflow::Block);
        let consumer = std::thread::spawn(move || {
            let mut seen = 0u64;
            while let Ok(b) = rx.recv_timeout(Duration::from_secs(5)) {
                seen += b.len() as u64;
                rx.recycle(b);
            }
            seen
        });
        let payload = vec![1u8; 1500];
        for i in 0..20_000u64 {
            tx.push(&frame(i + 1, &payload)).unwrap();
        }
        tx.flush().unwrap();
        assert!(tx.allocated <= tx.max_batches);
        drop(tx);
        assert_eq!(consumer.join().unwrap(), 20_000);
    }

    #[test]
    fn an_old_batch_waits_while_the_analysis_is_busy() {
        let (mut tx, rx) = frame_queue(4, Overflow::Drop);
        tx.push(&frame(1, b"a")).unwrap();
        tx.flush_if_older(Duration::ZERO).unwrap();
        // The analysis has not taken batch 1: batch 2 keeps filling.
        tx.push(&frame(2, b"b")).unwrap();
        tx.flush_if_older(Duration::ZERO).unwrap();
        tx.push(&frame(3, b"c")).unwrap();
        let first = rx.try_recv().unwrap();
        assert_eq!(first.len(), 1);
        assert!(rx.try_recv().is_err());
        // Now it is idle: the waiting batch goes.
        tx.flush_if_older(Duration::ZERO).unwrap();
        let second: Vec<u64> = rx
            .try_recv()
            .unwrap()
            .frames()
            .map(|f| f.frame.number)
            .collect();
        assert_eq!(second, vec![2, 3]);
    }

    #[test]
    fn a_gone_receiver_is_reported() {
        let (mut tx, rx) = frame_queue(1, Overflow::Block);
        drop(rx);
        tx.push(&frame(1, b"x")).unwrap();
        assert_eq!(tx.flush(), Err(Disconnected));
    }
}
