//! The OAuth 2.0 / OpenID Connect protocol engine. Typed requests plus the context (clock,
//! stores, keys) in, typed responses out; it never sees an actix type. One file per grant and
//! per authorize check; `web::oauth` turns HTTP into these calls and their results into HTTP.

pub mod clients;
pub mod error;
pub mod params;
pub mod revocation;
pub mod scope;
pub mod tokens;

use crate::context::Ctx;
use crate::domain::tenant::Tenant;

/// The issuer identifier of a tenant: `<public origin>/t/<slug>`.
pub fn issuer(ctx: &Ctx, tenant: &Tenant) -> String {
    format!("{}/t/{}", ctx.config.public_origin(), tenant.slug)
}
