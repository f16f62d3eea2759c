//! `cwmpscope-capgen`: writes deterministic synthetic CWMP captures (same seed, same bytes).

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use cwmpscope_synth::adversarial::{self, Kind};
use cwmpscope_synth::campaign::{CampaignOptions, write_campaign, write_campaign_to};
use cwmpscope_synth::conversation::{Profile, SECOND, Segmentation};
use cwmpscope_synth::cwmp::{CwmpOptions, FileServerReply, Flow, fleet_flow};
use cwmpscope_synth::http::AuthScheme;
use cwmpscope_synth::packet::{LinkEncap, VlanTags};
use cwmpscope_synth::write_capture_files;
use cwmpscope_synth::writer::{Format, OutputOptions, TsResolution};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Generate synthetic TR-069 (CWMP) captures, deterministic for a given seed.
///
/// Example: cwmpscope-capgen reference --seed 7 --profile awkward --ipv6 --vlan 100 --vlan 200
/// --format pcapng --gzip --frames-per-file 40 -o out.pcapng
///
/// Split files are named like tcpdump's: out.pcapng, out.pcapng1, out.pcapng2, ...
///
/// Benchmark capture: cwmpscope-capgen bench --size 1G --seed 1 -o campaign.pcap
///
/// Hostile inputs: cwmpscope-capgen adversarial --list; cwmpscope-capgen adversarial syn-flood
/// -o flood.pcap
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// The configuration-update reference flow: Inform, Digest challenge, InformResponse +
    /// Download, DownloadResponse, file fetch, TRANSFER COMPLETE session (and variants).
    Reference {
        #[command(flatten)]
        flow: FlowArgs,
        #[command(flatten)]
        transport: TransportArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The benchmark capture: a provisioning campaign (thousands of CPEs running the reference
    /// flow and its variants, a few percent failing, sessions overlapping) with unrelated web
    /// and TLS traffic, written as a stream until the file reaches --size.
    Bench {
        /// Capture size to reach: bytes, or with a K, M or G suffix (powers of 1024).
        #[arg(long, default_value = "1G", value_parser = parse_size)]
        size: u64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (pcap); `-` writes to standard output (then the counts line goes to
        /// standard error too).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// A hostile input for robustness tests: one KIND (see --list) of flood, endless or huge
    /// HTTP unit, deep or self-expanding XML, lying lengths or timestamps, gzip bomb, oversized
    /// TLS record, or junk TLS key log. Deterministic for a seed, written as a stream.
    Adversarial {
        /// What to write (see --list).
        #[arg(value_parser = parse_kind, required_unless_present = "list")]
        kind: Option<Kind>,
        /// List the kinds and what each writes.
        #[arg(long)]
        list: bool,
        /// Factor applied to the large sizes (1: the full sizes of --list; 0.01: a hundredth).
        #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
        scale: f64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// keylog-junk: a real key log whose lines are spread among the junk.
        #[arg(long, value_name = "FILE")]
        keylog: Option<PathBuf>,
        /// Output file, or - for standard output.
        #[arg(short, long, required_unless_present = "list")]
        output: Option<PathBuf>,
    },
}

/// A kind of hostile input by name.
fn parse_kind(name: &str) -> Result<Kind, String> {
    Kind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown kind {name:?}; one of: {}", names.join(", "))
    })
}

/// A scale factor: a number above 0, at most 1.
fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("not a scale above 0 and at most 1: {text:?}")),
    }
}

/// Parses `1500`, `64K`, `200M`, `1G` (powers of 1024; a trailing `B` or `iB` is accepted).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (t.get(..i), 10),
        Some((i, 'm' | 'M')) => (t.get(..i), 20),
        Some((i, 'g' | 'G')) => (t.get(..i), 30),
        Some((i, 't' | 'T')) => (t.get(..i), 40),
        _ => (Some(t), 0),
    };
    let value: u64 = digits
        .unwrap_or_default()
        .parse()
        .map_err(|_| format!("not a size: {text:?} (examples: 500M, 1G)"))?;
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

