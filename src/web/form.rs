//! A strict `application/x-www-form-urlencoded` extractor: wrong content type, oversized bodies,
//! invalid UTF-8 (instead of silently replacing it) and repeated parameters are refused with a
//! clear error page before any handler runs.

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

impl<T: DeserializeOwned + 'static> FromRequest for StrictForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(64 * 1024, |s| s.max_body_bytes);
        let content_type_ok = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
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
                let chunk = chunk
                    .map_err(|_| PageError::bad_request("The request body could not be read."))?;
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
                })
            })?;
            serde_urlencoded::from_bytes::<T>(&body)
                .map(StrictForm)
                .map_err(|_| {
                    PageError::bad_request("The form is missing fields or is malformed.").into()
                })
        })
    }
}
