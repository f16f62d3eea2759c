//! Small `Copy` vocabulary shared by every stage: timestamps, frame references, directions.

use std::fmt;

/// Capture time in nanoseconds since the Unix epoch (UTC).
pub type Nanos = i64;

/// Where a frame sits in the input: which input file (0-based index into the file list) and its
/// 1-based frame number inside that file, as tcpdump and Wireshark count them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameRef {
    pub file: u16,
    pub number: u64,
}

impl FrameRef {
    pub const fn new(file: u16, number: u64) -> Self {
        FrameRef { file, number }
    }
}

impl fmt::Display for FrameRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)
    }
}

/// Identifier of one TCP connection, unique for the whole run (sequential, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnId(pub u64);

/// Direction of travel inside a TCP connection, relative to the side that opened it (the SYN
/// sender; for connections whose start was not captured, the reassembler's best guess).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the connection's initiator (client) to the responder (server).
    ToServer,
    /// From the responder back to the initiator.
    ToClient,
}

impl Dir {
    pub const fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
    pub const fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// Formats a timestamp as RFC 3339 with microseconds, in UTC (`2026-11-27T10:13:13.520123Z`).
pub fn format_ts(ts: Nanos) -> String {
    let secs = ts.div_euclid(1_000_000_000);
    let micros = ts.rem_euclid(1_000_000_000) / 1000;
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            micros
        ),
        Err(_) => format!("@{secs}.{micros:06}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339_micros() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_795_774_393_520_123_999),
            "2026-11-27T10:13:13.520123Z"
        );
    }
}
