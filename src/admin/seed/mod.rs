//! The declarative seed file: tenants and users created or updated idempotently, so the same
//! file can be applied at every start (GitOps, demos, tests). Fields left out keep their value.
//! Format documented in config/seed.example.toml.

use crate::admin::authz::Admin;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::{Client, ClientKind};
use crate::domain::password_policy::PasswordPolicy;
use crate::domain::tenant::Tenant;
use crate::domain::tenant::TenantSlug;
use crate::domain::user::{Email, InvalidInput, Username};
use crate::storage;
use argon2::password_hash::phc::PasswordHash;

use super::{AdminError, clients, tenants, users};
mod format;

pub use format::*;

/// Checks every entry against the rules (slugs, policies, usernames, e-mail addresses, password
/// policy, hash format) before anything is written, so a bad file changes nothing.
pub async fn validate(ctx: &Ctx, file: &SeedFile) -> Result<(), SeedError> {
    for t in &file.tenants {
        let at = format!("tenant {:?}", t.slug);
        let fail = |source: AdminError| SeedError::Apply {
            at: at.clone(),
            source,
        };
        TenantSlug::parse(&t.slug).map_err(|e| fail(e.into()))?;
        let policy = match &t.policy {
            Some(p) => {
                p.validate()
                    .map_err(|(k, m)| fail(AdminError::InvalidPolicy(k, m)))?;
                p.password.clone()
            }
            None => tenants::find(ctx, &t.slug)
                .await
                .map_err(fail)?
                .map(|t| t.policy.password)
                .unwrap_or_default(),
        };
        for i in &t.idps {
            crate::domain::idp::validate_slug(&i.slug)
                .and_then(|()| i.settings.validate(i.kind))
                .map_err(|e| SeedError::Apply {
                    at: format!("{at}, identity provider {:?}", i.slug),
                    source: e.into(),
                })?;
        }
        for u in &t.users {
            validate_user(u, &policy).map_err(|source| SeedError::Apply {
                at: format!("{at}, user {:?}", u.username),
                source,
            })?;
        }
        let existing_tenant = tenants::find(ctx, &t.slug).await.map_err(fail)?;
        let tenant = existing_tenant.clone().unwrap_or_else(|| Tenant {
            id: crate::domain::ids::TenantId::generate(),
            slug: TenantSlug::parse(&t.slug).expect("checked above"),
            display_name: String::new(),
            policy: Default::default(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            version: 1,
        });
        for c in &t.clients {
            let current = match &existing_tenant {
                Some(et) => clients::find(ctx, et, &c.client_id)
                    .await
                    .map_err(fail)?
                    .map(|x| x.client),
                None => None,
            };
            validate_client(c, &tenant, current.as_ref()).map_err(|source| SeedError::Apply {
                at: format!("{at}, client {:?}", c.client_id),
                source,
            })?;
        }
    }
    Ok(())
}

/// Checks a client entry as it will be applied: merged over the existing client, or as a new one
/// (which, if confidential, needs a secret).
fn validate_client(
    c: &SeedClient,
    tenant: &Tenant,
    current: Option<&Client>,
) -> Result<(), AdminError> {
    let client = match current {
        Some(existing) => c.merge(existing),
        None => c.as_new(tenant),
    };
    crate::domain::client::validate(&client)?;
    match (&c.secret, client.kind) {
        (Some(s), ClientKind::Confidential) if s.expose().chars().count() < 32 => {
            Err(InvalidInput::new("secret", "must be at least 32 characters").into())
        }
        (Some(_), ClientKind::Public) => {
            Err(InvalidInput::new("secret", "a public client has no secret").into())
        }
        (None, ClientKind::Confidential) if current.is_none() => Err(InvalidInput::new(
            "secret",
            "a confidential client in a seed file needs a secret",
        )
        .into()),
        _ => Ok(()),
    }
}

fn validate_user(u: &SeedUser, policy: &PasswordPolicy) -> Result<(), AdminError> {
    let username = Username::parse(&u.username)?;
    let email = u.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        Email::parse(e)?;
    }
    if let Some(password) = &u.password {
        policy.check(password.expose(), &[username.as_str(), email.unwrap_or("")])?;
    }
    if let Some(hash) = &u.password_hash {
        let parsed = PasswordHash::new(hash).map_err(|_| {
            InvalidInput::new(
                "password_hash",
                "is not a PHC string ($argon2id$v=19$m=...)",
            )
        })?;
        if !parsed.algorithm.as_str().starts_with("argon2") || parsed.hash.is_none() {
            return Err(InvalidInput::new("password_hash", "must be an Argon2 hash").into());
        }
    }
    Ok(())
}

