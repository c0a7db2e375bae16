//! Consent: first-party clients need none; otherwise the user approves the requested scopes once
//! per client (remembered), and again whenever `prompt=consent` or new scopes are asked for.

use super::types::AuthorizeRequest;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::oauth::error::OAuthError;
use crate::oauth::scope::Scope;
use crate::storage;

pub async fn needed(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    user: UserId,
) -> Result<bool, OAuthError> {
    if req.client.settings.first_party {
        return Ok(false);
    }
    if req.prompt.consent {
        return Ok(true);
    }
    let (tenant_id, client_id) = (tenant.id, req.client.client_id.clone());
    let granted = ctx
        .db
        .run(move |c| storage::consents::get(c, tenant_id, user, &client_id))
        .await?;
    Ok(match granted {
        Some(g) => !req.scope.is_subset_of(&Scope::from_list(&g)),
        None => true,
    })
}

/// Remembers that the user granted `scope` to the client (adding to what was granted before).
pub async fn remember(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    client_id: &str,
    scope: &Scope,
) -> Result<(), OAuthError> {
    let (tenant_id, id, now) = (tenant.id, client_id.to_owned(), ctx.clock.unix());
    let wanted = scope.as_list().to_vec();
    // One atomic merge in the database: concurrent consents (two tabs) all succeed, and the
    // remembered scopes are the union of what each approved.
    ctx.db
        .write(move |c| storage::consents::grant(c, tenant_id, user, &id, &wanted, now))
        .await?;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::ConsentGranted,
            "success",
            Actor::User(user.to_string()),
        )
        .subject(format!("client:{client_id}"))
        .details(serde_json::json!({ "scope": scope.to_string() })),
    )
    .await;
    Ok(())
}
