//! Generated captures read back by tshark: every link type, IPv6, VLAN/QinQ, pcapng,
//! nanosecond pcap, gzip and split output give the reference flow's HTTP message counts, and so
//! do mangled renderings of the same flow.

use crate::common;

use cwmpscope_synth::conversation::{Profile, Segmentation};
use cwmpscope_synth::cwmp::{CwmpOptions, Flow, reference_flow};
use cwmpscope_synth::packet::{LinkEncap, VlanTags};
use cwmpscope_synth::types::LinkType;
use cwmpscope_synth::writer::{
    Format, FrameSink, Interface, OutputOptions, PcapNgWriter, TsResolution,
};
use cwmpscope_synth::{capture_bytes, write_capture_files};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("cwmpscope-synth-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs tshark on `file` with `args`, returning its standard output. Out-of-order reassembly is
/// enabled and port 7547 is decoded as HTTP (tshark only guesses it from a whole first line).
fn tshark(file: &Path, args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(["-n", "-o", "tcp.reassemble_out_of_order:TRUE"])
        .args(["-d", "tcp.port==7547,http", "-r"])
        .arg(file)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("these tests need tshark on the PATH (e.g. apt-get install tshark): {e}")
        });
    assert!(
        output.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// (HTTP requests, HTTP responses) as tshark sees them.
fn http_counts(file: &Path) -> (usize, usize) {
    let out = tshark(
        file,
        &[
            "-Y",
            "http",
            "-T",
            "fields",
            "-e",
            "http.request.method",
            "-e",
            "http.response.code",
        ],
    );
    let mut counts = (0, 0);
    for line in out.lines() {
        let mut fields = line.split('\t');
        if fields.next().is_some_and(|f| !f.is_empty()) {
            counts.0 += 1;
        }
        if fields.next().is_some_and(|f| !f.is_empty()) {
            counts.1 += 1;
        }
    }
    counts
}

fn write(
    dir: &TempDir,
    name: &str,
    flow: &Flow,
    profile: &Profile,
    output: &OutputOptions,
) -> PathBuf {
    let path = dir.path(name);
    let (report, files) =
        write_capture_files(flow.connections.clone(), profile, output, &path).expect("write");
    assert_eq!(files, vec![path.clone()]);
    assert!(report.frames > 0);
    path
}

/// Runs `check` on each item on two threads (tshark start-up dominates the run time).
fn in_parallel<T: Sync>(items: &[T], check: impl Fn(&T) + Sync) {
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        s.spawn(|| a.iter().for_each(&check));
        b.iter().for_each(&check);
    });
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn every_link_type_and_container_gives_the_reference_http_counts() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("links");
    let flow = reference_flow(&CwmpOptions::default());
    let expected = (flow.http_requests as usize, flow.http_responses as usize);
    assert_eq!(expected, (9, 9));
    let pcap = OutputOptions::default();
    let cases: Vec<(&str, LinkEncap, bool, OutputOptions)> = vec![
        ("eth.pcap", LinkEncap::default(), false, pcap),
        ("eth6.pcap", LinkEncap::default(), true, pcap),
        (
            "vlan.pcap",
            LinkEncap::Ethernet(VlanTags::Single(100)),
            false,
            pcap,
        ),
        (
            "qinq6.pcap",
            LinkEncap::Ethernet(VlanTags::QinQ {
                outer: 10,
                inner: 20,
            }),
            true,
            pcap,
        ),
        ("sll.pcap", LinkEncap::LinuxSll, false, pcap),
        ("sll2.pcap", LinkEncap::LinuxSll2, true, pcap),
        ("null.pcap", LinkEncap::Null, false, pcap),
        ("loop.pcap", LinkEncap::Loop, true, pcap),
        ("raw.pcap", LinkEncap::Raw, false, pcap),
        (
            "nano.pcap",
            LinkEncap::default(),
            false,
            OutputOptions {
                resolution: TsResolution::Nano,
                ..pcap
            },
        ),
        (
            "ng.pcapng",
            LinkEncap::LinuxSll2,
            false,
            OutputOptions {
                format: Format::PcapNg,
                resolution: TsResolution::Nano,
                ..pcap
            },
        ),
        (
            "ng.pcapng.gz",
            LinkEncap::default(),
            true,
            OutputOptions {
                format: Format::PcapNg,
                gzip: true,
                ..pcap
            },
        ),
        (
            "gz.pcap.gz",
            LinkEncap::Null,
            false,
            OutputOptions { gzip: true, ..pcap },
        ),
    ];
    in_parallel(&cases, |(name, link, ipv6, output)| {
        let mut profile = Profile::clean(7);
        profile.links = vec![*link];
        profile.ipv6 = *ipv6;
        let path = write(&dir, name, &flow, &profile, output);
        assert_eq!(http_counts(&path), expected, "{name}");
    });
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn checksums_are_valid_for_tshark() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("checksums");
    let flow = reference_flow(&CwmpOptions::default());
    for ipv6 in [false, true] {
        let mut profile = Profile::clean(3);
        profile.ipv6 = ipv6;
        profile.fragment_payload = Some(500);
        let path = write(&dir, "c.pcap", &flow, &profile, &OutputOptions::default());
        let out = tshark(
            &path,
            &[
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
                "-Y",
                "tcp.checksum.status != 1 || ip.checksum.status == 2 || _ws.malformed",
            ],
        );
        assert_eq!(out.trim(), "", "frames with bad checksums (ipv6={ipv6})");
    }
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn mangled_renderings_give_the_same_http_counts() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("mangled");
    let options = CwmpOptions {
        connection_request: true,
        cookie_across_connections: true,
        max_envelopes: 1,
        ..CwmpOptions::default()
    };
    let flow = reference_flow(&options);
    let clean = write(
        &dir,
        "clean.pcap",
        &flow,
        &Profile::clean(1),
        &OutputOptions::default(),
    );
    let expected = http_counts(&clean);
    assert_eq!(
        expected,
        (flow.http_requests as usize, flow.http_responses as usize)
    );
    let mut tiny = Profile::awkward(5);
    tiny.segmentation = Segmentation::Mss(1);
    tiny.fragment_payload = None;
    let mut fragments_v6 = Profile::awkward(6);
    fragments_v6.ipv6 = true;
    fragments_v6.fragment_payload = Some(64);
    let profiles = vec![
        ("awk1.pcap", Profile::awkward(1)),
        ("awk2.pcap", Profile::awkward(2)),
        ("tiny.pcap", tiny),
        ("frag6.pcap", fragments_v6),
    ];
    in_parallel(&profiles, |(name, profile)| {
        let path = write(&dir, name, &flow, profile, &OutputOptions::default());
        assert_eq!(http_counts(&path), expected, "{name}");
        if profile.retransmit > 0.0 {
            let retrans = tshark(&path, &["-Y", "tcp.analysis.retransmission"]);
            assert!(
                !retrans.trim().is_empty(),
                "{name}: tshark sees retransmissions"
            );
        }
    });
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn split_output_spreads_frames_over_readable_files() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("split");
    let flow = reference_flow(&CwmpOptions::default());
    let profile = Profile::clean(2);
    let base = dir.path("s.pcapng.gz");
    let output = OutputOptions {
        format: Format::PcapNg,
        gzip: true,
        frames_per_file: Some(25),
        ..OutputOptions::default()
    };
    let (report, files) =
        write_capture_files(flow.connections.clone(), &profile, &output, &base).unwrap();
    assert_eq!(files.len() as u64, report.frames.div_ceil(25));
    assert_eq!(files[1], dir.path("s.pcapng.gz1"));
    let total: usize = files
        .iter()
        .map(|f| {
            tshark(f, &["-T", "fields", "-e", "frame.number"])
                .lines()
                .count()
        })
        .sum();
    assert_eq!(total as u64, report.frames);
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn pcapng_with_two_interfaces_of_different_link_types_and_resolutions() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("ifaces");
    let flow = reference_flow(&CwmpOptions::default());
    let mut profile = Profile::clean(4);
    profile.links = vec![LinkEncap::default(), LinkEncap::LinuxSll2];
    // Per-interface resolutions through the lower-level writer.
    let path = dir.path("two.pcapng");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let interfaces = [
        Interface {
            link: LinkType::ETHERNET,
            resolution: TsResolution::Micro,
        },
        Interface {
            link: LinkType::LINUX_SLL2,
            resolution: TsResolution::Nano,
        },
    ];
    let mut writer = PcapNgWriter::new(file, &interfaces).unwrap();
    cwmpscope_synth::conversation::render(flow.connections.clone(), &profile, &mut writer).unwrap();
    writer.finish().unwrap();
    drop(writer);
    assert_eq!(http_counts(&path), (9, 9));
    let encaps = tshark(&path, &["-T", "fields", "-e", "frame.interface_id"]);
    assert!(encaps.lines().any(|l| l == "0") && encaps.lines().any(|l| l == "1"));
}

