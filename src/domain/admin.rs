//! Who may administer what: the modules of a tenant, read or write access to them, the five
//! roles, and the permissions of API keys and admin-scoped access tokens (`admin:users:read`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::user::InvalidInput;

/// A part of a tenant an administrator manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    Users,
    Sessions,
    Clients,
    Idps,
    /// Password, session limit, MFA, throttling, network and risk policies.
    Policies,
    /// Signing keys.
    Keys,
    /// Sign-in events and the audit log.
    Events,
    /// Administrators' roles and API keys.
    Admins,
    /// Creating and listing tenants (instance level).
    Tenants,
}

impl Module {
    pub const ALL: [Module; 9] = [
        Module::Users,
        Module::Sessions,
        Module::Clients,
        Module::Idps,
        Module::Policies,
        Module::Keys,
        Module::Events,
        Module::Admins,
        Module::Tenants,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Users => "users",
            Module::Sessions => "sessions",
            Module::Clients => "clients",
            Module::Idps => "idps",
            Module::Policies => "policies",
            Module::Keys => "keys",
            Module::Events => "events",
            Module::Admins => "admins",
            Module::Tenants => "tenants",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Module::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

/// Reading or changing a module. Write implies read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One module and one kind of access: `users:write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub module: Module,
    pub access: Access,
}

impl Permission {
    pub const fn new(module: Module, access: Access) -> Self {
        Self { module, access }
    }

    pub const fn read(module: Module) -> Self {
        Self::new(module, Access::Read)
    }

    pub const fn write(module: Module) -> Self {
        Self::new(module, Access::Write)
    }

    /// `users:write`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(
                "permissions",
                format!("`{raw}` is not a permission (module:read or module:write)"),
            )
        };
        let (module, access) = raw.split_once(':').ok_or_else(bad)?;
        let module = Module::parse(module).ok_or_else(bad)?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(bad()),
        };
        Ok(Self::new(module, access))
    }

    /// The OAuth scope that carries this permission in an access token: `admin:users:read`.
    pub fn scope(self) -> String {
        format!("admin:{self}")
    }

    /// The permission an OAuth scope carries, if it is an admin scope.
    pub fn from_scope(scope: &str) -> Option<Self> {
        scope
            .strip_prefix("admin:")
            .and_then(|p| Self::parse(p).ok())
    }

    /// Does holding `self` allow `wanted`? Write implies read on the same module.
    pub fn covers(self, wanted: Permission) -> bool {
        self.module == wanted.module && self.access >= wanted.access
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.module.as_str(), self.access.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Permission::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An administrator's role over their tenant (instance administrators: over every tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every module of every tenant, and creating tenants.
    InstanceAdmin,
    /// Read and write on every module of the tenant.
    TenantAdmin,
    /// Read on every module of the tenant.
    TenantViewer,
    /// Read and write on users and sessions (factor resets included); read on the rest, but
    /// not on administrators and API keys.
    UserManager,
    /// Read on sign-in events and the audit log.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::InstanceAdmin,
        Role::TenantAdmin,
        Role::TenantViewer,
        Role::UserManager,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::InstanceAdmin => "instance_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantViewer => "tenant_viewer",
            Role::UserManager => "user_manager",
            Role::Auditor => "auditor",
        }
    }

    /// A role by name; the earlier `read-write` and `read-only` are tenant admin and tenant
    /// viewer.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "read-write" => Ok(Role::TenantAdmin),
            "read-only" => Ok(Role::TenantViewer),
            _ => {
                let name = raw.replace('-', "_");
                Role::ALL
                    .into_iter()
                    .find(|r| r.as_str() == name)
                    .ok_or_else(|| {
                        InvalidInput::new(
                            "admin",
                            "must be one of instance_admin, tenant_admin, tenant_viewer, \
                             user_manager, auditor (or read-write, read-only)",
                        )
                    })
            }
        }
    }

    /// Does the role manage the tenant (counts towards "the last tenant admin")?
    pub fn manages_tenant(self) -> bool {
        matches!(self, Role::InstanceAdmin | Role::TenantAdmin)
    }

    pub fn allows(self, wanted: Permission) -> bool {
        use Access::{Read, Write};
        match (self, wanted.module, wanted.access) {
            (Role::InstanceAdmin, _, _) => true,
            (_, Module::Tenants, _) => false,
            (Role::TenantAdmin, _, _) => true,
            (Role::TenantViewer, _, Read) => true,
            (Role::UserManager, Module::Users | Module::Sessions, _) => true,
            (Role::UserManager, Module::Admins, _) => false,
            (Role::UserManager, _, Read) => true,
            (Role::Auditor, Module::Events, Read) => true,
            (_, _, Write) | (Role::Auditor, _, Read) => false,
        }
    }

    /// Every permission the role holds, write before read of a module.
    pub fn permissions(self) -> Vec<Permission> {
        strongest(|p| self.allows(p))
    }
}

