//! TLS between TCP reassembly and HTTP: connections whose first bytes are a TLS record are
//! followed record by record, their handshake read (version, cipher suite, server name, the
//! server's certificate, alerts), and, when the keys are at hand, their records decrypted so
//! the application bytes go on to HTTP as if they had been sent in clear. Clear connections go
//! straight through.
//!
//! Stage boundary: [`crate::tcp::StreamEvent`] in, [`TlsEvent`] out, through [`TlsLayer`].
//! A `TlsEvent::Stream` carries the events the HTTP stage takes: those of clear connections as
//! they came, and for TLS connections the decrypted application data (one `Data` per record,
//! with the frame that completed the record); a `TlsEvent::Summary` carries what is known of a
//! connection's TLS ([`TlsSummary`]) just before its `Closed`.
//!
//! Keys ([`TlsKeys`]): NSS key logs (`CLIENT_RANDOM` for TLS 1.2, the handshake and traffic
//! secrets for TLS 1.3), the same text from pcapng Decryption Secrets Blocks
//! ([`TlsLayer::add_embedded_keylog`]), and servers' RSA private keys for the RSA key exchange.
//! TLS 1.2 master secrets are remembered by session id and ticket (bounded), so resumed
//! connections decrypt when the full handshake was in the capture.
//!
//! Decrypted: TLS 1.3 (AES-GCM, ChaCha20-Poly1305; KeyUpdate), TLS 1.2 AES-GCM,
//! ChaCha20-Poly1305 and AES-CBC with HMAC-SHA1/256/384 (MAC-then-encrypt and
//! encrypt-then-MAC), extended master secret. Not decrypted: TLS 1.0/1.1 and SSL 3 (their PRF),
//! CCM, 3DES, RC4, 0-RTT data. Sequence numbers run per direction: a record lost to a capture
//! gap ends decryption of that direction (record framing and the AEAD nonces cannot resync),
//! and so does a record that fails authentication; the reason is kept ([`TlsReason`]). A
//! direction not (or no longer) decrypted is still framed record by record, while its framing
//! holds, so that alerts and the end of the handshake are seen without keys.
//! Parts: `keys` (key material), `crypto` (key schedules, record protection), `handshake`
//! (message parsing), `suites` (cipher suite table), `conn` (one connection).

use crate::tcp::StreamEvent;
use crate::types::{ConnId, Dir, FrameRef, Nanos};
use rustc_hash::FxHashMap;
use std::sync::Arc;

mod conn;
pub mod crypto;
pub mod handshake;
pub mod keys;
pub mod suites;

pub use keys::{KeyLog, KeyLogStats, RsaKey, TlsKeys};

use conn::{ConnTls, SessionCache, Shared};

/// Why a TLS connection was not (or not wholly) decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsReason {
    /// No key log entry for the connection's ClientHello random (and no usable RSA key or
    /// remembered session).
    NoKey,
    /// The RSA key given for the server is not the one in its certificate.
    RsaKeyMismatch,
    /// The key exchange is (EC)DHE, and only an RSA key was given for the server.
    EphemeralKeyExchange,
    /// The connection was picked up after its handshake (or the hellos are missing).
    HandshakeNotCaptured,
    /// A handshake message longer than any real one (over 256 KiB, certificate chains
    /// included): decryption of that direction gives up rather than buffer it.
    HandshakeTooLarge,
    /// A record was lost to a capture gap: decryption of that direction stopped there.
    RecordLost,
    /// A record failed authentication (wrong key, or corrupted): decryption of that direction
    /// stopped there.
    RecordAuthFailed,
    /// The version or cipher suite is one decryption does not handle (TLS 1.0/1.1, SSL 3,
    /// CCM, 3DES, RC4, NULL).
    UnsupportedCipher,
}

impl TlsReason {
    /// Every reason.
    pub const ALL: [TlsReason; 8] = [
        TlsReason::NoKey,
        TlsReason::RsaKeyMismatch,
        TlsReason::EphemeralKeyExchange,
        TlsReason::HandshakeNotCaptured,
        TlsReason::HandshakeTooLarge,
        TlsReason::RecordLost,
        TlsReason::RecordAuthFailed,
        TlsReason::UnsupportedCipher,
    ];

    /// Stable code (JSON).
    pub fn code(self) -> &'static str {
        match self {
            TlsReason::NoKey => "no-key",
            TlsReason::RsaKeyMismatch => "rsa-key-mismatch",
            TlsReason::EphemeralKeyExchange => "ephemeral-key-exchange",
            TlsReason::HandshakeNotCaptured => "handshake-not-captured",
            TlsReason::HandshakeTooLarge => "handshake-too-large",
            TlsReason::RecordLost => "record-lost",
            TlsReason::RecordAuthFailed => "record-auth-failed",
            TlsReason::UnsupportedCipher => "unsupported-cipher",
        }
    }

    /// In words, for messages.
    pub fn message(self) -> &'static str {
        match self {
            TlsReason::NoKey => "no key for this client random",
            TlsReason::RsaKeyMismatch => "RSA key does not match the certificate",
            TlsReason::EphemeralKeyExchange => "ephemeral key exchange with only an RSA key",
            TlsReason::HandshakeNotCaptured => "handshake not in the capture",
            TlsReason::HandshakeTooLarge => "a handshake message over 256 KiB",
            TlsReason::RecordLost => "record lost to a capture gap",
            TlsReason::RecordAuthFailed => "record failed authentication",
            TlsReason::UnsupportedCipher => "cipher suite or version not supported for decryption",
        }
    }
}

