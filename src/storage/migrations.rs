//! Embedded migrations, one set per engine, applied at start and by `watchword migrate`.

use diesel::RunQueryDsl;
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
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let result = apply(c, POSTGRES);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c)?;
            result
        }
    })
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
