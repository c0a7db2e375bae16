//! Single-use links sent by mail (`mail_links`): the keyed digest of each token, its purpose, the
//! user and address it is for (and for a change of address, the one it replaces), and when it
//! expires and was used. A link is used with one conditional update, so of two concurrent uses
//! exactly one succeeds.

use diesel::prelude::*;

use super::schema::{mail_links, users};
use super::{DbConn, StorageError};
use crate::domain::ids::{TenantId, UserId};

/// A new link.
pub struct NewLink<'a> {
    pub digest: &'a str,
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub purpose: &'a str,
    pub address: Option<&'a str>,
    /// The user's address when the link was asked for (a change of address), if any.
    pub previous_address: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = mail_links)]
pub struct Link {
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub purpose: String,
    pub address: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub previous_address: Option<String>,
}

impl Link {
    /// Expired or used at `now` (whether or not its purpose, tenant and user still fit).
    pub fn spent(&self, now: i64) -> bool {
        self.used_at.is_some() || self.expires_at <= now
    }
}

/// Takes the user's row lock on PostgreSQL (SQLite's write transaction already excludes other
/// writers), so that counting a user's recent links and adding one are one step.
pub fn lock_user(conn: &mut DbConn, user: UserId) -> Result<(), StorageError> {
    if let DbConn::Pg(c) = conn {
        users::table
            .find(user.to_string())
            .select(users::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// Links of `purpose` created for `user` since `since`.
pub fn count_recent(
    conn: &mut DbConn,
    user: UserId,
    purpose: &str,
    since: i64,
) -> Result<i64, StorageError> {
    Ok(mail_links::table
        .filter(mail_links::user_id.eq(user.to_string()))
        .filter(mail_links::purpose.eq(purpose))
        .filter(mail_links::created_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// Adds a link; earlier unused links of the same user and purpose stop working (only the newest
/// link in the mailbox works).
pub fn insert_replacing(conn: &mut DbConn, link: &NewLink<'_>) -> Result<(), StorageError> {
    if let Some(user) = link.user {
        diesel::update(
            mail_links::table
                .filter(mail_links::user_id.eq(user.to_string()))
                .filter(mail_links::purpose.eq(link.purpose))
                .filter(mail_links::used_at.is_null())
                .filter(mail_links::expires_at.gt(link.now)),
        )
        .set(mail_links::expires_at.eq(link.now))
        .execute(conn)?;
    }
    diesel::insert_into(mail_links::table)
        .values((
            mail_links::token_digest.eq(link.digest),
            mail_links::tenant_id.eq(link.tenant.to_string()),
            mail_links::user_id.eq(link.user.map(|u| u.to_string())),
            mail_links::purpose.eq(link.purpose),
            mail_links::address.eq(link.address),
            mail_links::previous_address.eq(link.previous_address),
            mail_links::created_at.eq(link.now),
            mail_links::expires_at.eq(link.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, digest: &str) -> Result<Option<Link>, StorageError> {
    Ok(mail_links::table
        .find(digest)
        .select(Link::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the link used if it is unused and unexpired at `now`; whether this call did.
pub fn use_once(conn: &mut DbConn, digest: &str, now: i64) -> Result<bool, StorageError> {
    Ok(diesel::update(
        mail_links::table
            .find(digest)
            .filter(mail_links::used_at.is_null())
            .filter(mail_links::expires_at.gt(now)),
    )
    .set(mail_links::used_at.eq(Some(now)))
    .execute(conn)?
        == 1)
}

/// Deletes links that expired before `before`; returns how many.
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(mail_links::table.filter(mail_links::expires_at.lt(before)))
            .execute(conn)?,
    )
}
