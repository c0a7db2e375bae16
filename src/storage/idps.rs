//! Upstream identity providers (settings as JSON, the client secret sealed) and the federated
//! identities linked to users, keyed by provider and upstream subject.

use diesel::prelude::*;

use super::schema::{federated_identities, identity_providers};
use super::{DbConn, StorageError};
use crate::domain::idp::{IdentityProvider, IdpKind};
use crate::domain::ids::{IdpId, TenantId, UserId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_providers)]
struct IdpRow {
    id: String,
    tenant_id: String,
    slug: String,
    kind: String,
    display_name: String,
    enabled: bool,
    settings: String,
    sealed_secret: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// A provider with its sealed secret (base64 of the AES-GCM box), for the engine to open.
#[derive(Clone, Debug)]
pub struct StoredIdp {
    pub idp: IdentityProvider,
    pub sealed_secret: Option<String>,
}

impl IdpRow {
    fn into_domain(self) -> Result<StoredIdp, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("idp {}: {what}", self.id));
        let idp = IdentityProvider {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            tenant_id: self.tenant_id.parse().map_err(|_| corrupt("tenant_id"))?,
            kind: IdpKind::parse(&self.kind).map_err(|_| corrupt("kind"))?,
            settings: serde_json::from_str(&self.settings).map_err(|_| corrupt("settings"))?,
            slug: self.slug,
            display_name: self.display_name,
            enabled: self.enabled,
            has_secret: self.sealed_secret.is_some(),
            version: self.version,
        };
        Ok(StoredIdp {
            idp,
            sealed_secret: self.sealed_secret,
        })
    }
}

pub fn insert(
    conn: &mut DbConn,
    idp: &IdentityProvider,
    sealed_secret: Option<String>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(identity_providers::table)
        .values(IdpRow {
            id: idp.id.to_string(),
            tenant_id: idp.tenant_id.to_string(),
            slug: idp.slug.clone(),
            kind: idp.kind.as_str().to_owned(),
            display_name: idp.display_name.clone(),
            enabled: idp.enabled,
            settings: serde_json::to_string(&idp.settings).expect("settings serialize"),
            sealed_secret,
            created_at: now,
            updated_at: now,
            version: idp.version,
        })
        .execute(conn)?;
    Ok(())
}

/// Writes name, enabled flag and settings; the secret too when `secret` is `Some` (`Some(None)`
/// removes it). Only if the row is still at `idp.version` (the version bumped): false when it
/// is gone, `Stale` when another write came first.
pub fn update(
    conn: &mut DbConn,
    idp: &IdentityProvider,
    secret: Option<Option<String>>,
    now: i64,
) -> Result<bool, StorageError> {
    let found = identity_providers::table
        .filter(identity_providers::id.eq(idp.id.to_string()))
        .filter(identity_providers::tenant_id.eq(idp.tenant_id.to_string()));
    let target = found
        .clone()
        .filter(identity_providers::version.eq(idp.version));
    let settings = serde_json::to_string(&idp.settings).expect("settings serialize");
    let n = match secret {
        Some(sealed) => diesel::update(target)
            .set((
                identity_providers::display_name.eq(&idp.display_name),
                identity_providers::enabled.eq(idp.enabled),
                identity_providers::settings.eq(settings),
                identity_providers::sealed_secret.eq(sealed),
                identity_providers::updated_at.eq(now),
                identity_providers::version.eq(identity_providers::version + 1),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                identity_providers::display_name.eq(&idp.display_name),
                identity_providers::enabled.eq(idp.enabled),
                identity_providers::settings.eq(settings),
                identity_providers::updated_at.eq(now),
                identity_providers::version.eq(identity_providers::version + 1),
            ))
            .execute(conn)?,
    };
    if n == 0 && found.count().get_result::<i64>(conn)? > 0 {
        return Err(StorageError::Stale);
    }
    Ok(n == 1)
}

/// Deletes a provider and (by cascade) the identities linked through it.
pub fn delete(conn: &mut DbConn, tenant: TenantId, id: IdpId) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        identity_providers::table
            .filter(identity_providers::id.eq(id.to_string()))
            .filter(identity_providers::tenant_id.eq(tenant.to_string())),
    )
    .execute(conn)?
        == 1)
}

pub fn find_by_slug(
    conn: &mut DbConn,
    tenant: TenantId,
    slug: &str,
) -> Result<Option<StoredIdp>, StorageError> {
    identity_providers::table
        .filter(identity_providers::tenant_id.eq(tenant.to_string()))
        .filter(identity_providers::slug.eq(slug))
        .select(IdpRow::as_select())
        .first(conn)
        .optional()?
        .map(IdpRow::into_domain)
        .transpose()
}

