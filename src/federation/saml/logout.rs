//! Single Logout over the HTTP-Redirect binding: the IdP's LogoutRequest in (signature over the
//! query required), our LogoutRequest and LogoutResponse out.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::redirect::{self, SpSigningKey};
use super::xml::{self, NS_SAML, NS_SAMLP, escape};
use super::{IdpTrust, SamlError, SpEndpoint};

/// How old a received LogoutRequest's IssueInstant may be.
const MAX_AGE: TimeDelta = TimeDelta::minutes(10);
/// How far in the future a received IssueInstant may be (clock skew).
const MAX_FUTURE: TimeDelta = TimeDelta::minutes(3);

/// A LogoutRequest from the IdP whose Redirect-binding signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Its ID: the InResponseTo of our LogoutResponse.
    pub id: String,
    /// The subject to sign out.
    pub name_id: String,
    /// The sessions to end; empty means every session of the subject at this IdP.
    pub session_indexes: Vec<String>,
    /// The Issuer (equal to the IdP's entityID).
    pub issuer: String,
    /// RelayState, to send back with the LogoutResponse.
    pub relay_state: Option<String>,
    /// Destination, as received (the caller compares it with its SLO URL).
    pub destination: Option<String>,
}

/// Who we sign out at the IdP: the values of the [`super::VerifiedAssertion`] of the sign-in.
#[derive(Debug, Clone, Copy)]
pub struct LogoutSubject<'a> {
    /// NameID as received.
    pub name_id: &'a str,
    /// NameID Format as received.
    pub name_id_format: Option<&'a str>,
    /// SessionIndex as received.
    pub session_index: Option<&'a str>,
}

/// Verifies and reads a Redirect-binding LogoutRequest (`query`: the raw query string as
/// received). The signature over the exact query bytes is required and checked with
/// `idp.signing_certs` only. IssueInstant must be within the last 10 minutes (3 minutes of
/// skew into the future); NotOnOrAfter, when present, in the future. Destination is returned,
/// not checked here (the SLO URL is the caller's, who must compare it); a NameID
/// SPNameQualifier must be our entityID.
pub fn parse_logout_request_redirect(
    query: &str,
    idp: &IdpTrust,
    sp: &SpEndpoint,
    now: DateTime<Utc>,
) -> Result<LogoutRequest, SamlError> {
    let received = redirect::decode_signed(query, "SAMLRequest", idp)?;
    let doc = xml::parse(&received.xml)?;
    let root = xml::root(&doc)?;
    if !xml::is(&doc, root, NS_SAMLP, "LogoutRequest") {
        return Err(SamlError::Schema(
            "document element is not samlp:LogoutRequest",
        ));
    }
    if xml::attr(&doc, root, "Version") != Some("2.0") {
        return Err(SamlError::Schema("LogoutRequest Version"));
    }
    let id = xml::attr(&doc, root, "ID")
        .filter(|v| !v.is_empty())
        .ok_or(SamlError::Schema("LogoutRequest ID"))?;
    let issued =
        xml::time_attr(&doc, root, "IssueInstant")?.ok_or(SamlError::Schema("IssueInstant"))?;
    if issued > now + MAX_FUTURE {
        return Err(SamlError::NotYetValid);
    }
    if issued < now - MAX_AGE {
        return Err(SamlError::Expired);
    }
    if xml::time_attr(&doc, root, "NotOnOrAfter")?.is_some_and(|t| now >= t) {
        return Err(SamlError::Expired);
    }
    let issuer = xml::exactly_one(&doc, root, NS_SAML, "Issuer")?;
    let issuer = xml::text(&doc, issuer, "Issuer")?;
    if issuer != idp.entity_id {
        return Err(SamlError::IssuerMismatch);
    }
    let name = xml::exactly_one(&doc, root, NS_SAML, "NameID")?;
    if xml::attr(&doc, name, "SPNameQualifier").is_some_and(|q| q != sp.entity_id) {
        return Err(SamlError::AudienceMismatch);
    }
    let name_id = xml::text(&doc, name, "NameID")?;
    if name_id.is_empty() {
        return Err(SamlError::Schema("NameID"));
    }
    let mut session_indexes = Vec::new();
    for index in xml::children(&doc, root, NS_SAMLP, "SessionIndex") {
        session_indexes.push(xml::text(&doc, index, "SessionIndex")?);
    }
    Ok(LogoutRequest {
        id: id.to_owned(),
        name_id,
        session_indexes,
        issuer,
        relay_state: received.relay_state,
        destination: xml::attr(&doc, root, "Destination").map(str::to_owned),
    })
}

/// The IdP's SLO URL with our Redirect-binding LogoutRequest for `subject`.
pub fn logout_request_redirect(
    idp_slo_url: &str,
    sp: &SpEndpoint,
    request_id: &str,
    now: DateTime<Utc>,
    subject: &LogoutSubject<'_>,
    relay_state: &str,
    signing: Option<&SpSigningKey>,
) -> Result<String, SamlError> {
    let format = subject
        .name_id_format
        .map(|f| format!(r#" Format="{}""#, escape(f)))
        .unwrap_or_default();
    let session = subject
        .session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(s)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{destination}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><saml:NameID{format}>{name_id}</saml:NameID>"#,
            r#"{session}</samlp:LogoutRequest>"#
        ),
        id = escape(request_id),
        instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
        destination = escape(idp_slo_url),
        issuer = escape(&sp.entity_id),
        format = format,
        name_id = escape(subject.name_id),
        session = session,
    );
    redirect::encode(idp_slo_url, "SAMLRequest", &xml, relay_state, signing)
}

/// The IdP's SLO URL with our Redirect-binding LogoutResponse (status Success) to the IdP's
/// LogoutRequest `in_response_to`.
pub fn logout_response_redirect(
    idp_slo_url: &str,
    sp: &SpEndpoint,
    response_id: &str,
    in_response_to: &str,
    now: DateTime<Utc>,
    relay_state: &str,
    signing: Option<&SpSigningKey>,
) -> Result<String, SamlError> {
    let xml = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{destination}" InResponseTo="{irt}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status>"#,
            r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
            r#"</samlp:Status></samlp:LogoutResponse>"#
        ),
        id = escape(response_id),
        instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
        destination = escape(idp_slo_url),
        irt = escape(in_response_to),
        issuer = escape(&sp.entity_id),
    );
    redirect::encode(idp_slo_url, "SAMLResponse", &xml, relay_state, signing)
}
