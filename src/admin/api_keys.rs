//! Admin API keys: created by a person (never by a key), shown once, stored as a SHA-256
//! digest, with per-module permissions no wider than their creator's and never `admins:write`,
//! an optional expiry, the last use (at most one write a minute), revocation; every change audited.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AdminError;
use super::authz::Admin;
use crate::clock::from_unix;
use crate::context::Ctx;
use crate::crypto::{constant_time_eq, random, sha256_hex};
use crate::domain::admin::{Access, Module, Permission, Permissions};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::tenant::Tenant;
use crate::domain::user::InvalidInput;
use crate::storage::{self, api_keys::ApiKeyRow};

/// Every key starts with this, so a credential is told apart from an access token at a glance
/// (and secret scanners can find leaked keys).
pub const PREFIX: &str = "wwk_";

/// A key as listed (never the secret).
#[derive(Clone, Debug, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "render_permissions")]
    pub permissions: Permissions,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn render_permissions<S: serde::Serializer>(p: &Permissions, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(|p| p.to_string()))
}

impl ApiKey {
    fn from_row(row: ApiKeyRow) -> Result<Self, AdminError> {
        let permissions = Permissions::parse(&row.permissions).map_err(|_| {
            AdminError::Storage(storage::StorageError::Corrupt(format!(
                "api key {}: permissions",
                row.id
            )))
        })?;
        Ok(Self {
            id: row.id,
            name: row.name,
            permissions,
            created_by: row.created_by,
            created_at: from_unix(row.created_at),
            expires_at: row.expires_at.map(from_unix),
            last_used_at: row.last_used_at.map(from_unix),
            revoked_at: row.revoked_at.map(from_unix),
        })
    }
}

/// A new key and its secret, shown once.
#[derive(Debug, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The whole credential to send as `Authorization: Bearer …`.
    pub secret: String,
}

/// Creates a key. Only a person may (a key never makes keys); the permissions must be ones the
/// person holds in the tenant (so `tenants:*` only from an instance admin), and never
/// `admins:write`.
pub async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    name: &str,
    permissions: Permissions,
    expires_in_days: Option<u32>,
) -> Result<Created, AdminError> {
    by.require(tenant.id, Permission::write(Module::Admins))?;
    if by.is_api_key() {
        return Err(AdminError::Forbidden(Permission::write(Module::Admins)));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(InvalidInput::new("name", "must be 1 to 100 characters").into());
    }
    if permissions.is_empty() {
        return Err(InvalidInput::new("permissions", "must name at least one permission").into());
    }
    for p in permissions.iter() {
        if p.module == Module::Admins && p.access == Access::Write {
            return Err(InvalidInput::new(
                "permissions",
                "an API key can never manage API keys or roles (admins:write)",
            )
            .into());
        }
        if !by.allows(tenant.id, p) {
            return Err(
                InvalidInput::new("permissions", format!("you do not hold {p} yourself")).into(),
            );
        }
    }
    if expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(InvalidInput::new("expires_in_days", "must be between 1 and 3650").into());
    }
    let now = ctx.clock.unix();
    let id = hex::encode(random::bytes::<8>());
    let secret = format!("{PREFIX}{id}.{}", random::token());
    let row = ApiKeyRow {
        id: id.clone(),
        tenant_id: tenant.id.to_string(),
        name: name.to_owned(),
        secret_digest: sha256_hex(secret.as_bytes()),
        permissions: permissions.render(),
        created_by: by.actor().render(),
        created_at: now,
        expires_at: expires_in_days.map(|d| now + i64::from(d) * 86_400),
        last_used_at: None,
        revoked_at: None,
    };
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::ApiKeyCreated,
        "success",
        by.actor(),
    )
    .subject(format!("api_key:{id}"))
    .origin(by.origin.clone())
    .details(serde_json::json!({
        "name": name,
        "permissions": permissions.render(),
        "expires_at": row.expires_at,
    }));
    let stored = row.clone();
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                storage::api_keys::insert(c, &stored)?;
                storage::audit::insert(c, &event)
            })
        })
        .await?;
    Ok(Created {
        key: ApiKey::from_row(row)?,
        secret,
    })
}

/// A tenant's keys, newest first (keyset pagination on creation time and id).
pub async fn list(
    ctx: &Ctx,
    tenant: &Tenant,
    by: &Admin,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<ApiKey>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Admins))?;
    let tenant_id = tenant.id;
    ctx.db
        .run(move |c| storage::api_keys::page(c, tenant_id, after, limit))
        .await?
        .into_iter()
        .map(ApiKey::from_row)
        .collect()
}

/// Revokes a key (idempotent: revoking a revoked key succeeds and changes nothing). A key cannot
/// revoke keys, itself included.
pub async fn revoke(ctx: &Ctx, tenant: &Tenant, by: &Admin, id: &str) -> Result<(), AdminError> {
    by.require(tenant.id, Permission::write(Module::Admins))?;
    let (tenant_id, now, id) = (tenant.id, ctx.clock.unix(), id.to_owned());
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::ApiKeyRevoked,
        "success",
        by.actor(),
    )
    .subject(format!("api_key:{id}"))
    .origin(by.origin.clone());
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                if storage::api_keys::find(c, tenant_id, &id)?.is_none() {
                    return Err(storage::StorageError::NotFound);
                }
                if storage::api_keys::revoke(c, tenant_id, &id, now)? {
                    storage::audit::insert(c, &event)?;
                }
                Ok(())
            })
        })
        .await
        .map_err(|e| match e {
            storage::StorageError::NotFound => AdminError::NotFound("api key".into()),
            other => other.into(),
        })
}

/// What a presented key turned out to be.
pub(super) enum Presented {
    Live(ApiKey),
    /// A key of another tenant (answered "not found", like the tenant itself).
    OtherTenant,
    Invalid,
}

/// The live key of `tenant` a credential names, if the secret matches; records its use.
pub(super) async fn authenticate(
    ctx: &Ctx,
    tenant: &Tenant,
    credential: &str,
) -> Result<Presented, AdminError> {
    let Some((id, _)) = credential
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
    else {
        return Ok(Presented::Invalid);
    };
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || credential.len() > 200 {
        return Ok(Presented::Invalid);
    }
    let (tenant_id, key_id) = (tenant.id, id.to_owned());
    let (row, elsewhere) = ctx
        .db
        .run(move |c| {
            let row = storage::api_keys::find(c, tenant_id, &key_id)?;
            let elsewhere = row.is_none() && storage::api_keys::tenant_of(c, &key_id)?.is_some();
            Ok((row, elsewhere))
        })
        .await?;
    let Some(row) = row else {
        return Ok(if elsewhere {
            Presented::OtherTenant
        } else {
            Presented::Invalid
        });
    };
    let now = ctx.clock.unix();
    let digest = sha256_hex(credential.as_bytes());
    if !constant_time_eq(digest.as_bytes(), row.secret_digest.as_bytes())
        || row.revoked_at.is_some()
        || row.expires_at.is_some_and(|e| e <= now)
    {
        return Ok(Presented::Invalid);
    }
    if row.last_used_at.is_none_or(|t| t < now - 60) {
        let id = row.id.clone();
        if let Err(e) = ctx
            .db
            .write(move |c| storage::api_keys::touch(c, &id, now))
            .await
        {
            tracing::warn!(error = %e, "could not record an API key's use");
        }
    }
    ApiKey::from_row(row).map(Presented::Live)
}
