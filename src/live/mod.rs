//! Analysis that keeps up with a source that never ends on its own: a pipe (`tcpdump -w - |
//! cwmpscope analyze -r -`) or a live capture (`cwmpscope live -i IFACE`, feature `live`).
//!
//! The source is read on its own thread and its frames cross a bounded queue in batches
//! ([`queue`]); the analysis thread runs the analyzer and, whenever the queue is quiet, hands
//! on what the frames so far completed and (for a live source, after a second) moves the
//! capture clock on by the wall time elapsed since the last frame, so sessions that ended are
//! reported without waiting for more traffic. SIGINT and SIGTERM stop
//! the reading; what was read is then analyzed and reported.

pub mod queue;
pub mod source;

#[cfg(feature = "live")]
pub mod libpcap;

use crate::capture::{InputError, InputWarning, MergedReader};
use crate::findings::Output;
use crate::threads::Analyzer;
use crate::types::Nanos;
use queue::{BatchReceiver, BatchSender, Disconnected};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Batches in flight between the reading thread and the analysis thread (a pipe or file).
pub const QUEUE_DEPTH: usize = 32;
/// Batches in flight for live capture: a burst of up to this many megabytes is absorbed.
pub const LIVE_QUEUE_DEPTH: usize = 128;

/// When and how the analysis thread moves the clock on by itself.
#[derive(Clone, Debug)]
pub struct PumpConfig {
    /// Quiet time after which the clock is moved on (and again after each further such
    /// period).
    pub idle_after: Duration,
    /// How often the analysis thread wakes up to look at the stop flag.
    pub poll: Duration,
    /// The clock is moved by wall time only when the frames' timestamps are this close to the
    /// wall clock when they arrive (a live source). A saved capture piped in keeps its own
    /// clock, so it is analyzed exactly as from the file.
    pub live_tolerance: Nanos,
}

impl Default for PumpConfig {
    fn default() -> Self {
        PumpConfig {
            idle_after: Duration::from_secs(1),
            poll: Duration::from_millis(100),
            live_tolerance: 60 * 1_000_000_000,
        }
    }
}

/// Why [`pump`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// The reader finished and every frame it handed over was analyzed.
    Exhausted,
    /// `stop` said so; the frames already queued were analyzed.
    Stopped,
}

/// The wall clock, in capture-time units.
pub fn wall_now() -> Nanos {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| Nanos::try_from(d.as_nanos()).unwrap_or(Nanos::MAX))
        .unwrap_or(0)
}

/// Feeds the analyzer from the queue until the reader finishes or `stop()` turns true, moving
/// the clock on while the source is quiet (see [`PumpConfig`]). Does not call
/// `Analyzer::finish`.
pub fn pump(
    rx: &BatchReceiver,
    analyzer: &mut Analyzer,
    out: &mut impl FnMut(Output),
    cfg: &PumpConfig,
    stop: &dyn Fn() -> bool,
) -> PumpEnd {
    let mut clock = IdleClock::default();
    loop {
        if stop() {
            // Whatever is queued already was read: analyze it.
            while let Ok(batch) = rx.try_recv() {
                clock.feed(&batch, analyzer, out);
                rx.recycle(batch);
            }
            return PumpEnd::Stopped;
        }
        match rx.recv_timeout(cfg.poll) {
            Ok(batch) => {
                clock.feed(&batch, analyzer, out);
                rx.recycle(batch);
            }
            Err(RecvTimeoutError::Timeout) => clock.on_idle(analyzer, out, cfg),
            Err(RecvTimeoutError::Disconnected) => return PumpEnd::Exhausted,
        }
    }
}

