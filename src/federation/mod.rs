//! Federation: signing in through upstream identity providers (OIDC, Entra ID, SAML 2.0).
pub mod saml;
