//! Classic pcap files: the 24-byte file header (four magics: little/big endian, micro/nano
//! seconds, plus the "modified" pcap variant) and the per-packet records.
//!
//! Record framing (how many bytes to wait for) is done here from the fixed-size record header;
//! the complete record is then parsed by `pcap-parser` over the buffered slice.

use super::window::{ByteWindow, MAX_BLOCK};
use super::{LinkType, Located, ReadError, Step};
use crate::types::Nanos;
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
};

/// Size of the pcap file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;
/// Largest caplen accepted whatever the header's snaplen says (libpcap uses the same bound).
const MIN_CAPLEN_LIMIT: u32 = 262_144;

/// What the file header says about every record that follows.
#[derive(Clone, Debug)]
pub(crate) struct PcapFormat {
    big_endian: bool,
    nanosecond: bool,
    modified: bool,
    link: LinkType,
    caplen_limit: u32,
}

/// Whether these four bytes start a pcap file.
pub(crate) fn is_pcap_magic(magic: [u8; 4]) -> bool {
    matches!(
        u32::from_le_bytes(magic),
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1
    )
}

impl PcapFormat {
    /// Reads the file header from the window (which must hold at least 24 bytes) and consumes it.
    pub(crate) fn read_header(window: &mut ByteWindow) -> Result<PcapFormat, ReadError> {
        let bytes = window
            .available()
            .get(..FILE_HEADER_LEN)
            .ok_or_else(|| ReadError::Corrupt("pcap file header cut short".into()))?;
        let (_, header) = parse_pcap_header(bytes)
            .map_err(|_| ReadError::Corrupt("unreadable pcap file header".into()))?;
        // The link type sits in the low 16 bits; the upper bits may carry FCS information.
        let link = LinkType((header.network.0 as u32) & 0xffff);
        let format = PcapFormat {
            big_endian: header.is_bigendian(),
            nanosecond: header.is_nanosecond_precision(),
            modified: header.is_modified_format(),
            link,
            caplen_limit: header.snaplen.max(MIN_CAPLEN_LIMIT),
        };
        window.consume(FILE_HEADER_LEN);
        Ok(format)
    }

    /// The file's link type.
    pub(crate) fn link(&self) -> LinkType {
        self.link
    }

    fn record_header_len(&self) -> usize {
        if self.modified { 24 } else { 16 }
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Locates the next record in the window without consuming it.
    pub(crate) fn next_record(&self, window: &mut ByteWindow) -> Result<Step, ReadError> {
        let header_len = self.record_header_len();
        if !window.ensure(header_len)? {
            return Ok(if window.available().is_empty() {
                Step::End
            } else {
                Step::Cut
            });
        }
        let caplen = self
            .u32_at(window.available(), 8)
            .ok_or_else(|| ReadError::Corrupt("record header unreadable".into()))?;
        if caplen > self.caplen_limit || caplen as usize > MAX_BLOCK - header_len {
            return Err(ReadError::Corrupt(format!(
                "record with impossible captured length {caplen}"
            )));
        }
        let record_len = header_len + caplen as usize;
        if !window.ensure(record_len)? {
            return Ok(Step::Cut);
        }
        let record = window
            .available()
            .get(..record_len)
            .ok_or_else(|| ReadError::Corrupt("record cut short".into()))?;
        let parsed = if self.modified {
            parse_pcap_frame_modified(record)
        } else if self.big_endian {
            parse_pcap_frame_be(record)
        } else {
            parse_pcap_frame(record)
        };
        let (_, block) = parsed.map_err(|_| ReadError::Corrupt("unreadable record".into()))?;
        let frac_scale: i64 = if self.nanosecond { 1 } else { 1000 };
        let ts: Nanos =
            i64::from(block.ts_sec) * 1_000_000_000 + i64::from(block.ts_usec) * frac_scale;
        Ok(Step::Frame(Located {
            data_start: window.position() + header_len,
            data_len: block.data.len(),
            block_len: record_len,
            ts,
            link: self.link,
            orig_len: block.origlen,
        }))
    }
}
