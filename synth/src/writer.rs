//! Capture writers: classic pcap (microsecond or nanosecond magic) and pcapng (one section, one
//! or more interfaces with their own link type and timestamp resolution), optionally gzip-wrapped,
//! optionally split into several files by frame count (like `tcpdump -C`, but counting frames).
//! Everything streams to any [`Write`]; nothing holds a whole capture.

use crate::types::{LinkType, Nanos};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Snap length announced in file headers (larger than any frame the generator builds).
const SNAPLEN: u32 = 262_144;

/// Timestamp resolution of a capture file or pcapng interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TsResolution {
    /// Microseconds (classic pcap magic `a1b2c3d4`; pcapng default).
    #[default]
    Micro,
    /// Nanoseconds (pcap magic `a1b23c4d`; pcapng `if_tsresol` = 9).
    Nano,
}

impl TsResolution {
    fn units_per_second(self) -> u64 {
        match self {
            TsResolution::Micro => 1_000_000,
            TsResolution::Nano => 1_000_000_000,
        }
    }

    /// Timestamp in this resolution's units since the epoch (negative times clamp to 0).
    fn units(self, ts: Nanos) -> u64 {
        let ns = u64::try_from(ts).unwrap_or(0);
        match self {
            TsResolution::Micro => ns / 1000,
            TsResolution::Nano => ns,
        }
    }
}

/// One capture interface: what link type its frames have and how its timestamps are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Link type of every frame on this interface.
    pub link: LinkType,
    /// Timestamp resolution (pcapng `if_tsresol`; for pcap, the file's magic).
    pub resolution: TsResolution,
}

/// Container format of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format. Supports a single link type.
    Pcap,
    /// pcapng: one Section Header Block, one Interface Description Block per interface,
    /// Enhanced Packet Blocks.
    PcapNg,
}

/// Where frames go: a capture file, a set of split files, or anything else.
pub trait FrameSink {
    /// Writes one frame captured at `ts` on interface number `interface` (index into the list
    /// the sink was created with).
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()>;
    /// Flushes everything (and completes any compression trailer). Call once, at the end.
    fn finish(&mut self) -> io::Result<()>;
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn frame_len(data: &[u8]) -> io::Result<u32> {
    u32::try_from(data.len())
        .ok()
        .filter(|len| *len <= SNAPLEN)
        .ok_or_else(|| {
            invalid(format!(
                "frame of {} bytes exceeds the snap length",
                data.len()
            ))
        })
}

/// Classic pcap writer (little-endian).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    interface: Interface,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `interface` and returns the writer.
    pub fn new(mut out: W, interface: Interface) -> io::Result<Self> {
        let magic: u32 = match interface.resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        };
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&magic.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&interface.link.0.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out, interface })
    }

    /// Gives back the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write> FrameSink for PcapWriter<W> {
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()> {
        if interface != 0 {
            return Err(invalid(format!(
                "pcap files have a single interface, frame is for interface {interface}"
            )));
        }
        let len = frame_len(data)?;
        let units = self.interface.resolution.units(ts);
        let per_second = self.interface.resolution.units_per_second();
        let secs = u32::try_from(units / per_second)
            .map_err(|_| invalid("timestamp beyond 2106 does not fit pcap".to_string()))?;
        let frac = (units % per_second) as u32;
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&secs.to_le_bytes());
        record[4..8].copy_from_slice(&frac.to_le_bytes());
        record[8..12].copy_from_slice(&len.to_le_bytes());
        record[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// pcapng writer (little-endian, one section).
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    out: W,
    interfaces: Vec<Interface>,
}

