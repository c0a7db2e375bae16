//! SAML 2.0 for people's browsers: the ACS (the IdP's cross-site POST, no cookies: verified,
//! then a same-site redirect so the flow cookie can prove the browser), the continuation that
//! signs in, our metadata per provider (`/t/{t}/saml/{idp}/metadata`), and single logout from
//! the IdP (HTTP-Redirect).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{query_escape, see_other};
use crate::federation;
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::StrictQuery;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;

/// The largest ACS body accepted (a response with a few certificates and many attributes).
pub const ACS_MAX_BYTES: usize = 400 * 1024;

pub async fn acs(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let fields = crate::urlencoded::decode_map(&body).map_err(|_| {
        PageError::bad_request("The identity provider's answer is not a valid form.")
    })?;
    let response = fields
        .get("SAMLResponse")
        .ok_or_else(|| PageError::bad_request("The identity provider sent no SAMLResponse."))?;
    let relay_state = fields.get("RelayState").map_or("", String::as_str);
    let slug = &path.1;
    let id = federation::saml_acs(
        &state.ctx,
        &tenant,
        slug,
        response,
        relay_state,
        &client.origin(),
    )
    .await?;
    Ok(see_other(&format!(
        "/t/{}/idp/{slug}/saml/continue?id={}",
        tenant.slug,
        query_escape(&id)
    )))
}

#[derive(Deserialize)]
pub struct ContinueQuery {
    id: String,
}

pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    query: StrictQuery<ContinueQuery>,
) -> Result<HttpResponse, PageError> {
    let jar = super::federation::BrowserCookies::of(&state, &req, &tenant);
    let landing = federation::saml_return(
        &state.ctx,
        &tenant,
        &path.1,
        &query.id,
        jar.arrival(&client),
    )
    .await?;
    super::federation::finish(&state, &req, &tenant, &client, landing).await
}

pub async fn metadata(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    let stored = federation::any_provider(&state.ctx, &tenant, &path.1).await?;
    let xml = federation::saml_flow::metadata(&state.ctx, &tenant, &stored)
        .map_err(|_| PageError::not_found())?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(xml))
}

/// Single logout from the IdP: its signed LogoutRequest ends the sessions it names; the
/// LogoutResponse goes back to it.
pub async fn single_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
) -> Result<HttpResponse, PageError> {
    let stored = federation::any_provider(&state.ctx, &tenant, &path.1).await?;
    // The IdP's answer to our own LogoutRequest (sent when a session ended here): nothing to
    // do but show the signed-out page.
    if req
        .query_string()
        .split('&')
        .any(|p| p.starts_with("SAMLResponse="))
    {
        return Ok(see_other(&crate::web::paths::signed_out(&tenant.slug)));
    }
    let (back, _) = federation::saml_logout::single_logout(
        &state.ctx,
        &tenant,
        &stored,
        req.query_string(),
        client.origin(),
    )
    .await?;
    Ok(match back {
        Some(url) => see_other(&url),
        None => HttpResponse::build(StatusCode::OK)
            .content_type("text/plain; charset=utf-8")
            .body("Signed out."),
    })
}