/// Validates the whole file, then applies it.
pub async fn apply(ctx: &Ctx, file: &SeedFile) -> Result<SeedReport, SeedError> {
    validate(ctx, file).await?;
    let mut report = SeedReport::default();
    for t in &file.tenants {
        let at = format!("tenant {:?}", t.slug);
        let wrap = |source| SeedError::Apply {
            at: at.clone(),
            source,
        };
        let tenant = apply_tenant(ctx, t, &mut report).await.map_err(wrap)?;
        for u in &t.users {
            apply_user(ctx, &tenant, u, &mut report)
                .await
                .map_err(|source| SeedError::Apply {
                    at: format!("{at}, user {:?}", u.username),
                    source,
                })?;
        }
        for c in &t.clients {
            apply_client(ctx, &tenant, c, &mut report)
                .await
                .map_err(|source| SeedError::Apply {
                    at: format!("{at}, client {:?}", c.client_id),
                    source,
                })?;
        }
        for i in &t.idps {
            apply_idp(ctx, &tenant, i, &mut report)
                .await
                .map_err(|source| SeedError::Apply {
                    at: format!("{at}, identity provider {:?}", i.slug),
                    source,
                })?;
        }
    }
    Ok(report)
}

async fn apply_tenant(
    ctx: &Ctx,
    t: &SeedTenant,
    report: &mut SeedReport,
) -> Result<Tenant, AdminError> {
    match tenants::find(ctx, &t.slug).await? {
        None => {
            report.tenants_created += 1;
            tenants::create(
                ctx,
                &t.slug,
                t.display_name.as_deref(),
                t.policy.clone(),
                &Admin::operator(Actor::Seed),
            )
            .await
        }
        Some(existing) => {
            let (tenant, changed) = tenants::update(
                ctx,
                existing,
                t.display_name.as_deref(),
                t.policy.clone(),
                &Admin::operator(Actor::Seed),
            )
            .await?;
            if changed {
                report.tenants_updated += 1;
            } else {
                report.unchanged += 1;
            }
            Ok(tenant)
        }
    }
}

async fn apply_user(
    ctx: &Ctx,
    tenant: &Tenant,
    u: &SeedUser,
    report: &mut SeedReport,
) -> Result<(), AdminError> {
    if let Some(hash) = &u.password_hash
        && !hash.starts_with("$argon2")
    {
        return Err(crate::domain::user::InvalidInput::new(
            "password_hash",
            "must be an Argon2 PHC string ($argon2id$...)",
        )
        .into());
    }
    let Some(existing) = users::find(ctx, tenant, &u.username).await? else {
        let user = users::create(
            ctx,
            tenant,
            users::NewUser {
                username: u.username.clone(),
                email: u.email.clone(),
                email_verified: u.email_verified.unwrap_or(false),
                display_name: u.display_name.clone(),
                password: u.password.clone(),
                admin_role: u.admin.and_then(AdminSetting::role),
                enabled: u.enabled.unwrap_or(true),
            },
            &Admin::operator(Actor::Seed),
        )
        .await?;
        if let Some(hash) = &u.password_hash {
            store_hash(ctx, tenant, user.id, hash).await?;
        }
        report.users_created += 1;
        return Ok(());
    };

    let user = existing.user;
    let mut changed = users::update_profile(
        ctx,
        tenant,
        &user,
        u.email.as_deref().or(user.email.as_deref()),
        u.email_verified,
        u.display_name.as_deref().or(user.display_name.as_deref()),
        u.admin.map_or(user.admin_role, AdminSetting::role),
        &Admin::operator(Actor::Seed),
    )
    .await?;
    if let Some(enabled) = u.enabled.filter(|e| *e != user.enabled) {
        users::set_enabled(
            ctx,
            tenant,
            user.clone(),
            enabled,
            &Admin::operator(Actor::Seed),
        )
        .await?;
        changed = true;
    }
    if let Some(password) = &u.password {
        let current = ctx
            .hasher
            .verify(password.expose(), existing.password_hash.as_deref())
            .await?;
        if !current.ok {
            users::set_password(
                ctx,
                tenant,
                &user,
                password,
                super::access::OnReset::EndAccess,
                &Admin::operator(Actor::Seed),
            )
            .await?;
            changed = true;
        }
    }
    if let Some(hash) = &u.password_hash
        && existing.password_hash.as_deref() != Some(hash.as_str())
    {
        store_hash(ctx, tenant, user.id, hash).await?;
        changed = true;
    }
    if changed {
        report.users_updated += 1;
    } else {
        report.unchanged += 1;
    }
    Ok(())
}