/// The analysis thread's view of time: the newest frame, when it arrived, and whether the
/// frames follow the wall clock.
///
/// While the queue is quiet, at every poll: the first time, the stages' timers run at the
/// newest frame's time (the ticker runs them only when a frame comes, and no frame is
/// coming); each time, what the worker thread finished is handed on. So a session (or
/// transaction) that the last frames completed is reported within a poll or two, whatever
/// the source. For a live source (frames stamped near the wall clock), the clock is also moved
/// on by the wall time elapsed, after each `idle_after` of quiet, so that sessions waiting on
/// a timer are reported too; a saved capture piped in keeps its own clock.
#[derive(Debug, Default)]
struct IdleClock {
    last_ts: Option<Nanos>,
    /// When the newest batch arrived, and the wall clock then.
    arrived: Option<(Instant, Nanos)>,
    /// Whether the timers ran at `last_ts` since the newest batch.
    settled: bool,
    /// When the clock was last moved on by wall time while idle.
    moved: Option<Instant>,
}

impl IdleClock {
    fn feed(
        &mut self,
        batch: &queue::FrameBatch,
        analyzer: &mut Analyzer,
        out: &mut impl FnMut(Output),
    ) {
        if !batch.keylog().is_empty() {
            analyzer.add_embedded_keylog(batch.keylog());
        }
        for frame in batch.frames() {
            analyzer.push(&frame, out);
            self.last_ts = Some(self.last_ts.map_or(frame.ts, |t| t.max(frame.ts)));
        }
        self.arrived = Some((Instant::now(), wall_now()));
        self.settled = false;
        self.moved = None;
    }

    fn on_idle(&mut self, analyzer: &mut Analyzer, out: &mut impl FnMut(Output), cfg: &PumpConfig) {
        let (Some(last_ts), Some((arrived, wall_then))) = (self.last_ts, self.arrived) else {
            return;
        };
        if !self.settled {
            // No frame comes to run the timers due by the newest frame: run them now.
            analyzer.advance(last_ts, out);
            self.settled = true;
        }
        let live = last_ts.abs_diff(wall_then) <= cfg.live_tolerance.unsigned_abs();
        if live && self.moved.unwrap_or(arrived).elapsed() >= cfg.idle_after {
            let elapsed = Nanos::try_from(arrived.elapsed().as_nanos()).unwrap_or(Nanos::MAX);
            analyzer.advance(last_ts.saturating_add(elapsed), out);
            self.moved = Some(Instant::now());
        }
        // With a worker thread, what it finished since is handed on at the next poll.
        analyzer.flush(out);
    }
}

/// A stop flag set by SIGINT or SIGTERM (a second signal ends the process at once).
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag nothing sets but [`StopFlag::set`].
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// A flag set by SIGINT and SIGTERM.
    pub fn on_signals() -> io::Result<StopFlag> {
        use signal_hook::consts::signal::{SIGINT, SIGTERM};
        let flag = StopFlag::new();
        for signal in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag.0))?;
            signal_hook::flag::register(signal, Arc::clone(&flag.0))?;
        }
        Ok(flag)
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Asks for a stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A batch sender shared by the reading loop and the byte source underneath it.
pub type SharedSender = Arc<Mutex<BatchSender>>;

fn lock(sender: &SharedSender) -> MutexGuard<'_, BatchSender> {
    sender
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A byte source that hands the frames decoded so far to the analysis before each read, since
/// a read may wait for a long time on a quiet pipe.
pub struct FlushBeforeRead<R> {
    inner: R,
    sender: SharedSender,
}

impl<R> FlushBeforeRead<R> {
    /// Wraps `inner`; `sender` is the one the reading loop pushes frames to.
    pub fn new(inner: R, sender: SharedSender) -> Self {
        FlushBeforeRead { inner, sender }
    }
}

impl<R: Read> Read for FlushBeforeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if lock(&self.sender).flush().is_err() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the analysis stopped",
            ));
        }
        self.inner.read(buf)
    }
}

/// What the reading thread leaves behind.
#[derive(Debug, Default)]
pub struct ReaderEnd {
    /// Non-fatal problems of the inputs.
    pub warnings: Vec<InputWarning>,
    /// The error that ended the reading early, if any.
    pub error: Option<InputError>,
}

