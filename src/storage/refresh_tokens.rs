//! Refresh tokens, stored by keyed digest, grouped in families (one per sign-in grant). Rotation
//! marks the old token used and inserts its successor in one transaction; presenting a used token
//! revokes its whole family.

use diesel::prelude::*;

use super::schema::refresh_tokens;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: String,
    pub tenant_id: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The browser session the family is bound to; `None` for offline access.
    pub sid: Option<String>,
    pub scope: String,
    pub token_hash: String,
    pub auth_time: i64,
    /// JSON array of RFC 8176 method names.
    pub amr: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub family_expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &RefreshRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<RefreshRow>, StorageError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks `old_id` used and inserts `next`, atomically. Returns `false` (and writes nothing) if
/// the old token was already used or revoked: a concurrent rotation or a replay. On PostgreSQL
/// this is one statement (one round trip); on SQLite a transaction in process.
pub fn rotate(
    conn: &mut DbConn,
    old_id: &str,
    now: i64,
    next: &RefreshRow,
) -> Result<bool, StorageError> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    match conn {
        DbConn::Pg(pg) => {
            let inserted = diesel::sql_query(
                "WITH old AS (UPDATE refresh_tokens SET used_at = $1 \
                   WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL RETURNING id) \
                 INSERT INTO refresh_tokens (id, tenant_id, family_id, client_id, user_id, sid, scope, \
                   token_hash, auth_time, amr, issued_at, expires_at, family_expires_at, used_at, revoked_at) \
                 SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL, NULL FROM old",
            )
            .bind::<BigInt, _>(now)
            .bind::<Text, _>(old_id)
            .bind::<Text, _>(&next.id)
            .bind::<Text, _>(&next.tenant_id)
            .bind::<Text, _>(&next.family_id)
            .bind::<Text, _>(&next.client_id)
            .bind::<Text, _>(&next.user_id)
            .bind::<Nullable<Text>, _>(next.sid.as_deref())
            .bind::<Text, _>(&next.scope)
            .bind::<Text, _>(&next.token_hash)
            .bind::<BigInt, _>(next.auth_time)
            .bind::<Text, _>(&next.amr)
            .bind::<BigInt, _>(next.issued_at)
            .bind::<BigInt, _>(next.expires_at)
            .bind::<BigInt, _>(next.family_expires_at)
            .execute(pg)?;
            Ok(inserted == 1)
        }
        DbConn::Sqlite(_) => conn.transaction(|conn| {
            let n = diesel::update(
                refresh_tokens::table
                    .find(old_id)
                    .filter(refresh_tokens::used_at.is_null())
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
            if n != 1 {
                return Ok(false);
            }
            diesel::insert_into(refresh_tokens::table)
                .values(next)
                .execute(conn)?;
            Ok(true)
        }),
    }
}

/// Revokes every token of a family; returns how many were still live.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// Revokes the session-bound families of a browser session; returns their ids.
pub fn revoke_session(
    conn: &mut DbConn,
    tenant: TenantId,
    sid: &str,
    now: i64,
) -> Result<Vec<String>, StorageError> {
    conn.transaction(|conn| {
        let families: Vec<String> = refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant.to_string()))
            .filter(refresh_tokens::sid.eq(sid))
            .filter(refresh_tokens::revoked_at.is_null())
            .select(refresh_tokens::family_id)
            .distinct()
            .load(conn)?;
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::tenant_id.eq(tenant.to_string()))
                .filter(refresh_tokens::sid.eq(sid))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?;
        Ok(families)
    })
}

/// Revokes every live token matching `filter` (a client's or a user's); returns the families.
fn revoke_where(
    conn: &mut DbConn,
    tenant: TenantId,
    column_is_client: bool,
    value: &str,
    now: i64,
) -> Result<Vec<String>, StorageError> {
    conn.transaction(|conn| {
        let base = refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant.to_string()))
            .filter(refresh_tokens::revoked_at.is_null())
            .into_boxed();
        let base = if column_is_client {
            base.filter(refresh_tokens::client_id.eq(value.to_owned()))
        } else {
            base.filter(refresh_tokens::user_id.eq(value.to_owned()))
        };
        let families: Vec<String> = base
            .select(refresh_tokens::family_id)
            .distinct()
            .load(conn)?;
        for chunk in families.chunks(500) {
            diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq_any(chunk)))
                .set(refresh_tokens::revoked_at.eq(now))
                .execute(conn)?;
        }
        Ok(families)
    })
}

/// Revokes every grant of a client (deleted client); returns the families.
pub fn revoke_client(
    conn: &mut DbConn,
    tenant: TenantId,
    client_id: &str,
    now: i64,
) -> Result<Vec<String>, StorageError> {
    revoke_where(conn, tenant, true, client_id, now)
}

/// Revokes every grant of a user (disabled account); returns the families.
pub fn revoke_user(
    conn: &mut DbConn,
    tenant: TenantId,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, StorageError> {
    revoke_where(conn, tenant, false, user_id, now)
}

/// Deletes tokens whose family ended before `before` (nothing can be detected from them anymore).
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::family_expires_at.lt(before)))
            .execute(conn)?,
    )
}
