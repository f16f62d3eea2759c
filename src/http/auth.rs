//! HTTP authentication headers (Basic and Digest credentials and challenges) and cookies,
//! parsed leniently as CPEs send them. Raw values are kept; redaction happens at output.

use smallvec::SmallVec;
use std::borrow::Cow;

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic` with a base64 `user:password` token.
    Basic {
        /// Decoded user name (None if the token does not decode).
        username: Option<String>,
        /// Decoded password (None if the token does not decode or has no `:`).
        password: Option<String>,
    },
    /// `Digest` parameters.
    Digest(DigestParams),
    /// Any other scheme, kept by name.
    Other {
        /// The scheme as sent.
        scheme: String,
    },
}

/// Parameters of a Digest credential or challenge, as on the wire (no defaults filled in).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestParams {
    /// `username` (credentials).
    pub username: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `uri` (credentials).
    pub uri: Option<String>,
    /// `response`, the digest (credentials).
    pub response: Option<String>,
    /// `qop`: one value in credentials, a list in challenges; absent in the RFC 2069 form.
    pub qop: Option<String>,
    /// `nc`, the nonce count (credentials).
    pub nc: Option<String>,
    /// `cnonce` (credentials).
    pub cnonce: Option<String>,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `algorithm`.
    pub algorithm: Option<String>,
    /// `stale` (challenges), case-insensitive `true`/`false`.
    pub stale: Option<bool>,
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // few challenges per header; boxing buys nothing
pub enum Challenge {
    /// `Basic realm=...`.
    Basic {
        /// The realm, if given.
        realm: Option<String>,
    },
    /// `Digest` parameters.
    Digest(DigestParams),
    /// Any other scheme, kept by name.
    Other {
        /// The scheme as sent.
        scheme: String,
    },
}

impl Challenge {
    /// The scheme name (`Basic`, `Digest`, or as sent).
    pub fn scheme(&self) -> &str {
        match self {
            Challenge::Basic { .. } => "Basic",
            Challenge::Digest(_) => "Digest",
            Challenge::Other { scheme } => scheme,
        }
    }
}

impl Credentials {
    /// The scheme name (`Basic`, `Digest`, or as sent).
    pub fn scheme(&self) -> &str {
        match self {
            Credentials::Basic { .. } => "Basic",
            Credentials::Digest(_) => "Digest",
            Credentials::Other { scheme } => scheme,
        }
    }
}

/// Parses an `Authorization` header value.
pub fn parse_credentials(value: &str) -> Credentials {
    let mut cur = Cursor::new(value);
    cur.skip_ws();
    let scheme = cur.take_until(|b| is_ws(b) || b == b',');
    if scheme.eq_ignore_ascii_case("Basic") {
        cur.skip_ws();
        let token = cur.take_until(|b| is_ws(b) || b == b',');
        let (username, password) = decode_basic(token);
        Credentials::Basic { username, password }
    } else if scheme.eq_ignore_ascii_case("Digest") {
        Credentials::Digest(digest_params(&parse_params(&mut cur)))
    } else {
        Credentials::Other {
            scheme: scheme.to_string(),
        }
    }
}

/// Parses a `WWW-Authenticate` header value (which may hold several challenges).
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut cur = Cursor::new(value);
    let mut challenges = Vec::new();
    while challenges.len() < MAX_CHALLENGES {
        cur.skip_ws_and_commas();
        if cur.at_end() {
            break;
        }
        let scheme = cur.take_until(|b| is_ws(b) || b == b',');
        if scheme.is_empty() {
            cur.bump();
            continue;
        }
        let params = parse_params(&mut cur);
        let challenge = if scheme.eq_ignore_ascii_case("Basic") {
            Challenge::Basic {
                realm: find_param(&params, "realm").map(str::to_string),
            }
        } else if scheme.eq_ignore_ascii_case("Digest") {
            Challenge::Digest(digest_params(&params))
        } else {
            Challenge::Other {
                scheme: scheme.to_string(),
            }
        };
        challenges.push(challenge);
    }
    challenges
}

/// Parses a `Set-Cookie` value into (name, value).
pub fn parse_set_cookie(value: &str) -> Option<(String, String)> {
    let pair = value.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some((name.to_string(), value.trim().to_string()))
}

/// Parses a `Cookie` request header into (name, value) pairs.
pub fn parse_cookie_header(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_string(), value.trim().to_string()))
        })
        .take(MAX_COOKIES)
        .collect()
}

/// Challenges kept from one `WWW-Authenticate` value.
const MAX_CHALLENGES: usize = 16;
/// Parameters kept per challenge or credential.
const MAX_PARAMS: usize = 64;
/// Cookies kept from one `Cookie` header.
const MAX_COOKIES: usize = 256;

/// Decodes a Basic token into user name and password; padding may be missing.
fn decode_basic(token: &str) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
    let Ok(bytes) = engine.decode(token.trim_end_matches('=')) else {
        return (None, None);
    };
    if token.is_empty() {
        return (None, None);
    }
    let text = String::from_utf8_lossy(&bytes);
    match text.split_once(':') {
        Some((user, pass)) => (Some(user.to_string()), Some(pass.to_string())),
        None => (Some(text.into_owned()), None),
    }
}

/// A parameter as it stands in the header: its name, and its value unquoted (copied only when
/// it held escapes).
type Param<'a> = (&'a str, Cow<'a, str>);

/// The parameters of one challenge or credential: most have fewer than a dozen.
type Params<'a> = SmallVec<[Param<'a>; 12]>;

fn find_param<'a>(params: &'a [Param<'_>], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

fn digest_params(params: &[Param<'_>]) -> DigestParams {
    let get = |name: &str| find_param(params, name).map(str::to_string);
    DigestParams {
        username: get("username"),
        realm: get("realm"),
        nonce: get("nonce"),
        uri: get("uri"),
        response: get("response"),
        qop: get("qop"),
        nc: get("nc"),
        cnonce: get("cnonce"),
        opaque: get("opaque"),
        algorithm: get("algorithm"),
        stale: find_param(params, "stale").and_then(|v| {
            if v.eq_ignore_ascii_case("true") {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }),
    }
}

/// Reads `name=value` pairs (value a token or a quoted string) separated by commas, stopping
/// before a word that is not followed by `=` (the next challenge's scheme).
fn parse_params<'a>(cur: &mut Cursor<'a>) -> Params<'a> {
    let mut params = Params::new();
    loop {
        let before = cur.pos;
        cur.skip_ws_and_commas();
        if cur.at_end() {
            return params;
        }
        let name = cur.take_until(|b| is_ws(b) || b == b',' || b == b'=');
        cur.skip_ws();
        if name.is_empty() || cur.peek() != Some(b'=') {
            cur.pos = before;
            return params;
        }
        cur.bump();
        cur.skip_ws();
        let value = if cur.peek() == Some(b'"') {
            cur.quoted_string()
        } else {
            Cow::Borrowed(cur.take_until(|b| is_ws(b) || b == b','))
        };
        if params.len() < MAX_PARAMS {
            params.push((name, value));
        }
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A position in a header value. Stops only at ASCII bytes, so slices stay on char boundaries.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Skips one character.
    fn bump(&mut self) {
        let step = self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8);
        self.pos = (self.pos + step).min(self.text.len());
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while self.peek().is_some_and(|b| is_ws(b) || b == b',') {
            self.pos += 1;
        }
    }

    /// Takes bytes up to the first ASCII byte matching `stop` (or the end).
    fn take_until(&mut self, stop: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..).unwrap_or_default();
        let len = rest.iter().position(|&b| stop(b)).unwrap_or(rest.len());
        self.pos = start + len;
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// Reads a quoted string at the cursor (which is on the opening quote); `\` escapes the
    /// next character. An unterminated string runs to the end. Without escapes (the common
    /// case) the value is a slice of the header.
    fn quoted_string(&mut self) -> Cow<'a, str> {
        self.pos += 1;
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if let Some(end) = memchr::memchr2(b'"', b'\\', rest.as_bytes())
            && rest.as_bytes().get(end) == Some(&b'"')
        {
            self.pos += end + 1;
            return Cow::Borrowed(rest.get(..end).unwrap_or_default());
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Cow::Owned(value);
                }
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                _ => value.push(c),
            }
        }
        self.pos = self.text.len();
        Cow::Owned(value)
    }
}

#[cfg(test)]
mod tests;
