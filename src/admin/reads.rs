//! What administrators read, one page at a time, for the admin API and the management UI: a
//! tenant's users (keyset, prefix search), audit entries (filtered), the number of
//! administrators, the retention jobs' last runs. No totals, no offsets.

use super::AdminError;
use crate::context::Ctx;
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
    prefix: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<User>, AdminError> {
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
    filter: AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::audit_query::page(c, tenant_id, &filter, limit))
        .await?)
}

/// How many administrators the tenant has.
pub async fn admin_count(ctx: &Ctx, tenant: &Tenant) -> Result<i64, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::users::count_admins(c, tenant_id))
        .await?)
}

/// The retention jobs' last runs.
pub async fn retention_runs(ctx: &Ctx) -> Result<Vec<MaintenanceRun>, AdminError> {
    Ok(ctx.db.run(storage::maintenance::runs).await?)
}
