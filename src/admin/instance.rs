//! The instance level of administration (admin API `/tenants`): listing, reading and creating
//! tenants. Only an instance admin holds `tenants:*`, and an API key an instance admin gave it;
//! client tokens never do (`authz::Admin::require_instance`).

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::tenant::{Tenant, TenantPolicy};

/// Every tenant, by slug.
pub async fn list(ctx: &Ctx, by: &Admin) -> Result<Vec<Tenant>, AdminError> {
    by.require_instance(Permission::read(Module::Tenants))?;
    super::tenants::list(ctx).await
}

/// The tenant with `slug`, as stored now.
pub async fn get(ctx: &Ctx, slug: &str, by: &Admin) -> Result<Tenant, AdminError> {
    by.require_instance(Permission::read(Module::Tenants))?;
    let key = slug.to_owned();
    ctx.db
        .run(move |c| crate::storage::tenants::find_by_slug(c, &key))
        .await?
        .ok_or_else(|| AdminError::NotFound("tenant".into()))
}

/// A new tenant (with its signing keys), audited as `tenant_created` (`tenants::create` checks
/// `tenants:write`).
pub async fn create(
    ctx: &Ctx,
    slug: &str,
    display_name: Option<&str>,
    policy: Option<TenantPolicy>,
    by: &Admin,
) -> Result<Tenant, AdminError> {
    super::tenants::create(ctx, slug, display_name, policy, by).await
}
