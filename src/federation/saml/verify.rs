//! `verify_response`: the POST-binding Response pipeline, in the order the checks run.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::dsig::{self, Signed};
use super::structure::{self, Carried};
use super::{
    Expectation, IdpTrust, SamlError, SpEndpoint, VerifiedAssertion, assertion, encrypted,
    response, xml,
};

/// The largest SAML message accepted, decoded (and the largest inflated Redirect message).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Verifies a POST-binding `SAMLResponse` (base64) from `idp`, sent to `sp`.
///
/// Refuses, each with its own [`SamlError`]: no configured certificate; oversize or badly
/// encoded input; DOCTYPE, entities, processing instructions, duplicate IDs; anything but
/// exactly one Assertion or EncryptedAssertion as a direct child of the Response; a signature
/// missing, misplaced, outside the algorithm allow-list, not referencing the consumed element,
/// or not verifying with `idp.signing_certs`; Issuer, Destination, status, InResponseTo,
/// Recipient, validity window, Conditions, Audience and AuthnStatement checks. Values are read
/// only from the document that was verified (for an encrypted assertion: the Response's fields
/// from the received document, the Assertion's from the decrypted one).
pub fn verify_response(
    saml_response_b64: &str,
    idp: &IdpTrust,
    sp: &SpEndpoint,
    expect: &Expectation<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    if idp.signing_certs.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    let window = assertion::Window::new(expect)?;
    let text = decode_post(saml_response_b64)?;
    let doc = xml::parse(&text)?;
    let layout = structure::locate(&doc)?;
    let response_sig = structure::signature_of(&doc, layout.response).map(|signature| Signed {
        signature,
        element: layout.response,
    });
    match layout.carried {
        Carried::Plain(a) => {
            let assertion_sig = structure::signature_of(&doc, a).map(|signature| Signed {
                signature,
                element: a,
            });
            let signed: Vec<Signed> = response_sig.into_iter().chain(assertion_sig).collect();
            if signed.is_empty() {
                return Err(SamlError::SignatureMissing);
            }
            dsig::verify(&doc, &idp.signing_certs, idp.allow_sha1, &signed)?;
            let envelope = response::check(
                &doc,
                layout.response,
                idp,
                sp,
                response_sig.is_some(),
                &window,
            )?;
            response::in_response_to(envelope.in_response_to.as_deref(), expect.in_response_to)?;
            let statement = assertion::read(&doc, a, idp, sp, expect)?;
            Ok(finish(envelope, statement, idp))
        }
        Carried::Encrypted(wrapper) => {
            encrypted::check_policy(&doc, wrapper)?;
            let key = sp
                .decryption_key
                .as_deref()
                .ok_or(SamlError::NoDecryptionKey)?;
            if let Some(s) = response_sig {
                dsig::verify(&doc, &idp.signing_certs, idp.allow_sha1, &[s])?;
            }
            let envelope = response::check(
                &doc,
                layout.response,
                idp,
                sp,
                response_sig.is_some(),
                &window,
            )?;
            response::in_response_to(envelope.in_response_to.as_deref(), expect.in_response_to)?;
            let plain = encrypted::decrypt(&text, key)?;
            if plain.len() > 2 * MAX_MESSAGE_BYTES {
                return Err(SamlError::TooLarge {
                    limit: 2 * MAX_MESSAGE_BYTES,
                });
            }
            let inner = xml::parse(&plain)?;
            let (_, a) = structure::locate_decrypted(&inner)?;
            match structure::signature_of(&inner, a) {
                Some(signature) => {
                    let s = Signed {
                        signature,
                        element: a,
                    };
                    dsig::verify(&inner, &idp.signing_certs, idp.allow_sha1, &[s])?;
                }
                // The Response signature covered the ciphertext: the IdP sent this assertion.
                None if response_sig.is_some() => {}
                None => return Err(SamlError::SignatureMissing),
            }
            let statement = assertion::read(&inner, a, idp, sp, expect)?;
            Ok(finish(envelope, statement, idp))
        }
    }
}

/// Base64 (whitespace allowed, as IdPs wrap lines) to UTF-8 text, within the size limit.
fn decode_post(b64: &str) -> Result<String, SamlError> {
    let limit = MAX_MESSAGE_BYTES;
    if b64.len() > limit * 2 {
        return Err(SamlError::TooLarge { limit });
    }
    let compact: Vec<u8> = b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = STANDARD
        .decode(&compact)
        .map_err(|_| SamlError::Encoding("base64"))?;
    if bytes.len() > limit {
        return Err(SamlError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| SamlError::Encoding("UTF-8"))
}

fn finish(
    envelope: response::Envelope,
    statement: assertion::Statement,
    idp: &IdpTrust,
) -> VerifiedAssertion {
    VerifiedAssertion {
        response_id: envelope.id,
        assertion_id: statement.id,
        issuer: idp.entity_id.clone(),
        name_id: statement.name_id,
        name_id_format: statement.name_id_format,
        session_index: statement.session_index,
        not_on_or_after: statement.not_on_or_after,
        session_not_on_or_after: statement.session_not_on_or_after,
        authn_context_class: statement.authn_context_class,
        attributes: statement.attributes,
        in_response_to: statement.in_response_to,
        one_time_use: statement.one_time_use,
    }
}
