//! Errors a person can act on, from the binary: each is one line on stderr (`cwmpscope: `, the
//! file or interface, what is wrong and what to do), exit status 2, never a backtrace or Rust's
//! debug formatting, and nothing on stdout. Inputs that are not captures are named by what they
//! look like; a full disk fails the run without a success message; a closed stdout pipe ends it
//! quietly.

use crate::common::{self, running_as_root, unprivileged_cwmpscope};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cwmpscope"));
    command.stdin(Stdio::null());
    command
}

/// A fresh directory of this test (others may enter it, for the unprivileged runs).
fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cwmpscope-errors-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// Asserts the run failed with exactly one line on stderr containing every one of `words`, exit
/// status 2 and no report; returns the line.
#[track_caller]
fn one_line_error(out: &Output, words: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.ends_with('\n'), "{err:?}");
    let line = err.trim_end();
    assert!(line.starts_with("cwmpscope: "), "{line}");
    for word in words {
        assert!(line.contains(word), "`{line}` should say `{word}`");
    }
    for debug in [
        "panicked",
        "backtrace",
        "BACKTRACE",
        "Os {",
        "os error",
        "kind:",
        "Error {",
    ] {
        assert!(!line.contains(debug), "`{line}` shows `{debug}`");
    }
    assert!(out.stdout.is_empty(), "no report on stdout");
    line.to_owned()
}

/// `analyze`, `tui` and `extract` on `file`, each as the binary runs them.
fn every_command(file: &str, dir: &Path) -> Vec<(&'static str, Output)> {
    let extracted = dir.join("extracted.pcap");
    let run = |args: &[&str]| bin().args(args).output().expect("runs");
    vec![
        ("analyze", run(&["analyze", file])),
        ("tui", run(&["tui", file])),
        (
            "extract",
            run(&[
                "extract",
                file,
                "--transaction",
                "t1",
                "-w",
                extracted.to_str().unwrap(),
            ]),
        ),
    ]
}

#[track_caller]
fn every_command_fails_with(file: &str, dir: &Path, words: &[&str]) -> String {
    let mut lines = Vec::new();
    for (command, out) in every_command(file, dir) {
        let line = one_line_error(&out, words);
        eprintln!("{command}: {line}");
        lines.push(line);
    }
    assert!(
        lines.windows(2).all(|w| w[0] == w[1]),
        "every command says the same: {lines:#?}"
    );
    lines.swap_remove(0)
}

