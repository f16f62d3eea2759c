//! The command line: clap's definitions of the arguments, [`run`] (reading the inputs through
//! the [`Analyzer`], live capture), and the printer thread. Kept in the library so tests can run
//! it in-process with their own output buffers.

use crate::capture::{CaptureReader, InputError, InputSpec, MergedReader};
use crate::extract::{self, ExtractError, Selector};
use crate::findings::Output;
use crate::findings::Thresholds;
use crate::limits::Limits;
use crate::live::StopFlag;
use crate::live::source::{Source, warning_text};
use crate::output::Format;
use crate::output::ndjson::NdjsonSink;
use crate::output::printer::{Built, Filters, Printer};
use crate::pipeline::PipelineConfig;
use crate::report::ReportOptions;
use crate::threads::{Analyzer, AnalyzerConfig};
use crate::tls::{RsaKey, TlsKeys};
use crate::types::{Nanos, io_reason};
use clap::{Args, Parser, Subcommand};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Parser)]
#[command(
    name = "cwmpscope",
    version,
    about = "TR-069 (CWMP) capture analyzer: sessions, transactions and findings from pcap/pcapng",
    after_help = "Examples:\n  cwmpscope analyze capture.pcap\n  cwmpscope analyze --format json rotated-*.pcap.gz > report.json\n  tcpdump -i eth0 -U -w - 'tcp port 7547' | cwmpscope analyze -r -"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze saved captures (pcap, pcapng, gzip-compressed, or `-` for stdin).
    Analyze(AnalyzeArgs),
    /// Capture on a network interface and report sessions as they complete (built with the
    /// `live` feature; Ctrl-C stops and prints the rest).
    Live(LiveArgs),
    /// Write a transaction (or everything of one CPE) as a pcap of its own: every frame of
    /// the TCP connections it used, as captured, and the JSON report of that pcap beside it.
    Extract(ExtractArgs),
    /// Browse captures interactively: the list of transactions and sessions as they are
    /// analyzed, the ladder of one, the message behind an arrow.
    Tui(TuiArgs),
    /// Join the NDJSON of the shards of one analysis (`analyze --shard K/N --format ndjson`,
    /// K = 1…N) into the NDJSON (or JSON) a single run gives.
    Merge(MergeArgs),
}

/// Options of `cwmpscope merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' NDJSON files, one per shard, in any order (read twice: not stdin).
    #[arg(value_name = "SHARD.ndjson", required = true)]
    pub files: Vec<PathBuf>,
    /// What to write: the NDJSON of a single run, or its JSON document.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
}

/// Options of `cwmpscope tui`.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Capture files, read as one timeline in timestamp order; `-` reads stdin (keys then come
    /// from the terminal).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Capture file to read (repeatable), as with tcpdump/tshark; `-` reads stdin.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,
    /// Capture live on this interface instead (built with the `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IFACE", conflicts_with_all = ["files", "read"])]
    pub interface: Option<String>,
    /// BPF capture filter, as with tcpdump (with -i).
    #[arg(
        short = 'f',
        long = "filter",
        value_name = "BPF",
        requires = "interface"
    )]
    pub filter: Option<String>,
    /// Bytes kept of each packet (with -i).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPLEN)]
    pub snaplen: u32,
    /// Do not put the interface in promiscuous mode (with -i).
    #[arg(long, requires = "interface")]
    pub no_promisc: bool,
    /// Kernel capture buffer in KiB, as tcpdump -B (with -i).
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB", default_value_t = DEFAULT_BUFFER_KIB)]
    pub buffer_size: u32,
    /// Rows (transactions, sessions of none) kept at most: beyond, the oldest are released,
    /// and the header says how many. Default: all for files; 20000 for stdin and live
    /// capture, which may run for days (as sngrep keeps 20000 dialogs). 0: no limit.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,
    /// Show passwords, Authorization credentials and cookies instead of `<redacted>`.
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Turns transparent huge pages off for this process (Linux), as mimalloc's `allow_thp=0`
/// does, before the analysis allocates. With them, the allocator's arenas fault in 2 MiB at a
/// time and are zeroed again after each purge: `tui` on a 1 GiB capture, which keeps every
/// report, spent more time in the kernel zeroing pages than analyzing (BENCHMARKS.md).
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Rows kept at most by `tui` on stdin or an interface, unless told otherwise: sngrep's
/// default dialog limit. A campaign's row (a transaction with its sessions and message bytes)
/// holds about 33 KB, so the view settles near 700 MB (BENCHMARKS.md, the soak).
pub const DEFAULT_ENDLESS_MAX_ROWS: usize = 20_000;

