//! Tells the tests which reference tools this machine has, so that a test needing one is
//! reported as `ignored, needs …` in the test summary where the tool is missing (instead of
//! passing silently). Sets `have_tshark`, `have_editcap`, `have_tcpreplay`, `have_tmux` and `is_root`; the
//! library itself does not use them.

use std::env;
use std::path::PathBuf;

fn main() {
    for cfg in [
        "have_tshark",
        "have_editcap",
        "have_tcpreplay",
        "have_tmux",
        "is_root",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-env-changed=PATH");
    let dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    for tool in ["tshark", "editcap", "tcpreplay", "tmux"] {
        let found = dirs.iter().map(|d| d.join(tool)).find(|p| p.is_file());
        match found {
            Some(path) => {
                println!("cargo::rerun-if-changed={}", path.display());
                println!("cargo::rustc-cfg=have_{tool}");
            }
            // Installing the tool later adds it to one of these directories.
            None => dirs
                .iter()
                .filter(|d| d.is_dir())
                .for_each(|d| println!("cargo::rerun-if-changed={}", d.display())),
        }
    }
    // Root (or the CI runner) can capture on lo and replay onto it.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        });
    if uid.as_deref() == Some("0") {
        println!("cargo::rustc-cfg=is_root");
    }
}
