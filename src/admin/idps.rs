//! Operators' use cases for upstream identity providers: create, list, show, update, delete;
//! the client secret is sealed with the master key and never shown again; every write audited.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::context::Ctx;
use crate::crypto::aead;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::idp::{IdentityProvider, IdpKind, IdpSettings, validate_slug};
use crate::domain::ids::IdpId;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::InvalidInput;
use crate::storage::{self, idps::StoredIdp};

use super::AdminError;
use super::authz::Admin;
use crate::domain::admin::{Module, Permission};

/// Input for a new provider.
#[derive(Clone, Debug)]
pub struct NewIdp {
    pub slug: String,
    pub kind: IdpKind,
    pub display_name: String,
    pub enabled: bool,
    pub settings: IdpSettings,
    /// The OAuth client secret at the provider (OIDC, Entra).
    pub client_secret: Option<Secret<String>>,
}

/// The associated data a provider's sealed secret is bound to.
fn aad(id: IdpId) -> Vec<u8> {
    format!("idp-secret:{id}").into_bytes()
}

fn seal(ctx: &Ctx, id: IdpId, secret: &Secret<String>) -> Result<String, AdminError> {
    let s = secret.expose();
    if s.is_empty() || s.len() > 8192 {
        return Err(InvalidInput::new("client_secret", "must be 1 to 8192 characters").into());
    }
    Ok(STANDARD.encode(aead::seal(&ctx.keys.encryption, &aad(id), s.as_bytes())))
}

/// Opens a provider's sealed secret (for the federation engine).
pub fn open_secret(ctx: &Ctx, stored: &StoredIdp) -> Option<Secret<String>> {
    let sealed = STANDARD.decode(stored.sealed_secret.as_deref()?).ok()?;
    let plain = aead::open(&ctx.keys.encryption, &aad(stored.idp.id), &sealed).ok()?;
    String::from_utf8(plain).ok().map(Secret::new)
}

fn check(
    ctx_tenant: &Tenant,
    idp: &IdentityProvider,
    others: &[StoredIdp],
) -> Result<(), AdminError> {
    validate_slug(&idp.slug)?;
    let name = idp.display_name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(InvalidInput::new("display_name", "must be 1 to 80 characters").into());
    }
    idp.settings.validate(idp.kind)?;
    let _ = ctx_tenant;
    for other in others.iter().filter(|o| o.idp.id != idp.id) {
        if idp.settings.default && other.idp.settings.default {
            return Err(InvalidInput::new(
                "default",
                format!(
                    "provider \"{}\" is already the tenant's default",
                    other.idp.slug
                ),
            )
            .into());
        }
        if let Some(d) = idp
            .settings
            .domains
            .iter()
            .find(|d| other.idp.owns_domain(d))
        {
            return Err(InvalidInput::new(
                "domains",
                format!("\"{d}\" already belongs to provider \"{}\"", other.idp.slug),
            )
            .into());
        }
    }
    Ok(())
}

/// A provider as the audit's before/after. Its secret is never in it: a replaced secret shows
/// as a changed (redacted) `client_secret`, an added or removed one as `has_secret`.
fn audited(idp: &IdentityProvider, new_secret: bool) -> serde_json::Value {
    serde_json::json!({
        "display_name": idp.display_name,
        "enabled": idp.enabled,
        "settings": idp.settings,
        "has_secret": idp.has_secret,
        "client_secret": if new_secret { "replaced" } else { "kept" },
    })
}

fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    action: AuditAction,
    idp: &IdentityProvider,
    actor: Actor,
) -> AuditEvent {
    AuditEvent::new(ctx.clock.now(), Some(tenant.id), action, "success", actor)
        .subject(format!("idp:{}", idp.slug))
        .details(serde_json::json!({ "kind": idp.kind.as_str(), "enabled": idp.enabled }))
}

