//! Key material the user holds: NSS key logs (`SSLKEYLOGFILE`, also embedded in pcapng
//! Decryption Secrets Blocks) indexed by ClientHello random, and RSA private keys of servers
//! for the RSA key exchange. Nothing here is ever printed: `Debug` shows counts only.

use rustc_hash::FxHashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Longest key log line read; longer lines are junk.
const MAX_LINE: usize = 512;
/// Lines read at most from one key log text (the rest is ignored and counted as junk).
const MAX_LINES: usize = 16 << 20;
/// Client randoms kept at most, over every key log of the run.
pub const MAX_ENTRIES: usize = 1 << 20;
/// Largest key log file read.
pub const MAX_KEYLOG_FILE: u64 = 512 << 20;
/// Longest secret accepted (SHA-384 is the largest hash of the supported suites).
const MAX_SECRET: usize = 48;

/// A TLS 1.3 traffic secret (Hash.length bytes), or a TLS 1.2 master secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    len: u8,
    bytes: [u8; MAX_SECRET],
}

impl Secret {
    /// A secret of 1 to 48 bytes.
    pub fn new(bytes: &[u8]) -> Option<Secret> {
        if bytes.is_empty() || bytes.len() > MAX_SECRET {
            return None;
        }
        let mut s = Secret {
            len: bytes.len() as u8,
            bytes: [0; MAX_SECRET],
        };
        s.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(s)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// The TLS 1.3 secrets of one connection, as the key log gives them.
#[derive(Clone, Debug, Default)]
pub struct Tls13Secrets {
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic: Option<Secret>,
    pub server_traffic: Option<Secret>,
}

/// What reading key log text found, line by line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines whose secret was kept.
    pub entries: u64,
    /// Comment and blank lines.
    pub comments: u64,
    /// Well-formed lines of labels that decryption does not use (exporter, early traffic,
    /// `RSA` pre-master secrets).
    pub unused: u64,
    /// Malformed lines (unknown label, bad hex, wrong lengths, too long), and lines beyond
    /// the bounds.
    pub junk: u64,
}

impl std::ops::AddAssign for KeyLogStats {
    fn add_assign(&mut self, o: KeyLogStats) {
        self.entries += o.entries;
        self.comments += o.comments;
        self.unused += o.unused;
        self.junk += o.junk;
    }
}

/// Secrets from NSS key logs, by ClientHello random.
#[derive(Clone)]
pub struct KeyLog {
    master_secrets: FxHashMap<[u8; 32], Secret>,
    tls13: FxHashMap<[u8; 32], Tls13Secrets>,
    stats: KeyLogStats,
    max_entries: usize,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog {
            master_secrets: FxHashMap::default(),
            tls13: FxHashMap::default(),
            stats: KeyLogStats::default(),
            max_entries: MAX_ENTRIES,
        }
    }
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("tls12_entries", &self.master_secrets.len())
            .field("tls13_entries", &self.tls13.len())
            .field("stats", &self.stats)
            .finish()
    }
}

/// Lowercase or uppercase hex into `out`; `None` unless the text is exactly twice as long.
fn hex_into<'o>(text: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    if !text.len().is_multiple_of(2) || text.len() / 2 > out.len() {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(&out[..text.len() / 2])
}

/// What one line is.
enum Line {
    Comment,
    Unused,
    Junk,
    Entry(Label, [u8; 32], Secret),
}

#[derive(Clone, Copy)]
enum Label {
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic,
    ServerTraffic,
}

/// A line read by [`KeyLog::add_lines`]: kept whole, or too long to keep (`overlong` holds its
/// first visible byte), which makes it a comment (blank, or starting with `#`) or junk.
fn judge_line(line: &[u8], overlong: Option<Option<u8>>) -> Line {
    match overlong {
        Some(None | Some(b'#')) => Line::Comment,
        Some(Some(_)) => Line::Junk,
        None => parse_line(line),
    }
}

