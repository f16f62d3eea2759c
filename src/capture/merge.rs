//! Several capture files read as one timeline, in timestamp order (rotated captures).
//!
//! Each reader keeps only its current frame; a min-heap of the readers' next timestamps picks
//! which one to advance. A single reader is passed straight through.

use super::{CaptureReader, Frame, InputError, InputWarning};
use crate::types::Nanos;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Total buffer memory aimed at when many readers are merged (each still gets at least the
/// window's initial size, and grows for oversized blocks).
const MERGE_BUFFER_BUDGET: usize = 16 << 20;

/// Merges readers by timestamp; ties go to the earlier file.
pub struct MergedReader {
    readers: Vec<CaptureReader>,
    /// Next timestamp of every reader that still has frames, keyed for a min-heap: (timestamp,
    /// position in `readers`), so equal timestamps come out in file order.
    heads: BinaryHeap<Reverse<(Nanos, usize)>>,
    /// The reader whose frame was handed out last; its next timestamp is looked up on the next
    /// call (not before, since the frame borrows that reader's buffer).
    advanced: Option<usize>,
    started: bool,
}

impl MergedReader {
    /// Merges `readers`, given in file order (their position breaks timestamp ties).
    pub fn new(mut readers: Vec<CaptureReader>) -> Result<Self, InputError> {
        if readers.len() > 1 {
            let share =
                (MERGE_BUFFER_BUDGET / readers.len()).min(super::window::DEFAULT_NORMAL_SIZE);
            for reader in &mut readers {
                reader.set_buffer_size(share);
            }
        }
        Ok(MergedReader {
            heads: BinaryHeap::with_capacity(readers.len()),
            readers,
            advanced: None,
            started: false,
        })
    }

    /// The next frame in timestamp order, or `None` when every input is exhausted.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, InputError> {
        if self.readers.len() == 1 {
            return match self.readers.first_mut() {
                Some(only) => only.next_frame(),
                None => Ok(None),
            };
        }
        if !self.started {
            self.started = true;
            for (position, reader) in self.readers.iter_mut().enumerate() {
                if let Some(ts) = reader.peek_ts()? {
                    self.heads.push(Reverse((ts, position)));
                }
            }
        } else if let Some(position) = self.advanced.take()
            && let Some(reader) = self.readers.get_mut(position)
            && let Some(ts) = reader.peek_ts()?
        {
            self.heads.push(Reverse((ts, position)));
        }
        let Some(Reverse((_, position))) = self.heads.pop() else {
            return Ok(None);
        };
        self.advanced = Some(position);
        match self.readers.get_mut(position) {
            Some(reader) => reader.next_frame(),
            None => Ok(None),
        }
    }

    /// TLS key log text the inputs' Decryption Secrets Blocks held since the last call.
    pub fn take_tls_keylog(&mut self) -> Option<Vec<u8>> {
        let mut text: Option<Vec<u8>> = None;
        for reader in &mut self.readers {
            if let Some(more) = reader.take_tls_keylog() {
                text.get_or_insert_with(Vec::new).extend_from_slice(&more);
            }
        }
        text
    }

    /// The warnings of all inputs, in file order.
    pub fn warnings(&self) -> Vec<InputWarning> {
        self.readers
            .iter()
            .filter_map(|r| r.warning().cloned())
            .collect()
    }

    /// The readers, in file order (for names and frame counts).
    pub fn readers(&self) -> &[CaptureReader] {
        &self.readers
    }
}
