//! Signing-key rows: the private key sealed with the master-derived key, the public JWK, and the
//! key's schedule (published at `created_at`, signs from `activates_at`, leaves the JWKS at
//! `expires_at`).

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub tenant_id: String,
    pub alg: String,
    pub private_key: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("activates_at", &self.activates_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub fn insert(conn: &mut DbConn, row: &KeyRow) -> Result<(), StorageError> {
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every key of the tenant that has not left the JWKS yet (or leaves it after `now`).
pub fn live(conn: &mut DbConn, tenant: TenantId, now: i64) -> Result<Vec<KeyRow>, StorageError> {
    Ok(signing_keys::table
        .filter(signing_keys::tenant_id.eq(tenant.to_string()))
        .filter(
            signing_keys::expires_at
                .is_null()
                .or(signing_keys::expires_at.gt(now)),
        )
        .order(signing_keys::activates_at.asc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Schedules keys to leave the JWKS (only those without an earlier schedule).
pub fn expire(conn: &mut DbConn, kids: &[String], at: i64) -> Result<(), StorageError> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq_any(kids))
            .filter(
                signing_keys::expires_at
                    .is_null()
                    .or(signing_keys::expires_at.gt(at)),
            ),
    )
    .set(signing_keys::expires_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// Deletes keys that left the JWKS before `before`.
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(signing_keys::table.filter(signing_keys::expires_at.lt(before)))
            .execute(conn)?,
    )
}
