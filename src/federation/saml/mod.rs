//! SAML 2.0 service provider, the pure core: no actix, no database, no HTTP.
//!
//! - `verify_response` (verify.rs) takes a POSTed `SAMLResponse` and returns a
//!   [`VerifiedAssertion`] or one typed [`SamlError`]. The order of checks: size → strict parse
//!   (no DOCTYPE/entities/PIs, no duplicate IDs) → placement (structure.rs: one Response, exactly
//!   one Assertion/EncryptedAssertion as its direct child, signatures only directly under those)
//!   → signature allow-list and verification with the configured certificates only (dsig.rs,
//!   bergshamra) → Response envelope (response.rs) → Assertion (assertion.rs). Encrypted
//!   assertions (encrypted.rs) are decrypted and then their own signature is verified, unless the
//!   Response's signature covered the ciphertext.
//! - The HTTP-Redirect binding (redirect.rs): AuthnRequest (authn_request.rs) and Single Logout
//!   (logout.rs), signed over the exact query bytes.
//! - Metadata (metadata.rs): ours out, the identity provider's in.
//!
//! What is left to the caller: the replay cache (Response and Assertion IDs until
//! `not_on_or_after`), binding `in_response_to` to the browser session, the policy on
//! unsolicited responses, linking, and the session (capped by `session_not_on_or_after`).
//! See docs/saml.md.

mod assertion;
mod authn_request;
mod dsig;
mod encrypted;
mod error;
mod logout;
mod metadata;
mod redirect;
mod response;
mod structure;
mod verify;
mod xml;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use authn_request::{authn_request_redirect, new_request_id};
pub use error::SamlError;
pub use logout::{
    LogoutRequest, LogoutSubject, logout_request_redirect, logout_response_redirect,
    parse_logout_request_redirect,
};
pub use metadata::{IdpMetadata, parse_idp_metadata, sp_metadata};
pub use redirect::SpSigningKey;
pub use verify::{MAX_MESSAGE_BYTES, verify_response};

/// What we trust about one upstream identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpTrust {
    /// The IdP's entityID; every Issuer must equal it.
    pub entity_id: String,
    /// The IdP's signing certificates (DER X.509). Only these verify signatures, never a
    /// certificate in the message's KeyInfo. Empty: every message is refused.
    pub signing_certs: Vec<Vec<u8>>,
    /// Accept RSA-SHA1 / SHA-1 digests (a tenant's explicit opt-in for old IdPs).
    pub allow_sha1: bool,
}

/// This service provider, as one IdP sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct SpEndpoint {
    /// Our entityID: the Audience every assertion must name.
    pub entity_id: String,
    /// Our AssertionConsumerService URL: Destination and Recipient.
    pub acs_url: String,
    /// PKCS#8 DER RSA key for EncryptedAssertion; `None` refuses encrypted assertions.
    pub decryption_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for SpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpEndpoint")
            .field("entity_id", &self.entity_id)
            .field("acs_url", &self.acs_url)
            .field(
                "decryption_key",
                &self.decryption_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What the caller expects of this response.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    /// The ID of the AuthnRequest this browser sent. `None`: an unsolicited response, accepted by
    /// the caller's policy; then a response carrying any InResponseTo is refused
    /// ([`SamlError::UnexpectedInResponseTo`]).
    pub in_response_to: Option<&'a str>,
    /// The current time (from the injected clock).
    pub now: DateTime<Utc>,
    /// Allowed clock skew each way (60–180 s is usual).
    pub skew: std::time::Duration,
}

/// A verified assertion: every value comes from the signed Assertion (or the signed Response
/// that directly contains it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The Response's ID (for the replay cache).
    pub response_id: String,
    /// The Assertion's ID (for the replay cache).
    pub assertion_id: String,
    /// The Assertion's Issuer (equal to the IdP's entityID).
    pub issuer: String,
    /// The subject's NameID, read whole.
    pub name_id: String,
    /// The NameID's Format attribute.
    pub name_id_format: Option<String>,
    /// AuthnStatement SessionIndex (for Single Logout).
    pub session_index: Option<String>,
    /// The earliest of SubjectConfirmationData and Conditions NotOnOrAfter: keep the replay
    /// cache entries until then.
    pub not_on_or_after: DateTime<Utc>,
    /// AuthnStatement SessionNotOnOrAfter: the local session must end by then.
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// AuthnContextClassRef.
    pub authn_context_class: Option<String>,
    /// Attributes by Name, values in order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The InResponseTo of the SubjectConfirmationData (equal to the expected request ID).
    pub in_response_to: Option<String>,
    /// Conditions carried OneTimeUse: the caller must not accept this assertion twice (the
    /// replay cache does that for every assertion anyway).
    pub one_time_use: bool,
}
