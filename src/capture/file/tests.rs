//! Tests of the capture readers (pcap, pcapng, gzip, stdin, merging), with builders of
//! capture files that other tests use too.

use super::*;
use crate::capture::{InputSpec, LinkType, MergedReader};
use std::io::Write;

/// Builds classic pcap files.
pub(crate) struct PcapBuilder {
    big_endian: bool,
    pub(crate) bytes: Vec<u8>,
}

impl PcapBuilder {
    pub(crate) fn new(big_endian: bool, nanos: bool, link: u32) -> Self {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut b = PcapBuilder {
            big_endian,
            bytes: Vec::new(),
        };
        b.u32(magic);
        b.u16(2);
        b.u16(4);
        b.u32(0);
        b.u32(0);
        b.u32(65535);
        b.u32(link);
        b
    }
    fn u32(&mut self, v: u32) {
        let bytes = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&bytes);
    }
    fn u16(&mut self, v: u16) {
        let bytes = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&bytes);
    }
    /// Adds a record; `frac` is micro- or nanoseconds depending on the file.
    pub(crate) fn record(mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> Self {
        self.u32(secs);
        self.u32(frac);
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.bytes.extend_from_slice(data);
        self
    }
}

/// Builds pcapng files block by block.
pub(crate) struct NgBuilder {
    big_endian: bool,
    pub(crate) bytes: Vec<u8>,
}

impl NgBuilder {
    pub(crate) fn new() -> Self {
        NgBuilder {
            big_endian: false,
            bytes: Vec::new(),
        }
    }
    fn u32v(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u16v(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    /// Appends a block: type, length, body (padded to 4), length.
    pub(crate) fn block(mut self, block_type: u32, body: &[u8]) -> Self {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let t = self.u32v(block_type);
        let l = self.u32v(len);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(&l);
        self
    }
    pub(crate) fn section(mut self, big_endian: bool) -> Self {
        self.big_endian = big_endian;
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32v(0x1A2B_3C4D));
        body.extend_from_slice(&self.u16v(1));
        body.extend_from_slice(&self.u16v(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0A0D_0D0A, &body)
    }
    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&self.u16v(code));
        body.extend_from_slice(&self.u16v(value.len() as u16));
        body.extend_from_slice(value);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
    }
    pub(crate) fn interface(self, link: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16v(link));
        body.extend_from_slice(&self.u16v(0));
        body.extend_from_slice(&self.u32v(0));
        if let Some(r) = tsresol {
            self.option(&mut body, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let v = if self.big_endian {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut body, 14, &v);
        }
        if tsresol.is_some() || tsoffset.is_some() {
            self.option(&mut body, 0, &[]);
        }
        self.block(1, &body)
    }
    pub(crate) fn epb(self, if_id: u32, ts: u64, data: &[u8], orig_len: u32) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32v(if_id));
        body.extend_from_slice(&self.u32v((ts >> 32) as u32));
        body.extend_from_slice(&self.u32v(ts as u32));
        body.extend_from_slice(&self.u32v(data.len() as u32));
        body.extend_from_slice(&self.u32v(orig_len));
        body.extend_from_slice(data);
        while !body.len().is_multiple_of(4) {
            body.push(0xAA); // padding that must not show up in frames
        }
        // An epb_flags option, as Wireshark writes.
        self.option(&mut body, 2, &[0, 0, 0, 1]);
        self.option(&mut body, 0, &[]);
        self.block(6, &body)
    }
    pub(crate) fn spb(self, data: &[u8]) -> Self {
        let mut body = self.u32v(data.len() as u32).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body)
    }
    pub(crate) fn pb(self, if_id: u16, ts: u64, data: &[u8]) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16v(if_id));
        body.extend_from_slice(&self.u16v(0));
        body.extend_from_slice(&self.u32v((ts >> 32) as u32));
        body.extend_from_slice(&self.u32v(ts as u32));
        body.extend_from_slice(&self.u32v(data.len() as u32));
        body.extend_from_slice(&self.u32v(data.len() as u32));
        body.extend_from_slice(data);
        self.block(2, &body)
    }
}

