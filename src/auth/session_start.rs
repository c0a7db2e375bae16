//! The last step of every way of signing in (password, second factor, passkey): the browser's
//! session for a proven user, within the tenant's session limit, audited and counted.

use super::error::SignInError;
use super::sessions::{
    Created, Creation, Found, NewSession, Reauthentication, SessionLookup, Sessions,
};
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::session::{Amr, SessionRisk, SessionState};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// How a proven user's browser session is to be started: by whom (for the session record and
/// audit), replacing which session this browser has, and whether to evict the user's oldest
/// sessions whatever the tenant's `on_limit` (the user confirmed it).
#[derive(Clone, Debug)]
pub struct SessionRequest {
    pub origin: Origin,
    pub replaces_session: Option<String>,
    pub end_other_sessions: bool,
    /// The sign-in's risk judgement: kept on the session (`BrowserSession::risk`), and learnt
    /// by the user's profile once the session exists.
    pub risk: Option<super::risk::Note>,
    /// Signed in through an upstream identity provider (`crate::federation`).
    pub via: Option<crate::domain::session::Federated>,
}

/// What [`start_session`] did.
#[derive(Debug)]
pub enum Started {
    Session {
        session: Box<NewSession>,
        replaced: Option<Box<Found>>,
        evicted: Vec<Found>,
    },
    Denied {
        live: Vec<Found>,
    },
}

/// The last step of every sign-in (password, second factor, passkey): the browser's session for
/// `user`. A session this browser
/// already has for the same user continues under a new cookie token; otherwise a new session is
/// created within the tenant's session limit (`crate::auth::sessions::Sessions::create`).
pub async fn start_session(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    amr: Vec<Amr>,
    req: &SessionRequest,
) -> Result<Started, SignInError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let previous = match &req.replaces_session {
        Some(token) => match sessions.lookup(tenant, token, false).await? {
            SessionLookup::Active(found) | SessionLookup::Expired(found, _) => Some(found),
            SessionLookup::Ended(_) | SessionLookup::Missing => None,
        },
        None => None,
    };
    let ip = req.origin.ip.as_deref().unwrap_or("");
    let ua = req.origin.user_agent.as_deref().unwrap_or("");
    let now = ctx.clock.now();
    let risk = req.risk.as_ref().map(|n| SessionRisk {
        level: n.level,
        reasons: n.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        decision: n.decision.as_str().to_owned(),
        event: n.event.clone(),
        enforced: n.enforced,
    });
    let replaced = match previous {
        Some(prev)
            if prev.record.user_id == user.id
                && prev.record.state(now, &tenant.policy.session) == SessionState::Active =>
        {
            if let Some(session) = sessions
                .reauthenticate(
                    tenant,
                    &prev,
                    Reauthentication {
                        risk: risk.clone(),
                        ..Reauthentication::fresh(amr.clone())
                    },
                    ip,
                    ua,
                )
                .await?
            {
                let started = Started::Session {
                    session: Box::new(session),
                    replaced: None,
                    evicted: Vec::new(),
                };
                let methods = crate::domain::session::amr_claim(&amr);
                audit_started(ctx, tenant, user, &started, &methods, req).await;
                after_start(ctx, tenant, user, &started, req).await;
                return Ok(started);
            }
            None // it ended meanwhile: a new session below
        }
        other => other.map(Box::new),
    };
    let methods = crate::domain::session::amr_claim(&amr);
    let started = match sessions
        .create(
            tenant,
            user.id,
            Creation {
                amr,
                ip,
                user_agent: ua,
                force: req.end_other_sessions,
                risk,
                via: req.via.clone(),
            },
        )
        .await?
    {
        Created::Admitted { session, evicted } => Started::Session {
            session,
            replaced,
            evicted,
        },
        Created::Denied { live } => Started::Denied { live },
    };
    audit_started(ctx, tenant, user, &started, &methods, req).await;
    after_start(ctx, tenant, user, &started, req).await;
    Ok(started)
}

/// The risk side of a started (or refused) session: the event's result, the profile, the
/// notice. Failures here are logged, never fail the sign-in.
async fn after_start(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    started: &Started,
    req: &SessionRequest,
) {
    let Some(note) = &req.risk else { return };
    match started {
        Started::Session { .. } => {
            if let Err(e) = super::risk::signed_in(ctx, user, note).await {
                tracing::warn!(error = %e, "could not update a user's risk profile");
            }
            if note.notify {
                super::risk_notice::send(ctx, tenant, user, note).await;
            }
        }
        Started::Denied { .. } => super::risk::finished(ctx, note, "session_limit").await,
    }
}

/// The sign-in's audit event: `success` (the new session, the methods, how many sessions were
/// evicted) or `session_limit` (refused by `deny_new`).
async fn audit_started(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    started: &Started,
    methods: &[String],
    req: &SessionRequest,
) {
    let origin = &req.origin;
    let risk = req.risk.as_ref().map(|n| n.event.clone());
    let event = |outcome: &str| {
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::SignIn,
            outcome,
            Actor::User(user.id.to_string()),
        )
        .origin(origin.clone())
    };
    if let Started::Session { session, .. } = started {
        metrics::counter!(
            "watchword_sessions_started_total",
            "tenant" => tenant.slug.to_string(),
            "acr" => crate::domain::session::Acr::of(&session.record.amr).as_str(),
        )
        .increment(1);
    }
    let event = match started {
        Started::Session {
            session, evicted, ..
        } => event("success")
            .subject(format!("session:{}", session.record.sid))
            .details(serde_json::json!({
                "amr": methods,
                "sessions_evicted": evicted.len(),
                "risk_event": risk,
                "via": req.via.as_ref().map(|f| f.idp.clone()),
            })),
        Started::Denied { live } => event("session_limit")
            .subject(format!("user:{}", user.id))
            .details(serde_json::json!({ "live_sessions": live.len(), "on_limit": "deny_new" })),
    };
    storage::audit::record(&ctx.db, event).await;
}
