//! The HTTP-Redirect binding: our AuthnRequest decodes back, inflation is bounded, and a
//! LogoutRequest is accepted only with a good signature from a configured certificate.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::TimeDelta;

use super::super::redirect::{decode_signed, decode_value, inflate_bounded};
use super::super::xml::{self, NS_SAML, NS_SAMLP};
use super::super::{
    LogoutSubject, SamlError, SpEndpoint, SpSigningKey, authn_request_redirect,
    logout_request_redirect, logout_response_redirect, new_request_id,
    parse_logout_request_redirect,
};
use super::corpus::{ACS, IDP, SP, idp, now, sp};

const IDP_KEY: &[u8] = include_bytes!("../../../../tests/fixtures/saml/idp.key.pk8.der");
const SP_KEY: &[u8] = include_bytes!("../../../../tests/fixtures/saml/sp.key.pk8.der");

fn query(url: &str) -> &str {
    url.split_once('?').map(|(_, q)| q).unwrap_or_default()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode_value(v).expect("url-encoded"))
}

fn inflate(url: &str, name: &str) -> String {
    let b64 = param(url, name).expect("message parameter");
    let deflated = STANDARD.decode(b64).expect("base64");
    String::from_utf8(inflate_bounded(&deflated, 64 * 1024).expect("inflates")).expect("utf-8")
}

#[test]
fn request_ids_are_xml_ids_and_distinct() {
    let (a, b) = (new_request_id(), new_request_id());
    assert!(a.starts_with('_') && a.len() == 33);
    assert_ne!(a, b);
}

#[test]
fn authn_request_decodes_back() {
    let url = authn_request_redirect(
        "https://idp.example.org/sso?tenant=a&b",
        &sp(),
        "_req1",
        now(),
        "back to /inbox",
        None,
    )
    .expect("encodes");
    assert!(url.starts_with("https://idp.example.org/sso?tenant=a&b&SAMLRequest="));
    assert_eq!(param(&url, "RelayState").as_deref(), Some("back to /inbox"));
    assert_eq!(param(&url, "Signature"), None);
    let xml_text = inflate(&url, "SAMLRequest");
    let doc = xml::parse(&xml_text).expect("well-formed");
    let root = xml::root(&doc).expect("root");
    assert!(xml::is(&doc, root, NS_SAMLP, "AuthnRequest"));
    assert_eq!(xml::attr(&doc, root, "ID"), Some("_req1"));
    assert_eq!(
        xml::attr(&doc, root, "AssertionConsumerServiceURL"),
        Some(ACS)
    );
    assert_eq!(
        xml::attr(&doc, root, "IssueInstant"),
        Some("2030-01-01T10:01:00Z")
    );
    let issuer = xml::exactly_one(&doc, root, NS_SAML, "Issuer").expect("issuer");
    assert_eq!(xml::text(&doc, issuer, "Issuer").as_deref(), Ok(SP));
}

