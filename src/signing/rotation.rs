//! Creating and rotating signing keys (`watchword keys rotate`, tenant creation, start-up).

use diesel::Connection;

use crate::context::Ctx;
use crate::crypto::{aead, jws, random};
use crate::domain::client::MAX_TOKEN_LIFETIME_SECS;
use crate::domain::ids::TenantId;
use crate::domain::keys::SigningAlg;
use crate::storage::{self, signing_keys::KeyRow};

use super::{PUBLISH_LEAD_SECS, SigningError, keys_for, sealing_aad};

/// A key's place in its life, for listings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: &'static str,
    /// `pending` (published, not signing yet), `active`, or `retiring` (still published).
    pub state: &'static str,
    pub created_at: i64,
    pub activates_at: i64,
    pub expires_at: Option<i64>,
}

fn new_row(
    ctx: &Ctx,
    tenant: TenantId,
    alg: SigningAlg,
    activates_at: i64,
) -> Result<KeyRow, SigningError> {
    let kid = format!("{}-{}", alg.as_str().to_lowercase(), &random::token()[..16]);
    let generated =
        jws::generate(alg, &kid).map_err(|e| SigningError::BadKey(kid.clone(), e.to_string()))?;
    let sealed = aead::seal(
        &ctx.keys.encryption,
        &sealing_aad(tenant, &kid),
        &generated.pkcs8,
    );
    Ok(KeyRow {
        kid,
        tenant_id: tenant.to_string(),
        alg: alg.as_str().to_owned(),
        private_key: sealed,
        public_jwk: generated.public_jwk.to_string(),
        created_at: ctx.clock.unix(),
        activates_at,
        expires_at: None,
    })
}

/// Makes sure the tenant has a signing key for every algorithm (new tenants, upgrades).
/// Returns the ids of keys created.
pub async fn ensure(ctx: &Ctx, tenant: TenantId) -> Result<Vec<String>, SigningError> {
    let ring = keys_for(ctx, tenant).await?;
    let now = ctx.clock.unix();
    let missing: Vec<SigningAlg> = SigningAlg::ALL
        .into_iter()
        .filter(|alg| {
            ring.signer(*alg, now).is_none()
                && !ring
                    .keys()
                    .iter()
                    .any(|k| k.alg == *alg && k.activates_at > now)
        })
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for alg in missing {
        // Key generation is CPU work (RSA: tens of milliseconds); keep it off the async workers.
        let ctx2 = ctx.clone();
        let row = tokio::task::spawn_blocking(move || new_row(&ctx2, tenant, alg, now))
            .await
            .map_err(|e| SigningError::BadKey("new".into(), e.to_string()))??;
        rows.push(row);
    }
    let kids: Vec<String> = rows.iter().map(|r| r.kid.clone()).collect();
    ctx.db
        .run(move |c| {
            for row in &rows {
                storage::signing_keys::insert(c, row)?;
            }
            Ok(())
        })
        .await?;
    ctx.keyring.invalidate(tenant);
    Ok(kids)
}

/// Rotates the keys of `algs`: each new key is published now and signs after
/// [`PUBLISH_LEAD_SECS`] (or at once with `immediate`, for a compromised key); the keys it
/// replaces stay published until every token they signed has expired.
pub async fn rotate(
    ctx: &Ctx,
    tenant: TenantId,
    algs: &[SigningAlg],
    immediate: bool,
) -> Result<Vec<KeyInfo>, SigningError> {
    let ring = keys_for(ctx, tenant).await?;
    let now = ctx.clock.unix();
    let activates_at = if immediate {
        now
    } else {
        now + PUBLISH_LEAD_SECS
    };
    let mut new_rows = Vec::new();
    let mut retiring = Vec::new();
    for alg in algs {
        let ctx2 = ctx.clone();
        let alg = *alg;
        let row = tokio::task::spawn_blocking(move || new_row(&ctx2, tenant, alg, activates_at))
            .await
            .map_err(|e| SigningError::BadKey("new".into(), e.to_string()))??;
        new_rows.push(row);
        retiring.extend(
            ring.keys()
                .iter()
                .filter(|k| k.alg == alg)
                .map(|k| k.kid.clone()),
        );
    }
    let expires_at = activates_at + MAX_TOKEN_LIFETIME_SECS + 60;
    let rows = new_rows.clone();
    ctx.db
        .run(move |c| {
            c.transaction(|c| {
                for row in &rows {
                    storage::signing_keys::insert(c, row)?;
                }
                storage::signing_keys::expire(c, &retiring, expires_at)
            })
        })
        .await?;
    ctx.keyring.invalidate(tenant);
    Ok(list(ctx, tenant)
        .await?
        .into_iter()
        .filter(|k| new_rows.iter().any(|r| r.kid == k.kid))
        .collect())
}

/// Every published key of the tenant with its state.
pub async fn list(ctx: &Ctx, tenant: TenantId) -> Result<Vec<KeyInfo>, SigningError> {
    let ring = keys_for(ctx, tenant).await?;
    let now = ctx.clock.unix();
    Ok(ring
        .keys()
        .iter()
        .map(|k| {
            let signing = ring.signer(k.alg, now).is_some_and(|s| s.kid == k.kid);
            KeyInfo {
                kid: k.kid.clone(),
                alg: k.alg.as_str(),
                state: if signing {
                    "active"
                } else if k.activates_at > now {
                    "pending"
                } else {
                    "retiring"
                },
                created_at: k.created_at,
                activates_at: k.activates_at,
                expires_at: k.expires_at,
            }
        })
        .collect())
}

/// Withdraws a (compromised) key at once: a replacement for its algorithm signs from now on, and
/// the key leaves the JWKS immediately, so every token it signed stops verifying. Returns the
/// replacement.
pub async fn withdraw(ctx: &Ctx, tenant: TenantId, kid: &str) -> Result<KeyInfo, SigningError> {
    let ring = keys_for(ctx, tenant).await?;
    let key = ring
        .by_kid(kid)
        .ok_or_else(|| SigningError::BadKey(kid.to_owned(), "no such published key".into()))?;
    let alg = key.alg;
    let replacement = rotate(ctx, tenant, &[alg], true).await?;
    let (kids, now) = (vec![kid.to_owned()], ctx.clock.unix());
    ctx.db
        .run(move |c| storage::signing_keys::expire(c, &kids, now))
        .await?;
    ctx.keyring.invalidate(tenant);
    replacement
        .into_iter()
        .next()
        .ok_or_else(|| SigningError::BadKey(kid.to_owned(), "no replacement was created".into()))
}
