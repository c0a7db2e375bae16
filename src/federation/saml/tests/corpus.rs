//! The Response corpus (tests/fixtures/saml, made by make.py): the valid shapes verify with the
//! right values; every attack shape ends in its one typed error.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use super::super::{
    Expectation, IdpTrust, SamlError, SpEndpoint, VerifiedAssertion, verify_response,
};

pub(super) const IDP: &str = "https://idp.example.org/metadata";
pub(super) const SP: &str = "https://sp.example.com/saml/metadata";
pub(super) const ACS: &str = "https://sp.example.com/saml/acs";
const REQ: &str = "_req-4f1c2a";
pub(super) const IDP_CERT: &[u8] = include_bytes!("../../../../tests/fixtures/saml/idp.crt.der");
const IDP_EC_CERT: &[u8] = include_bytes!("../../../../tests/fixtures/saml/idp-ec.crt.der");
const ATTACKER_CERT: &[u8] = include_bytes!("../../../../tests/fixtures/saml/attacker.crt.der");
const SP_KEY: &[u8] = include_bytes!("../../../../tests/fixtures/saml/sp.key.pk8.der");

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/saml/", $name, ".xml"))
    };
}

pub(super) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T10:01:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("fixed time")
}

pub(super) fn idp() -> IdpTrust {
    IdpTrust {
        entity_id: IDP.into(),
        signing_certs: vec![IDP_CERT.to_vec()],
        allow_sha1: false,
    }
}

pub(super) fn sp() -> SpEndpoint {
    SpEndpoint {
        entity_id: SP.into(),
        acs_url: ACS.into(),
        decryption_key: Some(SP_KEY.to_vec()),
    }
}

pub(super) fn expect() -> Expectation<'static> {
    Expectation {
        in_response_to: Some(REQ),
        now: now(),
        skew: std::time::Duration::from_secs(60),
    }
}

fn check(
    xml: &str,
    idp: &IdpTrust,
    expect: &Expectation<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    verify_response(&STANDARD.encode(xml), idp, &sp(), expect)
}

pub(super) fn run(xml: &str) -> Result<VerifiedAssertion, SamlError> {
    check(xml, &idp(), &expect())
}

fn assert_alice(v: &VerifiedAssertion) {
    assert_eq!(v.name_id, "alice@example.com");
    assert_eq!(
        v.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
    );
    assert_eq!(v.issuer, IDP);
    assert_eq!(v.response_id, "_r1");
    assert_eq!(v.assertion_id, "_a1");
    assert_eq!(v.session_index.as_deref(), Some("_s-77"));
    assert_eq!(v.not_on_or_after.to_rfc3339(), "2030-01-01T10:05:00+00:00");
    assert_eq!(
        v.session_not_on_or_after.map(|t| t.to_rfc3339()).as_deref(),
        Some("2030-01-01T18:00:00+00:00")
    );
    assert_eq!(
        v.authn_context_class.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    );
    assert_eq!(
        v.attributes,
        vec![
            ("mail".to_owned(), vec!["alice@example.com".to_owned()]),
            (
                "groups".to_owned(),
                vec!["staff".to_owned(), "admins".to_owned()]
            ),
        ]
    );
}

#[test]
fn valid_assertion_signed() {
    let v = run(fixture!("valid_assertion_signed")).expect("valid");
    assert_alice(&v);
    assert_eq!(v.in_response_to.as_deref(), Some(REQ));
    assert!(!v.one_time_use);
}

#[test]
fn valid_response_signed() {
    assert_alice(&run(fixture!("valid_response_signed")).expect("valid"));
}

#[test]
fn valid_both_signed() {
    assert_alice(&run(fixture!("valid_both_signed")).expect("valid"));
}

#[test]
fn valid_with_xml_declaration_and_wrapped_base64() {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        fixture!("valid_assertion_signed")
    );
    let b64 = STANDARD.encode(xml);
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let v = verify_response(&wrapped.join("\r\n"), &idp(), &sp(), &expect()).expect("valid");
    assert_alice(&v);
}

#[test]
fn valid_ecdsa_with_ec_certificate() {
    let mut trust = idp();
    trust.signing_certs = vec![IDP_EC_CERT.to_vec()];
    assert_alice(&check(fixture!("valid_ecdsa"), &trust, &expect()).expect("valid"));
}