/// Options of `cwmpscope extract`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["transaction", "cpe"]))]
pub struct ExtractArgs {
    /// Capture files, read as one timeline in timestamp order (read twice: not stdin).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Capture file to read (repeatable), as with tcpdump/tshark.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,
    /// The transaction to extract (its id in the report, e.g. t3): its sessions, its file
    /// transfer and the Connection Request that started it.
    #[arg(long, value_name = "ID")]
    pub transaction: Option<String>,
    /// Extract every transaction and session of this CPE (serial number or IP address).
    #[arg(long, value_name = "SERIAL|IP")]
    pub cpe: Option<String>,
    /// The pcap to write; the JSON report of it goes beside it, with the extension .json.
    #[arg(short = 'w', long = "write", value_name = "OUT.pcap")]
    pub write: PathBuf,
    /// Show passwords, Authorization credentials and cookies in the JSON report.
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Keys for the TLS connections (of the input, and of the written pcap's report: secrets
    /// a pcapng carries are not written into the pcap).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Resource limits (of the input's analysis, and of the written pcap's report).
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, read as one timeline in timestamp order; `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Capture file to read (repeatable), as with tcpdump/tshark.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,
    /// Capture live on this interface instead (as `cwmpscope live -i IFACE`).
    #[arg(short = 'i', long = "interface", value_name = "IFACE", conflicts_with_all = ["files", "read"])]
    pub interface: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Options of `cwmpscope live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (`eth0`, `lo`, `any`).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// BPF capture filter, as with tcpdump (e.g. 'tcp port 7547 or tcp port 80').
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPLEN)]
    pub snaplen: u32,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Kernel capture buffer in KiB (as tcpdump -B): it absorbs bursts while the analysis
    /// catches up.
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB", default_value_t = DEFAULT_BUFFER_KIB)]
    pub buffer_size: u32,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Snap length of live capture (as tcpdump's default).
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Kernel capture buffer of `live`, in KiB (256 MiB).
pub const DEFAULT_BUFFER_KIB: u32 = 262_144;

/// What to report and how: shared by `analyze` and `live`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only sessions of this CPE (serial number or IP address); repeatable.
    #[arg(long, value_name = "SERIAL|IP")]
    pub cpe: Vec<String>,
    /// Only the transactions and sessions matching every `key=value` term, as the view's
    /// filter (`F`): cpe=, outcome= (success, failed, incomplete; a session's termination),
    /// kind= (a transaction's kind, or session), code= (a finding code), severity= (at least).
    /// Like tshark's display filter (`-f` stays the capture filter).
    #[arg(short = 'Y', long = "display-filter", value_name = "EXPR")]
    pub display_filter: Option<String>,
    /// Show passwords, Authorization credentials and cookies instead of `<redacted>`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour in the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only the header, the campaign table (transactions by product class, software
    /// version before the update, file server and fault code) and the findings by code.
    /// Text only: the JSON report's `summary` object has the counts.
    #[arg(long)]
    pub summary: bool,
    /// Only this transaction (its id in the report, e.g. t3) and its sessions.
    #[arg(long, value_name = "ID")]
    pub transaction: Option<String>,
    /// Threads for the analysis: 1 runs it all on one thread; 2 splits it in two halves (the
    /// front reading, TCP and HTTP, the back sessions, transactions and findings); 3 and 4 add
    /// N-2 threads decoding CWMP bodies for the back half and one taking the SHA-256 of the
    /// files off the front half; 5 or more split the front half too: frames are decoded on
    /// one thread and reassembled (TCP, TLS, HTTP, file hashes) on N-4 front shards by address
    /// pair, with two decoder threads, the back half's session stage and later stages on two
    /// threads, and two threads building report objects (and their JSON) for the printer.
    /// Default: one per core, 2 to 4. The results are the same whatever the count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=64))]
    pub threads: Option<u8>,
    /// Analyze only the CPEs whose address falls in shard K of N (1 <= K <= N): N processes,
    /// on one machine or many, each reading the same captures, split the work;
    /// `cwmpscope merge` joins their NDJSON into a single run's. Needs --format ndjson.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::ShardSpec>,
    /// Exit with status 1 when a finding of this severity or worse is reported.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The resource limits of the analysis (docs/limits.md): each has a name, a default and a
/// count of the times it was reached, which the report shows.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Resource limits")]
pub struct LimitArgs {
    /// Sets a resource limit, NAME=N (repeatable; byte limits take K, M, G suffixes);
    /// `--limit help` lists every limit with its default and meaning.
    #[arg(long = "limit", value_name = "NAME=N")]
    pub limit: Vec<String>,
}

/// Whether a command line asks for `--limit help` (`--limit help` or `--limit=help`): the
/// table is printed even when the command's other arguments are missing.
pub fn asks_for_limit_help<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        let a = a.as_ref();
        a == "--limit=help"
            || (a == "--limit" && args.get(i + 1).is_some_and(|n| n.as_ref() == "help"))
    })
}

