//! The userinfo endpoint (OIDC Core 5.3): a valid, live access token with the `openid` scope
//! gets the user's claims for its scopes.

use serde_json::{Map, Value, json};

use super::claims::user_claims;
use super::error::{ErrorCode, OAuthError};
use super::scope::{OPENID, Scope};
use super::{revocation, tokens};
use crate::context::Ctx;
use crate::domain::tenant::Tenant;
use crate::storage;

fn invalid() -> OAuthError {
    OAuthError::invalid_token("the access token is invalid, expired or revoked")
}

pub async fn userinfo(
    ctx: &Ctx,
    tenant: &Tenant,
    access_token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let claims = tokens::verify_access_token_cached(ctx, tenant, access_token)
        .await
        .map_err(|_| invalid())?;
    if !revocation::access_token_live(ctx, tenant, &claims).await? {
        return Err(invalid());
    }
    let scope = Scope::parse(&claims.scope)?;
    if !scope.contains(OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ));
    }
    let user_id = claims.sub.parse().map_err(|_| invalid())?;
    let tenant_id = tenant.id;
    let user = ctx
        .db
        .run(move |c| storage::users::find_by_id(c, tenant_id, user_id))
        .await?
        .map(|u| u.user)
        .filter(|u| u.enabled)
        .ok_or_else(invalid)?;
    let mut out = Map::new();
    out.insert("sub".into(), json!(claims.sub));
    out.extend(user_claims(&user, &scope));
    Ok(out)
}
