//! The session lifecycle after the sign-in. Ending a browser session everywhere: its record (with a note of why, for the browser), the
//! refresh tokens bound to it, back-channel logout tokens to every client that received tokens
//! in it, an audit event and a metric. Every way a session ends goes through here: sign-out,
//! RP-initiated logout, timeouts (on the next request or by the sweep), a new sign-in replacing
//! it, disabling the account, administrators. And resolving a session cookie ([`resolve`]), which
//! ends what it finds timed out, belonging to a disabled user, or used from both another network
//! and another device (continuous risk evaluation, `crate::auth::continuous`), so that every path
//! that reads a cookie (pages, JSON endpoints, later federation and the admin UI) gets the same
//! answer.

use std::time::Instant;

use crate::auth::sessions::{Elsewhere, Ended, Found, Sessions};
use crate::backchannel::Delivery;
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::oauth::tokens::{BACKCHANNEL_EVENT, LogoutClaims};
use crate::oauth::{self, clients};
use crate::session_store::StoreError;
use crate::storage::{self, StorageError};

mod resolve;
mod retry;
pub use resolve::{Resolved, resolve};
use retry::queue_revocation;
pub use retry::retry_revocations;

pub use crate::domain::session::EndReason;

/// The audit action of a session that ended for `reason`.
fn audit_action(reason: EndReason) -> AuditAction {
    match reason {
        EndReason::SignedOut | EndReason::RpInitiated => AuditAction::SignOut,
        EndReason::IdleTimeout | EndReason::AbsoluteTimeout => AuditAction::SessionExpired,
        _ => AuditAction::SessionEnded,
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
    end_session_with(
        ctx,
        tenant,
        found,
        reason,
        actor,
        origin,
        serde_json::Value::Null,
    )
    .await
}

/// [`end_session`] with `details` added to the audit event's.
async fn end_session_with(
    ctx: &Ctx,
    tenant: &Tenant,
    found: &Found,
    reason: EndReason,
    actor: Actor,
    origin: Origin,
    details: serde_json::Value,
) -> Result<bool, EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let ended = Ended::new(reason, ctx.clock.unix(), None);
    if !sessions.remove(&found.record, &ended).await? {
        return Ok(false);
    }
    finish(ctx, tenant, found, reason, actor, origin, details).await?;
    Ok(true)
}

/// Ends the sessions a sign-in evicted (the session limit). Their records went in the same
/// atomic step that admitted the new session, so those browsers are already signed out and their
/// tokens already fail (session-bound refresh tokens find no session, access tokens introspect
/// inactive). Here, before the sign-in answers, each gets its note for the returning browser
/// ("your account signed in on another device") and its grants, offline ones included, are
/// revoked in the database (with a revocation marker per grant). A revocation that fails is
/// recorded in the session store (`rvdue`) and retried by the sweep until it succeeds
/// ([`retry_revocations`]), so it never silently lapses. The rest (back-channel logout, audit)
/// runs in the background so the new sign-in does not wait for it. Failures are logged.
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
        EndReason::Evicted,
        ctx.clock.unix(),
        Some(elsewhere.clone()),
    );
    for found in &evicted {
        if let Err(e) = sessions.note_ended(&found.record, &ended).await {
            tracing::error!(error = %e, session = %found.record.sid, "could not note an evicted session's end");
        }
    }
    let mut revoked = Vec::with_capacity(evicted.len());
    let mut clients = Vec::with_capacity(evicted.len());
    for found in &evicted {
        let sid = &found.record.sid;
        // Read once here and handed to the back-channel logout below. A session that never
        // issued a code has no grants: no database write. (Clients are noted before any code is
        // issued, and forgotten only after the revocation.)
        let listed = sessions.clients(sid).await.ok();
        let none = listed.as_ref().is_some_and(Vec::is_empty);
        clients.push(listed);
        if none {
            revoked.push(Some(0));
            continue;
        }
        match revoke_grants(
            ctx,
            tenant.id,
            sid,
            EndReason::Evicted.ends_offline_grants(),
        )
        .await
        {
            Ok(families) => revoked.push(Some(families.len())),
            Err(e) => {
                tracing::error!(error = %e, session = %sid, "could not revoke an evicted session's grants; the sweep retries");
                if let Err(e) = queue_revocation(ctx, tenant.id, sid).await {
                    tracing::error!(error = %e, session = %sid, "could not record an evicted session's grants for revocation");
                }
                revoked.push(None);
            }
        }
    }
    let details = serde_json::json!({
        "by_session": by_session,
        "by_device": elsewhere.device,
        "by_ip": by.ip,
    });
    let (ctx, tenant) = (ctx.clone(), tenant.clone());
    tokio::spawn(async move {
        for ((found, families), listed) in evicted.iter().zip(revoked).zip(clients) {
            let done = after_revocation(
                &ctx,
                &tenant,
                found,
                EndReason::Evicted,
                Actor::System,
                by.clone(),
                details.clone(),
                families,
                listed,
            )
            .await;
            if let Err(e) = done {
                tracing::error!(error = %e, session = %found.record.sid, "could not finish ending an evicted session");
            }
        }
    });
}

