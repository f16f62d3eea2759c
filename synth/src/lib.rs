//! cwmpscope-synth: deterministic, seeded capture generator for cwmpscope's tests and
//! benchmarks. Scripted TCP conversations (CWMP flows and others) rendered into pcap/pcapng
//! frames with chosen awkwardness (segmentation, reordering, retransmission, overlaps, capture
//! loss, VLAN, IPv6, IP fragments, every supported link type, gzip, split files). It is not part
//! of the analyzer and does not depend on it: it only writes bytes. The `cwmpscope-capgen`
//! binary is its command line.
//!
//! Layers, each usable alone: [`rng`] (seeded PRNG), [`packet`] (frame bytes), [`writer`]
//! (pcap/pcapng/gzip/split), [`conversation`] (TCP scripts to timestamped frames), [`http`] and
//! [`soap`] (message bytes), [`cwmp`] (CWMP flows as connection scripts), [`catalogue_cases`] (one
//! flow per code of the findings catalogue, and the accepted clean variants),
//! [`campaign`] (the benchmark capture: thousands of CPEs and unrelated traffic, streamed),
//! [`adversarial`] (hostile inputs for robustness tests, streamed);
//! [`types`] holds the few shared notions (timestamps, directions, link types, TCP flags).
//!
//! ```no_run
//! use cwmpscope_synth::{self as synth, conversation::Profile, cwmp, writer::OutputOptions};
//! let flow = cwmp::reference_flow(&cwmp::CwmpOptions::default());
//! let (report, files) = synth::write_capture_files(
//!     flow.connections,
//!     &Profile::awkward(7),
//!     &OutputOptions::default(),
//!     std::path::Path::new("reference.pcap"),
//! )?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod adversarial;
pub mod campaign;
pub mod catalogue_cases;
pub mod conversation;
pub mod cwmp;
pub mod http;
pub mod packet;
pub mod rng;
pub mod soap;
pub mod types;
pub mod writer;

use conversation::{Connection, Profile, RenderReport};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use writer::{FrameSink, OutputOptions, SplitWriter, split_file_name};

/// Renders `connections` with `profile` into capture file(s) at `path` (split files get
/// tcpdump-style names: `path`, `path1`, `path2`, …). Returns the rendering report and the
/// files written.
pub fn write_capture_files<I>(
    connections: I,
    profile: &Profile,
    output: &OutputOptions,
    path: &Path,
) -> io::Result<(RenderReport, Vec<PathBuf>)>
where
    I: IntoIterator<Item = Connection>,
{
    let mut names = Vec::new();
    let mut sink = SplitWriter::new(*output, &profile.link_types(), |index| {
        let name = split_file_name(path, index);
        let file = File::create(&name)?;
        names.push(name);
        Ok(BufWriter::with_capacity(1 << 20, file))
    })?;
    let report = conversation::render(connections, profile, &mut sink)?;
    sink.finish()?;
    drop(sink);
    Ok((report, names))
}

/// Renders `connections` with `profile` into one in-memory capture.
pub fn capture_bytes<I>(
    connections: I,
    profile: &Profile,
    output: &OutputOptions,
) -> io::Result<(RenderReport, Vec<u8>)>
where
    I: IntoIterator<Item = Connection>,
{
    let options = OutputOptions {
        frames_per_file: None,
        ..*output
    };
    let mut sink = writer::CaptureWriter::new(Vec::new(), &options, &profile.link_types())?;
    let report = conversation::render(connections, profile, &mut sink)?;
    Ok((report, sink.into_inner()?))
}
