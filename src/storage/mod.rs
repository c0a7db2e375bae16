//! Durable storage with diesel over SQLite (embedded default) or PostgreSQL (production):
//! one schema, per-backend embedded migrations, an r2d2 pool, and queries run on the blocking
//! thread pool so they never stall the async workers. One repository file per table group.
//!
//! # Storage
//!
//! - **Durable** (database): tenants (policy as JSON with serde defaults, so new policy fields need no
//!   migration), users (normalized username/e-mail columns with unique indexes per tenant; the password
//!   hash never leaves `storage::users` inside a `User`), the audit log (a hash chain per tenant with
//!   its head in `audit_heads` and retention checkpoints in `audit_checkpoints`, migration
//!   `2026-12-07-000012_audit_chain`; see `storage::audit`), the retention jobs' last runs
//!   (`maintenance_runs`), setup tokens (hashed), clients
//!   (registration as JSON in `settings`, secret as a keyed digest), signing keys (private key sealed
//!   with AES-256-GCM, public JWK, schedule), refresh tokens (keyed digest, family, optional `sid`,
//!   `origin_sid`, used/revoked times; they must survive a Redis restart), grants (migration
//!   `2026-12-02-000005_grants`: one row per refresh-token family, with user, client, `origin_sid`,
//!   `offline`, scope, created and end times), remembered consents, and
//!   users' second factors (migration `2026-12-02-000004_mfa`, rows deleted with their user):
//!   `mfa_totp` (one per user: the seed sealed with AES-256-GCM, associated data
//!   `watchword/totp/<user id>`; `confirmed_at`, empty until the first valid code; `last_step`, the
//!   last accepted time step), `webauthn_credentials` (the credential as webauthn-rs serializes it,
//!   its base64url id, unique per tenant, name, `discoverable` (registered as a passkey),
//!   `backup_eligible`, `backup_state`, `sign_count`, created and last-used times) and
//!   `recovery_codes` (keyed digest, `used_at`).
//! - **Ephemeral** (session store): browser sessions `sess:<sid>` (the record holds the SHA-256 of
//!   the cookie's secret, not the secret), the per-user session index, the expiry index `sexp` for
//!   the sweep, each session's client list `sclients:<sid>`, `gone:<sid>` notes (why a session ended,
//!   with the holder's secret hash so only that browser reads them), waiting authorization requests
//!   `authz:<id>`, authorization codes `code:<sha256>` and their replay markers `code-used:`,
//!   revocation markers `rv:g:<grant>` and `rv:j:<jti>`, pending sign-ins `psi:<sha256 of the
//!   cookie's token>` (10 minutes; `auth::pending_signin`), WebAuthn ceremony state `wa:<sha256 of
//!   the handle>` (5 minutes, taken once; `auth::mfa::webauthn`), and the brute-force keys
//!   `bf:<tenant>:…` (per-hour failure counters, wait and lock end times, known networks, the
//!   once-a-minute audit marker, and for second-factor codes `bf:<tenant>:f:` per user, `fp:` per
//!   user and address, `fw:` the wait of a user and address; see `auth::throttle`). `gone:` notes of evicted sessions also carry `by` (device and
//!   coarse network, `domain::place`, of the sign-in that evicted them; never its address). Codes are redeemed with `take` (`GETDEL`), so a code
//!   is used once even under concurrent redemptions, and so are pending sign-ins and WebAuthn
//!   ceremonies. Session records are rewritten with
//!   `set_existing` (`SET … XX`), so a late write never brings back a session that was ended or
//!   evicted meanwhile.
//! - Refresh-token redemption is `storage::refresh_tokens::redeem`, one atomic step that checks the
//!   presented token and rotates it (marks it used, inserts its successor), or revokes the family when
//!   the token was already used. On PostgreSQL it is one statement, the PL/pgSQL function
//!   `ww_redeem_refresh` (migration `2026-11-23-000003_refresh_redeem`), which locks nothing ahead: it
//!   reads the token joined with its user, rotates with a conditional `UPDATE` (only if still unused
//!   and unrevoked), then inserts the successor. Of two redemptions of one token exactly one rotates;
//!   the other, and a rotation racing a revocation that committed first, re-reads the row and reports
//!   reuse (revoking the family) or revoked. Revoking a family (on reuse inside the function, in
//!   `revoke_family`, and in `revoke_families`, which `storage::grants::revoke` calls) makes two passes
//!   on PostgreSQL: a rotation in flight holds its token's row lock, the first pass waits for it, and
//!   the second, with a new snapshot, catches the successor it inserted. On SQLite the same steps run
//!   in one `IMMEDIATE` transaction (`storage::write_transaction`, which takes the write lock up front
//!   instead of failing with "database is locked" when a deferred transaction tries to write), and one
//!   pass is enough because SQLite has one writer. Redemptions and revocations run through `Db::write`,
//!   which on SQLite queues writers one at a time in the process. Each refresh token also records
//!   `origin_sid`, the browser session its grant was issued in (also for offline grants).
//! - Grants: `storage::grants::start` writes a family's `grants` row and its first refresh token in
//!   one transaction at the code exchange, with the grant's risk baseline (`risk_ip`,
//!   `risk_device`, which `refresh_tokens::redeem` returns with a rotated grant); rotations write
//!   only `refresh_tokens`. Listing a user's
//!   grants (`of_user`: families with an unused, unrevoked, unexpired token) and finding the
//!   families to revoke (`revoke` with `Whose::User` for a disabled account, `Client` for a deleted
//!   client, `UserClient` for a withdrawn access, `Session { sid, offline }` for an ended session,
//!   its offline grants only when it was ended against its holder) go through the table's indexes
//!   (`grants_user`, `grants_client`, `grants_origin_sid`), so `refresh_tokens` needs no index for
//!   them: the migration dropped `refresh_tokens_origin_sid` (one index fewer written per
//!   rotation) and filled `grants` from the existing families. The purge deletes grants a day after
//!   their family's absolute end, like their refresh tokens. After storing the grant, the code
//!   exchange looks at the session again and revokes the grant if the session ended meanwhile, so
//!   an ending that ran between the first check and the insert cannot miss it.
//! - One `schema.rs` for both engines, using portable types only: ids are UUIDv7 text, times are Unix
//!   seconds (`BIGINT`), JSON is text. `DbConn` is diesel's `#[derive(MultiConnection)]` enum; the r2d2
//!   manager (`storage/conn.rs`) opens the configured engine directly (SQLite gets WAL, foreign keys,
//!   `busy_timeout`). Migrations are per engine (`migrations/{sqlite,postgres}`), embedded, applied at
//!   start under a PostgreSQL advisory lock so replicas can start together.
//! - PostgreSQL connections get `SET statement_timeout` (and `lock_timeout`) from
//!   `database.statement_timeout_ms` / `lock_timeout_ms` when the pool opens them; a cancelled
//!   statement is `StorageError::Cancelled` (503, the connection is kept). Migrations and the
//!   single-statement purges (`without_statement_timeout`) run without these timeouts.
//! - Queries run on tokio's blocking pool (`Db::run`), never on the async workers. The pool opens
//!   connections lazily and tests them on checkout, so a database that comes back is used again without
//!   a restart.
//! - Redis: redis-rs `ConnectionManager` created lazily (start-up does not need Redis), reconnecting by
//!   itself; every command is bounded by `redis.timeout_ms`. Multi-step operations that must be
//!   atomic are Lua scripts (`INDEX_ADD`, `INCR_WITH_TTL`, `ADMIT_SESSION`). `ADMIT_SESSION` reads
//!   the record of every member of the user's index (to judge its liveness) and deletes the records
//!   of the sessions it evicts, by a key prefix passed as an argument, keys it does not declare: it
//!   needs one Redis server, not Redis Cluster. The in-process store does the same operations under
//!   its one mutex.
//! - Per-process caches (`cache.rs`): tenants and clients for 5 s, discovery documents for 60 s, CORS
//!   origins for 5 s, verified access tokens for 30 s; the key ring (`signing`) is reloaded every
//!   30 s. Writes made by this process remove the entry at once;
//!   writes by other processes (replicas, the CLI) are seen when the entry expires.

pub mod api_keys;
pub mod audit;
pub mod audit_query;
pub mod clients;
mod conn;
pub mod consents;
mod error;
pub mod factors;
pub mod grants;
pub mod idps;
pub mod invites;
pub mod mail_links;
pub mod maintenance;
pub mod migrations;
pub mod outbox;
pub mod refresh_tokens;
pub mod registrations;
pub mod risk;
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
            DatabaseBackend::Postgres => Manager::postgres(
                config.database_url().to_owned(),
                config.database.statement_timeout_ms,
                config.database.lock_timeout_ms,
            ),
        };
        let kind = match manager {
            Manager::Sqlite(_) => BackendKind::Sqlite,
            Manager::Postgres { .. } => BackendKind::Postgres,
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

/// Runs `f` without the statement and lock timeouts (`database.statement_timeout_ms`), for
/// maintenance that may rightly run long, such as a purge deleting a day of expired rows. On
/// PostgreSQL it is one transaction that begins with `SET LOCAL` (which ends with it); on SQLite
/// `f` just runs.
pub fn without_statement_timeout<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    if !matches!(conn, DbConn::Pg(_)) {
        return f(conn);
    }
    conn.transaction(|conn| {
        conn.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")?;
        f(conn)
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
