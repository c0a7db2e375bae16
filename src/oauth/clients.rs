//! Finding clients (from the cache) and authenticating them at the token, introspection and
//! revocation endpoints (RFC 6749 section 2.3): exactly one method, the one the client
//! registered, secrets compared as keyed digests in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::params::Params;
use crate::auth::throttle;
use crate::context::Ctx;
use crate::crypto::{constant_time_eq, secret_digest};
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::client::{Client, ClientAuthMethod, ClientKind};
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

/// Client credentials as presented: the `Authorization: Basic` header, if any, and the address
/// they came from (failed authentications are throttled per client and address).
#[derive(Default)]
pub struct Presented {
    pub basic: Option<String>,
    pub ip: Option<std::net::IpAddr>,
}

fn unauthorized() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))`.
pub fn decode_basic(header: &str) -> Result<(String, String), OAuthError> {
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
            (id, Some(secret), ClientAuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => (
            params
                .require("client_id")
                .map_err(|_| unauthorized())?
                .to_owned(),
            Some(secret.to_owned()),
            ClientAuthMethod::ClientSecretPost,
        ),
        (None, None) => (
            params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
                .to_owned(),
            None,
            ClientAuthMethod::None,
        ),
    };
    if let Some(ip) = presented.ip
        && let Some(wait) = throttle::check_client(ctx, tenant, &client_id, ip).await?
    {
        let event = AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::RequestRefused,
            "client_authentication_throttled",
            Actor::Anonymous,
        )
        .subject(format!("client:{client_id}"))
        .origin(Origin {
            ip: Some(ip.to_string()),
            ..Origin::default()
        })
        .details(serde_json::json!({ "retry_after": wait }));
        throttle::audit_refusal(ctx, tenant, &["client", &client_id, &ip.to_string()], event)
            .await?;
        return Err(OAuthError::throttled(wait));
    }
    let verified = verify(ctx, tenant, &client_id, secret, method).await?;
    if verified.is_none()
        && let Some(ip) = presented.ip
    {
        throttle::client_failed(ctx, tenant, &client_id, ip).await?;
    }
    verified.ok_or_else(unauthorized)
}

/// The client, if `secret` (or none, for a public client) authenticates it with `method`.
async fn verify(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    secret: Option<String>,
    method: ClientAuthMethod,
) -> Result<Option<Client>, OAuthError> {
    let Some(found) = find(ctx, tenant, client_id).await? else {
        return Ok(None);
    };
    let client = &found.client;
    if client.auth_method != method {
        return Ok(None);
    }
    Ok(match (client.kind, secret, &found.secret_digest) {
        (ClientKind::Public, None, _) => Some(found.client),
        (ClientKind::Confidential, Some(secret), Some(stored)) => {
            let presented = secret_digest(&ctx.keys.secret_hash, &secret);
            constant_time_eq(presented.as_bytes(), stored.as_bytes()).then_some(found.client)
        }
        _ => None,
    })
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