fn parse_line(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() || trimmed.starts_with(b"#") {
        return Line::Comment;
    }
    if line.len() > MAX_LINE {
        return Line::Junk;
    }
    let mut fields = trimmed
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty());
    let (Some(label), Some(random), Some(secret), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Line::Junk;
    };
    let label = match label {
        b"CLIENT_RANDOM" => Label::ClientRandom,
        b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
        b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic,
        b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic,
        b"EXPORTER_SECRET" | b"EARLY_EXPORTER_SECRET" | b"CLIENT_EARLY_TRAFFIC_SECRET" | b"RSA" => {
            return Line::Unused;
        }
        _ => return Line::Junk,
    };
    let mut cr = [0u8; 32];
    if random.len() != 64 || hex_into(random, &mut cr).is_none() {
        return Line::Junk;
    }
    let mut buf = [0u8; MAX_SECRET];
    let Some(bytes) = hex_into(secret, &mut buf) else {
        return Line::Junk;
    };
    let ok_len = match label {
        Label::ClientRandom => bytes.len() == 48,
        _ => bytes.len() == 32 || bytes.len() == 48,
    };
    match Secret::new(bytes).filter(|_| ok_len) {
        Some(s) => Line::Entry(label, cr, s),
        None => Line::Junk,
    }
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> Self {
        KeyLog::default()
    }

    /// Reads NSS key log text (any line ending); bad lines are skipped and counted.
    pub fn add_text(&mut self, text: &[u8]) -> KeyLogStats {
        let mut stats = KeyLogStats::default();
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            if n >= MAX_LINES {
                stats.junk += 1;
                break;
            }
            self.count(parse_line(line), &mut stats);
        }
        // A final newline leaves one empty piece: not a line.
        if text.ends_with(b"\n") || text.is_empty() {
            stats.comments = stats.comments.saturating_sub(1);
        }
        self.stats += stats;
        stats
    }

    /// Reads NSS key log lines from `source` as they arrive, as [`KeyLog::add_text`] reads
    /// them, without holding the text: a line longer than [`MAX_LINE`] (junk, or a comment) is
    /// judged from its first visible byte and never kept whole.
    pub fn add_lines(
        &mut self,
        source: &mut impl std::io::BufRead,
    ) -> std::io::Result<KeyLogStats> {
        let mut stats = KeyLogStats::default();
        // The current line, up to MAX_LINE bytes and a CR; beyond, only its first visible byte.
        let mut line = Vec::with_capacity(MAX_LINE + 1);
        let mut overlong: Option<Option<u8>> = None;
        let mut lines = 0usize;
        loop {
            let buf = source.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let end = memchr::memchr(b'\n', buf);
            let piece = buf.get(..end.unwrap_or(buf.len())).unwrap_or_default();
            match &mut overlong {
                Some(first) => {
                    if first.is_none() {
                        *first = piece.iter().copied().find(|b| !b.is_ascii_whitespace());
                    }
                }
                None if line.len() + piece.len() > MAX_LINE + 1 => {
                    line.extend_from_slice(piece);
                    overlong = Some(line.iter().copied().find(|b| !b.is_ascii_whitespace()));
                    line.clear();
                }
                None => line.extend_from_slice(piece),
            }
            let used = end.map_or(buf.len(), |i| i + 1);
            source.consume(used);
            if end.is_some() {
                if lines >= MAX_LINES {
                    stats.junk += 1;
                    break;
                }
                lines += 1;
                self.count(judge_line(&line, overlong.take()), &mut stats);
                line.clear();
            }
        }
        if (!line.is_empty() || overlong.is_some()) && lines < MAX_LINES {
            self.count(judge_line(&line, overlong), &mut stats);
        }
        self.stats += stats;
        Ok(stats)
    }

    /// Counts one line (and keeps its secret).
    fn count(&mut self, line: Line, stats: &mut KeyLogStats) {
        match line {
            Line::Comment => stats.comments += 1,
            Line::Unused => stats.unused += 1,
            Line::Junk => stats.junk += 1,
            Line::Entry(label, cr, secret) => {
                if self.insert(label, cr, secret) {
                    stats.entries += 1;
                } else {
                    stats.junk += 1;
                }
            }
        }
    }

    /// Keeps one secret; false when the bound on client randoms is reached.
    fn insert(&mut self, label: Label, cr: [u8; 32], secret: Secret) -> bool {
        let entries = self.master_secrets.len() + self.tls13.len();
        if let Label::ClientRandom = label {
            if entries >= self.max_entries && !self.master_secrets.contains_key(&cr) {
                return false;
            }
            self.master_secrets.insert(cr, secret);
            return true;
        }
        if entries >= self.max_entries && !self.tls13.contains_key(&cr) {
            return false;
        }
        let e = self.tls13.entry(cr).or_default();
        let slot = match label {
            Label::ClientHandshake => &mut e.client_handshake,
            Label::ServerHandshake => &mut e.server_handshake,
            Label::ClientTraffic => &mut e.client_traffic,
            Label::ServerTraffic => &mut e.server_traffic,
            Label::ClientRandom => return false,
        };
        *slot = Some(secret);
        true
    }

    /// The TLS 1.2 (or earlier) master secret of the connection with this client random.
    pub fn master_secret(&self, client_random: &[u8; 32]) -> Option<&Secret> {
        self.master_secrets.get(client_random)
    }

    /// The TLS 1.3 secrets of the connection with this client random.
    pub fn tls13(&self, client_random: &[u8; 32]) -> Option<&Tls13Secrets> {
        self.tls13.get(client_random)
    }

    /// Client randoms known.
    pub fn len(&self) -> usize {
        self.master_secrets.len() + self.tls13.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line counts over everything read so far.
    pub fn stats(&self) -> KeyLogStats {
        self.stats
    }
}

