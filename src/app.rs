//! The command line: argument parsing, reading the inputs through the analyzer, and printing.
//! Kept in the library so tests can run it in-process with their own output buffers.

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::capture::{CaptureReader, InputError, InputSpec, InputWarning, MergedReader};
use crate::findings::Thresholds;
use crate::output::Format;
use crate::output::printer::{Filters, Printer};
use crate::report::ReportOptions;
use crate::transaction::Output;
use crate::types::Nanos;
use clap::{Args, Parser, Subcommand};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cwmpscope",
    version,
    about = "TR-069 (CWMP) capture analyzer: sessions, RPCs and deviations from pcap/pcapng",
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
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, read as one timeline in timestamp order; `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Capture file to read (repeatable), as with tcpdump/tshark.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only sessions of this CPE (serial number or IP address); repeatable.
    #[arg(long, value_name = "SERIAL|IP")]
    pub cpe: Vec<String>,
    /// Show passwords, Authorization credentials and cookies instead of `<redacted>`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour in the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Only this transaction (its id in the report, e.g. t3) and its sessions.
    #[arg(long, value_name = "ID")]
    pub transaction: Option<String>,
    /// Exit with status 1 when a finding of this severity or worse is reported.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Thresholds of the timing and ratio findings (see docs/findings.md).
#[derive(Debug, Args)]
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
    #[error("{0}")]
    Output(#[from] io::Error),
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
    match cli.command {
        Command::Analyze(args) => analyze(args, out, err),
    }
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

fn warning_text(w: &InputWarning) -> String {
    match w {
        InputWarning::Cut { path, frames } => format!(
            "{path}: cut short in the middle of a packet; the {frames} frames before the cut were analyzed"
        ),
    }
}

fn analyze(
    args: AnalyzeArgs,
    out: &mut (dyn Write + Send),
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    let names: Vec<String> = args.files.iter().chain(&args.read).cloned().collect();
    if names.is_empty() {
        return Err(RunError::NoInput);
    }
    let thresholds = args.thresholds.thresholds()?;
    let mut readers = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let index = u16::try_from(i).unwrap_or(u16::MAX);
        readers.push(CaptureReader::open(&input_spec(name), index)?);
    }
    let files: Vec<String> = readers.iter().map(|r| r.name().to_owned()).collect();
    let mut reader = MergedReader::new(readers)?;
    let opts = ReportOptions {
        show_secrets: args.show_secrets,
        files: files.clone(),
    };
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        thresholds,
        ..AnalyzerConfig::default()
    });
    let filters = Filters {
        cpe: args.cpe.clone(),
        transaction: args.transaction.clone(),
    };
    let printer = Printer::new(args.format, opts, filters, use_color(args.color));
    // The printer (building report objects and serializing them) runs on its own thread: the
    // analysis hands it finished items through a bounded queue.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Output>(1024);
    let output_failed = std::sync::atomic::AtomicBool::new(false);
    let mut read_error: Option<InputError> = None;
    let (printer, write_error) = std::thread::scope(|scope| {
        let printing = scope.spawn(|| {
            let mut printer = printer;
            let mut write_error = None;
            for item in rx {
                if write_error.is_none()
                    && let Err(e) = printer.push(item, out)
                {
                    write_error = Some(e);
                    output_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            (printer, write_error)
        });
        let mut on_output = move |item: Output| {
            // A closed queue means the printer stopped on a write error, reported below.
            let _ = tx.send(item);
        };
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => analyzer.push(&frame, &mut on_output),
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
            if output_failed.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
        }
        analyzer.finish(&mut on_output);
        // Closing the queue ends the printer's loop.
        drop(on_output);
        printing
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    if let Some(e) = write_error {
        return Err(RunError::Output(e));
    }
    let mut warnings: Vec<String> = reader.warnings().iter().map(warning_text).collect();
    if let Some(e) = &read_error {
        warnings.push(format!("{e}; the frames before it were analyzed"));
    }
    for w in &warnings {
        writeln!(err, "cwmpscope: warning: {w}")?;
    }
    let capture = analyzer.capture_summary(files, warnings);
    let summary = printer.finish(capture, out)?;
    let failing = match args.fail_on {
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
