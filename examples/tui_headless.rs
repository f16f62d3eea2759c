//! The interactive view run without a terminal on capture files: the same analysis thread and
//! event loop as `cwmpscope tui`, drawing on an in-memory terminal, without keys, until the
//! whole input is analyzed and shown. Prints what it measured, for the benchmarks
//! (bench/run.sh, bench/soak.sh): when the first row appeared, when everything was shown,
//! frames drawn and their drawing time, transactions received and rows released.
//!
//! `cargo run --release --example tui_headless -- FILE... [--size 160x48] [--max-rows N]`
//!
//! `-` reads stdin. `--max-rows` as with `cwmpscope tui`: by default all rows for files and
//! 20000 for stdin; 0: no limit.

use cwmpscope::live::source::Source;
use std::process::ExitCode;

// The allocator of the `cwmpscope` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cwmpscope::cli::disable_transparent_huge_pages();
    let mut files = Vec::new();
    let (mut width, mut height) = (160u16, 48u16);
    let mut max_rows = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--size" {
            let size = args.next().unwrap_or_default();
            let parsed = size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
            match parsed {
                Some((w, h)) => (width, height) = (w, h),
                None => {
                    eprintln!("tui_headless: --size WxH, e.g. 160x48");
                    return ExitCode::from(2);
                }
            }
        } else if arg == "--max-rows" {
            match args.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => max_rows = Some(n),
                None => {
                    eprintln!("tui_headless: --max-rows N (0: no limit)");
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(arg);
        }
    }
    if files.is_empty() {
        eprintln!("usage: tui_headless FILE... [--size WxH] [--max-rows N]");
        return ExitCode::from(2);
    }
    // As `cwmpscope tui`: a cap on stdin by default, none on files.
    let stdin = files.iter().any(|f| f == "-");
    let max_rows = match max_rows {
        Some(0) => None,
        Some(n) => Some(n),
        None => stdin.then_some(cwmpscope::cli::DEFAULT_ENDLESS_MAX_ROWS),
    };
    let source = match Source::open_inputs(&files) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("tui_headless: {e}");
            return ExitCode::from(2);
        }
    };
    match cwmpscope::tui::run_headless(source, width, height, max_rows) {
        Ok(m) => {
            let ms = |d: Option<std::time::Duration>| {
                d.map_or_else(
                    || "-".to_owned(),
                    |d| format!("{:.1}", d.as_secs_f64() * 1e3),
                )
            };
            let mean = if m.frames > 0 {
                m.draw_total.as_secs_f64() * 1e3 / m.frames as f64
            } else {
                0.0
            };
            println!(
                "first_row_ms {} done_ms {} rows {} frames {} draw_mean_ms {mean:.2} draw_max_ms {:.2} \
                 transactions {} released {}",
                ms(m.first_row),
                ms(m.done),
                m.rows,
                m.frames,
                m.draw_max.as_secs_f64() * 1e3,
                m.transactions,
                m.released
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tui_headless: {e}");
            ExitCode::FAILURE
        }
    }
}
