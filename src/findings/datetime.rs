//! The `dateTime` values of CWMP (RFC 3339 / XML Schema): `2026-11-27T10:13:28`, with optional
//! fractional seconds and an optional zone (`Z`, `+01:00`). Lenient about what CPEs send, never
//! panicking on anything else.

use crate::types::Nanos;

/// A parsed timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CwmpTime {
    /// Nanoseconds since the Unix epoch, UTC (a value without zone is taken as UTC).
    pub nanos: Nanos,
    /// Whether the text named its zone (`Z` or an offset).
    pub has_zone: bool,
}

/// Whether `text` is the Unknown Time of TR-069 (`0001-01-01T00:00:00Z`, any zone or fraction).
pub fn is_unknown_time(text: &str) -> bool {
    text.trim().starts_with("0001-01-01")
}

/// Parses `YYYY-MM-DDThh:mm:ss[.f…][Z|±hh:mm]` (a space instead of `T` is accepted too).
pub fn parse(text: &str) -> Option<CwmpTime> {
    let b = text.trim().as_bytes();
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let separators_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !separators_ok || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut pos = 19;
    let mut frac: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let mut scale: i64 = 100_000_000;
        let start = pos;
        while let Some(d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
            frac += i64::from(d - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
        if pos == start {
            return None;
        }
    }
    let (offset_secs, has_zone) = match b.get(pos) {
        None => (0, false),
        Some(b'Z' | b'z') if pos + 1 == b.len() => (0, true),
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() && b.get(pos + 3) == Some(&b':') => {
            let h = digits(b, pos + 1, 2)?;
            let m = digits(b, pos + 4, 2)?;
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            (if *sign == b'-' { -secs } else { secs }, true)
        }
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    let days = i64::from(date.to_julian_day()) - i64::from(UNIX_EPOCH_JULIAN_DAY);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    Some(CwmpTime {
        nanos: secs.checked_mul(1_000_000_000)?.checked_add(frac)?,
        has_zone,
    })
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// The decimal number of `len` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let field = b.get(at..at.checked_add(len)?)?;
    field.iter().try_fold(0i64, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// Nanoseconds since the epoch of a known time: None for the Unknown Time, empty text or
/// anything unparsable.
pub fn known_nanos(text: &str) -> Option<Nanos> {
    if is_unknown_time(text) {
        return None;
    }
    parse(text).map(|t| t.nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Nanos = 1_000_000_000;

    #[test]
    fn zones_fractions_and_no_zone() {
        let utc = parse("2026-11-27T10:13:13.520Z").unwrap();
        assert_eq!(utc.nanos, 1_795_774_393 * S + 520_000_000);
        assert!(utc.has_zone);
        let plain = parse("2026-11-27T10:13:13").unwrap();
        assert_eq!(plain.nanos, 1_795_774_393 * S);
        assert!(!plain.has_zone);
        let offset = parse("2026-11-27T11:13:13.5+01:00").unwrap();
        assert_eq!(offset.nanos, 1_795_774_393 * S + 500_000_000);
        let west = parse("2026-11-27T05:13:13-05:00").unwrap();
        assert_eq!(west.nanos, 1_795_774_393 * S);
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap().nanos, 0);
    }

    #[test]
    fn rejects_garbage_and_knows_the_unknown_time() {
        for bad in [
            "",
            "2026-11-27",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-27T25:00:00Z",
            "2026-11-27T10:13:13.Z",
            "2026-11-27T10:13:13+1",
            "2026-11-27T10:13:13Zjunk",
            "２０２６-11-27T10:13:13Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(is_unknown_time("0001-01-01T00:00:00Z"));
        assert!(!is_unknown_time("2026-01-01T00:00:00Z"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }

        #[test]
        fn round_trips_formatted_timestamps(secs in 0i64..4_000_000_000, micros in 0i64..1_000_000) {
            let ts = secs * S + micros * 1000;
            let text = crate::types::format_ts(ts);
            prop_assert_eq!(parse(&text).map(|t| t.nanos), Some(ts));
        }
    }
}
