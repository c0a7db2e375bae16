//! Invitations to sign up, kept as `mail_links` rows without a user (purposes
//! `crate::registration::invites::{INVITE, INVITE_MAILED}`): listing them and revoking one by
//! its id (the first 12 hex digits of its token's keyed digest, which reveal nothing of the
//! token).

use diesel::prelude::*;

use super::schema::mail_links;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

/// An invitation as operators see it.
#[derive(Debug, Queryable)]
pub struct InviteRow {
    pub token_digest: String,
    pub purpose: String,
    pub address: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The tenant's invitations of `purposes`, newest first.
pub fn list(
    conn: &mut DbConn,
    tenant: TenantId,
    purposes: &[&str],
) -> Result<Vec<InviteRow>, StorageError> {
    Ok(mail_links::table
        .filter(mail_links::tenant_id.eq(tenant.to_string()))
        .filter(mail_links::purpose.eq_any(purposes))
        .filter(mail_links::user_id.is_null())
        .order(mail_links::created_at.desc())
        .select((
            mail_links::token_digest,
            mail_links::purpose,
            mail_links::address,
            mail_links::created_at,
            mail_links::expires_at,
            mail_links::used_at,
        ))
        .load(conn)?)
}

/// Ends the unused, unexpired invitations of the tenant whose digest starts with `id` (hex);
/// how many.
pub fn revoke(
    conn: &mut DbConn,
    tenant: TenantId,
    purposes: &[&str],
    id: &str,
    now: i64,
) -> Result<usize, StorageError> {
    Ok(diesel::update(
        mail_links::table
            .filter(mail_links::tenant_id.eq(tenant.to_string()))
            .filter(mail_links::purpose.eq_any(purposes))
            .filter(mail_links::user_id.is_null())
            .filter(mail_links::token_digest.like(format!("{id}%")))
            .filter(mail_links::used_at.is_null())
            .filter(mail_links::expires_at.gt(now)),
    )
    .set(mail_links::expires_at.eq(now))
    .execute(conn)?)
}
