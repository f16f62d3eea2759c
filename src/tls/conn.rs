//! One TLS connection: record framing per direction, the handshake messages, the key schedule
//! of its version, and record decryption with per-direction sequence numbers.

use super::crypto::{HashAlg, RecordCipher, prf};
use super::handshake::{self as hs, ClientHello, ServerHello};
use super::keys::{KeyLog, Secret, TlsKeys};
use super::suites::{self, Suite};
use super::{TlsAlert, TlsReason, TlsSummary};
use crate::types::{Dir, FrameRef, Nanos};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Largest record body (TLS 1.2 ciphertext: 2^14 + 2048); a longer length means the stream is
/// not (or no longer) TLS.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Largest handshake message reassembled (certificate chains included).
const MAX_HANDSHAKE_MESSAGE: usize = 256 << 10;
/// Largest handshake transcript kept for the extended master secret.
const MAX_TRANSCRIPT: usize = 256 << 10;
/// Master secrets remembered for resumption (by session id and by ticket).
const MAX_SESSIONS: usize = 4096;
/// Tickets of one connection remembered.
const MAX_TICKETS_PER_CONN: usize = 4;

const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

/// TLS 1.2 master secrets by session id or ticket, oldest dropped first beyond the bound.
#[derive(Default)]
pub(super) struct SessionCache {
    by_id: FxHashMap<Vec<u8>, Secret>,
    order: VecDeque<Vec<u8>>,
}

impl SessionCache {
    fn remember(&mut self, id: &[u8], master: &Secret) {
        if id.is_empty() || self.by_id.contains_key(id) {
            return;
        }
        if self.order.len() >= MAX_SESSIONS
            && let Some(old) = self.order.pop_front()
        {
            self.by_id.remove(&old);
        }
        self.by_id.insert(id.to_vec(), master.clone());
        self.order.push_back(id.to_vec());
    }

    fn get(&self, id: &[u8]) -> Option<&Secret> {
        self.by_id.get(id)
    }
}

/// What every connection reads or updates while handling its records.
pub(super) struct Shared<'a> {
    pub keys: &'a TlsKeys,
    pub embedded: &'a KeyLog,
    pub sessions: &'a mut SessionCache,
}

impl Shared<'_> {
    fn master_secret(&self, cr: &[u8; 32]) -> Option<&Secret> {
        self.keys
            .keylog
            .master_secret(cr)
            .or_else(|| self.embedded.master_secret(cr))
    }

    fn tls13(&self, cr: &[u8; 32]) -> Option<&super::keys::Tls13Secrets> {
        self.keys
            .keylog
            .tls13(cr)
            .or_else(|| self.embedded.tls13(cr))
    }
}

/// One direction's records.
#[derive(Default)]
struct Direction {
    /// Bytes of a record not complete yet.
    buf: Vec<u8>,
    /// Handshake bytes not forming a complete message yet.
    handshake: Vec<u8>,
    /// Records of this direction are protected (after its ChangeCipherSpec in TLS 1.2, after
    /// the ServerHello in TLS 1.3).
    protected: bool,
    cipher: Option<RecordCipher>,
    /// The TLS 1.2 cipher waiting for this direction's ChangeCipherSpec.
    next_cipher: Option<RecordCipher>,
    seq: u64,
    /// TLS 1.3: the traffic secret in use (for KeyUpdate), once on application keys.
    traffic_secret: Option<Secret>,
    /// TLS 1.3: the application secret to switch to after this direction's Finished.
    app_secret: Option<Secret>,
    /// Decryption of this direction ended (the reason is the connection's); its records are
    /// still framed, to see their types (see [`ConnTls::observe_bytes`]).
    stopped: bool,
    /// Once stopped: body bytes of the current record still to pass over.
    skip: usize,
    /// Record framing was lost (a capture gap, or bytes that are no record header): nothing
    /// more of this direction is read.
    unframed: bool,
    /// Application bytes of this direction were handed on.
    delivered: bool,
    /// This direction's Finished was seen: decrypted, or, without keys, as its first protected
    /// handshake record (TLS 1.2) or any protected record (TLS 1.3).
    finished: bool,
    /// An application-data record was seen (decrypted, or TLS 1.2 without keys).
    application_data: bool,
}

