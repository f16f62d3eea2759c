//! Live capture through libpcap (feature `live`): a capture thread that never waits for the
//! analysis (a full queue drops and counts), with libpcap's own drop counters at the end.
//!
//! The capture is read in non-blocking mode, and when nothing is left to read the thread waits
//! in poll(2) on the capture's descriptor, at most [`READ_TIMEOUT_MS`] at a time. A blocking
//! read would not do: libpcap's read timeout is only the longest a packet may wait in the
//! kernel's buffer, and on Linux a blocking read on a quiet interface polls again when it
//! expires instead of returning, until a packet comes. The thread would then neither hand over
//! the frames it held back while the analysis was busy nor see a stop request.

use super::queue::{BatchSender, Disconnected};
use crate::types::{Frame, FrameRef, LinkType, clamp_capture_time};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How to open the interface.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name (`eth0`, `lo`, `any`).
    pub interface: String,
    /// BPF filter expression, as with tcpdump.
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Put the interface in promiscuous mode.
    pub promisc: bool,
    /// Kernel buffer size in bytes.
    pub buffer_size: i32,
}

/// How long a frame waits in a half-filled batch, at least, before it is handed over when the
/// analysis has nothing queued: not at all. While the analysis is busy (batches queued), the
/// batch keeps filling up instead, so a burst travels in few large batches; it is handed over
/// when full, at the first packet after the analysis took what was queued, or once the
/// interface has been quiet for [`READ_TIMEOUT_MS`]. So the last packets of a burst reach the
/// analysis even if no more traffic comes.
const BATCH_LATENCY: Duration = Duration::ZERO;
/// How long the capture thread waits for a packet at a time, in milliseconds: after this long
/// without one it hands over the frames it held back, and it sees a stop request at most this
/// late. Also libpcap's read (packet buffer) timeout, which matters only where immediate mode
/// is not available.
const READ_TIMEOUT_MS: i32 = 50;

/// How often the capture thread reads libpcap's drop counters while capturing.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Counters of a finished capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets libpcap delivered to cwmpscope.
    pub captured: u64,
    /// libpcap's `ps_recv`: packets the filter accepted (kernel count).
    pub received: Option<u32>,
    /// libpcap's `ps_drop`: dropped by the kernel (buffer full).
    pub kernel_dropped: Option<u32>,
    /// libpcap's `ps_ifdrop`: dropped by the interface or its driver.
    pub if_dropped: Option<u32>,
    /// Why the capture stopped early, if it failed.
    pub error: Option<String>,
}

/// An open capture, not started yet.
pub struct LiveCapture {
    capture: pcap::Capture<pcap::Active>,
    link: LinkType,
}

/// Asks the capture thread to stop.
pub struct Breaker(Arc<AtomicBool>);

impl Breaker {
    /// Makes the capture thread stop before its next read: at once while packets come, within
    /// [`READ_TIMEOUT_MS`] on a quiet interface. What it read is handed over first.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Why an interface could not be opened (the message names it and says what went wrong).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

impl LiveCapture {
    /// Opens the interface and applies the filter; errors name the interface and say what to
    /// do (see [`open_failure`]).
    pub fn open(cfg: &LiveConfig) -> Result<LiveCapture, OpenError> {
        let iface = &cfg.interface;
        let mut capture = pcap::Capture::from_device(iface.as_str())
            .map_err(|e| open_failure(iface, &e))?
            .promisc(cfg.promisc)
            .snaplen(cfg.snaplen)
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .buffer_size(cfg.buffer_size)
            .open()
            .map_err(|e| open_failure(iface, &e))?;
        if let Some(filter) = &cfg.filter {
            capture.filter(filter, true).map_err(|e| {
                OpenError(format!(
                    "{iface}: bad filter {filter:?}: {}",
                    libpcap_text(&e)
                ))
            })?;
        }
        let capture = capture
            .setnonblock()
            .map_err(|e| OpenError(format!("{iface}: cannot capture: {}", libpcap_text(&e))))?;
        let link = LinkType(u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX));
        if !link.is_decodable() {
            return Err(OpenError(format!(
                "{iface}: unsupported link type {link}; cwmpscope decodes {}",
                LinkType::DECODABLE_IN_WORDS
            )));
        }
        Ok(LiveCapture { capture, link })
    }

