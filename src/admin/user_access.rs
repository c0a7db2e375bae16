//! What administrators see and withdraw of a user's access beyond sessions (admin API): the
//! applications holding the user's consent or live grants (`oauth::access`), withdrawing one
//! (consent forgotten, grants and their tokens revoked, audited with the administrator as the
//! actor), and the upstream identities linked to the account, unlinked with
//! `federation::link::unlink` (the account page's rule: the last way in is kept) once the
//! administrator's `users:write` is checked.

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::federation::link::Unlinked;
use crate::oauth::access::{AppAccess, Withdrawn};
use crate::storage;

/// The applications that hold the user's consent or a live grant, most recent first.
pub async fn apps(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    by: &Admin,
) -> Result<Vec<AppAccess>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Users))?;
    Ok(crate::oauth::access::of_user(ctx, tenant, user).await?)
}

/// Withdraws what the user gave `client_id`: the consent is forgotten and every grant of the
/// client from the user (refresh tokens, their access tokens) revoked; the next authorization
/// asks again. Audited (`access_withdrawn`) when anything was withdrawn.
pub async fn withdraw(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    client_id: &str,
    by: &Admin,
) -> Result<Withdrawn, AdminError> {
    by.require(tenant.id, Permission::write(Module::Users))?;
    Ok(crate::oauth::access::withdraw_by(
        ctx,
        tenant,
        user,
        client_id,
        by.actor(),
        by.origin.clone(),
    )
    .await?)
}

/// An upstream identity linked to a user.
#[derive(Clone, Debug)]
pub struct Linked {
    pub idp: String,
    pub idp_name: String,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: i64,
    pub last_used_at: i64,
}

/// The user's linked upstream identities, oldest first.
pub async fn identities(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    by: &Admin,
) -> Result<Vec<Linked>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Users))?;
    let tenant_id = tenant.id.to_string();
    Ok(ctx
        .db
        .run(move |c| storage::idps::of_user(c, user))
        .await?
        .into_iter()
        .filter(|(row, _, _)| row.tenant_id == tenant_id)
        .map(|(row, slug, name)| Linked {
            idp: slug,
            idp_name: name,
            subject: row.subject,
            email: row.email,
            linked_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

/// Unlinks the upstream identity `subject` at `idp` from `user`, with the administrator as the
/// actor. The account's last way in (no password, no other identity) is kept
/// ([`Unlinked::LastWayIn`]); the check and the delete are one transaction under the user's lock.
pub async fn unlink(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    idp: &str,
    subject: &str,
    by: &Admin,
) -> Result<Unlinked, AdminError> {
    by.require(tenant.id, Permission::write(Module::Users))?;
    crate::federation::link::unlink(
        ctx,
        tenant,
        user,
        idp,
        subject,
        by.actor(),
        by.origin.clone(),
    )
    .await
    .map_err(AdminError::from)
}
