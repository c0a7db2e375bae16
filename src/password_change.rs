//! A signed-in user changing their own password (the account page): the rules and the change,
//! in one use case every path goes through. A user with a second factor must have proven one
//! recently (`auth::mfa::changes::freshness`, the rule of factor changes); the current password
//! must verify, behind the second-factor throttle (`auth::throttle::check_second_factor`: the
//! counter of passwords re-entered at step-ups too, so the two add up); the new one must pass the
//! tenant's policy and must not be a known breached one (`breach::refusal`). Then every grant of the user is revoked (offline ones included) and every
//! other session ends (`admin::access::end_all_but`), this browser's too unless the person keeps
//! it; a "your password was changed" notice goes to a verified address
//! (`crate::recovery::notify_changed`); everything is audited as `password_changed`.
//!
//! This sits beside `recovery` rather than in `auth`, because ending sessions and revoking grants
//! are layers above `auth` (`lifecycle`, `oauth::revocation`, through `admin::access`).

use std::net::IpAddr;

use crate::admin::AdminError;
use crate::admin::access::{self, AccessEnded};
use crate::auth::mfa::changes::{self, Freshness};
use crate::auth::sessions::Sessions;
use crate::auth::throttle;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::secret::Secret;
use crate::domain::session::{BrowserSession, EndReason};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::lifecycle;
use crate::storage;

/// The person's message for a wrong current password.
pub const WRONG_PASSWORD: &str = "Your current password is not right.";

/// What a change did, or why it was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Changed: `ended` says how many other sessions ended and grants were revoked; this
    /// browser's session was signed out too unless `kept`.
    Changed { ended: AccessEnded, kept: bool },
    /// Prove a second factor again first (a step-up), then come back.
    ConfirmFirst,
    /// The current password is wrong.
    Wrong,
    /// Too many wrong passwords: try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
    /// The new password breaks the tenant's policy or is breached (the person's message).
    Rejected(String),
}

/// The request: who asks, from which session, with what.
pub struct Change<'a> {
    pub session: &'a BrowserSession,
    pub user: &'a User,
    pub current: &'a Secret<String>,
    pub new: &'a Secret<String>,
    /// Stay signed in on this browser (its session is spared; its grants are revoked all the
    /// same).
    pub keep_this_session: bool,
    pub ip: IpAddr,
    pub origin: Origin,
}

/// May `session` change the password now? `false`: prove a second factor first. (A user without
/// one proves the current password in the form itself.)
pub async fn may_change(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
) -> Result<bool, AdminError> {
    Ok(changes::freshness(ctx, tenant, session, user).await? != Freshness::SecondFactor)
}

/// Changes the password (see the module's comment for the rules, in their order).
pub async fn change(ctx: &Ctx, tenant: &Tenant, req: Change<'_>) -> Result<Outcome, AdminError> {
    let user = req.user;
    if !may_change(ctx, tenant, req.session, user).await? {
        return Ok(Outcome::ConfirmFirst);
    }
    let identities = [user.username.as_str(), user.email.as_deref().unwrap_or("")];
    if let Err(why) = tenant.policy.password.check(req.new.expose(), &identities) {
        return Ok(Outcome::Rejected(why.to_string()));
    }
    if let Some(why) = crate::risk::breach::refusal(&ctx.breach, req.new.expose()).await {
        return Ok(Outcome::Rejected(why.to_owned()));
    }
    let user_id = user.id.to_string();
    if let Some(wait) = throttle::check_second_factor(ctx, tenant, &user_id, req.ip).await? {
        let refused = event(ctx, tenant, user, "throttled", &req.origin)
            .details(serde_json::json!({ "retry_after": wait }));
        throttle::audit_refusal(ctx, tenant, &["password_change", &user_id], refused).await?;
        return Ok(Outcome::Throttled { retry_after: wait });
    }
    let (t, u) = (tenant.id, user.id);
    let stored = ctx
        .db
        .run(move |c| storage::users::find_by_id(c, t, u))
        .await?
        .and_then(|found| found.password_hash);
    let verified = ctx
        .hasher
        .verify(req.current.expose(), stored.as_deref())
        .await?;
    if !verified.ok {
        throttle::second_factor_failed(ctx, tenant, &user_id, req.ip).await?;
        let failed = event(ctx, tenant, user, "failure", &req.origin)
            .details(serde_json::json!({ "reason": "wrong_password" }));
        storage::audit::record(&ctx.db, failed).await;
        return Ok(Outcome::Wrong);
    }
    throttle::second_factor_succeeded(ctx, tenant, &user_id, req.ip).await?;
    let hash = ctx.hasher.hash(req.new.expose()).await?;
    let now = ctx.clock.unix();
    ctx.db
        .write(move |c| storage::users::set_password_hash(c, u, &hash, now))
        .await?;
    let actor = Actor::User(user_id);
    let sid = req.session.sid.as_str();
    let ended = access::end_all_but(
        ctx,
        tenant,
        user.id,
        Some(sid),
        EndReason::User,
        actor.clone(),
    )
    .await?;
    if !req.keep_this_session {
        let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
        if let Some(found) = sessions.find_by_sid(sid).await? {
            lifecycle::end_session(
                ctx,
                tenant,
                &found,
                EndReason::SignedOut,
                actor,
                req.origin.clone(),
            )
            .await?;
        }
    }
    crate::recovery::notify_changed(ctx, tenant, user, &req.origin).await?;
    let done = event(ctx, tenant, user, "success", &req.origin).details(serde_json::json!({
        "sessions_ended": ended.sessions,
        "grants_revoked": ended.grants,
        "this_session_kept": req.keep_this_session,
    }));
    storage::audit::record(&ctx.db, done).await;
    Ok(Outcome::Changed {
        ended,
        kept: req.keep_this_session,
    })
}

fn event(ctx: &Ctx, tenant: &Tenant, user: &User, outcome: &str, origin: &Origin) -> AuditEvent {
    AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::PasswordChanged,
        outcome,
        Actor::User(user.id.to_string()),
    )
    .subject(format!("user:{}", user.id))
    .origin(origin.clone())
}
