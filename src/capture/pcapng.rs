//! pcapng files: several sections (each with its own byte order), several interfaces per
//! section (each with its own link type, `if_tsresol` and `if_tsoffset`), and the packet blocks
//! EPB, SPB and the obsolete PB. TLS key logs in Decryption Secrets Blocks are kept for the
//! TLS stage (see [`super::CaptureReader::take_tls_keylog`]). Other blocks are skipped.
//!
//! Block framing (type, length, trailing length) is checked here before anything is parsed.
//! Section and interface blocks are parsed by `pcap-parser`; the packet blocks, which make up
//! nearly all of a file, are read field by field because their layout is fixed and the
//! library's EPB parser allocates a vector for the block's options.

use super::window::{ByteWindow, MAX_BLOCK};
use super::{LinkType, Located, ReadError, Step};
use crate::types::{LATEST_TIME, Nanos, clamp_capture_time};
use pcap_parser::pcapng::{
    parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock,
};

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 1;
const PB_TYPE: u32 = 2;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;
const DSB_TYPE: u32 = 0x0A;
/// Secrets type of an NSS key log in a Decryption Secrets Block ("TLSK").
const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
/// Key log bytes kept at most from one file's Decryption Secrets Blocks.
const MAX_TLS_KEYLOG: usize = 64 << 20;
const OPT_IF_TSOFFSET: u16 = 14;
/// More interfaces than this in one section is taken as corruption.
const MAX_INTERFACES: usize = 4096;

/// Whether these four bytes start a pcapng file.
pub(crate) fn is_pcapng_magic(magic: [u8; 4]) -> bool {
    u32::from_le_bytes(magic) == SHB_TYPE
}

/// One interface of the current section.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp.
    offset_secs: i64,
}

/// Reading state: the current section's byte order and interfaces.
#[derive(Debug, Default)]
pub(crate) struct PcapNgFormat {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Timestamp of the previous packet, given to SPBs (which carry none).
    last_ts: Nanos,
    /// TLS key log text from Decryption Secrets Blocks, not yet taken.
    tls_keylog: Vec<u8>,
    /// Key log bytes read so far (bounded by [`MAX_TLS_KEYLOG`]).
    tls_keylog_total: usize,
}

/// Timestamp units per second from an `if_tsresol` value (`None` if out of range).
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        1u64.checked_shl(exponent).filter(|_| exponent < 64)
    }
}

/// Converts a raw 64-bit pcapng timestamp into nanoseconds since the epoch, clamped into
/// [`EARLIEST_TIME`, `LATEST_TIME`].
fn to_nanos(raw: u64, units_per_sec: u64, offset_secs: i64) -> Nanos {
    if offset_secs == 0 {
        let fast = match units_per_sec {
            1_000_000 => raw.checked_mul(1000),
            1_000_000_000 => Some(raw),
            _ => None,
        };
        if let Some(ns) = fast.filter(|&v| v <= LATEST_TIME as u64) {
            return ns as Nanos;
        }
    }
    let units = u128::from(units_per_sec.max(1));
    let raw = u128::from(raw);
    let secs = (raw / units) as i128 + i128::from(offset_secs);
    let frac_ns = ((raw % units) * 1_000_000_000 / units) as i128;
    clamp_capture_time(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns))
}

