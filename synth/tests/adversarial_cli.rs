//! `cwmpscope-capgen adversarial`: the list of kinds, and the largest kinds written at full size
//! to a pipe with the generator's own memory staying small (they stream).

use cwmpscope_synth::adversarial::Kind;
use std::io::Read;
use std::process::{Command, Stdio};

fn capgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cwmpscope-capgen"))
}

#[test]
fn list_names_every_kind() {
    let out = capgen()
        .args(["adversarial", "--list"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), Kind::ALL.len());
    for kind in Kind::ALL {
        assert!(
            text.lines()
                .any(|l| l.starts_with(kind.name()) && l.contains(kind.about())),
            "{}",
            kind.name()
        );
    }
    let bad = capgen()
        .args(["adversarial", "no-such-kind", "-o", "-"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("syn-flood"));
}

/// Writes `kind` at full size to a pipe; returns the bytes that came through and the line the
/// generator printed on stderr.
fn full_size_to_a_pipe(kind: Kind) -> (u64, String) {
    let mut child = capgen()
        .args(["adversarial", kind.name(), "-o", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stdout.read(&mut buf).expect("read") {
            0 => break,
            n => total += n as u64,
        }
    }
    let out = child.wait_with_output().expect("exit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (total, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The number before `unit` in `line`.
fn number_before(line: &str, unit: &str) -> u64 {
    let before = line.split(unit).next().expect("unit");
    before
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number before {unit:?} in {line:?}"))
}

#[test]
fn the_largest_kinds_stream() {
    for (kind, least) in [
        (Kind::SynFlood, 1_000_000 * 58),
        (Kind::Header100mb, 100 << 20),
    ] {
        let (bytes, line) = full_size_to_a_pipe(kind);
        assert!(bytes > least, "{}: {bytes} bytes", kind.name());
        assert_eq!(number_before(&line, " bytes"), bytes, "{line}");
        if cfg!(target_os = "linux") {
            let peak = number_before(&line, " MiB");
            assert!(
                peak <= 32,
                "{}: peak memory {peak} MiB: {line}",
                kind.name()
            );
        }
    }
}
