//! The OAuth 2.0 / OpenID Connect protocol engine. Typed requests plus the context (clock,
//! stores, keys) in, typed responses out; it never sees an actix type. One file per grant and
//! per authorize check; `web::oauth` turns HTTP into these calls and their results into HTTP.

pub mod access;
pub mod authorize;
pub mod claims;
pub mod clients;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod introspect;
pub mod params;
pub mod revocation;
pub mod revoke;
pub mod scope;
pub mod token;
pub mod tokens;
pub mod userinfo;

use crate::context::Ctx;
use crate::domain::tenant::Tenant;

/// The issuer identifier of a tenant: `<public origin>/t/<slug>`.
pub fn issuer(ctx: &Ctx, tenant: &Tenant) -> String {
    format!("{}/t/{}", ctx.config.public_origin(), tenant.slug)
}
