//! Small `Copy` vocabulary shared by every stage: timestamps, frame references, link types,
//! the [`Frame`] the core takes in, directions; and the wording of system errors in messages.
//! Everything here sits below the stages: this module imports none of them.

use std::fmt;

/// Capture time in nanoseconds since the Unix epoch (UTC).
pub type Nanos = i64;

/// The earliest capture time kept (about 1897): readers clamp earlier timestamps to it.
pub const EARLIEST_TIME: Nanos = -(1 << 61);
/// The latest capture time kept (about 2116): readers clamp later timestamps to it. Within
/// [`EARLIEST_TIME`, `LATEST_TIME`] the difference of two times, plus or minus any timeout, fits
/// in a [`Nanos`], so the stages' time arithmetic cannot overflow whatever a file claims.
pub const LATEST_TIME: Nanos = 1 << 62;

/// CPEs (or CPE addresses) that each per-CPE memory of the stages holds at most: identities by
/// address, session histories, recent transfers, Connection Request and server URLs. Where ten
/// new CPEs a second inform, that is about 45 minutes of them; the bound keeps the memory of an
/// endless input (a span port for days) flat once reached. Below 7/16 of 65,536: see
/// [`churn_capacity`].
pub const CPES_REMEMBERED: usize = 28_000;

/// The capacity to make a hash table with when it holds at most `max` entries while entries
/// come and go (the least recently seen CPE forgotten for a new one). The standard hash table
/// reuses the slots of removed entries (rehashing in place) only while it is at most half
/// full; past that it doubles, however few entries it holds, so a table filled to its bound
/// doubles again some time later. Made at twice the bound, it never grows. Bounds above
/// [`CPES_REMEMBERED`] are not reserved ahead (the table grows as usual).
pub fn churn_capacity(max: usize) -> usize {
    churn_capacity_within(max, CPES_REMEMBERED)
}

/// [`churn_capacity`] for a table whose bounds above `ceiling` are not reserved ahead.
pub fn churn_capacity_within(max: usize, ceiling: usize) -> usize {
    max.min(ceiling) * 2 + 2
}

