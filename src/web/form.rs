//! A strict `application/x-www-form-urlencoded` extractor: wrong content type, oversized bodies,
//! invalid UTF-8 (instead of silently replacing it) and repeated parameters are refused with a
//! clear error page before any handler runs.

use std::collections::HashSet;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::state::AppState;

/// A form body of type `T`, parsed strictly.
pub struct StrictForm<T>(pub T);

#[derive(Debug, PartialEq, Eq)]
pub enum FormProblem {
    InvalidUtf8,
    Duplicate(String),
}

/// Decodes every name and value and refuses invalid UTF-8 and repeated names.
pub fn validate(body: &[u8]) -> Result<(), FormProblem> {
    let mut seen = HashSet::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = decode(parts.next().unwrap_or_default())?;
        decode(parts.next().unwrap_or_default())?;
        if !seen.insert(name.clone()) {
            return Err(FormProblem::Duplicate(name.chars().take(40).collect()));
        }
    }
    Ok(())
}

fn decode(raw: &[u8]) -> Result<String, FormProblem> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormProblem::InvalidUtf8)
}

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
            validate(&body).map_err(|p| {
                PageError::bad_request(match p {
                    FormProblem::InvalidUtf8 => {
                        "The form contains characters that are not valid UTF-8.".to_owned()
                    }
                    FormProblem::Duplicate(n) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_validation() {
        assert_eq!(validate(b"a=1&b=h%C3%A9+x"), Ok(()));
        assert_eq!(validate(b"a=%FF"), Err(FormProblem::InvalidUtf8));
        assert_eq!(
            validate(b"a=1&a=2"),
            Err(FormProblem::Duplicate("a".into()))
        );
        assert_eq!(
            validate(b"a%20b=1&a+b=2"),
            Err(FormProblem::Duplicate("a b".into()))
        );
        assert_eq!(validate(b""), Ok(()));
    }
}
