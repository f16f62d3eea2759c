//! How a message's body is delimited (no body, Content-Length, chunked, or the end of the
//! connection), and whether a body is worth storing.

use super::super::{HttpMessage, StartLine};

/// How the end of a body is found.
pub(super) enum Framing {
    NoBody,
    Length(u64),
    Chunked,
    Close,
}

/// Whether the body is chunked: `None` without Transfer-Encoding, else whether its last coding
/// is `chunked`.
pub(super) fn transfer_chunked(headers: &[(String, String)]) -> Option<bool> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .rfind(|c| !c.is_empty())
        .map(|c| c.eq_ignore_ascii_case("chunked"))
}

/// The Content-Length, if any; differing or non-numeric values are an error.
pub(super) fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, &'static str> {
    let mut found = None;
    for value in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .flat_map(|(_, v)| v.split(','))
    {
        let digits = value.trim();
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid Content-Length");
        }
        let n: u64 = digits.parse().map_err(|_| "invalid Content-Length")?;
        if found.is_some_and(|f| f != n) {
            return Err("conflicting Content-Length values");
        }
        found = Some(n);
    }
    Ok(found)
}

pub(super) fn request_framing(headers: &[(String, String)]) -> Result<Framing, &'static str> {
    match transfer_chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Err("request Transfer-Encoding does not end with chunked"),
        None => Ok(content_length(headers)?.map_or(Framing::NoBody, Framing::Length)),
    }
}

pub(super) fn response_framing(
    status: u16,
    request_method: Option<&str>,
    headers: &[(String, String)],
) -> Result<Framing, &'static str> {
    let head_request = request_method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::NoBody);
    }
    match transfer_chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Ok(Framing::Close),
        None => Ok(content_length(headers)?.map_or(Framing::Close, Framing::Length)),
    }
}

/// Whether a body may be CWMP and is worth storing: SOAP/XML, a POST, or the answer to a POST.
/// File transfers (the answer to a GET, octet-streams, images, HTML) are counted, not stored.
pub(super) fn body_worth_keeping(msg: &HttpMessage) -> bool {
    if let Some(ct) = msg.header("Content-Type") {
        let ct = ct.trim().to_ascii_lowercase();
        if ct.contains("xml") || ct.contains("soap") {
            return true;
        }
        let binary = [
            "application/octet-stream",
            "image/",
            "video/",
            "audio/",
            "text/html",
        ];
        if binary.iter().any(|b| ct.starts_with(b)) {
            return false;
        }
    }
    match &msg.start {
        StartLine::Request { method, .. } => method.eq_ignore_ascii_case("POST"),
        StartLine::Response { .. } => msg
            .request_method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("POST")),
    }
}
