//! `grant_type=client_credentials`: a confidential client acting for itself. Scopes are the
//! client's allowed API scopes (never `openid` or `offline_access`); no refresh token.

use super::TokenResponse;
use super::mint::{Subject, mint};
use crate::context::Ctx;
use crate::domain::client::{Client, ClientKind};
use crate::domain::tenant::Tenant;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::scope::{OFFLINE_ACCESS, OPENID, Scope};

pub async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.kind != ClientKind::Confidential {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "only confidential clients may use client_credentials",
        ));
    }
    let allowed = Scope::from_list(&client.settings.scopes)
        .without(OPENID)
        .without(OFFLINE_ACCESS);
    let scope = match params.get("scope") {
        Some(raw) => {
            let requested = Scope::parse(raw)?;
            if let Some(s) = requested.iter().find(|s| !allowed.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {s} is not allowed for this client"
                )));
            }
            requested
        }
        None => allowed,
    };
    let subject = Subject {
        user_id: None,
        profile: None,
        sid: None,
        session_bound: false,
        grant_id: None,
        auth_time: None,
        amr: Vec::new(),
        acr: None,
        risk: None,
        groups: None,
    };
    let minted = mint(ctx, tenant, client, &subject, &scope, None, false).await?;
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        refresh_token: None,
        id_token: None,
        scope: scope.to_string(),
    })
}