impl LimitArgs {
    /// Whether `--limit help` was given.
    pub fn wants_help(&self) -> bool {
        self.limit.iter().any(|l| l.trim() == "help")
    }

    /// The limits: the defaults with each setting applied in order.
    pub fn limits(&self) -> Result<Limits, RunError> {
        Limits::parse(self.limit.iter().map(String::as_str))
            .map_err(|e| RunError::Usage(format!("--limit: {e}")))
    }
}

/// Keys for decrypting TLS (HTTPS to the ACS and file servers). Secrets in a pcapng's
/// Decryption Secrets Blocks are used without any option.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "TLS decryption")]
pub struct TlsArgs {
    /// NSS key log (SSLKEYLOGFILE format: CLIENT_RANDOM for TLS 1.2, the handshake and
    /// traffic secrets for TLS 1.3); repeatable.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub keylog: Vec<String>,
    /// A server's RSA private key (PEM, PKCS#8 or PKCS#1) for connections with RSA key
    /// exchange, optionally only for one address (and port): key.pem@192.0.2.1:443,
    /// key.pem@[2001:db8::1]:443; repeatable.
    #[arg(long = "tls-key", value_name = "FILE.pem[@ADDR[:PORT]]")]
    pub key: Vec<String>,
}

impl TlsArgs {
    /// Reads the key files; each key log's count of secrets and skipped lines goes to `err`
    /// (never a secret).
    pub fn load(&self, err: &mut dyn Write) -> Result<Arc<TlsKeys>, RunError> {
        let mut keys = TlsKeys::default();
        for path in &self.keylog {
            let stats = keys
                .add_keylog_file(path)
                .map_err(|e| RunError::Usage(format!("--tls-keylog {e}")))?;
            writeln!(
                err,
                "cwmpscope: {path}: {} TLS secrets; {} lines skipped ({} comments, {} unused labels, {} malformed)",
                stats.entries,
                stats.comments + stats.unused + stats.junk,
                stats.comments,
                stats.unused,
                stats.junk
            )?;
        }
        for arg in &self.key {
            let key = RsaKey::load(arg).map_err(|e| RunError::Usage(format!("--tls-key {e}")))?;
            keys.rsa.push(key);
        }
        Ok(Arc::new(keys))
    }
}

/// Thresholds of the timing and ratio findings (see docs/findings.md).
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Thresholds")]
pub struct ThresholdArgs {
    /// slow-response: a response later than this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub slow_response: f64,
    /// session-timeout: a gap inside a session longer than this (unless the CPE's SessionTimeout says otherwise).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub session_timeout: f64,
    /// clock-skew: Inform CurrentTime this far from the capture time.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub clock_skew: f64,
    /// connection-request-timing: the Inform must follow an accepted Connection Request within this.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub cr_timeout: f64,
    /// tcp-retransmissions: share of a connection's data segments that are retransmissions.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    pub retransmission_threshold: f64,
    /// retry-backoff-violation: the back-off window's minimum wait m (CWMPRetryMinimumWaitInterval).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub retry_min_wait: f64,
    /// retry-backoff-violation: the back-off window's multiplier k (CWMPRetryIntervalMultiplier).
    #[arg(long, value_name = "K", default_value_t = 2000.0)]
    pub retry_interval_multiplier: f64,
}

impl ReportArgs {
    /// `--shard` writes what `merge` reads: all of it (no filter), as NDJSON.
    fn check_shard(&self) -> Result<(), RunError> {
        let Some(shard) = self.shard else {
            return Ok(());
        };
        let clash = if self.format != Format::Ndjson {
            Some("needs --format ndjson")
        } else if !self.cpe.is_empty() {
            Some("takes no --cpe")
        } else if self.transaction.is_some() {
            Some("takes no --transaction")
        } else if self.display_filter.is_some() {
            Some("takes no --display-filter")
        } else {
            None
        };
        match clash {
            Some(what) => Err(RunError::Usage(format!(
                "--shard {shard} {what}: `cwmpscope merge` joins the shards' whole NDJSON"
            ))),
            None => Ok(()),
        }
    }
}

