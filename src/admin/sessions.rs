//! Seeing and ending users' browser sessions as an operator: the `watchword session` commands
//! (directly, or through the running server's control socket) and, later, the admin API.
//! Ending goes through `crate::lifecycle`, so it does everything a sign-out does, and more (offline
//! grants issued in the session are revoked too: see `EndReason::ends_offline_grants`).

use serde::{Deserialize, Serialize};

use super::AdminError;
use super::authz::Admin;
use crate::auth::sessions::Sessions;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::ids::UserId;
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::lifecycle::{self, EndReason};

/// A session as an operator sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    pub sid: String,
    pub user_id: String,
    pub device: String,
    pub ip: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_seen: i64,
    pub auth_time: i64,
    pub amr: Vec<String>,
}

impl From<&BrowserSession> for SessionInfo {
    fn from(r: &BrowserSession) -> Self {
        Self {
            sid: r.sid.clone(),
            user_id: r.user_id.to_string(),
            device: r.device.clone(),
            ip: r.ip.clone(),
            created_at: r.created_at,
            last_seen: r.last_seen,
            auth_time: r.auth_time,
            amr: crate::domain::session::amr_claim(&r.amr),
        }
    }
}

fn sessions(ctx: &Ctx) -> Sessions {
    Sessions::new(ctx.store.clone(), ctx.clock.clone())
}

impl From<lifecycle::EndError> for AdminError {
    fn from(e: lifecycle::EndError) -> Self {
        match e {
            lifecycle::EndError::Store(s) => s.into(),
            lifecycle::EndError::Storage(s) => s.into(),
        }
    }
}

/// The user's live sessions, oldest first.
pub async fn list(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<SessionInfo>, AdminError> {
    let now = ctx.clock.now();
    Ok(sessions(ctx)
        .list_for_user(tenant.id, user)
        .await?
        .iter()
        .filter(|f| f.record.state(now, &tenant.policy.session).is_active())
        .map(|f| SessionInfo::from(&f.record))
        .collect())
}

/// How many sessions of the tenant are live now (`sessions:read`): one count of the tenant's
/// session index by deadline (`auth::sessions::Sessions::count_live`), never a scan.
pub async fn count_live(ctx: &Ctx, tenant: &Tenant, by: &Admin) -> Result<u64, AdminError> {
    by.require(tenant.id, Permission::read(Module::Sessions))?;
    Ok(sessions(ctx).count_live(tenant.id).await?)
}

/// Ends the session with public id `sid` (as shown by [`list`]); `NotFound` if there is none.
pub async fn end(ctx: &Ctx, tenant: &Tenant, sid: &str, by: &Admin) -> Result<(), AdminError> {
    by.require(tenant.id, Permission::write(Module::Sessions))?;
    let actor = by.actor();
    let found = sessions(ctx)
        .find_by_sid(sid)
        .await?
        .filter(|f| f.record.tenant_id == tenant.id)
        .ok_or_else(|| AdminError::NotFound(format!("session {sid:?}")))?;
    lifecycle::end_session(
        ctx,
        tenant,
        &found,
        EndReason::Administrator,
        actor,
        by.origin.clone(),
    )
    .await?;
    Ok(())
}

/// Ends every session of a user; returns how many were ended.
pub async fn end_user(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    by: &Admin,
) -> Result<usize, AdminError> {
    by.require(tenant.id, Permission::write(Module::Sessions))?;
    let actor = by.actor();
    Ok(lifecycle::end_user_sessions(ctx, tenant, user, EndReason::Administrator, actor).await?)
}
