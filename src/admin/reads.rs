//! What administrators read, one page at a time, for the admin API and the management UI: a
//! tenant's users (keyset, prefix search), audit entries (filtered), the number of
//! administrators, the retention jobs' last runs. No totals, no offsets. Each checks the
//! reader's permission first.

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{
    self, audit::AuditRow, audit_query::AuditFilter, maintenance::MaintenanceRun,
};

/// Users in username order (or e-mail order for a prefix with `@`) after `after`, at most
/// `limit`.
pub async fn users(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    prefix: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<User>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Users))?;
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| {
            storage::users::page(c, tenant_id, prefix.as_deref(), after.as_deref(), limit)
        })
        .await?)
}

/// Audit entries, newest first.
pub async fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    filter: AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Events))?;
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::audit_query::page(c, tenant_id, &filter, limit))
        .await?)
}

/// The outcomes of `action` in the tenant's audit log since `since`, counted (e.g. `sign_in`:
/// success, failure, throttled; `second_factor`: success, failure).
pub async fn audit_outcomes(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    action: &'static str,
    since: i64,
) -> Result<Vec<(String, i64)>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Events))?;
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::audit_query::outcomes_since(c, tenant_id, action, since))
        .await?)
}

/// How many administrators the tenant has.
pub async fn admin_count(ctx: &Ctx, tenant: &Tenant, by: &Admin) -> Result<i64, AdminError> {
    by.require(tenant.id, Permission::read(Module::Admins))?;
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::users::count_admins(c, tenant_id))
        .await?)
}

/// The retention jobs' last runs (instance-wide; shown to whoever reads `tenant`'s events).
pub async fn retention_runs(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
) -> Result<Vec<MaintenanceRun>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Events))?;
    Ok(ctx.db.run(storage::maintenance::runs).await?)
}
