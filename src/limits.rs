//! Every resource limit of the analysis in one table ([`Limit`]: name, default, unit, meaning,
//! the stage it acts in), the values a run uses ([`Limits`], set with `--limit NAME=N`), and
//! the two ways a stage reports reaching one: a count per limit ([`LimitCounts`], the
//! capture-wide `capture.limits_hit`) and the set of limits that cut a session or transaction
//! short ([`LimitSet`]). Everything here sits below the stages: this module imports none of
//! them.

use std::fmt;

/// The unit of a limit's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes: values may end in K, M or G (×1024, ×1024², ×1024³).
    Bytes,
    /// A count of the things named.
    Count(&'static str),
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Bytes => f.write_str("bytes"),
            Unit::Count(what) => f.write_str(what),
        }
    }
}

/// One row of the table: what a limit bounds, where, and what happens when it is reached.
#[derive(Clone, Copy, Debug)]
pub struct LimitSpec {
    pub limit: Limit,
    /// The name on the command line and in the report (kebab-case).
    pub name: &'static str,
    pub default: u64,
    pub unit: Unit,
    /// The stage that applies it.
    pub stage: &'static str,
    /// What it bounds, in one line.
    pub meaning: &'static str,
    /// What happens to the thing limited when it is reached.
    pub when_reached: &'static str,
    /// Whether reaching it marks the session or transaction concerned (`limits_hit`); the
    /// others are counted capture-wide only.
    pub attributed: bool,
}

/// A resource limit, by name. The order is the table's (stage order), which is also the order
/// of `capture.limits_hit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    IpFragments,
    IpFragmentBytes,
    OpenConnections,
    HalfOpenConnections,
    StreamBufferBytes,
    StreamBufferSegments,
    TotalBufferBytes,
    Hosts,
    HttpHeaderBytes,
    HttpHeaders,
    HttpBodyBytes,
    HttpPendingRequests,
    XmlDepth,
    XmlElements,
    XmlEnvelopes,
    RpcArgs,
    XmlValueBytes,
    OpenSessions,
    SessionMessages,
    UnassignedMessages,
    PendingConnectionRequests,
    KnownEndpoints,
    RawBodyBytes,
    OpenTransactions,
    PendingExchanges,
    CpeHistory,
}

/// Number of limits.
pub const LIMIT_COUNT: usize = 26;

