//! The bytes of a session message, kept (deflated) for a view that shows them: the head as
//! parsed and the body as the HTTP stage stored it. Off by default ([`SessionConfig::keep_raw`]).
//!
//! [`SessionConfig::keep_raw`]: super::SessionConfig::keep_raw

use crate::http::{HttpMessage, StartLine};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read, Write};

/// A message's head and stored body, deflated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMessage {
    deflated: Box<[u8]>,
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

impl RawMessage {
    /// `msg` kept as [`RawKeeper::keep`] keeps it.
    pub fn of(msg: &HttpMessage, max_body: usize) -> RawMessage {
        RawKeeper::new(max_body).keep(msg)
    }

    /// The head followed by the kept body.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head_len + self.body_len);
        let _ = DeflateDecoder::new(&self.deflated[..]).read_to_end(&mut out);
        out
    }

    /// Bytes held (deflated).
    pub fn deflated_len(&self) -> usize {
        self.deflated.len()
    }
}

/// Makes [`RawMessage`]s with one compressor (its state is large: reused, not allocated per
/// message).
pub struct RawKeeper {
    encoder: DeflateEncoder<Vec<u8>>,
    max_body: usize,
}

impl RawKeeper {
    /// Keeps bodies of at most `max_body` stored bytes.
    pub fn new(max_body: usize) -> RawKeeper {
        RawKeeper {
            encoder: DeflateEncoder::new(Vec::new(), Compression::fast()),
            max_body,
        }
    }

    /// The head of `msg` rebuilt from its parsed fields (start line, header fields in wire
    /// order with names as sent) and its stored body (de-chunked and decoded, as the HTTP
    /// stage keeps it) unless that is larger than the limit.
    pub fn keep(&mut self, msg: &HttpMessage) -> RawMessage {
        let mut head = String::new();
        match &msg.start {
            StartLine::Request { method, uri } => {
                head.push_str(&format!("{method} {uri} HTTP/1.{}\r\n", msg.version));
            }
            StartLine::Response { status, reason } => {
                head.push_str(&format!("HTTP/1.{} {status} {reason}\r\n", msg.version));
            }
        }
        for (name, value) in &msg.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let kept = msg.body.len() <= self.max_body;
        let body: &[u8] = if kept { &msg.body } else { &[] };
        // Writing into a Vec cannot fail; the reset finishes the stream and hands it back.
        let _ = self.encoder.write_all(head.as_bytes());
        let _ = self.encoder.write_all(body);
        let deflated = self
            .encoder
            .reset(Vec::new())
            .unwrap_or_default()
            .into_boxed_slice();
        RawMessage {
            deflated,
            head_len: head.len(),
            body_len: body.len(),
            body_dropped: (!kept).then_some(msg.body.len() as u64),
            body_truncated: msg.body_truncated,
            wire_body_len: msg.body_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ConnId, Dir, FrameRef};

    fn message(body: &[u8]) -> HttpMessage {
        HttpMessage {
            conn: ConnId(1),
            dir: Dir::ToServer,
            src: "10.0.0.1:5000".parse().unwrap(),
            dst: "10.0.0.2:7547".parse().unwrap(),
            index: 0,
            start: StartLine::Request {
                method: "POST".to_owned(),
                uri: "/acs".to_owned(),
            },
            version: 1,
            headers: vec![
                ("Host".to_owned(), "acs".to_owned()),
                ("content-type".to_owned(), "text/xml".to_owned()),
            ],
            body: body.to_vec(),
            body_len: body.len() as u64,
            body_truncated: false,
            complete: true,
            gap_bytes: 0,
            body_hash: 0,
            answers: None,
            request_method: None,
            interim: false,
            first_frame: FrameRef::new(0, 1),
            last_frame: FrameRef::new(0, 1),
            ts: 0,
            end_ts: 0,
        }
    }

    #[test]
    fn head_and_body_come_back_as_kept() {
        let body = b"<Envelope>".repeat(100);
        let raw = RawMessage::of(&message(&body), 1 << 20);
        let head = "POST /acs HTTP/1.1\r\nHost: acs\r\ncontent-type: text/xml\r\n\r\n";
        let mut expected = head.as_bytes().to_vec();
        expected.extend_from_slice(&body);
        assert_eq!(raw.bytes(), expected);
        assert_eq!((raw.head_len, raw.body_len), (head.len(), body.len()));
        assert!(raw.deflated_len() < expected.len() / 4);
        assert_eq!(raw.body_dropped, None);
    }

    #[test]
    fn one_keeper_keeps_one_message_after_another() {
        let mut keeper = RawKeeper::new(1 << 20);
        let first = message(&b"<a>first</a>".repeat(50));
        let second = message(b"<b>second</b>");
        let (a, b) = (keeper.keep(&first), keeper.keep(&second));
        assert!(a.bytes().ends_with(&first.body));
        assert!(b.bytes().ends_with(&second.body));
        assert_eq!(b, RawMessage::of(&second, 1 << 20));
    }

    #[test]
    fn a_body_above_the_limit_is_not_kept() {
        let raw = RawMessage::of(&message(&[b'x'; 100]), 99);
        assert_eq!(raw.body_dropped, Some(100));
        assert_eq!(raw.body_len, 0);
        assert!(raw.bytes().ends_with(b"\r\n\r\n"));
    }
}
