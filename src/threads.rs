//! The core on several threads: the [`Analyzer`] the command line and `live` run. With
//! `threads = 1` it is the synchronous [`Pipeline`]; with more, the pipeline's front half
//! ([`Front`]: frames to HTTP events) stays on the caller's thread and its back half ([`Back`]:
//! HTTP events to outputs) runs on a worker thread, fed by a bounded queue of batches of HTTP
//! events, its outputs drained back at each tick. With 3 or more, `threads - 2` decoder threads
//! sit between the two and decode the CWMP bodies of the batches (the back half's largest
//! cost), batch `i` on decoder `i mod n`, which the worker then takes in the same order, and a
//! hashing thread takes the SHA-256 of the files off the front half (the one stage that does
//! not spread over cores); the worker puts each digest back into its message. From 5 on, the
//! front half itself is split by address pair ([`fronts`]), and the back half runs as two
//! stages: the worker keeps the session stage and hands its items to the later stages
//! (transactions, findings) on a thread of their own ([`Back::into_stages`]). Every count
//! gives the same outputs in the same order.

use crate::cwmp::DecodeLimits;
use crate::findings::Output;
use crate::http::HttpEvent;
use crate::http::body::{DIGEST_BATCHES_IN_FLIGHT, DigestQueue, DigestResults, run_hasher};
use crate::pipeline::{
    Back, Counters, Front, LaterEvent, LaterStages, Pipeline, PipelineConfig, SessionStage, Ticker,
    capture_summary_of,
};
use crate::report::CaptureSummary;
use crate::session::DecodedBody;
use crate::types::{Frame, Nanos};
use fronts::Sharded;
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::thread::JoinHandle;

mod fronts;

/// Settings of every stage, and how many threads run them.
#[derive(Clone, Debug)]
pub struct AnalyzerConfig {
    pub pipeline: PipelineConfig,
    /// 1: everything on the caller's thread; 2: the back half on a worker thread; more: and
    /// `threads - 2` threads decoding CWMP bodies for it, and one hashing files.
    pub threads: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            pipeline: PipelineConfig::default(),
            threads: default_threads(),
        }
    }
}

/// Threads used unless told otherwise: one per core, at least 2 and at most 4. Past two
/// decoder threads the front half (reading, TCP, HTTP) on the caller's thread is the slowest
/// stage, so more do not help (BENCHMARKS.md).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// HTTP events handed to the worker at once, and batches in flight (without decoders; with
/// them, `DECODER_BATCHES_IN_FLIGHT` into and out of each decoder).
const BATCH: usize = 256;
const BATCHES_IN_FLIGHT: usize = 8;
const DECODER_BATCHES_IN_FLIGHT: usize = 2;

/// From this many threads on, the front half is split ([`fronts`]): `threads - 4` front
/// shards, two decoder threads, the back half (its session stage, then its later stages on a
/// thread of their own) and the merging thread.
const FRONT_SHARDS_FROM: usize = 5;
const SHARDED_DECODERS: usize = 2;

/// Threads building report objects for the printer with `threads` analysis threads: two from
/// [`FRONT_SHARDS_FROM`] on (the printer is then the longest serial stage; for JSON and
/// NDJSON they write the objects' JSON too), else none.
pub fn report_builders(threads: usize) -> usize {
    if threads >= FRONT_SHARDS_FROM { 2 } else { 0 }
}

/// What the worker thread receives: the front half's HTTP events (they own their data) with
/// the message's body decoded when a decoder thread did it, and the capture clock.
#[allow(clippy::large_enum_variant)]
enum BackEvent {
    Http(HttpEvent, Option<DecodedBody>),
    /// Capture time moved on.
    Advance(Nanos),
    /// Hand on the sessions open now.
    ReportOpen,
}

/// The back half on a worker thread, and the decoder threads feeding it.
struct Worker {
    /// The hashing thread, if files are hashed away from the front half, and its queue.
    hasher: Option<(JoinHandle<()>, DigestQueue)>,
    /// The queues to the worker, or to each decoder; empty once closed by [`Worker::join`].
    batches: Vec<SyncSender<Vec<BackEvent>>>,
    /// The queue the next batch goes to.
    next: usize,
    /// `None` once joined.
    handle: Option<JoinHandle<(Back, Option<DigestResults>)>>,
    decoders: Vec<JoinHandle<()>>,
    /// Events not yet sent.
    batch: Vec<BackEvent>,
}

