//! `SamlError`: every way a SAML message is refused, each with a stable snake_case code.

/// Why a SAML message (or configuration) was refused. Every variant is a refusal: nothing in this
/// module ever returns a partially checked value.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SamlError {
    /// The encoded message, or its inflated form, is larger than the limit.
    #[error("SAML message larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// Not valid base64, DEFLATE, UTF-8 or URL encoding.
    #[error("SAML message badly encoded: {0}")]
    Encoding(&'static str),
    /// Not well-formed XML.
    #[error("SAML message is not well-formed XML: {0}")]
    MalformedXml(String),
    /// DOCTYPE, entity declaration or processing instruction.
    #[error("forbidden XML construct: {0}")]
    ForbiddenMarkup(&'static str),
    /// Two elements carry the same ID value.
    #[error("duplicate XML ID {0:?}")]
    DuplicateId(String),
    /// A required element or attribute is missing or malformed.
    #[error("SAML message does not follow the schema: {0}")]
    Schema(&'static str),
    /// Not exactly one Assertion or EncryptedAssertion in the Response.
    #[error("expected exactly one assertion, found {0}")]
    AssertionCount(usize),
    /// An Assertion, Response or Signature where none may be (wrapping attempt).
    #[error("{0} in an unexpected place")]
    MisplacedElement(&'static str),
    /// The identity provider has no signing certificate configured: nothing can be accepted.
    #[error("no signing certificate configured for the identity provider")]
    NoTrustedCertificate,
    /// A configured certificate or key could not be loaded.
    #[error("configured certificate or key unusable: {0}")]
    BadKey(String),
    /// Neither the Assertion nor the Response that contains it is signed.
    #[error("the assertion is not signed")]
    SignatureMissing,
    /// A signature does not verify with the configured certificates.
    #[error("signature invalid: {0}")]
    SignatureInvalid(String),
    /// An algorithm or transform outside the allow-list.
    #[error("algorithm not allowed: {0}")]
    ForbiddenAlgorithm(String),
    /// The signature does not reference the element that is consumed.
    #[error("the signature does not reference the signed element")]
    ReferenceMismatch,
    /// Issuer is not the configured identity provider.
    #[error("issuer is not the configured identity provider")]
    IssuerMismatch,
    /// Destination is missing (signed Response) or not our ACS URL.
    #[error("destination is not this service provider's endpoint")]
    DestinationMismatch,
    /// The top-level StatusCode is not Success.
    #[error("identity provider answered with status {0}")]
    StatusNotSuccess(String),
    /// No bearer SubjectConfirmation.
    #[error("no bearer subject confirmation")]
    NoBearerConfirmation,
    /// SubjectConfirmationData Recipient is not our ACS URL.
    #[error("subject confirmation recipient is not this service provider's endpoint")]
    RecipientMismatch,
    /// A NotOnOrAfter has passed.
    #[error("assertion expired")]
    Expired,
    /// A NotBefore is still in the future.
    #[error("assertion not yet valid")]
    NotYetValid,
    /// InResponseTo is not the request we sent.
    #[error("InResponseTo does not match the request")]
    InResponseToMismatch,
    /// An unsolicited response was expected, but the response answers a request we cannot match.
    #[error("response answers a request that is not known here")]
    UnexpectedInResponseTo,
    /// The assertion has no Conditions.
    #[error("assertion has no Conditions")]
    ConditionsMissing,
    /// AudienceRestriction does not name this service provider.
    #[error("audience does not include this service provider")]
    AudienceMismatch,
    /// The assertion has no AuthnStatement.
    #[error("assertion has no AuthnStatement")]
    AuthnStatementMissing,
    /// A value (NameID, attribute value, …) contains comments or elements where only text may be.
    #[error("value of {0} is not plain text")]
    MalformedValue(&'static str),
    /// The encrypted assertion could not be decrypted.
    #[error("decryption failed: {0}")]
    Decryption(String),
    /// An encrypted assertion arrived but no decryption key is configured.
    #[error("encrypted assertion but no decryption key configured")]
    NoDecryptionKey,
    /// IdP metadata unusable.
    #[error("identity provider metadata: {0}")]
    Metadata(&'static str),
    /// Signing an outgoing message failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl SamlError {
    /// A stable snake_case code for audit events and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            SamlError::TooLarge { .. } => "too_large",
            SamlError::Encoding(_) => "bad_encoding",
            SamlError::MalformedXml(_) => "malformed_xml",
            SamlError::ForbiddenMarkup(_) => "forbidden_markup",
            SamlError::DuplicateId(_) => "duplicate_id",
            SamlError::Schema(_) => "schema",
            SamlError::AssertionCount(_) => "assertion_count",
            SamlError::MisplacedElement(_) => "misplaced_element",
            SamlError::NoTrustedCertificate => "no_trusted_certificate",
            SamlError::BadKey(_) => "bad_key",
            SamlError::SignatureMissing => "signature_missing",
            SamlError::SignatureInvalid(_) => "signature_invalid",
            SamlError::ForbiddenAlgorithm(_) => "forbidden_algorithm",
            SamlError::ReferenceMismatch => "reference_mismatch",
            SamlError::IssuerMismatch => "issuer_mismatch",
            SamlError::DestinationMismatch => "destination_mismatch",
            SamlError::StatusNotSuccess(_) => "status_not_success",
            SamlError::NoBearerConfirmation => "no_bearer_confirmation",
            SamlError::RecipientMismatch => "recipient_mismatch",
            SamlError::Expired => "expired",
            SamlError::NotYetValid => "not_yet_valid",
            SamlError::InResponseToMismatch => "in_response_to_mismatch",
            SamlError::UnexpectedInResponseTo => "unexpected_in_response_to",
            SamlError::ConditionsMissing => "conditions_missing",
            SamlError::AudienceMismatch => "audience_mismatch",
            SamlError::AuthnStatementMissing => "authn_statement_missing",
            SamlError::MalformedValue(_) => "malformed_value",
            SamlError::Decryption(_) => "decryption_failed",
            SamlError::NoDecryptionKey => "no_decryption_key",
            SamlError::Metadata(_) => "bad_metadata",
            SamlError::Signing(_) => "signing_failed",
        }
    }
}

/// At most 160 characters of a value taken from a message, for an error (and so a log line).
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 160;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}