#[test]
fn certificate_rollover_any_configured_certificate_verifies() {
    let mut trust = idp();
    trust.signing_certs = vec![ATTACKER_CERT.to_vec(), IDP_CERT.to_vec()];
    assert_alice(&check(fixture!("valid_assertion_signed"), &trust, &expect()).expect("valid"));
}

#[test]
fn unsolicited_accepted_only_without_in_response_to() {
    let unsolicited = Expectation {
        in_response_to: None,
        ..expect()
    };
    let v = check(fixture!("valid_unsolicited"), &idp(), &unsolicited).expect("valid");
    assert_eq!(v.in_response_to, None);
    // An answer to some request cannot be taken as unsolicited.
    let err = check(fixture!("valid_assertion_signed"), &idp(), &unsolicited);
    assert_eq!(err, Err(SamlError::UnexpectedInResponseTo));
    // And a response without InResponseTo is not the answer to our request.
    assert_eq!(
        run(fixture!("valid_unsolicited")),
        Err(SamlError::InResponseToMismatch)
    );
}

#[test]
fn no_certificate_configured_never_fails_open() {
    let mut trust = idp();
    trust.signing_certs.clear();
    for xml in [
        fixture!("valid_assertion_signed"),
        fixture!("signature_removed"),
    ] {
        assert_eq!(
            check(xml, &trust, &expect()),
            Err(SamlError::NoTrustedCertificate)
        );
    }
}

#[test]
fn sha1_only_when_allowed() {
    assert!(matches!(
        run(fixture!("sha1")),
        Err(SamlError::ForbiddenAlgorithm(_))
    ));
    let mut trust = idp();
    trust.allow_sha1 = true;
    assert_alice(&check(fixture!("sha1"), &trust, &expect()).expect("valid when allowed"));
}

#[test]
fn encrypted_oaep_gcm_accepted() {
    assert_alice(&run(fixture!("encrypted_gcm")).expect("valid"));
}

#[test]
fn interop_pysaml2_response_and_assertion_signed() {
    let xml = fixture!("interop_pysaml2");
    let issued = xml
        .split("IssueInstant=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("IssueInstant");
    let at = Expectation {
        now: DateTime::parse_from_rfc3339(issued)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
            + chrono::TimeDelta::seconds(30),
        ..expect()
    };
    let v = check(xml, &idp(), &at).expect("valid");
    assert_eq!(v.name_id, "alice@example.com");
    assert_eq!(v.in_response_to.as_deref(), Some(REQ));
    let groups = v
        .attributes
        .iter()
        .find(|(n, _)| n == "groups")
        .expect("groups");
    assert_eq!(groups.1, vec!["staff".to_owned(), "admins".to_owned()]);
}

#[test]
fn encrypted_key_beside_the_data_accepted() {
    assert_alice(&run(fixture!("encrypted_key_sibling")).expect("valid"));
}

#[test]
fn encrypted_unsigned_inside_signed_response_accepted() {
    assert_alice(&run(fixture!("encrypted_gcm_response_signed")).expect("valid"));
}

#[test]
fn encrypted_without_decryption_key() {
    let mut ours = sp();
    ours.decryption_key = None;
    let r = verify_response(
        &STANDARD.encode(fixture!("encrypted_gcm")),
        &idp(),
        &ours,
        &expect(),
    );
    assert_eq!(r, Err(SamlError::NoDecryptionKey));
}

#[test]
fn time_window_edges_use_the_skew() {
    // Conditions and SubjectConfirmationData end at 10:05:00, IssueInstant 10:00:00 (NotBefore
    // 09:59:00); 60 s of skew.
    let at = |t: &str| Expectation {
        now: DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .expect("time"),
        ..expect()
    };
    let xml = fixture!("valid_assertion_signed");
    assert!(check(xml, &idp(), &at("2030-01-01T10:05:59Z")).is_ok());
    assert_eq!(
        check(xml, &idp(), &at("2030-01-01T10:06:00Z")),
        Err(SamlError::Expired)
    );
    assert!(check(xml, &idp(), &at("2030-01-01T09:59:00Z")).is_ok());
    assert_eq!(
        check(xml, &idp(), &at("2030-01-01T09:58:59Z")),
        Err(SamlError::NotYetValid)
    );
}
