//! `id_token_hint`: an ID token we issued (possibly expired) to this client; its subject must be
//! the signed-in user, or the user must sign in.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;
use crate::oauth::tokens::{self, IdClaims};

pub fn check(d: &mut Draft, env: &Env) -> Result<(), OAuthError> {
    let Some(hint) = d.params.get("id_token_hint") else {
        return Ok(());
    };
    let keys = env
        .keys
        .as_ref()
        .ok_or_else(|| OAuthError::server_error("keys not loaded"))?;
    let claims: IdClaims = tokens::verify(keys, &env.issuer, hint, &["jwt"], env.now, true)
        .map_err(|_| {
            OAuthError::invalid_request("id_token_hint is not a valid ID token from this issuer")
        })?;
    if claims.aud != d.client.client_id {
        return Err(OAuthError::invalid_request(
            "id_token_hint was issued to another client",
        ));
    }
    d.id_token_hint_sub = Some(claims.sub);
    Ok(())
}
