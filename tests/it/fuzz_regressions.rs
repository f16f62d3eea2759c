//! The fuzz targets' entry points under `cargo test` (no fuzzer needed): every input kept in
//! `fuzz/regressions/TARGET/` replays through its target's entry point, and real captures
//! turned into each target's input format reach the code that target is meant to exercise.
//!
//! The entry points are `fuzz/src/lib.rs`, compiled here as a module, so a replay runs exactly
//! what the fuzzer ran. An input whose name starts with `open-` is a crash not fixed yet (listed
//! in FUZZING.md): it is replayed too, and the test fails once it no longer panics, so that it
//! is renamed (and kept as an ordinary regression) when its fix lands.

#[path = "../../fuzz/src/lib.rs"]
mod entry;

use std::panic;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The kept inputs: (target, file) for every file under `fuzz/regressions/TARGET/`.
fn regression_inputs() -> Vec<(String, PathBuf)> {
    let mut inputs = Vec::new();
    let root = fuzz_dir().join("regressions");
    for dir in std::fs::read_dir(&root).expect("fuzz/regressions exists") {
        let dir = dir.expect("directory entry").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name")
            .to_owned();
        for file in std::fs::read_dir(&dir).expect("readable target directory") {
            let file = file.expect("directory entry").path();
            let hidden = file
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if file.is_file() && !hidden {
                inputs.push((target.clone(), file));
            }
        }
    }
    inputs.sort();
    inputs
}

#[test]
fn every_kept_regression_input_replays_through_its_target() {
    let mut fixed_but_marked_open = Vec::new();
    for (target, file) in regression_inputs() {
        let run = entry::target(&target).unwrap_or_else(|| {
            panic!(
                "{}: fuzz/regressions/{target} names no fuzz target (known: {:?})",
                file.display(),
                entry::TARGETS.iter().map(|t| t.0).collect::<Vec<_>>()
            )
        });
        let data = std::fs::read(&file).expect("readable input");
        let open = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("open-"));
        if open {
            // Known and listed: it may still panic; it must not pass unnoticed once fixed.
            let outcome = panic::catch_unwind(|| run(&data));
            if outcome.is_ok() {
                fixed_but_marked_open.push(file.display().to_string());
            }
        } else {
            run(&data);
        }
    }
    assert!(
        fixed_but_marked_open.is_empty(),
        "these inputs no longer crash: drop the `open-` from their names and move them from \
         \"Open\" to \"Fixed\" in FUZZING.md: {fixed_but_marked_open:?}"
    );
}

#[test]
fn every_target_has_its_fuzz_target_file_a_regression_directory_and_a_run() {
    let run_script = std::fs::read_to_string(fuzz_dir().join("run.sh")).expect("fuzz/run.sh");
    // The targets run.sh runs by default: its `all=(...)` list.
    let run_list: Vec<&str> = run_script
        .split_once("all=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("an all=(...) list in fuzz/run.sh")
        .0
        .split_whitespace()
        .collect();
    for (name, _) in entry::TARGETS {
        let target_file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&target_file)
            .unwrap_or_else(|e| panic!("{}: {e}", target_file.display()));
        assert!(
            text.contains(&format!("cwmpscope_fuzz::{name}(data)")),
            "{} calls another entry point",
            target_file.display()
        );
        assert!(
            fuzz_dir().join("regressions").join(name).is_dir(),
            "fuzz/regressions/{name} is missing"
        );
        assert!(run_list.contains(name), "fuzz/run.sh does not run {name}");
    }
}

/// The seed inputs real captures give, by target.
fn seeds_of(capture: &str, keylog: Option<&str>) -> Vec<(&'static str, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let bytes = std::fs::read(root.join(capture)).expect("capture");
    let keylog = keylog.map(|k| std::fs::read(root.join(k)).expect("key log"));
    entry::seeds(&bytes, keylog.as_deref())
}

