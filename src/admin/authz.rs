//! Who is administering and what they may do: a person by their role, an API key by its
//! permissions, a client by the admin scopes of its access token. The one check every admin
//! use case makes first ([`Admin::require`]): another tenant is "not found", a missing
//! permission is refused by name, and an API key never manages API keys or roles. The command
//! line, the seed file and Watchword itself act as [`Admin::operator`].

use serde::Serialize;

use super::AdminError;
use crate::context::Ctx;
use crate::domain::admin::{Access, Module, Permission, Permissions, Role};
use crate::domain::audit::{Actor, Origin};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::tenant::Tenant;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in person with an administrative role.
    Person {
        user: UserId,
        username: String,
        role: Role,
    },
    /// An admin API key.
    ApiKey {
        id: String,
        name: String,
        permissions: Permissions,
    },
    /// A client with an access token from client credentials carrying `admin:*` scopes.
    Client {
        client_id: String,
        permissions: Permissions,
    },
    /// Whoever runs the server: the command line, the seed file, the control socket and
    /// Watchword itself. Holds every permission in every tenant; `actor` is what the audit log
    /// records.
    Operator { actor: Actor },
}

/// An authenticated administrator of `home` (the tenant whose user, key or client it is).
#[derive(Clone, Debug)]
pub struct Admin {
    pub caller: Caller,
    pub home: TenantId,
    pub origin: Origin,
}

/// What an administrator may do in a tenant, for "what can I do".
#[derive(Clone, Debug, Serialize)]
pub struct Abilities {
    /// `person`, `api_key` or `client`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    /// The role, for a person.
    pub role: Option<&'static str>,
    /// Every permission held in the tenant, write before read of a module (write implies read).
    pub permissions: Vec<String>,
}

