//! Where things may be in a Response: one Response (the document element), exactly one
//! Assertion or EncryptedAssertion as its direct child and none anywhere else (Extensions,
//! Advice, Signature, Object, nested), and signatures only directly under the Response or the
//! Assertion. Everything signature wrapping (XSW) needs is refused here, before any signature is
//! looked at.

use bergshamra::xml::uppsala::{Document, NodeId};

use super::SamlError;
use super::xml::{self, NS_DS, NS_SAML, NS_SAMLP, NS_XENC};

/// What the Response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carried {
    /// A plain `saml:Assertion`, direct child of the Response.
    Plain(NodeId),
    /// A `saml:EncryptedAssertion`, direct child of the Response.
    Encrypted(NodeId),
}

/// The Response and what it carries, after the placement checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub response: NodeId,
    pub carried: Carried,
}

/// Checks the placement rules on a received (possibly encrypted) Response.
pub(crate) fn locate(doc: &Document<'_>) -> Result<Layout, SamlError> {
    let response = single_response(doc)?;
    let assertions = xml::all(doc, NS_SAML, "Assertion");
    let encrypted = xml::all(doc, NS_SAML, "EncryptedAssertion");
    let count = assertions.len() + encrypted.len();
    if count != 1 {
        return Err(SamlError::AssertionCount(count));
    }
    let carried = match (assertions.first(), encrypted.first()) {
        (Some(a), _) => Carried::Plain(*a),
        (None, Some(e)) => Carried::Encrypted(*e),
        (None, None) => return Err(SamlError::AssertionCount(0)),
    };
    let node = match carried {
        Carried::Plain(n) | Carried::Encrypted(n) => n,
    };
    if doc.parent(node) != Some(response) {
        return Err(SamlError::MisplacedElement("Assertion"));
    }
    let mut signed_parents = vec![response];
    if let Carried::Plain(a) = carried {
        signed_parents.push(a);
    }
    signatures_only_under(doc, &signed_parents)?;
    Ok(Layout { response, carried })
}

/// Checks the placement rules on a decrypted document: the one Assertion sits inside the
/// EncryptedAssertion that is a direct child of the Response, and no ciphertext is left.
pub(crate) fn locate_decrypted(doc: &Document<'_>) -> Result<(NodeId, NodeId), SamlError> {
    let response = single_response(doc)?;
    let assertions = xml::all(doc, NS_SAML, "Assertion");
    let [assertion] = assertions.as_slice() else {
        return Err(SamlError::AssertionCount(assertions.len()));
    };
    let wrapper = doc
        .parent(*assertion)
        .filter(|w| xml::is(doc, *w, NS_SAML, "EncryptedAssertion"))
        .ok_or(SamlError::MisplacedElement("Assertion"))?;
    if doc.parent(wrapper) != Some(response)
        || xml::all(doc, NS_SAML, "EncryptedAssertion").len() != 1
    {
        return Err(SamlError::MisplacedElement("Assertion"));
    }
    if !xml::all(doc, NS_XENC, "EncryptedData").is_empty() {
        return Err(SamlError::MisplacedElement("EncryptedData"));
    }
    signatures_only_under(doc, &[response, *assertion])?;
    Ok((response, *assertion))
}

/// The document element, which must be the only `samlp:Response`.
fn single_response(doc: &Document<'_>) -> Result<NodeId, SamlError> {
    let root = xml::root(doc)?;
    if !xml::is(doc, root, NS_SAMLP, "Response") {
        return Err(SamlError::Schema("document element is not samlp:Response"));
    }
    if xml::all(doc, NS_SAMLP, "Response").len() != 1 {
        return Err(SamlError::MisplacedElement("Response"));
    }
    Ok(root)
}

/// Every `ds:Signature` is a direct child of one of `parents`, at most one per parent.
fn signatures_only_under(doc: &Document<'_>, parents: &[NodeId]) -> Result<(), SamlError> {
    let mut used = Vec::new();
    for sig in xml::all(doc, NS_DS, "Signature") {
        let parent = doc.parent(sig);
        match parent {
            Some(p) if parents.contains(&p) && !used.contains(&p) => used.push(p),
            _ => return Err(SamlError::MisplacedElement("Signature")),
        }
    }
    Ok(())
}

/// The `ds:Signature` directly under `parent`, if any.
pub(crate) fn signature_of(doc: &Document<'_>, parent: NodeId) -> Option<NodeId> {
    xml::children(doc, parent, NS_DS, "Signature")
        .first()
        .copied()
}
