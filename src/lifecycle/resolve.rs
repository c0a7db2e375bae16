//! Resolving a session cookie ([`resolve`]): the live session and its enabled user, or why there
//! is none. What it finds timed out, belonging to a disabled or deleted user, or used from both
//! another network and another device (continuous risk evaluation) is ended here, through the
//! lifecycle's `end_session_with`, so every path that reads a cookie gets the same answer.

use super::{EndError, EndReason, end_session, end_session_with};
use crate::auth::continuous::{self, Baseline, Seen, Use, Verdict};
use crate::auth::sessions::{Found, Sessions};
use crate::context::Ctx;
use crate::domain::audit::{Actor, Origin};
use crate::domain::tenant::Tenant;
use crate::storage;

/// What a session cookie stands for, once resolved.
pub enum Resolved {
    /// A live session of an enabled user.
    SignedIn {
        session: Box<crate::domain::session::BrowserSession>,
        user: Box<crate::domain::user::User>,
    },
    /// No live session: it ended (`Some`, why: earlier, or just now because it timed out or its
    /// user was disabled or deleted) or the cookie is unknown, forged or another tenant's (`None`).
    Anonymous(Option<EndReason>),
}

/// Resolves the session cookie value `token` for `tenant`, presented by the request `seen`. A
/// session found timed out, or whose user has since been disabled or deleted, is ended here, for
/// that reason; so is one used from both another network and another device than it was signed
/// in on, when the tenant's risk policy says so (`on_change = reauthenticate`).
pub async fn resolve(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    seen: &Seen,
) -> Result<Resolved, EndError> {
    use crate::auth::sessions::SessionLookup;
    use crate::domain::session::SessionState;
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let (found, reason) = match sessions.lookup(tenant, token, true).await? {
        SessionLookup::Active(found) => {
            let (tenant_id, user_id) = (tenant.id, found.record.user_id);
            let user = ctx
                .db
                .run(move |c| storage::users::find_by_id(c, tenant_id, user_id))
                .await?
                .map(|u| u.user)
                .filter(|u| u.enabled);
            match user {
                Some(user) => {
                    if still_in_context(ctx, tenant, &found, seen).await? {
                        return Ok(Resolved::SignedIn {
                            session: Box::new(found.record),
                            user: Box::new(user),
                        });
                    }
                    return Ok(Resolved::Anonymous(Some(EndReason::Risk)));
                }
                None => (found, EndReason::AccountDisabled),
            }
        }
        SessionLookup::Expired(found, why) => {
            let reason = if why == SessionState::IdleExpired {
                EndReason::IdleTimeout
            } else {
                EndReason::AbsoluteTimeout
            };
            (found, reason)
        }
        SessionLookup::Ended(ended) => return Ok(Resolved::Anonymous(Some(ended.reason))),
        SessionLookup::Missing => return Ok(Resolved::Anonymous(None)),
    };
    end_session(
        ctx,
        tenant,
        &found,
        reason,
        Actor::System,
        Origin::default(),
    )
    .await?;
    Ok(Resolved::Anonymous(Some(reason)))
}

/// Continuous evaluation of a session's use: `false` when it was used from both another network
/// and another device and has just been ended for it (reason `risk_reauthenticate`; the grants
/// issued in it go too). With `on_change = off` (or audit-only) the change is only recorded.
async fn still_in_context(
    ctx: &Ctx,
    tenant: &Tenant,
    found: &Found,
    seen: &Seen,
) -> Result<bool, EndError> {
    let record = &found.record;
    let used = Use::Session { sid: &record.sid };
    let baseline = Baseline {
        ip: record.ip.parse().ok(),
        device: Some(&record.device),
    };
    let ttl = std::time::Duration::from_secs(
        u64::try_from(tenant.policy.session.absolute_timeout_secs).unwrap_or(1),
    );
    let verdict =
        continuous::evaluate::<EndError>(ctx, tenant, record.user_id, used, baseline, seen, ttl)
            .await?;
    let Verdict::Reauthenticate(change) = verdict else {
        return Ok(true);
    };
    let details = serde_json::json!({ "changed": change.signal.details });
    if end_session_with(
        ctx,
        tenant,
        found,
        EndReason::Risk,
        Actor::System,
        seen.origin(),
        details,
    )
    .await?
    {
        continuous::reauthenticated(ctx, tenant, record.user_id, used, change, seen).await?;
    }
    Ok(false)
}
