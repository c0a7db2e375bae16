//! JSON Web Signatures for the tokens Watchword issues. Keys are generated and used through
//! aws-lc-rs and kept parsed in memory (re-parsing an RSA key for every signature costs ~1 ms).
//! Signing produces the JWS compact form (RFC 7515); verification of tokens goes through the
//! `jsonwebtoken` crate with an explicit algorithm per key, so `alg: none` or a swapped
//! algorithm never verifies.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::domain::keys::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    #[error("key generation failed")]
    Generate,
    #[error("stored private key is not valid: {0}")]
    BadKey(String),
}

/// A private key ready to sign.
pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A freshly generated key: PKCS#8 private key (to encrypt and store) and its public JWK.
pub struct GeneratedKey {
    pub pkcs8: Zeroizing<Vec<u8>>,
    pub public_jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates a key for `alg` and describes its public half as a JWK with `kid`.
pub fn generate(alg: SigningAlg, kid: &str) -> Result<GeneratedKey, JwsError> {
    let (pkcs8, mut jwk) = match alg {
        SigningAlg::RS256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| JwsError::Generate)?;
            let der = kp.as_der().map_err(|_| JwsError::Generate)?;
            let public: PublicKeyComponents<Vec<u8>> = kp.public_key().into();
            (
                der.as_ref().to_vec(),
                json!({ "kty": "RSA", "n": b64(&public.n), "e": b64(&public.e) }),
            )
        }
        SigningAlg::ES256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| JwsError::Generate)?;
            let doc = kp.to_pkcs8v1().map_err(|_| JwsError::Generate)?;
            // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
            let point = kp.public_key().as_ref();
            (
                doc.as_ref().to_vec(),
                json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) }),
            )
        }
        SigningAlg::EdDSA => {
            let kp = Ed25519KeyPair::generate().map_err(|_| JwsError::Generate)?;
            let doc = kp.to_pkcs8().map_err(|_| JwsError::Generate)?;
            (
                doc.as_ref().to_vec(),
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(kp.public_key().as_ref()) }),
            )
        }
    };
    let obj = jwk.as_object_mut().expect("object literal");
    obj.insert("kid".into(), kid.into());
    obj.insert("use".into(), "sig".into());
    obj.insert("alg".into(), alg.as_str().into());
    Ok(GeneratedKey {
        pkcs8: Zeroizing::new(pkcs8),
        public_jwk: jwk,
    })
}

impl SigningKey {
    /// Parses a stored PKCS#8 private key.
    pub fn load(alg: SigningAlg, pkcs8: &[u8]) -> Result<Self, JwsError> {
        let bad = |e: &dyn std::fmt::Display| JwsError::BadKey(e.to_string());
        Ok(match alg {
            SigningAlg::RS256 => {
                SigningKey::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| bad(&e))?)
            }
            SigningAlg::ES256 => SigningKey::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|e| bad(&e))?,
            ),
            SigningAlg::EdDSA => {
                SigningKey::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| bad(&e))?)
            }
        })
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("RSA signing with a valid key cannot fail");
                sig
            }
            SigningKey::Ec(kp) => kp
                .sign(&rng, message)
                .expect("ECDSA signing with a valid key cannot fail")
                .as_ref()
                .to_vec(),
            SigningKey::Ed(kp) => kp.sign(message).as_ref().to_vec(),
        }
    }
}

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn sign<T: Serialize>(
    key: &SigningKey,
    alg: SigningAlg,
    kid: &str,
    typ: &str,
    claims: &T,
) -> String {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'a str,
        typ: &'a str,
        kid: &'a str,
    }
    let header = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        typ,
        kid,
    })
    .expect("header serializes");
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let mut out = String::with_capacity(64 + payload.len() * 4 / 3 + 400);
    out.push_str(&b64(&header));
    out.push('.');
    out.push_str(&b64(&payload));
    let signature = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64(&signature));
    out
}

/// Maps our algorithm to the verifier's.
pub fn jwt_algorithm(alg: SigningAlg) -> jsonwebtoken::Algorithm {
    match alg {
        SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
        SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
        SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}

/// A verification key from a public JWK we published.
pub fn decoding_key(public_jwk: &Value) -> Option<jsonwebtoken::DecodingKey> {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public_jwk.clone()).ok()?;
    jsonwebtoken::DecodingKey::from_jwk(&jwk).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        n: u32,
    }

    #[test]
    fn every_algorithm_signs_what_the_verifier_accepts() {
        for alg in SigningAlg::ALL {
            let generated = generate(alg, "k1").unwrap();
            let key = SigningKey::load(alg, &generated.pkcs8).unwrap();
            let token = sign(
                &key,
                alg,
                "k1",
                "JWT",
                &Claims {
                    sub: "u".into(),
                    n: 7,
                },
            );
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some("k1"));
            let dk = decoding_key(&generated.public_jwk).unwrap();
            let mut v = jsonwebtoken::Validation::new(jwt_algorithm(alg));
            v.validate_exp = false;
            v.required_spec_claims.clear();
            let data = jsonwebtoken::decode::<Claims>(&token, &dk, &v).unwrap();
            assert_eq!(
                data.claims,
                Claims {
                    sub: "u".into(),
                    n: 7
                },
                "{alg:?}"
            );

            // A tampered payload or another algorithm does not verify.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = b64(br#"{"sub":"admin","n":7}"#);
            parts[1] = &forged;
            assert!(jsonwebtoken::decode::<Claims>(&parts.join("."), &dk, &v).is_err());
            let other = if alg == SigningAlg::ES256 {
                SigningAlg::EdDSA
            } else {
                SigningAlg::ES256
            };
            let v2 = jsonwebtoken::Validation::new(jwt_algorithm(other));
            assert!(jsonwebtoken::decode::<Claims>(&token, &dk, &v2).is_err());
        }
    }
}
