//! `cwmpscope`: the command-line shell around the library.

use clap::Parser;
use cwmpscope::cli::{Cli, Outcome, run};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
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
    match run(cli, &mut out, &mut err) {
        Ok(Outcome::Analyzed) => ExitCode::SUCCESS,
        Ok(Outcome::FindingsFound) => ExitCode::from(1),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            drop(out.flush());
            let _ = writeln!(err, "cwmpscope: {e}");
            ExitCode::from(2)
        }
    }
}

/// mimalloc: the analysis allocates per message (headers, envelopes, report objects) with many
/// sessions alive at once, where glibc's allocator spent a fifth of the run consolidating.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
