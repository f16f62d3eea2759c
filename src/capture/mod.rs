//! Capture sources: pcap and pcapng files (gzip-compressed or not), stdin, and several files
//! merged into one timeline. Pure Rust: no libpcap needed to read files.
//!
//! A reader lends out one [`Frame`] at a time, borrowed from its own buffer, so reading does not
//! allocate per packet.
//!
//! Stage boundary: bytes of a file or stdin in, [`Frame`] out (to `wire`). Link types the
//! decoder cannot read are rejected when a file is opened ([`LinkType::is_decodable`]).

use crate::types::Nanos;
/// [`Frame`] (the core's input) and [`LinkType`] (with the list of decodable link types) are
/// defined in [`crate::types`], below the core that reads them; re-exported here because every
/// reader lends out frames.
pub use crate::types::{Frame, LinkType};
use std::path::PathBuf;

/// What went wrong with an input file. Every variant names the file in its message.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{path}: {}", crate::types::io_reason(source))]
    Io {
        /// The input's display name.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input holds no bytes at all.
    #[error("{path}: empty file")]
    Empty {
        /// The input's display name.
        path: String,
    },
    /// The input starts with neither a pcap nor a pcapng header (nor gzip); the message says
    /// what it seems to be instead.
    #[error("{path}: not a capture ({}); {}", guess.what, guess.advice)]
    NotACapture {
        /// The input's display name.
        path: String,
        /// What the first bytes look like.
        guess: sniff::Guess,
    },
    /// The input ends before its first packet could start: inside the pcap file header or a
    /// pcapng block before the first packet.
    #[error("{path}: {format} file cut short {place}; nothing to analyze")]
    CutBeforeFirstPacket {
        /// The input's display name.
        path: String,
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// Where: `in its 24-byte file header (10 bytes)`, `before its first packet`.
        place: String,
    },
    /// A link type the decoder cannot handle (see [`LinkType::is_decodable`]).
    #[error(
        "{path}: unsupported link type {}; cwmpscope decodes {}",
        LinkType(*linktype),
        LinkType::DECODABLE_IN_WORDS
    )]
    UnsupportedLinkType {
        /// The input's display name.
        path: String,
        /// The LINKTYPE_ number found.
        linktype: u32,
    },
    /// Garbage where a header, record or block was expected.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The input's display name.
        path: String,
        /// What was wrong, in a few words.
        reason: String,
    },
}

/// Non-fatal problems met while reading (the rest of the input was still analyzed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputWarning {
    /// The file ends in the middle of a packet; `frames` frames before the cut were read.
    Cut {
        /// The input's display name.
        path: String,
        /// Frames read before the cut.
        frames: u64,
    },
}

/// Where to read from: a path, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input (a pipe from `tcpdump -w -`, for instance).
    Stdin,
}

impl InputSpec {
    /// Interprets a command-line argument: `-` is standard input, anything else a path.
    pub fn from_arg(arg: &str) -> InputSpec {
        if arg == "-" {
            InputSpec::Stdin
        } else {
            InputSpec::Path(PathBuf::from(arg))
        }
    }

    /// The name used in messages: the path as given, or `-` for standard input.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Path(p) => p.display().to_string(),
            InputSpec::Stdin => "-".to_string(),
        }
    }
}

/// A frame found in a reader's buffer but not handed out yet (offsets into the buffer).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Located {
    pub(crate) data_start: usize,
    pub(crate) data_len: usize,
    /// Bytes of the whole record or block, consumed when the frame is handed out.
    pub(crate) block_len: usize,
    pub(crate) ts: Nanos,
    pub(crate) link: LinkType,
    pub(crate) orig_len: u32,
}

/// Outcome of looking for the next frame in a format's byte stream.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    Frame(Located),
    /// The input ended cleanly between records.
    End,
    /// The input ended inside a record or block.
    Cut,
}

/// A format-level failure, turned into an [`InputError`] naming the file by the reader.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    Corrupt(String),
    UnsupportedLinkType(u32),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

pub mod file;
pub mod merge;
mod pcap;
mod pcapng;
pub mod sniff;
mod window;

pub use file::CaptureReader;
pub use merge::MergedReader;
