//! HTTP/1.x over reassembled TCP streams, on any port, recognized by content: requests paired
//! with responses (keep-alive, pipelining, 1xx, HEAD/204/304), Content-Length, chunked and
//! close-delimited bodies, gzip/deflate Content-Encoding, lenient header syntax. After a capture
//! gap the parser resynchronizes on the next message start.
//!
//! Stage boundary: [`crate::tcp::StreamEvent`] in (from the TLS stage: clear connections'
//! events, and TLS connections' decrypted bytes), [`HttpEvent`] out (carrying owned
//! [`HttpMessage`]s, to the session stage), through [`HttpLayer`]; what the TLS stage knows of
//! a connection comes through [`HttpLayer::note_tls`] and leaves with its `ConnClosed`. Parts: `layer` (per
//! connection), `parser` (per direction), `body` (chunked coding, bounded decompressed storage),
//! `message` (the output types), `auth` (credentials and cookies, read by later stages).

#![warn(missing_docs)]

pub mod auth;
pub mod body;
mod layer;
mod message;
mod parser;

pub use layer::HttpLayer;
pub use message::{HttpEvent, HttpMessage, StartLine};

use crate::limits::{Limit, LimitCounts};

/// Limits of the HTTP stage.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest body stored per message (the rest is counted, not kept): `http-body-bytes`.
    pub max_body: usize,
    /// Store every body (up to `max_body`); when false only bodies that may be CWMP are
    /// stored (SOAP/XML, POSTs and their answers) and file transfers are only counted.
    pub keep_all_bodies: bool,
    /// Largest header block accepted before the stream is declared malformed
    /// (`http-header-bytes`).
    pub max_header_bytes: usize,
    /// Largest number of header fields in one message (`http-headers`).
    pub max_headers: usize,
    /// Requests waiting for their responses per connection, the pipelining depth
    /// (`http-pending-requests`).
    pub max_pending_requests: usize,
    /// In a shard run, only the files fetched by this shard's CPEs are digested (the others'
    /// transactions are another shard's); `None`: every file.
    pub digest_only_for: Option<crate::shard::ShardSpec>,
    /// Where file digests are taken: `None` here, as the bytes are read; otherwise on the
    /// hashing thread behind the queue (the messages then carry a `digest_ticket`).
    pub digests: Option<body::DigestQueue>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body: Limit::HttpBodyBytes.default_usize(),
            keep_all_bodies: true,
            max_header_bytes: Limit::HttpHeaderBytes.default_usize(),
            max_headers: Limit::HttpHeaders.default_usize(),
            max_pending_requests: Limit::HttpPendingRequests.default_usize(),
            digest_only_for: None,
            digests: None,
        }
    }
}

/// Counters of the HTTP stage over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Connections seen (opened or first data).
    pub connections: u64,
    /// Connections on which HTTP was recognized.
    pub http_connections: u64,
    /// Connections whose first bytes were a TLS record.
    pub tls_connections: u64,
    /// Messages emitted (interim and incomplete ones included).
    pub messages: u64,
    /// Messages emitted with `complete == false`.
    pub incomplete_messages: u64,
    /// `Malformed` events emitted.
    pub malformed: u64,
    /// `Gap` events seen.
    pub gaps: u64,
    /// Bytes of directions that are not HTTP (TLS, other protocols, tunnels), dropped unparsed.
    pub opaque_bytes: u64,
    /// Bytes skipped while looking for a message start after a gap or malformed framing.
    pub skipped_bytes: u64,
    /// Messages cut or refused because a limit was reached, by limit.
    pub limits_hit: LimitCounts,
}

impl HttpStats {
    /// Counts a message handed on, and the limits it reached.
    fn count_message(&mut self, msg: &HttpMessage) {
        self.messages += 1;
        if !msg.complete {
            self.incomplete_messages += 1;
        }
        for limit in msg.limits_hit.iter() {
            self.limits_hit.add(limit);
        }
    }
}

#[cfg(test)]
mod tests;
