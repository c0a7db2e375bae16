//! Tests of the SAML core: the regression corpus of tests/fixtures/saml (responses), the
//! Redirect binding (AuthnRequest, Single Logout) and metadata.

mod attacks;
mod corpus;
mod metadata;
mod redirect;
