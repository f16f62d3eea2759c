//! What decryption needs to know of a cipher suite, from tls-parser's IANA table.

use super::crypto::{Bulk, HashAlg};
use tls_parser::{
    TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsPRF,
};

/// The parameters of a cipher suite decryption can handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub bulk: Bulk,
    /// The record MAC of CBC suites (`None` for AEAD suites).
    pub mac: Option<HashAlg>,
    /// The PRF hash (TLS 1.2) or HKDF hash (TLS 1.3).
    pub hash: HashAlg,
    /// The pre-master secret travels encrypted with the server's RSA key.
    pub rsa_key_exchange: bool,
}

/// The IANA name of a cipher suite (`TLS_AES_256_GCM_SHA384`).
pub fn name(id: u16) -> Option<&'static str> {
    TlsCipherSuite::from_id(id).map(|s| s.name)
}

/// The parameters of a suite, `None` when its cipher is not one decryption supports.
pub fn suite(id: u16) -> Option<Suite> {
    let s = TlsCipherSuite::from_id(id)?;
    let bulk = match (s.enc, s.enc_mode, s.enc_size) {
        (TlsCipherEnc::Chacha20_Poly1305, _, _) => Bulk::ChaCha20Poly1305,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 128) => Bulk::Aes128Gcm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 256) => Bulk::Aes256Gcm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 128) => Bulk::Aes128Cbc,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 256) => Bulk::Aes256Cbc,
        _ => return None,
    };
    let mac = match s.mac {
        TlsCipherMac::Aead => None,
        TlsCipherMac::HmacSha1 => Some(HashAlg::Sha1),
        TlsCipherMac::HmacSha256 => Some(HashAlg::Sha256),
        TlsCipherMac::HmacSha384 => Some(HashAlg::Sha384),
        _ => return None,
    };
    if matches!(bulk, Bulk::Aes128Cbc | Bulk::Aes256Cbc) != mac.is_some() {
        return None;
    }
    let hash = match s.prf {
        TlsPRF::Sha384 => HashAlg::Sha384,
        _ => HashAlg::Sha256,
    };
    Some(Suite {
        bulk,
        mac,
        hash,
        rsa_key_exchange: s.kx == TlsCipherKx::Rsa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_map_to_their_ciphers() {
        assert_eq!(name(0x1302), Some("TLS_AES_256_GCM_SHA384"));
        let s = suite(0x1302).unwrap();
        assert_eq!(
            (s.bulk, s.hash, s.mac),
            (Bulk::Aes256Gcm, HashAlg::Sha384, None)
        );
        let s = suite(0x1303).unwrap();
        assert_eq!((s.bulk, s.hash), (Bulk::ChaCha20Poly1305, HashAlg::Sha256));
        let s = suite(0xc028).unwrap();
        assert_eq!(
            (s.bulk, s.hash, s.mac, s.rsa_key_exchange),
            (
                Bulk::Aes256Cbc,
                HashAlg::Sha384,
                Some(HashAlg::Sha384),
                false
            )
        );
        let s = suite(0x002f).unwrap();
        assert_eq!(
            (s.bulk, s.hash, s.mac, s.rsa_key_exchange),
            (Bulk::Aes128Cbc, HashAlg::Sha256, Some(HashAlg::Sha1), true)
        );
        assert!(suite(0x009d).unwrap().rsa_key_exchange);
        assert_eq!(suite(0xcca8).unwrap().bulk, Bulk::ChaCha20Poly1305);
        // 3DES, RC4 and unknown suites are not decrypted.
        assert!(suite(0x000a).is_none() && suite(0x0005).is_none() && suite(0xfafa).is_none());
    }
}
