//! CWMP (TR-069) SOAP decoding: envelopes resolved by namespace URI whatever the prefix
//! (cwmp-1-0 … 1-4), several envelopes per body, header fields, every RPC by name with its
//! arguments. Streaming XML (no tree is built); malformed input yields an error with the byte
//! offset, never a panic. Depth, count and size are bounded.
//!
//! Stage boundary: the body (and Content-Type) of an [`crate::http::HttpMessage`] in,
//! [`Envelope`]s out (or [`MalformedXml`]), through [`decode`]. Parts: `charset` (body bytes
//! to text), `soap` (the decoder state and the quick-xml reader), `lean` (a faster reader for
//! plain envelopes, which hands anything unusual to quick-xml), `rpc` (the RPC types).

mod charset;
pub mod rpc;
mod soap;
// After `soap`: it feeds soap's decoder state.
mod lean;

pub use rpc::*;

use crate::limits::{Limit, LimitSet};

/// The cwmp namespace an envelope used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CwmpNs {
    /// `urn:dslforum-org:cwmp-1-N`, N = 0..=4.
    V1(u8),
    /// Any other `urn:dslforum-org:cwmp-…` URI.
    Unknown(String),
}

/// The common start of every cwmp namespace URI.
const CWMP_NS_PREFIX: &str = "urn:dslforum-org:cwmp-";

impl CwmpNs {
    /// The cwmp namespace named by `uri`, or None when `uri` is not a cwmp namespace at all.
    pub fn from_uri(uri: &str) -> Option<CwmpNs> {
        let version = uri.strip_prefix(CWMP_NS_PREFIX)?;
        Some(match version {
            "1-0" => CwmpNs::V1(0),
            "1-1" => CwmpNs::V1(1),
            "1-2" => CwmpNs::V1(2),
            "1-3" => CwmpNs::V1(3),
            "1-4" => CwmpNs::V1(4),
            _ => CwmpNs::Unknown(uri.to_owned()),
        })
    }
}

impl std::fmt::Display for CwmpNs {
    /// The namespace URI.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CwmpNs::V1(minor) => write!(f, "{CWMP_NS_PREFIX}1-{minor}"),
            CwmpNs::Unknown(uri) => f.write_str(uri),
        }
    }
}

/// The SOAP header fields CWMP defines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// `ID`: request/response correlation.
    pub id: Option<String>,
    /// `HoldRequests` (None when absent or not a boolean).
    pub hold_requests: Option<bool>,
    /// `NoMoreRequests` (None when absent or not a boolean).
    pub no_more_requests: Option<bool>,
    /// `SessionTimeout` in seconds (None when absent or not a number).
    pub session_timeout: Option<u32>,
    /// `SupportedCWMPVersions`, as written (e.g. `1.0,1.1,1.2,1.3,1.4`).
    pub supported_cwmp_versions: Option<String>,
    /// `UseCWMPVersion`, as written.
    pub use_cwmp_version: Option<String>,
}

/// One SOAP envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The cwmp namespace of the first element that used one (the RPC element or a header
    /// entry), else the one declared on the Envelope element; None when the envelope carried
    /// no cwmp namespace at all.
    pub ns: Option<CwmpNs>,
    /// The CWMP header entries.
    pub header: Header,
    /// The first element child of Body (`Rpc::Empty` when Body has none).
    pub rpc: Rpc,
}

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML at byte {offset}: {reason}")]
pub struct MalformedXml {
    /// Byte offset in the HTTP body (after content decoding) where the problem was found.
    pub offset: u64,
    /// What is wrong, for humans.
    pub reason: String,
}

/// Limits applied while decoding.
#[derive(Clone, Debug)]
pub struct DecodeLimits {
    /// Deepest element nesting accepted (Envelope is level 1); deeper is an error
    /// (`xml-depth`).
    pub max_depth: usize,
    /// Most elements accepted in one body; more is an error (`xml-elements`).
    pub max_elements: usize,
    /// Most envelopes accepted in one body; more is an error (`xml-envelopes`).
    pub max_envelopes: usize,
    /// Arguments kept per RPC (ParameterList entries and the like); further ones are dropped
    /// (`rpc-args`).
    pub max_args: usize,
    /// Longest value kept, in bytes (longer ones are cut at a character boundary and end with
    /// `…`): `xml-value-bytes`.
    pub max_value_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_depth: Limit::XmlDepth.default_usize(),
            max_elements: Limit::XmlElements.default_usize(),
            max_envelopes: Limit::XmlEnvelopes.default_usize(),
            max_args: Limit::RpcArgs.default_usize(),
            max_value_len: Limit::XmlValueBytes.default_usize(),
        }
    }
}

