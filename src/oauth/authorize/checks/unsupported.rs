//! Request objects and dynamic registration parameters are not supported and say so
//! (OIDC Core 3.1.2.6).

use super::{Draft, Env};
use crate::oauth::error::{ErrorCode, OAuthError};

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    if d.params.contains("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if d.params.contains("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    if d.params.contains("registration") {
        return Err(OAuthError::new(
            ErrorCode::RegistrationNotSupported,
            "registration is not supported",
        ));
    }
    Ok(())
}
