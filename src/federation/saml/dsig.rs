//! XML-DSig for SAML: Watchword's allow-list (algorithms, transforms, one Reference to the
//! consumed element) checked on the signature's markup, then the cryptographic verification done
//! by bergshamra (`trusted_keys_only`, `strict_verification`) with the configured certificates
//! only. Nothing here canonicalises or verifies by itself.

use bergshamra::core::algorithm as alg;
use bergshamra::xml::uppsala::{Document, NodeId};
use bergshamra::{DsigContext, KeysManager, VerifyResult};

use super::SamlError;
use super::error::clip;
use super::xml::{self, NS_DS, NS_EXC_C14N};

/// A signature to verify and the element it must cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed {
    pub signature: NodeId,
    pub element: NodeId,
}

const STRONG_SIGNATURES: [&str; 9] = [
    alg::RSA_SHA256,
    alg::RSA_SHA384,
    alg::RSA_SHA512,
    alg::RSA_PSS_SHA256,
    alg::RSA_PSS_SHA384,
    alg::RSA_PSS_SHA512,
    alg::ECDSA_SHA256,
    alg::ECDSA_SHA384,
    alg::ECDSA_SHA512,
];
const SHA1_SIGNATURES: [&str; 3] = [alg::RSA_SHA1, alg::RSA_PSS_SHA1, alg::ECDSA_SHA1];
const STRONG_DIGESTS: [&str; 3] = [alg::SHA256, alg::SHA384, alg::SHA512];

/// The trust set: the identity provider's configured certificates, and nothing else.
/// No certificate is an error, never an unchecked pass.
pub(crate) fn trusted_keys(certs: &[Vec<u8>]) -> Result<KeysManager, SamlError> {
    if certs.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    let mut keys = KeysManager::new();
    for der in certs {
        let key = bergshamra::keys::loader::load_x509_cert_der(der)
            .map_err(|e| SamlError::BadKey(e.to_string()))?;
        keys.add_key(key);
    }
    Ok(keys)
}

/// Checks every signature against the allow-list, then verifies them all with bergshamra and
/// requires each one to be valid and to cover exactly its element.
pub(crate) fn verify(
    doc: &Document<'_>,
    certs: &[Vec<u8>],
    allow_sha1: bool,
    signed: &[Signed],
) -> Result<(), SamlError> {
    let keys = trusted_keys(certs)?;
    for s in signed {
        check_policy(doc, *s, allow_sha1)?;
    }
    // Placement checks (structure.rs) leave only the signatures in `signed` in the document, so
    // bergshamra's document-order results line up with our own document-order list.
    let order = xml::all(doc, NS_DS, "Signature");
    let ctx = DsigContext::new(keys)
        .with_trusted_keys_only(true)
        .with_strict_verification(true)
        .with_require_reference_digests(true);
    let results = bergshamra::dsig::verify::verify_all_document(&ctx, doc)
        .map_err(|e| SamlError::SignatureInvalid(clip(&e.to_string())))?;
    for s in signed {
        let index = order
            .iter()
            .position(|n| *n == s.signature)
            .ok_or(SamlError::MisplacedElement("Signature"))?;
        match results.get(index) {
            Some(VerifyResult::Valid {
                signature_node,
                references,
                ..
            }) => {
                let covers = matches!(references.as_slice(),
                    [r] if r.resolved_node == Some(s.element) && r.digest_verified);
                if *signature_node != s.signature || !covers {
                    return Err(SamlError::ReferenceMismatch);
                }
            }
            Some(VerifyResult::Invalid { reason }) => {
                return Err(SamlError::SignatureInvalid(clip(reason)));
            }
            None => return Err(SamlError::SignatureInvalid("not verified".into())),
        }
    }
    Ok(())
}

/// The allow-list, read from the signature's markup before any cryptography runs.
fn check_policy(doc: &Document<'_>, s: Signed, allow_sha1: bool) -> Result<(), SamlError> {
    let sig = s.signature;
    for child in xml::element_children(doc, sig) {
        let allowed = ["SignedInfo", "SignatureValue", "KeyInfo"]
            .iter()
            .any(|name| xml::is(doc, child, NS_DS, name));
        if !allowed {
            return Err(SamlError::MisplacedElement("element inside Signature"));
        }
    }
    let info = xml::exactly_one(doc, sig, NS_DS, "SignedInfo")?;
    let c14n = xml::exactly_one(doc, info, NS_DS, "CanonicalizationMethod")?;
    check_c14n(doc, c14n)?;
    let method = xml::exactly_one(doc, info, NS_DS, "SignatureMethod")?;
    let method_uri = algorithm(doc, method)?;
    let sha1_ok = allow_sha1 && SHA1_SIGNATURES.contains(&method_uri);
    if !(STRONG_SIGNATURES.contains(&method_uri) || sha1_ok) {
        return Err(SamlError::ForbiddenAlgorithm(clip(method_uri)));
    }
    if !xml::element_children(doc, method).is_empty() {
        return Err(SamlError::ForbiddenAlgorithm(
            "SignatureMethod parameters".into(),
        ));
    }
    let references = xml::children(doc, info, NS_DS, "Reference");
    let [reference] = references.as_slice() else {
        return Err(SamlError::ReferenceMismatch);
    };
    let id = xml::attr(doc, s.element, "ID").ok_or(SamlError::Schema("ID"))?;
    if xml::attr(doc, *reference, "URI") != Some(format!("#{id}").as_str()) {
        return Err(SamlError::ReferenceMismatch);
    }
    let transforms = xml::at_most_one(doc, *reference, NS_DS, "Transforms")?;
    let mut enveloped = false;
    for t in transforms
        .map(|t| xml::element_children(doc, t))
        .unwrap_or_default()
    {
        if !xml::is(doc, t, NS_DS, "Transform") {
            return Err(SamlError::Schema("Transforms"));
        }
        if algorithm(doc, t)? == alg::ENVELOPED_SIGNATURE && !enveloped {
            enveloped = true;
            if !xml::element_children(doc, t).is_empty() {
                return Err(SamlError::ForbiddenAlgorithm("transform parameters".into()));
            }
        } else {
            check_c14n(doc, t)?;
        }
    }
    let digest = xml::exactly_one(doc, *reference, NS_DS, "DigestMethod")?;
    let digest_uri = algorithm(doc, digest)?;
    if !(STRONG_DIGESTS.contains(&digest_uri) || (allow_sha1 && digest_uri == alg::SHA1)) {
        return Err(SamlError::ForbiddenAlgorithm(clip(digest_uri)));
    }
    Ok(())
}

/// Exclusive C14N without comments, with at most an `InclusiveNamespaces` parameter.
fn check_c14n(doc: &Document<'_>, node: NodeId) -> Result<(), SamlError> {
    let uri = algorithm(doc, node)?;
    if uri != alg::EXC_C14N {
        return Err(SamlError::ForbiddenAlgorithm(clip(uri)));
    }
    for param in xml::element_children(doc, node) {
        if !xml::is(doc, param, NS_EXC_C14N, "InclusiveNamespaces") {
            return Err(SamlError::ForbiddenAlgorithm("c14n parameters".into()));
        }
    }
    Ok(())
}

fn algorithm<'d>(doc: &'d Document<'_>, node: NodeId) -> Result<&'d str, SamlError> {
    xml::attr(doc, node, "Algorithm").ok_or(SamlError::Schema("Algorithm"))
}