#[derive(clap::Args, Debug)]
struct FlowArgs {
    /// ACS authentication scheme.
    #[arg(long, value_enum, default_value_t = Auth::Digest)]
    auth: Auth,
    /// File-server authentication scheme.
    #[arg(long, value_enum, default_value_t = Auth::Digest)]
    file_auth: Auth,
    /// MaxEnvelopes of the CPE (1: the Download comes in answer to an empty POST).
    #[arg(long, default_value_t = 2)]
    max_envelopes: u32,
    /// The ACS sets a cookie and the CPE continues the session on a new TCP connection.
    #[arg(long)]
    cookie: bool,
    /// Firmware image (FileType 1, reboot, new SoftwareVersion) instead of a configuration file.
    #[arg(long)]
    firmware: bool,
    /// DownloadResponse Status (0: fetched during the session, no TRANSFER COMPLETE session).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    download_status: u8,
    /// Start with an ACS Connection Request to the CPE (port 7547).
    #[arg(long)]
    connection_request: bool,
    /// End sessions with 204 No Content instead of 200 with an empty body.
    #[arg(long)]
    empty_204: bool,
    /// File size in bytes (default: 1025 for a configuration file, 300000 for firmware).
    #[arg(long)]
    file_size: Option<u64>,
    /// Download CommandKey.
    #[arg(long)]
    command_key: Option<String>,
    /// How the file server meets the fetch: it serves the file, never answers the CPE's SYN,
    /// or refuses it with a RST (in both failures the CPE reports fault 9015).
    #[arg(long, value_enum, default_value_t = FileServer::Serves)]
    file_server: FileServer,
    /// Number of CPEs running the flow (staggered starts, distinct serials and addresses).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    cpes: u32,
}

