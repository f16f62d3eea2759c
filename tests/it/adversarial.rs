//! Hostile inputs written by the generator (`cwmpscope-capgen adversarial KIND`, described in
//! captures/README.md), each analyzed by the `cwmpscope` binary as a child process: its exit
//! status, no panic, the lines of the report that say what happened, and two ceilings, on wall
//! time and on the child's own peak resident memory (`VmHWM`, sampled every millisecond).
//!
//! The ceilings hold for the debug build on a loaded two-core machine. Every case runs at the
//! generator's full size except `keylog-junk` (a fifth: 200,000 lines), which [`Case::scale`]
//! says.

use crate::common;
use cwmpscope_synth::adversarial::{self, Kind, OVERLAP_SERIALS, Options, PREDEFINED_DECODED};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One hostile input and the bounds its analysis must stay within.
struct Case {
    kind: Kind,
    /// The generator's scale (1.0: the full sizes of `--list`).
    scale: f64,
    /// Wall time of the analysis, at most.
    max_wall: Duration,
    /// Peak resident memory of the analysis, at most.
    max_rss_mib: u64,
}

impl Case {
    const fn new(kind: Kind, scale: f64, max_wall_secs: u64, max_rss_mib: u64) -> Case {
        Case {
            kind,
            scale,
            max_wall: Duration::from_secs(max_wall_secs),
            max_rss_mib,
        }
    }
}

/// What one run of the binary did.
struct Run {
    /// Exit status (negative: killed by that signal).
    status: i32,
    stdout: String,
    stderr: String,
    wall: Duration,
    /// The child's peak resident memory (`VmHWM`), in MiB.
    peak_mib: u64,
}

