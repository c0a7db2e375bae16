//! One-time tokens that let the first administrator of a tenant create their account.

use diesel::prelude::*;

use super::schema::setup_tokens;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

/// Replaces any earlier token of the tenant (only the newest printed link works), in one upsert
/// so that two concurrent calls cannot collide on the key.
pub fn put(
    conn: &mut DbConn,
    tenant: TenantId,
    token_hash: &str,
    expires_at: i64,
) -> Result<(), StorageError> {
    super::upsert(
        conn,
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::tenant_id.eq(tenant.to_string()),
                setup_tokens::token_hash.eq(token_hash),
                setup_tokens::expires_at.eq(expires_at),
            ))
            .on_conflict(setup_tokens::tenant_id)
            .do_update()
            .set((
                setup_tokens::token_hash.eq(token_hash),
                setup_tokens::expires_at.eq(expires_at),
            )),
    )?;
    Ok(())
}

/// The stored hash and expiry of the tenant's token, if any.
pub fn get(conn: &mut DbConn, tenant: TenantId) -> Result<Option<(String, i64)>, StorageError> {
    Ok(setup_tokens::table
        .find(tenant.to_string())
        .select((setup_tokens::token_hash, setup_tokens::expires_at))
        .first(conn)
        .optional()?)
}

/// Deletes the token; returns whether one existed (so two racing uses cannot both succeed).
pub fn take(conn: &mut DbConn, tenant: TenantId) -> Result<bool, StorageError> {
    Ok(diesel::delete(setup_tokens::table.find(tenant.to_string())).execute(conn)? == 1)
}