/// Where an RSA key applies: any server, an address, or an address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyScope {
    Any,
    Addr(IpAddr),
    AddrPort(SocketAddr),
}

impl KeyScope {
    fn covers(&self, server: SocketAddr) -> bool {
        match self {
            KeyScope::Any => true,
            KeyScope::Addr(ip) => *ip == server.ip(),
            KeyScope::AddrPort(sa) => *sa == server,
        }
    }
}

/// A server's RSA private key, for connections whose key exchange is RSA.
#[derive(Clone)]
pub struct RsaKey {
    key: rsa::PrivateKey,
    scope: KeyScope,
    /// The public key's SubjectPublicKeyInfo, DER, to compare with certificates.
    public_der: Vec<u8>,
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why an RSA key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {}", crate::types::io_reason(source))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl RsaKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`).
    pub fn from_pem(pem: &str, scope: KeyScope) -> Result<RsaKey, String> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            rsa::PrivateKey::from_pkcs1_pem(pem)
                .map_err(|e| format!("not a PKCS#1 RSA key ({e})"))?
        } else if pem.contains("BEGIN PRIVATE KEY") {
            rsa::PrivateKey::from_pkcs8_pem(pem)
                .map_err(|e| format!("not a PKCS#8 RSA key ({e})"))?
        } else {
            return Err("no PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into());
        };
        let public_der = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| format!("unusable public key ({e})"))?
            .as_bytes()
            .to_vec();
        Ok(RsaKey {
            key,
            scope,
            public_der,
        })
    }

    /// Reads `FILE.pem[@ADDR[:PORT]]` (IPv6 with a port in brackets: `@[2001:db8::1]:443`).
    pub fn load(arg: &str) -> Result<RsaKey, KeyError> {
        let (path, scope) = split_scope(arg);
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        RsaKey::from_pem(&text, scope).map_err(|reason| KeyError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    pub fn scope(&self) -> KeyScope {
        self.scope
    }

    /// Whether this key's public half is the one in a certificate's SubjectPublicKeyInfo.
    pub fn matches_spki(&self, spki_der: &[u8]) -> bool {
        self.public_der == spki_der
    }

    /// The pre-master secret of an RSA ClientKeyExchange (PKCS#1 v1.5). With implicit
    /// rejection a wrong key gives a synthetic value, not an error: the caller checks the
    /// length and version, and the first record's authentication is the proof.
    pub fn decrypt_pms(&self, encrypted: &[u8]) -> Option<Vec<u8>> {
        self.key.pkcs1v15_decrypt(encrypted).ok()
    }
}

/// Splits `FILE[@ADDR[:PORT]]`; an `@` whose tail is no address belongs to the file name.
fn split_scope(arg: &str) -> (&str, KeyScope) {
    let Some((path, tail)) = arg.rsplit_once('@') else {
        return (arg, KeyScope::Any);
    };
    if let Ok(sa) = tail.parse::<SocketAddr>() {
        return (path, KeyScope::AddrPort(sa));
    }
    let bare = tail.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => (path, KeyScope::Addr(ip)),
        Err(_) => (arg, KeyScope::Any),
    }
}