/// What a handshake message asks for after its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Nothing,
    /// TLS 1.3 Finished: switch this direction to its application keys.
    ApplicationKeys,
    /// TLS 1.3 KeyUpdate: next generation of this direction's traffic secret.
    KeyUpdate,
}

/// One TLS connection.
pub(super) struct ConnTls {
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    suite: Option<Suite>,
    tls13: bool,
    dirs: [Direction; 2],
    /// Handshake messages from ClientHello through ClientKeyExchange (RSA with EMS).
    transcript: Vec<u8>,
    transcript_done: bool,
    keep_transcript: bool,
    encrypted_pms: Option<Vec<u8>>,
    master: Option<Secret>,
    tickets: Vec<Vec<u8>>,
    /// The RSA keys given for this server do not match its certificate.
    rsa_mismatch: bool,
    certificate: Option<Vec<u8>>,
    reason: Option<TlsReason>,
    alert: Option<TlsAlert>,
    records_decrypted: u64,
    resumed: bool,
    sni: Option<String>,
    /// The server address, for RSA keys bound to one; learnt from the caller.
    server: Option<std::net::SocketAddr>,
    /// The frame and time of the bytes being handled (see [`ConnTls::set_position`]).
    position: (FrameRef, Nanos),
    client_hello_frame: Option<FrameRef>,
    server_hello_at: Option<(FrameRef, Nanos)>,
    certificate_at: Option<(FrameRef, Nanos)>,
}

fn index(dir: Dir) -> usize {
    dir.index()
}

impl ConnTls {
    /// A connection; `keep_transcript` when RSA keys were given (the extended master secret
    /// of the RSA key exchange needs the handshake transcript).
    pub fn new(keep_transcript: bool) -> Self {
        ConnTls {
            client_hello: None,
            server_hello: None,
            suite: None,
            tls13: false,
            dirs: Default::default(),
            transcript: Vec::new(),
            transcript_done: false,
            keep_transcript,
            encrypted_pms: None,
            master: None,
            tickets: Vec::new(),
            rsa_mismatch: false,
            certificate: None,
            reason: None,
            alert: None,
            records_decrypted: 0,
            resumed: false,
            sni: None,
            server: None,
            position: (FrameRef::new(0, 0), 0),
            client_hello_frame: None,
            server_hello_at: None,
            certificate_at: None,
        }
    }

    /// The frame (and its time) that completed the bytes of the next [`ConnTls::on_data`].
    pub fn set_position(&mut self, frame: FrameRef, ts: Nanos) {
        self.position = (frame, ts);
    }

    /// Sets the server's address (RSA keys may be bound to it).
    pub fn set_server(&mut self, server: std::net::SocketAddr) {
        self.server = Some(server);
    }

    pub fn summary(&self) -> TlsSummary {
        TlsSummary {
            version: self.server_hello.as_ref().map(|h| h.version),
            cipher_suite: self.server_hello.as_ref().map(|h| h.cipher_suite),
            sni: self.sni.clone(),
            decrypted: self.records_decrypted > 0,
            reason: self.reason,
            alert: self.alert,
            server_certificate: self.certificate.clone(),
            resumed: self.resumed,
            records_decrypted: self.records_decrypted,
            finished: self.dirs.iter().all(|d| d.finished)
                || self.dirs.iter().any(|d| d.application_data),
            client_hello_frame: self.client_hello_frame,
            server_hello_frame: self.server_hello_at.map(|(frame, _)| frame),
            certificate_frame: self.certificate_at.map(|(frame, _)| frame),
            handshake_ts: self
                .certificate_at
                .or(self.server_hello_at)
                .map(|(_, ts)| ts),
        }
    }

    /// Ends decryption of one direction (or both) for `reason` (the first reason is kept).
    /// The records still come framed: a record begun is passed over.
    fn stop(&mut self, dir: Option<Dir>, reason: TlsReason) {
        self.reason.get_or_insert(reason);
        for d in [Dir::ToServer, Dir::ToClient] {
            if dir.is_some_and(|dir| dir != d) {
                continue;
            }
            let state = &mut self.dirs[index(d)];
            state.stopped = true;
            state.handshake = Vec::new();
            state.cipher = None;
            state.next_cipher = None;
            let pending = std::mem::take(&mut state.buf);
            self.observe_bytes(d, &pending);
        }
    }

