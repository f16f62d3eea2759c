//! HTTP/1.1 message bytes for generated conversations: requests and responses with exact
//! `Content-Length`, and the authentication headers CWMP peers exchange (Basic, Digest).

use super::rng::SplitMix64;
use base64::Engine;

/// Builder of one HTTP/1.1 message. Headers keep the order they were added in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMessage {
    start_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    is_request: bool,
}

/// The standard reason phrase of a status code (empty for codes the generator does not use).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

impl HttpMessage {
    /// A request line `METHOD target HTTP/1.1` with a `Host` header.
    pub fn request(method: &str, target: &str, host: &str) -> Self {
        HttpMessage {
            start_line: format!("{method} {target} HTTP/1.1"),
            headers: vec![("Host".to_string(), host.to_string())],
            body: Vec::new(),
            is_request: true,
        }
    }

    /// A status line `HTTP/1.1 status reason`.
    pub fn response(status: u16) -> Self {
        HttpMessage {
            start_line: format!("HTTP/1.1 {status} {}", reason_phrase(status)),
            headers: Vec::new(),
            body: Vec::new(),
            is_request: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Adds a header when `value` is `Some`.
    pub fn header_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self.body = body.into();
        self
    }

    /// The message bytes. `Content-Length` is added for every response and for requests with
    /// a body (or with a method that normally has one, so an empty POST says `0`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.start_line.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let needs_length = !self.is_request
            || !self.body.is_empty()
            || self.start_line.starts_with("POST ")
            || self.start_line.starts_with("PUT ");
        if needs_length {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// How a server authenticates its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// HTTP Digest (MD5, `qop="auth"`).
    #[default]
    Digest,
    /// HTTP Basic (the password travels base64-encoded).
    Basic,
    /// No authentication: no challenge, no credentials.
    None,
}

/// A user name and password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl Credentials {
    /// Credentials from two strings.
    pub fn new(username: &str, password: &str) -> Self {
        Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }
    }
}

/// One server's authentication state: scheme, realm and the nonce of its current challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    /// Scheme demanded.
    pub scheme: AuthScheme,
    /// Realm announced in challenges.
    pub realm: String,
    /// Digest nonce (32 hex digits).
    pub nonce: String,
    /// Digest opaque value (32 hex digits).
    pub opaque: String,
}

impl Authenticator {
    /// An authenticator whose nonce and opaque come from `rng`.
    pub fn new(scheme: AuthScheme, realm: &str, rng: &mut SplitMix64) -> Self {
        Authenticator {
            scheme,
            realm: realm.to_string(),
            nonce: rng.hex(32),
            opaque: rng.hex(32),
        }
    }

    /// The `WWW-Authenticate` value of a challenge (`None` for [`AuthScheme::None`]).
    pub fn challenge(&self) -> Option<String> {
        match self.scheme {
            AuthScheme::Digest => Some(format!(
                "Digest realm=\"{}\", qop=\"auth\", nonce=\"{}\", opaque=\"{}\", algorithm=MD5",
                self.realm, self.nonce, self.opaque
            )),
            AuthScheme::Basic => Some(format!("Basic realm=\"{}\"", self.realm)),
            AuthScheme::None => None,
        }
    }

    /// A Digest challenge saying the client's nonce has expired (`stale=true`) after a new
    /// nonce was drawn from `rng`; `None` unless the scheme is Digest.
    pub fn stale_challenge(&mut self, rng: &mut SplitMix64) -> Option<String> {
        if self.scheme != AuthScheme::Digest {
            return None;
        }
        self.nonce = rng.hex(32);
        self.challenge().map(|c| format!("{c}, stale=true"))
    }

    /// The `Authorization` value answering the current challenge for a request of `uri`, as
    /// the `nc`-th use of the nonce. The Digest `response` is 32 random hex digits (never
    /// verified by anyone), everything else well-formed.
    pub fn authorization(
        &self,
        credentials: &Credentials,
        uri: &str,
        nc: u32,
        rng: &mut SplitMix64,
    ) -> Option<String> {
        match self.scheme {
            AuthScheme::Digest => Some(format!(
                "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", \
                 algorithm=MD5, response=\"{}\", opaque=\"{}\", qop=auth, nc={:08x}, \
                 cnonce=\"{}\"",
                credentials.username,
                self.realm,
                self.nonce,
                uri,
                rng.hex(32),
                self.opaque,
                nc,
                rng.hex(16)
            )),
            AuthScheme::Basic => {
                let pair = format!("{}:{}", credentials.username, credentials.password);
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            AuthScheme::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_request(bytes: &[u8]) -> (String, Vec<(String, String)>, usize) {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(len) = req.parse(bytes).unwrap() else {
            panic!("incomplete")
        };
        let hs = req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        (req.method.unwrap().to_string(), hs, len)
    }

    #[test]
    fn post_has_exact_content_length_and_empty_post_says_zero() {
        let bytes = HttpMessage::request("POST", "/acs", "acs.example:7547")
            .body("text/xml", "<a/>")
            .to_bytes();
        let (method, headers, head_len) = parse_request(&bytes);
        assert_eq!(method, "POST");
        assert!(headers.contains(&("Content-Length".into(), "4".into())));
        assert_eq!(&bytes[head_len..], b"<a/>");
        let empty = HttpMessage::request("POST", "/acs", "h").to_bytes();
        assert!(
            String::from_utf8(empty)
                .unwrap()
                .contains("Content-Length: 0\r\n")
        );
        let get = HttpMessage::request("GET", "/f", "h").to_bytes();
        assert!(!String::from_utf8(get).unwrap().contains("Content-Length"));
    }

    #[test]
    fn responses_parse_and_always_carry_length() {
        let bytes = HttpMessage::response(204).to_bytes();
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let mut resp = httparse::Response::new(&mut headers);
        assert!(resp.parse(&bytes).unwrap().is_complete());
        assert_eq!(resp.code, Some(204));
        assert_eq!(resp.reason, Some("No Content"));
        assert_eq!(resp.headers[0].value, b"0");
    }

    #[test]
    fn auth_headers_are_well_formed() {
        let mut rng = SplitMix64::new(1);
        let creds = Credentials::new("cpe", "cpepass");
        let digest = Authenticator::new(AuthScheme::Digest, "ACS", &mut rng);
        let challenge = digest.challenge().unwrap();
        assert!(challenge.starts_with("Digest realm=\"ACS\", qop=\"auth\", nonce=\""));
        let auth = digest.authorization(&creds, "/acs", 1, &mut rng).unwrap();
        assert!(auth.contains(&format!("nonce=\"{}\"", digest.nonce)));
        assert!(auth.contains("nc=00000001"));
        let response = auth.split("response=\"").nth(1).unwrap();
        assert!(response[..32].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(&response[32..33], "\"");
        let basic = Authenticator::new(AuthScheme::Basic, "ACS", &mut rng);
        assert_eq!(
            basic.authorization(&creds, "/", 1, &mut rng).unwrap(),
            "Basic Y3BlOmNwZXBhc3M="
        );
        let mut renewed = digest.clone();
        let stale = renewed.stale_challenge(&mut rng).unwrap();
        assert!(stale.ends_with(", stale=true"));
        assert_ne!(renewed.nonce, digest.nonce);
        assert!(stale.contains(&renewed.nonce));
        let none = Authenticator::new(AuthScheme::None, "ACS", &mut rng);
        assert!(none.challenge().is_none());
    }
}
