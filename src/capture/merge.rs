//! Several capture files read as one timeline, in timestamp order (rotated captures).

use super::{CaptureReader, Frame, InputError, InputWarning};

/// Merges readers by timestamp; ties go to the earlier file.
pub struct MergedReader {
    _readers: Vec<CaptureReader>,
}

impl MergedReader {
    pub fn new(_readers: Vec<CaptureReader>) -> Result<Self, InputError> {
        unimplemented!()
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, InputError> {
        unimplemented!()
    }

    pub fn warnings(&self) -> Vec<InputWarning> {
        unimplemented!()
    }
}
