//! Tests of the SAML core: the regression corpus of tests/fixtures/saml (responses), the
//! Redirect binding and metadata.

mod corpus;
