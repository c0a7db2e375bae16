//! The OAuth 2.0 / OpenID Connect protocol engine. Typed requests plus the context (clock,
//! stores, keys) in, typed responses out; it never sees an actix type. One file per grant and
//! per authorize check; `web::oauth` turns HTTP into these calls and their results into HTTP.
//!
//! # The protocol engine
//!
//! - **Authorization** (`oauth::authorize`): `validate_with_repeats` (the endpoint parses with
//!   `Params::parse_noting_repeats`) refuses a repeated `client_id` or `redirect_uri` with a page,
//!   resolves the client and the redirect URI (their failures are `AuthorizeError::Page`), reports
//!   any other repeated parameter to the client, then runs `checks::PIPELINE` over a `Draft` (each
//!   check may fill it in); `next_step` decides sign-in, a step-up to a second factor (`step_up`:
//!   the client's `require_mfa`, or the weakest known level in `acr_values` when the user has a
//!   factor that reaches it; with `prompt=none` it is `interaction_required`), consent or a code.
//!   The code records `amr_claim` of the session's methods and `acr_for` of that, which the ID and
//!   access tokens (and later refreshes of the grant) carry. Requests that need the
//!   user are parked (`pending.rs`) and re-validated when they resume. Issuing a code also records
//!   the client in the session's client list (for back-channel logout).
//! - **Token** (`oauth::token::exchange`): parse `grant_type`, authenticate the client
//!   (`oauth::clients::authenticate`), check the client may use the grant, dispatch to the grant's
//!   file, count `watchword_token_requests_total{tenant,grant,result}`. `mint.rs` builds and signs the
//!   access token (always) and the ID token (code grant with `openid`).
//! - **Presented tokens** (`oauth::tokens::verify`): `typ`, `kid` in the tenant's ring, the key's own
//!   algorithm, signature, issuer, expiry (`verify_access_token_cached` remembers verified access
//!   tokens for 30 s and then re-checks only issuer, expiry and that the key is still published);
//!   then `oauth::revocation::access_token_live` checks that the client still exists, the markers
//!   and, for session-bound tokens, the session (for offline ones, the `gone:` note of their `osid`
//!   session).
//! - **Keys** (`signing`): `keys_for` returns the tenant's `TenantKeys` (decrypted keys, the serialized
//!   JWKS and its ETag) from memory, reloading after 30 s (`keys_knowing` reloads at once, at most
//!   every 5 s, for an unknown `kid`); `sign` picks the newest activated key of an algorithm.
//!   `rotation::withdraw` (`watchword keys revoke`) rotates the key's algorithm immediately and
//!   expires the key, so it leaves the JWKS.
//! - **Logout** (`lifecycle::end_session`): remove the record (first caller wins), revoke the session's
//!   grants (`storage::grants::revoke`), sign a logout token per client with a back-channel URI and
//!   queue it (`backchannel::Backchannel::send`, never blocking), forget the client list, audit,
//!   count.
//!
//! The Argon2 pool (`crypto::password`) is a fixed set of threads (one per core by default) at a lower
//! CPU priority than the HTTP workers, fed by a bounded queue; a full queue answers "busy" (503 with
//! `Retry-After`) instead of queueing without bound.

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
