//! Upstream logout: an OpenID Connect provider's back-channel logout token (OIDC Back-Channel
//! Logout 1.0) ends the local sessions signed in through it for that subject (or only the one
//! upstream session it names by `sid`), like any ending of a session (`lifecycle`). The token is
//! verified against the provider's keys (asymmetric algorithms only), issuer, audience, a
//! recent `iat`, the logout event, no `nonce`, and its `jti` is accepted once across replicas.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::FederationError;
use crate::auth::sessions::Sessions;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::idp::IdentityProvider;
use crate::domain::ids::UserId;
use crate::domain::session::EndReason;
use crate::domain::tenant::Tenant;
use crate::storage;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How old (or how far in the future) a logout token's `iat` may be.
const IAT_WINDOW_SECS: i64 = 300;

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn rejected(why: &str) -> FederationError {
    FederationError::TokenRejected(format!("logout token: {why}"))
}

/// Verifies a logout token; returns `(sub, sid)` (at least one is present).
async fn verify(
    ctx: &Ctx,
    idp: &IdentityProvider,
    token: &str,
) -> Result<(Option<String>, Option<String>), FederationError> {
    let oidc = idp
        .settings
        .oidc
        .as_ref()
        .ok_or(FederationError::BadRequest(
            "not an OpenID Connect provider",
        ))?;
    if token.len() > 16 * 1024 {
        return Err(rejected("too large"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
    if !ASYMMETRIC.contains(&header.alg) {
        return Err(rejected("algorithm not allowed"));
    }
    let up = super::oidc::Upstream::of(idp, None, String::new());
    let mut found = super::oidc::discover(ctx, &up, false).await?;
    let key_of = |raw: &serde_json::Value| -> Option<DecodingKey> {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(raw.clone()).ok()?;
        let jwk = match &header.kid {
            Some(kid) => set.find(kid)?.clone(),
            None if set.keys.len() == 1 => set.keys[0].clone(),
            None => return None,
        };
        DecodingKey::from_jwk(&jwk).ok()
    };
    let mut key = key_of(&found.keys);
    if key.is_none() {
        found = super::oidc::discover(ctx, &up, true).await?;
        key = key_of(&found.keys);
    }
    let key = key.ok_or_else(|| rejected("unknown signing key"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[oidc.issuer.as_str(), oidc.issuer.trim_end_matches('/')]);
    validation.set_audience(&[oidc.client_id.as_str()]);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map_err(|e| rejected(&e.to_string()))?
        .claims;
    let now = ctx.clock.unix();
    let iat = claims["iat"].as_i64().ok_or_else(|| rejected("no iat"))?;
    if (now - iat).abs() > IAT_WINDOW_SECS {
        return Err(rejected("iat out of range"));
    }
    if claims["exp"].as_i64().is_some_and(|exp| exp <= now) {
        return Err(rejected("expired"));
    }
    if claims.get("nonce").is_some() {
        return Err(rejected("has a nonce"));
    }
    if claims["events"].get(EVENT).is_none_or(|e| !e.is_object()) {
        return Err(rejected("no logout event"));
    }
    let text = |name: &str| {
        claims[name]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 512)
            .map(str::to_owned)
    };
    let (sub, sid) = (text("sub"), text("sid"));
    if sub.is_none() && sid.is_none() {
        return Err(rejected("neither sub nor sid"));
    }
    let jti = text("jti").ok_or_else(|| rejected("no jti"))?;
    let fresh = ctx
        .store
        .set_if_absent(
            &format!(
                "fedlo:{}:{}",
                idp.id,
                crate::crypto::sha256_hex(jti.as_bytes())
            ),
            b"1",
            Duration::from_secs((2 * IAT_WINDOW_SECS) as u64),
        )
        .await?;
    if !fresh {
        return Err(rejected("replayed"));
    }
    Ok((sub, sid))
}

/// Receives a logout token from provider `slug`; returns how many sessions ended.
pub async fn backchannel(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    token: &str,
    origin: Origin,
) -> Result<usize, FederationError> {
    let stored = super::any_provider(ctx, tenant, slug).await?;
    let idp = &stored.idp;
    let (sub, sid) = verify(ctx, idp, token).await?;
    let ended = match &sub {
        Some(sub) => {
            let sids: Vec<String> = sid.iter().cloned().collect();
            end_upstream_sessions(ctx, tenant, idp, sub, &sids, origin.clone()).await?
        }
        // A `sid` alone would mean searching the sessions of every user linked through this
        // provider; only tokens with `sub` are matched (providers send both).
        None => 0,
    };
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::UpstreamLogout,
        "success",
        Actor::System,
    )
    .origin(origin)
    .details(
        serde_json::json!({ "idp": idp.slug, "sessions_ended": ended, "by_sid": sid.is_some() }),
    );
    storage::audit::record(&ctx.db, event).await;
    Ok(ended)
}

/// Ends the sessions signed in through `idp` of the users linked to upstream `subject`: all of
/// them, or only those of the upstream sessions named in `sids`. How many ended. Audited as
/// `upstream_logout` by the callers.
pub async fn end_upstream_sessions(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    subject: &str,
    sids: &[String],
    origin: Origin,
) -> Result<usize, FederationError> {
    let (i, sub) = (idp.id, subject.to_owned());
    let users: Vec<UserId> = ctx
        .db
        .run(move |c| storage::idps::users_of_subject(c, i, &sub))
        .await?
        .iter()
        .filter_map(|u| u.parse().ok())
        .collect();
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let mut ended = 0;
    for user in users {
        for found in sessions.list_for_user(tenant.id, user).await? {
            let Some(via) = &found.record.via else {
                continue;
            };
            let named = sids.is_empty() || via.sid.as_ref().is_some_and(|s| sids.contains(s));
            if via.idp != idp.slug || !named {
                continue;
            }
            match crate::lifecycle::end_session(
                ctx,
                tenant,
                &found,
                EndReason::Upstream,
                Actor::System,
                origin.clone(),
            )
            .await
            {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not end a session at upstream logout"),
            }
        }
    }
    Ok(ended)
}
