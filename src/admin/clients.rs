//! Registering and managing OAuth clients. A confidential client's secret is generated here
//! (256 random bits), shown once, and stored only as a keyed digest.

use diesel::Connection;

use crate::context::Ctx;
use crate::crypto::{random, secret_digest};
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::{self, Client, ClientAuthMethod, ClientKind, ClientSettings};
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::storage::{self, clients::ClientWithSecret};

use super::AdminError;
use super::authz::Admin;
use crate::domain::admin::{Module, Permission};

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Generated when not given.
    pub client_id: Option<String>,
    pub name: String,
    pub kind: ClientKind,
    /// Default: `client_secret_basic` for confidential clients, `none` for public ones.
    pub auth_method: Option<ClientAuthMethod>,
    pub settings: ClientSettings,
    /// Use this secret instead of generating one (seed files, tests).
    pub secret: Option<Secret<String>>,
}

/// The registered client and, for confidential clients, its secret: shown once, never again.
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<Secret<String>>,
}

fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    action: AuditAction,
    client_id: &str,
    actor: Actor,
) -> AuditEvent {
    AuditEvent::new(ctx.clock.now(), Some(tenant.id), action, "success", actor)
        .subject(format!("client:{client_id}"))
}

/// A client's registration as the audit's before/after (its secret is not part of a `Client`).
fn audited(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "name": c.name,
        "kind": c.kind,
        "auth_method": c.auth_method,
        "settings": c.settings,
    })
}

fn forget(ctx: &Ctx, tenant: &Tenant, client_id: &str) {
    ctx.cache.clients.remove(&(tenant.id, client_id.to_owned()));
    ctx.cache.origins.remove(&(tenant.id, String::new()));
}

pub async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    input: NewClient,
    by: &Admin,
) -> Result<Registered, AdminError> {
    by.require(tenant.id, Permission::write(Module::Clients))?;
    let actor = by.actor();
    let now = ctx.clock.now();
    let auth_method = input.auth_method.unwrap_or(match input.kind {
        ClientKind::Confidential => ClientAuthMethod::ClientSecretBasic,
        ClientKind::Public => ClientAuthMethod::None,
    });
    let client = Client {
        pk: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id,
        client_id: input
            .client_id
            .unwrap_or_else(|| random::token()[..22].to_owned().replace(['-', '_'], "x")),
        name: input.name.trim().to_owned(),
        kind: input.kind,
        auth_method,
        settings: input.settings,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    client::validate(&client)?;
    let secret = match client.kind {
        ClientKind::Confidential => {
            Some(input.secret.unwrap_or_else(|| Secret::new(random::token())))
        }
        ClientKind::Public => None,
    };
    if let Some(s) = &secret {
        check_secret(s)?;
    }
    let digest = secret
        .as_ref()
        .map(|s| secret_digest(&ctx.keys.secret_hash, s.expose()));
    let row = client.clone();
    ctx.db
        .run(move |c| storage::clients::insert(c, &row, digest))
        .await?;
    forget(ctx, tenant, &client.client_id);
    storage::audit::record(
        &ctx.db,
        audit(
            ctx,
            tenant,
            AuditAction::ClientCreated,
            &client.client_id,
            actor,
        ),
    )
    .await;
    Ok(Registered { client, secret })
}

/// A client secret given by an operator must be strong: at least 32 characters.
fn check_secret(secret: &Secret<String>) -> Result<(), AdminError> {
    if secret.expose().chars().count() < 32 {
        return Err(crate::domain::user::InvalidInput::new(
            "secret",
            "must be at least 32 characters (use a random value)",
        )
        .into());
    }
    Ok(())
}

pub async fn find(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
) -> Result<Option<ClientWithSecret>, AdminError> {
    let (tenant_id, id) = (tenant.id, client_id.to_owned());
    Ok(ctx
        .db
        .run(move |c| storage::clients::find(c, tenant_id, &id))
        .await?)
}

pub async fn get(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
) -> Result<ClientWithSecret, AdminError> {
    find(ctx, tenant, client_id).await?.ok_or_else(|| {
        AdminError::NotFound(format!(
            "client {client_id:?} in tenant {:?}",
            tenant.slug.as_str()
        ))
    })
}

pub async fn list(ctx: &Ctx, tenant: &Tenant) -> Result<Vec<Client>, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::clients::list(c, tenant_id))
        .await?)
}

