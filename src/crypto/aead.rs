//! Encryption at rest (AES-256-GCM from aws-lc-rs) for private signing keys and, later, TOTP
//! seeds. Sealed form: 12-byte random nonce followed by ciphertext and tag. The associated data
//! binds a ciphertext to what it belongs to (e.g. key id and tenant), so rows cannot be swapped.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::random;

#[derive(Debug, thiserror::Error)]
#[error("decryption failed (wrong master key, or the data was altered)")]
pub struct OpenError;

fn key(raw: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, raw).expect("32 bytes is an AES-256 key"))
}

pub fn seal(raw_key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random::bytes::<NONCE_LEN>();
    let mut buf = plaintext.to_vec();
    key(raw_key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .expect("AES-GCM sealing of a small buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out
}

pub fn open(raw_key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(OpenError);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
    let mut buf = ciphertext.to_vec();
    let plain = key(raw_key)
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| OpenError)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let k = [3u8; 32];
        let sealed = seal(&k, b"kid-1", b"private key");
        assert_eq!(open(&k, b"kid-1", &sealed).unwrap(), b"private key");
        assert!(
            open(&k, b"kid-2", &sealed).is_err(),
            "bound to its associated data"
        );
        assert!(open(&[4u8; 32], b"kid-1", &sealed).is_err(), "wrong key");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(open(&k, b"kid-1", &flipped).is_err());
        assert_ne!(
            seal(&k, b"", b"x"),
            seal(&k, b"", b"x"),
            "fresh nonce every time"
        );
    }
}
