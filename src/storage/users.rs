//! User rows, including the password hash (which never leaves this layer inside a `User`).

use diesel::prelude::*;

use super::schema::users;
use super::{DbConn, StorageError};
use crate::clock::from_unix;
use crate::domain::admin::Role;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::user::{LoginIdentifier, User, normalize};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserRow {
    id: String,
    tenant_id: String,
    username: String,
    username_normalized: String,
    email: Option<String>,
    email_normalized: Option<String>,
    email_verified: bool,
    display_name: Option<String>,
    enabled: bool,
    admin_role: Option<String>,
    password_hash: Option<String>,
    password_changed_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// A user with the stored password hash (a PHC string), for verification.
pub struct UserWithHash {
    pub user: User,
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserWithHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWithHash")
            .field("user", &self.user)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

impl UserRow {
    fn into_domain(self) -> Result<UserWithHash, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("user {}: {what}", self.id));
        let user = User {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            tenant_id: self.tenant_id.parse().map_err(|_| corrupt("tenant_id"))?,
            admin_role: self
                .admin_role
                .as_deref()
                .map(Role::parse)
                .transpose()
                .map_err(|_| corrupt("admin_role"))?,
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            display_name: self.display_name,
            enabled: self.enabled,
            created_at: from_unix(self.created_at),
            updated_at: from_unix(self.updated_at),
            version: self.version,
        };
        Ok(UserWithHash {
            user,
            password_hash: self.password_hash,
        })
    }

    fn from_domain(user: &User, password_hash: Option<String>, changed_at: Option<i64>) -> Self {
        Self {
            id: user.id.to_string(),
            tenant_id: user.tenant_id.to_string(),
            username_normalized: normalize(&user.username),
            username: user.username.clone(),
            email_normalized: user.email.as_deref().map(normalize),
            email: user.email.clone(),
            email_verified: user.email_verified,
            display_name: user.display_name.clone(),
            enabled: user.enabled,
            admin_role: user.admin_role.map(|r| r.as_str().to_owned()),
            password_hash,
            password_changed_at: changed_at,
            created_at: user.created_at.timestamp(),
            updated_at: user.updated_at.timestamp(),
            version: user.version,
        }
    }
}

pub fn insert(
    conn: &mut DbConn,
    user: &User,
    password_hash: Option<String>,
) -> Result<(), StorageError> {
    let changed = password_hash.as_ref().map(|_| user.created_at.timestamp());
    diesel::insert_into(users::table)
        .values(UserRow::from_domain(user, password_hash, changed))
        .execute(conn)?;
    Ok(())
}

