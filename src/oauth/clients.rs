//! Finding clients (from the cache) and authenticating them at the token, introspection and
//! revocation endpoints (RFC 6749 section 2.3): exactly one method, the one the client
//! registered, secrets compared as keyed digests in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::params::Params;
use crate::context::Ctx;
use crate::crypto::{constant_time_eq, secret_digest};
use crate::domain::client::{AuthMethod, Client, ClientKind};
use crate::domain::tenant::Tenant;
use crate::storage::{self, clients::ClientWithSecret};

/// Looks a client up by id (cached for a few seconds).
pub async fn find(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
) -> Result<Option<ClientWithSecret>, OAuthError> {
    let key = (tenant.id, client_id.to_owned());
    if let Some(c) = ctx.cache.clients.get(&key) {
        return Ok(Some(c));
    }
    let (tenant_id, id) = (tenant.id, client_id.to_owned());
    let found = ctx
        .db
        .run(move |c| storage::clients::find(c, tenant_id, &id))
        .await?;
    if let Some(c) = &found {
        ctx.cache.clients.insert(key, c.clone());
    }
    Ok(found)
}

/// Client credentials as presented: the `Authorization: Basic` header, if any.
#[derive(Default)]
pub struct Presented {
    pub basic: Option<String>,
}

fn unauthorized() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))`.
fn decode_basic(header: &str) -> Result<(String, String), OAuthError> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or_else(|| OAuthError::invalid_client("unsupported authorization scheme"))?;
    let raw = STANDARD
        .decode(encoded.trim())
        .map_err(|_| unauthorized())?;
    let raw = String::from_utf8(raw).map_err(|_| unauthorized())?;
    let (id, secret) = raw.split_once(':').ok_or_else(unauthorized)?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| unauthorized())
    };
    Ok((decode(id)?, decode(secret)?))
}

/// Authenticates the client of a back-channel request.
pub async fn authenticate(
    ctx: &Ctx,
    tenant: &Tenant,
    presented: &Presented,
    params: &Params,
) -> Result<Client, OAuthError> {
    let post_secret = params.get("client_secret");
    let (client_id, secret, method) = match (&presented.basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        (Some(header), None) => {
            let (id, secret) = decode_basic(header)?;
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            (id, Some(secret), AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => (
            params
                .require("client_id")
                .map_err(|_| unauthorized())?
                .to_owned(),
            Some(secret.to_owned()),
            AuthMethod::ClientSecretPost,
        ),
        (None, None) => (
            params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
                .to_owned(),
            None,
            AuthMethod::None,
        ),
    };
    let found = find(ctx, tenant, &client_id)
        .await?
        .ok_or_else(unauthorized)?;
    let client = &found.client;
    if client.auth_method != method {
        return Err(unauthorized());
    }
    match (client.kind, secret, &found.secret_digest) {
        (ClientKind::Public, None, _) => Ok(found.client),
        (ClientKind::Confidential, Some(secret), Some(stored)) => {
            let presented = secret_digest(&ctx.keys.secret_hash, &secret);
            if constant_time_eq(presented.as_bytes(), stored.as_bytes()) {
                Ok(found.client)
            } else {
                Err(unauthorized())
            }
        }
        _ => Err(unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%3Aapp:s%2Bcr+t"));
        assert_eq!(
            decode_basic(&header).unwrap(),
            ("my:app".into(), "s+cr t".into())
        );
        assert!(decode_basic("Bearer x").is_err());
        assert!(decode_basic("Basic !!!").is_err());
    }
}
