//! Refresh tokens, stored by keyed digest, grouped in families (one per sign-in grant).
//! Redemption ([`redeem`]) checks a token and rotates it (marks it used, inserts its successor) in
//! one transaction; presenting a used token revokes its whole family.

use diesel::prelude::*;

use super::schema::refresh_tokens;
use super::{DbConn, StorageError};

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
    /// The browser session the grant was issued in (also for offline grants).
    pub origin_sid: Option<String>,
}

pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<RefreshRow>, StorageError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?)
}

/// Runs a revoking UPDATE; on PostgreSQL twice. A rotation in flight when the first pass starts
/// inserts its successor token after that pass's snapshot: the first pass waits for the rotation
/// (on the old token's row lock) and revokes the old token, and the second pass, with a new
/// snapshot, sees and revokes the successor. SQLite serializes writers, so one pass is enough.
fn revoke_passes(
    conn: &mut DbConn,
    mut pass: impl FnMut(&mut DbConn) -> QueryResult<usize>,
) -> Result<usize, StorageError> {
    let mut n = pass(conn)?;
    if matches!(conn, DbConn::Pg(_)) {
        n += pass(conn)?;
    }
    Ok(n)
}

/// Revokes every token of a family; returns how many were still live.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: i64) -> Result<usize, StorageError> {
    revoke_passes(conn, |conn| {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
    })
}

/// Revokes every live token of the given families (inside the caller's transaction).
pub(super) fn revoke_families(
    conn: &mut DbConn,
    families: &[String],
    now: i64,
) -> Result<usize, StorageError> {
    let mut n = 0;
    for chunk in families.chunks(500) {
        n += revoke_passes(conn, |conn| {
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::family_id.eq_any(chunk))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(now))
            .execute(conn)
        })?;
    }
    Ok(n)
}

/// Deletes tokens whose family ended before `before` (nothing can be detected from them anymore).
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::family_expires_at.lt(before)))
            .execute(conn)?,
    )
}

/// What presenting a refresh token found (see [`redeem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRedemption {
    /// Rotated: the presented token is now used and `next_id` was inserted in its family.
    Rotated(Grant),
    /// Unknown, or belonging to another tenant or client.
    Invalid,
    Revoked,
    /// Already used: its whole family has just been revoked.
    Reused {
        family_id: String,
        user_id: String,
    },
    Expired,
    /// The requested scope is not part of the grant.
    ScopeTooWide,
    /// The user was disabled or deleted (the caller revokes the family).
    UserDisabled {
        family_id: String,
    },
}

/// The grant a rotated refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub family_id: String,
    pub user_id: String,
    pub sid: Option<String>,
    /// The browser session the grant was issued in (also for offline grants).
    pub origin_sid: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub expires_at: i64,
    /// The grant's risk baseline: the address and device of its code exchange (`grants`).
    pub risk_ip: Option<String>,
    pub risk_device: Option<String>,
}

/// Input of [`redeem`].
pub struct Redeem<'a> {
    pub tenant_id: &'a str,
    pub client_id: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
    pub next_id: &'a str,
    pub next_hash: &'a str,
    pub idle_secs: i64,
    /// A narrower scope requested by the client (must be a subset of the grant's).
    pub scope: Option<&'a str>,
}

/// The outcome of a redemption, as the PostgreSQL function returns it (JSON) and as the SQLite
/// path builds it.
#[derive(serde::Deserialize)]
struct RedeemRow {
    status: String,
    family_id: Option<String>,
    user_id: Option<String>,
    sid: Option<String>,
    #[serde(default)]
    origin_sid: Option<String>,
    scope: Option<String>,
    auth_time: Option<i64>,
    amr: Option<String>,
    expires_at: Option<i64>,
    #[serde(default)]
    risk_ip: Option<String>,
    #[serde(default)]
    risk_device: Option<String>,
}

