//! `POST /t/{tenant}/token`, `/introspect`, `/revoke`. Token and revocation answers carry CORS
//! headers for the tenant's registered browser origins.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::{ProtocolError, cors, json_no_store, presented, read_form, tenant};
use crate::oauth;
use crate::web::caller::Caller;
use crate::web::state::AppState;

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let presented = presented(&req);
    let seen = Caller::of(&req, &state.trusted_proxies).seen();
    let result = match read_form(&state, &req, payload).await {
        Ok(params) => oauth::token::exchange(&state.ctx, &tenant, &presented, &params, &seen).await,
        Err(e) => Err(e),
    };
    let mut res = match result {
        Ok(response) => json_no_store(&response),
        Err(e) => ProtocolError(e).error_response(),
    };
    cors::apply(&mut res, cors::origin(&state, &tenant, &req).await);
    Ok(res)
}

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let presented = presented(&req);
    let params = read_form(&state, &req, payload)
        .await
        .map_err(ProtocolError)?;
    let result = oauth::introspect::introspect(&state.ctx, &tenant, &presented, &params)
        .await
        .map_err(ProtocolError)?;
    Ok(json_no_store(&result))
}

pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let presented = presented(&req);
    let result = match read_form(&state, &req, payload).await {
        Ok(params) => oauth::revoke::revoke(&state.ctx, &tenant, &presented, &params).await,
        Err(e) => Err(e),
    };
    let mut res = match result {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(e) => ProtocolError(e).error_response(),
    };
    cors::apply(&mut res, cors::origin(&state, &tenant, &req).await);
    Ok(res)
}