impl PcapNgFormat {
    fn u32_at(&self, bytes: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u16_at(&self, bytes: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    /// Locates the next packet block, handling (and consuming) every block before it.
    pub(crate) fn next_packet(&mut self, window: &mut ByteWindow) -> Result<Step, ReadError> {
        loop {
            if !window.ensure(8)? {
                return Ok(if window.available().is_empty() {
                    Step::End
                } else {
                    Step::Cut
                });
            }
            let block_type = self.u32_at(window.available(), 0).unwrap_or(0);
            if block_type == SHB_TYPE {
                if !window.ensure(12)? {
                    return Ok(Step::Cut);
                }
                let bom = window.available().get(8..12).unwrap_or_default();
                self.big_endian = match bom {
                    [0x4D, 0x3C, 0x2B, 0x1A] => false,
                    [0x1A, 0x2B, 0x3C, 0x4D] => true,
                    _ => {
                        return Err(ReadError::Corrupt(
                            "pcapng section with a bad byte-order magic".into(),
                        ));
                    }
                };
            }
            let block_len = self.u32_at(window.available(), 4).unwrap_or(0) as usize;
            if block_len < 12 || !block_len.is_multiple_of(4) || block_len > MAX_BLOCK {
                return Err(ReadError::Corrupt(format!(
                    "pcapng block of type {block_type:#x} with impossible length {block_len}"
                )));
            }
            if !window.ensure(block_len)? {
                return Ok(Step::Cut);
            }
            let block = window.available().get(..block_len).unwrap_or_default();
            if self.u32_at(block, block_len - 4) != Some(block_len as u32) {
                return Err(ReadError::Corrupt(format!(
                    "pcapng block of type {block_type:#x}: trailing length does not match"
                )));
            }
            let located = match block_type {
                SHB_TYPE => {
                    self.read_section_header(block)?;
                    None
                }
                IDB_TYPE => {
                    self.read_interface(block)?;
                    None
                }
                EPB_TYPE | PB_TYPE => {
                    Some(self.read_timed_packet(block, block_type, window.position())?)
                }
                SPB_TYPE => Some(self.read_simple_packet(block, window.position())?),
                DSB_TYPE => {
                    self.read_secrets(block);
                    None
                }
                _ => None,
            };
            match located {
                Some(frame) => {
                    self.last_ts = frame.ts;
                    return Ok(Step::Frame(frame));
                }
                None => window.consume(block_len),
            }
        }
    }

    /// A Decryption Secrets Block: an NSS key log is kept (others, and anything beyond the
    /// bound, are skipped).
    fn read_secrets(&mut self, block: &[u8]) {
        let (Some(kind), Some(len)) = (self.u32_at(block, 8), self.u32_at(block, 12)) else {
            return;
        };
        let Some(text) = block.get(16..16usize.saturating_add(len as usize)) else {
            return;
        };
        if kind != SECRETS_TLS_KEYLOG || self.tls_keylog_total + text.len() > MAX_TLS_KEYLOG {
            return;
        }
        self.tls_keylog_total += text.len();
        self.tls_keylog.extend_from_slice(text);
        if !text.ends_with(b"\n") {
            self.tls_keylog.push(b'\n');
        }
    }

    /// The key log text read since the last call, if any.
    pub(crate) fn take_tls_keylog(&mut self) -> Option<Vec<u8>> {
        (!self.tls_keylog.is_empty()).then(|| std::mem::take(&mut self.tls_keylog))
    }

    fn read_section_header(&mut self, block: &[u8]) -> Result<(), ReadError> {
        let (_, shb) = parse_sectionheaderblock(block)
            .map_err(|_| ReadError::Corrupt("unreadable pcapng section header".into()))?;
        if shb.major_version != 1 {
            return Err(ReadError::Corrupt(format!(
                "pcapng version {}.{} is not supported",
                shb.major_version, shb.minor_version
            )));
        }
        self.interfaces.clear();
        Ok(())
    }

    fn read_interface(&mut self, block: &[u8]) -> Result<(), ReadError> {
        let parsed = if self.big_endian {
            parse_interfacedescriptionblock_be(block)
        } else {
            parse_interfacedescriptionblock_le(block)
        };
        let (_, idb) = parsed
            .map_err(|_| ReadError::Corrupt("unreadable pcapng interface description".into()))?;
        let link = LinkType(u32::from(idb.linktype.0 as u16));
        if !link.is_decodable() {
            return Err(ReadError::UnsupportedLinkType(link.0));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(ReadError::Corrupt("too many pcapng interfaces".into()));
        }
        let units_per_sec = units_per_sec(idb.if_tsresol).ok_or_else(|| {
            ReadError::Corrupt(format!(
                "pcapng interface with bad if_tsresol {:#x}",
                idb.if_tsresol
            ))
        })?;
        // pcap-parser reads if_tsoffset as little endian whatever the section's byte order.
        let offset_secs = idb
            .options
            .iter()
            .find(|o| o.code.0 == OPT_IF_TSOFFSET && o.len == 8)
            .and_then(|o| <[u8; 8]>::try_from(o.value.get(..8)?).ok())
            .map_or(0, |b| {
                if self.big_endian {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                }
            });
        self.interfaces.push(Interface {
            link,
            snaplen: idb.snaplen,
            units_per_sec,
            offset_secs,
        });
        Ok(())
    }

    fn interface(&self, id: u32) -> Result<Interface, ReadError> {
        self.interfaces.get(id as usize).copied().ok_or_else(|| {
            ReadError::Corrupt(format!("packet for undeclared pcapng interface {id}"))
        })
    }

    /// EPB and the obsolete PB share one layout after the block header: interface id (32 bits
    /// in EPB; 16 bits plus a 16-bit drop count in PB), timestamp high and low, caplen, origlen.
    fn read_timed_packet(
        &self,
        block: &[u8],
        block_type: u32,
        at: usize,
    ) -> Result<Located, ReadError> {
        const DATA_AT: usize = 28;
        let short = || ReadError::Corrupt("pcapng packet block too short".into());
        if block.len() < DATA_AT + 4 {
            return Err(short());
        }
        let if_id = if block_type == PB_TYPE {
            u32::from(self.u16_at(block, 8).ok_or_else(short)?)
        } else {
            self.u32_at(block, 8).ok_or_else(short)?
        };
        let ts_high = self.u32_at(block, 12).ok_or_else(short)?;
        let ts_low = self.u32_at(block, 16).ok_or_else(short)?;
        let caplen = self.u32_at(block, 20).ok_or_else(short)? as usize;
        let orig_len = self.u32_at(block, 24).ok_or_else(short)?;
        if caplen > block.len() - DATA_AT - 4 {
            return Err(ReadError::Corrupt(format!(
                "pcapng packet with captured length {caplen} larger than its block"
            )));
        }
        let iface = self.interface(if_id)?;
        let raw_ts = (u64::from(ts_high) << 32) | u64::from(ts_low);
        Ok(Located {
            data_start: at + DATA_AT,
            data_len: caplen,
            block_len: block.len(),
            ts: to_nanos(raw_ts, iface.units_per_sec, iface.offset_secs),
            link: iface.link,
            orig_len,
        })
    }

    /// SPB: interface 0, no timestamp (the previous packet's is used), caplen implied.
    fn read_simple_packet(&self, block: &[u8], at: usize) -> Result<Located, ReadError> {
        const DATA_AT: usize = 12;
        let short = || ReadError::Corrupt("pcapng simple packet block too short".into());
        if block.len() < DATA_AT + 4 {
            return Err(short());
        }
        let orig_len = self.u32_at(block, 8).ok_or_else(short)?;
        let iface = self.interface(0)?;
        let mut caplen = (orig_len as usize).min(block.len() - DATA_AT - 4);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        Ok(Located {
            data_start: at + DATA_AT,
            data_len: caplen,
            block_len: block.len(),
            ts: self.last_ts,
            link: iface.link,
            orig_len,
        })
    }
}

#[cfg(test)]
mod tests;
