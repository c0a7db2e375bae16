//! Grants: one row per refresh-token family (who granted which scope to which client, in which
//! browser session, until when), written with the family's first token. Listing a user's grants
//! and finding the families to revoke for a user, a client or a session go through this table.
//! It also keeps the grant's risk baseline: the address and device of the code exchange, which
//! continuous evaluation compares each refresh with (`crate::auth::continuous`).

use diesel::dsl::exists;
use diesel::prelude::*;

use super::refresh_tokens::{RefreshRow, revoke_families};
use super::schema::{grants, refresh_tokens};
use super::{DbConn, StorageError};
use crate::domain::ids::{TenantId, UserId};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub family_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    /// The browser session the grant was issued in.
    pub origin_sid: Option<String>,
    /// Offline access: the grant outlives that session's sign-out.
    pub offline: bool,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The client address of the request that exchanged the code (`None` for grants from
    /// before continuous evaluation: no baseline).
    pub risk_ip: Option<String>,
    /// Its device description ("Firefox on Linux").
    pub risk_device: Option<String>,
}

/// Where and on what a grant was issued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    pub ip: Option<String>,
    pub device: Option<String>,
}

impl GrantRow {
    /// The grant a family's first token starts.
    pub fn of_first_token(token: &RefreshRow, baseline: Baseline) -> Self {
        Self {
            family_id: token.family_id.clone(),
            tenant_id: token.tenant_id.clone(),
            user_id: token.user_id.clone(),
            client_id: token.client_id.clone(),
            origin_sid: token.origin_sid.clone(),
            offline: token.sid.is_none(),
            scope: token.scope.clone(),
            created_at: token.issued_at,
            expires_at: token.family_expires_at,
            risk_ip: baseline.ip,
            risk_device: baseline.device,
        }
    }
}

/// Stores a new grant (with its risk baseline) and its first refresh token together.
pub fn start(
    conn: &mut DbConn,
    first: &RefreshRow,
    baseline: Baseline,
) -> Result<(), StorageError> {
    let grant = GrantRow::of_first_token(first, baseline);
    super::write_transaction(conn, |conn| {
        diesel::insert_into(grants::table)
            .values(&grant)
            .execute(conn)?;
        diesel::insert_into(refresh_tokens::table)
            .values(first)
            .execute(conn)?;
        Ok(())
    })
}

/// Grants that still have a usable refresh token.
macro_rules! live {
    ($query:expr, $now:expr) => {
        $query.filter(grants::expires_at.gt($now)).filter(exists(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(grants::family_id))
                .filter(refresh_tokens::revoked_at.is_null())
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::expires_at.gt($now)),
        ))
    };
}

/// A user's live grants, newest first.
pub fn of_user(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    now: i64,
) -> Result<Vec<GrantRow>, StorageError> {
    let query = grants::table
        .filter(grants::tenant_id.eq(tenant.to_string()))
        .filter(grants::user_id.eq(user.to_string()));
    Ok(live!(query, now)
        .order(grants::created_at.desc())
        .select(GrantRow::as_select())
        .load(conn)?)
}

/// Which grants to revoke.
pub enum Whose<'a> {
    /// A user's (disabled account).
    User(&'a str),
    /// A client's (deleted client).
    Client(&'a str),
    /// What a user granted one client (the user withdrew it).
    UserClient(&'a str, &'a str),
    /// Those issued in a browser session; `offline` grants only with `true`.
    Session { sid: &'a str, offline: bool },
}

/// Revokes the grants that still have unrevoked tokens; returns their family ids.
pub fn revoke(
    conn: &mut DbConn,
    tenant: TenantId,
    whose: Whose<'_>,
    now: i64,
) -> Result<Vec<String>, StorageError> {
    super::write_transaction(conn, |conn| {
        let mut query = grants::table
            .filter(grants::tenant_id.eq(tenant.to_string()))
            .filter(exists(
                refresh_tokens::table
                    .filter(refresh_tokens::family_id.eq(grants::family_id))
                    .filter(refresh_tokens::revoked_at.is_null()),
            ))
            .into_boxed();
        query = match whose {
            Whose::User(user) => query.filter(grants::user_id.eq(user.to_owned())),
            Whose::Client(client) => query.filter(grants::client_id.eq(client.to_owned())),
            Whose::UserClient(user, client) => query
                .filter(grants::user_id.eq(user.to_owned()))
                .filter(grants::client_id.eq(client.to_owned())),
            Whose::Session { sid, offline } => {
                let q = query.filter(grants::origin_sid.eq(sid.to_owned()));
                if offline {
                    q
                } else {
                    q.filter(grants::offline.eq(false))
                }
            }
        };
        let families: Vec<String> = query.select(grants::family_id).load(conn)?;
        revoke_families(conn, &families, now)?;
        Ok(families)
    })
}

/// Deletes grants that ended before `before`.
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(grants::table.filter(grants::expires_at.lt(before))).execute(conn)?)
}
