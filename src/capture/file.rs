//! One capture file or stdin: format sniffing (pcap, pcapng, gzip), buffered block reading.

use super::pcap::{FILE_HEADER_LEN, PcapFormat, is_pcap_magic};
use super::pcapng::{PcapNgFormat, is_pcapng_magic};
use super::sniff::{self, SNIFF_LEN};
use super::window::ByteWindow;
use super::{Frame, InputError, InputSpec, InputWarning, Located, ReadError, Step};
use crate::types::{FrameRef, Nanos};
use std::io::{self, Read};

/// The container format found at open.
enum Format {
    Pcap(PcapFormat),
    PcapNg(PcapNgFormat),
}

/// Reads one pcap or pcapng stream (optionally gzip-compressed) from a file or stdin.
///
/// Frames are lent out one at a time from the reader's own buffer; reading does not allocate
/// per frame. [`CaptureReader::peek_ts`] looks at the next frame's timestamp without taking it,
/// which is what [`super::MergedReader`] builds on.
pub struct CaptureReader {
    name: String,
    file_index: u16,
    gzip: bool,
    window: ByteWindow,
    format: Format,
    /// The next frame, found in the buffer but not handed out yet.
    located: Option<Located>,
    frames: u64,
    finished: bool,
    warning: Option<InputWarning>,
}

impl CaptureReader {
    /// Opens the input and checks its header. `file_index` goes into every `FrameRef`.
    pub fn open(spec: &InputSpec, file_index: u16) -> Result<Self, InputError> {
        let name = spec.display_name();
        let source: Box<dyn Read + Send> = match spec {
            InputSpec::Path(path) => match std::fs::File::open(path) {
                Ok(file) => Box::new(file),
                Err(source) => return Err(InputError::Io { path: name, source }),
            },
            InputSpec::Stdin => Box::new(io::stdin()),
        };
        Self::from_reader(name, source, file_index)
    }

    /// Reads a capture from any byte source (`name` is used in messages and warnings).
    pub fn from_reader(
        name: impl Into<String>,
        source: Box<dyn Read + Send>,
        file_index: u16,
    ) -> Result<Self, InputError> {
        let name = name.into();
        let mut window = ByteWindow::new(source);
        let mut gzip = false;
        let io_err =
            |name: &str, gzip: bool, e: io::Error| to_input_error(name, gzip, ReadError::Io(e));
        window.ensure(2).map_err(|e| io_err(&name, gzip, e))?;
        if window.available().starts_with(&[0x1f, 0x8b]) {
            gzip = true;
            window = window.rewrap(|inner| Box::new(flate2::read::MultiGzDecoder::new(inner)));
        }
        window.ensure(4).map_err(|e| io_err(&name, gzip, e))?;
        if window.available().is_empty() && !gzip {
            return Err(InputError::Empty { path: name });
        }
        let magic: [u8; 4] = window
            .available()
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .unwrap_or_default();
        let format = if is_pcap_magic(magic) {
            if !window
                .ensure(FILE_HEADER_LEN)
                .map_err(|e| io_err(&name, gzip, e))?
            {
                return Err(InputError::CutBeforeFirstPacket {
                    path: name,
                    format: "pcap",
                    place: format!(
                        "in its {FILE_HEADER_LEN}-byte file header ({} bytes)",
                        window.available().len()
                    ),
                });
            }
            let pcap =
                PcapFormat::read_header(&mut window).map_err(|e| to_input_error(&name, gzip, e))?;
            if !pcap.link().is_decodable() {
                return Err(InputError::UnsupportedLinkType {
                    path: name,
                    linktype: pcap.link().0,
                });
            }
            Format::Pcap(pcap)
        } else if is_pcapng_magic(magic) {
            Format::PcapNg(PcapNgFormat::default())
        } else {
            // Read a little more to tell what the input is instead (what arrived is enough if
            // reading fails).
            let _ = window.ensure(SNIFF_LEN);
            let head = window.available();
            let guess = if gzip {
                sniff::guess_in_gzip(head)
            } else {
                sniff::guess(head)
            };
            return Err(InputError::NotACapture { path: name, guess });
        };
        let mut reader = CaptureReader {
            name,
            file_index,
            gzip,
            window,
            format,
            located: None,
            frames: 0,
            finished: false,
            warning: None,
        };
        if matches!(reader.format, Format::PcapNg(_)) {
            // Read the section header and interfaces now, so their errors surface at open.
            reader.locate()?;
            if reader.frames == 0 && reader.warning.is_some() {
                return Err(InputError::CutBeforeFirstPacket {
                    path: reader.name,
                    format: "pcapng",
                    place: "before its first packet".into(),
                });
            }
        }
        Ok(reader)
    }

