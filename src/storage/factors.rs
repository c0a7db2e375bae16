//! Users' second factors: TOTP seeds (sealed; the last accepted time step), WebAuthn credentials
//! (public keys and counters) and recovery codes (keyed digests). Single use is enforced by
//! conditional updates, so two concurrent uses of one code or one TOTP step cannot both succeed.

use diesel::prelude::*;

use super::schema::{mfa_totp, recovery_codes, webauthn_credentials};
use super::{DbConn, StorageError};
use crate::domain::ids::{TenantId, UserId};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_totp)]
pub struct TotpRow {
    pub user_id: String,
    pub tenant_id: String,
    /// The seed (raw bytes), sealed with AES-256-GCM (see `crate::auth::mfa::totp`).
    pub secret_sealed: Vec<u8>,
    /// `None` while enrolment waits for a first valid code.
    pub confirmed_at: Option<i64>,
    /// The last time step accepted (a code is accepted once).
    pub last_step: i64,
    pub created_at: i64,
}

pub fn totp_get(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<TotpRow>, StorageError> {
    Ok(mfa_totp::table
        .filter(mfa_totp::user_id.eq(user.to_string()))
        .filter(mfa_totp::tenant_id.eq(tenant.to_string()))
        .select(TotpRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a new (unconfirmed) seed, replacing any previous one that is not confirmed.
/// Returns `false` if a confirmed one exists (it must be removed first). Without a read before
/// the write, so two concurrent set-ups (two tabs) cannot collide on the key: the row is created
/// with `INSERT … ON CONFLICT DO NOTHING`, or replaced by an `UPDATE` only while unconfirmed.
pub fn totp_start(conn: &mut DbConn, row: &TotpRow) -> Result<bool, StorageError> {
    for _ in 0..5 {
        let inserted = super::upsert(
            conn,
            diesel::insert_into(mfa_totp::table)
                .values(row)
                .on_conflict_do_nothing(),
        )?;
        if inserted == 1 {
            return Ok(true);
        }
        let replaced = diesel::update(
            mfa_totp::table
                .filter(mfa_totp::user_id.eq(&row.user_id))
                .filter(mfa_totp::confirmed_at.is_null()),
        )
        .set((
            mfa_totp::tenant_id.eq(&row.tenant_id),
            mfa_totp::secret_sealed.eq(&row.secret_sealed),
            mfa_totp::last_step.eq(row.last_step),
            mfa_totp::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
        if replaced == 1 {
            return Ok(true);
        }
        let confirmed: Option<Option<i64>> = mfa_totp::table
            .filter(mfa_totp::user_id.eq(&row.user_id))
            .select(mfa_totp::confirmed_at)
            .first(conn)
            .optional()?;
        if matches!(confirmed, Some(Some(_))) {
            return Ok(false);
        }
        // Removed meanwhile: try again.
    }
    Err(StorageError::Contention(
        "the TOTP seed kept changing under concurrent set-ups".into(),
    ))
}

/// Accepts time step `step` (a later one than any accepted before), and confirms an enrolment.
/// Returns `false` if that step, or a later one, was already used: a replay.
/// Accepts time step `step` if it is later than the last accepted one (single use). With
/// `confirming`, only for an unconfirmed seed, which this confirms; otherwise only for a
/// confirmed one. One conditional update, so two requests cannot both accept a step.
pub fn totp_accept(
    conn: &mut DbConn,
    user: UserId,
    step: i64,
    now: i64,
    confirming: bool,
) -> Result<bool, StorageError> {
    let target = mfa_totp::table
        .filter(mfa_totp::user_id.eq(user.to_string()))
        .filter(mfa_totp::last_step.lt(step));
    let n = if confirming {
        diesel::update(target.filter(mfa_totp::confirmed_at.is_null()))
            .set((mfa_totp::last_step.eq(step), mfa_totp::confirmed_at.eq(now)))
            .execute(conn)?
    } else {
        diesel::update(target.filter(mfa_totp::confirmed_at.is_not_null()))
            .set(mfa_totp::last_step.eq(step))
            .execute(conn)?
    };
    Ok(n == 1)
}

pub fn totp_delete(conn: &mut DbConn, user: UserId) -> Result<bool, StorageError> {
    Ok(
        diesel::delete(mfa_totp::table.filter(mfa_totp::user_id.eq(user.to_string())))
            .execute(conn)?
            > 0,
    )
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webauthn_credentials)]
pub struct CredentialRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// base64url of the credential id.
    pub credential_id: String,
    pub name: String,
    /// The credential as webauthn-rs serializes it (public key, counter, flags).
    pub passkey: String,
    /// Registered as a passkey (discoverable: usable without a username or password).
    pub discoverable: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub fn credentials_of(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<CredentialRow>, StorageError> {
    Ok(webauthn_credentials::table
        .filter(webauthn_credentials::tenant_id.eq(tenant.to_string()))
        .filter(webauthn_credentials::user_id.eq(user.to_string()))
        .order(webauthn_credentials::created_at.asc())
        .select(CredentialRow::as_select())
        .load(conn)?)
}

pub fn credential_by_id(
    conn: &mut DbConn,
    tenant: TenantId,
    credential_id: &str,
) -> Result<Option<CredentialRow>, StorageError> {
    Ok(webauthn_credentials::table
        .filter(webauthn_credentials::tenant_id.eq(tenant.to_string()))
        .filter(webauthn_credentials::credential_id.eq(credential_id))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn credential_insert(conn: &mut DbConn, row: &CredentialRow) -> Result<(), StorageError> {
    diesel::insert_into(webauthn_credentials::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Records a use: the updated credential (counter, backup state) and the time. Only if the
/// stored counter is still `previous` (a concurrent use with the same counter loses).
pub fn credential_used(
    conn: &mut DbConn,
    row_id: &str,
    previous: i64,
    passkey: &str,
    sign_count: i64,
    backup_state: bool,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        webauthn_credentials::table
            .filter(webauthn_credentials::id.eq(row_id))
            .filter(webauthn_credentials::sign_count.eq(previous)),
    )
    .set((
        webauthn_credentials::passkey.eq(passkey),
        webauthn_credentials::sign_count.eq(sign_count),
        webauthn_credentials::backup_state.eq(backup_state),
        webauthn_credentials::last_used_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

pub fn credential_delete(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    row_id: &str,
) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        webauthn_credentials::table
            .filter(webauthn_credentials::tenant_id.eq(tenant.to_string()))
            .filter(webauthn_credentials::user_id.eq(user.to_string()))
            .filter(webauthn_credentials::id.eq(row_id)),
    )
    .execute(conn)?
        > 0)
}

/// Renames one of the user's credentials; returns whether it exists.
pub fn credential_rename(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    row_id: &str,
    name: &str,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        webauthn_credentials::table
            .filter(webauthn_credentials::tenant_id.eq(tenant.to_string()))
            .filter(webauthn_credentials::user_id.eq(user.to_string()))
            .filter(webauthn_credentials::id.eq(row_id)),
    )
    .set(webauthn_credentials::name.eq(name))
    .execute(conn)?
        > 0)
}

/// Replaces the user's recovery codes with a new set (the old ones stop working). Two concurrent
/// replacements leave one set, not both: on PostgreSQL the user's row is locked first (SQLite's
/// `IMMEDIATE` transaction already serializes them).
pub fn recovery_replace(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
    hashes: &[String],
    now: i64,
) -> Result<(), StorageError> {
    super::write_transaction(conn, |conn| {
        if let DbConn::Pg(pg) = conn {
            use super::schema::users;
            users::table
                .filter(users::id.eq(user.to_string()))
                .select(users::id)
                .for_update()
                .load::<String>(pg)?;
        }
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.to_string())))
            .execute(conn)?;
        for hash in hashes {
            diesel::insert_into(recovery_codes::table)
                .values((
                    recovery_codes::id.eq(uuid::Uuid::now_v7().to_string()),
                    recovery_codes::tenant_id.eq(tenant.to_string()),
                    recovery_codes::user_id.eq(user.to_string()),
                    recovery_codes::code_hash.eq(hash),
                    recovery_codes::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Uses a recovery code (once); returns how many are left, or `None` if it was not valid.
pub fn recovery_use(
    conn: &mut DbConn,
    user: UserId,
    hash: &str,
    now: i64,
) -> Result<Option<i64>, StorageError> {
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user.to_string()))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    if used != 1 {
        return Ok(None);
    }
    recovery_left(conn, user).map(Some)
}

pub fn recovery_left(conn: &mut DbConn, user: UserId) -> Result<i64, StorageError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user.to_string()))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn recovery_delete(conn: &mut DbConn, user: UserId) -> Result<(), StorageError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.to_string())))
        .execute(conn)?;
    Ok(())
}

/// What [`remove_all`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub totp: bool,
    pub credentials: usize,
    pub recovery_codes: usize,
}

/// Removes every second factor of a user (TOTP, security keys and passkeys, recovery codes) in
/// one transaction.
pub fn remove_all(
    conn: &mut DbConn,
    tenant: TenantId,
    user: UserId,
) -> Result<Removed, StorageError> {
    super::write_transaction(conn, |conn| {
        let totp = totp_delete(conn, user)?;
        let credentials = diesel::delete(
            webauthn_credentials::table
                .filter(webauthn_credentials::tenant_id.eq(tenant.to_string()))
                .filter(webauthn_credentials::user_id.eq(user.to_string())),
        )
        .execute(conn)?;
        let recovery_codes = recovery_left(conn, user)? as usize;
        recovery_delete(conn, user)?;
        Ok(Removed {
            totp,
            credentials,
            recovery_codes,
        })
    })
}

/// What second factors a user has.
#[derive(Clone, Debug, Default)]
pub struct Factors {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    pub credentials: Vec<CredentialRow>,
    pub recovery_left: i64,
}

impl Factors {
    /// Has something to prove a second factor with (recovery codes alone do not count: they
    /// are the way back when the others are lost).
    pub fn any(&self) -> bool {
        self.totp || !self.credentials.is_empty()
    }
}

pub fn factors(conn: &mut DbConn, tenant: TenantId, user: UserId) -> Result<Factors, StorageError> {
    let totp = totp_get(conn, tenant, user)?.is_some_and(|t| t.confirmed_at.is_some());
    Ok(Factors {
        totp,
        credentials: credentials_of(conn, tenant, user)?,
        recovery_left: recovery_left(conn, user)?,
    })
}
