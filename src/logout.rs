//! Ending a browser session everywhere: its record (with a note of why, for the browser), the
//! refresh tokens bound to it, back-channel logout tokens to every client that received tokens
//! in it, an audit event and a metric. Every way a session ends goes through here: sign-out,
//! RP-initiated logout, timeouts (on the next request or by the sweep), a new sign-in replacing
//! it, disabling the account, administrators.

use std::time::Instant;

use crate::auth::sessions::{Elsewhere, Ended, Found, Sessions};
use crate::backchannel::Delivery;
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::tenant::Tenant;
use crate::oauth::tokens::{BACKCHANNEL_EVENT, LogoutClaims};
use crate::oauth::{self, clients};
use crate::session_store::StoreError;
use crate::storage::{self, StorageError};

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    RpInitiated,
    IdleTimeout,
    AbsoluteTimeout,
    /// Another user signed in with the same browser.
    Replaced,
    /// The same user signed in elsewhere, beyond the tenant's session limit.
    Evicted,
    /// The user ended it from another session (account page).
    User,
    AccountDisabled,
    Administrator,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::RpInitiated => "rp_logout",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::AbsoluteTimeout => "absolute_timeout",
            EndReason::Replaced => "replaced",
            EndReason::Evicted => "evicted",
            EndReason::User => "ended_by_user",
            EndReason::AccountDisabled => "account_disabled",
            EndReason::Administrator => "administrator",
        }
    }

    /// Whether grants with `offline_access` issued in the session die too (see
    /// `domain::session::ends_offline_grants`).
    pub fn ends_offline_grants(self) -> bool {
        crate::domain::session::ends_offline_grants(self.as_str())
    }

    fn audit_action(self) -> AuditAction {
        match self {
            EndReason::SignedOut | EndReason::RpInitiated => AuditAction::SignOut,
            EndReason::IdleTimeout | EndReason::AbsoluteTimeout => AuditAction::SessionExpired,
            _ => AuditAction::SessionEnded,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Ends `found` everywhere. Returns `false` if it had already been ended (by another request or
/// replica), in which case nothing else is done again.
pub async fn end_session(
    ctx: &Ctx,
    tenant: &Tenant,
    found: &Found,
    reason: EndReason,
    actor: Actor,
    origin: Origin,
) -> Result<bool, EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let ended = Ended::new(reason.as_str(), ctx.clock.unix(), None);
    if !sessions.remove(&found.record, &ended).await? {
        return Ok(false);
    }
    finish(
        ctx,
        tenant,
        found,
        reason,
        actor,
        origin,
        serde_json::Value::Null,
    )
    .await?;
    Ok(true)
}

/// Ends the sessions a sign-in evicted (the session limit). Their records went in the same
/// atomic step that admitted the new session, so those browsers are already signed out and their
/// tokens already fail (session-bound refresh tokens find no session, access tokens introspect
/// inactive). Here, before the sign-in answers, each gets its note for the returning browser
/// ("your account signed in on another device"); the rest (revoking their grants in the
/// database, offline ones included, back-channel logout, audit: a few milliseconds, mostly
/// database commits) runs in the background so the new sign-in does not wait for it. Failures
/// are logged.
pub async fn end_evicted(
    ctx: &Ctx,
    tenant: &Tenant,
    evicted: Vec<Found>,
    by: Origin,
    by_session: &str,
) {
    if evicted.is_empty() {
        return;
    }
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let elsewhere = Elsewhere {
        device: crate::domain::device::describe(by.user_agent.as_deref().unwrap_or("")),
        network: by
            .ip
            .as_deref()
            .and_then(crate::domain::place::coarse_network),
    };
    let ended = Ended::new(
        EndReason::Evicted.as_str(),
        ctx.clock.unix(),
        Some(elsewhere.clone()),
    );
    for found in &evicted {
        if let Err(e) = sessions.note_ended(&found.record, &ended).await {
            tracing::error!(error = %e, session = %found.record.sid, "could not note an evicted session's end");
        }
    }
    let details = serde_json::json!({
        "by_session": by_session,
        "by_device": elsewhere.device,
        "by_ip": by.ip,
    });
    let (ctx, tenant) = (ctx.clone(), tenant.clone());
    tokio::spawn(async move {
        for found in &evicted {
            let done = finish(
                &ctx,
                &tenant,
                found,
                EndReason::Evicted,
                Actor::System,
                by.clone(),
                details.clone(),
            )
            .await;
            if let Err(e) = done {
                tracing::error!(error = %e, session = %found.record.sid, "could not finish ending an evicted session");
            }
        }
    });
}

/// Everything after the record is gone: refresh tokens, back-channel logout, audit, metrics.
async fn finish(
    ctx: &Ctx,
    tenant: &Tenant,
    found: &Found,
    reason: EndReason,
    actor: Actor,
    origin: Origin,
    details: serde_json::Value,
) -> Result<(), EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let record = &found.record;
    let (tenant_id, sid, now) = (tenant.id, record.sid.clone(), ctx.clock.unix());
    let offline = reason.ends_offline_grants();
    let families = ctx
        .db
        .write(move |c| {
            storage::grants::revoke(
                c,
                tenant_id,
                storage::grants::Whose::Session { sid: &sid, offline },
                now,
            )
        })
        .await?;
    if offline {
        // Access tokens of offline grants are not bound to the session: mark their grants.
        for family in &families {
            crate::oauth::revocation::mark_grant(ctx, family).await?;
        }
    }
    notify_clients(ctx, tenant, found).await;
    sessions.forget_clients(&record.sid).await?;
    let mut all = serde_json::json!({
        "user": record.user_id.to_string(),
        "refresh_token_families_revoked": families.len(),
        "device": record.device,
        "ip": record.ip,
    });
    if let (Some(all), serde_json::Value::Object(extra)) = (all.as_object_mut(), details) {
        all.extend(extra);
    }
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            reason.audit_action(),
            reason.as_str(),
            actor,
        )
        .subject(format!("session:{}", record.sid))
        .origin(origin)
        .details(all),
    )
    .await;
    metrics::counter!(
        "watchword_sessions_ended_total",
        "tenant" => tenant.slug.to_string(),
        "reason" => reason.as_str(),
    )
    .increment(1);
    Ok(())
}

