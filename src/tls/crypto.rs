//! The key schedules (TLS 1.2 PRF, TLS 1.3 HKDF-Expand-Label) and the record protection of
//! each supported cipher family, on top of RustCrypto's primitives. Records are opened in
//! place: no allocation per record.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

/// The hash of a key schedule (and of a CBC suite's MAC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
}

impl HashAlg {
    /// Bytes of output.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlg::Sha1 => Sha1::digest(data).to_vec(),
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
        }
    }
}

/// HMAC over the concatenation of `parts`, into `out` (its first `hash.len()` bytes).
fn hmac_into(hash: HashAlg, key: &[u8], parts: &[&[u8]], out: &mut [u8; 48]) {
    macro_rules! run {
        ($h:ty) => {{
            let mut m = <Hmac<$h> as hmac::KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            for p in parts {
                m.update(p);
            }
            let tag = m.finalize().into_bytes();
            out[..tag.len()].copy_from_slice(&tag);
        }};
    }
    match hash {
        HashAlg::Sha1 => run!(Sha1),
        HashAlg::Sha256 => run!(Sha256),
        HashAlg::Sha384 => run!(Sha384),
    }
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label ‖ seed), `out.len()` bytes.
pub fn prf(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let n = hash.len();
    let mut a = [0u8; 48];
    hmac_into(hash, secret, &[label, seed], &mut a);
    let mut block = [0u8; 48];
    for chunk in out.chunks_mut(n) {
        hmac_into(hash, secret, &[&a[..n], label, seed], &mut block);
        chunk.copy_from_slice(&block[..chunk.len()]);
        let prev = a;
        hmac_into(hash, secret, &[&prev[..n]], &mut a);
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty or given context, `len` bytes.
pub fn expand_label(
    hash: HashAlg,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let full_len = 6 + label.len();
    if full_len > 255 || context.len() > 255 || len > 255 * hash.len() {
        return None;
    }
    let mut info = Vec::with_capacity(4 + full_len + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full_len as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    let ok = match hash {
        HashAlg::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        HashAlg::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        HashAlg::Sha1 => false,
    };
    ok.then_some(out)
}

/// The bulk cipher of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
}

impl Bulk {
    pub fn key_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes128Cbc => 16,
            Bulk::Aes256Gcm | Bulk::ChaCha20Poly1305 | Bulk::Aes256Cbc => 32,
        }
    }

    /// Bytes of IV the TLS 1.2 key block holds for it.
    pub fn tls12_iv_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => 4,
            Bulk::ChaCha20Poly1305 => 12,
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => 0,
        }
    }
}

/// An AEAD with its key set.
enum Aead {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

const TAG: usize = 16;

impl Aead {
    fn new(bulk: Bulk, key: &[u8]) -> Option<Aead> {
        Some(match bulk {
            Bulk::Aes128Gcm => Aead::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            Bulk::Aes256Gcm => Aead::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Bulk::ChaCha20Poly1305 => {
                Aead::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => return None,
        })
    }

    /// Opens `ct ‖ tag` in place; the plaintext is `buf[..len - 16]`.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
        let Some(ct_len) = buf.len().checked_sub(TAG) else {
            return false;
        };
        let (ct, tag) = buf.split_at_mut(ct_len);
        let tag: &[u8] = tag;
        macro_rules! run {
            ($c:expr) => {
                match tag.try_into() {
                    Ok(tag) => $c
                        .decrypt_inout_detached(&(*nonce).into(), aad, ct.into(), tag)
                        .is_ok(),
                    Err(_) => false,
                }
            };
        }
        match self {
            Aead::Aes128Gcm(c) => run!(c),
            Aead::Aes256Gcm(c) => run!(c),
            Aead::ChaCha(c) => run!(c),
        }
    }
}

/// What opening a record gave: the content type and where the plaintext is in the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub content_type: u8,
    pub plain: std::ops::Range<usize>,
}

/// One direction's record protection, as set up by the key schedule.
pub struct RecordCipher {
    kind: CipherKind,
}

enum CipherKind {
    /// TLS 1.3: nonce = iv XOR seq; AAD = the record header; inner content type at the end.
    Tls13 { aead: Aead, iv: [u8; 12] },
    /// TLS 1.2 AES-GCM: nonce = salt ‖ explicit nonce (8 bytes in the record).
    Tls12Gcm { aead: Aead, salt: [u8; 4] },
    /// TLS 1.2 ChaCha20-Poly1305: nonce = iv XOR seq.
    Tls12ChaCha { aead: Aead, iv: [u8; 12] },
    /// TLS 1.1/1.2 AES-CBC with an explicit IV per record and HMAC, MAC-then-encrypt or
    /// encrypt-then-MAC.
    Cbc {
        key: [u8; 32],
        key_len: usize,
        mac_key: [u8; 48],
        mac: HashAlg,
        encrypt_then_mac: bool,
    },
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.kind {
            CipherKind::Tls13 { .. } => "tls13",
            CipherKind::Tls12Gcm { .. } => "tls12-gcm",
            CipherKind::Tls12ChaCha { .. } => "tls12-chacha20",
            CipherKind::Cbc { .. } => "cbc",
        };
        write!(f, "RecordCipher({name})")
    }
}

fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

impl RecordCipher {
    /// TLS 1.3 record protection from a traffic secret.
    pub fn tls13(bulk: Bulk, hash: HashAlg, secret: &[u8]) -> Option<RecordCipher> {
        let key = expand_label(hash, secret, "key", b"", bulk.key_len())?;
        let iv: [u8; 12] = expand_label(hash, secret, "iv", b"", 12)?.try_into().ok()?;
        Some(RecordCipher {
            kind: CipherKind::Tls13 {
                aead: Aead::new(bulk, &key)?,
                iv,
            },
        })
    }

    /// TLS 1.2 record protection from one side's part of the key block.
    pub fn tls12(
        bulk: Bulk,
        mac: Option<HashAlg>,
        mac_key: &[u8],
        key: &[u8],
        iv: &[u8],
        encrypt_then_mac: bool,
    ) -> Option<RecordCipher> {
        let kind = match bulk {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => CipherKind::Tls12Gcm {
                aead: Aead::new(bulk, key)?,
                salt: iv.try_into().ok()?,
            },
            Bulk::ChaCha20Poly1305 => CipherKind::Tls12ChaCha {
                aead: Aead::new(bulk, key)?,
                iv: iv.try_into().ok()?,
            },
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => {
                let mac = mac?;
                if key.len() != bulk.key_len() || mac_key.len() != mac.len() {
                    return None;
                }
                let mut k = [0u8; 32];
                k[..key.len()].copy_from_slice(key);
                let mut m = [0u8; 48];
                m[..mac_key.len()].copy_from_slice(mac_key);
                CipherKind::Cbc {
                    key: k,
                    key_len: key.len(),
                    mac_key: m,
                    mac,
                    encrypt_then_mac,
                }
            }
        };
        Some(RecordCipher { kind })
    }

    /// Opens one record body in place (`header` is the record's 5-byte header). `None`: the
    /// record failed authentication (or is malformed for this cipher).
    pub fn open(&self, seq: u64, header: [u8; 5], body: &mut [u8]) -> Option<Opened> {
        let seq_b = seq.to_be_bytes();
        match &self.kind {
            CipherKind::Tls13 { aead, iv } => {
                if !aead.open(&xor_seq(iv, seq), &header, body) {
                    return None;
                }
                let plain = &body[..body.len() - TAG];
                // Content, then the inner content type, then zero padding.
                let end = plain.iter().rposition(|b| *b != 0)?;
                Some(Opened {
                    content_type: plain[end],
                    plain: 0..end,
                })
            }
            CipherKind::Tls12Gcm { aead, salt } => {
                let len = body.len().checked_sub(8 + TAG)?;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&body[..8]);
                let aad = aad12(&seq_b, &header, len);
                if !aead.open(&nonce, &aad, &mut body[8..]) {
                    return None;
                }
                Some(Opened {
                    content_type: header[0],
                    plain: 8..8 + len,
                })
            }
            CipherKind::Tls12ChaCha { aead, iv } => {
                let len = body.len().checked_sub(TAG)?;
                let aad = aad12(&seq_b, &header, len);
                if !aead.open(&xor_seq(iv, seq), &aad, body) {
                    return None;
                }
                Some(Opened {
                    content_type: header[0],
                    plain: 0..len,
                })
            }
            CipherKind::Cbc {
                key,
                key_len,
                mac_key,
                mac,
                encrypt_then_mac,
            } => {
                let mac_key = &mac_key[..mac.len()];
                let key = &key[..*key_len];
                open_cbc(key, mac_key, *mac, *encrypt_then_mac, &seq_b, &header, body)
            }
        }
    }
}

