//! The chunked transfer coding (RFC 9112 section 7.1), decoded incrementally: chunk sizes with
//! extensions, chunk data, trailer fields.

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
fn parse_field_line(line: &[u8]) -> Option<(String, String)> {
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
