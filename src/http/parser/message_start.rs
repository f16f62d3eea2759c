//! Recognizing where a message starts: a request line (`METHOD target HTTP/1.x`) or a status
//! line (`HTTP/1.x status`), strictly in unknown bytes and loosely between messages of a stream
//! known to be HTTP, and a TLS record header (a direction that is not HTTP at all).

/// Longest request target accepted when looking for a message start in unknown bytes.
pub(super) const MAX_PROBE_TARGET: usize = 8 << 10;
/// Longest method token accepted.
const MAX_METHOD: usize = 32;

/// Answer of a look at the first bytes of something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    Yes,
    No,
    NeedMore,
}

/// `rest` starts with `prefix`, or is a prefix of it.
fn starts_with_or_prefix(rest: &[u8], prefix: &[u8]) -> Probe {
    let n = rest.len().min(prefix.len());
    if rest.get(..n) != prefix.get(..n) {
        Probe::No
    } else if n < prefix.len() {
        Probe::NeedMore
    } else {
        Probe::Yes
    }
}

/// A TLS record header: handshake (0x16) or alert, version 3.x.
pub(super) fn tls_record_start(rest: &[u8]) -> Probe {
    match rest {
        [] | [0x16] => Probe::NeedMore,
        [0x16, 0x03] => Probe::NeedMore,
        [0x16, 0x03, minor, ..] if *minor <= 0x04 => Probe::Yes,
        _ => Probe::No,
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Loose check between messages of an HTTP stream: a token, spaces, then a visible byte
/// (a request line or `HTTP/1.1 200`). httparse judges the rest.
pub(super) fn token_then_space(rest: &[u8]) -> Probe {
    let token_len = rest
        .iter()
        .take(MAX_METHOD + 1)
        .take_while(|&&b| is_tchar(b) || b == b'/')
        .count();
    if token_len == 0 || token_len > MAX_METHOD {
        return Probe::No;
    }
    let Some(after) = rest.get(token_len..).filter(|r| !r.is_empty()) else {
        return Probe::NeedMore;
    };
    match skip_spaces(after) {
        Ok(next) => match next.first() {
            Some(&b) if b > b' ' && b != 0x7f => Probe::Yes,
            _ => Probe::No,
        },
        Err(probe) => probe,
    }
}

/// Strict check for the start of a message: `METHOD SP target SP HTTP/1.` or
/// `HTTP/1.x SP digit` (runs of spaces tolerated where CPEs put them).
pub(super) fn message_start(rest: &[u8]) -> Probe {
    match starts_with_or_prefix(rest, b"HTTP/1.") {
        Probe::Yes => {
            return match rest.get(7) {
                None => Probe::NeedMore,
                Some(v) if v.is_ascii_digit() => {
                    let after = rest.get(8..).unwrap_or_default();
                    let spaces = after.iter().take_while(|&&b| b == b' ').count();
                    match after.get(spaces) {
                        _ if spaces > MAX_METHOD => Probe::No,
                        None => Probe::NeedMore,
                        Some(d) if spaces > 0 && d.is_ascii_digit() => Probe::Yes,
                        Some(_) => Probe::No,
                    }
                }
                Some(_) => Probe::No,
            };
        }
        Probe::NeedMore => return Probe::NeedMore,
        Probe::No => {}
    }
    let method_len = rest
        .iter()
        .take(MAX_METHOD + 1)
        .take_while(|b| b.is_ascii_uppercase() || **b == b'-' || **b == b'_')
        .count();
    if method_len == 0 || method_len > MAX_METHOD {
        return Probe::No;
    }
    let Some(after_method) = rest.get(method_len..).filter(|r| !r.is_empty()) else {
        return Probe::NeedMore;
    };
    let target = match skip_spaces(after_method) {
        Ok(target) => target,
        Err(probe) => return probe,
    };
    let window = target.get(..MAX_PROBE_TARGET).unwrap_or(target);
    let target_len = window
        .iter()
        .take_while(|&&b| b > b' ' && b != 0x7f)
        .count();
    match target.get(target_len) {
        None if target_len < MAX_PROBE_TARGET => Probe::NeedMore,
        None => Probe::No,
        Some(b' ') => match skip_spaces(target.get(target_len..).unwrap_or_default()) {
            Ok(version) => starts_with_or_prefix(version, b"HTTP/1."),
            Err(probe) => probe,
        },
        Some(_) => Probe::No,
    }
}

/// Skips one or more (at most a few dozen) spaces; what follows them.
fn skip_spaces(rest: &[u8]) -> Result<&[u8], Probe> {
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 || spaces > MAX_METHOD {
        return Err(Probe::No);
    }
    match rest.get(spaces..) {
        Some(after) if !after.is_empty() => Ok(after),
        _ => Err(Probe::NeedMore),
    }
}
