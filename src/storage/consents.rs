//! Remembered consent: which scopes a user granted to a client.

use diesel::prelude::*;

use super::schema::consents;
use super::{DbConn, StorageError};
use crate::domain::ids::{TenantId, UserId};

/// The scopes the user granted to the client, if any.
pub fn get(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    client_id: &str,
) -> Result<Option<Vec<String>>, StorageError> {
    let scopes: Option<String> = consents::table
        .filter(consents::tenant_id.eq(tenant.to_string()))
        .filter(consents::user_id.eq(user.to_string()))
        .filter(consents::client_id.eq(client_id))
        .select(consents::scopes)
        .first(conn)
        .optional()?;
    Ok(scopes.map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    }))
}

/// Every client a user consented to: (client id, scopes, when), newest first.
pub fn of_user(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<(String, Vec<String>, i64)>, StorageError> {
    let rows: Vec<(String, String, i64)> = consents::table
        .filter(consents::tenant_id.eq(tenant.to_string()))
        .filter(consents::user_id.eq(user.to_string()))
        .order(consents::granted_at.desc())
        .select((consents::client_id, consents::scopes, consents::granted_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(c, s, at)| {
            (
                c,
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect(),
                at,
            )
        })
        .collect())
}

/// Records (replacing) the scopes granted.
pub fn put(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        delete(conn, tenant, user, client_id)?;
        diesel::insert_into(consents::table)
            .values((
                consents::tenant_id.eq(tenant.to_string()),
                consents::user_id.eq(user.to_string()),
                consents::client_id.eq(client_id),
                consents::scopes.eq(scopes.join(" ")),
                consents::granted_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn delete(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    client_id: &str,
) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        consents::table
            .filter(consents::tenant_id.eq(tenant.to_string()))
            .filter(consents::user_id.eq(user.to_string()))
            .filter(consents::client_id.eq(client_id)),
    )
    .execute(conn)?
        == 1)
}

/// Forgets every consent given to a client (deleted client).
pub fn delete_for_client(
    conn: &mut DbConn,
    tenant: TenantId,
    client_id: &str,
) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        consents::table
            .filter(consents::tenant_id.eq(tenant.to_string()))
            .filter(consents::client_id.eq(client_id)),
    )
    .execute(conn)?)
}
