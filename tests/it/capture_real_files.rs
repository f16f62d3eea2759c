//! Reads the real captures shipped beside the project and checks frame counts (from the
//! captures' READMEs), TCP decoding of every frame, and that the same capture gives the same
//! frames whatever its container: pcap, nanosecond pcap, pcapng, gzip, or split into rotated
//! files and merged back.
//!
//! The format conversions use Wireshark's command-line tools (`tshark`, `editcap`) as an
//! independent writer; CI installs them.

use crate::common;

use cwmpscope::capture::{CaptureReader, InputSpec, MergedReader};
use cwmpscope::types::Nanos;
use cwmpscope::wire::{Decoded, Decoder};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");

/// (directory, file, frames): the "frames" and "packets" columns of captures/README.md.
const EXPECTED: &[(&str, &str, u64)] = &[
    ("third-party", "cwmp_sim_digest_config_update.pcap", 88),
    (
        "third-party",
        "genieacs_genieacs_sim_config_update.pcap",
        63,
    ),
    ("third-party", "netcwmp_digest_session.pcap", 56),
    ("third-party", "cwmp_sim_fleet5.pcap", 402),
    ("third-party", "cwmp_sim_firmware_nginx.pcap", 280),
    (
        "public",
        "arkime_wireshark-retrans_xml-post-chunked.pcap",
        108,
    ),
    ("public", "zeek_http_100-continue.pcap", 66),
    (
        "public",
        "zeek_http_1000-requests-one-dropped-response.pcap",
        4102,
    ),
    ("public", "zeek_http_m57-long-49583-80.pcap", 227),
    ("public", "zeek_http_pipelined-requests.pcap", 49),
    ("public", "zeek_http_zero-length-bodies-with-drops.pcap", 44),
    ("public", "zeek_tcp_handshake-reorder.pcap", 14),
];

fn capture(dir: &str, file: &str) -> PathBuf {
    Path::new(CAPTURES).join(dir).join(file)
}

/// (timestamp, bytes) of every frame.
fn frames_of(reader: &mut CaptureReader) -> Vec<(Nanos, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame().expect("readable capture") {
        assert_eq!(f.frame.number, out.len() as u64 + 1);
        out.push((f.ts, f.data.to_vec()));
    }
    assert!(reader.warning().is_none(), "{:?}", reader.warning());
    out
}

fn open(path: &Path) -> CaptureReader {
    CaptureReader::open(&InputSpec::Path(path.to_path_buf()), 0).expect("capture opens")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn run(cmd: &mut Command) {
    let status = cmd.status().expect("tool runs");
    assert!(status.success(), "{cmd:?} failed");
}

#[test]
fn real_captures_have_the_documented_frame_counts_and_all_decode_to_tcp() {
    for &(dir, file, expected) in EXPECTED {
        let mut reader = open(&capture(dir, file));
        let mut decoder = Decoder::new();
        let mut frames = 0u64;
        let mut tcp = 0u64;
        while let Some(frame) = reader.next_frame().expect("readable capture") {
            frames += 1;
            match decoder.decode(&frame) {
                // A mirrored copy (some public captures hold every packet twice) is TCP too.
                Decoded::Tcp(segment) | Decoded::MirrorCopy(segment) => {
                    tcp += 1;
                    assert_eq!(segment.payload_cut, 0, "{file} frame {frames}");
                }
                other => panic!("{file} frame {frames}: {other:?}"),
            }
        }
        assert_eq!(frames, expected, "{file}");
        assert_eq!(tcp, expected, "{file}");
        assert!(reader.warning().is_none(), "{file}");
    }
}

#[test]
#[cfg_attr(
    not(all(have_tshark, have_editcap)),
    ignore = "needs tshark and editcap (apt-get install tshark)"
)]
fn same_frames_from_pcapng_nanosecond_pcap_and_gzip() {
    if !common::oracle_available("tshark") || !common::oracle_available("editcap") {
        return;
    }
    let original = capture("third-party", "cwmp_sim_digest_config_update.pcap");
    let reference = frames_of(&mut open(&original));
    let dir = scratch_dir("capture_formats");

    let ng = dir.join("converted.pcapng");
    run(Command::new("tshark")
        .arg("-r")
        .arg(&original)
        .args(["-F", "pcapng", "-w"])
        .arg(&ng));
    assert_eq!(frames_of(&mut open(&ng)), reference, "pcapng");

    let nsec = dir.join("converted.nsec.pcap");
    run(Command::new("editcap")
        .args(["-F", "nsecpcap"])
        .arg(&original)
        .arg(&nsec));
    assert_eq!(frames_of(&mut open(&nsec)), reference, "nanosecond pcap");

    let gz = dir.join("converted.pcapng.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&std::fs::read(&ng).expect("converted file"))
        .expect("compress");
    std::fs::write(&gz, encoder.finish().expect("compress")).expect("write gzip");
    assert_eq!(frames_of(&mut open(&gz)), reference, "gzip");
}

#[test]
#[cfg_attr(
    not(all(have_tshark, have_editcap)),
    ignore = "needs tshark and editcap (apt-get install tshark)"
)]
fn rotated_files_merge_back_into_the_original_timeline() {
    if !common::oracle_available("tshark") || !common::oracle_available("editcap") {
        return;
    }
    let original = capture("third-party", "cwmp_sim_fleet5.pcap");
    let reference = frames_of(&mut open(&original));
    assert!(reference.windows(2).all(|w| w[0].0 <= w[1].0));
    let dir = scratch_dir("capture_rotated");
    run(Command::new("editcap")
        .args(["-c", "50"])
        .arg(&original)
        .arg(dir.join("part.pcap")));
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("split files")
        .map(|e| e.expect("entry").path())
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 9);

    let merge = |paths: &[PathBuf]| {
        let readers = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                CaptureReader::open(&InputSpec::Path(p.clone()), i as u16).expect("part opens")
            })
            .collect();
        let mut merged = MergedReader::new(readers).expect("merge");
        let mut out = Vec::new();
        while let Some(f) = merged.next_frame().expect("readable parts") {
            out.push((f.ts, f.data.to_vec()));
        }
        assert!(merged.warnings().is_empty());
        out
    };
    assert_eq!(merge(&parts), reference);

    // Given in reverse order, the timeline is still in time order with every frame present.
    parts.reverse();
    let reversed = merge(&parts);
    assert!(reversed.windows(2).all(|w| w[0].0 <= w[1].0));
    let mut a = reversed;
    let mut b = reference;
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn a_real_capture_cut_mid_packet_keeps_the_frames_before_the_cut() {
    let original = capture("third-party", "netcwmp_digest_session.pcap");
    let bytes = std::fs::read(&original).expect("capture");
    let dir = scratch_dir("capture_cut");
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).expect("write cut copy");
    let mut reader = open(&cut);
    let mut frames = 0u64;
    while reader
        .next_frame()
        .expect("a cut is not an error")
        .is_some()
    {
        frames += 1;
    }
    assert_eq!(frames, 55);
    assert_eq!(
        reader.warning(),
        Some(&cwmpscope::capture::InputWarning::Cut {
            path: cut.display().to_string(),
            frames: 55
        })
    );
}