// The SQL function's signature: eight parameters, as the migration declares them.
#[allow(clippy::too_many_arguments)]
mod sql {
    diesel::define_sql_function! {
    /// Migrations 2026-11-23-000003 and 2026-12-07-000010 (PostgreSQL only).
    fn ww_redeem_refresh(
        hash: diesel::sql_types::Text,
        tenant: diesel::sql_types::Text,
        client: diesel::sql_types::Text,
        now: diesel::sql_types::BigInt,
        new_id: diesel::sql_types::Text,
        new_hash: diesel::sql_types::Text,
        idle: diesel::sql_types::BigInt,
        scope: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Text;
    }
}
use sql::ww_redeem_refresh;

/// Checks a presented refresh token and rotates it, atomically: on PostgreSQL in one statement
/// (the `ww_redeem_refresh` function, prepared once per connection), on SQLite in one
/// transaction. A used token revokes its whole family. A rotated grant comes with its risk
/// baseline (`grants.risk_ip`, `risk_device`).
pub fn redeem(conn: &mut DbConn, r: &Redeem<'_>) -> Result<RefreshRedemption, StorageError> {
    let row = match conn {
        DbConn::Pg(pg) => {
            let json: String = diesel::select(ww_redeem_refresh(
                r.token_hash,
                r.tenant_id,
                r.client_id,
                r.now,
                r.next_id,
                r.next_hash,
                r.idle_secs,
                r.scope,
            ))
            .get_result(pg)?;
            serde_json::from_str::<RedeemRow>(&json)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?
        }
        DbConn::Sqlite(_) => super::write_transaction(conn, |conn| redeem_in_transaction(conn, r))?,
    };
    let text = |v: Option<String>| v.unwrap_or_default();
    Ok(match row.status.as_str() {
        "ok" => RefreshRedemption::Rotated(Grant {
            family_id: text(row.family_id),
            user_id: text(row.user_id),
            sid: row.sid,
            origin_sid: row.origin_sid,
            scope: text(row.scope),
            auth_time: row.auth_time.unwrap_or_default(),
            amr: text(row.amr),
            expires_at: row.expires_at.unwrap_or_default(),
            risk_ip: row.risk_ip,
            risk_device: row.risk_device,
        }),
        "revoked" => RefreshRedemption::Revoked,
        "reused" => RefreshRedemption::Reused {
            family_id: text(row.family_id),
            user_id: text(row.user_id),
        },
        "expired" => RefreshRedemption::Expired,
        "scope" => RefreshRedemption::ScopeTooWide,
        "disabled" => RefreshRedemption::UserDisabled {
            family_id: text(row.family_id),
        },
        _ => RefreshRedemption::Invalid,
    })
}

/// The SQLite side of [`redeem`]: the same steps as the PostgreSQL function.
fn redeem_in_transaction(conn: &mut DbConn, r: &Redeem<'_>) -> Result<RedeemRow, StorageError> {
    use super::schema::{grants, users};
    let status = |s: &str, t: Option<&RefreshRow>| RedeemRow {
        status: s.to_owned(),
        family_id: t.map(|t| t.family_id.clone()),
        user_id: t.map(|t| t.user_id.clone()),
        sid: t.and_then(|t| t.sid.clone()),
        origin_sid: t.and_then(|t| t.origin_sid.clone()),
        scope: t.map(|t| t.scope.clone()),
        auth_time: t.map(|t| t.auth_time),
        amr: t.map(|t| t.amr.clone()),
        expires_at: t.map(|t| (r.now + r.idle_secs).min(t.family_expires_at)),
        risk_ip: None,
        risk_device: None,
    };
    let Some(t) = find_by_hash(conn, r.token_hash)?
        .filter(|t| t.tenant_id == r.tenant_id && t.client_id == r.client_id)
    else {
        return Ok(status("invalid", None));
    };
    let within = |requested: &str| {
        let granted: Vec<&str> = t.scope.split(' ').collect();
        requested
            .split(' ')
            .filter(|s| !s.is_empty())
            .all(|s| granted.contains(&s))
    };
    if t.revoked_at.is_some() {
        return Ok(status("revoked", Some(&t)));
    }
    if t.used_at.is_some() {
        revoke_family(conn, &t.family_id, r.now)?;
        return Ok(status("reused", Some(&t)));
    }
    if r.now >= t.expires_at || r.now >= t.family_expires_at {
        return Ok(status("expired", Some(&t)));
    }
    if r.scope.is_some_and(|s| !within(s)) {
        return Ok(status("scope", Some(&t)));
    }
    let enabled: Option<bool> = users::table
        .filter(users::id.eq(&t.user_id))
        .filter(users::tenant_id.eq(&t.tenant_id))
        .select(users::enabled)
        .first(conn)
        .optional()?;
    if enabled != Some(true) {
        return Ok(status("disabled", Some(&t)));
    }
    let next = RefreshRow {
        id: r.next_id.to_owned(),
        token_hash: r.next_hash.to_owned(),
        issued_at: r.now,
        expires_at: (r.now + r.idle_secs).min(t.family_expires_at),
        used_at: None,
        revoked_at: None,
        ..t.clone()
    };
    diesel::update(refresh_tokens::table.find(&t.id))
        .set(refresh_tokens::used_at.eq(r.now))
        .execute(conn)?;
    diesel::insert_into(refresh_tokens::table)
        .values(&next)
        .execute(conn)?;
    let (risk_ip, risk_device) = grants::table
        .find(&t.family_id)
        .select((grants::risk_ip, grants::risk_device))
        .first::<(Option<String>, Option<String>)>(conn)
        .optional()?
        .unwrap_or_default();
    Ok(RedeemRow {
        risk_ip,
        risk_device,
        ..status("ok", Some(&t))
    })
}
