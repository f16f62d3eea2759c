//! Bounded storage of one message body: undoes gzip/deflate Content-Encoding on the fly without
//! ever holding more than the storage limit, and, when asked, takes the SHA-256 of the wire bytes.

use super::digest::{DigestQueue, Digested, Digester};
use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};
use std::io::{self, Write};

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
    /// The digest of the wire bytes so far, when asked for; dropped at a capture gap.
    digest: Option<Digester>,
}

/// The SHA-256 of a body's wire bytes (after de-chunking, before any Content-Encoding is
/// undone): what `sha256sum` gives for the file the server sent. It uses the CPU's SHA
/// instructions where it has them (SHA-NI, ARMv8 SHA2), chosen when the program runs.
pub type BodyDigest = [u8; 32];

impl BodyStore {
    /// Storage for a body with the given Content-Encoding; `digest`: the SHA-256 of the wire
    /// bytes is computed too (for bodies that may be files: the cost is about 0.6 ns a byte).
    pub fn new(limit: usize, coding: ContentCoding, digest: bool) -> Self {
        Self::digested_by(limit, coding, digest, None)
    }

    /// As [`BodyStore::new`], the digest taken on the hashing thread behind `queue` if there
    /// is one.
    pub fn digested_by(
        limit: usize,
        coding: ContentCoding,
        digest: bool,
        queue: Option<&DigestQueue>,
    ) -> Self {
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
            digest: digest.then(|| Digester::new(queue)),
        }
    }

    /// Bytes of the decoded body kept at most.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The body is complete: its SHA-256 (or the ticket it will come back with from the
    /// hashing thread), when it was asked for and no byte was lost.
    pub fn finish_digest(&mut self) -> Option<Digested> {
        self.digest.take().map(Digester::finish)
    }

    /// Adds wire body bytes (already de-chunked).
    pub fn feed(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(d) = &mut self.digest {
            d.update(data);
        }
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
        self.digest = None;
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