/// A reader that hands out 1 to 7 bytes per call.
struct SlowPipe {
    data: Vec<u8>,
    pos: usize,
    calls: usize,
}

impl Read for SlowPipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        let n = (1 + self.calls % 7)
            .min(out.len())
            .min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn slow(data: Vec<u8>) -> Box<dyn Read + Send> {
    Box::new(SlowPipe {
        data,
        pos: 0,
        calls: 0,
    })
}

pub(crate) fn reader(bytes: Vec<u8>) -> Result<CaptureReader, InputError> {
    CaptureReader::from_reader("test.pcap", Box::new(io::Cursor::new(bytes)), 0)
}

/// (frame number, timestamp, link, orig_len, data) of every frame.
type Row = (u64, Nanos, u32, u32, Vec<u8>);

pub(crate) fn read_all(r: &mut CaptureReader) -> Result<Vec<Row>, InputError> {
    let mut rows = Vec::new();
    while let Some(f) = r.next_frame()? {
        rows.push((f.frame.number, f.ts, f.link.0, f.orig_len, f.data.to_vec()));
    }
    Ok(rows)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn two_record_pcap(big_endian: bool, nanos: bool) -> Vec<u8> {
    PcapBuilder::new(big_endian, nanos, 1)
        .record(1_700_000_000, 250, b"first", 60)
        .record(1_700_000_001, 999, b"second!", 7)
        .bytes
}

#[test]
fn pcap_all_four_magics() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let mut r = reader(two_record_pcap(big_endian, nanos)).unwrap();
            let rows = read_all(&mut r).unwrap();
            let scale = if nanos { 1 } else { 1000 };
            assert_eq!(
                rows,
                vec![
                    (
                        1,
                        1_700_000_000_000_000_000 + 250 * scale,
                        1,
                        60,
                        b"first".to_vec()
                    ),
                    (
                        2,
                        1_700_000_001_000_000_000 + 999 * scale,
                        1,
                        7,
                        b"second!".to_vec()
                    ),
                ],
                "big_endian={big_endian} nanos={nanos}"
            );
            assert!(r.warning().is_none());
            assert!(r.next_frame().unwrap().is_none());
        }
    }
}

fn sample_pcapng() -> Vec<u8> {
    NgBuilder::new()
        .section(false)
        .interface(1, None, None) // Ethernet, microseconds
        .interface(101, Some(9), Some(100)) // raw IP, nanoseconds, +100 s
        .epb(0, 1_500_000, b"abcde", 5)
        .block(0x0000_0BAD, &[1, 2, 3, 4]) // custom block: skipped
        .epb(1, 2_000_000_123, b"xyz", 9)
        .spb(b"simple")
        .pb(1, 7, b"obsolete")
        .section(true)
        .interface(113, Some(0x80 | 10), None) // cooked, 1/1024 s
        .epb(0, 1536, b"big-endian", 10)
        .bytes
}

fn expected_pcapng_rows() -> Vec<Row> {
    vec![
        (1, 1_500_000_000, 1, 5, b"abcde".to_vec()),
        (2, 102_000_000_123, 101, 9, b"xyz".to_vec()),
        (3, 102_000_000_123, 1, 6, b"simple".to_vec()),
        (4, 100_000_000_007, 101, 8, b"obsolete".to_vec()),
        (5, 1_500_000_000, 113, 10, b"big-endian".to_vec()),
    ]
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    let mut r = reader(sample_pcapng()).unwrap();
    assert_eq!(read_all(&mut r).unwrap(), expected_pcapng_rows());
    assert!(r.warning().is_none());
}

