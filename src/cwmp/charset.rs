//! Turns an HTTP body into UTF-8 text for the XML reader and maps text offsets back to body
//! offsets.
//!
//! Precedence, as XML 1.0 appendix F and RFC 7303 suggest: a byte-order mark, then the UTF-16
//! byte pattern of `<?` without a mark, then the `encoding` of the XML declaration, then the
//! `charset` of the Content-Type, then UTF-8. A declared encoding that is not ASCII-compatible
//! (say `UTF-16` on a body that is plainly 8-bit) is ignored: the declaration could only be read
//! because the body is ASCII-compatible. Bytes that are invalid in the chosen encoding become
//! U+FFFD instead of failing the whole body.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How far into the body the XML declaration is looked for.
const DECLARATION_WINDOW: usize = 512;

/// A body decoded to UTF-8, with what is needed to map offsets back.
pub(crate) struct DecodedBody<'a> {
    text: Cow<'a, str>,
    encoding: &'static Encoding,
    /// The body after its byte-order mark.
    source: &'a [u8],
    /// Length of the byte-order mark.
    bom_len: usize,
}

impl<'a> DecodedBody<'a> {
    /// Decodes `body`, choosing the encoding as described in the module documentation.
    pub(crate) fn new(body: &'a [u8], content_type: Option<&str>) -> Self {
        let (encoding, bom_len) = sniff_encoding(body, content_type);
        let source = body.get(bom_len..).unwrap_or_default();
        let text = if encoding == UTF_8 {
            match std::str::from_utf8(source) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => encoding.decode_without_bom_handling(source).0,
            }
        } else {
            encoding.decode_without_bom_handling(source).0
        };
        DecodedBody {
            text,
            encoding,
            source,
            bom_len,
        }
    }

    /// The decoded text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The encoding that was used.
    #[cfg(test)]
    pub(crate) fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Maps a byte offset in [`Self::text`] to the offset of the same place in the body.
    ///
    /// Exact when the text borrows the body; otherwise the body is decoded again one byte at a
    /// time until `offset` bytes of text came out (only done for error reports).
    pub(crate) fn body_offset(&self, text_offset: u64) -> u64 {
        let bom = self.bom_len as u64;
        if matches!(self.text, Cow::Borrowed(_)) {
            return bom.saturating_add(text_offset);
        }
        let wanted = usize::try_from(text_offset).unwrap_or(usize::MAX);
        let mut decoder = self.encoding.new_decoder_without_bom_handling();
        let mut scratch = [0u8; 64];
        let mut produced = 0usize;
        for (index, byte) in self.source.iter().enumerate() {
            if produced >= wanted {
                return bom.saturating_add(index as u64);
            }
            let (_, _, written, _) =
                decoder.decode_to_utf8(std::slice::from_ref(byte), &mut scratch, false);
            produced = produced.saturating_add(written);
        }
        bom.saturating_add(self.source.len() as u64)
    }
}

/// Chooses the encoding of `body` and returns it with the length of its byte-order mark.
fn sniff_encoding(body: &[u8], content_type: Option<&str>) -> (&'static Encoding, usize) {
    if body.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return (UTF_8, 3);
    }
    if body.starts_with(&[0xFF, 0xFE]) {
        return (UTF_16LE, 2);
    }
    if body.starts_with(&[0xFE, 0xFF]) {
        return (UTF_16BE, 2);
    }
    match body.get(..4) {
        Some([b'<', 0, c, 0]) if *c != 0 => return (UTF_16LE, 0),
        Some([0, b'<', 0, c]) if *c != 0 => return (UTF_16BE, 0),
        _ => {}
    }
    declared_encoding(body)
        .or_else(|| content_type.and_then(charset_parameter))
        .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
        .filter(|encoding| encoding.is_ascii_compatible())
        .map_or((UTF_8, 0), |encoding| (encoding, 0))
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>` declaration, if any.
fn declared_encoding(body: &[u8]) -> Option<&str> {
    let window = body.get(..body.len().min(DECLARATION_WINDOW))?;
    let start = window.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = window.get(start..)?.strip_prefix(b"<?xml")?;
    let end = memchr::memmem::find(decl, b"?>")?;
    let decl = decl.get(..end)?;
    let key = memchr::memmem::find(decl, b"encoding")?;
    let rest = decl.get(key + b"encoding".len()..)?.trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let close = rest.iter().position(|&b| b == quote)?;
    std::str::from_utf8(rest.get(..close)?).ok()
}

/// The `charset` parameter of a Content-Type value, without quotes.
fn charset_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').trim_matches('\''))
            .filter(|value| !value.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    #[test]
    fn declaration_encoding_wins_over_content_type() {
        let body = b"<?xml version='1.0' encoding = \"ISO-8859-1\"?><a>\xE9</a>";
        let decoded = DecodedBody::new(body, Some("text/xml; charset=utf-8"));
        assert_eq!(decoded.encoding(), WINDOWS_1252);
        assert_eq!(
            decoded.text(),
            "<?xml version='1.0' encoding = \"ISO-8859-1\"?><a>é</a>"
        );
    }

    #[test]
    fn content_type_charset_is_used_without_declaration() {
        let decoded = DecodedBody::new(b"<a>\xE9</a>", Some("text/xml; Charset=\"iso-8859-1\""));
        assert_eq!(decoded.text(), "<a>é</a>");
        let decoded = DecodedBody::new(b"<a>\xE9</a>", Some("text/xml"));
        assert_eq!(decoded.encoding(), UTF_8);
        assert_eq!(decoded.text(), "<a>\u{FFFD}</a>");
    }

    #[test]
    fn boms_and_utf16_patterns_are_detected() {
        let decoded = DecodedBody::new(b"\xEF\xBB\xBF<a/>", None);
        assert_eq!((decoded.text(), decoded.body_offset(2)), ("<a/>", 5));
        let utf16le: Vec<u8> = "<a>é</a>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let with_bom = [&[0xFF, 0xFE][..], &utf16le].concat();
        assert_eq!(DecodedBody::new(&with_bom, None).text(), "<a>é</a>");
        assert_eq!(DecodedBody::new(&utf16le, None).text(), "<a>é</a>");
        let utf16be: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(DecodedBody::new(&utf16be, None).text(), "<a/>");
    }

    #[test]
    fn utf16_declared_on_an_8bit_body_is_ignored() {
        let decoded = DecodedBody::new(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>", None);
        assert_eq!(decoded.encoding(), UTF_8);
    }

    #[test]
    fn offsets_map_back_through_transcoding() {
        // "<a>é" is 5 bytes of UTF-8 text but 4 bytes of Latin-1 body.
        let decoded = DecodedBody::new(b"<a>\xE9</b>", Some("text/xml; charset=latin1"));
        assert_eq!(decoded.text(), "<a>é</b>");
        assert_eq!(decoded.body_offset(5), 4);
        // UTF-16 with BOM: text offset 3 ("<a>") is body offset 2 + 6.
        let body: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<a></b>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(DecodedBody::new(&body, None).body_offset(3), 8);
        // Invalid UTF-8: one bad byte becomes 3 bytes of U+FFFD.
        let decoded = DecodedBody::new(b"<a>\xFF</b>", None);
        assert_eq!(decoded.body_offset(6), 4);
    }
}
