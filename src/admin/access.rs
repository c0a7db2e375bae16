//! Ending a user's access when an operator resets their credentials (a new password, second
//! factors removed): whoever signed in with the old ones may be an attacker, so by default every
//! browser session ends (reason `administrator`) and every grant is revoked, its refresh tokens
//! in the database and, through revocation markers, the access tokens already issued.

use serde::{Deserialize, Serialize};

use super::AdminError;
use crate::context::Ctx;
use crate::domain::audit::Actor;
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::lifecycle::{self, EndReason};
use crate::oauth::revocation::{self, RevokeError};

/// What a credential reset does to the user's sessions and grants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReset {
    /// End every session and revoke every grant (the default).
    #[default]
    EndAccess,
    /// Leave them (the operator is sure nobody else holds them, e.g. `--keep-sessions`).
    KeepAccess,
}

/// What ending a user's access did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEnded {
    pub sessions: usize,
    pub grants: usize,
}

impl std::fmt::Display for AccessEnded {
    /// "ended 2 sessions and revoked 3 grants".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "ended {} session{} and revoked {} grant{}",
            self.sessions,
            plural(self.sessions),
            self.grants,
            plural(self.grants)
        )
    }
}

impl From<RevokeError> for AdminError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::Store(s) => s.into(),
            RevokeError::Storage(s) => s.into(),
        }
    }
}

/// Applies `on_reset` after a credential reset; `None` when access was kept.
pub(super) async fn after_reset(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    on_reset: OnReset,
    actor: Actor,
) -> Result<Option<AccessEnded>, AdminError> {
    match on_reset {
        OnReset::KeepAccess => Ok(None),
        OnReset::EndAccess => end_all(ctx, tenant, user, actor).await.map(Some),
    }
}

/// Revokes every grant of the user (offline ones included), then ends every browser session.
pub async fn end_all(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    actor: Actor,
) -> Result<AccessEnded, AdminError> {
    end_all_but(ctx, tenant, user, None, EndReason::Administrator, actor).await
}

/// Revokes every grant of the user (offline ones, and those of the spared session, included),
/// then ends every browser session except the one with sid `spare` (a user who changed their own
/// password and stays signed in on this browser), for `reason`.
pub async fn end_all_but(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    spare: Option<&str>,
    reason: EndReason,
    actor: Actor,
) -> Result<AccessEnded, AdminError> {
    let grants = revocation::revoke_user_grants(ctx, tenant, &user.to_string()).await?;
    let sessions =
        lifecycle::end_user_sessions_but(ctx, tenant, user, spare, reason, actor).await?;
    Ok(AccessEnded { sessions, grants })
}

/// The audit details of what a reset did to the user's access.
pub(super) fn audit_details(
    outcome: &Result<Option<AccessEnded>, AdminError>,
) -> serde_json::Value {
    match outcome {
        Ok(Some(ended)) => serde_json::json!({
            "sessions_ended": ended.sessions,
            "grants_revoked": ended.grants,
        }),
        Ok(None) => serde_json::json!({ "sessions_kept": true }),
        Err(e) => serde_json::json!({ "ending_sessions_failed": e.to_string() }),
    }
}