/// Decodes the CWMP bodies of the messages of each batch, and passes the batch on.
fn decode_batches(
    batches: Receiver<Vec<BackEvent>>,
    decoded: SyncSender<Vec<BackEvent>>,
    limits: &DecodeLimits,
) {
    for mut batch in batches {
        for ev in &mut batch {
            if let BackEvent::Http(HttpEvent::Message(msg), body) = ev {
                *body = Some(DecodedBody::of(msg, limits));
            }
        }
        if decoded.send(batch).is_err() {
            // The worker stopped (it panicked; `join` reports it).
            return;
        }
    }
}

/// Puts the digest of a message's body back, when it was taken on the hashing thread.
fn with_digest(ev: &mut HttpEvent, digests: &mut Option<DigestResults>) {
    if let HttpEvent::Message(msg) = ev
        && let Some(ticket) = msg.digest_ticket.take()
    {
        let results = digests
            .as_mut()
            .expect("a digest ticket comes with a hashing thread");
        // `None`: the hashing thread panicked; failing here reports it.
        msg.body_sha256 = Some(results.wait(ticket).expect("the hashing thread answers"));
    }
}

/// Starts a thread with a name (as `top -H` and debuggers show it).
fn spawn_named<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
}

/// The hashing thread, and the queue the front half feeds it through.
fn spawn_hasher() -> (DigestQueue, DigestResults, JoinHandle<()>) {
    let (to, batches) = sync_channel(DIGEST_BATCHES_IN_FLIGHT);
    let (results_tx, results) = std::sync::mpsc::channel();
    let (spare_tx, spare) = std::sync::mpsc::channel();
    let handle = spawn_named("hasher".into(), move || {
        run_hasher(batches, results_tx, spare_tx)
    });
    (
        DigestQueue::new(to, spare),
        DigestResults::new(results),
        handle,
    )
}

/// The back half as the worker thread drives it: whole, or its session stage feeding the later
/// stages on another thread.
trait BackStage {
    fn push(&mut self, ev: HttpEvent, body: Option<DecodedBody>);
    fn advance(&mut self, now: Nanos);
    fn report_open(&mut self);
    fn finish(&mut self);
    /// The end of one input batch: what waits is handed on.
    fn end_of_batch(&mut self) {}
}

/// The whole back half, its outputs going to `out`.
struct WholeBack<F> {
    back: Back,
    out: F,
}

impl<F: FnMut(Output)> BackStage for WholeBack<F> {
    fn push(&mut self, ev: HttpEvent, body: Option<DecodedBody>) {
        match body {
            Some(body) => self.back.push_decoded(ev, body, &mut self.out),
            None => self.back.push(ev, &mut self.out),
        }
    }
    fn advance(&mut self, now: Nanos) {
        self.back.advance(now, &mut self.out)
    }
    fn report_open(&mut self) {
        self.back.report_open(&mut self.out)
    }
    fn finish(&mut self) {
        self.back.finish(&mut self.out)
    }
}

/// The session stage, its events batched for the later stages' thread.
struct SessionSide {
    stage: SessionStage,
    to_later: SyncSender<Vec<LaterEvent>>,
    batch: Vec<LaterEvent>,
}

impl SessionSide {
    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A closed queue means the later stages panicked; joining them reports it.
        let _ = self.to_later.send(batch);
    }
}