/// Zero bytes needed to pad `len` to a multiple of 4.
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes the Section Header Block and one Interface Description Block per interface.
    pub fn new(mut out: W, interfaces: &[Interface]) -> io::Result<Self> {
        if interfaces.is_empty() {
            return Err(invalid(
                "a pcapng file needs at least one interface".to_string(),
            ));
        }
        // SHB: type, length, byte-order magic, version 1.0, section length unknown (-1).
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&shb)?;
        for iface in interfaces {
            // IDB with an if_tsresol option (code 9, 1 byte, padded) and opt_endofopt.
            let link = u16::try_from(iface.link.0)
                .map_err(|_| invalid(format!("link type {} does not fit pcapng", iface.link.0)))?;
            let tsresol: u8 = match iface.resolution {
                TsResolution::Micro => 6,
                TsResolution::Nano => 9,
            };
            let total: u32 = 20 + 8 + 4;
            let mut idb = Vec::with_capacity(total as usize);
            idb.extend_from_slice(&1u32.to_le_bytes());
            idb.extend_from_slice(&total.to_le_bytes());
            idb.extend_from_slice(&link.to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes());
            idb.extend_from_slice(&SNAPLEN.to_le_bytes());
            idb.extend_from_slice(&9u16.to_le_bytes());
            idb.extend_from_slice(&1u16.to_le_bytes());
            idb.extend_from_slice(&[tsresol, 0, 0, 0]);
            idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
            idb.extend_from_slice(&total.to_le_bytes());
            out.write_all(&idb)?;
        }
        Ok(PcapNgWriter {
            out,
            interfaces: interfaces.to_vec(),
        })
    }

    /// Gives back the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> FrameSink for PcapNgWriter<W> {
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()> {
        let iface = self.interfaces.get(interface).ok_or_else(|| {
            invalid(format!(
                "frame for interface {interface}, which was not declared"
            ))
        })?;
        let len = frame_len(data)?;
        let padding = pad4(data.len());
        let total = 32 + len + padding as u32;
        let units = iface.resolution.units(ts);
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&6u32.to_le_bytes());
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[8..12].copy_from_slice(&(interface as u32).to_le_bytes());
        head[12..16].copy_from_slice(&((units >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(units as u32).to_le_bytes());
        head[20..24].copy_from_slice(&len.to_le_bytes());
        head[24..28].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..padding])?;
        self.out.write_all(&total.to_le_bytes())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A byte sink that is either passed through or gzip-compressed.
#[derive(Debug)]
pub enum MaybeGzip<W: Write> {
    /// Bytes go through unchanged.
    Plain(W),
    /// Bytes are gzip-compressed (one gzip member); boxed, the compressor's state is large.
    Gzip(Box<GzEncoder<W>>),
}

impl<W: Write> MaybeGzip<W> {
    /// Wraps `out`, compressing when `gzip` is true.
    pub fn new(out: W, gzip: bool) -> Self {
        if gzip {
            MaybeGzip::Gzip(Box::new(GzEncoder::new(out, Compression::fast())))
        } else {
            MaybeGzip::Plain(out)
        }
    }

    /// Completes the gzip trailer (if any) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        match self {
            MaybeGzip::Plain(w) => w.flush(),
            MaybeGzip::Gzip(gz) => {
                gz.try_finish()?;
                gz.get_mut().flush()
            }
        }
    }
}

impl<W: Write> Write for MaybeGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeGzip::Plain(w) => w.write(buf),
            MaybeGzip::Gzip(gz) => gz.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            MaybeGzip::Plain(w) => w.write_all(buf),
            MaybeGzip::Gzip(gz) => gz.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeGzip::Plain(w) => w.flush(),
            MaybeGzip::Gzip(gz) => gz.flush(),
        }
    }
}

/// How a capture is written: container, resolution, compression, splitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// pcap or pcapng.
    pub format: Format,
    /// Timestamp resolution (for pcapng, of every interface).
    pub resolution: TsResolution,
    /// Gzip-compress each file.
    pub gzip: bool,
    /// Start a new file after this many frames (`None`: one file).
    pub frames_per_file: Option<u64>,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            format: Format::Pcap,
            resolution: TsResolution::Micro,
            gzip: false,
            frames_per_file: None,
        }
    }
}

/// One open capture file of either format, gzip or not.
#[derive(Debug)]
pub enum CaptureWriter<W: Write> {
    /// Classic pcap.
    Pcap(PcapWriter<MaybeGzip<W>>),
    /// pcapng.
    PcapNg(PcapNgWriter<MaybeGzip<W>>),
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header(s) to `out` for `links` (one interface per link type; pcap
    /// accepts exactly one).
    pub fn new(out: W, options: &OutputOptions, links: &[LinkType]) -> io::Result<Self> {
        let out = MaybeGzip::new(out, options.gzip);
        let interfaces: Vec<Interface> = links
            .iter()
            .map(|&link| Interface {
                link,
                resolution: options.resolution,
            })
            .collect();
        match options.format {
            Format::Pcap => match interfaces.as_slice() {
                [one] => Ok(CaptureWriter::Pcap(PcapWriter::new(out, *one)?)),
                _ => Err(invalid(format!(
                    "pcap holds exactly one link type, {} requested (use pcapng)",
                    interfaces.len()
                ))),
            },
            Format::PcapNg => Ok(CaptureWriter::PcapNg(PcapNgWriter::new(out, &interfaces)?)),
        }
    }

    /// Finishes the file and gives back the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.finish()?;
        let inner = match self {
            CaptureWriter::Pcap(w) => w.into_inner(),
            CaptureWriter::PcapNg(w) => w.into_inner(),
        };
        match inner {
            MaybeGzip::Plain(w) => Ok(w),
            MaybeGzip::Gzip(gz) => gz.finish(),
        }
    }
}

