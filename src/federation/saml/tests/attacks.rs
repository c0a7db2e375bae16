//! The attack shapes of the corpus (tests/fixtures/saml): each ends in its one typed error.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::super::{MAX_MESSAGE_BYTES, SamlError, verify_response};
use super::corpus::{expect, idp, run, sp};

#[test]
fn size_and_encoding_limits() {
    let huge = "A".repeat(MAX_MESSAGE_BYTES * 2 + 4);
    assert!(matches!(
        verify_response(&huge, &idp(), &sp(), &expect()),
        Err(SamlError::TooLarge { .. })
    ));
    let big = STANDARD.encode(vec![b' '; MAX_MESSAGE_BYTES + 1]);
    assert!(matches!(
        verify_response(&big, &idp(), &sp(), &expect()),
        Err(SamlError::TooLarge { .. })
    ));
    assert_eq!(
        verify_response("not base64!", &idp(), &sp(), &expect()),
        Err(SamlError::Encoding("base64"))
    );
    assert!(matches!(
        run("<samlp:Response"),
        Err(SamlError::MalformedXml(_))
    ));
}

macro_rules! rejects {
    ($($name:ident => $pattern:pat,)*) => {$(
        #[test]
        fn $name() {
            let xml = include_str!(concat!(
                "../../../../tests/fixtures/saml/",
                stringify!($name),
                ".xml"
            ));
            let result = run(xml);
            assert!(matches!(result, Err($pattern)), "{}: {result:?}", stringify!($name));
            if let Err(e) = result {
                assert!(!e.code().is_empty());
            }
        }
    )*};
}

rejects! {
    xsw1 => SamlError::DuplicateId(_),
    xsw2 => SamlError::MisplacedElement("Response"),
    xsw3 => SamlError::AssertionCount(2),
    xsw4 => SamlError::AssertionCount(2),
    xsw5 => SamlError::AssertionCount(2),
    xsw6 => SamlError::AssertionCount(2),
    xsw7 => SamlError::AssertionCount(2),
    xsw8 => SamlError::AssertionCount(2),
    assertion_in_extensions => SamlError::MisplacedElement("Assertion"),
    assertion_in_advice => SamlError::AssertionCount(2),
    unsigned_beside_signed => SamlError::AssertionCount(2),
    duplicate_ids => SamlError::DuplicateId(_),
    nameid_comment => SamlError::MalformedValue("NameID"),
    tampered => SamlError::SignatureInvalid(_),
    reference_mismatch => SamlError::ReferenceMismatch,
    signature_removed => SamlError::SignatureMissing,
    missing_conditions => SamlError::ConditionsMissing,
    no_authn_statement => SamlError::AuthnStatementMissing,
    wrong_recipient => SamlError::RecipientMismatch,
    wrong_audience => SamlError::AudienceMismatch,
    wrong_destination => SamlError::DestinationMismatch,
    missing_destination_signed => SamlError::DestinationMismatch,
    expired => SamlError::Expired,
    not_yet_valid => SamlError::NotYetValid,
    wrong_issuer => SamlError::IssuerMismatch,
    in_response_to_mismatch => SamlError::InResponseToMismatch,
    status_not_success => SamlError::StatusNotSuccess(_),
    attacker_key => SamlError::SignatureInvalid(_),
    hmac => SamlError::ForbiddenAlgorithm(_),
    xpath_transform => SamlError::ForbiddenAlgorithm(_),
    c14n_with_comments => SamlError::ForbiddenAlgorithm(_),
    doctype_entity => SamlError::ForbiddenMarkup(_),
    processing_instruction => SamlError::ForbiddenMarkup("processing instruction"),
    encrypted_cbc => SamlError::ForbiddenAlgorithm(_),
    encrypted_pkcs1 => SamlError::ForbiddenAlgorithm(_),
    encrypted_unsigned => SamlError::SignatureMissing,
}

#[test]
fn response_signature_covers_the_assertion() {
    let xml = include_str!("../../../../tests/fixtures/saml/valid_response_signed.xml");
    let forged = xml.replace(
        "alice@example.com</saml:NameID>",
        "admin@example.com</saml:NameID>",
    );
    assert!(matches!(run(&forged), Err(SamlError::SignatureInvalid(_))));
}

#[test]
fn issued_in_the_future_is_refused() {
    let mut early = expect();
    early.now -= chrono::TimeDelta::minutes(5);
    let xml = include_str!("../../../../tests/fixtures/saml/valid_assertion_signed.xml");
    assert_eq!(
        verify_response(&STANDARD.encode(xml), &idp(), &sp(), &early),
        Err(SamlError::NotYetValid)
    );
}

/// Single-byte deletions and substitutions all over signed responses: nothing panics, and
/// whatever still verifies (bytes the signature does not cover, such as KeyInfo) still names
/// alice.
#[test]
fn mutations_never_change_the_subject() {
    let originals = [
        include_str!("../../../../tests/fixtures/saml/valid_assertion_signed.xml"),
        include_str!("../../../../tests/fixtures/saml/valid_response_signed.xml"),
    ];
    for original in originals {
        let bytes = original.as_bytes();
        for i in (0..bytes.len()).step_by(3) {
            let mut deleted = bytes.to_vec();
            deleted.remove(i);
            let mut swapped = bytes.to_vec();
            swapped[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            for mutated in [deleted, swapped] {
                let b64 = STANDARD.encode(&mutated);
                if let Ok(v) = verify_response(&b64, &idp(), &sp(), &expect()) {
                    assert_eq!(v.name_id, "alice@example.com", "mutation at {i}");
                    assert_eq!(v.attributes.len(), 2, "mutation at {i}");
                }
            }
        }
    }
}
