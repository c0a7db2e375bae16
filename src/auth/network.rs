//! The tenant's network allow and deny lists for the pages people use (sign-in, account,
//! authorization, sign-out): whether an address may use them, and the refusal counted and
//! audited (at most once a minute per address, through `super::throttle::audit_refusal`).

use std::net::IpAddr;

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::tenant::Tenant;
use crate::session_store::StoreError;

/// Whether `ip` may use the tenant's pages; a refusal is counted and audited.
pub async fn admits(
    ctx: &Ctx,
    tenant: &Tenant,
    ip: IpAddr,
    request_id: Option<String>,
) -> Result<bool, StoreError> {
    if tenant.policy.network.permits(ip) {
        return Ok(true);
    }
    super::throttle::network_refused(tenant);
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::RequestRefused,
        "network",
        Actor::Anonymous,
    )
    .origin(Origin {
        ip: Some(ip.to_string()),
        request_id,
        ..Origin::default()
    });
    super::throttle::audit_refusal(ctx, tenant, &["network", &ip.to_string()], event).await?;
    Ok(false)
}
