//! Durable storage with diesel over SQLite (embedded default) or PostgreSQL (production):
//! one schema, per-backend embedded migrations, an r2d2 pool, and queries run on the blocking
//! thread pool so they never stall the async workers. One repository file per table group.

pub mod audit;
pub mod clients;
mod conn;
pub mod consents;
mod error;
pub mod factors;
pub mod grants;
pub mod migrations;
pub mod refresh_tokens;
pub mod schema;
pub mod setup_tokens;
pub mod signing_keys;
pub mod tenants;
pub mod users;

use std::time::Duration;

pub use conn::DbConn;
pub use error::StorageError;

use crate::config::{Config, DatabaseBackend};
use conn::Manager;

/// Handle to the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: BackendKind,
    /// SQLite has one writer at a time; queueing writers here is fairer and faster than
    /// SQLite's sleep-and-retry busy handler. `None` for PostgreSQL.
    writer: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// Which engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl Db {
    /// Builds the pool. Connections are opened on demand, so a database that is down at this
    /// moment is reported by the first query (and `/readyz`) rather than here.
    pub fn connect(config: &Config) -> Result<Self, StorageError> {
        let backend = config
            .database_backend()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let manager = match &backend {
            DatabaseBackend::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StorageError::Unavailable(format!(
                            "cannot create database directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                Manager::Sqlite(path.display().to_string())
            }
            DatabaseBackend::Postgres => Manager::Postgres(config.database_url().to_owned()),
        };
        let kind = match manager {
            Manager::Sqlite(_) => BackendKind::Sqlite,
            Manager::Postgres(_) => BackendKind::Postgres,
        };
        let pool = r2d2::Pool::builder()
            .max_size(config.database.pool_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(config.database.connect_timeout_secs))
            .test_on_check_out(true)
            .error_handler(Box::new(conn::LogErrors))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            backend: kind,
            writer: (kind == BackendKind::Sqlite)
                .then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1))),
        })
    }

    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
            let result = f(&mut conn.conn);
            conn.note(
                result.is_ok(),
                matches!(&result, Err(e) if e.is_connection_failure()),
            );
            result
        })
        .await
        .map_err(|e| StorageError::Unavailable(format!("database task failed: {e}")))?
    }

    /// Like [`Db::run`], for work that writes: on SQLite, writers queue here one at a time.
    pub async fn write<F, T>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = match &self.writer {
            Some(w) => Some(
                w.acquire()
                    .await
                    .map_err(|_| StorageError::Unavailable("closing".into()))?,
            ),
            None => None,
        };
        self.run(f).await
    }

    /// Runs `f` synchronously (for the command-line tool, which has no async workers to protect).
    pub fn run_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let result = f(&mut conn.conn);
        conn.note(
            result.is_ok(),
            matches!(&result, Err(e) if e.is_connection_failure()),
        );
        result
    }

    /// A trivial query: is the database reachable right now?
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// Executes an upsert (`INSERT … ON CONFLICT …`) on whichever engine the connection is: diesel's
/// multi-connection backend cannot express `ON CONFLICT`, each engine's can. Returns the number
/// of rows written (0 when `DO NOTHING` found a conflict).
pub fn upsert<Q>(conn: &mut DbConn, query: Q) -> Result<usize, StorageError>
where
    Q: diesel::query_dsl::methods::ExecuteDsl<diesel::PgConnection>
        + diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>,
{
    use diesel::query_dsl::methods::ExecuteDsl;
    Ok(match conn {
        DbConn::Pg(c) => ExecuteDsl::<diesel::PgConnection>::execute(query, c)?,
        DbConn::Sqlite(c) => ExecuteDsl::<diesel::SqliteConnection>::execute(query, c)?,
    })
}

/// Runs `f` in a transaction that writes. On SQLite it begins `IMMEDIATE`, taking the write lock
/// up front: a deferred transaction that reads first and writes later fails with "database is
/// locked" (no retry) when another connection (the CLI, a replica's job) wrote in between.
/// Inside another transaction it is a savepoint.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    let nested = AnsiTransactionManager::transaction_manager_status_mut(&mut *sqlite)
        .transaction_depth()?
        .is_some();
    if nested {
        return conn.transaction(f); // a savepoint inside the caller's transaction
    }
    AnsiTransactionManager::begin_transaction_sql(&mut *sqlite, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConn::Sqlite(sqlite) = conn else {
        return result; // not reached: a connection does not change engine
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(&mut *sqlite)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(&mut *sqlite)?;
            Err(e)
        }
    }
}
