//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). With a valid `id_token_hint`
//! for the signed-in user the session ends at once; otherwise the user confirms first, so a link
//! on another site cannot sign anyone out. `post_logout_redirect_uri` must be registered for the
//! client (exact match) or there is no redirect at all.

use super::error::OAuthError;
use super::params::Params;
use super::tokens::{self, IdClaims};
use crate::context::Ctx;
use crate::domain::client::Client;
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;

/// The validated logout request.
#[derive(Debug)]
pub struct EndSession {
    pub client: Option<Client>,
    /// Where to send the browser afterwards (with `state`), if the client asked and may.
    pub redirect: Option<String>,
    /// The hint named the signed-in user's session: no confirmation needed.
    pub confirmed_by_hint: bool,
}

pub async fn validate(
    ctx: &Ctx,
    tenant: &Tenant,
    params: &Params,
    session: Option<&BrowserSession>,
) -> Result<EndSession, OAuthError> {
    let hint: Option<IdClaims> = match params.get("id_token_hint") {
        Some(raw) => {
            let keys = crate::signing::keys_for(ctx, tenant.id).await?;
            Some(
                tokens::verify(
                    &keys,
                    &super::issuer(ctx, tenant),
                    raw,
                    &["jwt"],
                    ctx.clock.unix(),
                    true,
                )
                .map_err(|_| {
                    OAuthError::invalid_request(
                        "id_token_hint is not a valid ID token from this issuer",
                    )
                })?,
            )
        }
        None => None,
    };
    let client_id = match (&hint, params.get("client_id")) {
        (Some(h), Some(c)) if h.aud != c => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the id_token_hint",
            ));
        }
        (Some(h), _) => Some(h.aud.clone()),
        (None, c) => c.map(str::to_owned),
    };
    let client = match &client_id {
        Some(id) => Some(
            super::clients::find(ctx, tenant, id)
                .await?
                .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?
                .client,
        ),
        None => None,
    };
    let redirect = match params.get("post_logout_redirect_uri") {
        Some(uri) => {
            let c = client.as_ref().ok_or_else(|| {
                OAuthError::invalid_request(
                    "post_logout_redirect_uri needs an id_token_hint or client_id",
                )
            })?;
            if !c.post_logout_uri_registered(uri) {
                return Err(OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            Some(with_state(uri, params.get("state")))
        }
        None => None,
    };
    let confirmed_by_hint = match (&hint, session) {
        (Some(h), Some(s)) => {
            h.sub == s.user_id.to_string() && h.sid.as_deref().is_none_or(|sid| sid == s.sid)
        }
        _ => false,
    };
    Ok(EndSession {
        client,
        redirect,
        confirmed_by_hint,
    })
}

fn with_state(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("state", s)
                .finish();
            format!("{uri}{sep}{q}")
        }
        None => uri.to_owned(),
    }
}