#[test]
fn slow_pipe_delivering_a_few_bytes_per_read() {
    for bytes in [
        sample_pcapng(),
        two_record_pcap(false, false),
        gzip(&sample_pcapng()),
    ] {
        let mut fast = reader(bytes.clone()).unwrap();
        let mut trickle = CaptureReader::from_reader("-", slow(bytes), 0).unwrap();
        let expected = read_all(&mut fast).unwrap();
        assert!(!expected.is_empty());
        assert_eq!(read_all(&mut trickle).unwrap(), expected);
        assert!(trickle.warning().is_none());
    }
}

#[test]
fn gzip_single_and_concatenated_members() {
    let plain = sample_pcapng();
    let mut r = reader(gzip(&plain)).unwrap();
    assert_eq!(read_all(&mut r).unwrap(), expected_pcapng_rows());
    let (a, b) = plain.split_at(101);
    let mut two = gzip(a);
    two.extend_from_slice(&gzip(b));
    let mut r = reader(two).unwrap();
    assert_eq!(read_all(&mut r).unwrap(), expected_pcapng_rows());
    assert!(r.warning().is_none());
}

#[test]
fn cut_file_returns_frames_before_the_cut_then_warns() {
    let full = two_record_pcap(false, false);
    for cut_at in [full.len() - 1, full.len() - 7, full.len() - 10] {
        let mut r = reader(full[..cut_at].to_vec()).unwrap();
        assert_eq!(read_all(&mut r).unwrap().len(), 1);
        assert_eq!(
            r.warning(),
            Some(&InputWarning::Cut {
                path: "test.pcap".into(),
                frames: 1
            })
        );
    }
    let ng = sample_pcapng();
    let mut r = reader(ng[..ng.len() - 3].to_vec()).unwrap();
    assert_eq!(read_all(&mut r).unwrap().len(), 4);
    assert!(matches!(
        r.warning(),
        Some(InputWarning::Cut { frames: 4, .. })
    ));
    // Cut inside the interface block that precedes the first packet: nothing to analyze.
    let e = reader(ng[..40].to_vec()).err().unwrap();
    assert!(matches!(e, InputError::CutBeforeFirstPacket { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "test.pcap: pcapng file cut short before its first packet; nothing to analyze"
    );
}

#[test]
fn gzip_stream_ending_early_is_a_cut() {
    let plain = two_record_pcap(false, false);
    let packed = gzip(&plain);
    // Without its 8-byte trailer the stream ends early even if all the data is there.
    for keep in [packed.len() - 8, packed.len() - 4] {
        let mut r = reader(packed[..keep].to_vec()).unwrap();
        let rows = read_all(&mut r).unwrap();
        assert!(rows.len() <= 2);
        assert!(
            matches!(r.warning(), Some(InputWarning::Cut { .. })),
            "keep {keep}"
        );
    }
}

#[test]
fn error_cases_name_the_file() {
    let missing = CaptureReader::open(&InputSpec::Path("no/such/file.pcap".into()), 0);
    match missing {
        Err(e @ InputError::Io { .. }) => {
            assert!(e.to_string().starts_with("no/such/file.pcap: "))
        }
        other => panic!("expected Io, got {:?}", other.err()),
    }
    assert!(matches!(reader(Vec::new()), Err(InputError::Empty { .. })));
    let e = reader(gzip(b"")).err().unwrap();
    assert_eq!(
        e.to_string(),
        "test.pcap: not a capture (it is gzip-compressed and holds nothing); give a pcap or pcapng file"
    );
    let e = reader(b"GET / HTTP/1.1\r\n".to_vec()).err().unwrap();
    assert_eq!(
        e.to_string(),
        "test.pcap: not a capture (it looks like an HTTP message as text); give a pcap or pcapng file"
    );
    assert!(matches!(
        reader(b"ab".to_vec()),
        Err(InputError::NotACapture { .. })
    ));
    let e = reader(PcapBuilder::new(false, false, 147).bytes)
        .err()
        .unwrap();
    assert!(matches!(
        e,
        InputError::UnsupportedLinkType { linktype: 147, .. }
    ));
    assert_eq!(
        e.to_string(),
        "test.pcap: unsupported link type 147 (USER0); cwmpscope decodes Ethernet, \
         Linux cooked (SLL, SLL2), raw IPv4/IPv6, BSD loopback (NULL, LOOP) and PPP"
    );
    let ng = NgBuilder::new()
        .section(false)
        .interface(147, None, None)
        .bytes;
    assert!(matches!(
        reader(ng),
        Err(InputError::UnsupportedLinkType { linktype: 147, .. })
    ));
    let short_header = two_record_pcap(false, false)[..20].to_vec();
    let e = reader(short_header).err().unwrap();
    assert_eq!(
        e.to_string(),
        "test.pcap: pcap file cut short in its 24-byte file header (20 bytes); nothing to analyze"
    );
    let mut bad_gzip = gzip(&two_record_pcap(false, false));
    bad_gzip[3] = 0xff; // reserved flag bits set
    assert!(reader(bad_gzip).is_err());
}

#[test]
fn modified_pcap_records_have_a_longer_header() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    bytes.extend_from_slice(&[2, 0, 4, 0]);
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    for (secs, data) in [(10u32, &b"one"[..]), (11, b"two!")] {
        for v in [secs, 5, data.len() as u32, data.len() as u32] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&[0; 8]); // ifindex, protocol, type, padding
        bytes.extend_from_slice(data);
    }
    let rows = read_all(&mut reader(bytes).unwrap()).unwrap();
    assert_eq!(
        rows,
        vec![
            (1, 10_000_005_000, 1, 3, b"one".to_vec()),
            (2, 11_000_005_000, 1, 4, b"two!".to_vec())
        ]
    );
}

