//! The HTTP side of the protocol endpoints. Protocol errors become HTTP here and only here:
//! JSON bodies per RFC 6749 5.2 with `Cache-Control: no-store`, 401 + `WWW-Authenticate` for
//! client-authentication failures, error pages for authorization requests that cannot be trusted
//! with a redirect.

pub mod authorize;
pub mod cors;
pub mod discovery;
pub mod end_session;
pub mod token;
pub mod userinfo;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use super::error::PageError;
use super::state::AppState;
use crate::domain::tenant::Tenant;
use crate::oauth::clients::Presented;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;

/// An OAuth error answered as JSON.
#[derive(Debug)]
pub struct ProtocolError(pub OAuthError);

impl From<OAuthError> for ProtocolError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Logs a protocol error: failures (`server_error`, `temporarily_unavailable`) at error level
/// with their cause and the request id, refusals at info.
pub fn log(e: &OAuthError) {
    let status = status_of(e.code);
    if status.is_server_error() {
        super::error::log_failure(
            status.as_u16(),
            e.code.as_str(),
            e.detail.as_deref().unwrap_or(&e.description),
        );
    } else {
        tracing::info!(error = e.code.as_str(), description = %e.description, "protocol request refused");
    }
}

impl ResponseError for ProtocolError {
    fn status_code(&self) -> StatusCode {
        if self.0.retry_after.is_some() {
            return StatusCode::TOO_MANY_REQUESTS;
        }
        status_of(self.0.code)
    }

    fn error_response(&self) -> HttpResponse {
        log(&self.0);
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        if self.0.code == ErrorCode::InvalidClient {
            res.insert_header((
                "WWW-Authenticate",
                "Basic realm=\"watchword\", charset=\"UTF-8\"",
            ));
        }
        if let Some(secs) = self.0.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        } else if self.0.code == ErrorCode::TemporarilyUnavailable {
            res.insert_header(("Retry-After", "5"));
        }
        let mut res = res.json(serde_json::json!({
            "error": self.0.code.as_str(),
            "error_description": self.0.description,
        }));
        res.extensions_mut().insert(super::error::FailureLogged);
        res
    }
}

/// The tenant of a protocol endpoint; an unknown one is a JSON 404.
pub async fn tenant(state: &AppState, slug: &str) -> Result<Tenant, actix_web::Error> {
    match super::people::load_tenant(state, slug).await {
        Ok(t) => Ok(t),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            Err(
                super::error::ApiError::new(StatusCode::NOT_FOUND, "not_found", "unknown tenant")
                    .into(),
            )
        }
        Err(e) => Err(ProtocolError(OAuthError::unavailable(e.detail.unwrap_or_default())).into()),
    }
}

/// Reads an `application/x-www-form-urlencoded` body strictly (size limit, UTF-8, no repeats).
pub async fn read_form(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Params, OAuthError> {
    Params::parse(&read_body(state, req, payload).await?)
}

/// Reads an `application/x-www-form-urlencoded` body up to the size limit.
pub async fn read_body(
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<web::Bytes, OAuthError> {
    let form = crate::web::form::is_form_urlencoded(req);
    if !form {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let limit = state.max_body_bytes;
    let too_large = || OAuthError::invalid_request("the request body is too large");
    if req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The client credentials of the `Authorization` header.
pub fn presented(req: &HttpRequest) -> Presented {
    let trusted = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|s| s.trusted_proxies.clone())
        .unwrap_or_default();
    Presented {
        ip: Some(crate::web::caller::client_ip(req, &trusted)),
        basic: req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
            .map(|v| format!("Basic {}", &v[6..])),
    }
}

/// A JSON answer of a protocol endpoint: never cached.
pub fn json_no_store(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(body)
}

/// An authorization request that cannot be answered by redirect: an error page.
pub fn page_error(e: &OAuthError) -> PageError {
    log(e);
    PageError::new(
        StatusCode::BAD_REQUEST,
        "Invalid sign-in request",
        format!(
            "The application sent an invalid sign-in request ({}: {}). Go back to the application and try again.",
            e.code.as_str(),
            e.description
        ),
    )
}
