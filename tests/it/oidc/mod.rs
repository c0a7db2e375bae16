//! The OAuth 2.0 / OpenID Connect provider, driven by the `openidconnect` crate as relying
//! party plus a cookie-carrying browser for the hosted pages.

mod access;
mod authorize;
mod clients;
pub mod code_flow;
mod consent;
pub mod flow;
mod hostile;
mod introspection;
mod keys;
mod lifecycle;
mod logout;
mod machine;
mod refresh;
