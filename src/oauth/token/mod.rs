//! The token endpoint (RFC 6749 section 3.2): authenticate the client, check it may use the
//! grant, dispatch to the grant's file.

pub mod authorization_code;
pub mod client_credentials;
pub mod mint;
pub mod refresh_token;

use serde::Serialize;

use super::clients::{self, Presented};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use crate::auth::continuous::Seen;
use crate::context::Ctx;
use crate::domain::client::GrantType;
use crate::domain::tenant::Tenant;

/// A successful token response (RFC 6749 section 5.1).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// Answers a token request made by `seen` (its address and user agent are a grant's risk
/// baseline at the code exchange, and compared with it at each refresh).
pub async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    presented: &Presented,
    params: &Params,
    seen: &Seen,
) -> Result<TokenResponse, OAuthError> {
    let grant = params.get("grant_type").and_then(GrantType::parse);
    let response = dispatch(ctx, tenant, presented, params, grant, seen).await;
    metrics::counter!(
        "watchword_token_requests_total",
        "tenant" => tenant.slug.to_string(),
        "grant" => grant.map_or("other", GrantType::as_str),
        "result" => match &response { Ok(_) => "success", Err(e) => e.code.as_str() },
    )
    .increment(1);
    response
}

async fn dispatch(
    ctx: &Ctx,
    tenant: &Tenant,
    presented: &Presented,
    params: &Params,
    grant: Option<GrantType>,
    seen: &Seen,
) -> Result<TokenResponse, OAuthError> {
    let grant_raw = params.require("grant_type")?;
    let grant = grant.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type is not supported",
        )
    })?;
    let client = clients::authenticate(ctx, tenant, presented, params).await?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client may not use the {grant_raw} grant"),
        ));
    }
    match grant {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(ctx, tenant, &client, params, seen).await
        }
        GrantType::RefreshToken => {
            refresh_token::exchange(ctx, tenant, &client, params, seen).await
        }
        GrantType::ClientCredentials => {
            client_credentials::exchange(ctx, tenant, &client, params).await
        }
    }
}
