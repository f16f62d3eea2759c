//! The bytes of a session message, kept for a view that shows them: the head as parsed and
//! the body as the HTTP stage stored it. Off by default ([`SessionConfig::keep_raw`]). Kept as
//! they are while the session is open; once it ends, its messages are deflated together in
//! blocks (one compressor start per block, not per message, and repeated heads compress well).
//!
//! [`SessionConfig::keep_raw`]: super::SessionConfig::keep_raw

use super::SessionMessage;
use crate::http::{HttpMessage, StartLine};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read, Write};
use std::sync::Arc;

/// A message's head and stored body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMessage {
    bytes: Bytes,
    /// Bytes of the head (start line, header fields, blank line) at the start of
    /// [`RawMessage::bytes`].
    pub head_len: usize,
    /// Body bytes kept after the head.
    pub body_len: usize,
    /// The body was not kept, being larger than the limit: its stored size.
    pub body_dropped: Option<u64>,
    /// The HTTP stage stored only the start of the body (its storage limit); `body_len` of
    /// `wire_body_len` bytes are kept.
    pub body_truncated: bool,
    /// Body bytes on the wire (after de-chunking).
    pub wire_body_len: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Bytes {
    /// As received, while the session is open.
    Plain(Box<[u8]>),
    /// In a block of the session's messages deflated together, from `start` of its inflated
    /// bytes on.
    Deflated { block: Arc<[u8]>, start: usize },
}

impl RawMessage {
    /// The head of `msg` rebuilt from its parsed fields (start line, header fields in wire
    /// order with names as sent) and its stored body (de-chunked and decoded, as the HTTP
    /// stage keeps it) unless that is larger than `max_body`.
    pub fn of(msg: &HttpMessage, max_body: usize) -> RawMessage {
        let mut bytes = Vec::new();
        match &msg.start {
            StartLine::Request { method, uri } => {
                let _ = write!(bytes, "{method} {uri} HTTP/1.{}\r\n", msg.version);
            }
            StartLine::Response { status, reason } => {
                let _ = write!(bytes, "HTTP/1.{} {status} {reason}\r\n", msg.version);
            }
        }
        for (name, value) in &msg.headers {
            let _ = write!(bytes, "{name}: {value}\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        let head_len = bytes.len();
        let kept = msg.body.len() <= max_body;
        if kept {
            bytes.extend_from_slice(&msg.body);
        }
        RawMessage {
            bytes: Bytes::Plain(bytes.into_boxed_slice()),
            head_len,
            body_len: if kept { msg.body.len() } else { 0 },
            body_dropped: (!kept).then_some(msg.body.len() as u64),
            body_truncated: msg.body_truncated,
            wire_body_len: msg.body_len,
        }
    }

    fn len(&self) -> usize {
        self.head_len + self.body_len
    }

    /// The head followed by the kept body.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.bytes {
            Bytes::Plain(bytes) => bytes.to_vec(),
            Bytes::Deflated { block, start } => {
                let mut out = Vec::with_capacity(start + self.len());
                let _ = DeflateDecoder::new(&block[..])
                    .take((start + self.len()) as u64)
                    .read_to_end(&mut out);
                out.drain(..(*start).min(out.len()));
                out
            }
        }
    }

    /// The deflated block holding the bytes (shared with other messages of the session), or
    /// none while they are kept as received.
    pub fn deflated_block(&self) -> Option<&Arc<[u8]>> {
        match &self.bytes {
            Bytes::Plain(_) => None,
            Bytes::Deflated { block, .. } => Some(block),
        }
    }
}

/// Input bytes of one block at most (a larger message makes a block of its own): a message is
/// read by inflating its block up to it.
const BLOCK: usize = 256 << 10;

/// Deflates the kept bytes of a finished session's messages, with one compressor (its state
/// is large: reused, not allocated per block).
pub struct RawDeflater {
    encoder: DeflateEncoder<Vec<u8>>,
}

impl Default for RawDeflater {
    fn default() -> Self {
        RawDeflater {
            encoder: DeflateEncoder::new(Vec::new(), Compression::fast()),
        }
    }
}

impl RawDeflater {
    /// Replaces the bytes kept as received in `messages` by blocks of them deflated together.
    pub fn deflate(&mut self, messages: &mut [SessionMessage]) {
        let mut group: Vec<usize> = Vec::new();
        let mut input = 0;
        for i in 0..messages.len() {
            let len = match messages[i].raw.as_deref() {
                Some(RawMessage {
                    bytes: Bytes::Plain(bytes),
                    ..
                }) => bytes.len(),
                _ => continue,
            };
            if input > 0 && input + len > BLOCK {
                self.block(messages, &group);
                group.clear();
                input = 0;
            }
            input += len;
            group.push(i);
        }
        if !group.is_empty() {
            self.block(messages, &group);
        }
    }

    /// Deflates the messages at `indexes` into one block.
    fn block(&mut self, messages: &mut [SessionMessage], indexes: &[usize]) {
        let mut starts = Vec::with_capacity(indexes.len());
        let mut at = 0;
        for &i in indexes {
            if let Some(raw) = &messages[i].raw
                && let Bytes::Plain(bytes) = &raw.bytes
            {
                // Writing into a Vec cannot fail.
                let _ = self.encoder.write_all(bytes);
                starts.push(at);
                at += bytes.len();
            }
        }
        // The reset finishes the stream and hands it back.
        let block: Arc<[u8]> = self.encoder.reset(Vec::new()).unwrap_or_default().into();
        for (&i, start) in indexes.iter().zip(starts) {
            if let Some(raw) = &mut messages[i].raw {
                *raw = Arc::new(RawMessage {
                    bytes: Bytes::Deflated {
                        block: Arc::clone(&block),
                        start,
                    },
                    head_len: raw.head_len,
                    body_len: raw.body_len,
                    body_dropped: raw.body_dropped,
                    body_truncated: raw.body_truncated,
                    wire_body_len: raw.wire_body_len,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