/// The largest figure the target's entry point reports over these inputs.
fn reach(seeds: &[(&str, Vec<u8>)], target: &str) -> usize {
    let run = entry::target(target).expect("a target");
    seeds
        .iter()
        .filter(|(t, _)| *t == target)
        .map(|(_, input)| run(input))
        .max()
        .unwrap_or_else(|| panic!("no seed for {target}"))
}

#[test]
fn a_real_cwmp_capture_reaches_every_clear_text_target() {
    // 42 frames, 3 connections, 18 HTTP messages, each in one segment (captures/README.md).
    let seeds = seeds_of("reference-config-update.pcap", None);
    assert_eq!(reach(&seeds, "capture_reader"), 42);
    // The frames as captured, and their IP packets under every other link type the decoder
    // reads (all but IPv6-only raw links, which refuse these IPv4 packets).
    let decoded: Vec<usize> = seeds
        .iter()
        .filter(|(t, _)| *t == "frame_decode")
        .map(|(_, input)| entry::frame_decode(input))
        .collect();
    assert_eq!(decoded.len(), cwmpscope::types::LinkType::DECODABLE.len());
    assert_eq!(
        decoded.iter().filter(|n| **n == 42).count(),
        decoded.len() - 1
    );
    assert_eq!(reach(&seeds, "tcp_reassembly"), 18);
    // One input per connection, and one recompressed exchange per SOAP request.
    let (mut as_captured, mut recompressed) = (0, Vec::new());
    for (target, input) in &seeds {
        if *target == "http_streams" {
            if input.windows(16).any(|w| w == b"Content-Encoding") {
                recompressed.push(entry::http_streams(input));
            } else {
                as_captured += entry::http_streams(input);
            }
        }
    }
    assert_eq!(as_captured, 18);
    assert!(
        !recompressed.is_empty() && recompressed.iter().all(|n| *n == 2),
        "{recompressed:?}"
    );
    // Two envelopes in one body (InformResponse and Download).
    assert_eq!(reach(&seeds, "cwmp_xml"), 2);
    // The ten Digest parameters of an Authorization header, read as credentials and as a
    // challenge.
    assert_eq!(reach(&seeds, "http_auth"), 20);
    // Two sessions and their configuration-update transaction.
    assert_eq!(reach(&seeds, "pipeline"), 3);
}

#[test]
fn a_real_tls_capture_with_its_key_log_reaches_decryption() {
    let keys = "tls/tls12-ecdhe-aes128gcm.keys";
    let seeds = seeds_of("tls/tls12-ecdhe-aes128gcm.pcap", Some(keys));
    assert!(reach(&seeds, "tls_streams") > 0, "no record decrypted");
    assert!(
        reach(&seeds, "tls_handshake") >= 4,
        "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone"
    );
    let entries = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(keys),
    )
    .expect("key log")
    .lines()
    .filter(|l| l.starts_with("CLIENT_RANDOM "))
    .count();
    assert_eq!(reach(&seeds, "tls_keylog"), entries);
    // The pcapng copy carries the key log in a Decryption Secrets Block: decrypted, its
    // connection gives a session the plain copy cannot.
    let outputs = |magic: &[u8]| {
        seeds
            .iter()
            .filter(|(t, input)| *t == "pipeline" && input.starts_with(magic))
            .map(|(_, input)| entry::pipeline(input))
            .max()
            .expect("a seed")
    };
    let (pcapng, pcap) = (
        outputs(&[0x0a, 0x0d, 0x0d, 0x0a]),
        outputs(&[0xd4, 0xc3, 0xb2, 0xa1]),
    );
    assert!(pcapng > pcap, "{pcapng} against {pcap}");
}

#[test]
fn the_input_reader_gives_zeros_past_the_end_and_never_more_than_is_left() {
    let mut fields = entry::Fields::new(&[1, 2, 3]);
    assert_eq!(fields.u16(), 0x0201);
    assert_eq!(fields.take(10), &[3]);
    assert_eq!((fields.u32(), fields.u8()), (0, 0));
    assert!(fields.is_empty());
}
