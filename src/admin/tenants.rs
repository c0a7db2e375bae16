//! Creating, updating and listing tenants.

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::ids::TenantId;
use crate::domain::tenant::{Tenant, TenantPolicy, TenantSlug};
use crate::storage;

use super::AdminError;
use super::authz::Admin;
use crate::domain::admin::{Module, Permission};

pub async fn create(
    ctx: &Ctx,
    slug: &str,
    display_name: Option<&str>,
    policy: Option<TenantPolicy>,
    by: &Admin,
) -> Result<Tenant, AdminError> {
    by.require_instance(Permission::write(Module::Tenants))?;
    let actor = by.actor();
    let slug = TenantSlug::parse(slug)?;
    let policy = policy.unwrap_or_default();
    policy
        .validate()
        .map_err(|(k, m)| AdminError::InvalidPolicy(k, m))?;
    let now = ctx.clock.now();
    let tenant = Tenant {
        id: TenantId::generate(),
        display_name: display_name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map_or_else(|| slug.to_string(), str::to_owned),
        slug,
        policy,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = tenant.clone();
    ctx.db
        .run(move |c| storage::tenants::insert(c, &row))
        .await?;
    crate::signing::rotation::ensure(ctx, tenant.id).await?;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            now,
            Some(tenant.id),
            AuditAction::TenantCreated,
            "success",
            actor,
        )
        .subject(format!("tenant:{}", tenant.slug)),
    )
    .await;
    Ok(tenant)
}

/// Writes a changed display name or policy (no-op if nothing changed); returns whether it wrote.
pub async fn update(
    ctx: &Ctx,
    mut tenant: Tenant,
    display_name: Option<&str>,
    policy: Option<TenantPolicy>,
    by: &Admin,
) -> Result<(Tenant, bool), AdminError> {
    by.require(tenant.id, Permission::write(Module::Policies))?;
    let actor = by.actor();
    let audited =
        |t: &Tenant| serde_json::json!({ "display_name": t.display_name, "policy": t.policy });
    let before = audited(&tenant);
    let mut changed = false;
    if let Some(name) = display_name.map(str::trim).filter(|n| !n.is_empty())
        && name != tenant.display_name
    {
        tenant.display_name = name.to_owned();
        changed = true;
    }
    if let Some(policy) = policy {
        policy
            .validate()
            .map_err(|(k, m)| AdminError::InvalidPolicy(k, m))?;
        if policy != tenant.policy {
            tenant.policy = policy;
            changed = true;
        }
    }
    if !changed {
        return Ok((tenant, false));
    }
    tenant.updated_at = ctx.clock.now();
    let row = tenant.clone();
    let written = ctx.db.run(move |c| storage::tenants::update(c, &row)).await;
    // Written or not (a stale copy, perhaps from the cache), the cached row is no longer news.
    ctx.cache.tenants.remove(&tenant.slug.to_string());
    written?;
    tenant.version += 1;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            tenant.updated_at,
            Some(tenant.id),
            AuditAction::TenantUpdated,
            "success",
            actor,
        )
        .subject(format!("tenant:{}", tenant.slug))
        .diff(&before, &audited(&tenant)),
    )
    .await;
    Ok((tenant, true))
}

/// The tenant with this slug (served from the tenant cache; a few seconds stale at most when
/// another replica changed it).
pub async fn find(ctx: &Ctx, slug: &str) -> Result<Option<Tenant>, AdminError> {
    if let Some(t) = ctx.cache.tenants.get(&slug.to_owned()) {
        return Ok(Some(t));
    }
    let key = slug.to_owned();
    let found = ctx
        .db
        .run(move |c| storage::tenants::find_by_slug(c, &key))
        .await?;
    if let Some(t) = &found {
        ctx.cache.tenants.insert(slug.to_owned(), t.clone());
    }
    Ok(found)
}

/// The tenant or a "not found" error naming it.
pub async fn get(ctx: &Ctx, slug: &str) -> Result<Tenant, AdminError> {
    find(ctx, slug)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("tenant {slug:?}")))
}

pub async fn list(ctx: &Ctx) -> Result<Vec<Tenant>, AdminError> {
    Ok(ctx.db.run(storage::tenants::list).await?)
}

/// Creates the `default` tenant if it does not exist yet; returns it and whether it was created.
pub async fn ensure_default(ctx: &Ctx) -> Result<(Tenant, bool), AdminError> {
    let slug = TenantSlug::default_tenant();
    if let Some(t) = find(ctx, slug.as_str()).await? {
        return Ok((t, false));
    }
    match create(
        ctx,
        slug.as_str(),
        Some("Default"),
        None,
        &Admin::operator(Actor::System),
    )
    .await
    {
        Ok(t) => Ok((t, true)),
        // Another replica created it at the same moment.
        Err(AdminError::Conflict(_)) => Ok((get(ctx, slug.as_str()).await?, false)),
        Err(e) => Err(e),
    }
}
