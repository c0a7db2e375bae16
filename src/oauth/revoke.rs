//! Token revocation (RFC 7009). A refresh token revokes its whole grant (its refresh tokens and
//! the access tokens issued with them); an access token is revoked by itself. Unknown or invalid
//! tokens get the same 200 as revoked ones. A token of another client is refused.

use super::clients::{self, Presented};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{revocation, tokens};
use crate::context::Ctx;
use crate::crypto::secret_digest;
use crate::domain::tenant::Tenant;
use crate::storage;

fn not_yours() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the token was issued to another client",
    )
}

pub async fn revoke(
    ctx: &Ctx,
    tenant: &Tenant,
    presented: &Presented,
    params: &Params,
) -> Result<(), OAuthError> {
    let client = clients::authenticate(ctx, tenant, presented, params).await?;
    let token = params.require("token")?;

    let hash = secret_digest(&ctx.keys.secret_hash, token);
    if let Some(row) = ctx
        .db
        .run(move |c| storage::refresh_tokens::find_by_hash(c, &hash))
        .await?
    {
        if row.tenant_id != tenant.id.to_string() {
            return Ok(());
        }
        if row.client_id != client.client_id {
            return Err(not_yours());
        }
        revocation::revoke_grant(ctx, &row.family_id).await?;
        return Ok(());
    }

    if let Ok(claims) = tokens::verify_access_token_cached(ctx, tenant, token).await {
        if claims.client_id != client.client_id {
            return Err(not_yours());
        }
        revocation::revoke_access_token(ctx, &claims).await?;
    }
    Ok(())
}
