//! Validating an authorization request: running the check pipeline over the parameters.
//! The first two checks (client, redirect URI) fail with an error page; once the redirect URI is
//! trusted, every later failure is reported back to the client.

use super::checks::{self, Draft, Env};
use super::types::{AuthorizeError, AuthorizeRequest, ResponseMode};
use crate::context::Ctx;
use crate::domain::tenant::Tenant;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;

/// Runs every check over `params`.
pub async fn validate(
    ctx: &Ctx,
    tenant: &Tenant,
    params: Params,
) -> Result<AuthorizeRequest, AuthorizeError> {
    validate_with_repeats(ctx, tenant, params, &[]).await
}

/// Like [`validate`], for a request in which the parameters `repeated` appeared more than once:
/// an error page if they include `client_id` or `redirect_uri` (the redirect cannot be trusted),
/// otherwise `invalid_request` back to the client (without `state` if that was repeated).
pub async fn validate_with_repeats(
    ctx: &Ctx,
    tenant: &Tenant,
    params: Params,
    repeated: &[String],
) -> Result<AuthorizeRequest, AuthorizeError> {
    let repeated_error = |name: &str| {
        OAuthError::invalid_request(format!("parameter {name} was included more than once"))
    };
    if let Some(name) = repeated
        .iter()
        .find(|n| *n == "client_id" || *n == "redirect_uri")
    {
        return Err(AuthorizeError::Page(repeated_error(name)));
    }
    let client = checks::client::resolve(ctx, tenant, &params)
        .await
        .map_err(AuthorizeError::Page)?;
    let (redirect_uri, given) =
        checks::redirect_uri::resolve(&client, &params).map_err(AuthorizeError::Page)?;
    if let Some(name) = repeated.first() {
        let was_repeated = |n: &str| repeated.iter().any(|r| r == n);
        let mode = match params.get("response_mode") {
            Some("form_post") if !was_repeated("response_mode") => ResponseMode::FormPost,
            _ => ResponseMode::Query,
        };
        return Err(AuthorizeError::Redirect {
            redirect_uri,
            response_mode: mode,
            state: params
                .get("state")
                .filter(|_| !was_repeated("state"))
                .map(str::to_owned),
            error: repeated_error(name),
        });
    }
    let keys = if params.contains("id_token_hint") {
        Some(
            crate::signing::keys_for(ctx, tenant.id)
                .await
                .map_err(|e| AuthorizeError::Page(e.into()))?,
        )
    } else {
        None
    };
    let env = Env {
        issuer: crate::oauth::issuer(ctx, tenant),
        now: ctx.clock.unix(),
        keys,
    };
    let mut draft = Draft::new(client, redirect_uri, given, params);
    for check in checks::PIPELINE {
        if let Err(error) = check(&mut draft, &env) {
            return Err(AuthorizeError::Redirect {
                redirect_uri: draft.redirect_uri.clone(),
                response_mode: draft.response_mode,
                state: draft.state.clone(),
                error,
            });
        }
    }
    Ok(draft.finish())
}