impl ThresholdArgs {
    fn thresholds(&self) -> Result<Thresholds, RunError> {
        let secs = |name: &str, v: f64| {
            if v.is_finite() && (0.0..1e9).contains(&v) {
                Ok((v * 1e9) as Nanos)
            } else {
                Err(RunError::Usage(format!(
                    "--{name} takes a number of seconds, not {v}"
                )))
            }
        };
        if !(0.0..=100.0).contains(&self.retransmission_threshold) {
            return Err(RunError::Usage(format!(
                "--retransmission-threshold takes a percentage from 0 to 100, not {}",
                self.retransmission_threshold
            )));
        }
        Ok(Thresholds {
            slow_response: secs("slow-response", self.slow_response)?,
            session_timeout: secs("session-timeout", self.session_timeout)?,
            clock_skew: secs("clock-skew", self.clock_skew)?,
            connection_request_timeout: secs("cr-timeout", self.cr_timeout)?,
            retransmission_ratio: self.retransmission_threshold / 100.0,
            retry_min_wait: secs("retry-min-wait", self.retry_min_wait)? as f64 / 1e9,
            retry_interval_multiplier: self.retry_interval_multiplier,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How a run ended, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Analysis ran (exit 0).
    Analyzed,
    /// Analysis ran and found what `--fail-on` asked about (exit 1).
    FindingsFound,
}

/// Why a run failed before or while analyzing (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("no input: give capture files (or - for stdin)")]
    NoInput,
    #[error("{0}")]
    Usage(String),
    /// Live capture could not start (or is not built in).
    #[error("{0}")]
    Capture(String),
    /// Writing the report to standard output failed.
    #[error("standard output: {}", io_reason(.0))]
    Output(#[from] io::Error),
    /// Writing a file failed.
    #[error("{path}: {}", io_reason(.source))]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Extract(#[from] ExtractError),
}

impl RunError {
    /// A closed output pipe (`cwmpscope … | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, RunError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Runs a parsed command line, writing the report to `out` and warnings to `err`.
pub fn run(
    cli: Cli,
    out: &mut (dyn Write + Send),
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    let limits = match &cli.command {
        Command::Analyze(args) => &args.report.limits,
        Command::Live(args) => &args.report.limits,
        Command::Extract(args) => &args.limits,
        Command::Tui(args) => &args.limits,
        Command::Merge(args) => return merge_command(args, out),
    };
    if limits.wants_help() {
        out.write_all(crate::limits::help_text().as_bytes())?;
        out.flush()?;
        return Ok(Outcome::Analyzed);
    }
    // Check the limits before waiting on any input.
    limits.limits()?;
    let report = match &cli.command {
        Command::Analyze(args) => Some(&args.report),
        Command::Live(args) => Some(&args.report),
        Command::Extract(_) | Command::Tui(_) | Command::Merge(_) => None,
    };
    if let Some(report) = report
        && report.summary
        && report.format != Format::Text
    {
        return Err(RunError::Usage(format!(
            "--summary is text only, not --format {}; the JSON report's `summary` object has the counts",
            clap::ValueEnum::to_possible_value(&report.format)
                .as_ref()
                .map_or("?", |v| v.get_name())
        )));
    }
    if let Some(report) = report {
        report.check_shard()?;
    }
    match cli.command {
        Command::Analyze(args) => match args.interface {
            Some(interface) => live(
                LiveArgs {
                    interface,
                    filter: None,
                    snaplen: DEFAULT_SNAPLEN,
                    no_promisc: false,
                    buffer_size: DEFAULT_BUFFER_KIB,
                    report: args.report,
                },
                out,
                err,
            ),
            None => {
                let names: Vec<String> = args.files.iter().chain(&args.read).cloned().collect();
                analyze(&names, &args.report, out, err)
            }
        },
        Command::Live(args) => live(args, out, err),
        Command::Extract(args) => extract_command(&args, err),
        Command::Tui(args) => tui_command(args),
        Command::Merge(_) => unreachable!("merge returns above"),
    }
}

/// `merge`: the shards' NDJSON joined into a single run's.
fn merge_command(args: &MergeArgs, out: &mut dyn Write) -> Result<Outcome, RunError> {
    let format = match args.format {
        Format::Ndjson => crate::output::merge::MergedFormat::Ndjson,
        Format::Json => crate::output::merge::MergedFormat::Json,
        Format::Text => {
            return Err(RunError::Usage(
                "merge writes --format ndjson or json; for text, analyze the captures".into(),
            ));
        }
    };
    crate::output::merge::merge(&args.files, format, out).map_err(|e| match e {
        crate::output::merge::MergeError::Output(e) => RunError::Output(e),
        e => RunError::Usage(format!("merge: {e}")),
    })?;
    Ok(Outcome::Analyzed)
}

/// `extract`: the pcap of the selection, then the JSON report of that pcap beside it.
fn extract_command(args: &ExtractArgs, err: &mut dyn Write) -> Result<Outcome, RunError> {
    let names: Vec<String> = args.files.iter().chain(&args.read).cloned().collect();
    let thresholds = args.thresholds.thresholds()?;
    let selector = match (&args.transaction, &args.cpe) {
        (Some(id), _) => Selector::Transaction(id.clone()),
        (None, Some(cpe)) => Selector::Cpe(cpe.clone()),
        (None, None) => {
            return Err(RunError::Usage(
                "extract needs --transaction ID or --cpe SERIAL|IP".into(),
            ));
        }
    };
    let pcap = &args.write;
    let json = pcap.with_extension("json");
    if json == *pcap {
        return Err(RunError::Usage(format!(
            "{}: the pcap cannot be named .json (the report goes there)",
            pcap.display()
        )));
    }
    let cfg = PipelineConfig {
        thresholds,
        tls: args.tls.load(err)?,
        ..PipelineConfig::default()
    }
    .with_limits(&args.limits.limits()?);
    let done = extract::extract(&names, &selector, pcap, &cfg)?;
    // The report is that of the written pcap: analyzing it again is what proves it whole.
    let report = ReportArgs {
        format: Format::Json,
        cpe: Vec::new(),
        display_filter: None,
        show_secrets: args.show_secrets,
        color: ColorChoice::Never,
        transaction: None,
        threads: None,
        shard: None,
        fail_on: None,
        thresholds: args.thresholds.clone(),
        summary: false,
        tls: TlsArgs::default(),
        limits: args.limits.clone(),
    };
    let json_error = |source: io::Error| RunError::Write {
        path: json.display().to_string(),
        source,
    };
    let mut json_out = io::BufWriter::new(std::fs::File::create(&json).map_err(json_error)?);
    let mut report_warnings = Vec::new();
    analyze_with_keys(
        &[pcap.display().to_string()],
        &report,
        Arc::clone(&cfg.tls),
        &mut json_out,
        &mut report_warnings,
    )
    .map_err(|e| match e {
        RunError::Output(source) => json_error(source),
        other => other,
    })?;
    json_out.flush().map_err(json_error)?;
    err.write_all(&report_warnings)?;
    let what = if done.selection.transactions.is_empty() {
        format!("{} sessions", done.selection.sessions.len())
    } else {
        format!(
            "{} ({} sessions)",
            done.selection.transactions.join(", "),
            done.selection.sessions.len()
        )
    };
    writeln!(
        err,
        "cwmpscope: extracted {what}: {} frames of {} TCP connections to {}, its report to {}",
        done.frames,
        done.selection.conns.len(),
        pcap.display(),
        json.display()
    )?;
    Ok(Outcome::Analyzed)
}

fn input_spec(name: &str) -> InputSpec {
    if name == "-" {
        InputSpec::Stdin
    } else {
        InputSpec::Path(PathBuf::from(name))
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && io::stdout().is_terminal(),
    }
}

/// Outputs handed to the printer thread at once (files only: a pipe or live capture prints
/// each as it completes).
const PRINT_BATCH: usize = 64;

/// Starts a named thread in `scope`.
fn spawn_in<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: String,
    f: impl FnOnce() + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, ()> {
    std::thread::Builder::new()
        .name(name)
        .spawn_scoped(scope, f)
        .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
}

/// The analyzer and printer of one run, and how its outputs reach the printer.
struct Analysis {
    analyzer: Analyzer,
    printer: Printer,
    /// Threads building report objects for the printer (0: the printer builds them).
    report_builders: usize,
    write_error: Option<io::Error>,
    output_failed: AtomicBool,
    /// `Analyzer::finish` already ran.
    finished: bool,
    fail_on: Option<FailOn>,
    files: Vec<String>,
}

impl Analysis {
    fn new(
        report: &ReportArgs,
        files: Vec<String>,
        streaming: bool,
        tls: Arc<TlsKeys>,
    ) -> Result<Self, RunError> {
        let thresholds = report.thresholds.thresholds()?;
        let opts = ReportOptions {
            show_secrets: report.show_secrets,
            files: files.clone(),
        };
        let terms = match &report.display_filter {
            Some(expr) => crate::output::filter::parse_filter(expr)
                .map_err(|e| RunError::Usage(format!("--display-filter: {e}")))?,
            None => Vec::new(),
        };
        let filters = Filters {
            cpe: report.cpe.clone(),
            transaction: report.transaction.clone(),
            terms,
        };
        let color = use_color(report.color);
        let printer = if let Some(shard) = report.shard {
            let sink = NdjsonSink::for_shard(shard);
            let sink = if streaming { sink } else { sink.buffered() };
            Printer::with_sink(Box::new(sink), opts, filters)
        } else if streaming {
            Printer::new_streaming(report.format, opts, filters, color, report.summary)
        } else {
            Printer::new(report.format, opts, filters, color, report.summary)
        };
        let limits = report.limits.limits()?;
        let threads = report
            .threads
            .map_or_else(crate::threads::default_threads, usize::from);
        Ok(Analysis {
            analyzer: Analyzer::new(AnalyzerConfig {
                pipeline: PipelineConfig {
                    thresholds,
                    tls,
                    shard: report.shard,
                    ..PipelineConfig::default()
                }
                .with_limits(&limits),
                threads,
            }),
            printer,
            report_builders: crate::threads::report_builders(threads),
            write_error: None,
            output_failed: AtomicBool::new(false),
            finished: false,
            fail_on: report.fail_on,
            files,
        })
    }

    /// Splits into the analyzer, the output callback (which stops printing after a write
    /// error and remembers it) and a flag telling whether that happened.
    fn parts<'a>(
        &'a mut self,
        out: &'a mut dyn Write,
    ) -> (&'a mut Analyzer, impl FnMut(Output) + 'a, &'a AtomicBool) {
        let printer = &mut self.printer;
        let write_error = &mut self.write_error;
        let failed = &self.output_failed;
        (
            &mut self.analyzer,
            move |item: Output| {
                if write_error.is_none()
                    && let Err(e) = printer.push(item, out)
                {
                    *write_error = Some(e);
                    failed.store(true, Ordering::Relaxed);
                }
            },
            failed,
        )
    }

    /// Runs `feed` with the printer on its own thread: the analysis hands it finished items
    /// through a bounded queue (building and serializing report objects then costs the
    /// analysis nothing). `feed` gets the analyzer, the output callback and the write-failure
    /// flag.
    fn with_printer_thread<R>(
        &mut self,
        out: &mut (dyn Write + Send),
        feed: impl FnOnce(&mut Analyzer, &mut dyn FnMut(Output), &AtomicBool) -> R,
    ) -> R {
        let printer = &mut self.printer;
        let write_error = &mut self.write_error;
        let failed = &self.output_failed;
        let analyzer = &mut self.analyzer;
        let builder = printer.builder();
        let builders = self.report_builders;
        std::thread::scope(|scope| {
            // The printer takes built batches from its queues in turn: the one queue of the
            // analysis, or one per thread building report objects, each fed in turn.
            let mut to_builders = Vec::new();
            let mut to_printer = Vec::new();
            let mut printer_queues = Vec::new();
            for n in 0..builders {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Output>>(4);
                let (built_tx, built_rx) = std::sync::mpsc::sync_channel::<Vec<Built>>(4);
                let builder = builder.clone();
                spawn_in(scope, format!("builder-{}", n + 1), move || {
                    for batch in rx {
                        let built = batch.into_iter().map(|o| builder.build(o)).collect();
                        if built_tx.send(built).is_err() {
                            return;
                        }
                    }
                });
                to_builders.push(tx);
                printer_queues.push(built_rx);
            }
            if builders == 0 {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Built>>(4);
                to_printer.push(tx);
                printer_queues.push(rx);
            }
            let printing = spawn_in(scope, "printer".into(), move || {
                let mut turn = 0;
                while let Some(batch) = printer_queues.get(turn).and_then(|q| q.recv().ok()) {
                    turn = (turn + 1) % printer_queues.len();
                    for item in batch {
                        if write_error.is_none()
                            && let Err(e) = printer.push_built(item, out)
                        {
                            *write_error = Some(e);
                            failed.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
            // Items go in batches: a wake-up of the printer per item cost more than printing
            // small ones. A closed queue means the printer stopped on a write error, reported
            // later.
            let mut turn = 0;
            let mut send = move |batch: Vec<Output>| {
                if let Some(tx) = to_builders.get(turn) {
                    let _ = tx.send(batch);
                    turn = (turn + 1) % to_builders.len();
                } else if let Some(tx) = to_printer.first() {
                    let _ = tx.send(batch.into_iter().map(Built::Other).collect());
                }
            };
            let mut batch = Vec::with_capacity(PRINT_BATCH);
            let mut on_output = |item: Output| {
                batch.push(item);
                if batch.len() >= PRINT_BATCH {
                    send(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(PRINT_BATCH),
                    ));
                }
            };
            let result = feed(analyzer, &mut on_output, failed);
            if !batch.is_empty() {
                send(batch);
            }
            // Closing the queues ends the builders' loops and then the printer's.
            drop(send);
            printing
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            result
        })
    }

    /// End of input: finishes the analysis, prints the warnings and the rest of the report.
    fn conclude(
        mut self,
        warnings: Vec<String>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Outcome, RunError> {
        if !self.finished {
            let (analyzer, mut on_output, _) = self.parts(out);
            analyzer.finish(&mut on_output);
        }
        if let Some(e) = self.write_error {
            return Err(RunError::Output(e));
        }
        for w in &warnings {
            writeln!(err, "cwmpscope: warning: {w}")?;
        }
        let capture = self.analyzer.capture_summary(self.files, warnings);
        let summary = self.printer.finish(capture, out)?;
        let failing = match self.fail_on {
            Some(FailOn::Error) => summary.by_severity.error > 0,
            Some(FailOn::Warning) => summary.by_severity.error + summary.by_severity.warning > 0,
            None => false,
        };
        Ok(if failing {
            Outcome::FindingsFound
        } else {
            Outcome::Analyzed
        })
    }
}

fn analyze(
    names: &[String],
    report: &ReportArgs,
    out: &mut (dyn Write + Send),
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    if names.is_empty() {
        return Err(RunError::NoInput);
    }
    // Check the options before waiting on any input.
    report.thresholds.thresholds()?;
    let tls = report.tls.load(err)?;
    analyze_with_keys(names, report, tls, out, err)
}

/// `analyze` with the TLS keys already read.
fn analyze_with_keys(
    names: &[String],
    report: &ReportArgs,
    tls: Arc<TlsKeys>,
    out: &mut (dyn Write + Send),
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    if names.iter().any(|n| n == "-") {
        return analyze_streaming(names, report, tls, out, err);
    }
    let mut readers = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let index = u16::try_from(i).unwrap_or(u16::MAX);
        readers.push(CaptureReader::open(&input_spec(name), index)?);
    }
    let files: Vec<String> = readers.iter().map(|r| r.name().to_owned()).collect();
    let mut reader = MergedReader::new(readers)?;
    let mut analysis = Analysis::new(report, files, false, tls)?;
    let read_error = analysis.with_printer_thread(out, |analyzer, mut on_output, failed| {
        let mut read_error: Option<InputError> = None;
        while !failed.load(Ordering::Relaxed) {
            // Decryption Secrets Blocks read so far (those before the first packet at open).
            if let Some(text) = reader.take_tls_keylog() {
                analyzer.add_embedded_keylog(&text);
            }
            match reader.next_frame() {
                Ok(Some(frame)) => analyzer.push(&frame, &mut on_output),
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        analyzer.finish(&mut on_output);
        read_error
    });
    analysis.finished = true;
    let mut warnings: Vec<String> = reader.warnings().iter().map(warning_text).collect();
    if let Some(e) = &read_error {
        warnings.push(format!("{e}; the frames before it were analyzed"));
    }
    analysis.conclude(warnings, out, err)
}

/// Input that includes stdin: read on its own thread, analyzed as it arrives (see
/// [`crate::live`]), reported as sessions complete.
fn analyze_streaming(
    names: &[String],
    report: &ReportArgs,
    tls: Arc<TlsKeys>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    let source = Source::open_inputs(names)?;
    let mut analysis = Analysis::new(report, source.files.clone(), true, tls)?;
    let stop = StopFlag::on_signals().map_err(signals_unavailable)?;
    let end = {
        let (analyzer, mut on_output, failed) = analysis.parts(out);
        source.run(
            analyzer,
            &mut on_output,
            &|| stop.is_set() || failed.load(Ordering::Relaxed),
            true,
        )
    };
    analysis.conclude(end.warnings, out, err)
}

/// Signal handlers could not be installed (a system limit; not an output error).
fn signals_unavailable(e: io::Error) -> RunError {
    RunError::Usage(format!("cannot handle Ctrl-C: {}", io_reason(&e)))
}

/// What opens an interface: the capture flags of `live` and `tui -i`.
#[derive(Clone, Debug)]
pub struct CaptureFlags {
    pub interface: String,
    pub filter: Option<String>,
    pub snaplen: u32,
    pub no_promisc: bool,
    pub buffer_size: u32,
}

impl From<&LiveArgs> for CaptureFlags {
    fn from(args: &LiveArgs) -> Self {
        CaptureFlags {
            interface: args.interface.clone(),
            filter: args.filter.clone(),
            snaplen: args.snaplen,
            no_promisc: args.no_promisc,
            buffer_size: args.buffer_size,
        }
    }
}

/// The pipe that does what `live` (or `tui -i`: `command` is `tui`) does without libpcap in
/// cwmpscope.
fn equivalent_pipe(args: &CaptureFlags, command: &str) -> String {
    let mut tcpdump = format!("tcpdump -i {} -U", args.interface);
    if args.no_promisc {
        tcpdump.push_str(" -p");
    }
    if args.snaplen != DEFAULT_SNAPLEN {
        tcpdump.push_str(&format!(" -s {}", args.snaplen));
    }
    tcpdump.push_str(" -w -");
    if let Some(filter) = &args.filter {
        tcpdump.push_str(&format!(" '{filter}'"));
    }
    format!("{tcpdump} | cwmpscope {command} -r -")
}

/// Why `live` cannot run in a build without the `live` feature, in one line.
pub fn live_unavailable(args: &LiveArgs) -> String {
    capture_unavailable(&CaptureFlags::from(args), "analyze")
}

/// Why a capture on an interface cannot run in a build without the `live` feature, in one
/// line, with the pipe into `cwmpscope COMMAND -r -` that does the same.
pub fn capture_unavailable(args: &CaptureFlags, command: &str) -> String {
    format!(
        "live capture is not built in: rebuild with `cargo build --release --features live` \
         (needs `apt-get install -y libpcap-dev`), or use the equivalent pipe: {}",
        equivalent_pipe(args, command)
    )
}

#[cfg(not(feature = "live"))]
fn live(args: LiveArgs, _out: &mut dyn Write, _err: &mut dyn Write) -> Result<Outcome, RunError> {
    Err(RunError::Capture(live_unavailable(&args)))
}

#[cfg(feature = "live")]
fn live(args: LiveArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, RunError> {
    let tls = args.report.tls.load(err)?;
    let mut analysis = Analysis::new(&args.report, vec![args.interface.clone()], true, tls)?;
    let source = Source::open_live(&live_config(&CaptureFlags::from(&args)))
        .map_err(|e| RunError::Capture(e.to_string()))?;
    let stop = StopFlag::on_signals().map_err(signals_unavailable)?;
    writeln!(
        err,
        "cwmpscope: capturing on {}; Ctrl-C stops and prints the rest",
        args.interface
    )?;
    err.flush()?;
    let end = {
        let (analyzer, mut on_output, failed) = analysis.parts(out);
        source.run(
            analyzer,
            &mut on_output,
            &|| stop.is_set() || failed.load(Ordering::Relaxed),
            true,
        )
    };
    if let Some(stats) = &end.stats {
        writeln!(err, "cwmpscope: {stats}")?;
    }
    analysis.conclude(end.warnings, out, err)
}

/// How `live` (and `tui -i`) open the interface.
#[cfg(feature = "live")]
fn live_config(args: &CaptureFlags) -> crate::live::libpcap::LiveConfig {
    crate::live::libpcap::LiveConfig {
        interface: args.interface.clone(),
        filter: args.filter.clone(),
        snaplen: i32::try_from(args.snaplen.clamp(64, 1 << 20)).unwrap_or(i32::MAX),
        promisc: !args.no_promisc,
        buffer_size: i32::try_from(u64::from(args.buffer_size.max(1024)) * 1024)
            .unwrap_or(i32::MAX),
    }
}

/// `cwmpscope tui`: the interactive view of saved captures, stdin or a live capture.
fn tui_command(args: TuiArgs) -> Result<Outcome, RunError> {
    let mut files = args.files;
    files.extend(args.read);
    if args.interface.is_none() && (args.filter.is_some() || args.no_promisc) {
        return Err(RunError::Usage(
            "--filter and --no-promisc go with -i IFACE (live capture)".to_owned(),
        ));
    }
    let endless = args.interface.is_some() || files.iter().any(|f| f == "-");
    let max_rows = match args.max_rows {
        Some(0) => None,
        Some(n) => Some(n),
        None => endless.then_some(DEFAULT_ENDLESS_MAX_ROWS),
    };
    let capture = args.interface.map(|interface| CaptureFlags {
        interface,
        filter: args.filter,
        snaplen: args.snaplen,
        no_promisc: args.no_promisc,
        buffer_size: args.buffer_size,
    });
    if files.is_empty() && capture.is_none() {
        return Err(RunError::NoInput);
    }
    if files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(RunError::Usage("stdin (-) can be read once".to_owned()));
    }
    let tls = args.tls.load(&mut io::stderr())?;
    // Open the inputs before taking over the terminal, so a bad file or interface is one
    // plain line.
    let (source, label) = match capture {
        Some(flags) => tui_live(&flags)?,
        None => {
            let source = Source::open_inputs(&files)?;
            (source, crate::tui::source_label(&files, None))
        }
    };
    if !io::stdout().is_terminal() {
        return Err(RunError::Usage(
            "tui needs a terminal on standard output (use analyze for pipes and files)".to_owned(),
        ));
    }
    // Saving a row reads the files again: only files that are not stdin can be.
    let saveable = if files.iter().any(|f| f == "-") {
        Vec::new()
    } else {
        files
    };
    let limits = args.limits.limits()?;
    crate::tui::run(
        source,
        label,
        saveable,
        max_rows,
        args.show_secrets,
        tls,
        limits,
    )
    .map_err(|e| RunError::Usage(format!("terminal: {}", io_reason(&e))))?;
    Ok(Outcome::Analyzed)
}

#[cfg(feature = "live")]
fn tui_live(flags: &CaptureFlags) -> Result<(Source, String), RunError> {
    let source =
        Source::open_live(&live_config(flags)).map_err(|e| RunError::Capture(e.to_string()))?;
    let label = crate::tui::source_label(
        std::slice::from_ref(&flags.interface),
        flags.filter.as_deref(),
    );
    Ok((source, label))
}

#[cfg(not(feature = "live"))]
fn tui_live(flags: &CaptureFlags) -> Result<(Source, String), RunError> {
    Err(RunError::Capture(capture_unavailable(flags, "tui")))
}