/// Revokes the grants issued in session `sid` (its offline ones too when `offline`): refresh
/// tokens in the database, and for offline grants, whose access tokens are not bound to the
/// session, a revocation marker per grant. Returns the grants revoked.
async fn revoke_grants(
    ctx: &Ctx,
    tenant: TenantId,
    sid: &str,
    offline: bool,
) -> Result<Vec<String>, EndError> {
    let (sid, now) = (sid.to_owned(), ctx.clock.unix());
    let families = ctx
        .db
        .write(move |c| {
            storage::grants::revoke(
                c,
                tenant,
                storage::grants::Whose::Session { sid: &sid, offline },
                now,
            )
        })
        .await?;
    if offline {
        for family in &families {
            crate::oauth::revocation::mark_grant(ctx, family).await?;
        }
    }
    Ok(families)
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
    let families = revoke_grants(
        ctx,
        tenant.id,
        &found.record.sid,
        reason.ends_offline_grants(),
    )
    .await?;
    after_revocation(
        ctx,
        tenant,
        found,
        reason,
        actor,
        origin,
        details,
        Some(families.len()),
        None,
    )
    .await
}

/// Back-channel logout, the session's client list, audit and metrics, once its grants are
/// revoked (`revoked`: how many, or `None` when that failed and was left to the sweep;
/// `clients`: the session's clients if the caller has already read them).
#[allow(clippy::too_many_arguments)]
async fn after_revocation(
    ctx: &Ctx,
    tenant: &Tenant,
    found: &Found,
    reason: EndReason,
    actor: Actor,
    origin: Origin,
    details: serde_json::Value,
    revoked: Option<usize>,
    clients: Option<Vec<String>>,
) -> Result<(), EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let record = &found.record;
    notify_clients(ctx, tenant, found, clients).await;
    sessions.forget_clients(&record.sid).await?;
    let mut all = serde_json::json!({
        "user": record.user_id.to_string(),
        "refresh_token_families_revoked": revoked,
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
            audit_action(reason),
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
    end_user_sessions_but(ctx, tenant, user, None, reason, actor).await
}

/// Ends every session of a user except the one with sid `spare` (the browser that asked, when it
/// stays signed in); returns how many were ended.
pub async fn end_user_sessions_but(
    ctx: &Ctx,
    tenant: &Tenant,
    user: crate::domain::ids::UserId,
    spare: Option<&str>,
    reason: EndReason,
    actor: Actor,
) -> Result<usize, EndError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let mut ended = 0;
    for found in sessions.list_for_user(tenant.id, user).await? {
        if spare == Some(found.record.sid.as_str()) {
            continue;
        }
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
async fn notify_clients(ctx: &Ctx, tenant: &Tenant, found: &Found, known: Option<Vec<String>>) {
    let record = &found.record;
    let listed = match known {
        Some(c) => Ok(c),
        None => {
            Sessions::new(ctx.store.clone(), ctx.clock.clone())
                .clients(&record.sid)
                .await
        }
    };
    let client_ids = match listed {
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