    /// A capture gap in `dir`: its records cannot be framed or decrypted any more. Returns
    /// whether HTTP should hear of it (application bytes of that direction went on before).
    pub fn on_gap(&mut self, dir: Dir, _len: u64) -> bool {
        let d = &mut self.dirs[index(dir)];
        let delivered = d.delivered;
        d.unframed = true;
        if !d.stopped {
            self.stop(Some(dir), TlsReason::RecordLost);
        }
        delivered
    }

    /// Bytes of a direction whose decryption stopped: the records are framed (a header, and
    /// an alert's two bytes, at most 7 bytes kept), their types noted, their bodies passed
    /// over.
    fn observe_bytes(&mut self, dir: Dir, mut bytes: &[u8]) {
        let i = index(dir);
        while !bytes.is_empty() && !self.dirs[i].unframed {
            let d = &mut self.dirs[i];
            if d.skip > 0 {
                let n = d.skip.min(bytes.len());
                d.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = 5usize.saturating_sub(d.buf.len()).min(bytes.len());
            d.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            let [ty, major, _, high, low, ..] = d.buf[..] else {
                break;
            };
            let len = usize::from(u16::from_be_bytes([high, low]));
            if !(CHANGE_CIPHER_SPEC..=24).contains(&ty) || major != 3 || len > MAX_RECORD {
                d.unframed = true;
                d.buf = Vec::new();
                break;
            }
            // An alert's level and description are read; other bodies are skipped.
            let peek = if ty == ALERT { len.min(2) } else { 0 };
            let n = (5 + peek - d.buf.len()).min(bytes.len());
            d.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if d.buf.len() < 5 + peek {
                break;
            }
            let record = std::mem::take(&mut d.buf);
            d.skip = len - peek;
            self.observe_record(dir, ty, &record[5..]);
        }
    }

    /// A record of a direction whose decryption stopped, by its type (and an alert's first
    /// bytes): what it says of the handshake's progress.
    fn observe_record(&mut self, dir: Dir, ty: u8, head: &[u8]) {
        let tls13 = self.tls13;
        let d = &mut self.dirs[index(dir)];
        match ty {
            CHANGE_CIPHER_SPEC if !tls13 => d.protected = true,
            // TLS 1.3 protects every record as application data: an alert record is clear.
            ALERT if d.protected && !tls13 => self.on_encrypted_alert(dir),
            ALERT => self.on_alert(dir, head),
            HANDSHAKE if d.protected && !tls13 => d.finished = true,
            APPLICATION_DATA if tls13 => d.finished = true,
            APPLICATION_DATA => d.application_data = true,
            _ => {}
        }
    }

    /// Bytes of one direction, in stream order; each decrypted application-data record goes to
    /// `emit`. Returns the records decrypted.
    pub fn on_data(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        shared: &mut Shared<'_>,
        emit: &mut impl FnMut(&[u8]),
    ) -> u64 {
        let i = index(dir);
        if self.dirs[i].stopped {
            self.observe_bytes(dir, bytes);
            return 0;
        }
        let before = self.records_decrypted;
        let mut buf = std::mem::take(&mut self.dirs[i].buf);
        buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(header) = buf.get(at..at + 5) {
            let header: [u8; 5] = [header[0], header[1], header[2], header[3], header[4]];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if !(CHANGE_CIPHER_SPEC..=24).contains(&header[0]) || header[1] != 3 || len > MAX_RECORD
            {
                // Not a record header: the stream is not (or no longer) TLS as framed.
                let reason = if self.dirs[i].protected {
                    TlsReason::RecordAuthFailed
                } else {
                    TlsReason::HandshakeNotCaptured
                };
                self.dirs[i].unframed = true;
                self.stop(Some(dir), reason);
                return self.records_decrypted - before;
            }
            let end = at + 5 + len;
            if buf.len() < end {
                break;
            }
            self.on_record(dir, header, &mut buf[at + 5..end], shared, emit);
            at = end;
            if self.dirs[i].stopped {
                // The rest of the bytes are framed only.
                self.observe_bytes(dir, &buf[at..]);
                return self.records_decrypted - before;
            }
        }
        buf.drain(..at);
        self.dirs[i].buf = buf;
        self.records_decrypted - before
    }

    fn on_record(
        &mut self,
        dir: Dir,
        header: [u8; 5],
        body: &mut [u8],
        shared: &mut Shared<'_>,
        emit: &mut impl FnMut(&[u8]),
    ) {
        let i = index(dir);
        let ty = header[0];
        if ty == CHANGE_CIPHER_SPEC {
            if !self.tls13 {
                self.on_change_cipher_spec(dir, shared);
            }
            return;
        }
        // TLS 1.3 protects every record as application data: any other is clear.
        if !self.dirs[i].protected || (self.tls13 && ty != APPLICATION_DATA) {
            match ty {
                HANDSHAKE if !self.dirs[i].protected => {
                    self.on_handshake_bytes(dir, body, shared);
                }
                ALERT => self.on_alert(dir, body),
                APPLICATION_DATA => {
                    self.dirs[i].application_data = true;
                    self.stop(None, TlsReason::HandshakeNotCaptured);
                }
                _ => {}
            }
            return;
        }
        let d = &mut self.dirs[i];
        let Some(cipher) = &d.cipher else {
            // Protected, and no key: the reason was given when the keys were looked for.
            self.stop(Some(dir), TlsReason::NoKey);
            self.observe_record(dir, ty, body.get(..2).unwrap_or_default());
            return;
        };
        let Some(opened) = cipher.open(d.seq, header, body) else {
            let reason = if self.rsa_mismatch {
                TlsReason::RsaKeyMismatch
            } else {
                TlsReason::RecordAuthFailed
            };
            self.stop(Some(dir), reason);
            self.observe_record(dir, ty, body.get(..2).unwrap_or_default());
            return;
        };
        d.seq += 1;
        self.records_decrypted += 1;
        if self.records_decrypted == 1 {
            self.remember_session(shared);
        }
        let plain = &body[opened.plain];
        let mut after = After::Nothing;
        match opened.content_type {
            APPLICATION_DATA if !plain.is_empty() => {
                self.dirs[i].delivered = true;
                self.dirs[i].application_data = true;
                emit(plain);
            }
            HANDSHAKE => after = self.on_handshake_bytes(dir, plain, shared),
            ALERT => self.on_alert(dir, plain),
            _ => {}
        }
        match after {
            After::Nothing => {}
            After::ApplicationKeys => {
                let secret = self.dirs[i].app_secret.take();
                self.install_tls13(dir, secret);
            }
            After::KeyUpdate => {
                let next = self.dirs[i].traffic_secret.as_ref().and_then(|s| {
                    let hash = self.suite?.hash;
                    let next = super::crypto::expand_label(
                        hash,
                        s.as_bytes(),
                        "traffic upd",
                        b"",
                        hash.len(),
                    )?;
                    Secret::new(&next)
                });
                self.install_tls13(dir, next);
            }
        }
    }

    /// Switches a TLS 1.3 direction to a new traffic secret (sequence back to 0).
    fn install_tls13(&mut self, dir: Dir, secret: Option<Secret>) {
        let cipher = match (&secret, self.suite) {
            (Some(s), Some(suite)) => RecordCipher::tls13(suite.bulk, suite.hash, s.as_bytes()),
            _ => None,
        };
        let d = &mut self.dirs[index(dir)];
        d.seq = 0;
        d.traffic_secret = secret;
        d.cipher = cipher;
        if d.cipher.is_none() {
            self.stop(Some(dir), TlsReason::NoKey);
        }
    }

    fn on_alert(&mut self, dir: Dir, body: &[u8]) {
        if let [level, description, ..] = *body
            && description != 0
            && self.alert.is_none()
        {
            self.alert = Some(TlsAlert {
                content: Some((level, description)),
                from: dir,
                frame: self.position.0,
            });
        }
    }

    /// A TLS 1.2 alert record that could not be decrypted. One before the handshake finished
    /// is kept (after it, it is most likely the close_notify).
    fn on_encrypted_alert(&mut self, dir: Dir) {
        let finished =
            self.dirs.iter().all(|d| d.finished) || self.dirs.iter().any(|d| d.application_data);
        if !finished && self.alert.is_none() {
            self.alert = Some(TlsAlert {
                content: None,
                from: dir,
                frame: self.position.0,
            });
        }
    }

    /// Handshake bytes of one record (plaintext, or decrypted): complete messages are handled
    /// in order; the rest waits for the next record.
    fn on_handshake_bytes(&mut self, dir: Dir, bytes: &[u8], shared: &mut Shared<'_>) -> After {
        let i = index(dir);
        let mut pending = std::mem::take(&mut self.dirs[i].handshake);
        let owned;
        let data: &[u8] = if pending.is_empty() {
            bytes
        } else {
            pending.extend_from_slice(bytes);
            owned = std::mem::take(&mut pending);
            &owned
        };
        let mut after = After::Nothing;
        let used = hs::split_messages(data, |ty, msg| {
            let a = self.on_handshake_message(dir, ty, msg, shared);
            if a != After::Nothing {
                after = a;
            }
        });
        let rest = &data[used..];
        if rest.len() > MAX_HANDSHAKE_MESSAGE {
            self.stop(Some(dir), TlsReason::HandshakeTooLarge);
            return After::Nothing;
        }
        if !self.dirs[i].stopped {
            self.dirs[i].handshake = rest.to_vec();
        }
        after
    }

    fn note_transcript(&mut self, msg: &[u8]) {
        if self.keep_transcript && !self.transcript_done {
            if self.transcript.len() + msg.len() > MAX_TRANSCRIPT {
                self.keep_transcript = false;
                self.transcript = Vec::new();
            } else {
                self.transcript.extend_from_slice(msg);
            }
        }
    }

    fn on_handshake_message(
        &mut self,
        dir: Dir,
        ty: u8,
        msg: &[u8],
        shared: &mut Shared<'_>,
    ) -> After {
        let body = &msg[4..];
        let from_server = dir == Dir::ToClient;
        match (ty, from_server) {
            (hs::CLIENT_HELLO, false) => {
                if let Some(hello) = hs::client_hello(body) {
                    if self.client_hello.is_none() {
                        self.sni = hello.sni.clone();
                        self.client_hello_frame = Some(self.position.0);
                        self.note_transcript(msg);
                    }
                    self.client_hello.get_or_insert(hello);
                }
            }
            (hs::SERVER_HELLO, true) => {
                if let Some(hello) = hs::server_hello(body)
                    && !hello.retry
                {
                    self.note_transcript(msg);
                    self.on_server_hello(hello, shared);
                }
            }
            (hs::CERTIFICATE, true) => {
                if self.certificate.is_none() {
                    self.certificate = hs::leaf_certificate(body, self.tls13);
                    self.certificate_at = Some(self.position);
                    self.check_rsa_keys(shared);
                }
                self.note_transcript(msg);
            }
            (hs::SERVER_HELLO_DONE, true) | (12 | 13 | 22, true) => self.note_transcript(msg),
            (hs::CERTIFICATE, false) => self.note_transcript(msg),
            (hs::CLIENT_KEY_EXCHANGE, false) => {
                self.note_transcript(msg);
                self.transcript_done = true;
                if self.suite.is_some_and(|s| s.rsa_key_exchange) {
                    self.encrypted_pms = hs::rsa_encrypted_pms(body).map(<[u8]>::to_vec);
                }
            }
            (hs::NEW_SESSION_TICKET, true) if !self.tls13 => {
                if let Some(ticket) = hs::session_ticket(body)
                    && self.tickets.len() < MAX_TICKETS_PER_CONN
                {
                    self.tickets.push(ticket.to_vec());
                    if self.records_decrypted > 0 {
                        self.remember_session(shared);
                    }
                }
            }
            (hs::FINISHED, _) => {
                let d = &mut self.dirs[index(dir)];
                d.finished = true;
                if self.tls13 && d.traffic_secret.is_none() {
                    return After::ApplicationKeys;
                }
            }
            (hs::KEY_UPDATE, _) if self.tls13 => return After::KeyUpdate,
            _ => {}
        }
        After::Nothing
    }

    fn on_server_hello(&mut self, hello: ServerHello, shared: &mut Shared<'_>) {
        if self.server_hello.is_some() {
            return;
        }
        self.server_hello_at = Some(self.position);
        self.suite = suites::suite(hello.cipher_suite);
        self.tls13 = hello.version == 0x0304;
        let client = self.client_hello.as_ref();
        self.resumed = if self.tls13 {
            hello.psk
        } else {
            client.is_some_and(|c| !c.session_id.is_empty() && c.session_id == hello.session_id)
        };
        let random = client.map(|c| c.random);
        self.server_hello = Some(hello);
        if !self.tls13 {
            return;
        }
        // TLS 1.3: everything after the ServerHello is protected, under the handshake keys.
        for d in &mut self.dirs {
            d.protected = true;
        }
        let Some(random) = random else {
            self.stop(None, TlsReason::HandshakeNotCaptured);
            return;
        };
        let Some(suite) = self.suite else {
            self.stop(None, TlsReason::UnsupportedCipher);
            return;
        };
        let Some(secrets) = shared.tls13(&random) else {
            // TLS 1.3 key exchange is always ephemeral: an RSA key for the server is no use.
            let with_rsa = self
                .server
                .is_some_and(|s| shared.keys.rsa_for(s).next().is_some());
            let reason = if with_rsa {
                TlsReason::EphemeralKeyExchange
            } else {
                TlsReason::NoKey
            };
            self.stop(None, reason);
            return;
        };
        let pairs = [
            (
                Dir::ToServer,
                &secrets.client_handshake,
                &secrets.client_traffic,
            ),
            (
                Dir::ToClient,
                &secrets.server_handshake,
                &secrets.server_traffic,
            ),
        ];
        for (dir, handshake, traffic) in pairs {
            let d = &mut self.dirs[index(dir)];
            d.app_secret = traffic.clone();
            d.cipher = handshake
                .as_ref()
                .and_then(|s| RecordCipher::tls13(suite.bulk, suite.hash, s.as_bytes()));
            if d.cipher.is_none() {
                self.stop(Some(dir), TlsReason::NoKey);
            }
        }
    }

    /// Compares the server's certificate with the RSA keys given for the server.
    fn check_rsa_keys(&mut self, shared: &Shared<'_>) {
        let (Some(cert), Some(server)) = (&self.certificate, self.server) else {
            return;
        };
        let mut keys = shared.keys.rsa_for(server).peekable();
        if keys.peek().is_none() {
            return;
        }
        let Some(spki) = certificate_spki(cert) else {
            return;
        };
        self.rsa_mismatch = !keys.any(|k| k.matches_spki(&spki));
    }

    /// TLS 1.2 ChangeCipherSpec: this direction's records are protected from now on.
    fn on_change_cipher_spec(&mut self, dir: Dir, shared: &mut Shared<'_>) {
        if self
            .dirs
            .iter()
            .all(|d| d.next_cipher.is_none() && d.cipher.is_none())
            && self.reason.is_none()
        {
            match self.tls12_ciphers(shared) {
                Ok([client, server]) => {
                    self.dirs[0].next_cipher = Some(client);
                    self.dirs[1].next_cipher = Some(server);
                }
                Err(reason) => {
                    self.dirs[index(dir)].protected = true;
                    self.stop(None, reason);
                    return;
                }
            }
        }
        let d = &mut self.dirs[index(dir)];
        d.protected = true;
        d.seq = 0;
        d.cipher = d.next_cipher.take();
        if d.cipher.is_none() {
            let reason = self.reason.unwrap_or(TlsReason::NoKey);
            self.stop(Some(dir), reason);
        }
    }

    /// The TLS 1.2 master secret: from a key log, a remembered session, or the RSA key.
    fn tls12_master(&mut self, shared: &mut Shared<'_>) -> Result<Secret, TlsReason> {
        let (Some(client), Some(server)) = (&self.client_hello, &self.server_hello) else {
            return Err(TlsReason::HandshakeNotCaptured);
        };
        if let Some(ms) = shared.master_secret(&client.random) {
            return Ok(ms.clone());
        }
        if self.resumed {
            if let Some(ms) = shared.sessions.get(&server.session_id) {
                return Ok(ms.clone());
            }
            if let Some(ms) = client
                .ticket
                .as_deref()
                .and_then(|t| shared.sessions.get(t))
            {
                return Ok(ms.clone());
            }
            return Err(TlsReason::NoKey);
        }
        let suite = self.suite.ok_or(TlsReason::UnsupportedCipher)?;
        let server_addr = self.server;
        let has_rsa = server_addr.is_some_and(|s| shared.keys.rsa_for(s).next().is_some());
        if !suite.rsa_key_exchange {
            return Err(if has_rsa {
                TlsReason::EphemeralKeyExchange
            } else {
                TlsReason::NoKey
            });
        }
        if !has_rsa {
            return Err(TlsReason::NoKey);
        }
        if self.rsa_mismatch {
            return Err(TlsReason::RsaKeyMismatch);
        }
        let encrypted = self
            .encrypted_pms
            .as_deref()
            .ok_or(TlsReason::HandshakeNotCaptured)?;
        let cert_spki = self.certificate.as_deref().and_then(certificate_spki);
        let version = client.version.to_be_bytes();
        let server_addr = server_addr.ok_or(TlsReason::NoKey)?;
        let pms = shared
            .keys
            .rsa_for(server_addr)
            .filter(|k| cert_spki.as_deref().is_none_or(|spki| k.matches_spki(spki)))
            .filter_map(|k| k.decrypt_pms(encrypted))
            .find(|pms| pms.len() == 48 && pms[..2] == version)
            .ok_or(TlsReason::RsaKeyMismatch)?;
        let mut ms = [0u8; 48];
        if server.ems {
            if !self.keep_transcript || !self.transcript_done {
                return Err(TlsReason::HandshakeNotCaptured);
            }
            let session_hash = suite.hash.digest(&self.transcript);
            prf(
                suite.hash,
                &pms,
                b"extended master secret",
                &session_hash,
                &mut ms,
            );
        } else {
            let seed = [client.random, server.random].concat();
            prf(suite.hash, &pms, b"master secret", &seed, &mut ms);
        }
        Secret::new(&ms).ok_or(TlsReason::NoKey)
    }

    /// Both directions' TLS 1.2 record protection, client's first.
    fn tls12_ciphers(&mut self, shared: &mut Shared<'_>) -> Result<[RecordCipher; 2], TlsReason> {
        let server = self
            .server_hello
            .as_ref()
            .ok_or(TlsReason::HandshakeNotCaptured)?;
        if server.version != 0x0303 {
            return Err(TlsReason::UnsupportedCipher);
        }
        let suite = self.suite.ok_or(TlsReason::UnsupportedCipher)?;
        let master = self.tls12_master(shared)?;
        let (Some(client), Some(server)) = (&self.client_hello, &self.server_hello) else {
            return Err(TlsReason::HandshakeNotCaptured);
        };
        let mac_len = suite.mac.map_or(0, HashAlg::len);
        let key_len = suite.bulk.key_len();
        let iv_len = suite.bulk.tls12_iv_len();
        let mut block = vec![0u8; 2 * (mac_len + key_len + iv_len)];
        let seed = [server.random, client.random].concat();
        prf(
            suite.hash,
            master.as_bytes(),
            b"key expansion",
            &seed,
            &mut block,
        );
        let (client_mac, rest) = block.split_at(mac_len);
        let (server_mac, rest) = rest.split_at(mac_len);
        let (client_key, rest) = rest.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(iv_len);
        let etm = server.etm && client.offers_etm && suite.mac.is_some();
        let make = |mac_key, key, iv| {
            RecordCipher::tls12(suite.bulk, suite.mac, mac_key, key, iv, etm)
                .ok_or(TlsReason::UnsupportedCipher)
        };
        let ciphers = [
            make(client_mac, client_key, client_iv)?,
            make(server_mac, server_key, server_iv)?,
        ];
        self.master = Some(master);
        Ok(ciphers)
    }

    /// Remembers the master secret for resumption, once a record proved it.
    fn remember_session(&mut self, shared: &mut Shared<'_>) {
        let (Some(master), Some(server)) = (&self.master, &self.server_hello) else {
            return;
        };
        shared.sessions.remember(&server.session_id, master);
        for ticket in &self.tickets {
            shared.sessions.remember(ticket, master);
        }
    }
}

/// The SubjectPublicKeyInfo (DER) of a certificate.
fn certificate_spki(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.public_key().raw.to_vec())
}
