//! Admin API keys: the digest of the secret, permissions, expiry, last use, revocation.

use diesel::prelude::*;

use super::schema::api_keys;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

/// A stored key (never its secret).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub secret_digest: String,
    /// `users:write sessions:read`.
    pub permissions: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &ApiKeyRow) -> Result<(), StorageError> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut DbConn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<ApiKeyRow>, StorageError> {
    Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant.to_string()))
        .filter(api_keys::id.eq(id))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// The tenant a key id belongs to, whichever it is (to answer a key used at another tenant's
/// address with "not found").
pub fn tenant_of(conn: &mut DbConn, id: &str) -> Result<Option<String>, StorageError> {
    Ok(api_keys::table
        .filter(api_keys::id.eq(id))
        .select(api_keys::tenant_id)
        .first(conn)
        .optional()?)
}

/// A tenant's keys, newest first, after the key `after` (keyset), at most `limit`.
pub fn page(
    conn: &mut DbConn,
    tenant: TenantId,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, StorageError> {
    let mut q = api_keys::table
        .filter(api_keys::tenant_id.eq(tenant.to_string()))
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            api_keys::created_at
                .lt(at)
                .or(api_keys::created_at.eq(at).and(api_keys::id.lt(id))),
        );
    }
    Ok(q.order((api_keys::created_at.desc(), api_keys::id.desc()))
        .limit(limit)
        .select(ApiKeyRow::as_select())
        .load(conn)?)
}

/// Revokes a live key; whether it was live (revoking twice changes nothing).
pub fn revoke(
    conn: &mut DbConn,
    tenant: TenantId,
    id: &str,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        api_keys::table
            .filter(api_keys::tenant_id.eq(tenant.to_string()))
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?
        == 1)
}

/// Records a use, at most once a minute per key (one conditional write, not one per request).
pub fn touch(conn: &mut DbConn, id: &str, now: i64) -> Result<(), StorageError> {
    diesel::update(
        api_keys::table.filter(api_keys::id.eq(id)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(now - 60)),
        ),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