    /// The next frame, or `None` at the end of input. After a cut (truncated last packet) this
    /// returns `None` and `warning()` says so.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, InputError> {
        let Some(found) = self.locate()? else {
            return Ok(None);
        };
        self.located = None;
        self.window.consume(found.block_len);
        self.frames += 1;
        Ok(Some(Frame {
            frame: FrameRef::new(self.file_index, self.frames),
            ts: found.ts,
            link: found.link,
            orig_len: found.orig_len,
            data: self.window.bytes_at(found.data_start, found.data_len),
        }))
    }

    /// The timestamp of the frame the next call to [`CaptureReader::next_frame`] will return,
    /// without taking it; `None` at the end of input.
    pub fn peek_ts(&mut self) -> Result<Option<Nanos>, InputError> {
        Ok(self.locate()?.map(|l| l.ts))
    }

    /// The display name of the input (the path as given, or `-`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The non-fatal problem met so far, if any (a cut at the end of the input).
    pub fn warning(&self) -> Option<&InputWarning> {
        self.warning.as_ref()
    }

    /// TLS key log text found in pcapng Decryption Secrets Blocks since the last call (those
    /// before the first packet are read when the file is opened).
    pub fn take_tls_keylog(&mut self) -> Option<Vec<u8>> {
        match &mut self.format {
            Format::PcapNg(f) => f.take_tls_keylog(),
            Format::Pcap(_) => None,
        }
    }

    /// Number of frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Index of this input in the file list, as put in every `FrameRef`.
    pub fn file_index(&self) -> u16 {
        self.file_index
    }

    /// Sets the buffer size for ordinary reading (used to bound memory when many files are
    /// merged). Blocks larger than it are still read.
    pub(crate) fn set_buffer_size(&mut self, bytes: usize) {
        self.window.set_normal_size(bytes);
    }

    /// Finds the next frame in the buffer (reading as needed) unless already found.
    fn locate(&mut self) -> Result<Option<Located>, InputError> {
        if let Some(found) = self.located {
            return Ok(Some(found));
        }
        if self.finished {
            return Ok(None);
        }
        let step = match &mut self.format {
            Format::Pcap(f) => f.next_record(&mut self.window),
            Format::PcapNg(f) => f.next_packet(&mut self.window),
        };
        match step {
            Ok(Step::Frame(found)) => {
                self.located = Some(found);
                Ok(Some(found))
            }
            Ok(Step::End) => {
                self.finish(self.window.source_cut());
                Ok(None)
            }
            Ok(Step::Cut) => {
                self.finish(true);
                Ok(None)
            }
            Err(e) => {
                self.finished = true;
                Err(to_input_error(&self.name, self.gzip, e))
            }
        }
    }

    fn finish(&mut self, cut: bool) {
        self.finished = true;
        if cut {
            self.warning = Some(InputWarning::Cut {
                path: self.name.clone(),
                frames: self.frames,
            });
        }
    }
}

/// Names the file in a format-level error. A decompressor's complaint is corruption, not I/O.
fn to_input_error(name: &str, gzip: bool, e: ReadError) -> InputError {
    let path = name.to_string();
    match e {
        ReadError::Io(source)
            if gzip
                && matches!(
                    source.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) =>
        {
            InputError::Corrupt {
                path,
                reason: format!("bad gzip data: {source}"),
            }
        }
        ReadError::Io(source) => InputError::Io { path, source },
        ReadError::Corrupt(reason) => InputError::Corrupt { path, reason },
        ReadError::UnsupportedLinkType(linktype) => {
            InputError::UnsupportedLinkType { path, linktype }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
