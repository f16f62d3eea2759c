//! Message bodies: the chunked transfer coding (an incremental decoder) and bounded body storage
//! that undoes gzip/deflate Content-Encoding without ever holding more than the storage limit.

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};
use std::io::{self, Write};

/// Longest chunk-size or trailer line accepted (extensions included).
pub const MAX_CHUNK_LINE: usize = 4096;
/// Trailer fields kept per message; further ones are skipped.
pub const MAX_TRAILERS: usize = 64;

/// Why a chunked body could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// The chunk-size line is not a hexadecimal size.
    BadSize,
    /// A chunk-size or trailer line is longer than [`MAX_CHUNK_LINE`].
    LineTooLong,
    /// The chunk data is not followed by a line end.
    MissingDataEnd,
}

impl ChunkError {
    /// A short human-readable reason.
    pub fn reason(self) -> &'static str {
        match self {
            ChunkError::BadSize => "invalid chunk size",
            ChunkError::LineTooLong => "chunk-size or trailer line too long",
            ChunkError::MissingDataEnd => "chunk data not followed by CRLF",
        }
    }
}

/// Where the decoder stopped in one call of [`ChunkedDecoder::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkStatus {
    /// The last chunk and the trailer section ended; the body is complete.
    Done,
    /// Every byte was used, or the input ends inside a line: the caller must present the
    /// unconsumed rest again, followed by more bytes.
    NeedMore,
    /// The framing is broken.
    Error(ChunkError),
}

/// Result of one call of [`ChunkedDecoder::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Input bytes used (decoded or framing).
    pub consumed: usize,
    /// Why the decoder stopped.
    pub status: ChunkStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data { remaining: u64 },
    DataEnd,
    Trailer,
    Done,
}

/// Incremental decoder of the chunked transfer coding (RFC 9112 §7.1): sizes with extensions,
/// data, trailer fields. Bare LF line ends are tolerated.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    trailers: Vec<(String, String)>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder positioned before the first chunk-size line.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            trailers: Vec::new(),
        }
    }

    /// Decodes as much of `input` as possible, passing chunk data to `on_data`. Lines split
    /// across calls are left unconsumed (see [`ChunkStatus::NeedMore`]).
    pub fn feed(&mut self, input: &[u8], on_data: &mut impl FnMut(&[u8])) -> ChunkProgress {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                ChunkState::Done => return progress(pos, ChunkStatus::Done),
                ChunkState::Size => match find_line(rest) {
                    Err(e) => return progress(pos, ChunkStatus::Error(e)),
                    Ok(None) => return progress(pos, ChunkStatus::NeedMore),
                    Ok(Some(line_len)) => {
                        let line = rest.get(..line_len).unwrap_or_default();
                        match parse_chunk_size_line(line) {
                            Some(0) => self.state = ChunkState::Trailer,
                            Some(size) => self.state = ChunkState::Data { remaining: size },
                            None => return progress(pos, ChunkStatus::Error(ChunkError::BadSize)),
                        }
                        pos += line_len;
                    }
                },
                ChunkState::Data { remaining } => {
                    if rest.is_empty() {
                        return progress(pos, ChunkStatus::NeedMore);
                    }
                    let take = clamp_len(remaining, rest.len());
                    on_data(rest.get(..take).unwrap_or_default());
                    pos += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data { remaining: left }
                    };
                }
                ChunkState::DataEnd => match rest {
                    [] | [b'\r'] => return progress(pos, ChunkStatus::NeedMore),
                    [b'\n', ..] => {
                        pos += 1;
                        self.state = ChunkState::Size;
                    }
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.state = ChunkState::Size;
                    }
                    _ => return progress(pos, ChunkStatus::Error(ChunkError::MissingDataEnd)),
                },
                ChunkState::Trailer => match find_line(rest) {
                    Err(e) => return progress(pos, ChunkStatus::Error(e)),
                    Ok(None) => return progress(pos, ChunkStatus::NeedMore),
                    Ok(Some(line_len)) => {
                        let line = trim_line_end(rest.get(..line_len).unwrap_or_default());
                        pos += line_len;
                        if line.is_empty() {
                            self.state = ChunkState::Done;
                        } else if self.trailers.len() < MAX_TRAILERS
                            && let Some(field) = parse_field_line(line)
                        {
                            self.trailers.push(field);
                        }
                    }
                },
            }
        }
    }

    /// Skips `len` bytes lost by the capture if they fall inside the current chunk's data.
    /// Returns false (and changes nothing) when the framing cannot be kept.
    pub fn skip_lost(&mut self, len: u64) -> bool {
        match self.state {
            ChunkState::Data { remaining } if len <= remaining => {
                let left = remaining - len;
                self.state = if left == 0 {
                    ChunkState::DataEnd
                } else {
                    ChunkState::Data { remaining: left }
                };
                true
            }
            _ => false,
        }
    }

    /// Whether the last chunk and the trailers were seen.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// The trailer fields seen so far (moved out).
    pub fn take_trailers(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.trailers)
    }
}

