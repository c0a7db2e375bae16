//! The seed file's format (TOML, documented in config/seed.example.toml), reading and parsing it,
//! and the errors of seeding.

use std::path::Path;

use serde::Deserialize;

use super::AdminError;
use crate::domain::admin::Role;
use crate::domain::client::{
    Client, ClientAuthMethod, ClientKind, ClientSettings, GrantType, Lifetimes,
};
use crate::domain::keys::SigningAlg;
use crate::domain::secret::Secret;
use crate::domain::tenant::{Tenant, TenantPolicy};

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
    /// Upstream identity providers.
    #[serde(default)]
    pub idps: Vec<SeedIdp>,
}

/// An upstream identity provider in a seed file (`[[tenants.idps]]`), its settings in
/// `[tenants.idps.settings]` (as `watchword idp create --settings` reads them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedIdp {
    pub slug: String,
    pub kind: crate::domain::idp::IdpKind,
    pub display_name: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The OAuth client secret at the provider (sealed when stored).
    pub client_secret: Option<Secret<String>>,
    pub settings: crate::domain::idp::IdpSettings,
}

fn enabled_by_default() -> bool {
    true
}

/// An OAuth client in a seed file. Fields left out take the defaults (new clients) or keep their
/// value (existing ones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub name: Option<String>,
    pub kind: Option<ClientKind>,
    pub auth_method: Option<ClientAuthMethod>,
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
    /// A resource server: may introspect access tokens whose `aud` is its client id or one of
    /// `audiences`.
    pub resource_server: Option<bool>,
    pub audiences: Option<Vec<String>>,
}

impl SeedClient {
    /// Applies the given fields over `base`.
    pub(super) fn merge(&self, base: &Client) -> Client {
        let mut c = base.clone();
        if let Some(v) = &self.name {
            c.name = v.clone();
        }
        if let Some(v) = self.kind {
            c.kind = v;
        }
        c.auth_method = self.auth_method.unwrap_or(match (self.kind, base.kind) {
            (Some(ClientKind::Public), _) => ClientAuthMethod::None,
            (Some(ClientKind::Confidential), ClientKind::Public) => {
                ClientAuthMethod::ClientSecretBasic
            }
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
            require_mfa,
            resource_server,
            audiences
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
    pub(super) fn as_new(&self, tenant: &Tenant) -> Client {
        let kind = self.kind.unwrap_or(ClientKind::Confidential);
        let base = Client {
            pk: String::new(),
            tenant_id: tenant.id,
            client_id: self.client_id.clone(),
            name: self.client_id.clone(),
            kind,
            auth_method: if kind == ClientKind::Public {
                ClientAuthMethod::None
            } else {
                ClientAuthMethod::ClientSecretBasic
            },
            settings: ClientSettings::default(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            version: 1,
        };
        self.merge(&base)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub email: Option<String>,
    /// The address is already verified (an import from a system that verified it). Default:
    /// false, and the user verifies it with a link.
    pub email_verified: Option<bool>,
    pub display_name: Option<String>,
    /// A plain password (checked against the tenant's policy, stored only as a hash).
    pub password: Option<Secret<String>>,
    /// Or an Argon2id PHC string, e.g. exported from another system.
    pub password_hash: Option<String>,
    pub enabled: Option<bool>,
    /// A role (see [`AdminSetting`]), or `none` to remove administrative rights.
    pub admin: Option<AdminSetting>,
}

/// The `admin` field of a seeded user: a role (`tenant_admin`, `tenant_viewer`, `user_manager`,
/// `auditor`, `instance_admin`, or the earlier `read-write` / `read-only`), or `none` to remove
/// administrative rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSetting {
    None,
    Role(Role),
}

impl<'de> Deserialize<'de> for AdminSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if raw == "none" {
            return Ok(AdminSetting::None);
        }
        Role::parse(&raw)
            .map(AdminSetting::Role)
            .map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl AdminSetting {
    pub(super) fn role(self) -> Option<Role> {
        match self {
            AdminSetting::None => None,
            AdminSetting::Role(r) => Some(r),
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
    pub idps_created: usize,
    pub idps_updated: usize,
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
        )?;
        if self.idps_created + self.idps_updated > 0 {
            write!(
                f,
                "; identity providers: {} created, {} updated",
                self.idps_created, self.idps_updated
            )?;
        }
        Ok(())
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
