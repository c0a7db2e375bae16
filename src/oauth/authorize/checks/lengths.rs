//! Bounded values: `state`, `nonce` and `login_hint` are echoed or stored, so they have limits.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    for (name, max) in [
        ("state", 2048),
        ("nonce", 512),
        ("login_hint", 254),
        ("acr_values", 512),
    ] {
        if d.params.get(name).is_some_and(|v| v.len() > max) {
            if name == "state" {
                d.state = None;
            }
            return Err(OAuthError::invalid_request(format!(
                "{name} is too long (at most {max} bytes)"
            )));
        }
    }
    Ok(())
}