/// Ends every session of a user; returns how many were ended.
pub async fn end_user_sessions(
    ctx: &Ctx,
    tenant: &Tenant,
    user: crate::domain::ids::UserId,
    reason: EndReason,
    actor: Actor,
) -> Result<usize, EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let mut ended = 0;
    for found in sessions.list_for_user(tenant.id, user).await? {
        if end_session(
            ctx,
            tenant,
            &found,
            reason,
            actor.clone(),
            Origin::default(),
        )
        .await?
        {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Queues a signed logout token for every client with a back-channel URI that received tokens
/// in the session. Problems are logged; they never stop the session from ending.
async fn notify_clients(ctx: &Ctx, tenant: &Tenant, found: &Found) {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let record = &found.record;
    let client_ids = match sessions.clients(&record.sid).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the clients of an ended session; no back-channel logout");
            return;
        }
    };
    if client_ids.is_empty() {
        return;
    }
    let keys = match crate::signing::keys_for(ctx, tenant.id).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "no signing keys; back-channel logout not sent");
            return;
        }
    };
    let issuer = oauth::issuer(ctx, tenant);
    let now = ctx.clock.unix();
    for client_id in client_ids {
        let client = match clients::find(ctx, tenant, &client_id).await {
            Ok(Some(c)) => c.client,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(error = %e, client = %client_id, "cannot load client for back-channel logout");
                continue;
            }
        };
        let Some(uri) = client.settings.backchannel_logout_uri.clone() else {
            continue;
        };
        let claims = LogoutClaims {
            iss: issuer.clone(),
            aud: client.client_id.clone(),
            iat: now,
            exp: now + 120,
            jti: random::token(),
            sub: record.user_id.to_string(),
            sid: Some(record.sid.clone()),
            events: serde_json::json!({ BACKCHANNEL_EVENT: {} }),
        };
        let alg = client
            .settings
            .id_token_alg
            .unwrap_or(tenant.policy.tokens.id_token_alg);
        match keys.sign(alg, "logout+jwt", &claims, now) {
            Ok(token) => ctx.backchannel.send(Delivery {
                tenant: tenant.slug.to_string(),
                client_id: client.client_id.clone(),
                uri,
                logout_token: token,
                queued: Instant::now(),
            }),
            Err(e) => {
                tracing::error!(error = %e, client = %client.client_id, "cannot sign logout token")
            }
        }
    }
}
