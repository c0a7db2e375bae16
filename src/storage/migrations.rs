//! Embedded migrations, one set per engine, applied at start and by `watchword migrate`.
//!
//! On PostgreSQL they run without a statement or lock timeout: the pooled connection's
//! `statement_timeout` (`database.statement_timeout_ms`) bounds request queries, and a migration
//! rewriting a big table, or a replica waiting for another one's migration lock, must not be cut
//! short by it. The connection's settings are restored afterwards.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Db, DbConn, StorageError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary constant naming Watchword's PostgreSQL advisory lock, so replicas starting together
/// apply migrations one at a time.
const MIGRATION_LOCK: i64 = 0x5741_5443_4857_4f52; // "WATCHWOR"

/// Applies pending migrations; returns the names of those applied.
pub fn run(db: &Db) -> Result<Vec<String>, StorageError> {
    db.run_blocking(|conn| match conn {
        DbConn::Sqlite(c) => apply(c, SQLITE),
        DbConn::Pg(c) => {
            let saved = (
                setting(c, "statement_timeout")?,
                setting(c, "lock_timeout")?,
            );
            c.batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")?;
            let result = locked(c);
            restore(c, "statement_timeout", &saved.0)?;
            restore(c, "lock_timeout", &saved.1)?;
            result
        }
    })
}

/// Applies the PostgreSQL migrations under the advisory lock (waiting for it as long as it takes).
fn locked(c: &mut diesel::PgConnection) -> Result<Vec<String>, StorageError> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
    let result = apply(c, POSTGRES);
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c)?;
    result
}

/// The session's current value of a PostgreSQL setting.
fn setting(c: &mut diesel::PgConnection, name: &str) -> Result<String, StorageError> {
    Ok(diesel::select(
        diesel::dsl::sql::<Text>("current_setting(")
            .bind::<Text, _>(name)
            .sql(")"),
    )
    .get_result(c)?)
}

/// Sets a PostgreSQL setting back to `value` for the rest of the session.
fn restore(c: &mut diesel::PgConnection, name: &str, value: &str) -> Result<(), StorageError> {
    diesel::select(
        diesel::dsl::sql::<Text>("set_config(")
            .bind::<Text, _>(name)
            .sql(", ")
            .bind::<Text, _>(value)
            .sql(", false)"),
    )
    .execute(c)?;
    Ok(())
}

fn apply<C>(conn: &mut C, set: EmbeddedMigrations) -> Result<Vec<String>, StorageError>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    let applied = conn
        .run_pending_migrations(set)
        .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}
