//! A source read on a thread of its own and analyzed as it arrives, whatever it is: capture
//! files and stdin (the reading thread of [`spawn_reader`], stdin flushed before each read) or
//! an interface (feature `live`: the capture thread, dropping when the analysis falls behind).
//! `analyze -r -`, `live` and `tui` all read through it: the same queue, the same idle clock
//! (see [`pump`]), the same end-of-input warnings; [`Progress`] tells another thread how far
//! the reading got.

use super::queue::{BatchReceiver, Overflow, QueueCounts, frame_queue};
use super::{
    FlushBeforeRead, PumpConfig, PumpEnd, QUEUE_DEPTH, ReaderEnd, SharedSender, pump, spawn_reader,
};
use crate::capture::{CaptureReader, InputError, InputSpec, InputWarning, MergedReader};
use crate::findings::Output;
use crate::threads::Analyzer;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The text of a warning about an input, as reported.
pub fn warning_text(w: &InputWarning) -> String {
    match w {
        InputWarning::Cut { path, frames } => format!(
            "{path}: cut short in the middle of a packet; the {frames} frames before the cut were analyzed"
        ),
    }
}

/// How far the reading got, readable from any thread.
#[derive(Clone)]
pub struct Progress {
    queue: QueueCounts,
    /// Bytes read of the files (stdin not counted), and their total size.
    bytes_read: Arc<AtomicU64>,
    bytes_total: u64,
    /// Whether stdin is among the inputs (its size is unknown).
    stdin: bool,
    /// libpcap's kernel drops so far; `None` for files and pipes.
    kernel_dropped: Option<Arc<AtomicU64>>,
}

impl Progress {
    /// Packets read (captured, for an interface), including those dropped by cwmpscope.
    pub fn packets(&self) -> u64 {
        self.queue.queued() + self.queue.dropped()
    }

    /// Packets dropped because the analysis fell behind (only a live capture drops).
    pub fn queue_dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// Packets dropped by the kernel (live capture only).
    pub fn kernel_dropped(&self) -> Option<u64> {
        self.kernel_dropped
            .as_ref()
            .map(|k| k.load(Ordering::Relaxed))
    }

    /// Bytes of the files read, and their total, when every input is a file of known size.
    pub fn bytes(&self) -> Option<(u64, u64)> {
        if self.stdin || self.kernel_dropped.is_some() || self.bytes_total == 0 {
            return None;
        }
        let read = self
            .bytes_read
            .load(Ordering::Relaxed)
            .min(self.bytes_total);
        Some((read, self.bytes_total))
    }
}

/// A byte source that counts what is read from it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What feeds the queue.
enum Feeder {
    Reader(JoinHandle<ReaderEnd>),
    #[cfg(feature = "live")]
    Live {
        breaker: super::libpcap::Breaker,
        handle: JoinHandle<super::libpcap::LiveStats>,
        interface: String,
    },
}

/// How the reading ended.
#[derive(Debug, Default)]
pub struct SourceEnd {
    /// Warnings for the report (cut files, read errors, drops, an interrupted read).
    pub warnings: Vec<String>,
    /// A live capture's statistics line (packets captured, dropped where).
    pub stats: Option<String>,
    /// The reading was stopped before its input ended.
    pub stopped: bool,
}

/// A source being read on its own thread.
pub struct Source {
    /// The inputs' names, for the report.
    pub files: Vec<String>,
    rx: BatchReceiver,
    feeder: Feeder,
    progress: Progress,
}