/// The TLS 1.2 AEAD additional data: seq ‖ type ‖ version ‖ plaintext length.
fn aad12(seq: &[u8; 8], header: &[u8; 5], len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(seq);
    aad[8..11].copy_from_slice(&header[..3]);
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

/// AES-CBC decryption of whole blocks in place.
fn cbc_decrypt(key: &[u8], iv: &[u8], data: &mut [u8]) -> Option<()> {
    if !data.len().is_multiple_of(16) {
        return None;
    }
    macro_rules! run {
        ($c:ty) => {{
            let mut dec = cbc::Decryptor::<$c>::new_from_slices(key, iv).ok()?;
            let (blocks, tail) = cbc::cipher::inout::InOutBuf::from(data).into_chunks();
            if !tail.is_empty() {
                return None;
            }
            dec.decrypt_blocks_inout(blocks);
        }};
    }
    match key.len() {
        16 => run!(aes::Aes128),
        32 => run!(aes::Aes256),
        _ => return None,
    }
    Some(())
}

fn open_cbc(
    key: &[u8],
    mac_key: &[u8],
    mac: HashAlg,
    encrypt_then_mac: bool,
    seq: &[u8; 8],
    header: &[u8; 5],
    body: &mut [u8],
) -> Option<Opened> {
    let mac_len = mac.len();
    let mut tag = [0u8; 48];
    if encrypt_then_mac {
        // IV ‖ E(content ‖ padding) ‖ MAC, the MAC over the ciphertext (checked first).
        let ct_end = body.len().checked_sub(mac_len)?;
        if ct_end < 32 {
            return None;
        }
        let len = (ct_end as u16).to_be_bytes();
        hmac_into(
            mac,
            mac_key,
            &[seq, &header[..3], &len, &body[..ct_end]],
            &mut tag,
        );
        if tag[..mac_len] != body[ct_end..] {
            return None;
        }
        let (iv, ct) = body[..ct_end].split_at_mut(16);
        cbc_decrypt(key, iv, ct)?;
        let pad = usize::from(*ct.last()?);
        let content_len = ct.len().checked_sub(pad + 1)?;
        if ct[content_len..ct.len() - 1]
            .iter()
            .any(|b| usize::from(*b) != pad)
        {
            return None;
        }
        return Some(Opened {
            content_type: header[0],
            plain: 16..16 + content_len,
        });
    }
    // IV ‖ E(content ‖ MAC ‖ padding).
    if body.len() < 32 {
        return None;
    }
    let (iv, ct) = body.split_at_mut(16);
    cbc_decrypt(key, iv, ct)?;
    let pad = usize::from(*ct.last()?);
    let unpadded = ct.len().checked_sub(pad + 1)?;
    if ct[unpadded..ct.len() - 1]
        .iter()
        .any(|b| usize::from(*b) != pad)
    {
        return None;
    }
    let content_len = unpadded.checked_sub(mac_len)?;
    let len = (content_len as u16).to_be_bytes();
    hmac_into(
        mac,
        mac_key,
        &[seq, &header[..3], &len, &ct[..content_len]],
        &mut tag,
    );
    if tag[..mac_len] != ct[content_len..unpadded] {
        return None;
    }
    Some(Opened {
        content_type: header[0],
        plain: 16..16 + content_len,
    })
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

    /// The widely published P_SHA256 test vector (secret, "test label", seed; 100 bytes).
    #[test]
    fn prf_sha256_matches_the_published_vector() {
        let mut out = [0u8; 100];
        prf(
            HashAlg::Sha256,
            &hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
            b"test label",
            &hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            hex(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
                 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
                 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
                 87 34 7b 66"
            )
        );
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): the server's handshake traffic secret gives the
    /// published write key and IV.
    #[test]
    fn expand_label_matches_rfc8448() {
        let secret = hex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        assert_eq!(
            expand_label(HashAlg::Sha256, &secret, "key", b"", 16).unwrap(),
            hex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(
            expand_label(HashAlg::Sha256, &secret, "iv", b"", 12).unwrap(),
            hex("5d 31 3e b2 67 12 76 ee 13 00 0b 30")
        );
    }

    /// RFC 8448 §3: the client's first application data record (50 bytes of 0x00..0x31),
    /// opened with the key and IV derived from the client application traffic secret.
    #[test]
    fn a_tls13_record_from_rfc8448_opens() {
        let secret = hex(
            "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5",
        );
        assert_eq!(
            expand_label(HashAlg::Sha256, &secret, "key", b"", 16).unwrap(),
            hex("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51")
        );
        assert_eq!(
            expand_label(HashAlg::Sha256, &secret, "iv", b"", 12).unwrap(),
            hex("5b 78 92 3d ee 08 57 90 33 e5 23 d9")
        );
        let cipher = RecordCipher::tls13(Bulk::Aes128Gcm, HashAlg::Sha256, &secret).unwrap();
        let record = hex(
            "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab
             3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea
             e6 3a ee bb 21 69 49 15 e4",
        );
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut body = record[5..].to_vec();
        let opened = cipher.open(0, header, &mut body).unwrap();
        assert_eq!(opened.content_type, 23);
        assert_eq!(body[opened.plain].to_vec(), (0u8..50).collect::<Vec<_>>());
        // A flipped bit, or the wrong sequence number, fails authentication.
        let mut bad = record[5..].to_vec();
        bad[10] ^= 1;
        assert!(cipher.open(0, header, &mut bad).is_none());
        let mut again = record[5..].to_vec();
        assert!(cipher.open(1, header, &mut again).is_none());
    }
}