/// Reads every frame of `reader` on a new thread and hands them over through `sender`; the
/// thread ends (dropping the sender) at the end of input, on an input error, or when the
/// analysis side is gone.
pub fn spawn_reader(
    mut reader: MergedReader,
    sender: SharedSender,
) -> io::Result<JoinHandle<ReaderEnd>> {
    std::thread::Builder::new()
        .name("cwmpscope-reader".into())
        .spawn(move || {
            let mut error = None;
            loop {
                // Decryption Secrets Blocks read so far go ahead of the frames after them.
                if let Some(text) = reader.take_tls_keylog() {
                    lock(&sender).push_keylog(&text);
                }
                match reader.next_frame() {
                    Ok(Some(frame)) => {
                        if lock(&sender).push(&frame) == Err(Disconnected) {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let _ = lock(&sender).flush();
            ReaderEnd {
                warnings: reader.warnings(),
                error,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::queue::{Overflow, frame_queue};
    use super::*;
    use crate::capture::CaptureReader;
    use crate::threads::AnalyzerConfig;

    fn reference() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/captures/reference-config-update.pcap"
        ))
        .expect("reference capture")
    }

    fn outputs_of(read: impl FnOnce(&mut Analyzer, &mut dyn FnMut(Output))) -> Vec<String> {
        let mut analyzer = Analyzer::new(AnalyzerConfig::default());
        let mut got = Vec::new();
        let mut out = |o: Output| {
            got.push(match o {
                Output::Session(s) => format!("session {:?} {}", s.termination, s.messages.len()),
                Output::Transaction(t) => format!("transaction {} {:?}", t.command_key, t.outcome),
                Output::Finding(f, _) => format!("finding {}", f.code),
                Output::Open(s) => format!("open {}", s.len()),
                Output::Position(p) => format!("position {:?}", p.order),
            })
        };
        read(&mut analyzer, &mut out);
        analyzer.finish(&mut out);
        got
    }

    #[test]
    fn the_threaded_path_gives_what_the_direct_path_gives() {
        let bytes = reference();
        let direct = outputs_of(|analyzer, out| {
            let mut reader =
                CaptureReader::from_reader("ref", Box::new(io::Cursor::new(bytes.clone())), 0)
                    .unwrap();
            while let Some(frame) = reader.next_frame().unwrap() {
                analyzer.push(&frame, &mut |o| out(o));
            }
        });
        let threaded = outputs_of(|analyzer, out| {
            let (tx, rx) = frame_queue(2, Overflow::Block);
            let sender: SharedSender = Arc::new(Mutex::new(tx));
            let source = FlushBeforeRead::new(io::Cursor::new(bytes.clone()), Arc::clone(&sender));
            let reader = CaptureReader::from_reader("ref", Box::new(source), 0).unwrap();
            let handle = spawn_reader(MergedReader::new(vec![reader]).unwrap(), sender).unwrap();
            let mut out = |o: Output| out(o);
            let end = pump(&rx, analyzer, &mut out, &PumpConfig::default(), &|| false);
            assert_eq!(end, PumpEnd::Exhausted);
            let reader_end = handle.join().unwrap();
            assert!(reader_end.error.is_none());
        });
        assert!(direct.iter().any(|o| o.starts_with("transaction")));
        assert_eq!(direct, threaded);
    }

    /// A source that delivers its bytes in two parts with a pause between them.
    struct Paused {
        parts: Vec<Vec<u8>>,
        pause: Duration,
        at: usize,
    }

    impl Read for Paused {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            loop {
                let Some(part) = self.parts.get_mut(self.at) else {
                    return Ok(0);
                };
                if part.is_empty() {
                    self.at += 1;
                    if self.at < self.parts.len() {
                        std::thread::sleep(self.pause);
                    }
                    continue;
                }
                let n = part.len().min(buf.len());
                buf[..n].copy_from_slice(&part[..n]);
                part.drain(..n);
                return Ok(n);
            }
        }
    }

    /// The reference capture (classic pcap, microseconds) with its timestamps moved so that its
    /// last frame is `now`, cut after `first_frames` frames.
    fn live_like(bytes: &[u8], first_frames: usize) -> (Vec<u8>, Vec<u8>) {
        let mut records = Vec::new();
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            records.push(at..at + 16 + caplen);
            at += 16 + caplen;
        }
        let ts = |r: &std::ops::Range<usize>| {
            let s = u32::from_le_bytes(bytes[r.start..r.start + 4].try_into().unwrap());
            let us = u32::from_le_bytes(bytes[r.start + 4..r.start + 8].try_into().unwrap());
            i64::from(s) * 1_000_000 + i64::from(us)
        };
        let last = ts(records.last().unwrap());
        let shift = wall_now() / 1000 - last;
        let mut out = bytes[..24].to_vec();
        let mut split = 0;
        for (i, r) in records.iter().enumerate() {
            if i == first_frames {
                split = out.len();
            }
            let t = ts(r) + shift;
            out.extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&bytes[r.start + 8..r.end]);
        }
        let rest = out.split_off(split);
        (out, rest)
    }

    #[test]
    fn a_quiet_live_source_still_gets_its_finished_sessions_reported() {
        let bytes = reference();
        assert_eq!(
            u32::from_le_bytes(bytes[..4].try_into().unwrap()),
            0xa1b2c3d4
        );
        // Up to the end of the first session's connection (frame 17 is before the fetch).
        let (first, rest) = live_like(&bytes, 17);
        let (tx, rx) = frame_queue(2, Overflow::Block);
        let sender: SharedSender = Arc::new(Mutex::new(tx));
        let pause = Duration::from_millis(2500);
        let source = FlushBeforeRead::new(
            Paused {
                parts: vec![first, rest],
                pause,
                at: 0,
            },
            Arc::clone(&sender),
        );
        let reader = CaptureReader::from_reader("-", Box::new(source), 0).unwrap();
        let handle = spawn_reader(MergedReader::new(vec![reader]).unwrap(), sender).unwrap();
        let started = Instant::now();
        // A closed connection lingers, then its session waits for a continuation before it is
        // reported: together shorter than the pause.
        let mut config = AnalyzerConfig::default();
        config.pipeline.reassembly.close_linger = 400_000_000;
        config.pipeline.session.continuation_wait = 400_000_000;
        let mut analyzer = Analyzer::new(config);
        let mut first_session_at = None;
        let mut out = |o: Output| {
            if matches!(o, Output::Session(_)) && first_session_at.is_none() {
                first_session_at = Some(started.elapsed());
            }
        };
        let cfg = PumpConfig {
            idle_after: Duration::from_millis(300),
            ..PumpConfig::default()
        };
        assert_eq!(
            pump(&rx, &mut analyzer, &mut out, &cfg, &|| false),
            PumpEnd::Exhausted
        );
        handle.join().unwrap();
        let at = first_session_at.expect("a session was reported");
        assert!(
            at < pause,
            "first session reported after {at:?}, not during the pause"
        );
    }

    #[test]
    fn a_stop_ends_the_pump_even_while_the_reader_waits() {
        let (tx, rx) = frame_queue(2, Overflow::Block);
        let mut analyzer = Analyzer::new(AnalyzerConfig::default());
        let stop = StopFlag::new();
        let setter = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            setter.set();
        });
        let started = Instant::now();
        let end = pump(
            &rx,
            &mut analyzer,
            &mut |_| {},
            &PumpConfig::default(),
            &|| stop.is_set(),
        );
        assert_eq!(end, PumpEnd::Stopped);
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(tx);
    }
}
