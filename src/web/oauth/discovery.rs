//! Discovery (`/.well-known/openid-configuration`, RFC 8414 metadata) and the JWKS, served from
//! pre-serialized caches with `Cache-Control` and (JWKS) an `ETag`; readable cross-origin.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ProtocolError, tenant};
use crate::oauth::error::OAuthError;
use crate::signing::JWKS_MAX_AGE_SECS;
use crate::web::state::AppState;

pub async fn openid_configuration(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let body = crate::oauth::discovery::metadata(&state.ctx, &tenant);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body.to_string()))
}

pub async fn jwks(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let keys = crate::signing::keys_for(&state.ctx, tenant.id)
        .await
        .map_err(|e| ProtocolError(OAuthError::from(e)))?;
    let cache = (
        "Cache-Control",
        format!("public, max-age={JWKS_MAX_AGE_SECS}"),
    );
    if req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == keys.etag)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header(cache)
            .insert_header(("ETag", keys.etag.clone()))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(cache)
        .insert_header(("ETag", keys.etag.clone()))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(keys.jwks.to_string()))
}
