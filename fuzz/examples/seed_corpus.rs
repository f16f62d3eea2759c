//! Builds the seed corpora: `seed_corpus CAPTURES_DIR CORPUS_DIR` writes, for every capture
//! under CAPTURES_DIR (a `NAME.keys` beside `NAME.pcap` is its key log), the inputs
//! `cwmpscope_fuzz::seeds` makes of it into CORPUS_DIR/TARGET/, named by their content's hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn captures(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            captures(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            found.push(path);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, from, to] = &args[..] else {
        eprintln!("usage: seed_corpus CAPTURES_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    captures(Path::new(from), &mut files);
    files.sort();
    let mut written: BTreeMap<&str, usize> = BTreeMap::new();
    for file in &files {
        let Ok(capture) = std::fs::read(file) else {
            eprintln!("{}: unreadable, skipped", file.display());
            continue;
        };
        let keylog = std::fs::read(file.with_extension("keys")).ok();
        for (target, input) in cwmpscope_fuzz::seeds(&capture, keylog.as_deref()) {
            let dir = Path::new(to).join(target);
            std::fs::create_dir_all(&dir).expect("corpus directory");
            let name = format!("{:016x}", hash(&input));
            std::fs::write(dir.join(name), &input).expect("seed written");
            *written.entry(target).or_default() += 1;
        }
    }
    for (target, count) in written {
        println!("{target}: {count} seeds");
    }
}

/// FNV-1a of the input, for its file name.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
