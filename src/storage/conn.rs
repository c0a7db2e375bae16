//! The connection type over both engines and the r2d2 manager that opens it with the right
//! per-engine settings (SQLite: WAL, foreign keys, busy timeout).

use diesel::connection::SimpleConnection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

/// One connection to whichever database is configured.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Opens connections for the pool. Knows its engine from the configuration, so it never has to
/// guess from the URL by trying each driver.
#[derive(Debug)]
pub(super) enum Manager {
    Sqlite(String),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ManagerError {
    #[error("{0}")]
    Connect(#[from] ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
}

const SQLITE_SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ManagerError;

    fn connect(&self) -> Result<DbConn, ManagerError> {
        match self {
            Manager::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_SETUP)?;
                Ok(DbConn::Sqlite(conn))
            }
            Manager::Postgres(url) => Ok(DbConn::Pg(PgConnection::establish(url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ManagerError> {
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

/// Sends pool errors (failed connection attempts) to the log instead of stderr.
#[derive(Debug)]
pub(super) struct LogErrors;

impl r2d2::HandleError<ManagerError> for LogErrors {
    fn handle_error(&self, error: ManagerError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}