/// Writes username, e-mail (and whether it is verified), display name, enabled flag and admin
/// role (not the password), if the row is still at `user.version` (what the caller read); the
/// version moves on. A row changed meanwhile is `Stale`, not overwritten.
pub fn update_profile(conn: &mut DbConn, user: &User) -> Result<(), StorageError> {
    let n = diesel::update(
        users::table
            .find(user.id.to_string())
            .filter(users::version.eq(user.version)),
    )
    .set((
        users::username.eq(&user.username),
        users::username_normalized.eq(normalize(&user.username)),
        users::email.eq(&user.email),
        users::email_normalized.eq(user.email.as_deref().map(normalize)),
        users::email_verified.eq(user.email_verified),
        users::display_name.eq(&user.display_name),
        users::enabled.eq(user.enabled),
        users::admin_role.eq(user.admin_role.map(|r| r.as_str())),
        users::updated_at.eq(user.updated_at.timestamp()),
        users::version.eq(users::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        let exists: i64 = users::table
            .find(user.id.to_string())
            .count()
            .get_result(conn)?;
        return Err(if exists == 0 {
            StorageError::NotFound
        } else {
            StorageError::Stale
        });
    }
    Ok(())
}

pub fn set_password_hash(
    conn: &mut DbConn,
    id: UserId,
    hash: &str,
    now: i64,
) -> Result<(), StorageError> {
    let n = diesel::update(users::table.find(id.to_string()))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Removes the password (no password then verifies: a "this wasn't me" answer, until a reset
/// link sets a new one).
pub fn clear_password_hash(conn: &mut DbConn, id: UserId, now: i64) -> Result<(), StorageError> {
    let n = diesel::update(users::table.find(id.to_string()))
        .set((
            users::password_hash.eq(None::<String>),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Replaces a hash only if it is still `old` (an upgrade racing a password change loses).
pub fn upgrade_password_hash(
    conn: &mut DbConn,
    id: UserId,
    old: &str,
    new: &str,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        users::table
            .find(id.to_string())
            .filter(users::password_hash.eq(old)),
    )
    .set(users::password_hash.eq(new))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn find_by_identifier(
    conn: &mut DbConn,
    tenant: TenantId,
    identifier: &LoginIdentifier,
) -> Result<Option<UserWithHash>, StorageError> {
    let query = users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .select(UserRow::as_select())
        .into_boxed();
    let query = match identifier {
        LoginIdentifier::Username(n) => query.filter(users::username_normalized.eq(n.clone())),
        LoginIdentifier::Email(n) => query.filter(users::email_normalized.eq(n.clone())),
    };
    query
        .first(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()
}

/// Takes the user row's lock until the transaction ends (PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already serializes writers): a check-then-write on one user's rows cannot interleave.
pub fn lock(conn: &mut DbConn, tenant: TenantId, user: UserId) -> Result<(), StorageError> {
    let id = user.to_string();
    diesel::update(
        users::table
            .find(&id)
            .filter(users::tenant_id.eq(tenant.to_string())),
    )
    .set(users::id.eq(&id))
    .execute(conn)?;
    Ok(())
}

pub fn find_by_id(
    conn: &mut DbConn,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<UserWithHash>, StorageError> {
    users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::id.eq(id.to_string()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()
}

pub fn list(conn: &mut DbConn, tenant: TenantId) -> Result<Vec<User>, StorageError> {
    users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .order(users::username_normalized.asc())
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| r.into_domain().map(|u| u.user))
        .collect()
}

/// Enabled tenant and instance admins of the tenant other than `except` (for "never remove the
/// last tenant admin"; call it after `tenants::lock` in the same transaction).
pub fn tenant_admins_besides(
    conn: &mut DbConn,
    tenant: TenantId,
    except: UserId,
) -> Result<i64, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::id.ne(except.to_string()))
        .filter(users::enabled.eq(true))
        .filter(
            users::admin_role.eq_any([Role::TenantAdmin.as_str(), Role::InstanceAdmin.as_str()]),
        )
        .count()
        .get_result(conn)?)
}

/// One page of a tenant's users in username order: after the username `after` (keyset), those
/// whose username (or, for a prefix with `@`, e-mail address) starts with `prefix` (normalized),
/// at most `limit`. Both walk a unique index; no count, no offset.
pub fn page(
    conn: &mut DbConn,
    tenant: TenantId,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, StorageError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .into_boxed();
    let by_email = prefix.is_some_and(|p| p.contains('@'));
    if let Some(p) = prefix.map(normalize).filter(|p| !p.is_empty()) {
        // Everything that starts with `p` sorts between `p` and `p` followed by the highest
        // character (byte order: SQLite's BINARY, PostgreSQL's C collation).
        let upper = format!("{p}\u{10FFFF}");
        q = if by_email {
            q.filter(users::email_normalized.ge(p.clone()))
                .filter(users::email_normalized.lt(upper))
        } else {
            q.filter(users::username_normalized.ge(p.clone()))
                .filter(users::username_normalized.lt(upper))
        };
    }
    if by_email {
        if let Some(a) = after {
            q = q.filter(users::email_normalized.gt(a.to_owned()));
        }
        q = q.order(users::email_normalized.asc());
    } else {
        if let Some(a) = after {
            q = q.filter(users::username_normalized.gt(a.to_owned()));
        }
        q = q.order(users::username_normalized.asc());
    }
    q.limit(limit)
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| r.into_domain().map(|u| u.user))
        .collect()
}

pub fn count_admins(conn: &mut DbConn, tenant: TenantId) -> Result<i64, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::admin_role.is_not_null())
        .count()
        .get_result(conn)?)
}

/// Marks the user's address verified if it is still `address` (normalized); whether it did.
pub fn set_email_verified(
    conn: &mut DbConn,
    id: UserId,
    address: &str,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        users::table
            .find(id.to_string())
            .filter(users::email_normalized.eq(normalize(address))),
    )
    .set((
        users::email_verified.eq(true),
        users::updated_at.eq(now),
        users::version.eq(users::version + 1),
    ))
    .execute(conn)?
        == 1)
}

/// Whose address `address` (normalized) is in `tenant`, if anyone's.
pub fn email_owner(
    conn: &mut DbConn,
    tenant: TenantId,
    address: &str,
) -> Result<Option<UserId>, StorageError> {
    users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::email_normalized.eq(normalize(address)))
        .select(users::id)
        .first::<String>(conn)
        .optional()?
        .map(|id| {
            id.parse()
                .map_err(|_| StorageError::Corrupt(format!("user {id}: id")))
        })
        .transpose()
}

/// Replaces the user's address with `new`, verified, if it is still `previous` (normalized;
/// `None`: the user still has none); whether it did. A unique-index conflict (another user of the
/// tenant has `new`) is `StorageError::Conflict("email")`.
pub fn replace_email(
    conn: &mut DbConn,
    id: UserId,
    previous: Option<&str>,
    new: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let changes = (
        users::email.eq(new),
        users::email_normalized.eq(normalize(new)),
        users::email_verified.eq(true),
        users::updated_at.eq(now),
        users::version.eq(users::version + 1),
    );
    let row = users::table.find(id.to_string());
    let n = match previous {
        Some(p) => diesel::update(row.filter(users::email_normalized.eq(normalize(p))))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(row.filter(users::email_normalized.is_null()))
            .set(changes)
            .execute(conn)?,
    };
    Ok(n == 1)
}
