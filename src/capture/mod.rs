//! Capture sources: pcap and pcapng files (gzip-compressed or not), stdin, and several files
//! merged into one timeline. Pure Rust: no libpcap needed to read files.
//!
//! A reader lends out one [`Frame`] at a time, borrowed from its own buffer, so reading does not
//! allocate per packet.

use crate::types::{FrameRef, Nanos};
use std::path::PathBuf;

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub frame: FrameRef,
    pub ts: Nanos,
    pub link: LinkType,
    /// Length of the packet on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// What went wrong with an input file. Every variant names the file in its message.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: empty file")]
    Empty { path: String },
    #[error("{path}: not a pcap or pcapng capture")]
    NotACapture { path: String },
    #[error("{path}: unsupported link type {linktype}")]
    UnsupportedLinkType { path: String, linktype: u32 },
    #[error("{path}: {reason}")]
    Corrupt { path: String, reason: String },
}

/// Non-fatal problems met while reading (the rest of the input was still analyzed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputWarning {
    /// The file ends in the middle of a packet; `frames` frames before the cut were read.
    Cut { path: String, frames: u64 },
}

/// Where to read from: a path, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    Path(PathBuf),
    Stdin,
}

pub mod file;
pub mod merge;

pub use file::CaptureReader;
pub use merge::MergedReader;