impl BackStage for SessionSide {
    fn push(&mut self, ev: HttpEvent, body: Option<DecodedBody>) {
        let batch = &mut self.batch;
        match body {
            Some(body) => self.stage.push_decoded(ev, body, &mut |ev| batch.push(ev)),
            None => self.stage.push(ev, &mut |ev| batch.push(ev)),
        }
        if self.batch.len() >= BATCH {
            self.send();
        }
    }
    fn advance(&mut self, now: Nanos) {
        let batch = &mut self.batch;
        self.stage.advance(now, &mut |ev| batch.push(ev));
    }
    fn report_open(&mut self) {
        let batch = &mut self.batch;
        self.stage.report_open(&mut |ev| batch.push(ev));
    }
    fn finish(&mut self) {
        let batch = &mut self.batch;
        self.stage.finish(&mut |ev| batch.push(ev));
        self.send();
    }
    fn end_of_batch(&mut self) {
        self.send();
    }
}

/// The worker's loop: the batches of the inputs in turn, as they were sent (when the input
/// whose turn it is has closed, no batch follows on any), then the end of input.
fn run_back(
    stage: &mut impl BackStage,
    inputs: &[Receiver<Vec<BackEvent>>],
    digests: &mut Option<DigestResults>,
) {
    let mut turn = 0;
    while let Some(batch) = inputs.get(turn).and_then(|input| input.recv().ok()) {
        turn = (turn + 1) % inputs.len();
        for ev in batch {
            match ev {
                BackEvent::Http(mut ev, body) => {
                    with_digest(&mut ev, digests);
                    stage.push(ev, body)
                }
                BackEvent::Advance(now) => stage.advance(now),
                BackEvent::ReportOpen => stage.report_open(),
            }
        }
        stage.end_of_batch();
    }
    stage.finish();
}

/// The later stages' thread: the session stage's batches in, outputs to `output_tx`.
fn run_later(
    mut later: LaterStages,
    batches: Receiver<Vec<LaterEvent>>,
    output_tx: Sender<Output>,
) -> LaterStages {
    let mut out = |item: Output| {
        // As for the whole back half: a send fails only while the analyzer is dropped.
        let _ = output_tx.send(item);
    };
    for batch in batches {
        for ev in batch {
            later.push(ev, &mut out);
        }
    }
    later
}

impl Worker {
    /// The back half on its own thread, fed through `decoders` decoder threads (none: fed
    /// directly), its outputs sent to `output_tx`; `digests`: the answers of the hashing
    /// thread, if there is one. With `later_apart`, the back half's later stages
    /// (transactions, findings) run on a thread of their own after its session stage.
    fn spawn(
        back: Back,
        decoders: usize,
        later_apart: bool,
        mut digests: Option<DigestResults>,
        hasher: Option<(JoinHandle<()>, DigestQueue)>,
        output_tx: Sender<Output>,
    ) -> Worker {
        let mut batches = Vec::new();
        let mut inputs = Vec::new();
        let mut handles = Vec::new();
        if decoders == 0 {
            let (tx, rx) = sync_channel::<Vec<BackEvent>>(BATCHES_IN_FLIGHT);
            batches.push(tx);
            inputs.push(rx);
        }
        for n in 0..decoders {
            let (tx, rx) = sync_channel::<Vec<BackEvent>>(DECODER_BATCHES_IN_FLIGHT);
            let (decoded_tx, decoded_rx) =
                sync_channel::<Vec<BackEvent>>(DECODER_BATCHES_IN_FLIGHT);
            let limits = back.decode_limits();
            handles.push(spawn_named(format!("decoder-{}", n + 1), move || {
                decode_batches(rx, decoded_tx, &limits);
            }));
            batches.push(tx);
            inputs.push(decoded_rx);
        }
        let handle = if later_apart {
            let (sessions, later) = back.into_stages();
            let (later_tx, later_rx) = sync_channel::<Vec<LaterEvent>>(BATCHES_IN_FLIGHT);
            let later = spawn_named("later".into(), move || {
                run_later(later, later_rx, output_tx)
            });
            spawn_named("back".into(), move || {
                let mut stage = SessionSide {
                    stage: sessions,
                    to_later: later_tx,
                    batch: Vec::with_capacity(BATCH),
                };
                run_back(&mut stage, &inputs, &mut digests);
                let SessionSide {
                    stage: sessions,
                    to_later,
                    ..
                } = stage;
                // Closing the queue lets the later stages finish.
                drop(to_later);
                let later = later
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (Back::from_stages(sessions, later), digests)
            })
        } else {
            spawn_named("back".into(), move || {
                let mut stage = WholeBack {
                    back,
                    out: move |item: Output| {
                        // The receiver lives as long as the analyzer; a send fails only while
                        // it is being dropped, when the outputs no longer matter.
                        let _ = output_tx.send(item);
                    },
                };
                run_back(&mut stage, &inputs, &mut digests);
                (stage.back, digests)
            })
        };
        Worker {
            hasher,
            batches,
            next: 0,
            handle: Some(handle),
            decoders: handles,
            batch: Vec::with_capacity(BATCH),
        }
    }

