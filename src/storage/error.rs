//! The storage layer's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (down, pool exhausted, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database aborted the transaction because of a concurrent one (deadlock, serialization
    /// failure); retrying may succeed. Answered like an outage (503), but the connection is fine.
    #[error("database contention: {0}")]
    Contention(String),
    /// A unique constraint refused the write; the string names the conflicting field.
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    /// A conditional update found the row changed since it was read (its version moved on).
    #[error("changed since it was read")]
    Stale,
    /// A schema migration failed to apply.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// Stored data could not be decoded (a bug or manual tampering).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Query(DieselError),
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StorageError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let where_ = format!(
                    "{} {}",
                    info.message(),
                    info.constraint_name().unwrap_or_default()
                );
                StorageError::Conflict(if where_.contains("email") {
                    "email"
                } else if where_.contains("username") {
                    "username"
                } else if where_.contains("slug") {
                    "slug"
                } else {
                    "record"
                })
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StorageError::Contention(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("deadlock detected") =>
            {
                StorageError::Contention(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StorageError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_connection_failure(info.message()) =>
            {
                StorageError::Unavailable(info.message().to_owned())
            }
            other => StorageError::Query(other),
        }
    }
}

/// libpq reports lost connections as unclassified errors; recognize them so callers can
/// answer "unavailable" (503) rather than "internal error".
fn is_connection_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("server closed the connection")
        || m.contains("connection refused")
        || m.contains("no connection to the server")
        || m.contains("terminating connection")
        || m.contains("could not receive data")
        || m.contains("could not send data")
        || m.contains("database is locked")
}

impl StorageError {
    /// Worth retrying later (503): an outage or contention.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StorageError::Unavailable(_) | StorageError::Contention(_)
        )
    }

    /// The connection itself failed (the pool retires it).
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }
}
