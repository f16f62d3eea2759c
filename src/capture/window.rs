//! An owned, growable byte window over a [`Read`] source.
//!
//! Parsers ask for "at least `n` bytes from the current position"; the window compacts and
//! refills by looping over `read()`, so a pipe that delivers a few bytes at a time works, and
//! grows (up to a hard cap) only when a single block is larger than the buffer.

use std::io::{self, Read};

/// Size of the buffer a reader starts with (enough for any file header).
pub(crate) const INITIAL_SIZE: usize = 64 * 1024;
/// Size the buffer grows to once frames are read, unless told otherwise.
pub(crate) const DEFAULT_NORMAL_SIZE: usize = 1 << 20;
/// No single block or record may be larger than this; above it the input is corrupt.
pub(crate) const MAX_BLOCK: usize = 256 << 20;

/// A byte source plus the buffer that holds its not-yet-consumed bytes.
pub(crate) struct ByteWindow {
    source: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The source ended with `UnexpectedEof` (a compressed stream cut short).
    source_cut: bool,
    normal_size: usize,
}

impl ByteWindow {
    /// Wraps a source; nothing is read yet.
    pub(crate) fn new(source: Box<dyn Read + Send>) -> Self {
        ByteWindow {
            source,
            buf: vec![0; INITIAL_SIZE],
            start: 0,
            end: 0,
            eof: false,
            source_cut: false,
            normal_size: DEFAULT_NORMAL_SIZE,
        }
    }

    /// Replaces the source by `wrap(source)` where the new source first yields the bytes still
    /// buffered. Used to put a decompressor in front of already-sniffed bytes.
    pub(crate) fn rewrap(
        self,
        wrap: impl FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send>,
    ) -> Self {
        let buffered = self.buf[self.start..self.end].to_vec();
        let inner: Box<dyn Read + Send> = Box::new(io::Cursor::new(buffered).chain(self.source));
        let mut window = ByteWindow::new(wrap(inner));
        window.normal_size = self.normal_size;
        window
    }

    /// Sets the buffer size used for ordinary reading (blocks larger than it still fit).
    pub(crate) fn set_normal_size(&mut self, size: usize) {
        self.normal_size = size.clamp(INITIAL_SIZE, MAX_BLOCK);
    }

    /// The buffered, unconsumed bytes.
    #[inline]
    pub(crate) fn available(&self) -> &[u8] {
        // start <= end <= buf.len() is kept by every method.
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Absolute buffer offset of the first unconsumed byte (for ranges that outlive a borrow).
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.start
    }

    /// Bytes at absolute buffer offsets, valid until the next call to [`ByteWindow::ensure`].
    #[inline]
    pub(crate) fn bytes_at(&self, from: usize, len: usize) -> &[u8] {
        from.checked_add(len)
            .and_then(|to| self.buf.get(from..to))
            .unwrap_or_default()
    }

    /// Drops `n` bytes from the front of the window (at most what is buffered).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
    }

    /// Whether the source hit its end with a cut (a truncated compressed stream).
    pub(crate) fn source_cut(&self) -> bool {
        self.source_cut
    }

    /// Makes at least `need` bytes available. `Ok(false)` means the input ended first (the
    /// bytes that did arrive stay available). `need` must not exceed [`MAX_BLOCK`].
    pub(crate) fn ensure(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        if need > MAX_BLOCK {
            return Ok(false);
        }
        if self.buf.len() - self.start < need || self.buf.len() < self.normal_size {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < self.normal_size {
                self.buf.resize(self.normal_size, 0);
            }
        }
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            if self.end == self.buf.len() {
                // Grown as the bytes arrive, not at once: a record header may claim far
                // more than the input holds.
                let grown = (self.buf.len() * 2).clamp(INITIAL_SIZE, self.start + need);
                self.buf.resize(grown, 0);
            }
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            match self.source.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = (self.end + n).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    self.source_cut = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per call.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn ensure_loops_over_short_reads_and_reports_the_end() {
        let data: Vec<u8> = (0..=255).collect();
        let mut w = ByteWindow::new(Box::new(Trickle {
            data: data.clone(),
            pos: 0,
            chunk: 3,
        }));
        assert!(w.ensure(100).unwrap());
        assert_eq!(&w.available()[..100], &data[..100]);
        assert!(w.ensure(250).unwrap());
        w.consume(250);
        assert!(w.ensure(6).unwrap());
        assert!(!w.ensure(7).unwrap());
        assert_eq!(w.available(), &data[250..]);
        assert!(!w.source_cut());
    }

    #[test]
    fn window_grows_for_a_block_larger_than_the_buffer() {
        let data = vec![7u8; 3 * DEFAULT_NORMAL_SIZE];
        let mut w = ByteWindow::new(Box::new(io::Cursor::new(data)));
        assert!(w.ensure(2 * DEFAULT_NORMAL_SIZE + 5).unwrap());
        w.consume(2 * DEFAULT_NORMAL_SIZE);
        assert!(w.ensure(DEFAULT_NORMAL_SIZE).unwrap());
        assert!(!w.ensure(MAX_BLOCK + 1).unwrap());
    }

    #[test]
    fn a_claimed_block_larger_than_the_input_allocates_only_what_arrives() {
        let data = vec![7u8; 1000];
        let mut w = ByteWindow::new(Box::new(io::Cursor::new(data)));
        assert!(!w.ensure(200 << 20).unwrap());
        assert_eq!(w.available().len(), 1000);
        assert!(
            w.buf.len() <= DEFAULT_NORMAL_SIZE,
            "{} bytes allocated",
            w.buf.len()
        );
    }

    #[test]
    fn unexpected_eof_from_the_source_is_a_cut() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::UnexpectedEof.into())
            }
        }
        let mut w = ByteWindow::new(Box::new(Broken));
        assert!(!w.ensure(1).unwrap());
        assert!(w.source_cut());
    }
}