/// A timestamp in nanoseconds (computed wide) clamped into the range the stages accept.
pub fn clamp_capture_time(ns: i128) -> Nanos {
    ns.clamp(i128::from(EARLIEST_TIME), i128::from(LATEST_TIME)) as Nanos
}

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

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry.
///
/// It lives here, below both the capture readers and the frame decoder, together with the list
/// of link types the program can decode ([`LinkType::DECODABLE`]): the readers reject every
/// other type when a file or interface is opened, and `wire` strips exactly these headers (a
/// `wire` test keeps the two in step). So neither `capture` nor `wire` asks the other, and the
/// stages depend on each other in one direction only (`capture` → `wire`).
/// `crate::capture::LinkType` names the same type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (with optional 802.1Q / QinQ tags).
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP (RFC 1661), with or without the HDLC address and control bytes.
    pub const PPP: LinkType = LinkType(9);
    /// PPP in HDLC-like framing (RFC 1662), or Cisco HDLC.
    pub const PPP_SERIAL: LinkType = LinkType(50);
    /// PPPoE session frames without their Ethernet header (RFC 2516).
    pub const PPP_ETHER: LinkType = LinkType(51);
    /// Raw IP under its DLT_RAW number of most platforms (files written with the DLT value).
    pub const RAW_DLT_12: LinkType = LinkType(12);
    /// Raw IP under its DLT_RAW number of OpenBSD.
    pub const RAW_DLT_14: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (20-byte header, "any" interface).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Every link type whose frames the decoder (`wire`) can read down to IP.
    pub const DECODABLE: [LinkType; 13] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::PPP,
        LinkType::PPP_SERIAL,
        LinkType::PPP_ETHER,
        LinkType::RAW_DLT_12,
        LinkType::RAW_DLT_14,
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::LINUX_SLL2,
    ];

    /// Whether frames of this link type can be decoded (readers reject other link types when
    /// they open a file or an interface).
    pub fn is_decodable(self) -> bool {
        LinkType::DECODABLE.contains(&self)
    }

    /// The decodable link types in words, for messages about the others.
    pub const DECODABLE_IN_WORDS: &'static str =
        "Ethernet, Linux cooked (SLL, SLL2), raw IPv4/IPv6, BSD loopback (NULL, LOOP) and PPP";

    /// The registry's name of this link type without its `LINKTYPE_` prefix (`USER0`), for
    /// the common ones; `None` for others.
    pub fn name(self) -> Option<&'static str> {
        const USER: [&str; 16] = [
            "USER0", "USER1", "USER2", "USER3", "USER4", "USER5", "USER6", "USER7", "USER8",
            "USER9", "USER10", "USER11", "USER12", "USER13", "USER14", "USER15",
        ];
        Some(match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            3 => "AX25",
            6 => "IEEE802_5",
            7 => "ARCNET_BSD",
            8 => "SLIP",
            9 => "PPP",
            10 => "FDDI",
            // Raw IP as DLT_RAW is numbered on some BSDs.
            12 | 14 => "RAW",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            100 => "ATM_RFC1483",
            101 => "RAW",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            107 => "FRELAY",
            108 => "LOOP",
            113 => "LINUX_SLL",
            117 => "PFLOG",
            119 => "IEEE802_11_PRISM",
            123 => "SUNATM",
            127 => "IEEE802_11_RADIOTAP",
            139 => "MTP2_WITH_PHDR",
            140 => "MTP2",
            141 => "MTP3",
            142 => "SCCP",
            143 => "DOCSIS",
            144 => "LINUX_IRDA",
            147..=162 => USER.get((self.0 - 147) as usize).copied()?,
            163 => "IEEE802_11_AVS",
            177 => "LINUX_LAPD",
            187 => "BLUETOOTH_HCI_H4",
            189 => "USB_LINUX",
            192 => "PPI",
            195 => "IEEE802_15_4_WITHFCS",
            197 => "ERF",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            220 => "USB_LINUX_MMAPPED",
            227 => "CAN_SOCKETCAN",
            228 => "IPV4",
            229 => "IPV6",
            230 => "IEEE802_15_4_NOFCS",
            231 => "DBUS",
            239 => "NFLOG",
            240 => "NETANALYZER",
            243 => "MPEG_2_TS",
            249 => "USBPCAP",
            252 => "WIRESHARK_UPPER_PDU",
            253 => "NETLINK",
            254 => "BLUETOOTH_LINUX_MONITOR",
            264 => "PKTAP",
            266 => "USB_DARWIN",
            271 => "VSOCK",
            276 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

/// `147 (USER0)`, or the bare number for a link type without a name here.
impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// One captured frame: the core's input (`wire` decodes it). Capture readers lend one out at a
/// time, borrowed from their own buffer until the next call; `crate::capture::Frame` names the
/// same type.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Which file and which (1-based) frame number in it.
    pub frame: FrameRef,
    /// Capture timestamp.
    pub ts: Nanos,
    /// Link-layer type of `data` (per interface in pcapng).
    pub link: LinkType,
    /// Length of the packet on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    /// The captured bytes (exactly the captured length; pcapng padding is not included).
    pub data: &'a [u8],
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
/// Every message and step of the report has one, so the digits are written by hand rather
/// than through `format!`.
pub fn format_ts(ts: Nanos) -> String {
    let secs = ts.div_euclid(1_000_000_000);
    let micros = ts.rem_euclid(1_000_000_000) / 1000;
    let Some(second) = second_text(secs) else {
        return format!("@{secs}.{micros:06}");
    };
    let mut out = [0u8; 27];
    out[..20].copy_from_slice(&second);
    let mut v = micros;
    for i in (20..26).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out[26] = b'Z';
    // Only ASCII digits and separators were written.
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

thread_local! {
    /// The last second [`second_text`] wrote: a report's timestamps come in runs within one
    /// second, and the calendar need not be worked out again for each.
    static LAST_SECOND: std::cell::Cell<Option<(i64, [u8; 20])>> =
        const { std::cell::Cell::new(None) };
}

/// `2026-11-27T10:13:13.` for a Unix second; `None` for a year before 0.
fn second_text(secs: i64) -> Option<[u8; 20]> {
    if let Some((last, text)) = LAST_SECOND.get()
        && last == secs
    {
        return Some(text);
    }
    // Nanoseconds in an i64 span the years 1677 to 2262, so `None` is for form's sake.
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    let year = u32::try_from(t.year()).ok()?;
    let mut out = [0u8; 20];
    let mut at = 0;
    let mut digits = |value: u32, width: usize, then: u8| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out[at + width] = then;
        at += width + 1;
    };
    digits(year, 4, b'-');
    digits(u32::from(u8::from(t.month())), 2, b'-');
    digits(u32::from(t.day()), 2, b'T');
    digits(u32::from(t.hour()), 2, b':');
    digits(u32::from(t.minute()), 2, b':');
    digits(u32::from(t.second()), 2, b'.');
    LAST_SECOND.set(Some((secs, out)));
    Some(out)
}

/// An IP address as `Display` writes it; IPv4 (most of the report's addresses) digit by digit.
pub fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut text = String::with_capacity(15);
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text.push('.');
                }
                text.push_str(digits.format(octet));
            }
            text
        }
        std::net::IpAddr::V6(_) => ip.to_string(),
    }
}

