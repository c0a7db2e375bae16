//! The error of the sign-in use cases (`super::signin`, `super::second_step`,
//! `super::session_start`, `super::pending_signin`): hashing busy, a store or database outage, or
//! an internal failure. The web layer maps it to HTTP in one place.

use crate::crypto::password::HashError;
use crate::session_store::StoreError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Busy(HashError),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StorageError> for SignInError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<HashError> for SignInError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy(e),
            HashError::Failed(m) => Self::Internal(m),
        }
    }
}