/// Decodes an HTTP body into its envelopes. An empty (or whitespace-only) body gives an empty
/// vector. `content_type` is the HTTP Content-Type (its charset is used when the XML prolog
/// declares none).
///
/// The body may hold several envelopes one after the other. Text is decoded from the byte-order
/// mark, the XML declaration's `encoding`, the Content-Type charset or else UTF-8, in that
/// order; bytes invalid in that encoding become U+FFFD. Entities declared in a DTD are never
/// expanded: a reference to one is kept literally (`&name;`) in the value.
///
/// Errors: XML that is not well-formed (the offset is the reader's), input that ends inside an
/// envelope (a truncated body), a root element other than a SOAP 1.1 `Envelope`, text outside
/// the envelopes, no envelope at all, and the depth, element-count and envelope-count limits.
pub fn decode(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
) -> Result<Vec<Envelope>, MalformedXml> {
    decode_noting(body, content_type, limits, &mut LimitSet::default())
}

/// [`decode`], adding to `hit` the limits reached: those that made it fail (`xml-depth`,
/// `xml-elements`, `xml-envelopes`) and those that cut what it kept (`rpc-args`,
/// `xml-value-bytes`).
pub fn decode_noting(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
) -> Result<Vec<Envelope>, MalformedXml> {
    decode_by(body, content_type, limits, hit, true)
}

/// [`decode_noting`] with quick-xml reading every body, even those the faster reader handles:
/// the reference the faster reader is checked against (tests, fuzzing).
#[doc(hidden)]
pub fn decode_by_quick_xml(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
) -> Result<Vec<Envelope>, MalformedXml> {
    decode_by(body, content_type, limits, hit, false)
}

fn decode_by(
    body: &[u8],
    content_type: Option<&str>,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
    lean_first: bool,
) -> Result<Vec<Envelope>, MalformedXml> {
    let decoded = charset::DecodedBody::new(body, content_type);
    if decoded.text().trim_ascii().is_empty() {
        return Ok(Vec::new());
    }
    if lean_first && let Some(envelopes) = lean::decode_text(decoded.text(), limits, hit) {
        return Ok(envelopes);
    }
    soap::decode_text(decoded.text(), limits, hit).map_err(|err| MalformedXml {
        offset: decoded.body_offset(err.offset),
        reason: err.reason,
    })
}

/// A body as text, decoded as [`decode`] reads it (byte-order mark, XML declaration,
/// Content-Type charset, else UTF-8), for showing it; a place in the text maps back to the body.
pub struct BodyText<'a>(charset::DecodedBody<'a>);

impl<'a> BodyText<'a> {
    /// Decodes `body` (`content_type` is the HTTP Content-Type).
    pub fn new(body: &'a [u8], content_type: Option<&str>) -> BodyText<'a> {
        BodyText(charset::DecodedBody::new(body, content_type))
    }

    /// The decoded text.
    pub fn text(&self) -> &str {
        self.0.text()
    }

    /// The body offset of a byte offset in [`BodyText::text`].
    pub fn body_offset(&self, text_offset: usize) -> usize {
        usize::try_from(self.0.body_offset(text_offset as u64)).unwrap_or(usize::MAX)
    }
}

/// How far into a body `looks_like_soap` looks for the `Envelope` name.
const SNIFF_WINDOW: usize = 1024;

/// Whether a body looks like SOAP/XML at all (cheap check before decoding): after an optional
/// byte-order mark and whitespace it starts with `<`, and `Envelope` appears within its first
/// kilobyte. UTF-16 bodies are recognised too.
pub fn looks_like_soap(body: &[u8]) -> bool {
    let head = body.get(..body.len().min(SNIFF_WINDOW)).unwrap_or_default();
    let utf16 = head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0xFE, 0xFF])
        || head.get(..2).is_some_and(|pair| pair.contains(&0));
    if utf16 {
        // Drop the mark and the zero bytes: ASCII in UTF-16 becomes ASCII again.
        let mut compact = [0u8; SNIFF_WINDOW];
        let mut len = 0;
        for &byte in head.iter().filter(|&&b| b != 0 && b != 0xFF && b != 0xFE) {
            if let Some(slot) = compact.get_mut(len) {
                *slot = byte;
                len += 1;
            }
        }
        return starts_like_envelope(compact.get(..len).unwrap_or_default());
    }
    starts_like_envelope(head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head))
}

/// `<` after optional whitespace, and the `Envelope` name somewhere in `head`.
fn starts_like_envelope(head: &[u8]) -> bool {
    head.trim_ascii_start().first() == Some(&b'<')
        && memchr::memmem::find(head, b"Envelope").is_some()
}

#[cfg(test)]
mod tests;
