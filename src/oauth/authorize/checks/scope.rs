//! `scope`: every scope must be allowed for the client.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;
use crate::oauth::scope::Scope;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    let scope = Scope::parse(d.params.get("scope").unwrap_or(""))?;
    if let Some(s) = scope.iter().find(|s| !d.client.allows_scope(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope {s} is not allowed for this client"
        )));
    }
    d.scope = scope;
    Ok(())
}
