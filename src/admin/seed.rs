//! The declarative seed file: tenants and users created or updated idempotently, so the same
//! file can be applied at every start (GitOps, demos, tests). Fields left out keep their value.
//! Format documented in config/seed.example.toml.

use std::path::Path;

use serde::Deserialize;

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::{AuthMethod, Client, ClientKind, ClientSettings, GrantType, Lifetimes};
use crate::domain::keys::SigningAlg;
use crate::domain::password_policy::PasswordPolicy;
use crate::domain::secret::Secret;
use crate::domain::tenant::TenantSlug;
use crate::domain::tenant::{Tenant, TenantPolicy};
use crate::domain::user::{AdminRole, Email, InvalidInput, Username};
use crate::storage;
use argon2::password_hash::phc::PasswordHash;

use super::{AdminError, clients, tenants, users};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub tenants: Vec<SeedTenant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTenant {
    pub slug: String,
    pub display_name: Option<String>,
    /// The whole policy; fields left out take their defaults.
    pub policy: Option<TenantPolicy>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub clients: Vec<SeedClient>,
}

/// An OAuth client in a seed file. Fields left out take the defaults (new clients) or keep their
/// value (existing ones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub name: Option<String>,
    pub kind: Option<ClientKind>,
    pub auth_method: Option<AuthMethod>,
    /// Required for confidential clients; at least 32 characters. Stored as a keyed hash.
    pub secret: Option<Secret<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub require_pkce: Option<bool>,
    pub id_token_alg: Option<SigningAlg>,
    pub access_token_alg: Option<SigningAlg>,
    pub lifetimes: Option<Lifetimes>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    pub require_mfa: Option<bool>,
}

impl SeedClient {
    /// Applies the given fields over `base`.
    fn merge(&self, base: &Client) -> Client {
        let mut c = base.clone();
        if let Some(v) = &self.name {
            c.name = v.clone();
        }
        if let Some(v) = self.kind {
            c.kind = v;
        }
        c.auth_method = self.auth_method.unwrap_or(match (self.kind, base.kind) {
            (Some(ClientKind::Public), _) => AuthMethod::None,
            (Some(ClientKind::Confidential), ClientKind::Public) => AuthMethod::ClientSecretBasic,
            _ => base.auth_method,
        });
        let s = &mut c.settings;
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { s.$f = v.clone(); } )* };
        }
        take!(
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            first_party,
            require_pkce,
            lifetimes,
            backchannel_logout_session_required,
            require_mfa
        );
        if self.id_token_alg.is_some() {
            s.id_token_alg = self.id_token_alg;
        }
        if self.access_token_alg.is_some() {
            s.access_token_alg = self.access_token_alg;
        }
        if self.backchannel_logout_uri.is_some() {
            s.backchannel_logout_uri = self
                .backchannel_logout_uri
                .clone()
                .filter(|u| !u.is_empty());
        }
        c
    }

    /// The client this entry describes when nothing exists yet.
    fn as_new(&self, tenant: &Tenant) -> Client {
        let kind = self.kind.unwrap_or(ClientKind::Confidential);
        let base = Client {
            pk: String::new(),
            tenant_id: tenant.id,
            client_id: self.client_id.clone(),
            name: self.client_id.clone(),
            kind,
            auth_method: if kind == ClientKind::Public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            settings: ClientSettings::default(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        };
        self.merge(&base)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// A plain password (checked against the tenant's policy, stored only as a hash).
    pub password: Option<Secret<String>>,
    /// Or an Argon2id PHC string, e.g. exported from another system.
    pub password_hash: Option<String>,
    pub enabled: Option<bool>,
    /// `read-only`, `read-write`, or `none` to remove administrative rights.
    pub admin: Option<AdminSetting>,
}

/// The `admin` field of a seeded user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminSetting {
    None,
    ReadOnly,
    ReadWrite,
}

impl AdminSetting {
    fn role(self) -> Option<AdminRole> {
        match self {
            AdminSetting::None => None,
            AdminSetting::ReadOnly => Some(AdminRole::ReadOnly),
            AdminSetting::ReadWrite => Some(AdminRole::ReadWrite),
        }
    }
}

/// What applying a seed file changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub tenants_created: usize,
    pub tenants_updated: usize,
    pub users_created: usize,
    pub users_updated: usize,
    pub clients_created: usize,
    pub clients_updated: usize,
    pub unchanged: usize,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tenants: {} created, {} updated; users: {} created, {} updated; clients: {} created, {} updated; {} unchanged",
            self.tenants_created,
            self.tenants_updated,
            self.users_created,
            self.users_updated,
            self.clients_created,
            self.clients_updated,
            self.unchanged
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("seed file {0} is not valid: {1}")]
    Parse(String, String),
    #[error("{at}: {source}")]
    Apply {
        at: String,
        #[source]
        source: AdminError,
    },
}

pub fn load(path: &Path) -> Result<SeedFile, SeedError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SeedError::Read(path.display().to_string(), e))?;
    parse(&text).map_err(|m| SeedError::Parse(path.display().to_string(), m))
}

pub fn parse(text: &str) -> Result<SeedFile, String> {
    let file: SeedFile = toml::from_str(text).map_err(|e| e.to_string())?;
    for t in &file.tenants {
        for u in &t.users {
            if u.password.is_some() && u.password_hash.is_some() {
                return Err(format!(
                    "tenant {:?}, user {:?}: give either password or password_hash, not both",
                    t.slug, u.username
                ));
            }
        }
    }
    Ok(file)
}

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
                Actor::Seed,
            )
            .await
        }
        Some(existing) => {
            let (tenant, changed) = tenants::update(
                ctx,
                existing,
                t.display_name.as_deref(),
                t.policy.clone(),
                Actor::Seed,
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
                display_name: u.display_name.clone(),
                password: u.password.clone(),
                admin_role: u.admin.and_then(AdminSetting::role),
                enabled: u.enabled.unwrap_or(true),
            },
            Actor::Seed,
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
        u.display_name.as_deref().or(user.display_name.as_deref()),
        u.admin.map_or(user.admin_role, AdminSetting::role),
        Actor::Seed,
    )
    .await?;
    if let Some(enabled) = u.enabled.filter(|e| *e != user.enabled) {
        users::set_enabled(ctx, tenant, user.clone(), enabled, Actor::Seed).await?;
        changed = true;
    }
    if let Some(password) = &u.password {
        let current = ctx
            .hasher
            .verify(password.expose(), existing.password_hash.as_deref())
            .await?;
        if !current.ok {
            users::set_password(ctx, tenant, &user, password, Actor::Seed).await?;
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
            Actor::Seed,
        )
        .await?;
        report.clients_created += 1;
        return Ok(());
    };
    let next = c.merge(&existing.client);
    let mut changed =
        clients::update(ctx, tenant, &existing.client, next.clone(), Actor::Seed).await?;
    if let Some(secret) = &c.secret
        && next.kind == ClientKind::Confidential
        && !clients::secret_matches(ctx, &existing, secret.expose())
    {
        clients::set_secret(ctx, tenant, &next, Some(secret.clone()), Actor::Seed).await?;
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