#[test]
fn generation_is_deterministic_per_seed() {
    let flow = |seed| {
        reference_flow(&CwmpOptions {
            seed,
            ..CwmpOptions::default()
        })
    };
    let bytes = |flow_seed, profile_seed| {
        capture_bytes(
            flow(flow_seed).connections,
            &Profile::awkward(profile_seed),
            &OutputOptions::default(),
        )
        .unwrap()
        .1
    };
    assert_eq!(bytes(1, 1), bytes(1, 1));
    assert_ne!(bytes(1, 1), bytes(1, 2), "transport seed changes the bytes");
    assert_ne!(bytes(1, 1), bytes(2, 1), "flow seed changes the bytes");
}

#[test]
#[cfg_attr(not(have_tshark), ignore = "needs tshark (apt-get install tshark)")]
fn capture_loss_is_reported_and_the_capture_stays_readable() {
    if !common::oracle_available("tshark") {
        return;
    }
    let dir = TempDir::new("loss");
    let flow = reference_flow(&CwmpOptions::default());
    let mut profile = Profile::clean(8);
    profile.loss = 0.3;
    profile.segmentation = Segmentation::Mss(200);
    let path = dir.path("loss.pcap");
    let (report, _) =
        write_capture_files(flow.connections, &profile, &OutputOptions::default(), &path).unwrap();
    assert!(!report.lost.is_empty());
    let lost_total: u64 = report.lost.iter().map(|l| l.len).sum();
    assert!(lost_total > 0);
    let out = tshark(
        &path,
        &[
            "-Y",
            "tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment",
        ],
    );
    assert!(!out.trim().is_empty(), "tshark notices the capture gap");
}
