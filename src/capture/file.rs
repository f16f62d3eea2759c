//! One capture file or stdin: format sniffing (pcap, pcapng, gzip), buffered block reading.

use super::{Frame, InputError, InputSpec, InputWarning};

/// Reads one pcap or pcapng stream (optionally gzip-compressed) from a file or stdin.
pub struct CaptureReader {
    _private: (),
}

impl CaptureReader {
    /// Opens the input and checks its header. `file_index` goes into every `FrameRef`.
    pub fn open(_spec: &InputSpec, _file_index: u16) -> Result<Self, InputError> {
        unimplemented!()
    }

    /// The next frame, or `None` at the end of input. After a cut (truncated last packet) this
    /// returns `None` and `warning()` says so.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, InputError> {
        unimplemented!()
    }

    /// The display name of the input (the path as given, or `-`).
    pub fn name(&self) -> &str {
        unimplemented!()
    }

    pub fn warning(&self) -> Option<&InputWarning> {
        unimplemented!()
    }
}
