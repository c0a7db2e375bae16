//! PKCE (RFC 7636): S256 only; required for public clients and, by default, for confidential ones.

use super::{Draft, Env};
use crate::oauth::error::OAuthError;

pub fn check(d: &mut Draft, _: &Env) -> Result<(), OAuthError> {
    let challenge = d.params.get("code_challenge");
    let method = d.params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if d.client.pkce_required() => Err(OAuthError::invalid_request(
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        )),
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None | Some("plain")) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (plain is not allowed)",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (Some(c), Some(_)) => {
            let valid = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(OAuthError::invalid_request(
                    "code_challenge must be a base64url SHA-256 digest (43 characters)",
                ));
            }
            d.code_challenge = Some(c.to_owned());
            Ok(())
        }
    }
}
