//! Strict `application/x-www-form-urlencoded` extractors: wrong content type, oversized bodies,
//! invalid UTF-8 (instead of silently replacing it), repeated and too many parameters are refused
//! with a clear error page before any handler runs; [`CheckedForm`] also checks the CSRF token.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::state::AppState;
use crate::urlencoded::Problem;

/// A form body of type `T`, parsed strictly.
pub struct StrictForm<T>(pub T);

/// A form body of type `T`, parsed strictly, whose `csrf_token` field was checked against this
/// browser's CSRF cookie and the request's origin (`web::csrf`) before the handler runs.
pub struct CheckedForm<T>(pub T);

/// A form that carries nothing but its CSRF token (`CheckedForm<Nothing>`).
#[derive(serde::Deserialize)]
pub struct Nothing {}

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf_token: String,
}

/// Whether the request says its body is `application/x-www-form-urlencoded` (parameters such as
/// `charset` allowed).
pub fn is_form_urlencoded(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The body of a form post, read within the size limit and checked by `urlencoded` (content type,
/// UTF-8, no repeated names, at most `MAX_PARAMS` fields).
fn checked_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::BytesMut, actix_web::Error>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(64 * 1024, |s| s.max_body_bytes);
    let content_type_ok = is_form_urlencoded(req);
    let declared_too_large = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit);
    let mut payload = payload.take();
    Box::pin(async move {
        if !content_type_ok {
            return Err(PageError::unsupported_media_type().into());
        }
        if declared_too_large {
            return Err(PageError::payload_too_large().into());
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|_| PageError::bad_request("The request body could not be read."))?;
            if body.len() + chunk.len() > limit {
                return Err(PageError::payload_too_large().into());
            }
            body.extend_from_slice(&chunk);
        }
        crate::urlencoded::decode_pairs(&body).map_err(|p| {
            PageError::bad_request(match p {
                Problem::InvalidUtf8 => {
                    "The form contains characters that are not valid UTF-8.".to_owned()
                }
                Problem::Duplicate(n) => {
                    format!("The form field {n:?} was sent more than once.")
                }
                Problem::TooMany => "The form has too many fields.".to_owned(),
            })
        })?;
        Ok(body)
    })
}

fn deserialize<T: DeserializeOwned>(body: &[u8]) -> Result<T, actix_web::Error> {
    serde_urlencoded::from_bytes::<T>(body)
        .map_err(|_| PageError::bad_request("The form is missing fields or is malformed.").into())
}

impl<T: DeserializeOwned + 'static> FromRequest for StrictForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = checked_body(req, payload);
        Box::pin(async move { deserialize(&body.await?).map(StrictForm) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CheckedForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = checked_body(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            // Without the field the form is malformed (400), with a wrong one it is forged (403).
            let token = deserialize::<CsrfField>(&body)?.csrf_token;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| PageError::internal("no application state"))?;
            super::csrf::verify(state, &req, &token)?;
            deserialize(&body).map(CheckedForm)
        })
    }
}

/// A query string of type `T`, parsed as strictly as [`StrictForm`] (invalid UTF-8 and repeated
/// parameters are refused with a clear error page).
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned> StrictQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for StrictQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for StrictQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query = req.query_string();
        let parsed = crate::urlencoded::decode_pairs(query.as_bytes())
            .map_err(|p| match p {
                Problem::InvalidUtf8 => PageError::bad_request(
                    "The address contains characters that are not valid UTF-8.",
                ),
                Problem::Duplicate(n) => PageError::bad_request(format!(
                    "The address parameter {n:?} was given more than once."
                )),
                Problem::TooMany => PageError::bad_request("The address has too many parameters."),
            })
            .and_then(|_| {
                serde_urlencoded::from_str::<T>(query)
                    .map_err(|_| PageError::bad_request("The address contains invalid parameters."))
            });
        std::future::ready(parsed.map(StrictQuery).map_err(Into::into))
    }
}