#[test]
fn unreadable_input_is_an_io_error() {
    let dir = CaptureReader::open(&InputSpec::Path(".".into()), 0);
    assert!(matches!(dir, Err(InputError::Io { .. })));
}

#[test]
fn garbage_in_the_middle_is_corrupt() {
    // pcap: a record header whose caplen is absurd.
    let mut bytes = two_record_pcap(false, false);
    bytes.extend_from_slice(&[0x41; 64]);
    let mut r = reader(bytes).unwrap();
    assert_eq!(r.next_frame().unwrap().unwrap().frame.number, 1);
    assert_eq!(r.next_frame().unwrap().unwrap().frame.number, 2);
    let err = r.next_frame().err().unwrap();
    assert!(matches!(err, InputError::Corrupt { .. }));
    assert!(err.to_string().starts_with("test.pcap: "));
    assert!(r.next_frame().unwrap().is_none());

    // pcapng: a block length that is not a multiple of 4, then one whose trailer disagrees.
    let good = NgBuilder::new()
        .section(false)
        .interface(1, None, None)
        .epb(0, 1, b"x", 1);
    let mut bad_len = good.bytes.clone();
    bad_len.extend_from_slice(&[6, 0, 0, 0, 33, 0, 0, 0]);
    bad_len.extend_from_slice(&[0; 40]);
    let mut r = reader(bad_len).unwrap();
    assert!(r.next_frame().unwrap().is_some());
    assert!(matches!(r.next_frame(), Err(InputError::Corrupt { .. })));
    let mut bad_trailer = good.epb(0, 2, b"y", 1).bytes;
    let n = bad_trailer.len();
    bad_trailer[n - 4] ^= 0x10;
    let mut r = reader(bad_trailer).unwrap();
    assert!(r.next_frame().unwrap().is_some());
    assert!(matches!(r.next_frame(), Err(InputError::Corrupt { .. })));
    // A packet for an interface that was never described.
    let orphan = NgBuilder::new().section(false).epb(3, 1, b"x", 1).bytes;
    assert!(matches!(reader(orphan), Err(InputError::Corrupt { .. })));
}

