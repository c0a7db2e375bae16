//! Creating users, setting passwords, enabling and disabling accounts, listing.

use crate::context::Ctx;
use crate::domain::admin::Role;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::ids::UserId;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Email, LoginIdentifier, User, Username, normalize};
use crate::lifecycle::EndReason;
use crate::storage::{self, users::UserWithHash};

use super::AdminError;
use super::access::{self, AccessEnded, OnReset};
use super::authz::Admin;
use crate::domain::admin::{Module, Permission};

/// Input for a new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    /// The address is known to be the user's (an import from a system that verified it).
    pub email_verified: bool,
    pub display_name: Option<String>,
    /// Without a password the user cannot sign in with one (e.g. federated users later).
    pub password: Option<Secret<String>>,
    pub admin_role: Option<Role>,
    pub enabled: bool,
}

/// Whether a password an operator gives (at creation or later) appears in known data breaches.
/// An operator may use one (a temporary password read out on the phone, say): it is logged as a
/// warning and audited (`breached_password` in the event's details), not refused. The flows
/// where people choose a password refuse it (`risk::breach::refusal`).
async fn operator_chose_breached(ctx: &Ctx, username: &str, password: &Secret<String>) -> bool {
    let breached = matches!(
        crate::risk::breach::check(&ctx.breach, password.expose()).await,
        crate::risk::breach::Verdict::Breached { .. }
    );
    if breached {
        tracing::warn!(user = %username, "the password given by an operator appears in known data breaches");
    }
    breached
}

fn clean_display_name(name: Option<&str>) -> Result<Option<String>, AdminError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 128 || n.chars().any(char::is_control)) {
        return Err(crate::domain::user::InvalidInput::new(
            "display_name",
            "must be at most 128 characters without control characters",
        )
        .into());
    }
    Ok(name.map(str::to_owned))
}

/// What an operator may change of a user, as the audit's before/after.
fn audited(u: &User) -> serde_json::Value {
    serde_json::json!({
        "email": u.email,
        "email_verified": u.email_verified,
        "display_name": u.display_name,
        "enabled": u.enabled,
        "admin_role": u.admin_role,
    })
}

fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    action: AuditAction,
    user: UserId,
    actor: Actor,
) -> AuditEvent {
    AuditEvent::new(ctx.clock.now(), Some(tenant.id), action, "success", actor)
        .subject(format!("user:{user}"))
}

/// The check before changing a user's account: `users:write`, and when the user is (or is being
/// made) an administrator, also `admins:write` — so a user manager or an API key can never take
/// over an administrator's account by resetting its password, factors or address — and only an
/// instance admin touches an instance admin.
fn require_over(by: &Admin, tenant: &Tenant, role: Option<Role>) -> Result<(), AdminError> {
    by.require(tenant.id, Permission::write(Module::Users))?;
    if let Some(role) = role {
        by.require(tenant.id, Permission::write(Module::Admins))?;
        if role == Role::InstanceAdmin && !by.is_instance_wide() {
            return Err(AdminError::Forbidden(Permission::write(Module::Tenants)));
        }
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    input: NewUser,
    by: &Admin,
) -> Result<User, AdminError> {
    require_over(by, tenant, input.admin_role)?;
    let actor = by.actor();
    let username = Username::parse(&input.username)?;
    let email = input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let email = email.map(Email::parse).transpose()?;
    let display_name = clean_display_name(input.display_name.as_deref())?;
    let (hash, breached) = match &input.password {
        Some(password) => {
            let identities = [username.as_str(), email.as_ref().map_or("", |e| e.as_str())];
            tenant
                .policy
                .password
                .check(password.expose(), &identities)?;
            let breached = operator_chose_breached(ctx, username.as_str(), password).await;
            (Some(ctx.hasher.hash(password.expose()).await?), breached)
        }
        None => (None, false),
    };
    let now = ctx.clock.now();
    let user = User {
        id: UserId::generate(),
        tenant_id: tenant.id,
        username: username.as_str().to_owned(),
        email_verified: input.email_verified && email.is_some(),
        email: email.map(|e| e.as_str().to_owned()),
        display_name,
        enabled: input.enabled,
        admin_role: input.admin_role,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = user.clone();
    ctx.db
        .run(move |c| storage::users::insert(c, &row, hash))
        .await?;
    let mut event = audit(ctx, tenant, AuditAction::UserCreated, user.id, actor);
    if breached {
        event = event.details(serde_json::json!({ "breached_password": true }));
    }
    storage::audit::record(&ctx.db, event).await;
    Ok(user)
}

/// Looks a user up by username (or e-mail address, if it contains `@`).
pub async fn find(
    ctx: &Ctx,
    tenant: &Tenant,
    username: &str,
) -> Result<Option<UserWithHash>, AdminError> {
    let identifier = LoginIdentifier::from_input(username);
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::users::find_by_identifier(c, tenant_id, &identifier))
        .await?)
}

