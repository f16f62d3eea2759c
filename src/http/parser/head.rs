//! The message head: finding the end of a header block, and parsing it (start line and header
//! fields, with httparse) into owned values, also when it was cut short.

use super::super::StartLine;
use crate::limits::Limit;

/// Header array size of the first parse attempt; larger blocks are parsed again with more.
const FIRST_HEADER_ARRAY: usize = 32;

/// End (exclusive) of the header block that starts before `from`: the first empty line
/// (`\n\n` or `\n\r\n`) found from `from` on.
pub(super) fn find_header_end(hay: &[u8], from: usize) -> Option<usize> {
    let tail = hay.get(from..)?;
    for i in memchr::memchr_iter(b'\n', tail) {
        let nl = from + i;
        match (hay.get(nl + 1), hay.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
    }
    None
}

/// A parsed message head, owned.
pub(super) struct Head {
    pub(super) start: StartLine,
    pub(super) version: u8,
    pub(super) headers: Vec<(String, String)>,
}

/// Why a header block could not be parsed.
pub(super) struct HeadError {
    pub(super) reason: String,
    /// Set when the block has more fields than the limit (`http-headers`).
    pub(super) limit: Option<Limit>,
}

impl HeadError {
    fn invalid(reason: String) -> HeadError {
        HeadError {
            reason,
            limit: None,
        }
    }
}

/// Parses a complete header block (start line, fields, empty line).
pub(super) fn parse_head(
    block: &[u8],
    pconf: &httparse::ParserConfig,
    max_headers: usize,
) -> Result<Head, HeadError> {
    let mut size = FIRST_HEADER_ARRAY.min(max_headers.max(1));
    loop {
        let result = if size <= FIRST_HEADER_ARRAY {
            let mut headers = [httparse::EMPTY_HEADER; FIRST_HEADER_ARRAY];
            parse_head_with(block, pconf, headers.get_mut(..size).unwrap_or_default())
        } else {
            let mut headers = vec![httparse::EMPTY_HEADER; size];
            parse_head_with(block, pconf, &mut headers)
        };
        match result {
            Err(httparse::Error::TooManyHeaders) if size < max_headers => {
                size = max_headers.min(size.saturating_mul(4));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HeadError {
                    reason: format!("more than {max_headers} header fields"),
                    limit: Some(Limit::HttpHeaders),
                });
            }
            Err(e) => return Err(HeadError::invalid(format!("invalid header block: {e}"))),
            Ok(None) => {
                return Err(HeadError::invalid(
                    "invalid header block: incomplete".to_string(),
                ));
            }
            Ok(Some(head)) => return Ok(head),
        }
    }
}

fn parse_head_with<'b>(
    block: &'b [u8],
    pconf: &httparse::ParserConfig,
    headers: &mut [httparse::Header<'b>],
) -> Result<Option<Head>, httparse::Error> {
    if block.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(headers);
        if pconf.parse_response(&mut resp, block)?.is_partial() {
            return Ok(None);
        }
        Ok(response_head(&resp))
    } else {
        let mut req = httparse::Request::new(headers);
        if pconf.parse_request(&mut req, block)?.is_partial() {
            return Ok(None);
        }
        Ok(request_head(&req))
    }
}

fn request_head(req: &httparse::Request<'_, '_>) -> Option<Head> {
    Some(Head {
        start: StartLine::Request {
            method: req.method?.to_string(),
            uri: req.path?.to_string(),
        },
        version: req.version?,
        headers: owned_headers(req.headers),
    })
}

fn response_head(resp: &httparse::Response<'_, '_>) -> Option<Head> {
    Some(Head {
        start: StartLine::Response {
            status: resp.code?,
            reason: resp.reason.unwrap_or_default().to_string(),
        },
        version: resp.version?,
        headers: owned_headers(resp.headers),
    })
}

/// Copies parsed fields; fields never filled in by a partial parse have empty names.
fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| (h.name.to_string(), header_value(h.value)))
        .collect()
}

/// A field value as text; obsolete line folding becomes single spaces.
pub(super) fn header_value(raw: &[u8]) -> String {
    // The common value: one line of UTF-8 (ASCII mostly), checked a word at a time.
    if memchr::memchr2(b'\r', b'\n', raw).is_none()
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return text.to_owned();
    }
    let text = String::from_utf8_lossy(raw);
    if !text.contains(['\r', '\n']) {
        return text.into_owned();
    }
    text.split('\n')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What can be read of a header block cut short: the start line, and the fields before it.
pub(super) fn parse_partial_head(bytes: &[u8], pconf: &httparse::ParserConfig) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; FIRST_HEADER_ARRAY];
    if bytes.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut headers);
        let _ = pconf.parse_response(&mut resp, bytes);
        response_head(&resp)
    } else {
        let mut req = httparse::Request::new(&mut headers);
        let _ = pconf.parse_request(&mut req, bytes);
        request_head(&req)
    }
}
