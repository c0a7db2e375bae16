//! The HTTP-Redirect binding: DEFLATE + base64 + URL encoding, bounded inflation, and the
//! signature over the exact query bytes (`SAMLRequest=…&RelayState=…&SigAlg=…`): RSA-SHA256 by
//! aws-lc-rs when we send, the configured certificates only when we receive.

use std::io::{Read, Write};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bergshamra::core::algorithm as alg;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::error::clip;
use super::verify::MAX_MESSAGE_BYTES;
use super::{IdpTrust, SamlError};

/// Our signing key for Redirect-binding messages and metadata (RSA, PKCS#8 DER).
pub struct SpSigningKey {
    pair: RsaKeyPair,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SpSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpSigningKey(<redacted>)")
    }
}

impl SpSigningKey {
    /// Loads an RSA private key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SamlError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| SamlError::BadKey(e.to_string()))?;
        Ok(SpSigningKey {
            pair,
            pkcs8: zeroize::Zeroizing::new(der.to_vec()),
        })
    }

    /// The PKCS#8 DER, for the XML-DSig signer (metadata).
    pub(crate) fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    fn sign_rsa_sha256(&self, message: &[u8]) -> Result<Vec<u8>, SamlError> {
        let mut out = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut out,
            )
            .map_err(|e| SamlError::Signing(e.to_string()))?;
        Ok(out)
    }
}

fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `url` + the Redirect-binding query for `xml` under `param` (`SAMLRequest`/`SAMLResponse`),
/// with RelayState when not empty, signed (RSA-SHA256) when a key is given.
pub(crate) fn encode(
    url: &str,
    param: &str,
    xml: &str,
    relay_state: &str,
    signing: Option<&SpSigningKey>,
) -> Result<String, SamlError> {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater
        .write_all(xml.as_bytes())
        .map_err(|_| SamlError::Encoding("deflate"))?;
    let deflated = deflater
        .finish()
        .map_err(|_| SamlError::Encoding("deflate"))?;
    let mut query = format!("{param}={}", enc(&STANDARD.encode(deflated)));
    if !relay_state.is_empty() {
        query.push_str(&format!("&RelayState={}", enc(relay_state)));
    }
    if let Some(key) = signing {
        query.push_str(&format!("&SigAlg={}", enc(alg::RSA_SHA256)));
        let sig = key.sign_rsa_sha256(query.as_bytes())?;
        query.push_str(&format!("&Signature={}", enc(&STANDARD.encode(sig))));
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}{query}"))
}

/// Inflates raw DEFLATE data, refusing more than `limit` bytes of output.
pub(crate) fn inflate_bounded(data: &[u8], limit: usize) -> Result<Vec<u8>, SamlError> {
    let mut out = Vec::new();
    let read = DeflateDecoder::new(data)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| SamlError::Encoding("deflate"))?;
    if read > limit {
        return Err(SamlError::TooLarge { limit });
    }
    Ok(out)
}

/// A received Redirect-binding message whose signature verified.
#[derive(Debug)]
pub(crate) struct Received {
    pub xml: String,
    pub relay_state: Option<String>,
}

/// Verifies and decodes a received Redirect-binding query (`param` is `SAMLRequest` or
/// `SAMLResponse`). The signature is required and is checked over the exact bytes received,
/// with the IdP's configured certificates only.
pub(crate) fn decode_signed(
    query: &str,
    param: &str,
    idp: &IdpTrust,
) -> Result<Received, SamlError> {
    if idp.signing_certs.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    if query.len() > 2 * MAX_MESSAGE_BYTES {
        return Err(SamlError::TooLarge {
            limit: 2 * MAX_MESSAGE_BYTES,
        });
    }
    let mut raw: [Option<&str>; 4] = [None; 4];
    let names = [param, "RelayState", "SigAlg", "Signature"];
    for pair in query.trim_start_matches('?').split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(i) = names.iter().position(|n| *n == name)
            && raw[i].replace(value).is_some()
        {
            return Err(SamlError::Encoding("repeated parameter"));
        }
    }
    let [Some(message), relay_raw, sig_alg_raw, signature_raw] = raw else {
        return Err(SamlError::Schema("missing SAML message parameter"));
    };
    let (Some(sig_alg_raw), Some(signature_raw)) = (sig_alg_raw, signature_raw) else {
        return Err(SamlError::SignatureMissing);
    };
    let mut signed = format!("{param}={message}");
    if let Some(r) = relay_raw {
        signed.push_str(&format!("&RelayState={r}"));
    }
    signed.push_str(&format!("&SigAlg={sig_alg_raw}"));
    let sig_alg = decode_value(sig_alg_raw)?;
    let signature = STANDARD
        .decode(decode_value(signature_raw)?)
        .map_err(|_| SamlError::Encoding("base64"))?;
    let algorithm = verification_algorithm(&sig_alg, idp.allow_sha1)?;
    let mut verified = false;
    for der in &idp.signing_certs {
        let key = bergshamra::keys::loader::load_x509_cert_der(der)
            .map_err(|e| SamlError::BadKey(e.to_string()))?;
        let spki = key
            .data
            .to_spki_der()
            .ok_or_else(|| SamlError::BadKey("no public key".into()))?;
        verified |= UnparsedPublicKey::new(algorithm, spki)
            .verify(signed.as_bytes(), &signature)
            .is_ok();
    }
    if !verified {
        return Err(SamlError::SignatureInvalid(
            "Redirect binding signature".into(),
        ));
    }
    let deflated = STANDARD
        .decode(decode_value(message)?)
        .map_err(|_| SamlError::Encoding("base64"))?;
    let xml = String::from_utf8(inflate_bounded(&deflated, MAX_MESSAGE_BYTES)?)
        .map_err(|_| SamlError::Encoding("UTF-8"))?;
    Ok(Received {
        xml,
        relay_state: relay_raw.map(decode_value).transpose()?,
    })
}

/// One URL-encoded query value ('+' is a space).
pub(crate) fn decode_value(raw: &str) -> Result<String, SamlError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| SamlError::Encoding("URL encoding"))
}

/// RSA only on the Redirect binding (its ECDSA signature encoding is not interoperable).
fn verification_algorithm(
    sig_alg: &str,
    allow_sha1: bool,
) -> Result<&'static dyn VerificationAlgorithm, SamlError> {
    Ok(match sig_alg {
        alg::RSA_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_SHA1 if allow_sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        other => return Err(SamlError::ForbiddenAlgorithm(clip(other))),
    })
}
