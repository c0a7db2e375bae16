//! Giving, changing and taking away administrators' roles: only by someone who manages
//! administrators (never an API key), instance admin only by an instance admin, and never leaving
//! a tenant without a tenant admin. The last check and the write are one transaction that first
//! takes the tenant row's lock, so two admins demoting each other at once cannot both succeed.

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission, Role};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// Sets `user`'s role (`None`: no longer an administrator). Returns whether anything changed.
pub async fn set(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    user: &User,
    role: Option<Role>,
) -> Result<bool, AdminError> {
    by.require(tenant.id, Permission::write(Module::Admins))?;
    if by.is_api_key() {
        return Err(AdminError::Forbidden(Permission::write(Module::Admins)));
    }
    let instance_level = |r: Option<Role>| r == Some(Role::InstanceAdmin);
    if (instance_level(role) || instance_level(user.admin_role)) && !by.is_instance_wide() {
        return Err(AdminError::Forbidden(Permission::write(Module::Tenants)));
    }
    if user.admin_role == role {
        return Ok(false);
    }
    let demotes = user.admin_role.is_some_and(Role::manages_tenant)
        && !role.is_some_and(Role::manages_tenant);
    let mut next = user.clone();
    next.admin_role = role;
    next.updated_at = ctx.clock.now();
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::RoleChanged,
        "success",
        by.actor(),
    )
    .subject(format!("user:{}", user.id))
    .origin(by.origin.clone())
    .details(serde_json::json!({
        "before": user.admin_role.map(Role::as_str),
        "after": role.map(Role::as_str),
    }));
    let tenant_id = tenant.id;
    let outcome = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                if demotes {
                    storage::tenants::lock(c, tenant_id)?;
                    if storage::users::tenant_admins_besides(c, tenant_id, next.id)? == 0 {
                        return Ok(false);
                    }
                }
                storage::users::update_profile(c, &next)?;
                storage::audit::insert(c, &event)?;
                Ok(true)
            })
        })
        .await?;
    if !outcome {
        return Err(AdminError::Refused(
            "the last tenant admin cannot be removed; make someone else tenant admin first",
        ));
    }
    Ok(true)
}