/// A user by id (for session checks on every page).
pub async fn find_by_id(
    ctx: &Ctx,
    tenant: &Tenant,
    id: UserId,
) -> Result<Option<User>, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::users::find_by_id(c, tenant_id, id))
        .await?
        .map(|u| u.user))
}

pub async fn get(ctx: &Ctx, tenant: &Tenant, username: &str) -> Result<UserWithHash, AdminError> {
    find(ctx, tenant, username).await?.ok_or_else(|| {
        AdminError::NotFound(format!(
            "user {username:?} in tenant {:?}",
            tenant.slug.as_str()
        ))
    })
}

pub async fn list(ctx: &Ctx, tenant: &Tenant) -> Result<Vec<User>, AdminError> {
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::users::list(c, tenant_id))
        .await?)
}

/// Sets a new password after checking the tenant's password policy (a breached password is
/// allowed, logged as a warning and marked `breached_password` in the audit). Unless `on_reset` keeps
/// them, every session of the user ends and every grant is revoked (whoever knew the old
/// password may hold them); returns what was ended. Audited as `user_password_set`, with
/// `sessions_ended` and `grants_revoked` (or `sessions_kept`) in its details.
pub async fn set_password(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    password: &Secret<String>,
    on_reset: OnReset,
    by: &Admin,
) -> Result<Option<AccessEnded>, AdminError> {
    require_over(by, tenant, user.admin_role)?;
    let actor = by.actor();
    let identities = [user.username.as_str(), user.email.as_deref().unwrap_or("")];
    tenant
        .policy
        .password
        .check(password.expose(), &identities)?;
    let breached = operator_chose_breached(ctx, &user.username, password).await;
    let hash = ctx.hasher.hash(password.expose()).await?;
    let (id, now) = (user.id, ctx.clock.unix());
    ctx.db
        .run(move |c| storage::users::set_password_hash(c, id, &hash, now))
        .await?;
    let ended = access::after_reset(ctx, tenant, user.id, on_reset, actor.clone()).await;
    let mut details = access::audit_details(&ended);
    if breached {
        details["breached_password"] = serde_json::Value::Bool(true);
    }
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::UserPasswordSet, user.id, actor).details(details),
    )
    .await;
    ended
}

/// What [`reset_factors`] removed and ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactorsReset {
    pub removed: storage::factors::Removed,
    /// `None` when the sessions and grants were kept.
    pub ended: Option<AccessEnded>,
}

/// Removes every second factor of a user who lost theirs, after the operator has re-proofed who
/// they are: TOTP, security keys and passkeys, recovery codes. Under a tenant policy that
/// requires a second factor, the user sets a new one up at the next sign-in. Unless `on_reset`
/// keeps them, every session of the user ends and every grant is revoked (whoever holds the lost
/// factor may be signed in). Audited as `factors_reset`.
pub async fn reset_factors(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    on_reset: OnReset,
    by: &Admin,
) -> Result<FactorsReset, AdminError> {
    require_over(by, tenant, user.admin_role)?;
    let actor = by.actor();
    let (tenant_id, id) = (tenant.id, user.id);
    let removed = ctx
        .db
        .write(move |c| storage::factors::remove_all(c, tenant_id, id))
        .await?;
    let ended = access::after_reset(ctx, tenant, user.id, on_reset, actor.clone()).await;
    let mut details = serde_json::json!({
        "totp": removed.totp,
        "webauthn_credentials": removed.credentials,
        "recovery_codes_left": removed.recovery_codes,
    });
    if let (Some(d), serde_json::Value::Object(extra)) =
        (details.as_object_mut(), access::audit_details(&ended))
    {
        d.extend(extra);
    }
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::FactorsReset, user.id, actor).details(details),
    )
    .await;
    Ok(FactorsReset {
        removed,
        ended: ended?,
    })
}

