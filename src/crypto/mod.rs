//! Cryptographic building blocks, all from audited crates: OS randomness, HMAC-SHA-256,
//! HKDF key derivation and the master key. Nothing here implements a primitive itself.

pub mod aead;
pub mod jws;
pub mod master_key;
pub mod password;
pub mod random;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Checks `tag` against HMAC-SHA-256 of `data` in constant time.
pub fn hmac_sha256_verify(key: &[u8; 32], data: &[u8], tag: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.verify_slice(tag).is_ok()
}

/// SHA-256 as lower-case hex. Used to key server-side records by a hash of a bearer secret,
/// so that a dump of the store yields no usable cookies or codes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// SHA-256, base64url without padding (43 characters: shorter keys and records than hex).
pub fn sha256_b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

/// A keyed digest (HMAC-SHA-256, hex) of a high-entropy secret such as a client secret or a
/// refresh token: fast, and useless to anyone who steals the database without the master key.
/// (Argon2 is for low-entropy passwords; 256-bit random secrets need no stretching.)
pub fn secret_digest(key: &[u8; 32], secret: &str) -> String {
    hex::encode(hmac_sha256(key, secret.as_bytes()))
}

/// Constant-time equality for secrets of equal or different length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_round_trip_and_tamper() {
        let key = [7u8; 32];
        let tag = hmac_sha256(&key, b"hello");
        assert!(hmac_sha256_verify(&key, b"hello", &tag));
        assert!(!hmac_sha256_verify(&key, b"hellO", &tag));
        assert!(!hmac_sha256_verify(&[8u8; 32], b"hello", &tag));
        assert!(!hmac_sha256_verify(&key, b"hello", &tag[..31]));
    }

    #[test]
    fn constant_time_eq_handles_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
