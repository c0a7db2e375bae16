//! `redirect_uri` must be registered for the client (exact match; loopback port may vary). It
//! may be left out only when the client registered exactly one.

use crate::domain::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;

/// The redirect URI to answer to, and whether the request named it.
pub fn resolve(client: &Client, params: &Params) -> Result<(String, bool), OAuthError> {
    match params.get("redirect_uri") {
        Some(uri) if client.redirect_uri_registered(uri) => Ok((uri.to_owned(), true)),
        Some(_) => Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client",
        )),
        None => match client.settings.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            _ => Err(OAuthError::invalid_request(
                "missing required parameter redirect_uri",
            )),
        },
    }
}
