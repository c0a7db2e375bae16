//! EncryptedAssertion: the algorithm allow-list (RSA-OAEP key transport, AES-GCM content; no
//! PKCS#1 v1.5, no AES-CBC, no CipherReference, no key agreement) checked on the markup, then
//! decryption by bergshamra with the service provider's key only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bergshamra::core::algorithm as alg;
use bergshamra::xml::uppsala::{Document, NodeId};
use bergshamra::{EncContext, KeysManager};

use super::SamlError;
use super::error::clip;
use super::xml::{self, NS_XENC};

const KEY_TRANSPORT: [&str; 2] = [alg::RSA_OAEP, alg::RSA_OAEP_ENC11];
const CONTENT: [&str; 3] = [alg::AES128_GCM, alg::AES192_GCM, alg::AES256_GCM];

/// Checks the EncryptedAssertion's shape and algorithms: exactly one EncryptedData (its direct
/// child) in the whole document, every EncryptedKey RSA-OAEP, the content AES-GCM.
pub(crate) fn check_policy(doc: &Document<'_>, wrapper: NodeId) -> Result<(), SamlError> {
    let data = xml::all(doc, NS_XENC, "EncryptedData");
    let [data] = data.as_slice() else {
        return Err(SamlError::MisplacedElement("EncryptedData"));
    };
    if doc.parent(*data) != Some(wrapper) {
        return Err(SamlError::MisplacedElement("EncryptedData"));
    }
    if !xml::all(doc, NS_XENC, "CipherReference").is_empty()
        || !xml::all(doc, NS_XENC, "AgreementMethod").is_empty()
    {
        return Err(SamlError::ForbiddenAlgorithm(
            "CipherReference or AgreementMethod".into(),
        ));
    }
    let content = method(doc, *data)?;
    if !CONTENT.contains(&content) {
        return Err(SamlError::ForbiddenAlgorithm(clip(content)));
    }
    let keys = xml::all(doc, NS_XENC, "EncryptedKey");
    if keys.is_empty() {
        return Err(SamlError::Schema("EncryptedKey"));
    }
    for key in keys {
        let transport = method(doc, key)?;
        if !KEY_TRANSPORT.contains(&transport) {
            return Err(SamlError::ForbiddenAlgorithm(clip(transport)));
        }
    }
    Ok(())
}

fn method<'d>(doc: &'d Document<'_>, node: NodeId) -> Result<&'d str, SamlError> {
    let m = xml::exactly_one(doc, node, NS_XENC, "EncryptionMethod")?;
    xml::attr(doc, m, "Algorithm").ok_or(SamlError::Schema("Algorithm"))
}

/// Decrypts the (policy-checked) document with the SP's PKCS#8 DER RSA key; returns the whole
/// document with the EncryptedData replaced by the plaintext Assertion.
pub(crate) fn decrypt(xml_text: &str, pkcs8_der: &[u8]) -> Result<String, SamlError> {
    let mut keys = KeysManager::new();
    keys.add_key(rsa_private_key(pkcs8_der)?);
    let ctx = EncContext::new(keys).with_disable_cipher_reference(true);
    bergshamra::decrypt(&ctx, xml_text).map_err(|e| SamlError::Decryption(clip(&e.to_string())))
}

/// Loads a PKCS#8 DER RSA private key into bergshamra's key type.
pub(crate) fn rsa_private_key(pkcs8_der: &[u8]) -> Result<bergshamra::Key, SamlError> {
    let body = STANDARD.encode(pkcs8_der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    bergshamra::keys::loader::load_rsa_private_pem(pem.as_bytes())
        .map_err(|e| SamlError::BadKey(e.to_string()))
}