fn progress(consumed: usize, status: ChunkStatus) -> ChunkProgress {
    ChunkProgress { consumed, status }
}

/// `min(remaining, available)` as a usize, without lossy casts.
fn clamp_len(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// Length of the first line of `buf` including its `\n`, `None` if the line is not complete yet.
fn find_line(buf: &[u8]) -> Result<Option<usize>, ChunkError> {
    let window = buf.get(..MAX_CHUNK_LINE).unwrap_or(buf);
    match memchr::memchr(b'\n', window) {
        Some(i) => Ok(Some(i + 1)),
        None if buf.len() >= MAX_CHUNK_LINE => Err(ChunkError::LineTooLong),
        None => Ok(None),
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a chunk-size line (with its line end): hex size, optional whitespace and extensions.
fn parse_chunk_size_line(line: &[u8]) -> Option<u64> {
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return None;
    }
    if line.ends_with(b"\r\n") {
        return match httparse::parse_chunk_size(line) {
            Ok(httparse::Status::Complete((_, size))) => Some(size),
            _ => None,
        };
    }
    // Bare LF: httparse wants CRLF, so parse this lenient form here.
    let body = trim_line_end(line);
    let size_part = body.split(|&b| b == b';').next().unwrap_or_default();
    let digits = size_part.trim_ascii_end();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// Parses a `name: value` line leniently (lossy UTF-8, whitespace trimmed).
pub(crate) fn parse_field_line(line: &[u8]) -> Option<(String, String)> {
    let colon = memchr::memchr(b':', line)?;
    let name = line.get(..colon)?.trim_ascii();
    let value = line.get(colon + 1..)?.trim_ascii();
    if name.is_empty() {
        return None;
    }
    Some((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// Content-Encoding of a body, as far as it can be undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCoding {
    /// No coding, or one that is not undone (the body is stored as sent).
    Identity,
    /// `gzip` or `x-gzip`.
    Gzip,
    /// `deflate`: zlib-wrapped as the RFC says, or raw as some servers send it.
    Deflate,
}

impl ContentCoding {
    /// The coding named by a `Content-Encoding` value; several codings or unknown ones are kept
    /// as sent ([`ContentCoding::Identity`]).
    pub fn from_header(value: &str) -> Self {
        let v = value.trim();
        if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") {
            ContentCoding::Gzip
        } else if v.eq_ignore_ascii_case("deflate") {
            ContentCoding::Deflate
        } else {
            ContentCoding::Identity
        }
    }
}

/// A `Write` target that keeps at most `limit` bytes and then refuses more, which stops a
/// decompressor working on a decompression bomb.
#[derive(Debug, Default)]
struct CappedBuf {
    data: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Write for CappedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self.limit.saturating_sub(self.data.len());
        if room == 0 {
            self.overflowed = true;
            return Err(io::Error::other("body storage limit reached"));
        }
        let take = room.min(buf.len());
        self.data
            .extend_from_slice(buf.get(..take).unwrap_or_default());
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Inflater {
    Gzip(GzDecoder<CappedBuf>),
    Zlib(ZlibDecoder<CappedBuf>),
    Raw(DeflateDecoder<CappedBuf>),
}

impl Inflater {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Inflater::Gzip(d) => d.write_all(data),
            Inflater::Zlib(d) => d.write_all(data),
            Inflater::Raw(d) => d.write_all(data),
        }
    }

    /// Flushes what the decoder still holds and returns the output.
    fn finish(mut self) -> CappedBuf {
        let out = match &mut self {
            Inflater::Gzip(d) => {
                let _ = d.try_finish();
                d.get_mut()
            }
            Inflater::Zlib(d) => {
                let _ = d.try_finish();
                d.get_mut()
            }
            Inflater::Raw(d) => {
                let _ = d.try_finish();
                d.get_mut()
            }
        };
        std::mem::take(out)
    }

    fn output(&self) -> &CappedBuf {
        match self {
            Inflater::Gzip(d) => d.get_ref(),
            Inflater::Zlib(d) => d.get_ref(),
            Inflater::Raw(d) => d.get_ref(),
        }
    }
}

enum Decoding {
    /// Stored as sent.
    Identity,
    /// `deflate` whose first two bytes (zlib header or not) have not been seen yet.
    SniffingDeflate,
    Inflating(Box<Inflater>),
    /// Decoding ended (limit, corrupt data, or a capture gap); `decoded` holds the output.
    Stopped,
}

/// Bounded storage of one body: keeps at most `limit` bytes of the decoded body, counts nothing
/// (the caller counts wire bytes), and never buffers the wire body whole.
pub struct BodyStore {
    limit: usize,
    decoding: Decoding,
    /// Decoded output once decoding stopped, or the identity body.
    decoded: Vec<u8>,
    /// The first wire bytes of an encoded body, kept (up to `limit`) until decoding produced
    /// output, so that a body that fails to decode is still shown as sent.
    raw: Vec<u8>,
    raw_overflowed: bool,
    truncated: bool,
    hash: StreamHash,
}

/// A 64-bit hash of a byte stream that does not depend on how the stream was cut into pieces
/// (bytes are mixed a 64-bit word at a time, a partial word carried over to the next piece).
/// Not cryptographic: it tells whether two transfers delivered the same bytes.
#[derive(Clone, Debug)]
pub struct StreamHash {
    state: u64,
    carry: [u8; 8],
    carry_len: usize,
    len: u64,
}

impl Default for StreamHash {
    fn default() -> Self {
        StreamHash {
            state: 0x243f_6a88_85a3_08d3,
            carry: [0; 8],
            carry_len: 0,
            len: 0,
        }
    }
}

impl StreamHash {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn mix(&mut self, word: u64) {
        self.state = (self.state ^ word).wrapping_mul(Self::K).rotate_left(31);
    }

    /// Adds bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.carry_len > 0 {
            let take = (8 - self.carry_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(slot) = self.carry.get_mut(self.carry_len..self.carry_len + take) {
                slot.copy_from_slice(head);
            }
            self.carry_len += take;
            data = rest;
            if self.carry_len < 8 {
                return;
            }
            let word = u64::from_le_bytes(self.carry);
            self.mix(word);
            self.carry_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.mix(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if let Some(slot) = self.carry.get_mut(..rest.len()) {
            slot.copy_from_slice(rest);
        }
        self.carry_len = rest.len();
    }

    /// The hash of everything added so far.
    pub fn value(&self) -> u64 {
        let mut h = self.clone();
        let mut last = [0u8; 8];
        if let (Some(dst), Some(src)) = (last.get_mut(..h.carry_len), h.carry.get(..h.carry_len)) {
            dst.copy_from_slice(src);
        }
        h.mix(u64::from_le_bytes(last));
        h.mix(h.len);
        let mut x = h.state;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

impl BodyStore {
    /// Storage for a body with the given Content-Encoding.
    pub fn new(limit: usize, coding: ContentCoding) -> Self {
        let decoding = match coding {
            ContentCoding::Identity => Decoding::Identity,
            ContentCoding::Gzip => {
                Decoding::Inflating(Box::new(Inflater::Gzip(GzDecoder::new(CappedBuf {
                    limit,
                    ..CappedBuf::default()
                }))))
            }
            ContentCoding::Deflate => Decoding::SniffingDeflate,
        };
        BodyStore {
            limit,
            decoding,
            decoded: Vec::new(),
            raw: Vec::new(),
            raw_overflowed: false,
            truncated: false,
            hash: StreamHash::default(),
        }
    }

    /// Hash of the wire body bytes fed so far.
    pub fn hash(&self) -> u64 {
        self.hash.value()
    }

    /// Adds wire body bytes (already de-chunked).
    pub fn feed(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.hash.update(data);
        match &mut self.decoding {
            Decoding::Identity => {
                let room = self.limit.saturating_sub(self.decoded.len());
                if data.len() > room {
                    self.truncated = true;
                }
                self.decoded
                    .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            }
            Decoding::Stopped => {}
            Decoding::SniffingDeflate => {
                self.keep_raw(data);
                if self.raw.len() >= 2 || self.raw_overflowed {
                    self.start_deflate();
                }
            }
            Decoding::Inflating(inflater) => {
                let produced_before = !inflater.output().data.is_empty();
                if !produced_before {
                    self.keep_raw(data);
                }
                self.inflate(data);
            }
        }
    }

    /// The capture lost bytes of this body: decoding cannot go on past the hole.
    pub fn on_gap(&mut self) {
        if matches!(
            self.decoding,
            Decoding::Inflating(_) | Decoding::SniffingDeflate
        ) {
            self.stop_decoding();
        }
    }

    /// The stored body and whether it was cut at the limit.
    pub fn finish(mut self) -> (Vec<u8>, bool) {
        if !matches!(self.decoding, Decoding::Identity | Decoding::Stopped) {
            self.stop_decoding();
        }
        (self.decoded, self.truncated)
    }

    /// Falls back to storing the wire bytes, starting with those kept so far.
    fn keep_as_sent(&mut self) {
        self.decoded = std::mem::take(&mut self.raw);
        self.truncated |= self.raw_overflowed;
        self.decoding = Decoding::Identity;
    }

    fn keep_raw(&mut self, data: &[u8]) {
        let room = self.limit.saturating_sub(self.raw.len());
        if data.len() > room {
            self.raw_overflowed = true;
        }
        self.raw
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
    }

    fn start_deflate(&mut self) {
        let out = CappedBuf {
            limit: self.limit,
            ..CappedBuf::default()
        };
        let zlib = match self.raw.as_slice() {
            [cmf, flg, ..] => {
                *cmf & 0x0f == 8
                    && *cmf >> 4 <= 7
                    && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
            }
            _ => false,
        };
        let inflater = if zlib {
            Inflater::Zlib(ZlibDecoder::new(out))
        } else {
            Inflater::Raw(DeflateDecoder::new(out))
        };
        self.decoding = Decoding::Inflating(Box::new(inflater));
        let raw = std::mem::take(&mut self.raw);
        self.inflate(&raw);
        if let Decoding::Inflating(inflater) = &self.decoding
            && inflater.output().data.is_empty()
        {
            self.raw = raw;
        }
    }

    fn inflate(&mut self, data: &[u8]) {
        let Decoding::Inflating(inflater) = &mut self.decoding else {
            return;
        };
        let result = inflater.write_all(data);
        if !inflater.output().data.is_empty() {
            // Decoding works: the wire copy is no longer needed.
            self.raw = Vec::new();
        }
        if result.is_err() {
            self.stop_decoding();
        }
    }

    fn stop_decoding(&mut self) {
        let previous = std::mem::replace(&mut self.decoding, Decoding::Stopped);
        let Decoding::Inflating(inflater) = previous else {
            // Still sniffing: nothing was decoded, keep the body as sent.
            self.keep_as_sent();
            return;
        };
        let out = inflater.finish();
        if out.data.is_empty() && !self.raw.is_empty() {
            // Not decodable: keep the body as sent, including what still follows.
            self.keep_as_sent();
        } else {
            self.decoded = out.data;
            self.truncated |= out.overflowed;
        }
        self.raw = Vec::new();
    }
}

#[cfg(test)]
mod tests;
