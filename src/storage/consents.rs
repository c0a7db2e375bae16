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

/// How often [`grant`] re-reads a consent that another request changed under it.
const GRANT_ATTEMPTS: usize = 20;

/// Adds `scopes` to what the user granted the client (creating the consent if there is none) and
/// returns the scopes granted now. Atomic without locks, so concurrent grants (two tabs, a double
/// click, replicas) neither fail nor lose each other's scopes: the row is created with
/// `INSERT … ON CONFLICT DO NOTHING`, and changed only by an `UPDATE` conditional on the scopes
/// it was computed from; whoever loses a race re-reads and merges again.
pub fn grant(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<Vec<String>, StorageError> {
    let of = |t: TenantId, u: UserId, c: &str| {
        consents::table
            .filter(consents::tenant_id.eq(t.to_string()))
            .filter(consents::user_id.eq(u.to_string()))
            .filter(consents::client_id.eq(c.to_owned()))
    };
    for _ in 0..GRANT_ATTEMPTS {
        let current: Option<String> = of(tenant, user, client_id)
            .select(consents::scopes)
            .first(conn)
            .optional()?;
        let merged = merge(current.as_deref().unwrap_or(""), scopes);
        let written = match &current {
            None => super::upsert(
                conn,
                diesel::insert_into(consents::table)
                    .values((
                        consents::tenant_id.eq(tenant.to_string()),
                        consents::user_id.eq(user.to_string()),
                        consents::client_id.eq(client_id),
                        consents::scopes.eq(merged.join(" ")),
                        consents::granted_at.eq(now),
                    ))
                    .on_conflict_do_nothing(),
            )?,
            Some(old) => {
                diesel::update(of(tenant, user, client_id).filter(consents::scopes.eq(old)))
                    .set((
                        consents::scopes.eq(merged.join(" ")),
                        consents::granted_at.eq(now),
                    ))
                    .execute(conn)?
            }
        };
        if written == 1 {
            return Ok(merged);
        }
    }
    Err(StorageError::Contention(
        "the consent kept changing under concurrent grants".into(),
    ))
}

/// The stored scopes (space-separated) plus `more`, each once, in order of first grant.
fn merge(stored: &str, more: &[String]) -> Vec<String> {
    let mut all: Vec<String> = stored
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for s in more {
        if !s.is_empty() && !all.contains(s) {
            all.push(s.clone());
        }
    }
    all
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

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn merging_keeps_each_scope_once_in_order() {
        let more = [
            "email".to_owned(),
            "openid".to_owned(),
            "profile".to_owned(),
        ];
        assert_eq!(merge("openid email", &more), ["openid", "email", "profile"]);
        assert_eq!(merge("", &more[..1]), ["email"]);
    }
}
