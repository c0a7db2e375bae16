//! `response_type` must be `code` (no implicit or hybrid flows, RFC 9700 2.1.2).

use super::{Draft, Env};
use crate::oauth::error::{ErrorCode, OAuthError};

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    match d.params.get("response_type") {
        Some("code") => Ok(()),
        None => Err(OAuthError::invalid_request(
            "missing required parameter response_type",
        )),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}
