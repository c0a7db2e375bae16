//! A federated sign-in between leaving for the upstream provider and coming back: parked in the
//! session store for ten minutes under the SHA-256 of a random token that is both the `state`
//! (or SAML `RelayState`) sent upstream and a cookie in this browser, so the answer is bound to
//! the browser that started it, and used up (taken) when it comes back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Ctx;
use crate::crypto::{constant_time_eq, random, sha256_hex};
use crate::domain::ids::{IdpId, TenantId, UserId};
use crate::session_store::StoreError;

const TTL: Duration = Duration::from_secs(600);

/// Why the person went upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// To sign in.
    SignIn,
    /// A signed-in user (session `sid`) links another identity from the account page.
    Link { user: UserId, sid: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flow {
    pub tenant_id: TenantId,
    pub idp: IdpId,
    pub intent: Intent,
    /// A same-origin path to continue to afterwards.
    pub return_to: String,
    /// OIDC: the nonce and the PKCE verifier.
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub pkce_verifier: Option<String>,
    /// SAML: the AuthnRequest's ID (the response's `InResponseTo`).
    #[serde(default)]
    pub request_id: Option<String>,
}

fn key(token: &str) -> String {
    format!("fed:{}", sha256_hex(token.as_bytes()))
}

/// Parks a flow; returns its token (the `state` and the cookie's value).
pub async fn park(ctx: &Ctx, flow: &Flow) -> Result<String, StoreError> {
    let token = random::token();
    park_as(ctx, &token, flow).await?;
    Ok(token)
}

/// Parks a flow under a token made beforehand (sent upstream as `state`).
pub async fn park_as(ctx: &Ctx, token: &str, flow: &Flow) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(flow).expect("flows serialize");
    ctx.store.set(&key(token), &bytes, TTL).await
}

/// Takes the flow whose token came back as `state` if this browser's cookie holds the same
/// token: once only.
pub async fn take(
    ctx: &Ctx,
    state: &str,
    cookie: Option<&str>,
) -> Result<Option<Flow>, StoreError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    if state.is_empty()
        || state.len() > 128
        || !constant_time_eq(state.as_bytes(), cookie.as_bytes())
    {
        return Ok(None);
    }
    Ok(ctx
        .store
        .take(&key(state))
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// The flow parked under `token`, left in place (the SAML ACS reads the request ID it answers;
/// the browser's own request then takes it).
pub async fn peek(ctx: &Ctx, token: &str) -> Result<Option<Flow>, StoreError> {
    Ok(ctx
        .store
        .get(&key(token))
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}
