//! The interactive view run without a terminal on capture files: the same analysis thread and
//! event loop as `cwmpscope tui`, drawing on an in-memory terminal, without keys, until the
//! whole input is analyzed and shown. Prints what it measured, for the benchmarks
//! (bench/run.sh): when the first row appeared, when everything was shown, frames drawn and
//! their drawing time.
//!
//! `cargo run --release --example tui_headless -- FILE... [--size 160x48]`

use cwmpscope::live::source::Source;
use std::process::ExitCode;

// The allocator of the `cwmpscope` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cwmpscope::cli::disable_transparent_huge_pages();
    let mut files = Vec::new();
    let (mut width, mut height) = (160u16, 48u16);
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
        } else {
            files.push(arg);
        }
    }
    if files.is_empty() {
        eprintln!("usage: tui_headless FILE... [--size WxH]");
        return ExitCode::from(2);
    }
    let source = match Source::open_inputs(&files) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("tui_headless: {e}");
            return ExitCode::from(2);
        }
    };
    match cwmpscope::tui::run_headless(source, width, height) {
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
                "first_row_ms {} done_ms {} rows {} frames {} draw_mean_ms {mean:.2} draw_max_ms {:.2}",
                ms(m.first_row),
                ms(m.done),
                m.rows,
                m.frames,
                m.draw_max.as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tui_headless: {e}");
            ExitCode::FAILURE
        }
    }
}
