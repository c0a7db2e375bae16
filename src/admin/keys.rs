//! Signing-key operations an operator (CLI today, the admin API later) performs on a tenant:
//! rotating and withdrawing keys, each audited (`keys_rotated`, outcome `success` or
//! `withdrawn`). The key ring itself is `crate::signing`.

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::keys::SigningAlg;
use crate::domain::tenant::Tenant;
use crate::signing::rotation::{self, KeyInfo};
use crate::storage;

/// New keys for `algs`: published now, signing after the usual delay (or at once with
/// `immediate`).
pub async fn rotate(
    ctx: &Ctx,
    tenant: &Tenant,
    algs: &[SigningAlg],
    immediate: bool,
    by: &Admin,
) -> Result<Vec<KeyInfo>, AdminError> {
    by.require(tenant.id, Permission::write(Module::Keys))?;
    let actor = by.actor();
    let keys = rotation::rotate(ctx, tenant.id, algs, immediate).await?;
    let kids: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::KeysRotated,
            "success",
            actor,
        )
        .details(serde_json::json!({ "kids": kids, "immediate": immediate })),
    )
    .await;
    Ok(keys)
}

/// Withdraws a published key at once (a compromised key); returns the key that signs instead.
pub async fn withdraw(
    ctx: &Ctx,
    tenant: &Tenant,
    kid: &str,
    by: &Admin,
) -> Result<KeyInfo, AdminError> {
    by.require(tenant.id, Permission::write(Module::Keys))?;
    let actor = by.actor();
    let replacement = rotation::withdraw(ctx, tenant.id, kid).await?;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::KeysRotated,
            "withdrawn",
            actor,
        )
        .details(serde_json::json!({ "withdrawn": kid, "replacement": replacement.kid })),
    )
    .await;
    Ok(replacement)
}

/// Every published key of the tenant with its state (`pending`, `active`, `retiring`).
pub async fn list(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &super::authz::Admin,
) -> Result<Vec<KeyInfo>, AdminError> {
    by.require(
        tenant.id,
        crate::domain::admin::Permission::read(crate::domain::admin::Module::Keys),
    )?;
    Ok(rotation::list(ctx, tenant.id).await?)
}