impl std::fmt::Display for TlsReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// A TLS alert as seen on the wire (or after decryption).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsAlert {
    /// Level (1 warning, 2 fatal) and description; `None` for an alert record that could not
    /// be decrypted.
    pub content: Option<(u8, u8)>,
    /// Who sent it.
    pub from: Dir,
    /// The frame that completed its record.
    pub frame: FrameRef,
}

/// What is known of one connection's TLS when it ends: for the report and for the rules that
/// judge the TLS itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// The negotiated version (`0x0304` for TLS 1.3); `None` without a ServerHello.
    pub version: Option<u16>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<u16>,
    /// The ClientHello's server name.
    pub sni: Option<String>,
    /// Records of the connection were decrypted (all of them unless `reason` says why not).
    pub decrypted: bool,
    /// Why nothing (or not everything) was decrypted.
    pub reason: Option<TlsReason>,
    /// The first alert other than close_notify.
    pub alert: Option<TlsAlert>,
    /// The handshake finished: both Finished messages were seen (decrypted, or as the first
    /// protected handshake record of each side), or application data was.
    pub finished: bool,
    pub client_hello_frame: Option<FrameRef>,
    pub server_hello_frame: Option<FrameRef>,
    /// The frame of the server's Certificate message (for TLS 1.3 only once decrypted).
    pub certificate_frame: Option<FrameRef>,
    /// Capture time of the handshake: of the server's Certificate, else of its ServerHello.
    pub handshake_ts: Option<Nanos>,
    /// The server's leaf certificate, DER (at most 64 KiB; for TLS 1.3 only once decrypted).
    pub server_certificate: Option<Vec<u8>>,
    /// A resumed session (TLS 1.2 abbreviated handshake, TLS 1.3 PSK).
    pub resumed: bool,
    /// Records decrypted, both directions.
    pub records_decrypted: u64,
}

/// The name of a protocol version (`TLS 1.3`).
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".to_owned(),
        0x0301 => "TLS 1.0".to_owned(),
        0x0302 => "TLS 1.1".to_owned(),
        0x0303 => "TLS 1.2".to_owned(),
        0x0304 => "TLS 1.3".to_owned(),
        v => format!("0x{v:04x}"),
    }
}

impl TlsSummary {
    /// `TLS 1.3`, or `TLS` when the version is unknown.
    pub fn version_name(&self) -> String {
        self.version.map_or_else(|| "TLS".to_owned(), version_name)
    }

    /// The IANA name of the cipher suite (or its number in hex when unknown).
    pub fn cipher_suite_name(&self) -> Option<String> {
        self.cipher_suite
            .map(|id| suites::name(id).map_or_else(|| format!("0x{id:04x}"), str::to_owned))
    }

    /// Whether the connection carried protected records (so it counts as decrypted or not):
    /// false for one that ended in its plaintext handshake.
    pub fn had_protected_records(&self) -> bool {
        self.decrypted || self.reason.is_some()
    }

    /// An alert ended the handshake before it finished.
    pub fn handshake_failed(&self) -> bool {
        self.alert.is_some() && !self.finished
    }

    /// What became of the connection's protected records.
    pub fn outcome(&self) -> TlsOutcome {
        if !self.had_protected_records() || self.handshake_failed() {
            TlsOutcome::HandshakeOnly
        } else if let Some(reason) = self.reason {
            TlsOutcome::Undecrypted {
                reason,
                in_part: self.decrypted,
            }
        } else {
            TlsOutcome::Decrypted
        }
    }
}

/// What became of a TLS connection's protected records, for counting and reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsOutcome {
    /// Every record was decrypted.
    Decrypted,
    /// Some records (`in_part`: the later ones) or all were not decrypted, for `reason`.
    Undecrypted { reason: TlsReason, in_part: bool },
    /// Nothing to decrypt: the connection ended in its handshake (an alert, or no protected
    /// record at all).
    HandshakeOnly,
}

/// What the TLS stage hands on.
#[derive(Debug)]
pub enum TlsEvent<'a> {
    /// An event for the HTTP stage: clear connections' events unchanged; for TLS connections
    /// the decrypted application bytes, gaps in them, FIN, RST and `Closed`.
    Stream(StreamEvent<'a>),
    /// What is known of a TLS connection's TLS; comes just before its `Closed`.
    Summary {
        conn: ConnId,
        summary: Box<TlsSummary>,
    },
}