    /// Queues one event, sending the batch when it is full.
    fn push(&mut self, ev: BackEvent) {
        self.batch.push(ev);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // The digests of this batch's messages are asked for before the worker can wait.
        if let Some((_, queue)) = &self.hasher {
            queue.flush();
        }
        if let Some(batches) = self.batches.get(self.next) {
            // A closed channel means the worker or a decoder panicked; `join` reports it.
            let _ = batches.send(batch);
            self.next = (self.next + 1) % self.batches.len();
        }
    }

    /// Sends what is left, closes the queue (the worker then finishes the back half) and
    /// waits for the worker. A panic of the worker is resumed here.
    fn join(&mut self) -> (Back, Option<DigestResults>) {
        self.send();
        // Closing the queues lets the decoders and then the worker finish.
        self.batches.clear();
        for decoder in self.decoders.drain(..) {
            decoder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        let handle = self.handle.take().expect("the worker is joined once");
        let joined = handle.join();
        // A panic of the hashing thread shows as the worker's; its own is the one to report.
        if joined.is_err()
            && let Some((hasher, _)) = self.hasher.take()
            && hasher.is_finished()
            && let Err(panic) = hasher.join()
        {
            std::panic::resume_unwind(panic);
        }
        joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Hands on whatever the worker finished so far.
fn drain(outputs: &Receiver<Output>, out: &mut impl FnMut(Output)) {
    while let Ok(item) = outputs.try_recv() {
        out(item);
    }
}

/// Where the back half of a split analyzer runs.
enum BackSide {
    Worker(Worker),
    /// After `finish` joined the worker (with the answers of the hashing thread, if any).
    Joined(Box<Back>, Option<DigestResults>),
}

/// Hands one of the front half's HTTP events on: into the batch for the worker, or (after
/// `finish`) straight into the back half.
fn to_back(back: &mut BackSide, ev: HttpEvent, out: &mut impl FnMut(Output)) {
    match back {
        BackSide::Worker(worker) => worker.push(BackEvent::Http(ev, None)),
        BackSide::Joined(back, digests) => {
            let mut ev = ev;
            with_digest(&mut ev, digests);
            back.push(ev, out)
        }
    }
}

/// The front half on the caller's thread, the back half on a worker.
struct Split {
    front: Front,
    back: BackSide,
    outputs: Receiver<Output>,
    ticker: Ticker,
}

impl Split {
    fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.push(frame, &mut |ev| to_back(back, ev, out));
        if self.ticker.due(frame.ts) {
            self.advance(frame.ts, out);
        }
    }

    fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.advance(now, &mut |ev| to_back(back, ev, out));
        match &mut self.back {
            BackSide::Worker(worker) => {
                worker.push(BackEvent::Advance(now));
                worker.send();
                drain(&self.outputs, out);
            }
            BackSide::Joined(back, _) => back.advance(now, out),
        }
    }

    fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.finish(&mut |ev| to_back(back, ev, out));
        match &mut self.back {
            BackSide::Worker(worker) => {
                let (back, digests) = worker.join();
                drain(&self.outputs, out);
                self.back = BackSide::Joined(Box::new(back), digests);
            }
            BackSide::Joined(back, _) => back.finish(out),
        }
    }

    fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        let back = match &self.back {
            BackSide::Joined(back, _) => Some(&**back),
            // Counted by the worker: known once it is joined.
            BackSide::Worker(_) => None,
        };
        capture_summary_of(self.front.parts(), back, files, warnings)
    }
}

