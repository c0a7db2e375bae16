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
    /// PostgreSQL cancelled a statement (`statement_timeout` or `lock_timeout` reached, or an
    /// operator cancelled it; SQLSTATE 57014 or 55P03). Answered like an outage (503), but the
    /// connection is fine and stays in the pool.
    #[error("database statement cancelled: {0}")]
    Cancelled(String),
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
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_cancellation(info.message()) =>
            {
                StorageError::Cancelled(info.message().to_owned())
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

/// A statement the server cancelled while the session goes on: "canceling statement due to
/// statement timeout" (SQLSTATE 57014), "… lock timeout" (55P03), "… user request" (57014,
/// `pg_cancel_backend`). diesel does not expose the SQLSTATE, so the (English) message is matched,
/// as for connection failures. "terminating connection …" is a connection failure instead.
fn is_cancellation(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("canceling statement due to")
}

impl StorageError {
    /// Worth retrying later (503): an outage, contention or a cancelled (timed-out) statement.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StorageError::Unavailable(_) | StorageError::Contention(_) | StorageError::Cancelled(_)
        )
    }

    /// The connection itself failed (the pool retires it).
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(message: &str) -> StorageError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned())).into()
    }

    #[test]
    fn cancelled_statements_are_unavailable_but_keep_their_connection() {
        for message in [
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
            "canceling statement due to user request",
        ] {
            let e = unknown(message);
            assert!(matches!(e, StorageError::Cancelled(_)), "{message}: {e:?}");
            assert!(e.is_unavailable(), "{message}: answered 503");
            assert!(
                !e.is_connection_failure(),
                "{message}: the connection is kept"
            );
        }
        let lost = unknown("terminating connection due to administrator command");
        assert!(lost.is_connection_failure());
        assert!(matches!(
            unknown("syntax error at or near \"SELEC\""),
            StorageError::Query(_)
        ));
    }
}