impl<W: Write> FrameSink for CaptureWriter<W> {
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()> {
        match self {
            CaptureWriter::Pcap(w) => w.write_frame(ts, interface, data),
            CaptureWriter::PcapNg(w) => w.write_frame(ts, interface, data),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self {
            CaptureWriter::Pcap(w) => w.get_mut().finish(),
            CaptureWriter::PcapNg(w) => w.out.finish(),
        }
    }
}

/// Writes a capture across several files, starting a new one (with its own headers) every
/// `frames_per_file` frames. `open(k)` supplies the writer of file number `k` (from 0).
pub struct SplitWriter<W: Write, F: FnMut(usize) -> io::Result<W>> {
    open: F,
    options: OutputOptions,
    links: Vec<LinkType>,
    current: Option<CaptureWriter<W>>,
    frames_in_current: u64,
    files: usize,
}

impl<W: Write, F: FnMut(usize) -> io::Result<W>> SplitWriter<W, F> {
    /// Opens the first file right away (so even a capture without frames has one file).
    pub fn new(options: OutputOptions, links: &[LinkType], mut open: F) -> io::Result<Self> {
        let first = CaptureWriter::new(open(0)?, &options, links)?;
        Ok(SplitWriter {
            open,
            options,
            links: links.to_vec(),
            current: Some(first),
            frames_in_current: 0,
            files: 1,
        })
    }

    /// Number of files opened so far.
    pub fn files(&self) -> usize {
        self.files
    }
}

impl<W: Write, F: FnMut(usize) -> io::Result<W>> FrameSink for SplitWriter<W, F> {
    fn write_frame(&mut self, ts: Nanos, interface: usize, data: &[u8]) -> io::Result<()> {
        let limit = self.options.frames_per_file.unwrap_or(u64::MAX).max(1);
        if self.frames_in_current >= limit {
            if let Some(mut done) = self.current.take() {
                done.finish()?;
            }
            let next = (self.open)(self.files)?;
            self.current = Some(CaptureWriter::new(next, &self.options, &self.links)?);
            self.files += 1;
            self.frames_in_current = 0;
        }
        let current = self
            .current
            .as_mut()
            .ok_or_else(|| io::Error::other("capture file already closed"))?;
        current.write_frame(ts, interface, data)?;
        self.frames_in_current += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.current.as_mut() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// Name of split file number `index`, following tcpdump: the first file keeps `base`, the
/// next ones append 1, 2, … to it (`out.pcap`, `out.pcap1`, `out.pcap2`).
pub fn split_file_name(base: &Path, index: usize) -> PathBuf {
    if index == 0 {
        base.to_path_buf()
    } else {
        let mut name = base.as_os_str().to_os_string();
        name.push(index.to_string());
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
    use std::io::Read;

    /// Reads every frame back with pcap-parser: (timestamp in ns, link type, data).
    fn read_back(bytes: &[u8]) -> Vec<(u64, u32, Vec<u8>)> {
        let mut reader = create_reader(1 << 16, bytes).expect("recognised capture");
        let mut out = Vec::new();
        let mut legacy: Option<(u32, bool)> = None;
        let mut ifaces: Vec<(u32, u64)> = Vec::new();
        loop {
            match reader.next() {
                Ok((offset, block)) => {
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            legacy = Some((h.network.0 as u32, h.is_nanosecond_precision()));
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (link, nano) = legacy.unwrap();
                            let ns = u64::from(b.ts_sec) * 1_000_000_000
                                + u64::from(b.ts_usec) * if nano { 1 } else { 1000 };
                            out.push((ns, link, b.data.to_vec()));
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::InterfaceDescription(idb)) => {
                            ifaces.push((
                                idb.linktype.0 as u32,
                                idb.ts_resolution().expect("resolution"),
                            ));
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(epb)) => {
                            let (link, units) = ifaces[epb.if_id as usize];
                            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ns = raw * (1_000_000_000 / units);
                            out.push((ns, link, epb.data[..epb.caplen as usize].to_vec()));
                        }
                        _ => {}
                    }
                    reader.consume(offset);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => reader.refill().unwrap(),
                Err(e) => panic!("read error {e:?}"),
            }
        }
        out
    }

    const TS: Nanos = 1_795_773_600_123_456_789;

    #[test]
    fn pcap_micro_and_nano_round_trip() {
        for (res, expect_ts) in [
            (TsResolution::Micro, 1_795_773_600_123_456_000u64),
            (TsResolution::Nano, 1_795_773_600_123_456_789),
        ] {
            let iface = Interface {
                link: LinkType::RAW,
                resolution: res,
            };
            let mut w = PcapWriter::new(Vec::new(), iface).unwrap();
            w.write_frame(TS, 0, b"\x45abc").unwrap();
            w.write_frame(TS + 1_000, 0, b"").unwrap();
            assert!(w.write_frame(TS, 1, b"x").is_err());
            w.finish().unwrap();
            let bytes = w.into_inner();
            let frames = read_back(&bytes);
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0], (expect_ts, 101, b"\x45abc".to_vec()));
        }
    }

