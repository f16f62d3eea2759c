//! CWMP (TR-069) SOAP decoding: envelopes resolved by namespace URI whatever the prefix
//! (cwmp-1-0 … 1-4), several envelopes per body, header fields, every RPC by name with its
//! arguments. Streaming XML (no tree is built); malformed input yields an error with the byte
//! offset, never a panic. Depth, count and size are bounded.

pub mod rpc;

pub use rpc::*;

/// The cwmp namespace an envelope used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CwmpNs {
    /// `urn:dslforum-org:cwmp-1-N`, N = 0..=4.
    V1(u8),
    /// Any other `urn:dslforum-org:cwmp-…` URI.
    Unknown(String),
}

/// The SOAP header fields CWMP defines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub id: Option<String>,
    pub hold_requests: Option<bool>,
    pub no_more_requests: Option<bool>,
    pub session_timeout: Option<u32>,
    pub supported_cwmp_versions: Option<String>,
    pub use_cwmp_version: Option<String>,
}

/// One SOAP envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// None when the envelope carried no cwmp namespace at all.
    pub ns: Option<CwmpNs>,
    pub header: Header,
    pub rpc: Rpc,
}

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML at byte {offset}: {reason}")]
pub struct MalformedXml {
    pub offset: u64,
    pub reason: String,
}

/// Limits applied while decoding.
#[derive(Clone, Debug)]
pub struct DecodeLimits {
    pub max_depth: usize,
    pub max_envelopes: usize,
    /// Arguments kept per RPC (ParameterList entries and the like).
    pub max_args: usize,
    /// Longest value kept (longer ones are cut, with a marker).
    pub max_value_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_depth: 64,
            max_envelopes: 64,
            max_args: 4096,
            max_value_len: 64 << 10,
        }
    }
}

/// Decodes an HTTP body into its envelopes. An empty (or whitespace-only) body gives an empty
/// vector. `content_type` is the HTTP Content-Type (its charset is used when the XML prolog
/// declares none).
pub fn decode(
    _body: &[u8],
    _content_type: Option<&str>,
    _limits: &DecodeLimits,
) -> Result<Vec<Envelope>, MalformedXml> {
    unimplemented!()
}

/// Whether a body looks like SOAP/XML at all (cheap check before decoding).
pub fn looks_like_soap(_body: &[u8]) -> bool {
    unimplemented!()
}
