//! `POST /t/{tenant}/token`, `/introspect`, `/revoke`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ProtocolError, json_no_store, presented, read_form, tenant};
use crate::oauth;
use crate::web::state::AppState;

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let params = read_form(&state, &req, payload)
        .await
        .map_err(ProtocolError)?;
    let response = oauth::token::exchange(&state.ctx, &tenant, &presented(&req), &params)
        .await
        .map_err(ProtocolError)?;
    Ok(json_no_store(&response))
}

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let params = read_form(&state, &req, payload)
        .await
        .map_err(ProtocolError)?;
    let result = oauth::introspect::introspect(&state.ctx, &tenant, &presented(&req), &params)
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
    let params = read_form(&state, &req, payload)
        .await
        .map_err(ProtocolError)?;
    oauth::revoke::revoke(&state.ctx, &tenant, &presented(&req), &params)
        .await
        .map_err(ProtocolError)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}
