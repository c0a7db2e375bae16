//! Revocation state that access tokens (self-contained JWTs) are checked against: revoked grants
//! and revoked token ids live in the session store for as long as any such token can be valid;
//! session-bound tokens also die when their browser session ends.

use std::time::Duration;

use super::error::OAuthError;
use super::tokens::AccessClaims;
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::context::Ctx;
use crate::domain::client::MAX_TOKEN_LIFETIME_SECS;
use crate::domain::tenant::Tenant;
use crate::session_store::StoreError;
use crate::storage::{self, StorageError};

fn grant_key(gid: &str) -> String {
    format!("rv:g:{gid}")
}

fn jti_key(jti: &str) -> String {
    format!("rv:j:{jti}")
}

/// Is an (already verified) access token still good? Not if it or its grant was revoked, its
/// browser session ended (session-bound tokens) or was ended against its holder (offline
/// grants), or its client was deleted.
pub async fn access_token_live(
    ctx: &Ctx,
    tenant: &Tenant,
    claims: &AccessClaims,
) -> Result<bool, OAuthError> {
    if super::clients::find(ctx, tenant, &claims.client_id)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    // The token's and its grant's revocation markers, in one round trip.
    let jti = jti_key(&claims.jti);
    let grant = claims.gid.as_deref().map(grant_key);
    let mut keys = vec![jti.as_str()];
    keys.extend(grant.as_deref());
    if ctx.store.get_many(&keys).await?.iter().any(Option::is_some) {
        return Ok(false);
    }
    if let Some(sid) = &claims.sid {
        let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
        if !matches!(
            sessions.lookup_sid(tenant, sid, false).await?,
            SessionLookup::Active(_)
        ) {
            return Ok(false);
        }
    } else if let Some(origin) = &claims.osid {
        // The database revocation of the offline grant follows the eviction within
        // milliseconds; the session's end note closes the gap before it.
        let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
        if sessions.ended_against_holder(origin).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Revokes a whole grant: its refresh tokens (database) and its access tokens (store marker).
pub async fn revoke_grant(ctx: &Ctx, family: &str) -> Result<usize, RevokeError> {
    mark_grant(ctx, family).await?;
    let (family, now) = (family.to_owned(), ctx.clock.unix());
    Ok(ctx
        .db
        .write(move |c| storage::refresh_tokens::revoke_family(c, &family, now))
        .await?)
}

/// Revokes every grant of a user (account disabled): refresh tokens and access tokens.
pub async fn revoke_user_grants(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
) -> Result<usize, RevokeError> {
    let (tenant_id, user, now) = (tenant.id, user.to_owned(), ctx.clock.unix());
    let families = ctx
        .db
        .write(move |c| {
            storage::grants::revoke(c, tenant_id, storage::grants::Whose::User(&user), now)
        })
        .await?;
    for f in &families {
        mark_grant(ctx, f).await?;
    }
    Ok(families.len())
}

/// Marks a grant's access tokens revoked (its refresh tokens are handled by the caller).
pub async fn mark_grant(ctx: &Ctx, family: &str) -> Result<(), StoreError> {
    ctx.store
        .set(
            &grant_key(family),
            b"1",
            Duration::from_secs(MAX_TOKEN_LIFETIME_SECS as u64 + 60),
        )
        .await
}

/// Revokes one access token until it would have expired anyway.
pub async fn revoke_access_token(ctx: &Ctx, claims: &AccessClaims) -> Result<(), StoreError> {
    let remaining = (claims.exp - ctx.clock.unix()).clamp(1, MAX_TOKEN_LIFETIME_SECS + 60);
    ctx.store
        .set(
            &jti_key(&claims.jti),
            b"1",
            Duration::from_secs(remaining as u64),
        )
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<RevokeError> for super::error::OAuthError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::Store(s) => s.into(),
            RevokeError::Storage(s) => s.into(),
        }
    }
}