async fn apply_client(
    ctx: &Ctx,
    tenant: &Tenant,
    c: &SeedClient,
    report: &mut SeedReport,
) -> Result<(), AdminError> {
    let Some(existing) = clients::find(ctx, tenant, &c.client_id).await? else {
        let wanted = c.as_new(tenant);
        if wanted.kind == ClientKind::Confidential && c.secret.is_none() {
            return Err(InvalidInput::new(
                "secret",
                "a confidential client in a seed file needs a secret",
            )
            .into());
        }
        clients::create(
            ctx,
            tenant,
            clients::NewClient {
                client_id: Some(wanted.client_id.clone()),
                name: wanted.name.clone(),
                kind: wanted.kind,
                auth_method: Some(wanted.auth_method),
                settings: wanted.settings.clone(),
                secret: c.secret.clone(),
            },
            &Admin::operator(Actor::Seed),
        )
        .await?;
        report.clients_created += 1;
        return Ok(());
    };
    let next = c.merge(&existing.client);
    let mut changed = clients::update(
        ctx,
        tenant,
        &existing.client,
        next.clone(),
        &Admin::operator(Actor::Seed),
    )
    .await?;
    if let Some(secret) = &c.secret
        && next.kind == ClientKind::Confidential
        && !clients::secret_matches(ctx, &existing, secret.expose())
    {
        clients::set_secret(
            ctx,
            tenant,
            &next,
            Some(secret.clone()),
            &Admin::operator(Actor::Seed),
        )
        .await?;
        changed = true;
    }
    if changed {
        report.clients_updated += 1;
    } else {
        report.unchanged += 1;
    }
    Ok(())
}

async fn store_hash(
    ctx: &Ctx,
    tenant: &Tenant,
    user: crate::domain::ids::UserId,
    hash: &str,
) -> Result<(), AdminError> {
    let (hash, now) = (hash.to_owned(), ctx.clock.unix());
    ctx.db
        .run(move |c| storage::users::set_password_hash(c, user, &hash, now))
        .await?;
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::UserPasswordSet,
            "success",
            Actor::Seed,
        )
        .subject(format!("user:{user}")),
    )
    .await;
    Ok(())
}

/// Creates the provider, or brings an existing one in line (name, enabled, settings, secret).
async fn apply_idp(
    ctx: &Ctx,
    tenant: &Tenant,
    i: &format::SeedIdp,
    report: &mut SeedReport,
) -> Result<(), AdminError> {
    let Some(existing) = super::idps::find(ctx, tenant, &i.slug).await? else {
        super::idps::create(
            ctx,
            tenant,
            super::idps::NewIdp {
                slug: i.slug.clone(),
                kind: i.kind,
                display_name: i.display_name.clone(),
                enabled: i.enabled,
                settings: i.settings.clone(),
                client_secret: i.client_secret.clone(),
            },
            &Admin::operator(Actor::Seed),
        )
        .await?;
        report.idps_created += 1;
        return Ok(());
    };
    if existing.idp.kind != i.kind {
        return Err(crate::domain::user::InvalidInput::new(
            "kind",
            "cannot change; delete the provider and create it again",
        )
        .into());
    }
    let mut next = existing.idp.clone();
    next.display_name = i.display_name.clone();
    next.enabled = i.enabled;
    next.settings = i.settings.clone();
    let secret_changed = match &i.client_secret {
        Some(s) => super::idps::open_secret(ctx, &existing)
            .is_none_or(|current| current.expose() != s.expose()),
        None => false,
    };
    if next == existing.idp && !secret_changed {
        report.unchanged += 1;
        return Ok(());
    }
    let secret = secret_changed.then(|| i.client_secret.clone());
    super::idps::update(ctx, tenant, next, secret, &Admin::operator(Actor::Seed)).await?;
    report.idps_updated += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_rejects_unknown_keys_and_double_passwords() {
        assert!(super::parse("[[tenants]]\nslug = \"a\"\nfoo = 1").is_err());
        let both = "[[tenants]]\nslug = \"a\"\n[[tenants.users]]\nusername = \"u\"\npassword = \"x\"\npassword_hash = \"y\"";
        assert!(super::parse(both).unwrap_err().contains("not both"));
        let ok = "[[tenants]]\nslug = \"a\"\n[tenants.policy.session]\nidle_timeout_secs = 600\n[[tenants.users]]\nusername = \"u\"\nadmin = \"read-write\"";
        let f = super::parse(ok).unwrap();
        assert_eq!(
            f.tenants[0]
                .policy
                .as_ref()
                .unwrap()
                .session
                .idle_timeout_secs,
            600
        );
    }
}
