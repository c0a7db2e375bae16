//! `prompt`: `none`, `login`, `consent` (`select_account` is treated as `login`); `none` cannot
//! be combined with anything.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    let Some(raw) = d.params.get("prompt") else {
        return Ok(());
    };
    for value in raw.split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => d.prompt.none = true,
            "login" | "select_account" => d.prompt.login = true,
            "consent" => d.prompt.consent = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported prompt value {other}"
                )));
            }
        }
    }
    if d.prompt.none && (d.prompt.login || d.prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(())
}