/// Every key the user gave: key logs (`--tls-keylog`) and RSA keys (`--tls-key`).
#[derive(Clone, Debug, Default)]
pub struct TlsKeys {
    pub keylog: KeyLog,
    pub rsa: Vec<RsaKey>,
}

impl TlsKeys {
    /// The RSA keys that apply to a server, most specific scope first.
    pub fn rsa_for(&self, server: SocketAddr) -> impl Iterator<Item = &RsaKey> {
        let rank = |k: &RsaKey| match k.scope {
            KeyScope::AddrPort(_) => 0,
            KeyScope::Addr(_) => 1,
            KeyScope::Any => 2,
        };
        let mut keys: Vec<&RsaKey> = self.rsa.iter().filter(|k| k.scope.covers(server)).collect();
        keys.sort_by_key(|k| rank(k));
        keys.into_iter()
    }

    /// Reads a key log file (bounded in size) line by line, so that memory holds its secrets,
    /// not its text.
    pub fn add_keylog_file(&mut self, path: &str) -> Result<KeyLogStats, KeyError> {
        use std::io::Read;
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let too_large = || KeyError::Invalid {
            path: path.to_owned(),
            reason: format!("key log larger than {} MiB", MAX_KEYLOG_FILE >> 20),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() > MAX_KEYLOG_FILE {
            return Err(too_large());
        }
        // A pipe has no length: its bytes are counted as they come.
        let mut reader =
            std::io::BufReader::with_capacity(64 << 10, file.take(MAX_KEYLOG_FILE + 1));
        let stats = self.keylog.add_lines(&mut reader).map_err(io)?;
        if reader.into_inner().limit() == 0 {
            return Err(too_large());
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    #[test]
    fn key_log_lines_are_read_and_junk_is_counted() {
        let ms = "11".repeat(48);
        let hs = "22".repeat(32);
        let text = format!(
            "# SSL/TLS secrets log file\n\
             \n\
             CLIENT_RANDOM {CR} {ms}\r\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {hs}\n\
             SERVER_TRAFFIC_SECRET_0 {CR} {}\n\
             EXPORTER_SECRET {CR} {hs}\n\
             CLIENT_RANDOM {CR} 1234\n\
             CLIENT_RANDOM zz{} {ms}\n\
             SOMETHING_ELSE {CR} {hs}\n\
             CLIENT_RANDOM {CR}\n\
             CLIENT_RANDOM {CR} {ms} extra\n\
             {}\n",
            "33".repeat(48),
            &CR[2..],
            "x".repeat(MAX_LINE + 1)
        );
        let mut log = KeyLog::new();
        let stats = log.add_text(text.as_bytes());
        assert_eq!(
            stats,
            KeyLogStats {
                entries: 3,
                comments: 2,
                unused: 1,
                junk: 6
            }
        );
        let mut cr = [0u8; 32];
        hex_into(CR.as_bytes(), &mut cr).unwrap();
        assert_eq!(log.master_secret(&cr).unwrap().as_bytes(), [0x11; 48]);
        let s = log.tls13(&cr).unwrap();
        assert_eq!(s.client_handshake.as_ref().unwrap().as_bytes(), [0x22; 32]);
        assert_eq!(s.server_traffic.as_ref().unwrap().as_bytes(), [0x33; 48]);
        assert!(s.server_handshake.is_none() && s.client_traffic.is_none());
        // Nothing secret in debug output.
        let shown = format!("{log:?} {:?}", s);
        assert!(!shown.contains("11") && !shown.contains("22"), "{shown}");
    }

    #[test]
    fn key_log_read_line_by_line_counts_as_the_whole_text() {
        let ms = "11".repeat(48);
        let long_entry = format!("CLIENT_RANDOM {CR} {}", "ab".repeat(600));
        let long_comment = format!("{}# {}", " ".repeat(700), "c".repeat(2000));
        let long_blank = " \t".repeat(900);
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {CR} {ms}\r\n{long_entry}\n{long_comment}\r\n\
             {long_blank}\n{}\n\u{80}\u{ff} junk\nSERVER_TRAFFIC_SECRET_0 {CR} {}",
            "x".repeat(MAX_LINE + 1),
            "33".repeat(48)
        );
        let mut whole = KeyLog::new();
        let expected = whole.add_text(text.as_bytes());
        assert_eq!(
            expected,
            KeyLogStats {
                entries: 2,
                comments: 4,
                unused: 0,
                junk: 3
            }
        );
        for capacity in [1, 7, 64, 513, 1 << 16] {
            for ending in ["", "\n"] {
                let text = format!("{text}{ending}");
                let mut log = KeyLog::new();
                let mut source = std::io::BufReader::with_capacity(capacity, text.as_bytes());
                let stats = log.add_lines(&mut source).unwrap();
                assert_eq!(
                    stats, expected,
                    "buffer of {capacity} bytes, ending {ending:?}"
                );
                assert_eq!(log.len(), whole.len());
                assert_eq!(log.stats(), stats);
            }
        }
        let mut empty = KeyLog::new();
        assert_eq!(empty.add_lines(&mut &b""[..]).unwrap(), empty.add_text(b""));
    }

    #[test]
    fn key_log_entries_are_bounded() {
        let mut text = String::new();
        for i in 0..105 {
            text.push_str(&format!("CLIENT_RANDOM {i:064x} {}\n", "ab".repeat(48)));
            text.push_str(&format!(
                "CLIENT_TRAFFIC_SECRET_0 {:064x} {}\n",
                i + 1000,
                "ab".repeat(32)
            ));
        }
        let mut log = KeyLog {
            max_entries: 100,
            ..KeyLog::default()
        };
        let stats = log.add_text(text.as_bytes());
        assert_eq!(log.len(), 100);
        assert_eq!(stats.entries, 100);
        assert_eq!(stats.junk, 110);
    }

    #[test]
    fn key_scopes_are_read_from_the_argument() {
        assert_eq!(split_scope("k.pem"), ("k.pem", KeyScope::Any));
        assert_eq!(
            split_scope("k.pem@192.0.2.1"),
            ("k.pem", KeyScope::Addr("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            split_scope("k.pem@192.0.2.1:443"),
            (
                "k.pem",
                KeyScope::AddrPort("192.0.2.1:443".parse().unwrap())
            )
        );
        assert_eq!(
            split_scope("k.pem@[2001:db8::1]:8443"),
            (
                "k.pem",
                KeyScope::AddrPort("[2001:db8::1]:8443".parse().unwrap())
            )
        );
        assert_eq!(
            split_scope("k.pem@2001:db8::1"),
            ("k.pem", KeyScope::Addr("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            split_scope("me@host/k.pem"),
            ("me@host/k.pem", KeyScope::Any)
        );
    }
}