    /// Starts the capture thread; frames go to `sender` (which should drop when full). The
    /// thread runs until [`Breaker::stop`], a capture error, or the analysis side going away.
    /// `kernel_dropped` gets libpcap's kernel drop count about once a second (for a display
    /// while capturing).
    pub fn start(
        mut self,
        mut sender: BatchSender,
        kernel_dropped: Arc<AtomicU64>,
    ) -> std::io::Result<(Breaker, JoinHandle<LiveStats>)> {
        let stop = Arc::new(AtomicBool::new(false));
        let breaker = Breaker(Arc::clone(&stop));
        let handle = std::thread::Builder::new()
            .name("cwmpscope-capture".into())
            .spawn(move || {
                let mut stats = LiveStats::default();
                let mut polled = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    if polled.elapsed() >= STATS_EVERY {
                        polled = Instant::now();
                        if let Ok(s) = self.capture.stats() {
                            kernel_dropped.store(u64::from(s.dropped), Ordering::Relaxed);
                        }
                    }
                    match self.capture.next_packet() {
                        Ok(packet) => {
                            stats.captured += 1;
                            let h = packet.header;
                            let ts = clamp_capture_time(
                                i128::from(h.ts.tv_sec) * 1_000_000_000
                                    + i128::from(h.ts.tv_usec) * 1000,
                            );
                            let frame = Frame {
                                frame: FrameRef::new(0, stats.captured),
                                ts,
                                link: self.link,
                                orig_len: h.len,
                                data: packet.data,
                            };
                            if sender.push(&frame) == Err(Disconnected)
                                || sender.flush_if_older(BATCH_LATENCY) == Err(Disconnected)
                            {
                                break;
                            }
                        }
                        // Non-blocking: nothing to read now.
                        Err(pcap::Error::TimeoutExpired) => match wait_for_packets(&self.capture) {
                            Ok(Wait::Readable) => {}
                            Ok(Wait::Quiet) => {
                                if sender.flush() == Err(Disconnected) {
                                    break;
                                }
                            }
                            Err(e) => {
                                stats.error = Some(format!("cannot wait for packets: {e}"));
                                break;
                            }
                        },
                        Err(e) => {
                            stats.error = Some(e.to_string());
                            break;
                        }
                    }
                }
                let _ = sender.flush();
                if let Ok(s) = self.capture.stats() {
                    kernel_dropped.store(u64::from(s.dropped), Ordering::Relaxed);
                    stats.received = Some(s.received);
                    stats.kernel_dropped = Some(s.dropped);
                    stats.if_dropped = Some(s.if_dropped);
                }
                stats
            })?;
        Ok((breaker, handle))
    }
}

/// libpcap's own message, without the binding's `libpcap error: ` prefix.
fn libpcap_text(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(text) if !text.is_empty() => text.clone(),
        other => other.to_string(),
    }
}

/// Why an interface could not be opened, in one line that says what to do: an interface that
/// does not exist is named with those that do; a capture refused for lack of privileges comes
/// with the `setcap` command for this very binary.
fn open_failure(iface: &str, e: &pcap::Error) -> OpenError {
    let text = libpcap_text(e);
    let known = interface_names();
    if !known.is_empty() && !known.iter().any(|name| name == iface) {
        let mut shown: Vec<&str> = network_interfaces()
            .into_iter()
            .filter_map(|name| known.iter().find(|k| **k == name).map(String::as_str))
            .collect();
        if shown.is_empty() {
            shown = known.iter().map(String::as_str).collect();
        }
        return OpenError(format!(
            "{iface}: no such interface; available: {} (see `ip link`)",
            shown.join(", ")
        ));
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        let binary = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "cwmpscope".to_owned());
        return OpenError(format!(
            "{iface}: no permission to capture ({text}); run as root, or allow this binary \
             once: sudo setcap cap_net_raw,cap_net_admin=eip {binary}"
        ));
    }
    OpenError(format!("{iface}: cannot capture: {text}"))
}

/// Every name libpcap can capture on (`any` and pseudo-devices included); empty if it cannot
/// list them.
fn interface_names() -> Vec<String> {
    let mut names: Vec<String> = pcap::Device::list()
        .map(|list| list.into_iter().map(|d| d.name).collect())
        .unwrap_or_default();
    for name in network_interfaces() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The network interfaces as `ip link` lists them (Linux: /sys/class/net), then `any`, the
/// pseudo-interface of every one; empty elsewhere.
fn network_interfaces() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .take(1024)
        .collect();
    names.sort();
    names.push("any".to_owned());
    names
}

/// What waiting for packets ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// The capture has something to read (packets, or an error the next read reports), or a
    /// signal interrupted the wait: read again.
    Readable,
    /// Nothing came for [`READ_TIMEOUT_MS`].
    Quiet,
}

/// Waits in poll(2) until the capture's descriptor is readable, at most [`READ_TIMEOUT_MS`].
/// The capture's descriptor is the one `pcap_get_selectable_fd` gives, on Linux and the BSDs.
fn wait_for_packets(capture: &pcap::Capture<pcap::Active>) -> rustix::io::Result<Wait> {
    let mut fds = [PollFd::new(capture, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: rustix::event::Nsecs::from(READ_TIMEOUT_MS) * 1_000_000,
    };
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) => Ok(Wait::Quiet),
        Ok(_) | Err(Errno::INTR) => Ok(Wait::Readable),
        Err(e) => Err(e),
    }
}
