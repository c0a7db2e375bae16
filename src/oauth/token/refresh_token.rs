//! `grant_type=refresh_token`: rotation on every use (the old token is marked used and a new one
//! issued in the same transaction); presenting a used token revokes the whole family. Tokens
//! without `offline_access` are bound to the browser session and die with it. Scope can only
//! narrow. The response carries no new ID token (OIDC Core 12.2 allows this).

use super::TokenResponse;
use super::mint::{Subject, mint};
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::context::Ctx;
use crate::crypto::{random, secret_digest};
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::Client;
use crate::domain::tenant::Tenant;
use crate::oauth::authorize::code::CodeRecord;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::revocation;
use crate::oauth::scope::Scope;
use crate::storage::{self, refresh_tokens::RefreshRow};

/// A new refresh token (returned once) and its row, starting a family from a redeemed code.
pub fn new_refresh_token(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    code: &CodeRecord,
    family: &str,
    offline: bool,
) -> (String, RefreshRow) {
    let now = ctx.clock.unix();
    let (idle, absolute) = lifetimes(tenant, client);
    let token = random::token();
    let row = RefreshRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id.to_string(),
        family_id: family.to_owned(),
        client_id: client.client_id.clone(),
        user_id: code.user_id.clone(),
        sid: (!offline).then(|| code.sid.clone()),
        scope: code.scope.clone(),
        token_hash: secret_digest(&ctx.keys.secret_hash, &token),
        auth_time: code.auth_time,
        amr: serde_json::to_string(&code.amr).expect("serializes"),
        issued_at: now,
        expires_at: now + idle.min(absolute),
        family_expires_at: now + absolute,
        used_at: None,
        revoked_at: None,
    };
    (token, row)
}

fn lifetimes(tenant: &Tenant, client: &Client) -> (i64, i64) {
    let p = &tenant.policy.tokens;
    let l = &client.settings.lifetimes;
    (
        l.refresh_idle_secs.unwrap_or(p.refresh_idle_secs),
        l.refresh_absolute_secs.unwrap_or(p.refresh_absolute_secs),
    )
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid")
}

async fn revoke(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    row: &RefreshRow,
    why: &str,
) -> Result<(), OAuthError> {
    let revoked = revocation::revoke_grant(ctx, &row.family_id).await?;
    if why == "reuse" {
        storage::audit::record(
            &ctx.db,
            AuditEvent::new(ctx.clock.now(), Some(tenant.id), AuditAction::TokenReuseDetected, "refresh_token", Actor::Anonymous)
                .subject(format!("user:{}", row.user_id))
                .details(serde_json::json!({ "client": client.client_id, "grant": row.family_id, "refresh_tokens_revoked": revoked })),
        )
        .await;
    }
    Ok(())
}

pub async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let hash = secret_digest(&ctx.keys.secret_hash, presented);
    let row = ctx
        .db
        .run(move |c| storage::refresh_tokens::find_by_hash(c, &hash))
        .await?
        .filter(|r| r.tenant_id == tenant.id.to_string() && r.client_id == client.client_id)
        .ok_or_else(invalid)?;
    let now = ctx.clock.unix();
    if row.revoked_at.is_some()
        || ctx
            .store
            .get(&format!("rv:g:{}", row.family_id))
            .await?
            .is_some()
    {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    if row.used_at.is_some() {
        revoke(ctx, tenant, client, &row, "reuse").await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; the grant has been revoked",
        ));
    }
    if now >= row.expires_at || now >= row.family_expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if let Some(sid) = &row.sid {
        let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
        if !matches!(
            sessions.lookup_sid(tenant, sid, true).await?,
            SessionLookup::Active(_)
        ) {
            revoke(ctx, tenant, client, &row, "session").await?;
            return Err(OAuthError::invalid_grant("the sign-in session has ended"));
        }
    }
    let (tenant_id, user_id) = (tenant.id, row.user_id.parse().map_err(|_| invalid())?);
    let user = ctx
        .db
        .run(move |c| storage::users::find_by_id(c, tenant_id, user_id))
        .await?
        .map(|u| u.user)
        .filter(|u| u.enabled);
    let Some(user) = user else {
        revoke(ctx, tenant, client, &row, "user").await?;
        return Err(OAuthError::invalid_grant(
            "the user is no longer allowed to sign in",
        ));
    };

    let granted = Scope::parse(&row.scope)?;
    let scope = match params.get("scope") {
        Some(raw) => {
            let requested = Scope::parse(raw)?;
            if !requested.is_subset_of(&granted) {
                return Err(OAuthError::invalid_scope(
                    "a refresh cannot add scopes to the grant",
                ));
            }
            requested
        }
        None => granted,
    };
    if let Some(s) = scope.iter().find(|s| !client.allows_scope(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope {s} is no longer allowed for this client"
        )));
    }

    let (idle, _) = lifetimes(tenant, client);
    let token = random::token();
    let next = RefreshRow {
        id: uuid::Uuid::now_v7().to_string(),
        token_hash: secret_digest(&ctx.keys.secret_hash, &token),
        issued_at: now,
        expires_at: (now + idle).min(row.family_expires_at),
        used_at: None,
        revoked_at: None,
        ..row.clone()
    };
    let old_id = row.id.clone();
    let rotated = ctx
        .db
        .write(move |c| storage::refresh_tokens::rotate(c, &old_id, now, &next))
        .await?;
    if !rotated {
        // Used concurrently by someone else: treat as reuse.
        revoke(ctx, tenant, client, &row, "reuse").await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; the grant has been revoked",
        ));
    }
    let amr: Vec<String> = serde_json::from_str(&row.amr).unwrap_or_default();
    let acr = Some(crate::domain::session::acr_for(&amr).to_owned());
    let subject = Subject {
        user: Some(&user),
        sid: row.sid.as_deref(),
        session_bound: row.sid.is_some(),
        grant_id: Some(&row.family_id),
        auth_time: Some(row.auth_time),
        amr,
        acr,
    };
    let minted = mint(ctx, tenant, client, &subject, &scope, None, false).await?;
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        refresh_token: Some(token),
        id_token: None,
        scope: scope.to_string(),
    })
}