/// How the analyzer runs. There is one per run, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Mode {
    Inline(Pipeline),
    Split(Split),
    Sharded(Sharded),
}

/// The analysis core, on one thread or two: push frames, collect finished sessions,
/// transactions and findings.
pub struct Analyzer {
    mode: Mode,
}

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        let AnalyzerConfig { pipeline, threads } = cfg;
        let mode = if threads >= FRONT_SHARDS_FROM {
            Mode::Sharded(Sharded::new(
                pipeline,
                threads - FRONT_SHARDS_FROM + 1,
                SHARDED_DECODERS,
            ))
        } else if threads > 1 {
            let mut pipeline = pipeline;
            let back = Back::with_config(&pipeline);
            let (digests, hasher) = if threads > 2 {
                let (queue, results, hasher) = spawn_hasher();
                pipeline.http.digests = Some(queue.clone());
                (Some(results), Some((hasher, queue)))
            } else {
                (None, None)
            };
            let (output_tx, outputs) = std::sync::mpsc::channel();
            Mode::Split(Split {
                front: Front::new(&pipeline),
                back: BackSide::Worker(Worker::spawn(
                    back,
                    threads - 2,
                    false,
                    digests,
                    hasher,
                    output_tx,
                )),
                outputs,
                ticker: Ticker::default(),
            })
        } else {
            Mode::Inline(Pipeline::new(pipeline))
        };
        Analyzer { mode }
    }

    /// Feeds one frame; what finished because of it (or of the time it carries) goes to `out`
    /// (with a worker thread, possibly a little later: at a following call).
    pub fn push(&mut self, frame: &Frame<'_>, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.push(frame, out),
            Mode::Split(s) => s.push(frame, out),
            Mode::Sharded(s) => s.push(frame, out),
        }
    }

    /// Capture time moved on: releases idle connections and finishes waiting sessions.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.advance(now, out),
            Mode::Split(s) => s.advance(now, out),
            Mode::Sharded(s) => s.advance(now, out),
        }
    }

    /// Hands the worker whatever the front half has batched and hands on what the worker
    /// finished so far, without moving the clock (for a quiet source: what the last frames
    /// completed is reported without waiting for more of them). When they are wanted
    /// (`open_every`), the sessions open now follow (with a worker: at a following call).
    pub fn flush(&mut self, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.report_open(out),
            Mode::Split(Split {
                back: BackSide::Worker(worker),
                outputs,
                ..
            }) => {
                worker.push(BackEvent::ReportOpen);
                worker.send();
                drain(outputs, out);
            }
            Mode::Split(Split {
                back: BackSide::Joined(back, _),
                ..
            }) => back.report_open(out),
            Mode::Sharded(s) => s.flush(out),
        }
    }

    /// End of input: every open connection and session is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.finish(out),
            Mode::Split(s) => s.finish(out),
            Mode::Sharded(s) => s.finish(out),
        }
    }

    /// Key log text found in the capture (a pcapng Decryption Secrets Block), for the TLS
    /// connections that follow.
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        match &mut self.mode {
            Mode::Inline(p) => p.add_embedded_keylog(text),
            Mode::Split(s) => s.front.add_embedded_keylog(text),
            Mode::Sharded(s) => s.add_embedded_keylog(text),
        }
    }

    pub fn counters(&self) -> &Counters {
        match &self.mode {
            Mode::Inline(p) => p.counters(),
            Mode::Split(s) => s.front.counters(),
            Mode::Sharded(s) => s.counters(),
        }
    }

    /// The `capture` part of the report, as of now (complete after `finish`).
    pub fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        match &self.mode {
            Mode::Inline(p) => p.capture_summary(files, warnings),
            Mode::Split(s) => s.capture_summary(files, warnings),
            Mode::Sharded(s) => s.capture_summary(files, warnings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    /// A frame kept after the reader moved on.
    struct OwnedFrame {
        frame: crate::types::FrameRef,
        ts: Nanos,
        link: crate::types::LinkType,
        orig_len: u32,
        data: Vec<u8>,
    }

    impl OwnedFrame {
        fn of(f: &Frame<'_>) -> OwnedFrame {
            OwnedFrame {
                frame: f.frame,
                ts: f.ts,
                link: f.link,
                orig_len: f.orig_len,
                data: f.data.to_vec(),
            }
        }

        fn as_frame(&self) -> Frame<'_> {
            Frame {
                frame: self.frame,
                ts: self.ts,
                link: self.link,
                orig_len: self.orig_len,
                data: &self.data,
            }
        }
    }

    /// The bytes of the shipped reference capture.
    fn reference_capture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/captures/reference-config-update.pcap"
        );
        std::fs::read(path).expect("reference capture")
    }

    #[test]
    fn the_split_analyzer_gives_what_the_pipeline_gives() {
        let bytes = reference_capture();
        let mut reader =
            CaptureReader::from_reader("ref", Box::new(std::io::Cursor::new(bytes.clone())), 0)
                .unwrap();
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            frames.push(OwnedFrame::of(&frame));
        }
        let mut pipeline = Pipeline::new(PipelineConfig::default());
        let mut inline = Vec::new();
        for f in &frames {
            pipeline.push(&f.as_frame(), &mut |o| inline.push(format!("{o:?}")));
        }
        pipeline.finish(&mut |o| inline.push(format!("{o:?}")));
        assert!(inline.iter().any(|o| o.starts_with("Transaction")));
        let summary = pipeline.capture_summary(vec!["ref".into()], Vec::new());
        assert!(summary.http_messages > 0);
        // The back half on a worker, then with one and two decoder threads, then the front
        // half split in one, two and three shards.
        for threads in [2, 3, 4, 5, 6, 7] {
            let mut analyzer = Analyzer::new(AnalyzerConfig {
                threads,
                ..AnalyzerConfig::default()
            });
            let mut split = Vec::new();
            for f in &frames {
                analyzer.push(&f.as_frame(), &mut |o| split.push(format!("{o:?}")));
            }
            analyzer.finish(&mut |o| split.push(format!("{o:?}")));
            assert_eq!(inline, split, "{threads} threads");
            assert_eq!(
                format!("{summary:?}"),
                format!(
                    "{:?}",
                    analyzer.capture_summary(vec!["ref".into()], Vec::new())
                ),
                "{threads} threads"
            );
        }
        assert_open_sessions_end_later(&bytes);
    }

    /// With `open_every`, the open sessions come out as they stand (at the capture clock's
    /// ticks and whenever the shell flushes a quiet source), each reported again when it ends;
    /// the other outputs are those of a run without.
    fn assert_open_sessions_end_later(bytes: &[u8]) {
        let run = |open_every: Option<Nanos>, threads: usize| {
            let mut reader = CaptureReader::from_reader(
                "ref",
                Box::new(std::io::Cursor::new(bytes.to_vec())),
                0,
            )
            .unwrap();
            let mut cfg = AnalyzerConfig::default();
            cfg.pipeline.open_every = open_every;
            cfg.threads = threads;
            let mut analyzer = Analyzer::new(cfg);
            let mut got = Vec::new();
            let mut frames = 0;
            while let Some(frame) = reader.next_frame().unwrap() {
                analyzer.push(&frame, &mut |o| got.push(o));
                frames += 1;
                // A quiet source in the middle of the first session.
                if frames == 8 {
                    analyzer.flush(&mut |o| got.push(o));
                }
            }
            analyzer.finish(&mut |o| got.push(o));
            got
        };
        let plain: Vec<String> = run(None, 1).iter().map(|o| format!("{o:?}")).collect();
        for threads in [1, 2, 3, 6] {
            let with_open = run(Some(1_000_000_000), threads);
            let mut seen_open = Vec::new();
            let mut ended = Vec::new();
            for o in &with_open {
                match o {
                    Output::Open(sessions) => {
                        for s in sessions {
                            assert!(
                                !ended.contains(&s.number),
                                "s{} open after it ended",
                                s.number
                            );
                            seen_open.push(s.number);
                        }
                    }
                    Output::Session(s) => ended.push(s.number),
                    _ => {}
                }
            }
            assert!(
                seen_open.contains(&1),
                "the first session was not seen open"
            );
            assert!(seen_open.iter().all(|n| ended.contains(n)));
            assert!(matches!(with_open.last(), Some(Output::Open(s)) if s.is_empty()));
            let rest: Vec<String> = with_open
                .iter()
                .filter(|o| !matches!(o, Output::Open(_)))
                .map(|o| format!("{o:?}"))
                .collect();
            assert_eq!(plain, rest);
        }
    }

    /// The back half's two stages apart ([`Back::into_stages`]).
    mod stages {
        use super::super::{BackStage, SessionSide, WholeBack};
        use crate::capture::CaptureReader;
        use crate::findings::Output;
        use crate::http::HttpEvent;
        use crate::pipeline::{Back, Front, PipelineConfig};
        use crate::types::Nanos;
        use std::sync::mpsc::sync_channel;

        /// What the front half hands the back half, clock included.
        #[allow(clippy::large_enum_variant)]
        enum ToBack {
            Http(HttpEvent),
            Advance(Nanos),
            ReportOpen,
        }

        fn front_events(bytes: &[u8]) -> Vec<ToBack> {
            let mut reader = CaptureReader::from_reader(
                "ref",
                Box::new(std::io::Cursor::new(bytes.to_vec())),
                0,
            )
            .unwrap();
            let mut front = Front::new(&PipelineConfig::default());
            let mut events = Vec::new();
            let mut frames = 0;
            while let Some(frame) = reader.next_frame().unwrap() {
                front.push(&frame, &mut |ev| events.push(ToBack::Http(ev)));
                frames += 1;
                if frames % 5 == 0 {
                    front.advance(frame.ts, &mut |ev| events.push(ToBack::Http(ev)));
                    events.push(ToBack::Advance(frame.ts));
                }
                if frames % 7 == 0 {
                    events.push(ToBack::ReportOpen);
                }
            }
            front.finish(&mut |ev| events.push(ToBack::Http(ev)));
            events
        }

        /// The back half's two stages run one after the other (every event of the first, then the
        /// second over what it handed on) give the whole back half's outputs, open sessions
        /// included.
        #[test]
        fn the_stages_apart_give_the_whole_back_half() {
            let bytes = super::reference_capture();
            let cfg = PipelineConfig {
                open_every: Some(1_000_000_000),
                ..PipelineConfig::default()
            };
            /// Every event to `stage`, then the end of input.
            fn drive(bytes: &[u8], stage: &mut impl BackStage) {
                for ev in front_events(bytes) {
                    match ev {
                        ToBack::Http(ev) => stage.push(ev, None),
                        ToBack::Advance(now) => stage.advance(now),
                        ToBack::ReportOpen => stage.report_open(),
                    }
                }
                stage.finish();
            }
            let mut expected = Vec::new();
            let mut whole = WholeBack {
                back: Back::with_config(&cfg),
                out: |o: Output| expected.push(format!("{o:?}")),
            };
            drive(&bytes, &mut whole);
            let whole = whole.back;
            assert!(expected.iter().any(|o| o.starts_with("Transaction")));
            assert!(expected.iter().any(|o| o.starts_with("Open([Session")));

            // The session stage's batches, kept until the later stages run over them.
            let (sessions, mut later) = Back::with_config(&cfg).into_stages();
            let (to_later, handed) = sync_channel(64);
            let mut side = SessionSide {
                stage: sessions,
                to_later,
                batch: Vec::new(),
            };
            drive(&bytes, &mut side);
            let SessionSide {
                stage: sessions,
                to_later,
                ..
            } = side;
            drop(to_later);
            let mut apart = Vec::new();
            for ev in handed.into_iter().flatten() {
                later.push(ev, &mut |o| apart.push(format!("{o:?}")));
            }
            assert_eq!(expected, apart);
            let joined = Back::from_stages(sessions, later);
            assert_eq!(
                format!("{:?}", whole.limits_hit()),
                format!("{:?}", joined.limits_hit())
            );
            assert_eq!(whole.http_messages(), joined.http_messages());
        }
    }
}
