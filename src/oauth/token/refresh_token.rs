//! `grant_type=refresh_token`: rotation on every use (the old token is marked used and a new one
//! issued in the same transaction); presenting a used token revokes the whole family. Tokens
//! without `offline_access` are bound to the browser session and die with it. Scope can only
//! narrow. The response carries no new ID token (OIDC Core 12.2 allows this). Each refresh is
//! compared with where and on what the grant was issued (continuous evaluation,
//! `crate::auth::continuous`): from both another network and another device it is refused and
//! the family revoked, when the tenant's risk policy says so.

use std::time::Duration;

use super::TokenResponse;
use super::mint::{Subject, mint};
use crate::auth::continuous::{self, Baseline, Seen, Use, Verdict};
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::context::Ctx;
use crate::crypto::{random, secret_digest};
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::Client;
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::oauth::authorize::code::CodeRecord;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::revocation;
use crate::oauth::scope::Scope;
use crate::storage::{
    self,
    refresh_tokens::{Grant, Redeem, RefreshRedemption, RefreshRow},
};

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
        origin_sid: Some(code.sid.clone()),
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

pub async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    seen: &Seen,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let requested = match params.get("scope") {
        Some(raw) => Some(Scope::parse(raw)?),
        None => None,
    };
    // Refused before the token is consumed: the client keeps its refresh token.
    if let Some(s) = requested
        .iter()
        .flat_map(|r| r.iter())
        .find(|s| !client.allows_scope(s))
    {
        return Err(OAuthError::invalid_scope(format!(
            "scope {s} is not allowed for this client"
        )));
    }
    let (idle, _) = lifetimes(tenant, client);
    let token = random::token();
    let input = (
        tenant.id.to_string(),
        client.client_id.clone(),
        secret_digest(&ctx.keys.secret_hash, presented),
        uuid::Uuid::now_v7().to_string(),
        secret_digest(&ctx.keys.secret_hash, &token),
        requested.as_ref().map(|s| s.to_string()),
    );
    let now = ctx.clock.unix();
    // One database call: check and rotate atomically (one statement on PostgreSQL).
    let redeemed = ctx
        .db
        .write(move |c| {
            let (tenant_id, client_id, hash, next_id, next_hash, scope) = &input;
            storage::refresh_tokens::redeem(
                c,
                &Redeem {
                    tenant_id,
                    client_id,
                    token_hash: hash,
                    now,
                    next_id,
                    next_hash,
                    idle_secs: idle,
                    scope: scope.as_deref(),
                },
            )
        })
        .await?;
    let grant = match redeemed {
        RefreshRedemption::Rotated(grant) => grant,
        RefreshRedemption::Invalid => return Err(invalid()),
        RefreshRedemption::Revoked => {
            return Err(OAuthError::invalid_grant("the refresh token was revoked"));
        }
        RefreshRedemption::Expired => {
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        RefreshRedemption::ScopeTooWide => {
            return Err(OAuthError::invalid_scope(
                "a refresh cannot add scopes to the grant",
            ));
        }
        RefreshRedemption::Reused { family_id, user_id } => {
            revocation::mark_grant(ctx, &family_id).await?;
            storage::audit::record(
                &ctx.db,
                AuditEvent::new(
                    ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::TokenReuseDetected,
                    "refresh_token",
                    Actor::Anonymous,
                )
                .subject(format!("user:{user_id}"))
                .details(serde_json::json!({ "client": client.client_id, "grant": family_id })),
            )
            .await;
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; the grant has been revoked",
            ));
        }
        RefreshRedemption::UserDisabled { family_id } => {
            revocation::revoke_grant(ctx, &family_id).await?;
            return Err(OAuthError::invalid_grant(
                "the user is no longer allowed to sign in",
            ));
        }
    };

    // Checks that live in the session store; failing them kills the grant just rotated.
    let ended = ctx
        .store
        .get(&format!("rv:g:{}", grant.family_id))
        .await?
        .is_some();
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let session_gone = match (&grant.sid, &grant.origin_sid) {
        (Some(sid), _) => !matches!(
            sessions.lookup_sid(tenant, sid, true).await?,
            SessionLookup::Active(_)
        ),
        // An offline grant outlives its session, unless that session was ended against its
        // holder (e.g. evicted by a sign-in elsewhere): then the grant goes too. The database
        // revocation follows within milliseconds; this closes the gap before it.
        (None, Some(origin)) => sessions.ended_against_holder(origin).await?,
        (None, None) => false,
    };
    if ended || session_gone {
        revocation::revoke_grant(ctx, &grant.family_id).await?;
        return Err(OAuthError::invalid_grant(if ended {
            "the refresh token was revoked"
        } else {
            "the sign-in session has ended"
        }));
    }
    let user_id = grant.user_id.parse().map_err(|_| invalid())?;
    if !still_in_context(ctx, tenant, client, &grant, user_id, seen).await? {
        return Err(OAuthError::invalid_grant(
            "the refresh token was used from another network and another device; the grant \
             has been revoked and the user must sign in again",
        ));
    }
    let scope = match requested {
        Some(s) => s,
        None => Scope::parse(&grant.scope)?,
    };
    // The grant holds a scope the client may no longer have (its registration was narrowed):
    // the grant is withdrawn.
    if let Some(s) = scope.iter().find(|s| !client.allows_scope(s)) {
        revocation::revoke_grant(ctx, &grant.family_id).await?;
        return Err(OAuthError::invalid_scope(format!(
            "scope {s} is no longer allowed for this client"
        )));
    }
    let amr: Vec<String> = serde_json::from_str(&grant.amr).unwrap_or_default();
    let acr = Some(crate::domain::session::acr_for(&amr).to_owned());
    let subject = Subject {
        user_id: Some(user_id),
        // No ID token on refresh, so the user's profile is not needed (no user lookup).
        profile: None,
        sid: grant.sid.as_deref().or(grant.origin_sid.as_deref()),
        session_bound: grant.sid.is_some(),
        grant_id: Some(&grant.family_id),
        auth_time: Some(grant.auth_time),
        amr,
        acr,
        risk: None,
        groups: None,
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

/// Continuous evaluation of a refresh: `false` when it came from both another network and
/// another device than the code exchange and the grant has just been revoked for it. With
/// `on_change = off` (or audit-only) the change is only recorded, once per grant.
async fn still_in_context(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    grant: &Grant,
    user: UserId,
    seen: &Seen,
) -> Result<bool, OAuthError> {
    let used = Use::Refresh {
        grant: &grant.family_id,
        client: &client.client_id,
    };
    let baseline = Baseline {
        ip: grant.risk_ip.as_deref().and_then(|ip| ip.parse().ok()),
        device: grant.risk_device.as_deref(),
    };
    let ttl = Duration::from_secs(u64::try_from(lifetimes(tenant, client).1).unwrap_or(1));
    let verdict =
        continuous::evaluate::<OAuthError>(ctx, tenant, user, used, baseline, seen, ttl).await?;
    let Verdict::Reauthenticate(change) = verdict else {
        return Ok(true);
    };
    revocation::revoke_grant(ctx, &grant.family_id).await?;
    continuous::reauthenticated(ctx, tenant, user, used, change, seen).await?;
    Ok(false)
}
