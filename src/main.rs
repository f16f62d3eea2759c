//! `cwmpscope`: the command-line shell around the library.

use clap::Parser;
use cwmpscope::cli::{Cli, Outcome, RunError, run};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    one_line_panics();
    cwmpscope::cli::disable_transparent_huge_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
            if cwmpscope::cli::asks_for_limit_help(&args) {
                print!("{}", cwmpscope::limits::help_text());
                return ExitCode::SUCCESS;
            }
            e.exit()
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut err = io::stderr();
    // The report's last bytes are written here: a full disk must not pass for success.
    let result = run(cli, &mut out, &mut err)
        .and_then(|outcome| out.flush().map(|()| outcome).map_err(RunError::Output));
    match result {
        Ok(Outcome::Analyzed) => ExitCode::SUCCESS,
        Ok(Outcome::FindingsFound) => ExitCode::from(1),
        // A closed pipe (`| head`) ends the run quietly, as tcpdump's output does.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // What the buffer still holds cannot be written either when the output failed.
            if !matches!(e, RunError::Output(_)) {
                drop(out.flush());
            }
            let _ = writeln!(err, "cwmpscope: {e}");
            ExitCode::from(2)
        }
    }
}

/// A bug that panics is reported in one line saying where, instead of Rust's panic text;
/// `RUST_BACKTRACE` set keeps the usual report with its backtrace.
fn one_line_panics() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = what.replace('\n', " ");
        let _ = writeln!(
            io::stderr(),
            "cwmpscope: internal error{place}: {what}; please report it (RUST_BACKTRACE=1 shows more)"
        );
    }));
}

/// mimalloc: the analysis allocates per message (headers, envelopes, report objects) with many
/// sessions alive at once, where glibc's allocator spent a fifth of the run consolidating.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