#[test]
fn signed_authn_request_verifies_over_the_query_bytes() {
    let key = SpSigningKey::from_pkcs8_der(IDP_KEY).expect("key");
    let url = authn_request_redirect(
        "https://idp.example.org/sso",
        &sp(),
        "_r",
        now(),
        "",
        Some(&key),
    )
    .expect("encodes");
    assert_eq!(param(&url, "RelayState"), None);
    assert_eq!(
        param(&url, "SigAlg").as_deref(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    // The IdP side of the check, with the certificate of the key that signed.
    let received = decode_signed(query(&url), "SAMLRequest", &idp()).expect("verifies");
    assert!(received.xml.contains(r#"ID="_r""#));
}

#[test]
fn inflation_is_bounded() {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(&vec![b'<'; 4 * 1024 * 1024])
        .expect("deflate");
    let bomb = encoder.finish().expect("deflate");
    assert!(bomb.len() < 10 * 1024);
    assert_eq!(
        inflate_bounded(&bomb, 256 * 1024),
        Err(SamlError::TooLarge { limit: 256 * 1024 })
    );
    assert_eq!(
        inflate_bounded(b"not deflate", 1024),
        Err(SamlError::Encoding("deflate"))
    );
}

/// A LogoutRequest as the IdP sends it: our outbound builder, with the IdP as the sender.
fn idp_logout(signing: Option<&[u8]>, relay_state: &str) -> String {
    let as_idp = SpEndpoint {
        entity_id: IDP.into(),
        acs_url: String::new(),
        decryption_key: None,
    };
    let key = signing.map(|k| SpSigningKey::from_pkcs8_der(k).expect("key"));
    let subject = LogoutSubject {
        name_id: "alice@example.com",
        name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
        session_index: Some("_s-77"),
    };
    let url = logout_request_redirect(
        "https://sp.example.com/saml/slo",
        &as_idp,
        "_lo1",
        now(),
        &subject,
        relay_state,
        key.as_ref(),
    )
    .expect("encodes");
    query(&url).to_owned()
}

#[test]
fn logout_request_with_good_signature() {
    let q = idp_logout(Some(IDP_KEY), "rs-1");
    let request = parse_logout_request_redirect(&q, &idp(), &sp(), now()).expect("valid");
    assert_eq!(request.id, "_lo1");
    assert_eq!(request.name_id, "alice@example.com");
    assert_eq!(request.session_indexes, vec!["_s-77".to_owned()]);
    assert_eq!(request.issuer, IDP);
    assert_eq!(request.relay_state.as_deref(), Some("rs-1"));
    assert_eq!(
        request.destination.as_deref(),
        Some("https://sp.example.com/saml/slo")
    );
}

#[test]
fn logout_request_refusals() {
    let good = idp_logout(Some(IDP_KEY), "rs-1");
    let parse = |q: &str| parse_logout_request_redirect(q, &idp(), &sp(), now());
    // Tampered: the relay state is covered by the signature.
    let tampered = good.replace("RelayState=rs-1", "RelayState=rs-2");
    assert!(matches!(
        parse(&tampered),
        Err(SamlError::SignatureInvalid(_))
    ));
    // Unsigned.
    assert_eq!(
        parse(&idp_logout(None, "")),
        Err(SamlError::SignatureMissing)
    );
    // Signed by a key whose certificate is not configured.
    assert!(matches!(
        parse(&idp_logout(Some(SP_KEY), "")),
        Err(SamlError::SignatureInvalid(_))
    ));
    // SHA-1 not allowed.
    let sha1 = good.replace("xmldsig-more%23rsa-sha256", "xmldsig%23rsa-sha1");
    assert!(matches!(
        parse(&sha1),
        Err(SamlError::ForbiddenAlgorithm(_))
    ));
    // A parameter twice.
    assert_eq!(
        parse(&format!("{good}&RelayState=x")),
        Err(SamlError::Encoding("repeated parameter"))
    );
    // No certificate: never fail open.
    let mut none = idp();
    none.signing_certs.clear();
    assert_eq!(
        parse_logout_request_redirect(&good, &none, &sp(), now()),
        Err(SamlError::NoTrustedCertificate)
    );
    // Too old.
    assert_eq!(
        parse_logout_request_redirect(&good, &idp(), &sp(), now() + TimeDelta::minutes(11)),
        Err(SamlError::Expired)
    );
}

#[test]
fn logout_response_decodes_back_and_verifies() {
    let key = SpSigningKey::from_pkcs8_der(IDP_KEY).expect("key");
    let url = logout_response_redirect(
        "https://idp.example.org/slo",
        &sp(),
        "_resp1",
        "_lo1",
        now(),
        "rs-1",
        Some(&key),
    )
    .expect("encodes");
    let received = decode_signed(query(&url), "SAMLResponse", &idp()).expect("verifies");
    let doc = xml::parse(&received.xml).expect("well-formed");
    let root = xml::root(&doc).expect("root");
    assert!(xml::is(&doc, root, NS_SAMLP, "LogoutResponse"));
    assert_eq!(xml::attr(&doc, root, "InResponseTo"), Some("_lo1"));
    assert_eq!(received.relay_state.as_deref(), Some("rs-1"));
}