#[test]
fn a_missing_file_or_a_directory_gets_the_system_reason() {
    let dir = dir("missing");
    let missing = dir.join("nope.pcap");
    let line = every_command_fails_with(
        missing.to_str().unwrap(),
        &dir,
        &["nope.pcap: No such file or directory"],
    );
    assert_eq!(
        line,
        format!(
            "cwmpscope: {}: No such file or directory",
            missing.display()
        )
    );
    let sub = dir.join("captures");
    std::fs::create_dir(&sub).unwrap();
    every_command_fails_with(sub.to_str().unwrap(), &dir, &["captures: Is a directory"]);
    // Key files too.
    let capture = common::capture("reference-config-update.pcap");
    for option in ["--tls-keylog", "--tls-key"] {
        let out = bin()
            .args(["analyze", option])
            .arg(&missing)
            .arg(&capture)
            .output()
            .expect("runs");
        let line = one_line_error(&out, &[]);
        assert_eq!(
            line,
            format!(
                "cwmpscope: {option} {}: No such file or directory",
                missing.display()
            )
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_file_says_permission_denied() {
    let dir = dir("denied");
    let capture = std::fs::read(common::capture("reference-config-update.pcap")).unwrap();
    let path = write(&dir, "secret.pcap", &capture);
    // Root reads a file whatever its mode: as root the binary runs as `nobody` on a file only
    // root may read; otherwise the file's mode shuts its owner out.
    let mode = if running_as_root() { 0o600 } else { 0o000 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    for command in ["analyze", "tui"] {
        let (mut cwmpscope, _) = unprivileged_cwmpscope();
        let out = cwmpscope
            .args([command, path.as_str()])
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let line = one_line_error(&out, &["secret.pcap: Permission denied"]);
        assert_eq!(line, format!("cwmpscope: {path}: Permission denied"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A minimal pcap file header with this link type.
fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&linktype.to_le_bytes());
    header
}

/// A little-endian pcapng Section Header Block and an Interface Description Block of this link
/// type.
fn pcapng_header(linktype: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x0A0D_0D0Au32, 28, 0x1A2B_3C4D] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    bytes.extend_from_slice(&28u32.to_le_bytes());
    for word in [1u32, 20] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.extend_from_slice(&linktype.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&20u32.to_le_bytes());
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The JSON report of a shipped capture, as `analyze --format json` writes it.
fn json_report() -> Vec<u8> {
    let out = bin()
        .args(["analyze", "--format", "json"])
        .arg(common::capture("reference-config-update.pcap"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn an_input_that_is_not_a_capture_is_named_by_what_it_looks_like() {
    let dir = dir("not-a-capture");
    let report = json_report();
    let html = b"<!DOCTYPE html>\n<html><head><title>Sessions</title></head><body></body></html>\n";
    let tcpdump =
        b"12:34:56.789012 IP 10.0.0.1.7547 > 10.0.0.2.50000: Flags [S], seq 1, win 64240\n\
                    12:34:56.789200 IP 10.0.0.2.50000 > 10.0.0.1.7547: Flags [S.], seq 9, ack 2\n";
    let soap = b"<?xml version=\"1.0\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                 xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\"><soap:Body><cwmp:Inform/></soap:Body></soap:Envelope>\n";
    // A zip's local file header for an empty stored file `a.pcap`.
    let mut zip = b"PK\x03\x04\x0a\x00\x00\x00\x00\x00".to_vec();
    zip.extend_from_slice(&[0; 16]);
    zip.extend_from_slice(&[6, 0, 0, 0]);
    zip.extend_from_slice(b"a.pcap");
    let pcap = std::fs::read(common::capture("reference-config-update.pcap")).unwrap();
    let pcapng = std::fs::read(common::capture("tls/tls13-aes256gcm-keys.pcapng")).unwrap();
    let section_len = u32::from_le_bytes(pcapng[4..8].try_into().unwrap()) as usize;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "report.html",
            html.to_vec(),
            "not a capture (it looks like an HTML page); give a pcap or pcapng file",
        ),
        (
            "notes.txt",
            b"Capture of the CPE in the lab, see ticket\n".to_vec(),
            "not a capture (it looks like plain text); give a pcap or pcapng file",
        ),
        (
            "dump.txt",
            tcpdump.to_vec(),
            "not a capture (it looks like tcpdump's text output); record with `tcpdump -w FILE` to get a pcap",
        ),
        (
            "report.json",
            report.clone(),
            "not a capture (it looks like a cwmpscope JSON report); give the capture it was made from (pcap or pcapng)",
        ),
        (
            "inform.xml",
            soap.to_vec(),
            "not a capture (it looks like an XML SOAP message); give a pcap or pcapng file",
        ),
        (
            "report.json.gz",
            gzip(&report),
            "not a capture (it is gzip-compressed, and what it holds looks like a cwmpscope JSON report); give a pcap or pcapng file",
        ),
        (
            "captures.zip",
            zip,
            "not a capture (it is a zip archive); unzip it and give the capture inside",
        ),
        (
            "cut.pcap",
            pcap[..10].to_vec(),
            "pcap file cut short in its 24-byte file header (10 bytes); nothing to analyze",
        ),
        (
            "cut.pcapng",
            pcapng[..section_len + 10].to_vec(),
            "pcapng file cut short before its first packet; nothing to analyze",
        ),
        (
            "binary.dat",
            vec![0x00, 0x13, 0x37, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05],
            "not a capture (its first bytes are 00 13 37 ff fe 01 02 03); give a pcap or pcapng file",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = write(&dir, name, &bytes);
        let line = every_command_fails_with(&path, &dir, &[says]);
        assert_eq!(line, format!("cwmpscope: {path}: {says}"));
    }
    // The binary itself: an ELF executable.
    let exe = env!("CARGO_BIN_EXE_cwmpscope");
    let out = bin().args(["analyze", exe]).output().expect("runs");
    one_line_error(&out, &[exe, "not a capture (it is an ELF executable)"]);
    // The same from stdin.
    let out = bin()
        .args(["analyze", "-r", "-"])
        .stdin(std::fs::File::open(write(&dir, "stdin.html", html)).unwrap())
        .output()
        .expect("runs");
    one_line_error(&out, &["-: not a capture (it looks like an HTML page)"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unsupported_link_type_is_named_from_pcap_and_pcapng() {
    let dir = dir("link-type");
    let decodes = "cwmpscope decodes Ethernet, Linux cooked (SLL, SLL2), raw IPv4/IPv6";
    let pcap = write(&dir, "user0.pcap", &pcap_header(147));
    every_command_fails_with(
        &pcap,
        &dir,
        &["user0.pcap: unsupported link type 147 (USER0); ", decodes],
    );
    let pcapng = write(&dir, "radiotap.pcapng", &pcapng_header(127));
    every_command_fails_with(
        &pcapng,
        &dir,
        &[
            "radiotap.pcapng: unsupported link type 127 (IEEE802_11_RADIOTAP); ",
            decodes,
        ],
    );
    // A number without a name is given as it is.
    let unnamed = write(&dir, "unnamed.pcap", &pcap_header(4000));
    let out = bin().args(["analyze", &unnamed]).output().expect("runs");
    one_line_error(
        &out,
        &["unnamed.pcap: unsupported link type 4000; ", decodes],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens /dev/full for writing, the disk that is always full (Linux).
fn full_disk() -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new().write(true).open("/dev/full");
    assert!(
        file.is_ok() || !cfg!(target_os = "linux"),
        "/dev/full is there on Linux"
    );
    file.ok()
}

#[test]
fn a_full_disk_fails_the_report_on_stdout() {
    let capture = common::capture("reference-config-update.pcap");
    // A large report (written while analyzing), and a small one (written by the last flush).
    for args in [
        &["analyze", "--format", "json"][..],
        &["analyze", "--format", "ndjson"],
        &["analyze", "--summary"],
    ] {
        let Some(full) = full_disk() else { return };
        let out = bin()
            .args(args)
            .arg(&capture)
            .stdout(full)
            .output()
            .expect("runs");
        let line = one_line_error(&out, &["standard output: No space left on device"]);
        assert_eq!(line, "cwmpscope: standard output: No space left on device");
    }
    let Some(full) = full_disk() else { return };
    let out = bin()
        .args(["analyze", "--format", "json", "-r", "-"])
        .stdin(std::fs::File::open(&capture).unwrap())
        .stdout(full)
        .output()
        .expect("runs");
    one_line_error(&out, &["standard output: No space left on device"]);
}

#[test]
fn a_full_disk_fails_extract_without_a_success_message() {
    if full_disk().is_none() {
        return;
    }
    let capture = common::capture("reference-config-update.pcap");
    let out = bin()
        .args([
            "extract",
            &capture,
            "--transaction",
            "t1",
            "-w",
            "/dev/full",
        ])
        .output()
        .expect("runs");
    let line = one_line_error(&out, &["/dev/full: No space left on device"]);
    assert!(!line.contains("extracted"));
    // The failed output is removed only when it is a regular file: the device stays.
    let device = std::fs::metadata("/dev/full").expect("/dev/full is still there");
    assert!(device.file_type().is_char_device());

    // The pcap written, its JSON report beside it on a full disk.
    let dir = dir("extract-full");
    std::os::unix::fs::symlink("/dev/full", dir.join("t1.json")).unwrap();
    let pcap = dir.join("t1.pcap");
    let out = bin()
        .args(["extract", &capture, "--transaction", "t1", "-w"])
        .arg(&pcap)
        .output()
        .expect("runs");
    one_line_error(&out, &["t1.json: No space left on device"]);
    assert!(pcap.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_pipe_ends_the_run_quietly() {
    // Its report is larger than the output buffer, in every format: it meets the closed pipe
    // while serializing, not only at the last flush.
    let capture = common::capture("third-party/cwmp_sim_fleet5.pcap");
    for format in ["text", "json", "ndjson"] {
        let (reader, writer) = std::io::pipe().unwrap();
        // Nobody reads: every write fails with a broken pipe.
        drop(reader);
        let out = bin()
            .args(["analyze", "--format", format, &capture])
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
    // As in a pipeline: the reader goes away after the first line.
    let mut child = bin()
        .args(["analyze", "--format", "ndjson", &capture])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with('{'), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