pub async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    input: NewIdp,
    by: &Admin,
) -> Result<IdentityProvider, AdminError> {
    by.require(tenant.id, Permission::write(Module::Idps))?;
    let actor = by.actor();
    let mut settings = input.settings;
    settings.domains = settings
        .domains
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    let idp = IdentityProvider {
        id: IdpId::generate(),
        tenant_id: tenant.id,
        slug: input.slug,
        kind: input.kind,
        display_name: input.display_name.trim().to_owned(),
        enabled: input.enabled,
        settings,
        has_secret: input.client_secret.is_some(),
        version: 1,
    };
    let others = list(ctx, tenant).await?;
    check(tenant, &idp, &others)?;
    let sealed = input
        .client_secret
        .as_ref()
        .map(|s| seal(ctx, idp.id, s))
        .transpose()?;
    let (row, now) = (idp.clone(), ctx.clock.unix());
    ctx.db
        .run(move |c| storage::idps::insert(c, &row, sealed, now))
        .await?;
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::IdpCreated, &idp, actor),
    )
    .await;
    Ok(idp)
}

pub async fn list(ctx: &Ctx, tenant: &Tenant) -> Result<Vec<StoredIdp>, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::idps::list(c, tenant_id))
        .await?)
}

pub async fn find(ctx: &Ctx, tenant: &Tenant, slug: &str) -> Result<Option<StoredIdp>, AdminError> {
    let (tenant_id, slug) = (tenant.id, slug.to_owned());
    Ok(ctx
        .db
        .run(move |c| storage::idps::find_by_slug(c, tenant_id, &slug))
        .await?)
}

pub async fn get(ctx: &Ctx, tenant: &Tenant, slug: &str) -> Result<StoredIdp, AdminError> {
    find(ctx, tenant, slug)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("identity provider {slug:?}")))
}

/// Writes a changed provider (name, enabled, settings) and, when given, a new secret
/// (`Some(None)` removes it).
pub async fn update(
    ctx: &Ctx,
    tenant: &Tenant,
    mut next: IdentityProvider,
    secret: Option<Option<Secret<String>>>,
    by: &Admin,
) -> Result<IdentityProvider, AdminError> {
    by.require(tenant.id, Permission::write(Module::Idps))?;
    let actor = by.actor();
    next.settings.domains = next
        .settings
        .domains
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    next.display_name = next.display_name.trim().to_owned();
    let others = list(ctx, tenant).await?;
    check(tenant, &next, &others)?;
    let before = others
        .iter()
        .find(|o| o.idp.id == next.id)
        .map(|o| audited(&o.idp, false));
    let sealed = match &secret {
        Some(Some(s)) => Some(Some(seal(ctx, next.id, s)?)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(s) = &sealed {
        next.has_secret = s.is_some();
    }
    let (row, now) = (next.clone(), ctx.clock.unix());
    if !ctx
        .db
        .run(move |c| storage::idps::update(c, &row, sealed, now))
        .await?
    {
        return Err(AdminError::NotFound(format!(
            "identity provider {:?}",
            next.slug
        )));
    }
    next.version += 1;
    let mut event = audit(ctx, tenant, AuditAction::IdpUpdated, &next, actor);
    if let Some(before) = before {
        event = event.diff(&before, &audited(&next, matches!(secret, Some(Some(_)))));
    }
    storage::audit::record(&ctx.db, event).await;
    Ok(next)
}

/// Deletes a provider and the identities linked through it (their users stay; those without a
/// password or another identity can no longer sign in until an operator helps).
pub async fn delete(ctx: &Ctx, tenant: &Tenant, slug: &str, by: &Admin) -> Result<(), AdminError> {
    by.require(tenant.id, Permission::write(Module::Idps))?;
    let actor = by.actor();
    let stored = get(ctx, tenant, slug).await?;
    let (tenant_id, id) = (tenant.id, stored.idp.id);
    ctx.db
        .run(move |c| storage::idps::delete(c, tenant_id, id))
        .await?;
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::IdpDeleted, &stored.idp, actor),
    )
    .await;
    Ok(())
}