/// Counters of the TLS stage over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsStats {
    /// Connections recognized as TLS.
    pub connections: u64,
    /// Of those, connections whose records were decrypted.
    pub decrypted: u64,
    /// Records decrypted.
    pub records_decrypted: u64,
    /// Key log lines read from the capture (Decryption Secrets Blocks).
    pub embedded_keylog: KeyLogStats,
}

/// A connection as the stage tracks it.
enum Track {
    /// Opened, no bytes yet: the server's address, for RSA keys bound to it.
    Undecided(std::net::SocketAddr),
    Clear,
    Tls(Box<ConnTls>),
}

/// Whether the first bytes of a connection are a TLS record header: handshake (with or without
/// its start), or change_cipher_spec, alert or application data of a connection picked up
/// after its handshake.
fn starts_tls(bytes: &[u8]) -> bool {
    match bytes {
        [0x16] | [0x16, 0x03] => true,
        [t, 0x03, minor, ..] => (0x14..=0x17).contains(t) && *minor <= 0x04,
        _ => false,
    }
}

/// The TLS stage: follows TLS connections, decrypts what it has keys for, and passes clear
/// connections through.
pub struct TlsLayer {
    keys: Arc<TlsKeys>,
    embedded: KeyLog,
    sessions: SessionCache,
    conns: FxHashMap<ConnId, Track>,
    stats: TlsStats,
}

impl TlsLayer {
    /// A stage with these keys (shared, never printed).
    pub fn new(keys: Arc<TlsKeys>) -> Self {
        TlsLayer {
            keys,
            embedded: KeyLog::new(),
            sessions: SessionCache::default(),
            conns: FxHashMap::default(),
            stats: TlsStats::default(),
        }
    }

    /// Adds key log text found in the capture (a pcapng Decryption Secrets Block); it applies
    /// to connections whose handshake comes later.
    pub fn add_embedded_keylog(&mut self, text: &[u8]) {
        let stats = self.embedded.add_text(text);
        self.stats.embedded_keylog += stats;
    }

    /// Counters so far.
    pub fn stats(&self) -> &TlsStats {
        &self.stats
    }

    /// Consumes one reassembler event; what it makes ready goes to `out`.
    pub fn push(&mut self, ev: StreamEvent<'_>, out: &mut impl FnMut(TlsEvent<'_>)) {
        match ev {
            StreamEvent::Data {
                conn,
                dir,
                frame,
                ts,
                bytes,
            } => {
                let (stats, with_rsa) = (&mut self.stats, !self.keys.rsa.is_empty());
                let track =
                    self.conns
                        .entry(conn)
                        .or_insert(Track::Undecided(std::net::SocketAddr::from((
                            [0, 0, 0, 0],
                            0,
                        ))));
                if let Track::Undecided(server) = *track {
                    *track = if starts_tls(bytes) {
                        stats.connections += 1;
                        let mut tls = ConnTls::new(with_rsa);
                        tls.set_server(server);
                        Track::Tls(Box::new(tls))
                    } else {
                        Track::Clear
                    };
                }
                match track {
                    Track::Clear | Track::Undecided(_) => out(TlsEvent::Stream(ev)),
                    Track::Tls(tls) => {
                        tls.set_position(frame, ts);
                        let mut shared = Shared {
                            keys: &self.keys,
                            embedded: &self.embedded,
                            sessions: &mut self.sessions,
                        };
                        let decrypted = tls.on_data(dir, bytes, &mut shared, &mut |plain| {
                            out(TlsEvent::Stream(StreamEvent::Data {
                                conn,
                                dir,
                                frame,
                                ts,
                                bytes: plain,
                            }))
                        });
                        self.stats.records_decrypted += decrypted;
                    }
                }
            }
            StreamEvent::Gap { conn, dir, len, .. } => match self.conns.get_mut(&conn) {
                Some(Track::Tls(tls)) => {
                    // The application bytes after a lost record are lost too: HTTP hears of
                    // a gap only where it was given bytes.
                    if tls.on_gap(dir, len) {
                        out(TlsEvent::Stream(ev));
                    }
                }
                _ => out(TlsEvent::Stream(ev)),
            },
            StreamEvent::Closed { info, .. } => {
                if let Some(Track::Tls(tls)) = self.conns.remove(&info.id) {
                    let summary = tls.summary();
                    if summary.decrypted {
                        self.stats.decrypted += 1;
                    }
                    out(TlsEvent::Summary {
                        conn: info.id,
                        summary: Box::new(summary),
                    });
                }
                out(TlsEvent::Stream(ev));
            }
            StreamEvent::Open(info) => {
                self.conns.insert(info.id, Track::Undecided(info.server));
                out(TlsEvent::Stream(ev));
            }
            StreamEvent::Fin { .. } | StreamEvent::Rst { .. } => out(TlsEvent::Stream(ev)),
        }
    }

    /// Connections tracked now (clear ones included, once they carried data).
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests;
