//! Token introspection (RFC 7662) for authenticated confidential clients of the tenant. A client
//! learns about its own tokens, and a resource server (`ClientSettings::resource_server`) about
//! the access tokens meant for it (`aud` one of its audiences); refresh tokens only to the client
//! they were issued to. Access tokens must verify and be live; refresh tokens must be unused,
//! unexpired and unrevoked. Anything else, including tokens of another tenant or another
//! client, is `{"active": false}` (RFC 7662 2.2: nothing is revealed).

use serde::Serialize;

use super::clients::{self, Presented};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{revocation, tokens};
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::context::Ctx;
use crate::crypto::secret_digest;
use crate::domain::client::{Client, ClientKind};
use crate::domain::tenant::Tenant;
use crate::storage;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub async fn introspect(
    ctx: &Ctx,
    tenant: &Tenant,
    presented: &Presented,
    params: &Params,
) -> Result<Introspection, OAuthError> {
    let client = clients::authenticate(ctx, tenant, presented, params).await?;
    if client.kind != ClientKind::Confidential {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "only confidential clients may introspect tokens",
        ));
    }
    let token = params.require("token")?;
    let refresh_first = params.get("token_type_hint") == Some("refresh_token");
    let looks_like_jwt = token.bytes().filter(|b| *b == b'.').count() == 2;
    if looks_like_jwt && !refresh_first {
        return access_token(ctx, tenant, &client, token).await;
    }
    let found = refresh_token(ctx, tenant, &client, token).await?;
    if found.active || !looks_like_jwt {
        return Ok(found);
    }
    access_token(ctx, tenant, &client, token).await
}

async fn access_token(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let Ok(claims) = tokens::verify_access_token_cached(ctx, tenant, token).await else {
        return Ok(Introspection::default());
    };
    if !client.may_introspect(&claims.aud, &claims.client_id) {
        return Ok(Introspection::default());
    }
    if !revocation::access_token_live(ctx, tenant, &claims).await? {
        return Ok(Introspection::default());
    }
    Ok(Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        jti: Some(claims.jti),
        token_type: Some("Bearer"),
        sid: claims.sid,
    })
}

async fn refresh_token(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let hash = secret_digest(&ctx.keys.secret_hash, token);
    let Some(row) = ctx
        .db
        .run(move |c| storage::refresh_tokens::find_by_hash(c, &hash))
        .await?
    else {
        return Ok(Introspection::default());
    };
    let now = ctx.clock.unix();
    let usable = row.tenant_id == tenant.id.to_string()
        && row.client_id == client.client_id
        && row.revoked_at.is_none()
        && row.used_at.is_none()
        && now < row.expires_at
        && now < row.family_expires_at
        && ctx
            .store
            .get(&format!("rv:g:{}", row.family_id))
            .await?
            .is_none();
    if !usable {
        return Ok(Introspection::default());
    }
    if let Some(sid) = &row.sid {
        let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
        if !matches!(
            sessions.lookup_sid(tenant, sid, false).await?,
            SessionLookup::Active(_)
        ) {
            return Ok(Introspection::default());
        }
    }
    Ok(Introspection {
        active: true,
        scope: Some(row.scope),
        client_id: Some(row.client_id),
        sub: Some(row.user_id),
        exp: Some(row.expires_at),
        iat: Some(row.issued_at),
        iss: Some(super::issuer(ctx, tenant)),
        token_type: Some("refresh_token"),
        sid: row.sid,
        ..Default::default()
    })
}
