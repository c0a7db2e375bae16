//! The AuthnRequest we send over the HTTP-Redirect binding, and its random ID.

use chrono::{DateTime, SecondsFormat, Utc};

use super::redirect::{self, SpSigningKey};
use super::xml::escape;
use super::{SamlError, SpEndpoint};

/// A fresh request ID: `_` and 32 hex digits (128 random bits; an xs:ID must not start with a
/// digit). Store it with the browser session and pass it as [`super::Expectation::in_response_to`].
pub fn new_request_id() -> String {
    format!("_{}", hex::encode(crate::crypto::random::bytes::<16>()))
}

/// The IdP's SSO URL with a Redirect-binding AuthnRequest (`SAMLRequest`, `RelayState` when not
/// empty, and `SigAlg`/`Signature` over the exact query bytes when `signing` is given).
/// The request asks for the POST binding back to `sp.acs_url`.
pub fn authn_request_redirect(
    idp_sso_url: &str,
    sp: &SpEndpoint,
    request_id: &str,
    now: DateTime<Utc>,
    relay_state: &str,
    signing: Option<&SpSigningKey>,
) -> Result<String, SamlError> {
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{destination}" "#,
            r#"AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#
        ),
        id = escape(request_id),
        instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
        destination = escape(idp_sso_url),
        acs = escape(&sp.acs_url),
        issuer = escape(&sp.entity_id),
    );
    redirect::encode(idp_sso_url, "SAMLRequest", &xml, relay_state, signing)
}
