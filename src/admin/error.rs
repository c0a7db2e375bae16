//! The admin layer's one error type; messages are fit to show to an operator.

use crate::crypto::password::HashError;
use crate::domain::password_policy::PasswordRejection;
use crate::domain::tenant::InvalidSlug;
use crate::domain::user::InvalidInput;
use crate::session_store::StoreError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    #[error("{0}")]
    InvalidSlug(#[from] InvalidSlug),
    #[error("invalid policy: `{0}` {1}")]
    InvalidPolicy(String, String),
    #[error("password rejected: {0}")]
    PasswordRejected(#[from] PasswordRejection),
    #[error("a {0} with that value already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(String),
    /// The record changed since the caller read it (a stale `If-Match`, or another write won).
    #[error("the record changed since it was read; read it again")]
    Stale,
    /// The caller's role or key does not hold the permission (named).
    #[error("this needs the {0} permission")]
    Forbidden(crate::domain::admin::Permission),
    /// A rule of administration refused the change (e.g. removing the last tenant admin).
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(StorageError),
    #[error(transparent)]
    Signing(crate::signing::SigningError),
}

impl From<crate::signing::SigningError> for AdminError {
    fn from(e: crate::signing::SigningError) -> Self {
        match e {
            crate::signing::SigningError::Storage(s) => s.into(),
            other => AdminError::Signing(other),
        }
    }
}

impl From<StorageError> for AdminError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(what) => AdminError::Conflict(what),
            StorageError::Stale => AdminError::Stale,
            other => AdminError::Storage(other),
        }
    }
}
