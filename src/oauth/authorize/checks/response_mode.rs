//! `response_mode`: `query` (default) or `form_post`, among those the client may use. among those the client may use.

use super::{Draft, Env};
use crate::domain::client::ResponseModeName;
use crate::oauth::authorize::ResponseMode;
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    let (mode, name) = match d.params.get("response_mode") {
        None | Some("query") => (ResponseMode::Query, ResponseModeName::Query),
        Some("form_post") => (ResponseMode::FormPost, ResponseModeName::FormPost),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "response_mode must be query or form_post",
            ));
        }
    };
    if !d.client.settings.response_modes.contains(&name) {
        return Err(OAuthError::invalid_request(
            "this response_mode is not allowed for the client",
        ));
    }
    d.response_mode = mode;
    Ok(())
}