/// Enables or disables an account. Disabling ends every session of the user at once.
/// Returns how many sessions were ended.
pub async fn set_enabled(
    ctx: &Ctx,
    tenant: &Tenant,
    mut user: User,
    enabled: bool,
    by: &Admin,
) -> Result<usize, AdminError> {
    require_over(by, tenant, user.admin_role)?;
    let actor = by.actor();
    if user.enabled != enabled {
        let before = audited(&user);
        user.enabled = enabled;
        user.updated_at = ctx.clock.now();
        // Disabling the last tenant admin would lock the tenant out: checked and written in one
        // transaction under the tenant row's lock, as role changes are (`roles::set`).
        let last_admin_check = !enabled && user.admin_role.is_some_and(Role::manages_tenant);
        let (tenant_id, row) = (tenant.id, user.clone());
        let written = ctx
            .db
            .write(move |c| {
                storage::write_transaction(c, |c| {
                    if last_admin_check {
                        storage::tenants::lock(c, tenant_id)?;
                        if storage::users::tenant_admins_besides(c, tenant_id, row.id)? == 0 {
                            return Ok(false);
                        }
                    }
                    storage::users::update_profile(c, &row)?;
                    Ok(true)
                })
            })
            .await?;
        if !written {
            return Err(AdminError::Refused(
                "the last tenant admin cannot be disabled; make someone else tenant admin first",
            ));
        }
        let action = if enabled {
            AuditAction::UserEnabled
        } else {
            AuditAction::UserDisabled
        };
        storage::audit::record(
            &ctx.db,
            audit(ctx, tenant, action, user.id, actor).diff(&before, &audited(&user)),
        )
        .await;
    }
    if enabled {
        return Ok(0);
    }
    // Offline grants outlive sessions; a disabled account loses them too.
    crate::oauth::revocation::revoke_user_grants(ctx, tenant, &user.id.to_string()).await?;
    crate::lifecycle::end_user_sessions(
        ctx,
        tenant,
        user.id,
        EndReason::AccountDisabled,
        Actor::System,
    )
    .await
    .map_err(|e| match e {
        crate::lifecycle::EndError::Store(s) => AdminError::Store(s),
        crate::lifecycle::EndError::Storage(s) => AdminError::from(s),
    })
}

/// Writes changed profile fields (e-mail, display name, admin role, enabled); returns whether
/// anything changed. A changed address is unverified unless `email_verified` says otherwise;
/// `None` keeps the current state of an unchanged address.
#[allow(clippy::too_many_arguments)]
pub async fn update_profile(
    ctx: &Ctx,
    tenant: &Tenant,
    current: &User,
    email: Option<&str>,
    email_verified: Option<bool>,
    display_name: Option<&str>,
    admin_role: Option<Role>,
    by: &Admin,
) -> Result<bool, AdminError> {
    require_over(by, tenant, current.admin_role)?;
    if admin_role != current.admin_role {
        require_over(by, tenant, admin_role)?;
    }
    let actor = by.actor();
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let email = email
        .map(Email::parse)
        .transpose()?
        .map(|e| e.as_str().to_owned());
    let mut next = current.clone();
    let same_address = email.as_deref().map(normalize) == current.email.as_deref().map(normalize);
    next.email_verified =
        email.is_some() && email_verified.unwrap_or(same_address && current.email_verified);
    next.email = email;
    next.display_name = clean_display_name(display_name)?;
    next.admin_role = admin_role;
    if next == *current {
        return Ok(false);
    }
    next.updated_at = ctx.clock.now();
    let row = next.clone();
    ctx.db
        .run(move |c| storage::users::update_profile(c, &row))
        .await?;
    storage::audit::record(
        &ctx.db,
        audit(ctx, tenant, AuditAction::UserUpdated, next.id, actor)
            .diff(&audited(current), &audited(&next)),
    )
    .await;
    Ok(true)
}
