//! `max_age`: a non-negative number of seconds since the user last signed in.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    if let Some(raw) = d.params.get("max_age") {
        let v: i64 =
            raw.parse().ok().filter(|v| *v >= 0).ok_or_else(|| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })?;
        d.max_age = Some(v);
    }
    Ok(())
}