/// Writes a changed registration (name, kind, method, settings); returns whether it changed.
pub async fn update(
    ctx: &Ctx,
    tenant: &Tenant,
    current: &Client,
    mut next: Client,
    by: &Admin,
) -> Result<bool, AdminError> {
    by.require(tenant.id, Permission::write(Module::Clients))?;
    let actor = by.actor();
    next.updated_at = current.updated_at;
    if next == *current {
        return Ok(false);
    }
    client::validate(&next)?;
    next.updated_at = ctx.clock.now();
    let row = next.clone();
    ctx.db
        .run(move |c| storage::clients::update(c, &row))
        .await?;
    forget(ctx, tenant, &next.client_id);
    storage::audit::record(
        &ctx.db,
        audit(
            ctx,
            tenant,
            AuditAction::ClientUpdated,
            &next.client_id,
            actor,
        )
        .diff(&audited(current), &audited(&next)),
    )
    .await;
    Ok(true)
}

/// Replaces a confidential client's secret: a new random one (returned, shown once) or `given`.
pub async fn set_secret(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    given: Option<Secret<String>>,
    by: &Admin,
) -> Result<Secret<String>, AdminError> {
    by.require(tenant.id, Permission::write(Module::Clients))?;
    let actor = by.actor();
    if client.kind != ClientKind::Confidential {
        return Err(crate::domain::user::InvalidInput::new(
            "client",
            "a public client has no secret",
        )
        .into());
    }
    let secret = given.unwrap_or_else(|| Secret::new(random::token()));
    check_secret(&secret)?;
    let digest = secret_digest(&ctx.keys.secret_hash, secret.expose());
    let (pk, now) = (client.pk.clone(), ctx.clock.unix());
    ctx.db
        .run(move |c| storage::clients::set_secret_digest(c, &pk, Some(&digest), now))
        .await?;
    forget(ctx, tenant, &client.client_id);
    storage::audit::record(
        &ctx.db,
        audit(
            ctx,
            tenant,
            AuditAction::ClientSecretRotated,
            &client.client_id,
            actor,
        ),
    )
    .await;
    Ok(secret)
}

/// Does `secret` match the stored digest?
pub fn secret_matches(ctx: &Ctx, stored: &ClientWithSecret, secret: &str) -> bool {
    stored.secret_digest.as_deref().is_some_and(|d| {
        crate::crypto::constant_time_eq(
            d.as_bytes(),
            secret_digest(&ctx.keys.secret_hash, secret).as_bytes(),
        )
    })
}

/// Deletes a client: its grants are revoked (refresh tokens, and access tokens through the
/// revocation markers) and its consents forgotten, so a later client with the same id inherits
/// nothing. Its access tokens are also refused because their client no longer exists.
pub async fn delete(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    by: &Admin,
) -> Result<(), AdminError> {
    by.require(tenant.id, Permission::write(Module::Clients))?;
    let actor = by.actor();
    let (tenant_id, id, now) = (tenant.id, client_id.to_owned(), ctx.clock.unix());
    let families = ctx
        .db
        .write(move |c| {
            c.transaction(|c| {
                if !storage::clients::delete(c, tenant_id, &id)? {
                    return Err(crate::storage::StorageError::NotFound);
                }
                storage::consents::delete_for_client(c, tenant_id, &id)?;
                storage::grants::revoke(c, tenant_id, storage::grants::Whose::Client(&id), now)
            })
        })
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::NotFound => {
                AdminError::NotFound(format!("client {client_id:?}"))
            }
            other => other.into(),
        })?;
    for family in &families {
        crate::oauth::revocation::mark_grant(ctx, family).await?;
    }
    forget(ctx, tenant, client_id);
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::ClientDeleted, client_id, actor)
            .details(serde_json::json!({ "grants_revoked": families.len() })),
    )
    .await;
    Ok(())
}
