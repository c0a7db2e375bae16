//! First-start experience: while a tenant has no administrator, a one-time setup link lets the
//! operator create the first one. Only a hash of the token is stored; the link works once and
//! for one hour; each start prints a fresh link (invalidating the previous one).

use crate::admin::authz::Admin;
use crate::context::Ctx;
use crate::crypto::{constant_time_eq, random, sha256_hex};
use crate::domain::admin::Role;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Email, User, Username};
use crate::storage;

use super::{AdminError, users};

/// How long a printed setup link stays valid.
pub const SETUP_TOKEN_TTL_SECS: i64 = 3600;

/// If the tenant has no administrator yet, stores a new setup token and returns it.
pub async fn issue_token_if_no_admin(
    ctx: &Ctx,
    tenant: &Tenant,
) -> Result<Option<Secret<String>>, AdminError> {
    let tenant_id = tenant.id;
    let admins = ctx
        .db
        .run(move |c| storage::users::count_admins(c, tenant_id))
        .await?;
    if admins > 0 {
        return Ok(None);
    }
    let token = random::token();
    let (hash, expires) = (
        sha256_hex(token.as_bytes()),
        ctx.clock.unix() + SETUP_TOKEN_TTL_SECS,
    );
    ctx.db
        .run(move |c| storage::setup_tokens::put(c, tenant_id, &hash, expires))
        .await?;
    Ok(Some(Secret::new(token)))
}

/// Whether `token` is the tenant's current, unexpired setup token and no admin exists yet.
pub async fn token_is_valid(ctx: &Ctx, tenant: &Tenant, token: &str) -> Result<bool, AdminError> {
    let tenant_id = tenant.id;
    let (stored, admins) = ctx
        .db
        .run(move |c| {
            Ok((
                storage::setup_tokens::get(c, tenant_id)?,
                storage::users::count_admins(c, tenant_id)?,
            ))
        })
        .await?;
    let Some((hash, expires)) = stored else {
        return Ok(false);
    };
    let matches = constant_time_eq(hash.as_bytes(), sha256_hex(token.as_bytes()).as_bytes());
    Ok(matches && expires > ctx.clock.unix() && admins == 0)
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("this setup link is invalid, used or expired; restart Watchword for a new one")]
    InvalidToken,
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// Creates the first administrator (tenant admin) with the token, which is then spent.
pub async fn complete(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    username: &str,
    email: Option<&str>,
    password: Secret<String>,
) -> Result<User, SetupError> {
    if !token_is_valid(ctx, tenant, token).await? {
        return Err(SetupError::InvalidToken);
    }
    // Check the input before spending the token, so a rejected password can be retried.
    let parsed = Username::parse(username).map_err(AdminError::from)?;
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        Email::parse(e).map_err(AdminError::from)?;
    }
    tenant
        .policy
        .password
        .check(password.expose(), &[parsed.as_str(), email.unwrap_or("")])
        .map_err(AdminError::from)?;

    let tenant_id = tenant.id;
    let spent = ctx
        .db
        .run(move |c| storage::setup_tokens::take(c, tenant_id))
        .await
        .map_err(AdminError::from)?;
    if !spent {
        return Err(SetupError::InvalidToken);
    }
    let user = users::create(
        ctx,
        tenant,
        users::NewUser {
            username: username.to_owned(),
            email: email.map(str::to_owned),
            email_verified: false,
            display_name: None,
            password: Some(password),
            admin_role: Some(Role::TenantAdmin),
            enabled: true,
        },
        &Admin::operator(Actor::Anonymous),
    )
    .await?;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::SetupCompleted,
            "success",
            Actor::User(user.id.to_string()),
        )
        .subject(format!("user:{}", user.id)),
    )
    .await;
    Ok(user)
}
