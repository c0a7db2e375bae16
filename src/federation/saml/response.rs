//! The Response envelope: Version, ID, Issuer (when present), Destination, Status and the
//! InResponseTo rule, read from the Response element that was located (and, when signed,
//! verified).

use bergshamra::xml::uppsala::{Document, NodeId};

use super::assertion::Window;
use super::error::clip;
use super::xml::{self, NS_SAML, NS_SAMLP};
use super::{IdpTrust, SamlError, SpEndpoint};

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// What the rest of the pipeline needs from the Response element.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub id: String,
    pub in_response_to: Option<String>,
}

/// Checks the Response element. `signed`: the Response itself carries a verified signature,
/// and then a Destination is required. IssueInstant may not be in the future.
pub(crate) fn check(
    doc: &Document<'_>,
    response: NodeId,
    idp: &IdpTrust,
    sp: &SpEndpoint,
    signed: bool,
    window: &Window,
) -> Result<Envelope, SamlError> {
    if xml::attr(doc, response, "Version") != Some("2.0") {
        return Err(SamlError::Schema("Response Version"));
    }
    let id = xml::attr(doc, response, "ID")
        .filter(|v| !v.is_empty())
        .ok_or(SamlError::Schema("Response ID"))?;
    window.issued(xml::time_attr(doc, response, "IssueInstant")?)?;
    if let Some(issuer) = xml::at_most_one(doc, response, NS_SAML, "Issuer")?
        && xml::text(doc, issuer, "Issuer")? != idp.entity_id
    {
        return Err(SamlError::IssuerMismatch);
    }
    match xml::attr(doc, response, "Destination") {
        Some(d) if d == sp.acs_url => {}
        None if !signed => {}
        _ => return Err(SamlError::DestinationMismatch),
    }
    let status = xml::exactly_one(doc, response, NS_SAMLP, "Status")?;
    let code = xml::exactly_one(doc, status, NS_SAMLP, "StatusCode")?;
    let value = xml::attr(doc, code, "Value").ok_or(SamlError::Schema("StatusCode Value"))?;
    if value != SUCCESS {
        return Err(SamlError::StatusNotSuccess(clip(value)));
    }
    Ok(Envelope {
        id: id.to_owned(),
        in_response_to: xml::attr(doc, response, "InResponseTo").map(str::to_owned),
    })
}

/// The InResponseTo rule, for the Response attribute and the SubjectConfirmationData one.
///
/// With a request to match (`expected` is `Some`), a value that is present must equal it (the
/// SubjectConfirmationData one is required, see `assertion.rs`). Without one (an unsolicited
/// response the caller's policy accepts), any InResponseTo is refused: it answers a request
/// this browser did not make here, so it can't be matched and must not be taken as unsolicited.
pub(crate) fn in_response_to(found: Option<&str>, expected: Option<&str>) -> Result<(), SamlError> {
    match (found, expected) {
        (None, _) => Ok(()),
        (Some(f), Some(e)) if f == e => Ok(()),
        (Some(_), Some(_)) => Err(SamlError::InResponseToMismatch),
        (Some(_), None) => Err(SamlError::UnexpectedInResponseTo),
    }
}
