//! The core on two threads: the [`Analyzer`] the command line and `live` run. With
//! `threads = 1` it is the synchronous [`Pipeline`]; with more, the pipeline's front half
//! ([`Front`]: frames to HTTP events) stays on the caller's thread and its back half ([`Back`]:
//! HTTP events to outputs) runs on a worker thread, fed by a bounded queue of batches of HTTP
//! events, its outputs drained back at each tick. Both give the same outputs in the same order.

use crate::findings::Output;
use crate::http::HttpEvent;
use crate::pipeline::{Back, Counters, Front, Pipeline, PipelineConfig, Ticker};
use crate::report::{CaptureSummary, Counts};
use crate::types::{Frame, Nanos};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Settings of every stage, and how many threads run them.
#[derive(Clone, Debug)]
pub struct AnalyzerConfig {
    pub pipeline: PipelineConfig,
    /// 1: everything on the caller's thread; 2 or more: the back half on a worker thread.
    pub threads: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            pipeline: PipelineConfig::default(),
            threads: 2,
        }
    }
}

/// HTTP events handed to the worker at once, and batches in flight.
const BATCH: usize = 256;
const BATCHES_IN_FLIGHT: usize = 8;

/// What the worker thread receives: the front half's HTTP events (they own their data), and
/// the capture clock.
#[allow(clippy::large_enum_variant)]
enum BackEvent {
    Http(HttpEvent),
    /// Capture time moved on.
    Advance(Nanos),
    /// Hand on the sessions open now.
    ReportOpen,
}

/// The back half on a worker thread.
struct Worker {
    /// The queue to the worker; `None` once closed by [`Worker::join`].
    batches: Option<SyncSender<Vec<BackEvent>>>,
    outputs: Receiver<Output>,
    /// `None` once joined.
    handle: Option<JoinHandle<Back>>,
    /// Events not yet sent.
    batch: Vec<BackEvent>,
}

impl Worker {
    fn spawn(mut back: Back) -> Worker {
        let (batches, batch_rx) = sync_channel::<Vec<BackEvent>>(BATCHES_IN_FLIGHT);
        let (output_tx, outputs) = std::sync::mpsc::channel::<Output>();
        let handle = std::thread::spawn(move || {
            let mut out = |item: Output| {
                // The receiver lives as long as the analyzer; a send fails only while it is
                // being dropped, when the outputs no longer matter.
                let _ = output_tx.send(item);
            };
            for batch in batch_rx {
                for ev in batch {
                    match ev {
                        BackEvent::Http(ev) => back.push(ev, &mut out),
                        BackEvent::Advance(now) => back.advance(now, &mut out),
                        BackEvent::ReportOpen => back.report_open(&mut out),
                    }
                }
            }
            back.finish(&mut out);
            back
        });
        Worker {
            batches: Some(batches),
            outputs,
            handle: Some(handle),
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
        if let Some(batches) = &self.batches {
            // A closed channel means the worker panicked; `join` reports it.
            let _ = batches.send(batch);
        }
    }

    /// Hands on whatever the worker finished so far.
    fn drain(&self, out: &mut impl FnMut(Output)) {
        while let Ok(item) = self.outputs.try_recv() {
            out(item);
        }
    }

    /// Sends what is left, closes the queue (the worker then finishes the back half), waits
    /// for the worker and hands on its last outputs. A panic of the worker is resumed here.
    fn join(&mut self, out: &mut impl FnMut(Output)) -> Back {
        self.send();
        // Closing the queue lets the worker finish.
        self.batches = None;
        let handle = self.handle.take().expect("the worker is joined once");
        let back = handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        self.drain(out);
        back
    }
}

/// Where the back half of a split analyzer runs.
enum BackSide {
    Worker(Worker),
    /// After `finish` joined the worker.
    Joined(Box<Back>),
}

/// Hands one of the front half's HTTP events on: into the batch for the worker, or (after
/// `finish`) straight into the back half.
fn to_back(back: &mut BackSide, ev: HttpEvent, out: &mut impl FnMut(Output)) {
    match back {
        BackSide::Worker(worker) => worker.push(BackEvent::Http(ev)),
        BackSide::Joined(back) => back.push(ev, out),
    }
}

/// The front half on the caller's thread, the back half on a worker.
struct Split {
    front: Front,
    back: BackSide,
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
                worker.drain(out);
            }
            BackSide::Joined(back) => back.advance(now, out),
        }
    }

    fn finish(&mut self, out: &mut impl FnMut(Output)) {
        let back = &mut self.back;
        self.front.finish(&mut |ev| to_back(back, ev, out));
        match &mut self.back {
            BackSide::Worker(worker) => {
                let back = worker.join(out);
                self.back = BackSide::Joined(Box::new(back));
            }
            BackSide::Joined(back) => back.finish(out),
        }
    }

    fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        let (http_messages, other_tls_connections, tls, back_limits) = match &self.back {
            BackSide::Joined(back) => (
                back.http_messages(),
                back.other_tls_connections(),
                back.tls_counts(),
                back.limits_hit(),
            ),
            // Counted by the worker: known once it is joined.
            BackSide::Worker(_) => (0, 0, Default::default(), Default::default()),
        };
        let mut summary = self.front.capture_summary(files, warnings, http_messages);
        summary.other_tls_connections = other_tls_connections;
        summary.tls = tls;
        let mut limits = self.front.limits_hit();
        limits.merge(&back_limits);
        summary.limits_hit = Counts::of_limits(&limits);
        summary
    }
}