/// The strongest permission per module that `holds` grants (write before read: write implies
/// read), in module order.
pub fn strongest(holds: impl Fn(Permission) -> bool) -> Vec<Permission> {
    Module::ALL
        .into_iter()
        .filter_map(|m| {
            [Access::Write, Access::Read]
                .into_iter()
                .map(|a| Permission::new(m, a))
                .find(|p| holds(*p))
        })
        .collect()
}

/// A set of explicit permissions (an API key's, or an access token's admin scopes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions(BTreeSet<Permission>);

impl Permissions {
    pub fn new(list: impl IntoIterator<Item = Permission>) -> Self {
        Self(list.into_iter().collect())
    }

    /// `users:write sessions:read` or a JSON-ish list split on commas and spaces.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        raw.split([',', ' '])
            .filter(|p| !p.is_empty())
            .map(Permission::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// The admin permissions among OAuth scopes.
    pub fn from_scopes<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            scopes
                .into_iter()
                .filter_map(Permission::from_scope)
                .collect(),
        )
    }

    pub fn allows(&self, wanted: Permission) -> bool {
        self.0.iter().any(|p| p.covers(wanted))
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `users:write sessions:read`.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_issue_lists() {
        let w = Permission::write;
        let r = Permission::read;
        assert!(Role::InstanceAdmin.allows(w(Module::Tenants)));
        assert!(!Role::TenantAdmin.allows(r(Module::Tenants)));
        assert!(Role::TenantAdmin.allows(w(Module::Admins)));
        assert!(Role::TenantViewer.allows(r(Module::Keys)));
        assert!(!Role::TenantViewer.allows(w(Module::Users)));
        assert!(Role::UserManager.allows(w(Module::Users)));
        assert!(Role::UserManager.allows(w(Module::Sessions)));
        assert!(Role::UserManager.allows(r(Module::Clients)));
        assert!(!Role::UserManager.allows(w(Module::Clients)));
        assert!(!Role::UserManager.allows(r(Module::Admins)));
        assert!(Role::Auditor.allows(r(Module::Events)));
        assert!(!Role::Auditor.allows(r(Module::Users)));
        assert!(!Role::Auditor.allows(w(Module::Events)));
    }

    #[test]
    fn legacy_names_map_onto_roles() {
        assert_eq!(Role::parse("read-write").unwrap(), Role::TenantAdmin);
        assert_eq!(Role::parse("read-only").unwrap(), Role::TenantViewer);
        assert_eq!(Role::parse("user-manager").unwrap(), Role::UserManager);
        assert_eq!(Role::parse("auditor").unwrap(), Role::Auditor);
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn permissions_and_scopes() {
        let p = Permissions::parse("users:write, events:read").unwrap();
        assert!(p.allows(Permission::read(Module::Users)));
        assert!(p.allows(Permission::write(Module::Users)));
        assert!(!p.allows(Permission::write(Module::Events)));
        assert_eq!(p.render(), "users:write events:read");
        assert!(Permissions::parse("users:delete").is_err());
        assert!(Permissions::parse("nope:read").is_err());
        let s = Permissions::from_scopes(["openid", "admin:keys:read", "admin:bogus:read"]);
        assert_eq!(s.render(), "keys:read");
        assert_eq!(Permission::write(Module::Idps).scope(), "admin:idps:write");
    }

    #[test]
    fn role_permissions_are_listed_once_per_module() {
        let listed = Role::UserManager.permissions();
        assert!(listed.contains(&Permission::write(Module::Users)));
        assert!(!listed.contains(&Permission::read(Module::Users)));
        assert!(listed.contains(&Permission::read(Module::Keys)));
        assert!(!listed.iter().any(|p| p.module == Module::Admins));
    }
}
