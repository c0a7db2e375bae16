//! Hosted pages for people (sign-in, sign-out, sign-up, landing, account, factors, first-admin setup)
//! and the operational endpoints (health, readiness, static assets). What they share (the
//! tenant of the path, the visitor, extractors) is in `web::people`, addresses in `web::paths`.

pub mod account;
pub mod account_changes;
pub mod apps;
pub mod assets;
pub mod email;
pub mod factors;
pub mod federation;
pub mod health;
pub mod home;
pub mod identities;
pub mod login;
pub mod logout;
pub mod mail_link;
pub mod mfa;
pub mod mfa_enrol;
pub mod recovery;
pub mod register;
pub mod saml;
pub mod session;
pub mod setup;
pub mod sign_in_check;
pub mod signed_in;
pub mod webauthn;

pub use super::paths::query_escape;
pub use super::people::{
    Visitor, end, load_tenant, load_tenant_for, must_sign_in, see_other, session_token, sessions,
    signed_in_or_redirect, visitor,
};
