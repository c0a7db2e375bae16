//! Every return from a provider counted by provider and result
//! (`watchword_federated_signin_total`), and every failure audited with its typed code
//! (`federated_sign_in_failed`).

use super::{FederationError, Landing};
use crate::auth::federated::FederatedResult;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::tenant::Tenant;
use crate::storage;

/// Counts every return by provider and result; a failure is audited with its code.
pub(super) async fn counted(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    origin: &Origin,
    result: Result<Landing, FederationError>,
) -> Result<Landing, FederationError> {
    let label = match &result {
        Ok(Landing::SignIn {
            result: FederatedResult::Started(_),
            ..
        }) => "success",
        Ok(Landing::SignIn {
            result: FederatedResult::MoreNeeded { .. },
            ..
        }) => "second_factor_needed",
        Ok(Landing::SignIn {
            result: FederatedResult::Disabled,
            ..
        }) => "disabled",
        Ok(Landing::SignIn { .. }) => "risk_refused",
        Ok(Landing::Linked { .. }) => "linked",
        Ok(Landing::NeedsProof { .. }) => "needs_proof",
        Err(e) => e.code(),
    };
    metrics::counter!(
        "watchword_federated_signin_total",
        "tenant" => tenant.slug.to_string(),
        "idp" => slug.chars().take(40).collect::<String>(),
        "result" => label,
    )
    .increment(1);
    if let Err(e) = &result {
        audit_failure(ctx, tenant, slug, origin, e).await;
    }
    result
}

/// A failure before the landing (the SAML ACS): counted and audited.
pub(super) async fn failed(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    origin: &Origin,
    e: &FederationError,
) {
    metrics::counter!(
        "watchword_federated_signin_total",
        "tenant" => tenant.slug.to_string(),
        "idp" => slug.chars().take(40).collect::<String>(),
        "result" => e.code(),
    )
    .increment(1);
    audit_failure(ctx, tenant, slug, origin, e).await;
}

async fn audit_failure(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    origin: &Origin,
    e: &FederationError,
) {
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::FederatedSignInFailed,
        e.code(),
        Actor::Anonymous,
    )
    .origin(origin.clone())
    .details(serde_json::json!({ "idp": slug, "reason": e.to_string() }));
    storage::audit::record(&ctx.db, event).await;
}
