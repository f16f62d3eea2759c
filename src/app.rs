//! The command line: argument parsing, reading the inputs through the analyzer, and printing.
//! Kept in the library so tests can run it in-process with their own output buffers.

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::capture::{CaptureReader, InputError, InputSpec, InputWarning, MergedReader};
use crate::output::{Format, json, text};
use crate::report::{Report, ReportOptions, SessionReport};
use crate::transaction::Output;
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
}

/// Why a run failed before or while analyzing (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("no input: give capture files (or - for stdin)")]
    NoInput,
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
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, RunError> {
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

fn matches_cpe(s: &SessionReport, filters: &[String]) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            s.cpe.ip == *f
                || s.cpe
                    .serial
                    .as_deref()
                    .is_some_and(|serial| serial.eq_ignore_ascii_case(f))
        })
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
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, RunError> {
    let names: Vec<String> = args.files.iter().chain(&args.read).cloned().collect();
    if names.is_empty() {
        return Err(RunError::NoInput);
    }
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
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut sessions: Vec<SessionReport> = Vec::new();
    let mut ndjson_summary = crate::report::Summary::default();
    let mut write_error: Option<io::Error> = None;
    let mut read_error: Option<InputError> = None;
    let output_failed = std::cell::Cell::new(false);
    {
        let mut on_output = |item: Output| {
            let Output::Session(s) = item else {
                return;
            };
            let report = SessionReport::build(&s, &opts);
            if !matches_cpe(&report, &args.cpe) {
                return;
            }
            if args.format == Format::Ndjson {
                ndjson_summary.sessions += 1;
                for d in &report.deviations {
                    ndjson_summary.deviations.add(d.code);
                }
                if write_error.is_none()
                    && let Err(e) =
                        json::write_ndjson_session(out, &report).and_then(|_| out.flush())
                {
                    write_error = Some(e);
                    output_failed.set(true);
                }
            } else {
                sessions.push(report);
            }
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
            if output_failed.get() {
                break;
            }
        }
        analyzer.finish(&mut on_output);
    }
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
    match args.format {
        Format::Ndjson => json::write_ndjson_end(out, &capture, &ndjson_summary)?,
        Format::Json => json::write_json(out, &Report::new(capture, sessions))?,
        Format::Text => {
            let report = Report::new(capture, sessions);
            let shown: Vec<&SessionReport> = report.sessions.iter().collect();
            let style = text::Style {
                color: use_color(args.color),
            };
            text::write_report(out, &report, &shown, style)?;
        }
    }
    out.flush()?;
    Ok(Outcome::Analyzed)
}