/// A socket address as `Display` writes it (`192.0.2.1:7547`, `[2001:db8::1]:7547`).
pub fn socket_text(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(v4) => {
            let mut text = ip_text(std::net::IpAddr::V4(*v4.ip()));
            text.push(':');
            text.push_str(itoa::Buffer::new().format(v4.port()));
            text
        }
        std::net::SocketAddr::V6(_) => addr.to_string(),
    }
}

/// The operating system's reason for an I/O error, without Rust's ` (os error N)` suffix:
/// `No such file or directory`, `Permission denied`, `No space left on device`.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    // Also when the OS error came wrapped in another error.
    let number = text.rfind(" (os error ").filter(|at| {
        text[at + 11..]
            .strip_suffix(')')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    match number {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        use std::net::{IpAddr, SocketAddr};
        for text in [
            "0.0.0.0",
            "192.0.2.1",
            "10.200.30.4",
            "255.255.255.255",
            "::",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "fe80::1:2:3:4",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
            for port in [0, 80, 7547, 65535] {
                let addr = SocketAddr::new(ip, port);
                assert_eq!(socket_text(addr), addr.to_string());
            }
        }
        let scoped: SocketAddr = "[fe80::1%2]:7547".parse().unwrap();
        assert_eq!(socket_text(scoped), scoped.to_string());
    }

    #[test]
    fn io_reasons_lose_rusts_suffix_only() {
        let missing = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&missing), "No such file or directory");
        // Wrapped, as serializers return it.
        assert_eq!(
            io_reason(&std::io::Error::other(std::io::Error::from_raw_os_error(
                28
            ))),
            "No space left on device"
        );
        let own = std::io::Error::other("body storage limit reached (os error x)");
        assert_eq!(io_reason(&own), "body storage limit reached (os error x)");
    }

    #[test]
    fn timestamps_format_as_rfc3339_micros() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_795_774_393_520_123_999),
            "2026-11-27T10:13:13.520123Z"
        );
        // Before 1970, and the last microsecond of a day.
        assert_eq!(format_ts(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_ts(Nanos::MIN), "1677-09-21T00:12:43.145224Z");
        assert_eq!(format_ts(Nanos::MAX), "2262-04-11T23:47:16.854775Z");
    }

    #[test]
    fn timestamps_match_the_time_crates_formatter() {
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        let generic = |ts: Nanos| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts))
                .unwrap()
                .format(&format)
                .unwrap()
        };
        let mut ts = Nanos::MIN;
        while let Some(next) = ts.checked_add(777_777_777_777_777 + 123_456_789) {
            assert_eq!(format_ts(ts), generic(ts), "{ts}");
            ts = next;
        }
        // Runs within one second and across its edges (the calendar of the last second is
        // kept), back and forth.
        for base in [1_795_774_393_000_000_000, -2_000_000_000] {
            for step in [0, 999_999_999, 1, 1_000_000_000, 250_000_000, 999_999_999] {
                let ts = base + step;
                assert_eq!(format_ts(ts), generic(ts), "{ts}");
            }
        }
    }
}
