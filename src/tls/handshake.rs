//! The handshake messages decryption needs, read field by field with every length checked:
//! ClientHello, ServerHello, Certificate (TLS 1.2 and 1.3 layouts), ClientKeyExchange (RSA)
//! and the TLS 1.2 NewSessionTicket.

/// Handshake message types used here.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const CERTIFICATE: u8 = 11;
pub const SERVER_HELLO_DONE: u8 = 14;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;

const EXT_SERVER_NAME: u16 = 0;
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Longest server name kept.
const MAX_SNI: usize = 255;
/// Largest session ticket kept (to recognize its resumption).
pub const MAX_TICKET: usize = 4096;
/// Largest certificate kept.
pub const MAX_CERTIFICATE: usize = 64 << 10;

/// The ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A bounds-checked reader over a message body.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Cursor { rest }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
}

/// Calls `f(type, data)` for each extension of an extensions block (stops at a malformed one).
fn for_each_extension<'a>(block: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) {
    let mut c = Cursor::new(block);
    while !c.rest.is_empty() {
        let (Some(ty), Some(data)) = (c.u16(), c.vec16()) else {
            return;
        };
        f(ty, data);
    }
}

/// What decryption uses of a ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub sni: Option<String>,
    pub ticket: Option<Vec<u8>>,
    pub offers_ems: bool,
    pub offers_etm: bool,
}

/// Reads a ClientHello body (after the 4-byte message header).
pub fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor::new(body);
    let version = c.u16()?;
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    let session_id = c.vec8()?;
    if session_id.len() > 32 {
        return None;
    }
    c.vec16()?; // cipher suites
    c.vec8()?; // compression methods
    let mut hello = ClientHello {
        version,
        random,
        session_id: session_id.to_vec(),
        ..ClientHello::default()
    };
    if let Some(exts) = c.vec16() {
        for_each_extension(exts, |ty, data| match ty {
            EXT_SERVER_NAME => hello.sni = server_name(data),
            EXT_SESSION_TICKET if !data.is_empty() && data.len() <= MAX_TICKET => {
                hello.ticket = Some(data.to_vec());
            }
            EXT_EXTENDED_MASTER_SECRET => hello.offers_ems = true,
            EXT_ENCRYPT_THEN_MAC => hello.offers_etm = true,
            _ => {}
        });
    }
    Some(hello)
}

/// The host name of a server_name extension, if it is printable.
fn server_name(data: &[u8]) -> Option<String> {
    let mut list = Cursor::new(Cursor::new(data).vec16()?);
    while !list.rest.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 && name.len() <= MAX_SNI && name.iter().all(|b| b.is_ascii_graphic()) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

/// What decryption uses of a ServerHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions when present, else the legacy field.
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub ems: bool,
    pub etm: bool,
    /// TLS 1.3: the server accepted a pre-shared key (resumption).
    pub psk: bool,
    /// A HelloRetryRequest (TLS 1.3), not a real ServerHello.
    pub retry: bool,
}

/// Reads a ServerHello body (after the 4-byte message header).
pub fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Cursor::new(body);
    let legacy = c.u16()?;
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    let session_id = c.vec8()?;
    if session_id.len() > 32 {
        return None;
    }
    let cipher_suite = c.u16()?;
    c.u8()?; // compression
    let mut hello = ServerHello {
        version: legacy,
        random,
        session_id: session_id.to_vec(),
        cipher_suite,
        retry: random == HELLO_RETRY_RANDOM,
        ..ServerHello::default()
    };
    if let Some(exts) = c.vec16() {
        for_each_extension(exts, |ty, data| match ty {
            EXT_SUPPORTED_VERSIONS if data.len() == 2 => {
                hello.version = u16::from_be_bytes([data[0], data[1]]);
            }
            EXT_EXTENDED_MASTER_SECRET => hello.ems = true,
            EXT_ENCRYPT_THEN_MAC => hello.etm = true,
            EXT_PRE_SHARED_KEY => hello.psk = true,
            _ => {}
        });
    }
    Some(hello)
}

/// The first (leaf) certificate of a Certificate message, DER; `tls13` for the TLS 1.3
/// layout (request context first, extensions after each entry). `None` when there is none or
/// it is larger than [`MAX_CERTIFICATE`].
pub fn leaf_certificate(body: &[u8], tls13: bool) -> Option<Vec<u8>> {
    let mut c = Cursor::new(body);
    if tls13 {
        c.vec8()?;
    }
    let mut list = Cursor::new(c.vec24()?);
    let leaf = list.vec24()?;
    (!leaf.is_empty() && leaf.len() <= MAX_CERTIFICATE).then(|| leaf.to_vec())
}

/// The encrypted pre-master secret of an RSA ClientKeyExchange (TLS 1.0 and later: with its
/// 2-byte length).
pub fn rsa_encrypted_pms(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    let pms = c.vec16()?;
    (c.rest.is_empty() && !pms.is_empty()).then_some(pms)
}

/// The ticket of a TLS 1.2 NewSessionTicket.
pub fn session_ticket(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    c.take(4)?; // lifetime hint
    let ticket = c.vec16()?;
    (!ticket.is_empty() && ticket.len() <= MAX_TICKET).then_some(ticket)
}

/// Splits complete handshake messages off the front of `buf`: calls `f(type, whole message)`
/// for each (header included) and returns the bytes consumed.
pub fn split_messages(buf: &[u8], mut f: impl FnMut(u8, &[u8])) -> usize {
    let mut at = 0;
    while let Some(header) = buf.get(at..at + 4) {
        let len =
            (usize::from(header[1]) << 16) | (usize::from(header[2]) << 8) | usize::from(header[3]);
        let Some(msg) = buf.get(at..at + 4 + len) else {
            break;
        };
        f(header[0], msg);
        at += 4 + len;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The ClientHello and ServerHello of RFC 8448 §3.
    #[test]
    fn hellos_of_rfc8448_are_read() {
        let ch = hex(
            "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
             02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
             00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
             26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
             1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
             05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01",
        );
        let hello = client_hello(&ch[4..]).unwrap();
        assert_eq!(hello.version, 0x0303);
        assert_eq!(hello.random[..4], [0xcb, 0x34, 0xec, 0xb1]);
        assert_eq!(hello.sni.as_deref(), Some("server"));
        assert!(hello.session_id.is_empty() && hello.ticket.is_none());
        let sh = hex(
            "02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
             d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
             56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04",
        );
        let hello = server_hello(&sh[4..]).unwrap();
        assert_eq!(hello.version, 0x0304);
        assert_eq!(hello.cipher_suite, 0x1301);
        assert!(!hello.retry && !hello.psk);
        // Cut anywhere, neither parses (nor panics).
        for cut in 0..sh.len() - 4 {
            let _ = server_hello(&sh[4..4 + cut]);
        }
        assert!(server_hello(&sh[4..40]).is_none());
    }

    #[test]
    fn handshake_messages_are_split_whole() {
        let buf = [1, 0, 0, 2, 0xaa, 0xbb, 14, 0, 0, 0, 11, 0, 0, 5, 1];
        let mut seen = Vec::new();
        let used = split_messages(&buf, |t, m| seen.push((t, m.len())));
        assert_eq!(seen, [(1, 6), (14, 4)]);
        assert_eq!(used, 10);
    }
}