/// How the analyzer runs. There is one per run, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Mode {
    Inline(Pipeline),
    Split(Split),
}

/// The analysis core, on one thread or two: push frames, collect finished sessions,
/// transactions and findings.
pub struct Analyzer {
    mode: Mode,
}

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        let AnalyzerConfig { pipeline, threads } = cfg;
        let mode = if threads > 1 {
            let back = Back::with_config(&pipeline);
            Mode::Split(Split {
                front: Front::new(&pipeline),
                back: BackSide::Worker(Worker::spawn(back)),
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
        }
    }

    /// Capture time moved on: releases idle connections and finishes waiting sessions.
    pub fn advance(&mut self, now: Nanos, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.advance(now, out),
            Mode::Split(s) => s.advance(now, out),
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
                ..
            }) => {
                worker.push(BackEvent::ReportOpen);
                worker.send();
                worker.drain(out);
            }
            Mode::Split(Split {
                back: BackSide::Joined(back),
                ..
            }) => back.report_open(out),
        }
    }

    /// End of input: every open connection and session is finished.
    pub fn finish(&mut self, out: &mut impl FnMut(Output)) {
        match &mut self.mode {
            Mode::Inline(p) => p.finish(out),
            Mode::Split(s) => s.finish(out),
        }
    }

    /// Key log text found in the capture (a pcapng Decryption Secrets Block), for the TLS
    /// connections that follow.
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        match &mut self.mode {
            Mode::Inline(p) => p.add_embedded_keylog(text),
            Mode::Split(s) => s.front.add_embedded_keylog(text),
        }
    }

    pub fn counters(&self) -> &Counters {
        match &self.mode {
            Mode::Inline(p) => p.counters(),
            Mode::Split(s) => s.front.counters(),
        }
    }

    /// The `capture` part of the report, as of now (complete after `finish`).
    pub fn capture_summary(&self, files: Vec<String>, warnings: Vec<String>) -> CaptureSummary {
        match &self.mode {
            Mode::Inline(p) => p.capture_summary(files, warnings),
            Mode::Split(s) => s.capture_summary(files, warnings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    #[test]
    fn the_split_analyzer_gives_what_the_pipeline_gives() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/captures/reference-config-update.pcap"
        );
        let bytes = std::fs::read(path).expect("reference capture");
        let mut reader =
            CaptureReader::from_reader("ref", Box::new(std::io::Cursor::new(bytes.clone())), 0)
                .unwrap();
        let mut pipeline = Pipeline::new(PipelineConfig::default());
        let mut analyzer = Analyzer::new(AnalyzerConfig::default());
        let (mut inline, mut split) = (Vec::new(), Vec::new());
        while let Some(frame) = reader.next_frame().unwrap() {
            pipeline.push(&frame, &mut |o| inline.push(format!("{o:?}")));
            analyzer.push(&frame, &mut |o| split.push(format!("{o:?}")));
        }
        pipeline.finish(&mut |o| inline.push(format!("{o:?}")));
        analyzer.finish(&mut |o| split.push(format!("{o:?}")));
        assert!(inline.iter().any(|o| o.starts_with("Transaction")));
        assert_eq!(inline, split);

        let summary = pipeline.capture_summary(vec!["ref".into()], Vec::new());
        assert_open_sessions_end_later(&bytes);
        assert!(summary.http_messages > 0);
        assert_eq!(
            format!("{summary:?}"),
            format!(
                "{:?}",
                analyzer.capture_summary(vec!["ref".into()], Vec::new())
            )
        );
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
        for threads in [1, 2] {
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
}
