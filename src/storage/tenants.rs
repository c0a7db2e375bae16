//! Tenant rows.

use diesel::prelude::*;

use super::schema::tenants;
use super::{DbConn, StorageError};
use crate::clock::from_unix;
use crate::domain::ids::TenantId;
use crate::domain::tenant::{Tenant, TenantPolicy, TenantSlug};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
struct TenantRow {
    id: String,
    slug: String,
    display_name: String,
    policy: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl TenantRow {
    fn from_domain(t: &Tenant) -> Result<Self, StorageError> {
        Ok(Self {
            id: t.id.to_string(),
            slug: t.slug.to_string(),
            display_name: t.display_name.clone(),
            policy: serde_json::to_string(&t.policy)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            created_at: t.created_at.timestamp(),
            updated_at: t.updated_at.timestamp(),
            version: t.version,
        })
    }

    fn into_domain(self) -> Result<Tenant, StorageError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StorageError::Corrupt(format!("tenant {}: {what}: {e}", self.id))
        };
        Ok(Tenant {
            id: self.id.parse().map_err(|e| corrupt("id", &e))?,
            slug: TenantSlug::parse(&self.slug).map_err(|e| corrupt("slug", &e))?,
            policy: serde_json::from_str::<TenantPolicy>(&self.policy)
                .map_err(|e| corrupt("policy", &e))?,
            display_name: self.display_name,
            created_at: from_unix(self.created_at),
            updated_at: from_unix(self.updated_at),
            version: self.version,
        })
    }
}

pub fn insert(conn: &mut DbConn, tenant: &Tenant) -> Result<(), StorageError> {
    diesel::insert_into(tenants::table)
        .values(TenantRow::from_domain(tenant)?)
        .execute(conn)?;
    Ok(())
}

/// Writes display name and policy, if the row is still at `tenant.version` (the version
/// bumped): `Stale` when another write came first, `NotFound` when it is gone.
pub fn update(conn: &mut DbConn, tenant: &Tenant) -> Result<(), StorageError> {
    let row = TenantRow::from_domain(tenant)?;
    let n = diesel::update(
        tenants::table
            .find(&row.id)
            .filter(tenants::version.eq(row.version)),
    )
    .set((
        tenants::display_name.eq(&row.display_name),
        tenants::policy.eq(&row.policy),
        tenants::updated_at.eq(row.updated_at),
        tenants::version.eq(tenants::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        let exists: i64 = tenants::table.find(&row.id).count().get_result(conn)?;
        return Err(if exists == 0 {
            StorageError::NotFound
        } else {
            StorageError::Stale
        });
    }
    Ok(())
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<Tenant>, StorageError> {
    tenants::table
        .filter(tenants::slug.eq(slug))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(TenantRow::into_domain)
        .transpose()
}

pub fn find_by_id(conn: &mut DbConn, id: TenantId) -> Result<Option<Tenant>, StorageError> {
    tenants::table
        .find(id.to_string())
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(TenantRow::into_domain)
        .transpose()
}

pub fn list(conn: &mut DbConn) -> Result<Vec<Tenant>, StorageError> {
    tenants::table
        .order(tenants::slug.asc())
        .select(TenantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TenantRow::into_domain)
        .collect()
}

/// Takes the tenant row's write lock for the rest of the transaction (a row lock on PostgreSQL;
/// on SQLite the write transaction already holds the database's one write lock), so checks
/// across a tenant's rows ("the last tenant admin") and the write after them are one step.
pub fn lock(conn: &mut DbConn, tenant: TenantId) -> Result<(), StorageError> {
    let id = tenant.to_string();
    diesel::update(tenants::table.find(&id))
        .set(tenants::id.eq(&id))
        .execute(conn)?;
    Ok(())
}
