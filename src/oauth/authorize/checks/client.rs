//! `client_id` must name a client of this tenant that may use the authorization code grant.

use crate::context::Ctx;
use crate::domain::client::{Client, GrantType};
use crate::domain::tenant::Tenant;
use crate::oauth::clients;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;

pub async fn resolve(ctx: &Ctx, tenant: &Tenant, params: &Params) -> Result<Client, OAuthError> {
    let id = params.require("client_id")?;
    let client = clients::find(ctx, tenant, id)
        .await?
        .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?
        .client;
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    Ok(client)
}