// The last variant closes the count, and a [`LimitSet`] holds every limit in a `u32`.
const _: () = assert!(Limit::CpeHistory as usize + 1 == LIMIT_COUNT && LIMIT_COUNT <= 32);

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// The table, in the order of [`Limit`].
pub const TABLE: [LimitSpec; LIMIT_COUNT] = [
    LimitSpec {
        limit: Limit::IpFragments,
        name: "ip-fragments",
        default: 1024,
        unit: Unit::Count("datagrams"),
        stage: "wire",
        meaning: "IP datagrams held while their fragments arrive",
        when_reached: "the oldest datagram held is dropped",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::IpFragmentBytes,
        name: "ip-fragment-bytes",
        default: 16 * MIB,
        unit: Unit::Bytes,
        stage: "wire",
        meaning: "bytes held across the datagrams being put together from fragments",
        when_reached: "the oldest datagrams held are dropped (the arriving one, when it alone is too large)",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::OpenConnections,
        name: "open-connections",
        default: MIB,
        unit: Unit::Count("connections"),
        stage: "tcp",
        meaning: "TCP connections tracked at once",
        when_reached: "the least recently active connection is released, as if idle",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::HalfOpenConnections,
        name: "half-open-connections",
        default: 16 * KIB,
        unit: Unit::Count("connections"),
        stage: "tcp",
        meaning: "connections opened by a SYN that nothing has answered yet (a SYN flood or a scan)",
        when_reached: "the oldest unanswered connection is released, as if idle; answered connections are never released for it",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::StreamBufferBytes,
        name: "stream-buffer-bytes",
        default: 4 * MIB,
        unit: Unit::Bytes,
        stage: "tcp",
        meaning: "bytes buffered out of order in one direction of a connection, waiting for a hole to fill",
        when_reached: "the oldest hole is declared lost (a capture gap) and the data after it is delivered",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::StreamBufferSegments,
        name: "stream-buffer-segments",
        default: 16384,
        unit: Unit::Count("segments"),
        stage: "tcp",
        meaning: "segments buffered out of order in one direction of a connection",
        when_reached: "the oldest hole is declared lost (a capture gap) and the data after it is delivered",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::TotalBufferBytes,
        name: "total-buffer-bytes",
        default: 256 * MIB,
        unit: Unit::Bytes,
        stage: "tcp",
        meaning: "bytes buffered out of order over all connections",
        when_reached: "the holes of the connection being fed are declared lost (capture gaps)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::Hosts,
        name: "hosts",
        default: crate::types::CPES_REMEMBERED as u64,
        unit: Unit::Count("addresses"),
        stage: "pipeline",
        meaning: "distinct IP addresses counted exactly in capture.hosts",
        when_reached: "the count goes on as an estimate in fixed memory (HyperLogLog, about 1 % off)",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::HttpHeaderBytes,
        name: "http-header-bytes",
        default: 64 * KIB,
        unit: Unit::Bytes,
        stage: "http",
        meaning: "size of one message's header block",
        when_reached: "the message is skipped as malformed HTTP; parsing resumes at the next message",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::HttpHeaders,
        name: "http-headers",
        default: 128,
        unit: Unit::Count("fields"),
        stage: "http",
        meaning: "header fields of one message",
        when_reached: "the message is skipped as malformed HTTP; parsing resumes at the next message",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::HttpBodyBytes,
        name: "http-body-bytes",
        default: 4 * MIB,
        unit: Unit::Bytes,
        stage: "http",
        meaning: "body bytes kept of one message for CWMP decoding (after de-chunking and decompression)",
        when_reached: "the rest is counted, not kept: a SOAP body cut there does not decode",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::HttpPendingRequests,
        name: "http-pending-requests",
        default: 64,
        unit: Unit::Count("requests"),
        stage: "http",
        meaning: "requests of one connection waiting for their responses (pipelining)",
        when_reached: "the oldest waiting request is given up: its response is not paired with it",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::XmlDepth,
        name: "xml-depth",
        default: 64,
        unit: Unit::Count("levels"),
        stage: "cwmp",
        meaning: "element nesting in one body (the Envelope is level 1)",
        when_reached: "the body is not decoded (malformed XML)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::XmlElements,
        name: "xml-elements",
        default: 262_144,
        unit: Unit::Count("elements"),
        stage: "cwmp",
        meaning: "XML elements in one body",
        when_reached: "the body is not decoded (malformed XML)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::XmlEnvelopes,
        name: "xml-envelopes",
        default: 64,
        unit: Unit::Count("envelopes"),
        stage: "cwmp",
        meaning: "SOAP envelopes in one body",
        when_reached: "the body is not decoded (malformed XML)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::RpcArgs,
        name: "rpc-args",
        default: 4096,
        unit: Unit::Count("arguments"),
        stage: "cwmp",
        meaning: "arguments kept per RPC (ParameterList entries, events, parameter faults and the like)",
        when_reached: "further arguments are dropped (counted once per body)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::XmlValueBytes,
        name: "xml-value-bytes",
        default: 64 * KIB,
        unit: Unit::Bytes,
        stage: "cwmp",
        meaning: "longest value kept of an argument or header entry",
        when_reached: "longer values are cut at a character boundary and end with … (counted once per body)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::OpenSessions,
        name: "open-sessions",
        default: 100_000,
        unit: Unit::Count("sessions"),
        stage: "session",
        meaning: "CWMP sessions open at once",
        when_reached: "the oldest open session is finished as it stands; what follows on its connections starts a session without an Inform",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::SessionMessages,
        name: "session-messages",
        default: 10_000,
        unit: Unit::Count("messages"),
        stage: "session",
        meaning: "messages kept per session",
        when_reached: "further messages of the session are counted, not kept",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::UnassignedMessages,
        name: "unassigned-messages",
        default: 32,
        unit: Unit::Count("messages"),
        stage: "session",
        meaning: "CWMP messages (and capture notes) held on a connection before its session is known",
        when_reached: "the messages held become a session without an Inform; further notes are dropped",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::PendingConnectionRequests,
        name: "pending-connection-requests",
        default: 4096,
        unit: Unit::Count("requests"),
        stage: "session",
        meaning: "Connection Requests waiting for the session they trigger",
        when_reached: "the oldest is forgotten (uncertain ones first)",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::KnownEndpoints,
        name: "known-endpoints",
        default: crate::types::CPES_REMEMBERED as u64,
        unit: Unit::Count("entries"),
        stage: "session",
        meaning: "ConnectionRequestURLs, ACS and file servers remembered from the CWMP traffic (each kind)",
        when_reached: "new ones are not learned; those known are still updated",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::RawBodyBytes,
        name: "raw-body-bytes",
        default: MIB,
        unit: Unit::Bytes,
        stage: "session (tui)",
        meaning: "largest body whose bytes the interactive view keeps to show",
        when_reached: "the message is shown without its body bytes",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::OpenTransactions,
        name: "open-transactions",
        default: 100_000,
        unit: Unit::Count("transactions"),
        stage: "transaction",
        meaning: "transactions being built at once",
        when_reached: "the oldest is handed on as it stands (incomplete unless its end was seen)",
        attributed: true,
    },
    LimitSpec {
        limit: Limit::PendingExchanges,
        name: "pending-exchanges",
        default: 10_000,
        unit: Unit::Count("exchanges"),
        stage: "transaction",
        meaning: "HTTP exchanges (file fetches) waiting for the transaction that ordered them",
        when_reached: "the oldest exchange of the CPE with most waiting is dropped",
        attributed: false,
    },
    LimitSpec {
        limit: Limit::CpeHistory,
        name: "cpe-history",
        default: crate::types::CPES_REMEMBERED as u64,
        unit: Unit::Count("CPEs"),
        stage: "session, transaction, findings",
        meaning: "CPEs remembered across sessions: the last DeviceId per address, the sessions the cross-session rules compare, recent transfers",
        when_reached: "the least recently seen CPE is forgotten (recent transfers: all at once)",
        attributed: false,
    },
];

