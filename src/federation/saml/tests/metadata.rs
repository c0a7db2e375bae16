//! Metadata: the IdP's is read with clear errors; ours is well-formed and, when signed, verifies.

use super::super::dsig::{self, Signed};
use super::super::structure::signature_of;
use super::super::xml::{self, NS_MD};
use super::super::{SamlError, SpSigningKey, parse_idp_metadata, sp_metadata};
use super::corpus::{ACS, IDP, IDP_CERT, SP, sp};

const IDP_KEY: &[u8] = include_bytes!("../../../../tests/fixtures/saml/idp.key.pk8.der");
const SP_CERT: &[u8] = include_bytes!("../../../../tests/fixtures/saml/sp.crt.der");

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/saml/", $name, ".xml"))
    };
}

#[test]
fn idp_metadata_is_read() {
    for xml_text in [fixture!("idp_metadata"), fixture!("idp_metadata_no_use")] {
        let md = parse_idp_metadata(xml_text).expect("valid");
        assert_eq!(md.entity_id, IDP);
        assert_eq!(md.sso_redirect_url, "https://idp.example.org/sso");
        assert_eq!(
            md.slo_redirect_url.as_deref(),
            Some("https://idp.example.org/slo")
        );
        assert_eq!(md.signing_certs, vec![IDP_CERT.to_vec()]);
    }
}

#[test]
fn idp_metadata_refusals() {
    assert_eq!(
        parse_idp_metadata(fixture!("idp_metadata_no_entity_id")),
        Err(SamlError::Metadata("entityID is missing"))
    );
    for xml_text in [
        fixture!("idp_metadata_encryption_only"),
        fixture!("idp_metadata_no_keys"),
    ] {
        assert_eq!(
            parse_idp_metadata(xml_text),
            Err(SamlError::Metadata(
                "no signing certificate (KeyDescriptor use=\"signing\")"
            ))
        );
    }
    assert!(matches!(
        parse_idp_metadata(
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>"
        ),
        Err(SamlError::Metadata(_))
    ));
}

#[test]
fn sp_metadata_unsigned() {
    let out = sp_metadata(
        &sp(),
        Some("https://sp.example.com/saml/slo"),
        &[],
        Some(SP_CERT),
        None,
    )
    .expect("metadata");
    let doc = xml::parse(&out).expect("well-formed");
    let root = xml::root(&doc).expect("root");
    assert!(xml::is(&doc, root, NS_MD, "EntityDescriptor"));
    assert_eq!(xml::attr(&doc, root, "entityID"), Some(SP));
    assert!(out.contains(ACS));
    assert!(out.contains(r#"use="encryption""#));
    assert!(signature_of(&doc, root).is_none());
}

#[test]
fn sp_metadata_signed_verifies() {
    let key = SpSigningKey::from_pkcs8_der(IDP_KEY).expect("key");
    let out = sp_metadata(&sp(), None, &[IDP_CERT.to_vec()], None, Some(&key)).expect("metadata");
    let doc = xml::parse(&out).expect("well-formed");
    let root = xml::root(&doc).expect("root");
    let signature = signature_of(&doc, root).expect("signed");
    let signed = [Signed {
        signature,
        element: root,
    }];
    dsig::verify(&doc, &[IDP_CERT.to_vec()], false, &signed).expect("verifies");
}
