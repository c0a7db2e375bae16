//! CSRF protection for every form (signed double-submit): the browser holds a random cookie, and
//! each form carries an HMAC of it under a key derived from the master key. A cross-site page can
//! neither read the cookie nor compute the token. `Origin` and `Sec-Fetch-Site` are checked too
//! when the browser sends them. The cookie is replaced at sign-in and sign-out.

use actix_web::HttpRequest;
use actix_web::cookie::Cookie;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::cookies;
use super::error::PageError;
use super::state::AppState;
use crate::crypto::{hmac_sha256, hmac_sha256_verify, random};

/// The token to embed in a form, and the cookie to set if the browser had none.
pub struct CsrfIssue {
    pub token: String,
    pub cookie: Option<Cookie<'static>>,
}

fn token_for(state: &AppState, cookie_value: &str) -> String {
    let tag = hmac_sha256(
        &state.ctx.keys.csrf,
        format!("csrf:{cookie_value}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(tag)
}

/// The form token for this browser (creating its CSRF cookie if needed).
pub fn issue(state: &AppState, req: &HttpRequest) -> CsrfIssue {
    match req.cookie(cookies::csrf_name(state.https)) {
        Some(c) if c.value().len() >= 32 => CsrfIssue {
            token: token_for(state, c.value()),
            cookie: None,
        },
        _ => fresh(state),
    }
}

/// A page built with this browser's form token, carrying the CSRF cookie if one was created.
pub fn with_token(
    state: &AppState,
    req: &HttpRequest,
    page: impl FnOnce(&str) -> actix_web::HttpResponse,
) -> actix_web::HttpResponse {
    let issue = issue(state, req);
    let mut res = page(&issue.token);
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

/// A new CSRF cookie and its token (used at sign-in and sign-out so tokens do not outlive them).
pub fn fresh(state: &AppState) -> CsrfIssue {
    let value = random::token();
    CsrfIssue {
        token: token_for(state, &value),
        cookie: Some(cookies::build(
            state.https,
            cookies::csrf_name(state.https).to_owned(),
            value,
        )),
    }
}

/// Checks a submitted form token against this browser's cookie and the request's origin.
pub fn verify(state: &AppState, req: &HttpRequest, submitted: &str) -> Result<(), PageError> {
    check_origin(state, req)?;
    let cookie = req
        .cookie(cookies::csrf_name(state.https))
        .ok_or_else(PageError::csrf)?;
    let tag = URL_SAFE_NO_PAD
        .decode(submitted.as_bytes())
        .map_err(|_| PageError::csrf())?;
    let data = format!("csrf:{}", cookie.value());
    if hmac_sha256_verify(&state.ctx.keys.csrf, data.as_bytes(), &tag) {
        Ok(())
    } else {
        Err(PageError::csrf())
    }
}

/// Refuses form posts that the browser says come from another site. The `Origin` must be the
/// public origin or the origin the browser addressed (its `Host`), e.g. `http://127.0.0.1:8080`
/// while `public_url` says `localhost`: a cross-site page controls neither header.
fn check_origin(state: &AppState, req: &HttpRequest) -> Result<(), PageError> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(PageError::csrf());
    }
    if let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) {
        let info = req.connection_info();
        let addressed = format!("{}://{}", info.scheme(), info.host());
        if origin != state.public_origin && !origin.eq_ignore_ascii_case(&addressed) {
            return Err(PageError::csrf());
        }
    }
    Ok(())
}
