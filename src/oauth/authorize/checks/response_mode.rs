//! `response_mode`: `query` (default) or `form_post`.

use super::{Draft, Env};
use crate::oauth::authorize::ResponseMode;
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    d.response_mode = match d.params.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "response_mode must be query or form_post",
            ));
        }
    };
    Ok(())
}