impl Source {
    /// Starts reading `names` (files, `-` for stdin) as one timeline on a thread of its own.
    pub fn open_inputs(names: &[String]) -> Result<Source, InputError> {
        let (tx, rx) = frame_queue(QUEUE_DEPTH, Overflow::Block);
        let sender: SharedSender = Arc::new(Mutex::new(tx));
        let bytes_read = Arc::new(AtomicU64::new(0));
        let mut bytes_total = 0;
        let mut stdin = false;
        let mut readers = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            let spec = if name == "-" {
                InputSpec::Stdin
            } else {
                InputSpec::Path(PathBuf::from(name))
            };
            readers.push(match spec {
                InputSpec::Stdin => {
                    stdin = true;
                    let source = FlushBeforeRead::new(io::stdin(), Arc::clone(&sender));
                    CaptureReader::from_reader("-", Box::new(source), index)?
                }
                InputSpec::Path(path) => {
                    let name = path.display().to_string();
                    let file = std::fs::File::open(&path).map_err(|source| InputError::Io {
                        path: name.clone(),
                        source,
                    })?;
                    bytes_total += file.metadata().map(|m| m.len()).unwrap_or(0);
                    let counting = Counting {
                        inner: file,
                        read: Arc::clone(&bytes_read),
                    };
                    CaptureReader::from_reader(name, Box::new(counting), index)?
                }
            });
        }
        let files: Vec<String> = readers.iter().map(|r| r.name().to_owned()).collect();
        let reader = MergedReader::new(readers)?;
        let handle = spawn_reader(reader, sender).map_err(|source| InputError::Io {
            path: "-".into(),
            source,
        })?;
        let progress = Progress {
            queue: rx.counts(),
            bytes_read,
            bytes_total,
            stdin,
            kernel_dropped: None,
        };
        Ok(Source {
            files,
            rx,
            feeder: Feeder::Reader(handle),
            progress,
        })
    }

    /// Opens the interface and starts capturing on it (on a thread of its own).
    #[cfg(feature = "live")]
    pub fn open_live(
        cfg: &super::libpcap::LiveConfig,
    ) -> Result<Source, super::libpcap::OpenError> {
        use super::libpcap::{LiveCapture, OpenError};
        let capture = LiveCapture::open(cfg)?;
        let (tx, rx) = frame_queue(super::LIVE_QUEUE_DEPTH, Overflow::Drop);
        let kernel = Arc::new(AtomicU64::new(0));
        let (breaker, handle) = capture.start(tx, Arc::clone(&kernel)).map_err(|e| {
            OpenError(format!(
                "{}: cannot start the capture thread: {e}",
                cfg.interface
            ))
        })?;
        let progress = Progress {
            queue: rx.counts(),
            bytes_read: Arc::default(),
            bytes_total: 0,
            stdin: false,
            kernel_dropped: Some(kernel),
        };
        Ok(Source {
            files: vec![cfg.interface.clone()],
            rx,
            feeder: Feeder::Live {
                breaker,
                handle,
                interface: cfg.interface.clone(),
            },
            progress,
        })
    }

    /// A handle on how far the reading got.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Analyzes what the source hands over until it ends or `stop()` turns true (the idle
    /// clock of [`pump`] runs meanwhile). After a stop, a live capture is woken and, with
    /// `drain`, what it still hands over is analyzed for up to two seconds. Does not call
    /// `Analyzer::finish`.
    pub fn run(
        self,
        analyzer: &mut Analyzer,
        out: &mut impl FnMut(Output),
        stop: &dyn Fn() -> bool,
        drain: bool,
    ) -> SourceEnd {
        let cfg = PumpConfig::default();
        let end = pump(&self.rx, analyzer, out, &cfg, stop);
        let mut result = SourceEnd {
            stopped: end == PumpEnd::Stopped,
            ..SourceEnd::default()
        };
        match self.feeder {
            Feeder::Reader(handle) => match end {
                PumpEnd::Exhausted => {
                    let reader_end = handle.join().unwrap_or_default();
                    result
                        .warnings
                        .extend(reader_end.warnings.iter().map(warning_text));
                    if let Some(e) = &reader_end.error {
                        result
                            .warnings
                            .push(format!("{e}; the frames before it were analyzed"));
                    }
                }
                // The reader may be waiting on a quiet pipe: it is left behind.
                PumpEnd::Stopped => result
                    .warnings
                    .push("interrupted; the frames read before were analyzed".into()),
            },
            #[cfg(feature = "live")]
            Feeder::Live {
                breaker,
                handle,
                interface,
            } => {
                use std::time::{Duration, Instant};
                if end == PumpEnd::Stopped {
                    // Wake the capture thread and analyze what it still hands over, for a
                    // while.
                    breaker.stop();
                    if drain {
                        let deadline = Instant::now() + Duration::from_secs(2);
                        pump(&self.rx, analyzer, out, &cfg, &|| Instant::now() > deadline);
                    }
                }
                // Once the queue is closed the capture thread is ending; give it a moment.
                let rx = self.rx;
                let dropped = rx.dropped();
                let queued = rx.queued();
                drop(rx);
                let deadline = Instant::now() + Duration::from_millis(500);
                while !handle.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let stats = if handle.is_finished() {
                    handle.join().ok()
                } else {
                    None
                };
                if dropped > 0 {
                    result.warnings.push(format!(
                        "{dropped} frames dropped by cwmpscope: the analysis fell behind the capture"
                    ));
                }
                if let Some(e) = stats.as_ref().and_then(|s| s.error.as_ref()) {
                    result
                        .warnings
                        .push(format!("{interface}: capture stopped: {e}"));
                }
                let count = |v: Option<u32>| v.map_or_else(|| "?".to_owned(), |n| n.to_string());
                let captured = stats.as_ref().map_or(queued + dropped, |s| s.captured);
                result.stats = Some(format!(
                    "{interface}: {captured} packets captured, {dropped} dropped by cwmpscope (analysis behind), \
                     {} dropped by the kernel, {} dropped by the interface",
                    count(stats.as_ref().and_then(|s| s.kernel_dropped)),
                    count(stats.as_ref().and_then(|s| s.if_dropped)),
                ));
            }
        }
        let _ = drain;
        result
    }
}
