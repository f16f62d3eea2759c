//! What an input that is not a capture seems to be, from its first bytes, so the message about
//! it can say what was given instead and what to give.

/// Bytes looked at to tell what a non-capture input is.
pub(crate) const SNIFF_LEN: usize = 512;

/// What the first bytes of an input that is not a capture show, and what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guess {
    /// A phrase for the message: `it looks like an HTML page`, `it is an ELF executable`,
    /// `its first bytes are 00 01 …`.
    pub what: String,
    /// What to do instead: `give a pcap or pcapng file`, `unzip it …`.
    pub advice: &'static str,
}

const GIVE_A_CAPTURE: &str = "give a pcap or pcapng file";

/// Tells what `head` (the first bytes of an input, up to [`SNIFF_LEN`]) seems to be.
pub(crate) fn guess(head: &[u8]) -> Guess {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if let Some((what, advice)) = by_magic(head) {
        return Guess {
            what: format!("it is {what}"),
            advice,
        };
    }
    if let Some(text) = as_text(head) {
        let (what, advice) = describe_text(text);
        return Guess {
            what: format!("it looks like {what}"),
            advice,
        };
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Guess {
        what: format!("its first bytes are {}", hex.join(" ")),
        advice: GIVE_A_CAPTURE,
    }
}

/// The same for the content of a gzip-compressed input that holds no capture.
pub(crate) fn guess_in_gzip(inner: &[u8]) -> Guess {
    let what = if inner.is_empty() {
        "it is gzip-compressed and holds nothing".to_owned()
    } else {
        let inside = guess(inner);
        let what = inside
            .what
            .strip_prefix("it ")
            .map(|rest| format!("what it holds {rest}"))
            .unwrap_or_else(|| inside.what.replacen("its", "the decompressed", 1));
        format!("it is gzip-compressed, and {what}")
    };
    Guess {
        what,
        advice: GIVE_A_CAPTURE,
    }
}

/// Formats recognized by their magic bytes.
fn by_magic(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const DECOMPRESS: &str = "decompress it first (gzip is read as is)";
    const CONVERT: &str = "convert it with `editcap FILE OUT.pcapng`";
    let magics: [(&[u8], &str, &str); 11] = [
        (b"\x7fELF", "an ELF executable", GIVE_A_CAPTURE),
        (
            b"PK\x03\x04",
            "a zip archive",
            "unzip it and give the capture inside",
        ),
        (b"PK\x05\x06", "an empty zip archive", GIVE_A_CAPTURE),
        (b"BZh", "bzip2-compressed", DECOMPRESS),
        (b"\xfd7zXZ\x00", "xz-compressed", DECOMPRESS),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed", DECOMPRESS),
        (
            b"7z\xbc\xaf\x27\x1c",
            "a 7-Zip archive",
            "extract the capture from it first",
        ),
        (b"%PDF-", "a PDF document", GIVE_A_CAPTURE),
        (b"snoop\x00\x00\x00", "a snoop capture", CONVERT),
        (b"GMBU", "a Network Monitor capture", CONVERT),
        (
            b"ustar",
            "a tar archive",
            "extract the capture from it first",
        ),
    ];
    magics
        .iter()
        .find(|(magic, ..)| head.starts_with(magic))
        .map(|&(_, what, advice)| (what, advice))
        .or_else(|| {
            // tar's magic sits at offset 257.
            (head.get(257..262) == Some(b"ustar"))
                .then_some(("a tar archive", "extract the capture from it first"))
        })
}

/// The bytes as text, if they are UTF-8 (a character cut at the end allowed) without control
/// characters other than tab, line breaks and form feed.
fn as_text(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut in the middle of a character at the end of the sniffed bytes.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    (printable && !text.trim().is_empty()).then_some(text)
}

/// What a text looks like, and the advice that goes with it.
fn describe_text(text: &str) -> (&'static str, &'static str) {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let lower = body.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<html")
    {
        return ("an HTML page", GIVE_A_CAPTURE);
    }
    if body.starts_with('<') {
        if lower.contains("envelope") && (lower.contains("soap") || lower.contains("cwmp")) {
            return ("an XML SOAP message", GIVE_A_CAPTURE);
        }
        return ("an XML document", GIVE_A_CAPTURE);
    }
    if body.starts_with('{') || body.starts_with('[') {
        if body.contains("\"schema_version\"") || body.contains("\"type\":\"session\"") {
            return (
                "a cwmpscope JSON report",
                "give the capture it was made from (pcap or pcapng)",
            );
        }
        return ("JSON", GIVE_A_CAPTURE);
    }
    if body.lines().next().is_some_and(is_tcpdump_line) {
        return (
            "tcpdump's text output",
            "record with `tcpdump -w FILE` to get a pcap",
        );
    }
    ["GET ", "POST ", "PUT ", "HEAD ", "HTTP/1."]
        .iter()
        .find(|start| body.starts_with(*start))
        .map_or(("plain text", GIVE_A_CAPTURE), |_| {
            ("an HTTP message as text", GIVE_A_CAPTURE)
        })
}

/// Whether a line starts the way tcpdump prints a packet: a time (`12:34:56.789012`, with `-tttt`
/// a date before it, with `-tt` seconds since the epoch), then a word such as `IP`.
fn is_tcpdump_line(line: &str) -> bool {
    let mut words = line.split_ascii_whitespace();
    let Some(mut stamp) = words.next() else {
        return false;
    };
    if is_date(stamp) {
        let Some(time) = words.next() else {
            return false;
        };
        stamp = time;
    }
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let Some((whole, fraction)) = stamp.split_once('.') else {
        return false;
    };
    let clock = {
        let parts: Vec<&str> = whole.split(':').collect();
        parts.len() == 3 && parts.iter().all(|p| digits(p, 2..=2))
    };
    let time_ok = (clock || digits(whole, 9..=10)) && digits(fraction, 6..=9);
    time_ok
        && words
            .next()
            .is_some_and(|w| w.bytes().next().is_some_and(|b| b.is_ascii_uppercase()))
}

/// `2024-05-06`.
fn is_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(bytes: &[u8]) -> String {
        guess(bytes).what
    }

    #[test]
    fn tells_common_non_captures_apart() {
        assert_eq!(
            what(b"<!DOCTYPE html>\n<html><body>report</body></html>"),
            "it looks like an HTML page"
        );
        assert_eq!(what(b"\n  <HTML>"), "it looks like an HTML page");
        assert_eq!(
            what(b"<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"x\"/>"),
            "it looks like an XML SOAP message"
        );
        assert_eq!(
            what(b"<?xml version=\"1.0\"?><a/>"),
            "it looks like an XML document"
        );
        assert_eq!(
            what(b"{\"schema_version\": 2, \"sessions\": []}"),
            "it looks like a cwmpscope JSON report"
        );
        assert_eq!(what(b"[1, 2]"), "it looks like JSON");
        assert_eq!(what(b"just some notes\n"), "it looks like plain text");
        assert_eq!(
            what(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "it looks like an HTTP message as text"
        );
        assert_eq!(what(b"\x7fELF\x02\x01\x01"), "it is an ELF executable");
        assert_eq!(what(b"PK\x03\x04\x14\x00"), "it is a zip archive");
        assert_eq!(what(b"\xfd7zXZ\x00\x00"), "it is xz-compressed");
        assert_eq!(
            what(&[0, 1, 2, 0xff, 4, 5, 6, 7, 8, 9]),
            "its first bytes are 00 01 02 ff 04 05 06 07"
        );
    }

    #[test]
    fn tcpdump_text_in_its_three_time_formats() {
        for line in [
            "12:34:56.789012 IP 10.0.0.1.7547 > 10.0.0.2.50000: Flags [S], seq 1",
            "2024-05-06 12:34:56.789012 IP6 ::1.7547 > ::1.50000: Flags [.]",
            "1715000000.789012 ARP, Request who-has 10.0.0.1",
            "12:34:56.789012345 IP 10.0.0.1.80 > 10.0.0.2.1: tcp 0",
        ] {
            let g = guess(format!("{line}\n").as_bytes());
            assert_eq!(g.what, "it looks like tcpdump's text output", "{line}");
            assert!(g.advice.contains("tcpdump -w"));
        }
        for line in ["12:34 meeting notes", "12:34:56.7 IP x", "1.000000 IP"] {
            assert_eq!(what(line.as_bytes()), "it looks like plain text", "{line}");
        }
    }

    #[test]
    fn gzip_content_is_described() {
        assert_eq!(
            guess_in_gzip(b"hello\n").what,
            "it is gzip-compressed, and what it holds looks like plain text"
        );
        assert_eq!(
            guess_in_gzip(b"").what,
            "it is gzip-compressed and holds nothing"
        );
        assert_eq!(
            guess_in_gzip(&[0, 1, 2, 3]).what,
            "it is gzip-compressed, and the decompressed first bytes are 00 01 02 03"
        );
    }

    #[test]
    fn a_character_cut_at_the_end_is_still_text() {
        let mut text = "é".repeat(300).into_bytes();
        text.truncate(SNIFF_LEN - 1);
        assert_eq!(what(&text), "it looks like plain text");
    }
}