/// Writes a child's stdin.
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// The peak resident memory of a live process, in KiB (`VmHWM` of /proc/PID/status).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cwmpscope ARGS` with `feed` writing its stdin (or no stdin) and kills it if it
/// outlives `kill_after`. Its peak memory is the high-water mark of its own address space
/// (`VmHWM`), read every millisecond until it exits: `ru_maxrss` would also count the test
/// process it was forked from.
fn run_measured(args: &[&str], feed: Option<Feed>, kill_after: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cwmpscope starts");
    let pid = child.id();
    let feeder = feed.zip(child.stdin.take()).map(|(feed, mut stdin)| {
        std::thread::spawn(move || {
            feed(&mut stdin);
            drop(stdin);
        })
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            pipe.read_to_end(&mut text)
                .expect("read the child's output");
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    // Samples the high-water mark until told the child exited (it is not reaped before, so
    // the pid stays its own); kills it past the deadline.
    let (exited, exit_seen) = mpsc::channel::<()>();
    let sampler = std::thread::spawn(move || {
        let mut peak_kib = 0;
        loop {
            if let Some(kib) = vm_hwm_kib(pid) {
                peak_kib = peak_kib.max(kib);
            }
            match exit_seen.recv_timeout(Duration::from_millis(1)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return peak_kib,
                Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() > kill_after => {
                    // SAFETY: kill(2) on our own child, which is not reaped yet.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    });
    // Wait for the exit without reaping (WNOWAIT).
    // SAFETY: siginfo_t is plain data that waitid fills.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let waited =
        unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
    assert_eq!(waited, 0, "waitid");
    let wall = started.elapsed();
    let _ = exited.send(());
    let peak_kib = sampler.join().expect("sampler");
    let status = child.wait().expect("reaped");
    if let Some(feeder) = feeder {
        feeder.join().expect("stdin writer");
    }
    use std::os::unix::process::ExitStatusExt;
    Run {
        status: status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(0)),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        wall,
        peak_mib: peak_kib.div_ceil(1024),
    }
}

/// Writes the case's input into the scratch directory.
fn generate(case: &Case, opts: Options) -> (PathBuf, adversarial::Written) {
    let path = common::scratch(&format!("adversarial-{}", case.kind.name()));
    let file = std::fs::File::create(&path).expect("scratch file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = adversarial::write(
        case.kind,
        &Options {
            scale: case.scale,
            ..opts
        },
        &mut out,
    )
    .expect("generated");
    out.flush().expect("flushed");
    (path, written)
}

/// The bounds every run must keep: no panic, the exit status, wall time and peak memory.
fn assert_bounded(case: &Case, run: &Run, status: i32) {
    let name = case.kind.name();
    assert!(
        !run.stderr.contains("panicked"),
        "{name}: panicked: {}",
        run.stderr
    );
    assert_eq!(
        run.status, status,
        "{name}: exit status; stderr: {}",
        run.stderr
    );
    eprintln!(
        "{name}: exit {}, {:.2} s, peak {} MiB",
        run.status,
        run.wall.as_secs_f64(),
        run.peak_mib
    );
    assert!(
        run.wall <= case.max_wall,
        "{name}: {:.1} s, over the ceiling of {:?}",
        run.wall.as_secs_f64(),
        case.max_wall
    );
    assert!(
        run.peak_mib <= case.max_rss_mib,
        "{name}: peak memory {} MiB, over the ceiling of {} MiB",
        run.peak_mib,
        case.max_rss_mib
    );
}

/// What the text report (stdout) and stderr must say about each case: parts of lines, each
/// required. This is the one place that states them; when the header gains a line naming the
/// limits an input reached, it is to be expected here.
fn summary_lines(kind: Kind, written: &adversarial::Written) -> (Vec<String>, Vec<String>) {
    let frames = written.frames;
    // The pcapng variants whose lie stops the reading: the packets before it, half-way.
    let before_the_lie = format!(
        "{} packets in 1.1 s · 3 hosts · 1 session · 1 transaction",
        frames / 2
    );
    let (stdout, stderr): (Vec<String>, Vec<&str>) = match kind {
        Kind::SynFlood => (
            vec![
                format!("{frames} packets in "),
                " · 2 sessions · 1 transaction\n  transactions: 1 success · ".into(),
                // The reference flow's three connections and one per SYN.
                format!("  {} TCP connections · 18 HTTP messages", frames - 57),
                // All but the 16384 newest unanswered SYNs are released early.
                format!(
                    "  limits reached: half-open-connections ×{} · hosts ×1 (see --limit help)",
                    frames - 57 - 3 - 16384
                ),
                "error handshake-failed: SYN from 100.".into(),
            ],
            vec![],
        ),
        Kind::ChunkedEndless => (
            vec![
                format!("{frames} packets in "),
                " · 2 sessions · 0 transactions".into(),
                "├── POST /acs [incomplete] ".into(),
                "… capture ended".into(),
                "  limits reached: http-body-bytes ×1 (see --limit help)".into(),
                "· no Inform · capture-ended · incomplete: limit http-body-bytes reached".into(),
            ],
            vec![],
        ),
        Kind::Header100mb => (
            vec![
                " · 2 sessions · 0 transactions".into(),
                "  limits reached: http-header-bytes ×1 (see --limit help)".into(),
                "· no Inform · closed · incomplete: limit http-header-bytes reached".into(),
                "│◀── 431 Request Header Fields Too Large (empty) ".into(),
                "· 2 PERIODIC · normal".into(),
            ],
            vec![],
        ),
        Kind::XmlDeep => (
            vec![
                " · 1 session · 0 transactions".into(),
                "  limits reached: xml-depth ×1 (see --limit help)".into(),
                "· no Inform · closed · incomplete: limit xml-depth reached".into(),
                "│◀── 200 InformResponse ".into(),
            ],
            vec![],
        ),
        Kind::EntityBomb => (
            vec![
                " · 1 session · 0 transactions".into(),
                format!("s1  CPE &lol9; {PREDEFINED_DECODED} CP0000000001 (198.51.100.7)"),
                "├── POST Inform 2 PERIODIC ".into(),
            ],
            vec![],
        ),
        Kind::ContentLengthMax => (
            vec![
                " · 3 sessions · 0 transactions".into(),
                "findings: 4 error, 4 warning, 0 info".into(),
                "s1        error malformed-message: HTTP framing unreadable at stream byte 0: \
                 invalid Content-Length (frame 4)"
                    .into(),
                "s2        error malformed-message: HTTP framing unreadable at stream byte 0: \
                 invalid Content-Length (frame 13)"
                    .into(),
                "s3        error malformed-message: HTTP framing unreadable at stream byte 0: \
                 invalid Content-Length (frame 25)"
                    .into(),
            ],
            vec![],
        ),
        Kind::OverlapConflict => (
            vec![
                " · 2 sessions · 0 transactions".into(),
                format!(
                    "s1  CPE Thomson TG789vn {} (198.51.100.7)",
                    OVERLAP_SERIALS[0].0
                ),
                format!(
                    "s2  CPE Thomson TG789vn {} (198.51.100.8)",
                    OVERLAP_SERIALS[1].1
                ),
            ],
            vec![],
        ),
        Kind::TimeWarp => (
            vec![
                // From 1970 to 2106: the span of the timestamps, whatever their order.
                format!(
                    "{frames} packets in 4294880899.2 s · 3 hosts · 2 sessions · 1 transaction"
                ),
                "  transactions: 1 success · ".into(),
                "error session-timeout: 315576000.0 s of silence inside the session".into(),
            ],
            vec![],
        ),
        // Every record or block is read but the last, which lies.
        Kind::CaplenLies | Kind::PcapngLies => (
            vec![
                format!(
                    "{} packets in 5.3 s · 3 hosts · 2 sessions · 1 transaction",
                    frames - 1
                ),
                "  transactions: 1 success · ".into(),
                format!(
                    "  warning: {{file}}: cut short in the middle of a packet; the {} frames \
                     before the cut were analyzed",
                    frames - 1
                ),
            ],
            vec!["cwmpscope: warning: {file}: cut short in the middle of a packet"],
        ),
        Kind::PcapngLiesTrailer => (
            vec![
                before_the_lie,
                "  transactions: 1 incomplete · ".into(),
                "  warning: {file}: pcapng block of type 0x6: trailing length does not \
                     match; the frames before it were analyzed"
                    .into(),
            ],
            vec!["cwmpscope: warning: {file}: pcapng block of type 0x6: trailing length"],
        ),
        Kind::PcapngLiesShort => (
            vec![
                before_the_lie,
                "  transactions: 1 incomplete · ".into(),
                "  warning: {file}: pcapng packet block too short; the frames before it \
                     were analyzed"
                    .into(),
            ],
            vec!["cwmpscope: warning: {file}: pcapng packet block too short"],
        ),
        // The reference flow's 60 frames, then the zero-filled ones.
        Kind::GzipBomb => (
            vec![
                format!("{frames} packets in "),
                " · 2 sessions · 1 transaction\n  transactions: 1 success · ".into(),
                format!(
                    "not TCP/IP: {} non-IP (llc ×{}), 0 non-TCP, 0 truncated",
                    frames - 60,
                    frames - 60
                ),
            ],
            vec![],
        ),
        Kind::TlsHugeRecord => (
            vec![
                " · 0 sessions · 0 transactions".into(),
                "2 TCP connections · 0 HTTP messages · TLS to the ACS and file servers: 0 \
                 decrypted, 1 not (handshake-too-large ×1) · 1 other TLS connection"
                    .into(),
                "capture   info tls-opaque: encrypted connection 198.51.100.7:49152 → \
                 192.0.2.10:7547 (TLS, not decrypted: a handshake message over 256 KiB)"
                    .into(),
            ],
            vec![],
        ),
        Kind::KeylogJunk => (
            vec![
                "TLS to the ACS and file servers: 2 decrypted, 0 not".into(),
                "  transactions: 1 success · ".into(),
            ],
            vec![" lines skipped ("],
        ),
    };
    (stdout, stderr.into_iter().map(str::to_owned).collect())
}

/// Generates the case, analyzes it (text report), checks bounds and summary lines; returns the
/// run and the input's path (removed by the caller).
fn analyze_case(case: &Case, status: i32) -> (Run, PathBuf, adversarial::Written) {
    let (path, written) = generate(case, Options::default());
    let file = path.to_string_lossy().into_owned();
    let run = run_measured(&["analyze", &file], None, case.max_wall * 3);
    assert_bounded(case, &run, status);
    let (out, err) = summary_lines(case.kind, &written);
    for line in out {
        let line = line.replace("{file}", &file);
        assert!(
            run.stdout.contains(&line),
            "{}: the report lacks {line:?}:\n{}",
            case.kind.name(),
            head(&run.stdout)
        );
    }
    for line in err {
        let line = line.replace("{file}", &file);
        assert!(
            run.stderr.contains(&line),
            "{}: stderr lacks {line:?}: {}",
            case.kind.name(),
            run.stderr
        );
    }
    (run, path, written)
}

/// The first lines of a report, for failure messages.
fn head(report: &str) -> String {
    report.lines().take(40).collect::<Vec<_>>().join("\n")
}

fn remove(path: &PathBuf) {
    let _ = std::fs::remove_file(path);
}

#[test]
fn syn_flood_of_a_million_half_open_connections() {
    // At most `half-open-connections` (16384) unanswered SYNs are tracked at once: memory
    // stays flat however long the flood (about 3 KB per tracked one across the stages).
    let case = Case::new(Kind::SynFlood, 1.0, 90, 128);
    let (run, path, written) = analyze_case(&case, 0);
    assert_eq!(
        written.frames, 1_000_060,
        "a million SYNs and the reference flow"
    );
    // The reference flow in the middle of the flood is analyzed as it is alone.
    assert!(
        run.stdout
            .contains("t1  configuration update · CPE Thomson TG789vn CP0000000001"),
        "{}",
        head(&run.stdout)
    );
    remove(&path);
}

#[test]
fn chunked_body_that_never_ends() {
    let case = Case::new(Kind::ChunkedEndless, 1.0, 15, 96);
    let (_, path, written) = analyze_case(&case, 0);
    assert!(written.bytes > adversarial::CHUNKED_BODY_BYTES);
    remove(&path);
}

#[test]
fn header_line_of_100_mb() {
    let case = Case::new(Kind::Header100mb, 1.0, 15, 64);
    let (_, path, written) = analyze_case(&case, 0);
    assert!(written.bytes > adversarial::HEADER_LINE_BYTES);
    remove(&path);
}

#[test]
fn xml_nested_100000_deep() {
    let case = Case::new(Kind::XmlDeep, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn entity_bomb_is_never_expanded() {
    let case = Case::new(Kind::EntityBomb, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    let file = path.to_string_lossy().into_owned();
    let report = common::report(&[&file]);
    let cpe = &common::sessions(&report)[0]["cpe"];
    // Only the five predefined entities are decoded; references to DTD entities stay as
    // written, and the external one names a file nobody reads.
    assert_eq!(cpe["product_class"], PREDEFINED_DECODED);
    assert_eq!(cpe["manufacturer"], "&lol9;");
    let text = report.to_string();
    assert!(text.contains("&xxe;"), "the reference is kept");
    assert!(
        !text.contains("lollol") && !text.contains("root:"),
        "{text}"
    );
    remove(&path);
}

#[test]
fn content_length_of_u64_max_and_beyond() {
    let case = Case::new(Kind::ContentLengthMax, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn conflicting_overlaps_keep_the_first_copy() {
    // The copy first in the capture wins, whether it is the original (first session) or the
    // conflicting one (second session, where it arrives ahead of the bytes before it).
    let case = Case::new(Kind::OverlapConflict, 1.0, 10, 64);
    let (run, path, _) = analyze_case(&case, 0);
    for unwanted in [OVERLAP_SERIALS[0].1, OVERLAP_SERIALS[1].0] {
        assert!(!run.stdout.contains(unwanted), "{unwanted}: {}", run.stdout);
    }
    let file = path.to_string_lossy().into_owned();
    let report = common::report(&[&file]);
    let serials: Vec<&str> = common::sessions(&report)
        .iter()
        .map(|s| s["cpe"]["serial"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(serials, [OVERLAP_SERIALS[0].0, OVERLAP_SERIALS[1].1]);
    // Only the second conflict meets bytes still buffered (the first rewrites bytes already
    // delivered, a retransmission as far as the reassembly can tell): the serial's 4 differing
    // characters, counted and named.
    assert_eq!(
        report["capture"]["tcp_conflicts"], 1,
        "{}",
        report["capture"]
    );
    assert_eq!(report["capture"]["tcp_conflicting_bytes"], 4);
    assert!(
        run.stdout
            .contains("1 stream with 4 bytes overlapping earlier ones with other content"),
        "{}",
        run.stdout
    );
    remove(&path);
}

#[test]
fn timestamps_that_jump_years_back_and_forth() {
    let case = Case::new(Kind::TimeWarp, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    let file = path.to_string_lossy().into_owned();
    let report = common::report(&[&file]);
    assert_eq!(report["capture"]["start"], "1970-01-01T00:00:01.000000Z");
    assert_eq!(report["capture"]["end"], "2106-02-06T06:28:20.220307Z");
    remove(&path);
}

#[test]
fn pcap_records_longer_than_the_snap_length_and_the_file() {
    let case = Case::new(Kind::CaplenLies, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn pcapng_unknown_blocks_a_second_section_and_a_block_past_the_end() {
    let case = Case::new(Kind::PcapngLies, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn pcapng_trailing_length_that_lies() {
    let case = Case::new(Kind::PcapngLiesTrailer, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn pcapng_packet_block_too_short_for_its_fields() {
    let case = Case::new(Kind::PcapngLiesShort, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn gzip_bomb_from_a_file_and_from_a_pipe() {
    let case = Case::new(Kind::GzipBomb, 1.0, 15, 64);
    let (run, path, written) = analyze_case(&case, 0);
    assert!(written.expanded >= adversarial::GZIP_EXPANDED_BYTES);
    assert!(
        written.expanded / written.bytes >= 500,
        "{} bytes expand to {}",
        written.bytes,
        written.expanded
    );
    remove(&path);
    // The same bytes straight from the generator into stdin (reported as sessions end, the
    // header last).
    let piped = run_measured(
        &["analyze", "-r", "-"],
        Some(Box::new(|stdin: &mut dyn Write| {
            let mut out = std::io::BufWriter::new(stdin);
            // A closed pipe (the analysis stopped early) fails the checks below.
            let _ = adversarial::write(Kind::GzipBomb, &Options::default(), &mut out);
            let _ = out.flush();
        })),
        case.max_wall * 3,
    );
    assert_bounded(&case, &piped, 0);
    let header = |report: &str| {
        report
            .lines()
            .skip_while(|l| {
                !l.starts_with(&format!("{}: ", path.display())) && !l.starts_with("-: ")
            })
            .take(3)
            .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(header(&piped.stdout), header(&run.stdout));
}

#[test]
fn tls_records_longer_than_tls_allows() {
    let case = Case::new(Kind::TlsHugeRecord, 1.0, 10, 64);
    let (_, path, _) = analyze_case(&case, 0);
    remove(&path);
}

#[test]
fn key_log_of_junk_with_the_real_lines_mixed_in() {
    let case = Case::new(Kind::KeylogJunk, 0.2, 20, 48);
    let capture = common::capture("tls/tls13-aes256gcm.pcap");
    let real = std::fs::read_to_string(common::capture("tls/tls13-aes256gcm.keys")).unwrap();
    let valid: Vec<String> = real
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let (path, written) = generate(
        &case,
        Options {
            keylog_lines: valid.clone(),
            ..Options::default()
        },
    );
    assert_eq!(written.frames, 200_000, "lines");
    let keys = path.to_string_lossy().into_owned();
    let run = run_measured(
        &["analyze", "--tls-keylog", &keys, &capture],
        None,
        case.max_wall * 3,
    );
    assert_bounded(&case, &run, 0);
    let (out, err) = summary_lines(case.kind, &written);
    for line in &out {
        assert!(run.stdout.contains(line), "{line:?}: {}", head(&run.stdout));
    }
    for line in &err {
        assert!(run.stderr.contains(line), "{line:?}: {}", run.stderr);
    }
    // Every line is counted once: secrets, comments, unused labels, malformed.
    let counts: Vec<u64> = run
        .stderr
        .lines()
        .find(|l| l.contains(" TLS secrets; "))
        .expect("the key log's counts")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [secrets, skipped, comments, unused, malformed] = counts[counts.len() - 5..] else {
        panic!("{counts:?}")
    };
    assert_eq!(secrets + skipped, written.frames);
    assert_eq!(comments + unused + malformed, skipped);
    assert!(secrets >= 8, "the real secrets are among them");
    // A key log is not a capture.
    let not_capture = run_measured(&["analyze", &keys], None, case.max_wall * 3);
    assert_bounded(&case, &not_capture, 2);
    assert!(
        not_capture
            .stderr
            .contains("not a capture (it looks like plain text)"),
        "{}",
        not_capture.stderr
    );
    remove(&path);
}