impl Limit {
    /// Every limit, in table order.
    pub const ALL: [Limit; LIMIT_COUNT] = {
        let mut all = [Limit::IpFragments; LIMIT_COUNT];
        let mut i = 0;
        while i < LIMIT_COUNT {
            all[i] = TABLE[i].limit;
            i += 1;
        }
        all
    };

    /// Its row of the table.
    pub const fn spec(self) -> &'static LimitSpec {
        &TABLE[self as usize]
    }

    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    pub const fn default_value(self) -> u64 {
        self.spec().default
    }

    /// The default as a `usize` (for the stages' own configurations).
    pub const fn default_usize(self) -> usize {
        to_usize(self.default_value())
    }

    /// The limit of that name.
    pub fn from_name(name: &str) -> Option<Limit> {
        TABLE.iter().find(|s| s.name == name).map(|s| s.limit)
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const fn to_usize(n: u64) -> usize {
    if n > usize::MAX as u64 {
        usize::MAX
    } else {
        n as usize
    }
}

/// The value of every limit for one run: the defaults, unless set otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits([u64; LIMIT_COUNT]);

impl Default for Limits {
    fn default() -> Self {
        Limits(TABLE.map(|s| s.default))
    }
}

impl Limits {
    pub fn get(&self, limit: Limit) -> u64 {
        self.0[limit as usize]
    }

    /// The value as a `usize` (saturating).
    pub fn usize(&self, limit: Limit) -> usize {
        to_usize(self.get(limit))
    }

    pub fn set(&mut self, limit: Limit, value: u64) {
        self.0[limit as usize] = value;
    }

    /// The defaults with each `NAME=N` setting applied in order (a later one wins).
    pub fn parse<'a>(settings: impl IntoIterator<Item = &'a str>) -> Result<Limits, String> {
        let mut limits = Limits::default();
        for setting in settings {
            let (limit, value) = parse_setting(setting)?;
            limits.set(limit, value);
        }
        Ok(limits)
    }
}