impl Admin {
    /// The operator acting as `actor` (`Cli`, `Seed`, `System`): every permission everywhere.
    pub fn operator(actor: Actor) -> Self {
        Self {
            caller: Caller::Operator { actor },
            home: TenantId(uuid::Uuid::nil()),
            origin: Origin::default(),
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.caller {
            Caller::Person { user, .. } => Actor::User(user.to_string()),
            Caller::ApiKey { id, .. } => Actor::ApiKey(id.clone()),
            Caller::Client { client_id, .. } => Actor::Client(client_id.clone()),
            Caller::Operator { actor } => actor.clone(),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.caller {
            Caller::Person { role, .. } => Some(*role),
            _ => None,
        }
    }

    pub fn is_api_key(&self) -> bool {
        matches!(self.caller, Caller::ApiKey { .. })
    }

    /// Can this administrator see `tenant` at all? Their own; every tenant for an instance admin.
    pub fn sees(&self, tenant: TenantId) -> bool {
        tenant == self.home || self.is_instance_wide()
    }

    /// An instance admin or the operator: every tenant, and tenants themselves.
    pub fn is_instance_wide(&self) -> bool {
        matches!(self.caller, Caller::Operator { .. }) || self.role() == Some(Role::InstanceAdmin)
    }

    /// Does the administrator hold `wanted` in `tenant`?
    pub fn allows(&self, tenant: TenantId, wanted: Permission) -> bool {
        if !self.sees(tenant) {
            return false;
        }
        match &self.caller {
            Caller::Person { role, .. } => role.allows(wanted),
            // A key can never manage keys or roles, whatever it was given. `tenants:*` only
            // reaches one made by an instance admin (`api_keys::create`).
            Caller::ApiKey { permissions, .. } => {
                !(wanted.module == Module::Admins && wanted.access == Access::Write)
                    && permissions.allows(wanted)
            }
            Caller::Client { permissions, .. } => {
                wanted.module != Module::Tenants && permissions.allows(wanted)
            }
            Caller::Operator { .. } => true,
        }
    }

    /// The check before every administrative read or write: another tenant is "not found"
    /// (its existence is not revealed), a missing permission is refused and named.
    pub fn require(&self, tenant: TenantId, wanted: Permission) -> Result<(), AdminError> {
        if !self.sees(tenant) {
            return Err(AdminError::NotFound("tenant".into()));
        }
        if !self.allows(tenant, wanted) {
            return Err(AdminError::Forbidden(wanted));
        }
        Ok(())
    }

    /// The check before creating or listing tenants: an instance admin, the operator, or an API
    /// key an instance admin gave `tenants:*`. Client tokens never.
    pub fn require_instance(&self, wanted: Permission) -> Result<(), AdminError> {
        let granted = match &self.caller {
            Caller::ApiKey { permissions, .. } => {
                wanted.module == Module::Tenants && permissions.allows(wanted)
            }
            _ => self.is_instance_wide(),
        };
        if granted {
            Ok(())
        } else {
            Err(AdminError::Forbidden(wanted))
        }
    }

    /// Everything the administrator may do in `tenant`.
    pub fn abilities(&self, tenant: TenantId) -> Abilities {
        let permissions = crate::domain::admin::strongest(|p| self.allows(tenant, p))
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        let (kind, id, name, role) = match &self.caller {
            Caller::Person {
                user,
                username,
                role,
            } => (
                "person",
                user.to_string(),
                username.clone(),
                Some(role.as_str()),
            ),
            Caller::ApiKey { id, name, .. } => ("api_key", id.clone(), name.clone(), None),
            Caller::Client { client_id, .. } => {
                ("client", client_id.clone(), client_id.clone(), None)
            }
            Caller::Operator { actor } => ("operator", actor.render(), actor.render(), None),
        };
        Abilities {
            kind,
            id,
            name,
            role,
            permissions,
        }
    }
}

/// What a presented admin credential is at a tenant's address.
pub enum Authenticated {
    Admin(Admin),
    /// A live-looking credential of another tenant: answered like an unknown tenant (404), so
    /// an administrator of one tenant learns nothing about another.
    OtherTenant,
    /// Missing, malformed, unknown, expired or revoked (401).
    Invalid,
}

/// The administrator behind a presented credential for the admin API of `tenant`: an API key
/// (`wwk_…`) of that tenant, or an access token this tenant issued by client credentials with
/// admin scopes.
pub async fn authenticate(
    ctx: &Ctx,
    tenant: &Tenant,
    credential: &str,
    origin: Origin,
) -> Result<Authenticated, AdminError> {
    use super::api_keys::Presented;
    if credential.starts_with(super::api_keys::PREFIX) {
        return Ok(
            match super::api_keys::authenticate(ctx, tenant, credential).await? {
                Presented::Live(key) => Authenticated::Admin(Admin {
                    caller: Caller::ApiKey {
                        id: key.id,
                        name: key.name,
                        permissions: key.permissions,
                    },
                    home: tenant.id,
                    origin,
                }),
                Presented::OtherTenant => Authenticated::OtherTenant,
                Presented::Invalid => Authenticated::Invalid,
            },
        );
    }
    let claims =
        match crate::oauth::tokens::verify_access_token_cached(ctx, tenant, credential).await {
            Ok(claims) => claims,
            Err(_) => {
                return Ok(if issued_by_another_tenant(ctx, tenant, credential) {
                    Authenticated::OtherTenant
                } else {
                    Authenticated::Invalid
                });
            }
        };
    // Only a client acting for itself: a user's token never carries admin rights.
    if claims.sub != claims.client_id || claims.sid.is_some() || claims.gid.is_some() {
        return Ok(Authenticated::Invalid);
    }
    let live = crate::oauth::revocation::access_token_live(ctx, tenant, &claims)
        .await
        .map_err(|e| {
            AdminError::Storage(crate::storage::StorageError::Unavailable(e.to_string()))
        })?;
    if !live {
        return Ok(Authenticated::Invalid);
    }
    let permissions = Permissions::from_scopes(claims.scope.split(' '));
    Ok(Authenticated::Admin(Admin {
        caller: Caller::Client {
            client_id: claims.client_id,
            permissions,
        },
        home: tenant.id,
        origin,
    }))
}

/// Does an (unverified) token name another tenant of this server as its issuer? Only decides
/// between 404 and 401; nothing is granted on it.
fn issued_by_another_tenant(ctx: &Ctx, tenant: &Tenant, token: &str) -> bool {
    let Some(payload) = token.split('.').nth(1).filter(|p| p.len() <= 8192) else {
        return false;
    };
    let Ok(bytes) =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
    else {
        return false;
    };
    let Some(iss) = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("iss").and_then(|i| i.as_str()).map(str::to_owned))
    else {
        return false;
    };
    let ours = crate::oauth::issuer(ctx, tenant);
    let base = format!("{}/t/", ctx.config.public_origin());
    iss != ours && iss.starts_with(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(perms: &str) -> Admin {
        Admin {
            caller: Caller::ApiKey {
                id: "k".into(),
                name: "k".into(),
                permissions: Permissions::parse(perms).unwrap(),
            },
            home: TenantId::generate(),
            origin: Origin::default(),
        }
    }

    #[test]
    fn keys_never_manage_keys_or_roles() {
        let k = key("admins:write users:write");
        assert!(!k.allows(k.home, Permission::write(Module::Admins)));
        assert!(k.allows(k.home, Permission::read(Module::Admins)));
        assert!(k.allows(k.home, Permission::write(Module::Users)));
    }

    #[test]
    fn another_tenant_is_not_found_not_forbidden() {
        let k = key("users:write");
        let other = TenantId::generate();
        assert!(matches!(
            k.require(other, Permission::read(Module::Users)),
            Err(AdminError::NotFound(_))
        ));
        assert!(matches!(
            k.require(k.home, Permission::read(Module::Keys)),
            Err(AdminError::Forbidden(p)) if p == Permission::read(Module::Keys)
        ));
    }

    #[test]
    fn instance_admins_see_every_tenant() {
        let a = Admin {
            caller: Caller::Person {
                user: UserId::generate(),
                username: "root".into(),
                role: Role::InstanceAdmin,
            },
            home: TenantId::generate(),
            origin: Origin::default(),
        };
        assert!(a.allows(TenantId::generate(), Permission::write(Module::Users)));
        let abilities = a.abilities(a.home);
        assert!(abilities.permissions.contains(&"tenants:write".to_owned()));
    }
}