#[derive(clap::Args, Debug)]
struct TransportArgs {
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Transport profile: clean, or awkward (random segment sizes, reordering,
    /// retransmissions, overlaps, reversed IP fragments).
    #[arg(long, value_enum, default_value_t = ProfileName::Clean)]
    profile: ProfileName,
    /// Fixed maximum segment size (overrides the profile's segmentation).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    mss: Option<u16>,
    /// Probability of swapping a data segment with the next one.
    #[arg(long)]
    reorder: Option<f64>,
    /// Probability of retransmitting a data segment.
    #[arg(long)]
    retransmit: Option<f64>,
    /// Probability of an overlapping retransmission.
    #[arg(long)]
    overlap: Option<f64>,
    /// Probability of losing a data segment from the capture.
    #[arg(long)]
    loss: Option<f64>,
    /// Fragment IP datagrams whose payload exceeds N bytes (0 disables).
    #[arg(long)]
    fragment: Option<usize>,
    /// Emit IP fragments in order (default with --fragment: reversed).
    #[arg(long)]
    fragments_in_order: bool,
    /// Link type.
    #[arg(long, value_enum, default_value_t = Link::Ethernet)]
    link: Link,
    /// 802.1Q VLAN id on Ethernet; give it twice for QinQ (outer, then inner).
    #[arg(long, num_args = 1, action = clap::ArgAction::Append)]
    vlan: Vec<u16>,
    /// Use IPv6 (IPv4 addresses mapped into 2001:db8::/96).
    #[arg(long)]
    ipv6: bool,
}

#[derive(clap::Args, Debug)]
struct OutputArgs {
    /// Container format.
    #[arg(long, value_enum, default_value_t = FormatName::Pcap)]
    format: FormatName,
    /// Nanosecond timestamps (default: microseconds).
    #[arg(long)]
    nanos: bool,
    /// Gzip-compress the output.
    #[arg(long)]
    gzip: bool,
    /// Start a new file every N frames.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    frames_per_file: Option<u64>,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Auth {
    Digest,
    Basic,
    None,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FileServer {
    Serves,
    Unanswered,
    Refused,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileName {
    Clean,
    Awkward,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Link {
    Ethernet,
    Sll,
    Sll2,
    Null,
    Loop,
    Raw,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatName {
    Pcap,
    Pcapng,
}

impl From<Auth> for AuthScheme {
    fn from(a: Auth) -> Self {
        match a {
            Auth::Digest => AuthScheme::Digest,
            Auth::Basic => AuthScheme::Basic,
            Auth::None => AuthScheme::None,
        }
    }
}

fn profile_of(args: &TransportArgs) -> anyhow::Result<Profile> {
    let mut p = match args.profile {
        ProfileName::Clean => Profile::clean(args.seed),
        ProfileName::Awkward => Profile::awkward(args.seed),
    };
    if let Some(mss) = args.mss {
        p.segmentation = Segmentation::Mss(usize::from(mss));
    }
    for (value, slot, name) in [
        (args.reorder, &mut p.reorder, "--reorder"),
        (args.retransmit, &mut p.retransmit, "--retransmit"),
        (args.overlap, &mut p.overlap, "--overlap"),
        (args.loss, &mut p.loss, "--loss"),
    ] {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) {
                bail!("{name} must be a probability between 0 and 1, got {v}");
            }
            *slot = v;
        }
    }
    match args.fragment {
        Some(0) => p.fragment_payload = None,
        Some(n) => p.fragment_payload = Some(n),
        None => {}
    }
    if args.fragments_in_order {
        p.fragments_reversed = false;
    }
    let tags = match args.vlan.as_slice() {
        [] => VlanTags::None,
        [id] => VlanTags::Single(*id),
        [outer, inner] => VlanTags::QinQ {
            outer: *outer,
            inner: *inner,
        },
        _ => bail!("--vlan may be given at most twice (QinQ)"),
    };
    if tags != VlanTags::None && !matches!(args.link, Link::Ethernet) {
        bail!("--vlan needs --link ethernet");
    }
    p.links = vec![match args.link {
        Link::Ethernet => LinkEncap::Ethernet(tags),
        Link::Sll => LinkEncap::LinuxSll,
        Link::Sll2 => LinkEncap::LinuxSll2,
        Link::Null => LinkEncap::Null,
        Link::Loop => LinkEncap::Loop,
        Link::Raw => LinkEncap::Raw,
    }];
    p.ipv6 = args.ipv6;
    Ok(p)
}

fn flow_of(args: &FlowArgs, seed: u64) -> Flow {
    let mut o = if args.firmware {
        CwmpOptions::firmware()
    } else {
        CwmpOptions::default()
    };
    o.seed = seed;
    // Responses carry their request's cwmp:ID, as TR-069 requires (the library's default
    // keeps the captures of the tests' seeds as they were).
    o.echo_request_ids = true;
    o.acs_auth = args.auth.into();
    o.file_auth = args.file_auth.into();
    o.max_envelopes = args.max_envelopes.max(1);
    o.cookie_across_connections = args.cookie;
    o.download_status = args.download_status;
    o.connection_request = args.connection_request;
    if args.empty_204 {
        o.empty_response_status = 204;
    }
    if let Some(size) = args.file_size {
        o.file_size = size;
    }
    if let Some(key) = &args.command_key {
        o.command_key.clone_from(key);
    }
    let unreachable = match args.file_server {
        FileServer::Serves => None,
        FileServer::Unanswered => Some(FileServerReply::Unanswered),
        FileServer::Refused => Some(FileServerReply::Refused),
    };
    if let Some(reply) = unreachable {
        o.quirks.file_server_reply = reply;
        o.quirks.transfer_fault = Some((9015, "Unable to contact file server".into()));
    }
    fleet_flow(&o, args.cpes)
}

fn bench(size: u64, seed: u64, output: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let opts = CampaignOptions::new(seed, size);
    let to_stdout = output == Path::new("-");
    let report = if to_stdout {
        let out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
        write_campaign_to(&opts, &OutputOptions::default(), out).context("writing to stdout")?
    } else {
        write_campaign(&opts, &OutputOptions::default(), output)
            .with_context(|| format!("writing {}", output.display()))?
    };
    let s = &report.stats;
    let payload = s.payload.total().max(1) as f64;
    let share = |n: u64| 100.0 * n as f64 / payload;
    let span = match (report.first_ts, report.last_ts) {
        (Some(a), Some(b)) => (b - a) as f64 / SECOND as f64,
        _ => 0.0,
    };
    let name = if to_stdout {
        "standard output".to_owned()
    } else {
        output.display().to_string()
    };
    eprintln!("wrote {name} in {:.1} s", started.elapsed().as_secs_f64());
    eprintln!(
        "cpes {}  transactions {} (success {}, failed {}, incomplete {})",
        s.cpes,
        s.transactions(),
        s.success,
        s.failed,
        s.incomplete
    );
    let scenarios: Vec<String> = s
        .by_scenario
        .iter()
        .map(|(k, n)| format!("{k:?} {n}"))
        .collect();
    eprintln!("scenarios: {}", scenarios.join(", "));
    eprintln!(
        "connections {} (web {} with {} requests, tls {}), cwmp http requests {}",
        s.connections, s.web_connections, s.web_requests, s.tls_connections, s.cwmp_http_requests
    );
    eprintln!(
        "payload: files {:.1} %, cwmp {:.1} %, web {:.1} %, tls {:.1} % of {} bytes",
        share(s.payload.files),
        share(s.payload.cwmp),
        share(s.payload.web),
        share(s.payload.tls),
        s.payload.total()
    );
    eprintln!(
        "frames {}  bytes {}  capture time {:.0} s",
        report.frames, report.bytes, span
    );
    // One machine-readable line for scripts (on stderr when the capture is on stdout).
    let counts = format!(
        "cpes={} transactions={} success={} failed={} incomplete={} frames={} bytes={}",
        s.cpes,
        s.transactions(),
        s.success,
        s.failed,
        s.incomplete,
        report.frames,
        report.bytes
    );
    if to_stdout {
        eprintln!("{counts}");
    } else {
        println!("{counts}");
    }
    Ok(())
}

/// Peak resident memory of this process in KiB (Linux: VmHWM), if known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn adversarial_input(kind: Kind, opts: &adversarial::Options, output: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let to_stdout = output.as_os_str() == "-";
    let written = if to_stdout {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let written = adversarial::write(kind, opts, &mut out)?;
        out.flush()?;
        written
    } else {
        let file = std::fs::File::create(output)
            .with_context(|| format!("creating {}", output.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let written = adversarial::write(kind, opts, &mut out)
            .with_context(|| format!("writing {}", output.display()))?;
        out.flush()?;
        written
    };
    let expanded = if written.expanded != written.bytes {
        format!(" ({} uncompressed)", written.expanded)
    } else {
        String::new()
    };
    let unit = if kind == Kind::KeylogJunk {
        "lines"
    } else {
        "frames"
    };
    let peak = peak_rss_kib()
        .map(|kib| format!(", peak memory {} MiB", kib.div_ceil(1024)))
        .unwrap_or_default();
    eprintln!(
        "wrote {} to {}: {} {unit}, {} bytes{expanded} in {:.1} s{peak}",
        kind.name(),
        output.display(),
        written.frames,
        written.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.scenario {
        Scenario::Adversarial {
            kind,
            list,
            scale,
            seed,
            keylog,
            output,
        } => {
            if list {
                for k in Kind::ALL {
                    println!("{:<20} {}", k.name(), k.about());
                }
                return Ok(());
            }
            let (Some(kind), Some(output)) = (kind, output) else {
                bail!("give a KIND and -o FILE (or --list)");
            };
            let keylog_lines = match keylog {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            };
            let opts = adversarial::Options {
                scale,
                seed,
                keylog_lines,
            };
            adversarial_input(kind, &opts, &output)
        }
        Scenario::Bench { size, seed, output } => bench(size, seed, &output),
        Scenario::Reference {
            flow,
            transport,
            output,
        } => {
            let profile = profile_of(&transport)?;
            let built = flow_of(&flow, transport.seed);
            let options = OutputOptions {
                format: match output.format {
                    FormatName::Pcap => Format::Pcap,
                    FormatName::Pcapng => Format::PcapNg,
                },
                resolution: if output.nanos {
                    TsResolution::Nano
                } else {
                    TsResolution::Micro
                },
                gzip: output.gzip,
                frames_per_file: output.frames_per_file,
            };
            let (report, files) =
                write_capture_files(built.connections, &profile, &options, &output.output)
                    .with_context(|| format!("writing {}", output.output.display()))?;
            eprintln!(
                "{} frames, {} connections, {} HTTP requests, {} HTTP responses, {} lost \
                 ranges, {} file(s): {}",
                report.frames,
                report.connections,
                built.http_requests,
                built.http_responses,
                report.lost.len(),
                files.len(),
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cwmpscope-capgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_scale, parse_size};

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("200m"), Ok(200 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("3MB"), Ok(3 << 20));
        assert!(parse_size("").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("1.5G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn scales_lie_in_zero_to_one() {
        assert_eq!(parse_scale("1"), Ok(1.0));
        assert_eq!(parse_scale("0.01"), Ok(0.01));
        assert!(parse_scale("0").is_err());
        assert!(parse_scale("1.5").is_err());
        assert!(parse_scale("NaN").is_err());
    }
}