/// Reads one `NAME=N` setting. The error is one line, naming what is wrong.
pub fn parse_setting(setting: &str) -> Result<(Limit, u64), String> {
    let Some((name, value)) = setting.split_once('=') else {
        return Err(format!(
            "takes NAME=N, not \"{setting}\" (see --limit help)"
        ));
    };
    let name = name.trim();
    let Some(limit) = Limit::from_name(name) else {
        return Err(format!("unknown limit \"{name}\" (see --limit help)"));
    };
    let value = parse_value(limit, value.trim())?;
    Ok((limit, value))
}

/// Reads a limit's value: a whole number of at least 1; for a byte limit, optionally followed
/// by K, M or G (×1024, ×1024², ×1024³).
fn parse_value(limit: Limit, text: &str) -> Result<u64, String> {
    let spec = limit.spec();
    let (digits, scale) = match (spec.unit, text.char_indices().last()) {
        (Unit::Bytes, Some((i, c))) if matches!(c, 'K' | 'k' | 'M' | 'm' | 'G' | 'g') => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                _ => 30,
            };
            (&text[..i], 1u64 << shift)
        }
        _ => (text, 1),
    };
    let what = match spec.unit {
        Unit::Bytes => "a number of bytes (K, M, G allowed)".to_owned(),
        Unit::Count(things) => format!("a number of {things}"),
    };
    let bad = || format!("{} takes {what}, not \"{text}\"", spec.name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let value = n.checked_mul(scale).ok_or_else(bad)?;
    if value == 0 {
        return Err(format!("{} must be at least 1", spec.name));
    }
    Ok(value)
}

/// A value as the table shows it: `4M`, `64K`, `100000`.
pub fn format_value(limit: Limit, value: u64) -> String {
    if limit.spec().unit == Unit::Bytes {
        for (suffix, shift) in [("G", 30), ("M", 20), ("K", 10)] {
            if value >= 1 << shift && value.is_multiple_of(1 << shift) {
                return format!("{}{suffix}", value >> shift);
            }
        }
    }
    value.to_string()
}

/// The table for `--limit help`: name, default (with its unit) and meaning, one limit a line.
pub fn help_text() -> String {
    let rows: Vec<(String, String, String)> = TABLE
        .iter()
        .map(|s| {
            (
                s.name.to_owned(),
                format!("{} {}", format_value(s.limit, s.default), s.unit),
                s.meaning.to_owned(),
            )
        })
        .collect();
    let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let default_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut out = String::from(
        "Resource limits: --limit NAME=N (repeatable; byte limits take K, M, G). See docs/limits.md.\n\n",
    );
    out.push_str(&format!(
        "{:<name_w$}  {:<default_w$}  meaning\n",
        "name", "default"
    ));
    for (name, default, meaning) in rows {
        out.push_str(&format!(
            "{name:<name_w$}  {default:<default_w$}  {meaning}\n"
        ));
    }
    out
}

/// How many times each limit was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitCounts([u64; LIMIT_COUNT]);

impl LimitCounts {
    /// One more time `limit` was reached.
    pub fn add(&mut self, limit: Limit) {
        self.add_n(limit, 1);
    }

    pub fn add_n(&mut self, limit: Limit, n: u64) {
        let slot = &mut self.0[limit as usize];
        *slot = slot.saturating_add(n);
    }

    pub fn get(&self, limit: Limit) -> u64 {
        self.0[limit as usize]
    }

    /// These counts plus `other`'s.
    pub fn merge(&mut self, other: &LimitCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
        }
    }

    /// The limits reached, in table order, with their counts.
    pub fn reached(&self) -> impl Iterator<Item = (Limit, u64)> + '_ {
        Limit::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| (*l, n))
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// A set of limits: those that cut a session, transaction, message or connection short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LimitSet(u32);

impl LimitSet {
    pub const EMPTY: LimitSet = LimitSet(0);

    pub fn of(limit: Limit) -> LimitSet {
        LimitSet(limit.bit())
    }

    pub fn insert(&mut self, limit: Limit) {
        self.0 |= limit.bit();
    }