#[test]
fn large_packet_grows_the_buffer() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
    let bytes = NgBuilder::new()
        .section(false)
        .interface(1, None, None)
        .epb(0, 1, &big, big.len() as u32)
        .epb(0, 2, b"after", 5)
        .bytes;
    let mut r = reader(bytes).unwrap();
    assert_eq!(r.next_frame().unwrap().unwrap().data, big.as_slice());
    assert_eq!(r.next_frame().unwrap().unwrap().data, b"after");
}

#[test]
fn peek_does_not_consume() {
    let mut r = reader(two_record_pcap(false, true)).unwrap();
    assert_eq!(r.peek_ts().unwrap(), Some(1_700_000_000_000_000_250));
    assert_eq!(r.peek_ts().unwrap(), Some(1_700_000_000_000_000_250));
    assert_eq!(r.next_frame().unwrap().unwrap().data, b"first");
    assert_eq!(r.peek_ts().unwrap(), Some(1_700_000_001_000_000_999));
    assert_eq!(r.next_frame().unwrap().unwrap().frame.number, 2);
    assert_eq!(r.peek_ts().unwrap(), None);
    assert_eq!(r.frames_read(), 2);
}

fn file_with(file_index: u16, stamps: &[(u32, &[u8])]) -> CaptureReader {
    let mut b = PcapBuilder::new(false, false, LinkType::RAW.0);
    for (secs, data) in stamps {
        b = b.record(*secs, 0, data, data.len() as u32);
    }
    CaptureReader::from_reader(
        format!("f{file_index}"),
        Box::new(io::Cursor::new(b.bytes)),
        file_index,
    )
    .unwrap()
}

#[test]
fn merged_reader_orders_by_time_with_ties_to_the_earlier_file() {
    let a = file_with(0, &[(1, b"a1"), (3, b"a3"), (5, b"a5")]);
    let b = file_with(1, &[(2, b"b2"), (3, b"b3"), (9, b"b9")]);
    let mut cut = two_record_pcap(false, false);
    cut.truncate(cut.len() - 2);
    let c = CaptureReader::from_reader("c", Box::new(io::Cursor::new(cut)), 2).unwrap();
    let mut m = MergedReader::new(vec![a, b, c]).unwrap();
    let mut order = Vec::new();
    while let Some(f) = m.next_frame().unwrap() {
        order.push((f.frame.file, f.frame.number, f.data.to_vec()));
    }
    let names: Vec<&[u8]> = order.iter().map(|o| o.2.as_slice()).collect();
    assert_eq!(
        names,
        [&b"a1"[..], b"b2", b"a3", b"b3", b"a5", b"b9", b"first"]
    );
    assert_eq!(order[2], (0, 2, b"a3".to_vec()));
    assert_eq!(order[3], (1, 2, b"b3".to_vec()));
    assert_eq!(
        m.warnings(),
        vec![InputWarning::Cut {
            path: "c".into(),
            frames: 1
        }]
    );
}

#[test]
fn merged_reader_with_one_input_passes_frames_through() {
    let mut m = MergedReader::new(vec![file_with(0, &[(5, b"x"), (1, b"y")])]).unwrap();
    // No reordering inside one file.
    assert_eq!(m.next_frame().unwrap().unwrap().data, b"x");
    assert_eq!(m.next_frame().unwrap().unwrap().data, b"y");
    assert!(m.next_frame().unwrap().is_none());
    assert!(
        MergedReader::new(Vec::new())
            .unwrap()
            .next_frame()
            .unwrap()
            .is_none()
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_after_a_header_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..600), ng in proptest::bool::ANY) {
        let mut bytes = if ng {
            NgBuilder::new().section(false).interface(1, Some(9), None).bytes
        } else {
            PcapBuilder::new(false, false, 1).bytes
        };
        bytes.extend_from_slice(&tail);
        if let Ok(mut r) = reader(bytes) {
            for _ in 0..1000 {
                match r.next_frame() {
                    Ok(Some(f)) => proptest::prop_assert!(f.data.len() <= tail.len()),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
