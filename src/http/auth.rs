//! HTTP authentication headers (Basic and Digest credentials and challenges) and cookies,
//! parsed leniently as CPEs send them. Raw values are kept; redaction happens at output.

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        /// Decoded user name (None if the token does not decode).
        username: Option<String>,
        password: Option<String>,
    },
    Digest(DigestParams),
    Other {
        scheme: String,
    },
}

/// Parameters of a Digest credential or challenge, as on the wire (no defaults filled in).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestParams {
    pub username: Option<String>,
    pub realm: Option<String>,
    pub nonce: Option<String>,
    pub uri: Option<String>,
    pub response: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
    pub algorithm: Option<String>,
    pub stale: Option<bool>,
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic { realm: Option<String> },
    Digest(DigestParams),
    Other { scheme: String },
}

impl Challenge {
    pub fn scheme(&self) -> &str {
        match self {
            Challenge::Basic { .. } => "Basic",
            Challenge::Digest(_) => "Digest",
            Challenge::Other { scheme } => scheme,
        }
    }
}

impl Credentials {
    pub fn scheme(&self) -> &str {
        match self {
            Credentials::Basic { .. } => "Basic",
            Credentials::Digest(_) => "Digest",
            Credentials::Other { scheme } => scheme,
        }
    }
}

/// Parses an `Authorization` header value.
pub fn parse_credentials(_value: &str) -> Credentials {
    unimplemented!()
}

/// Parses a `WWW-Authenticate` header value (which may hold several challenges).
pub fn parse_challenges(_value: &str) -> Vec<Challenge> {
    unimplemented!()
}

/// Parses a `Set-Cookie` value into (name, value).
pub fn parse_set_cookie(_value: &str) -> Option<(String, String)> {
    unimplemented!()
}

/// Parses a `Cookie` request header into (name, value) pairs.
pub fn parse_cookie_header(_value: &str) -> Vec<(String, String)> {
    unimplemented!()
}