    /// Adds every limit of `other`.
    pub fn extend(&mut self, other: LimitSet) {
        self.0 |= other.0;
    }

    pub fn contains(&self, limit: Limit) -> bool {
        self.0 & limit.bit() != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The limits, in table order (one step per limit in the set).
    pub fn iter(&self) -> impl Iterator<Item = Limit> + use<> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let i = bits.trailing_zeros() as usize;
            bits &= bits.checked_sub(1)?;
            Limit::ALL.get(i).copied()
        })
    }

    /// Their names, in table order.
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(Limit::name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_enum_and_names_are_unique_kebab_case() {
        for (i, spec) in TABLE.iter().enumerate() {
            assert_eq!(spec.limit as usize, i, "{}", spec.name);
            assert_eq!(Limit::ALL[i], spec.limit);
            assert!(
                spec.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                spec.name
            );
            assert_eq!(Limit::from_name(spec.name), Some(spec.limit));
            assert!(spec.default > 0, "{}", spec.name);
        }
    }

    #[test]
    fn settings_are_read_with_suffixes_for_byte_limits_only() {
        assert_eq!(
            parse_setting("http-body-bytes=64K"),
            Ok((Limit::HttpBodyBytes, 64 * 1024))
        );
        assert_eq!(
            parse_setting("stream-buffer-bytes=2m"),
            Ok((Limit::StreamBufferBytes, 2 << 20))
        );
        assert_eq!(
            parse_setting("total-buffer-bytes=1G"),
            Ok((Limit::TotalBufferBytes, 1 << 30))
        );
        assert_eq!(parse_setting("xml-depth=3"), Ok((Limit::XmlDepth, 3)));
        let err = |s: &str| parse_setting(s).expect_err(s);
        assert!(err("xml-depth=3K").contains("xml-depth takes a number of levels"));
        assert!(err("xml-depth=").contains("not \"\""));
        assert!(err("xml-depth=-1").contains("takes"));
        assert!(err("xml-depth=0").contains("at least 1"));
        assert!(err("nope=3").contains("unknown limit \"nope\""));
        assert!(err("xml-depth").contains("NAME=N"));
        assert!(err("http-body-bytes=99999999999999999999").contains("takes"));
        assert!(err("http-body-bytes=20000000000G").contains("takes"));
        let limits = Limits::parse(["xml-depth=3", "xml-depth=5"]).expect("valid");
        assert_eq!(limits.get(Limit::XmlDepth), 5);
        assert_eq!(limits.get(Limit::XmlEnvelopes), 64);
    }

    #[test]
    fn values_are_shown_with_the_largest_exact_suffix() {
        assert_eq!(format_value(Limit::HttpBodyBytes, 4 << 20), "4M");
        assert_eq!(format_value(Limit::HttpHeaderBytes, 65_536), "64K");
        assert_eq!(format_value(Limit::HttpHeaderBytes, 1000), "1000");
        assert_eq!(format_value(Limit::OpenConnections, 1 << 20), "1048576");
        let help = help_text();
        for spec in &TABLE {
            assert!(help.contains(spec.name), "{}", spec.name);
        }
    }

    #[test]
    fn counts_and_sets_keep_table_order() {
        let mut c = LimitCounts::default();
        assert!(c.is_empty());
        c.add(Limit::XmlDepth);
        c.add(Limit::OpenConnections);
        c.add(Limit::XmlDepth);
        let mut d = LimitCounts::default();
        d.add_n(Limit::CpeHistory, 4);
        c.merge(&d);
        let reached: Vec<(Limit, u64)> = c.reached().collect();
        assert_eq!(
            reached,
            [
                (Limit::OpenConnections, 1),
                (Limit::XmlDepth, 2),
                (Limit::CpeHistory, 4)
            ]
        );
        let mut s = LimitSet::of(Limit::CpeHistory);
        s.insert(Limit::IpFragments);
        s.extend(LimitSet::of(Limit::XmlDepth));
        assert_eq!(s.names(), ["ip-fragments", "xml-depth", "cpe-history"]);
        assert!(!s.contains(Limit::Hosts));
    }
}
