//! `GET|POST /t/{tenant}/userinfo` with a Bearer access token (RFC 6750: header, or form body on
//! POST; with the header, a body that is not a form is ignored); failures answer 401/403 with a
//! `WWW-Authenticate: Bearer` challenge.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{json_no_store, read_form, status_of, tenant};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::web::state::AppState;

fn challenge(e: &OAuthError) -> HttpResponse {
    let status = match e.code {
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        c => status_of(c),
    };
    let mut header = String::from("Bearer realm=\"watchword\"");
    if !matches!(
        e.code,
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable
    ) {
        header.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            e.code.as_str(),
            e.description.replace('"', "'")
        ));
    }
    let mut res = HttpResponse::build(status)
        .insert_header(("WWW-Authenticate", header))
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "error": e.code.as_str(), "error_description": e.description }));
    if status.is_server_error() {
        super::log(e);
        res.extensions_mut()
            .insert(crate::web::error::FailureLogged);
    }
    res
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get("authorization")?.to_str().ok()?;
    (v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ")).then(|| v[7..].trim().to_owned())
}

pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let tenant = tenant(&state, &path).await?;
    let from_header = bearer(&req);
    // The body is read for a token (RFC 6750 2.2) when it could carry one: a form body, or any
    // body of a request without the header (which then must be a form, or it is refused). A
    // request authenticated by the header (2.1) does not depend on its body, so another kind of
    // body (JSON, say) is ignored; a form body is still checked, so a token in both places is
    // an error.
    let from_body = if req.method() == actix_web::http::Method::POST
        && req.headers().contains_key("content-type")
        && (from_header.is_none() || crate::web::form::is_form_urlencoded(&req))
    {
        match read_form(&state, &req, payload).await {
            Ok(p) => p.get("access_token").map(str::to_owned),
            Err(e) => return Ok(challenge(&e)),
        }
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Ok(challenge(&OAuthError::invalid_request(
                "send the access token in one place only",
            )));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            // RFC 6750 3.1: no error code when the request carried no credentials at all.
            return Ok(HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer realm=\"watchword\""))
                .json(serde_json::json!({ "error": "invalid_token", "error_description": "an access token is required" })));
        }
    };
    let mut res = match crate::oauth::userinfo::userinfo(&state.ctx, &tenant, &token).await {
        Ok(claims) => json_no_store(&claims),
        Err(e) => challenge(&e),
    };
    super::cors::apply(&mut res, super::cors::origin(&state, &tenant, &req).await);
    Ok(res)
}
