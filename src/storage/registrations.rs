//! Sign-ups waiting for their address to be proven (`registrations`): one row per tenant and
//! address (a newer sign-up replaces the older one in one upsert), found by the keyed digest of
//! the mailed token, and used with one conditional update (of two concurrent uses exactly one
//! succeeds; the password hash is wiped at the same time).

use diesel::prelude::*;

use super::schema::registrations;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;
use crate::domain::user::normalize;

/// A sign-up to keep until its link is used.
pub struct NewRegistration<'a> {
    pub digest: &'a str,
    pub tenant: TenantId,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub invite_digest: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = registrations)]
pub struct Registration {
    pub tenant_id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub invite_digest: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Keeps `r`, replacing any earlier sign-up of the same address in the tenant (whose link stops
/// working), in one statement.
pub fn put(conn: &mut DbConn, r: &NewRegistration<'_>) -> Result<(), StorageError> {
    let email_normalized = normalize(r.email);
    super::upsert(
        conn,
        diesel::insert_into(registrations::table)
            .values((
                registrations::token_digest.eq(r.digest),
                registrations::tenant_id.eq(r.tenant.to_string()),
                registrations::username.eq(r.username),
                registrations::email.eq(r.email),
                registrations::email_normalized.eq(&email_normalized),
                registrations::password_hash.eq(r.password_hash),
                registrations::invite_digest.eq(r.invite_digest),
                registrations::created_at.eq(r.now),
                registrations::expires_at.eq(r.expires_at),
                registrations::used_at.eq(None::<i64>),
            ))
            .on_conflict((registrations::tenant_id, registrations::email_normalized))
            .do_update()
            .set((
                registrations::token_digest.eq(r.digest),
                registrations::username.eq(r.username),
                registrations::email.eq(r.email),
                registrations::password_hash.eq(r.password_hash),
                registrations::invite_digest.eq(r.invite_digest),
                registrations::created_at.eq(r.now),
                registrations::expires_at.eq(r.expires_at),
                registrations::used_at.eq(None::<i64>),
            )),
    )?;
    Ok(())
}

pub fn find(conn: &mut DbConn, digest: &str) -> Result<Option<Registration>, StorageError> {
    Ok(registrations::table
        .find(digest)
        .select(Registration::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the sign-up used (and wipes its password hash) if it is unused and unexpired at `now`;
/// whether this call did.
pub fn use_once(conn: &mut DbConn, digest: &str, now: i64) -> Result<bool, StorageError> {
    Ok(diesel::update(
        registrations::table
            .find(digest)
            .filter(registrations::used_at.is_null())
            .filter(registrations::expires_at.gt(now)),
    )
    .set((
        registrations::used_at.eq(Some(now)),
        registrations::password_hash.eq(""),
    ))
    .execute(conn)?
        == 1)
}

/// Deletes sign-ups that expired before `before`; returns how many.
pub fn purge(conn: &mut DbConn, before: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(registrations::table.filter(registrations::expires_at.lt(before)))
            .execute(conn)?,
    )
}

/// How many sign-ups of the tenant wait for their link (for tests and operators).
pub fn count_pending(conn: &mut DbConn, tenant: TenantId, now: i64) -> Result<i64, StorageError> {
    Ok(registrations::table
        .filter(registrations::tenant_id.eq(tenant.to_string()))
        .filter(registrations::used_at.is_null())
        .filter(registrations::expires_at.gt(now))
        .count()
        .get_result(conn)?)
}
