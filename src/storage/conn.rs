//! The connection type over both engines and the r2d2 manager that opens it with the right
//! per-engine settings (SQLite: WAL, foreign keys, busy timeout; PostgreSQL: the configured
//! `statement_timeout` and `lock_timeout`). Pooled connections remember
//! when they last worked and whether they failed at the connection level, so the pool drops dead
//! connections (after a database restart) without a `SELECT 1` before every use.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

/// One connection to whichever database is configured.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// A pooled connection with its health.
pub struct PooledConn {
    pub conn: DbConn,
    last_ok: Instant,
    broken: bool,
}

impl PooledConn {
    /// Records the outcome of a use: a connection-level failure retires the connection.
    pub fn note(&mut self, ok: bool, connection_failure: bool) {
        if ok {
            self.last_ok = Instant::now();
        } else if connection_failure {
            self.broken = true;
        }
    }
}

/// A connection that worked this recently is handed out without a liveness query.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// Opens connections for the pool. Knows its engine from the configuration, so it never has to
/// guess from the URL by trying each driver.
#[derive(Debug)]
pub(super) enum Manager {
    Sqlite(String),
    Postgres {
        url: String,
        /// Session settings run on each new connection (empty: none).
        setup: String,
    },
}

impl Manager {
    /// A PostgreSQL manager whose connections cancel statements after `statement_timeout_ms`
    /// and lock waits after `lock_timeout_ms` (0: not set, the role's or server's default
    /// applies).
    pub(super) fn postgres(url: String, statement_timeout_ms: u64, lock_timeout_ms: u64) -> Self {
        let mut setup = String::new();
        if statement_timeout_ms > 0 {
            setup.push_str(&format!("SET statement_timeout = {statement_timeout_ms};"));
        }
        if lock_timeout_ms > 0 {
            setup.push_str(&format!("SET lock_timeout = {lock_timeout_ms};"));
        }
        Manager::Postgres { url, setup }
    }
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
    type Connection = PooledConn;
    type Error = ManagerError;

    fn connect(&self) -> Result<PooledConn, ManagerError> {
        let conn = match self {
            Manager::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_SETUP)?;
                DbConn::Sqlite(conn)
            }
            Manager::Postgres { url, setup } => {
                let mut conn = PgConnection::establish(url)?;
                if !setup.is_empty() {
                    conn.batch_execute(setup)?;
                }
                DbConn::Pg(conn)
            }
        };
        Ok(PooledConn {
            conn,
            last_ok: Instant::now(),
            broken: false,
        })
    }

    fn is_valid(&self, c: &mut PooledConn) -> Result<(), ManagerError> {
        if c.broken {
            return Err(ManagerError::Query(
                diesel::result::Error::BrokenTransactionManager,
            ));
        }
        if c.last_ok.elapsed() > TRUSTED_FOR {
            c.conn.batch_execute("SELECT 1")?;
            c.last_ok = Instant::now();
        }
        Ok(())
    }

    fn has_broken(&self, c: &mut PooledConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        c.broken || c.conn.is_broken()
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