    #[test]
    fn pcapng_interfaces_keep_their_link_type_and_resolution() {
        let ifaces = [
            Interface {
                link: LinkType::ETHERNET,
                resolution: TsResolution::Micro,
            },
            Interface {
                link: LinkType::LINUX_SLL2,
                resolution: TsResolution::Nano,
            },
        ];
        let mut w = PcapNgWriter::new(Vec::new(), &ifaces).unwrap();
        w.write_frame(TS, 0, b"odd").unwrap();
        w.write_frame(TS, 1, b"four").unwrap();
        assert!(w.write_frame(TS, 2, b"x").is_err());
        let bytes = w.into_inner();
        assert_eq!(bytes.len() % 4, 0, "blocks are 32-bit aligned");
        let frames = read_back(&bytes);
        assert_eq!(
            frames,
            vec![
                (1_795_773_600_123_456_000, 1, b"odd".to_vec()),
                (1_795_773_600_123_456_789, 276, b"four".to_vec()),
            ]
        );
    }

    #[test]
    fn gzip_output_decompresses_to_the_plain_output() {
        let options = OutputOptions {
            format: Format::PcapNg,
            ..OutputOptions::default()
        };
        let write = |gzip| {
            let mut w = CaptureWriter::new(
                Vec::new(),
                &OutputOptions { gzip, ..options },
                &[LinkType::RAW],
            )
            .unwrap();
            w.write_frame(TS, 0, b"hello").unwrap();
            w.into_inner().unwrap()
        };
        let plain = write(false);
        let gz = write(true);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        let mut unpacked = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, plain);
    }

    #[test]
    fn pcap_refuses_two_link_types() {
        let r = CaptureWriter::new(
            Vec::new(),
            &OutputOptions::default(),
            &[LinkType::RAW, LinkType::ETHERNET],
        );
        assert!(r.is_err());
    }

    #[test]
    fn split_writer_starts_a_file_every_n_frames() {
        use std::cell::RefCell;
        use std::rc::Rc;
        #[derive(Clone, Default)]
        struct Shared(Rc<RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let files: Rc<RefCell<Vec<Shared>>> = Rc::default();
        let options = OutputOptions {
            frames_per_file: Some(3),
            gzip: true,
            ..OutputOptions::default()
        };
        let opened = files.clone();
        let mut w = SplitWriter::new(options, &[LinkType::RAW], move |_| {
            let f = Shared::default();
            opened.borrow_mut().push(f.clone());
            Ok(f)
        })
        .unwrap();
        for i in 0..7u8 {
            w.write_frame(TS + i64::from(i), 0, &[i]).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(w.files(), 3);
        let counts: Vec<usize> = files
            .borrow()
            .iter()
            .map(|f| {
                let mut unpacked = Vec::new();
                let bytes = f.0.borrow().clone();
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_end(&mut unpacked)
                    .unwrap();
                read_back(&unpacked).len()
            })
            .collect();
        assert_eq!(counts, vec![3, 3, 1]);
    }

    #[test]
    fn split_names_follow_tcpdump() {
        let base = Path::new("dir/out.pcap");
        assert_eq!(split_file_name(base, 0), PathBuf::from("dir/out.pcap"));
        assert_eq!(split_file_name(base, 2), PathBuf::from("dir/out.pcap2"));
    }
}