/// The tenant's providers, by slug.
pub fn list(conn: &mut DbConn, tenant: TenantId) -> Result<Vec<StoredIdp>, StorageError> {
    identity_providers::table
        .filter(identity_providers::tenant_id.eq(tenant.to_string()))
        .order(identity_providers::slug.asc())
        .select(IdpRow::as_select())
        .load(conn)?
        .into_iter()
        .map(IdpRow::into_domain)
        .collect()
}

/// A linked identity.
#[derive(Clone, Debug, Queryable, Insertable)]
#[diesel(table_name = federated_identities)]
pub struct IdentityRow {
    pub idp_id: String,
    pub subject: String,
    pub tenant_id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// The user an upstream identity is linked to, if any; marks it used.
pub fn user_of(
    conn: &mut DbConn,
    idp: IdpId,
    subject: &str,
    now: i64,
) -> Result<Option<UserId>, StorageError> {
    let found: Option<String> = diesel::update(
        federated_identities::table
            .filter(federated_identities::idp_id.eq(idp.to_string()))
            .filter(federated_identities::subject.eq(subject)),
    )
    .set(federated_identities::last_used_at.eq(now))
    .returning(federated_identities::user_id)
    .get_result(conn)
    .optional()?;
    found
        .map(|u| {
            u.parse()
                .map_err(|_| StorageError::Corrupt(format!("identity {subject}: user_id")))
        })
        .transpose()
}

/// Links an identity; false when that upstream identity is already linked (to anyone).
pub fn link(conn: &mut DbConn, row: &IdentityRow) -> Result<bool, StorageError> {
    Ok(super::upsert(
        conn,
        diesel::insert_into(federated_identities::table)
            .values(row)
            .on_conflict_do_nothing(),
    )? == 1)
}

/// Creates a user and links the identity in one transaction: when a concurrent first sign-in
/// of the same identity won, nothing is written and its user is returned instead.
pub fn create_linked(
    conn: &mut DbConn,
    user: &crate::domain::user::User,
    row: &IdentityRow,
) -> Result<Result<(), UserId>, StorageError> {
    let idp: IdpId = row
        .idp_id
        .parse()
        .map_err(|_| StorageError::Corrupt("idp id".into()))?;
    let result = super::write_transaction(conn, |conn| {
        super::users::insert(conn, user, None)?;
        if !link(conn, row)? {
            // Rolls the new user back with the transaction.
            return Err(StorageError::Conflict("identity"));
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(Ok(())),
        Err(StorageError::Conflict("identity")) => {
            match user_of(conn, idp, &row.subject, row.last_used_at)? {
                Some(winner) => Ok(Err(winner)),
                None => Err(StorageError::Conflict("identity")),
            }
        }
        Err(e) => Err(e),
    }
}

/// A user's linked identities with their provider's slug and name.
pub fn of_user(
    conn: &mut DbConn,
    user: UserId,
) -> Result<Vec<(IdentityRow, String, String)>, StorageError> {
    Ok(federated_identities::table
        .inner_join(identity_providers::table)
        .filter(federated_identities::user_id.eq(user.to_string()))
        .order(federated_identities::created_at.asc())
        .select((
            (
                federated_identities::idp_id,
                federated_identities::subject,
                federated_identities::tenant_id,
                federated_identities::user_id,
                federated_identities::email,
                federated_identities::created_at,
                federated_identities::last_used_at,
            ),
            identity_providers::slug,
            identity_providers::display_name,
        ))
        .load(conn)?)
}

/// Removes one of the user's identities; whether it existed.
pub fn unlink(
    conn: &mut DbConn,
    user: UserId,
    idp: IdpId,
    subject: &str,
) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        federated_identities::table
            .filter(federated_identities::user_id.eq(user.to_string()))
            .filter(federated_identities::idp_id.eq(idp.to_string()))
            .filter(federated_identities::subject.eq(subject)),
    )
    .execute(conn)?
        == 1)
}

/// The users linked to an upstream subject (upstream logout).
pub fn users_of_subject(
    conn: &mut DbConn,
    idp: IdpId,
    subject: &str,
) -> Result<Vec<String>, StorageError> {
    Ok(federated_identities::table
        .filter(federated_identities::idp_id.eq(idp.to_string()))
        .filter(federated_identities::subject.eq(subject))
        .select(federated_identities::user_id)
        .load(conn)?)
}
