//! Client rows: identity columns plus the registration (`ClientSettings`) as JSON, and the keyed
//! digest of the secret (never the secret).

use diesel::prelude::*;

use super::schema::clients;
use super::{DbConn, StorageError};
use crate::clock::from_unix;
use crate::domain::client::{Client, ClientAuthMethod, ClientKind, ClientSettings};
use crate::domain::ids::TenantId;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    tenant_id: String,
    client_id: String,
    name: String,
    kind: String,
    auth_method: String,
    secret_hash: Option<String>,
    settings: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// A client with the digest of its secret, for authentication.
#[derive(Clone)]
pub struct ClientWithSecret {
    pub client: Client,
    pub secret_digest: Option<String>,
}

impl std::fmt::Debug for ClientWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientWithSecret")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn kind_str(k: ClientKind) -> &'static str {
    match k {
        ClientKind::Confidential => "confidential",
        ClientKind::Public => "public",
    }
}

impl ClientRow {
    fn from_domain(c: &Client, secret_hash: Option<String>) -> Result<Self, StorageError> {
        Ok(Self {
            id: c.pk.clone(),
            tenant_id: c.tenant_id.to_string(),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            kind: kind_str(c.kind).into(),
            auth_method: c.auth_method.as_str().into(),
            secret_hash,
            settings: serde_json::to_string(&c.settings)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            created_at: c.created_at.timestamp(),
            updated_at: c.updated_at.timestamp(),
            version: c.version,
        })
    }

    fn into_domain(self) -> Result<ClientWithSecret, StorageError> {
        let corrupt =
            |what: &str| StorageError::Corrupt(format!("client {}: {what}", self.client_id));
        let client = Client {
            tenant_id: self.tenant_id.parse().map_err(|_| corrupt("tenant_id"))?,
            kind: match self.kind.as_str() {
                "confidential" => ClientKind::Confidential,
                "public" => ClientKind::Public,
                _ => return Err(corrupt("kind")),
            },
            auth_method: ClientAuthMethod::parse(&self.auth_method)
                .map_err(|_| corrupt("auth_method"))?,
            settings: serde_json::from_str::<ClientSettings>(&self.settings)
                .map_err(|_| corrupt("settings"))?,
            pk: self.id,
            client_id: self.client_id,
            name: self.name,
            created_at: from_unix(self.created_at),
            updated_at: from_unix(self.updated_at),
            version: self.version,
        };
        Ok(ClientWithSecret {
            client,
            secret_digest: self.secret_hash,
        })
    }
}

pub fn insert(
    conn: &mut DbConn,
    client: &Client,
    secret_digest: Option<String>,
) -> Result<(), StorageError> {
    diesel::insert_into(clients::table)
        .values(ClientRow::from_domain(client, secret_digest)?)
        .execute(conn)?;
    Ok(())
}

/// Writes name, kind, auth method and settings, if the row is still at `client.version` (the
/// version bumped): `Stale` when another write came first, `NotFound` when it is gone.
pub fn update(conn: &mut DbConn, client: &Client) -> Result<(), StorageError> {
    let row = ClientRow::from_domain(client, None)?;
    let n = diesel::update(
        clients::table
            .find(&row.id)
            .filter(clients::version.eq(row.version)),
    )
    .set((
        clients::name.eq(&row.name),
        clients::kind.eq(&row.kind),
        clients::auth_method.eq(&row.auth_method),
        clients::settings.eq(&row.settings),
        clients::updated_at.eq(row.updated_at),
        clients::version.eq(clients::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        let exists: i64 = clients::table.find(&row.id).count().get_result(conn)?;
        return Err(if exists == 0 {
            StorageError::NotFound
        } else {
            StorageError::Stale
        });
    }
    Ok(())
}

pub fn set_secret_digest(
    conn: &mut DbConn,
    pk: &str,
    digest: Option<&str>,
    now: i64,
) -> Result<(), StorageError> {
    let n = diesel::update(clients::table.find(pk))
        .set((
            clients::secret_hash.eq(digest),
            clients::updated_at.eq(now),
            clients::version.eq(clients::version + 1),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub fn find(
    conn: &mut DbConn,
    tenant: TenantId,
    client_id: &str,
) -> Result<Option<ClientWithSecret>, StorageError> {
    clients::table
        .filter(clients::tenant_id.eq(tenant.to_string()))
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

pub fn list(conn: &mut DbConn, tenant: TenantId) -> Result<Vec<Client>, StorageError> {
    clients::table
        .filter(clients::tenant_id.eq(tenant.to_string()))
        .order(clients::client_id.asc())
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| r.into_domain().map(|c| c.client))
        .collect()
}

pub fn delete(conn: &mut DbConn, tenant: TenantId, client_id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        clients::table
            .filter(clients::tenant_id.eq(tenant.to_string()))
            .filter(clients::client_id.eq(client_id)),
    )
    .execute(conn)?
        == 1)
}
