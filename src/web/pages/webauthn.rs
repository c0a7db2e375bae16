//! The JSON halves of the WebAuthn ceremonies, for `static/js/webauthn.js`: a security key or
//! passkey as the second factor of a pending sign-in, registering one during sign-in or on the
//! account page, and signing in with a passkey alone. Requests carry the page's CSRF token in
//! `X-CSRF-Token`; answers are `{"handle", "options"}` to start and `{"redirect"}` when done, with
//! the same cookies a form post would set.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{started_response, throttled_message};
use super::mfa::{Current, current, finished_response};
use crate::auth::mfa::changes::{self, Change, Changed, Permission};
use crate::auth::mfa::{FactorError, webauthn};
use crate::auth::pending_signin;
use crate::auth::second_step::{self, Outcome, PasskeySignIn, Proof};
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::{ApiError, PageError};
use crate::web::people::PeopleTenant;
use crate::web::return_to;
use crate::web::state::AppState;

fn api(e: impl std::fmt::Display, status: StatusCode) -> actix_web::Error {
    ApiError::new(status, "invalid_request", e.to_string()).into()
}

fn factor_api_error(e: FactorError) -> actix_web::Error {
    match e {
        // The cause (a database or Redis error) goes to the log, never to the browser.
        FactorError::Storage(_) | FactorError::Store(_) => page_api_error(PageError::from(e)),
        FactorError::UnknownCredential => api(e, StatusCode::UNAUTHORIZED),
        other => api(other, StatusCode::BAD_REQUEST),
    }
}

fn page_api_error(e: PageError) -> actix_web::Error {
    let error = if e.status == StatusCode::SERVICE_UNAVAILABLE {
        "temporarily_unavailable"
    } else if e.status.is_server_error() {
        "server_error"
    } else {
        "invalid_request"
    };
    let mut api = ApiError::new(e.status, error, e.message);
    api.detail = e.detail;
    api.into()
}

/// JSON requests carry the page's CSRF token in `X-CSRF-Token`.
fn json_csrf(state: &AppState, req: &HttpRequest) -> Result<(), actix_web::Error> {
    let token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    csrf::verify(state, req, token).map_err(page_api_error)
}

/// The `credential` of a finishing request, as webauthn-rs reads it.
fn credential<T: serde::de::DeserializeOwned>(
    raw: serde_json::Value,
) -> Result<T, actix_web::Error> {
    serde_json::from_value(raw).map_err(|e| {
        api(
            format!("malformed credential: {e}"),
            StatusCode::BAD_REQUEST,
        )
    })
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, actix_web::Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| api(format!("malformed request: {e}"), StatusCode::BAD_REQUEST))
}

#[derive(Deserialize)]
struct StartBody {
    #[serde(default)]
    kind: Option<webauthn::Kind>,
}

#[derive(Deserialize)]
struct FinishBody {
    handle: String,
    credential: serde_json::Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    return_to: String,
}

async fn json_current(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Current, actix_web::Error> {
    current(state, req, tenant)
        .await
        .map_err(page_api_error)?
        .ok_or_else(|| api("the sign-in expired; start again", StatusCode::UNAUTHORIZED))
}

/// A pending sign-in that must set a factor up (the user has none at all): only such a sign-in
/// may register a credential without proving one first.
async fn json_enrolling(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Current, actix_web::Error> {
    let cur = json_current(state, req, tenant).await?;
    if cur.pending.need != pending_signin::NeedState::Enrolment {
        return Err(api(
            "prove your second factor first; new ones are added on the account page",
            StatusCode::FORBIDDEN,
        ));
    }
    Ok(cur)
}

pub async fn verify_webauthn_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    let cur = json_current(&state, &req, &tenant).await?;
    let (options, handle) = webauthn::start_authentication(&state.ctx, &tenant, &cur.user)
        .await
        .map_err(factor_api_error)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "handle": handle, "options": options })))
}

pub async fn verify_webauthn_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    let cur = json_current(&state, &req, &tenant).await?;
    let input: FinishBody = body(&bytes)?;
    let credential = credential(input.credential)?;
    let proof = Proof::WebAuthn {
        handle: &input.handle,
        credential: &credential,
    };
    prove_json(&state, &req, &tenant, &client, &cur, proof).await
}

/// Runs a WebAuthn proof through the sign-in engine and answers in JSON.
async fn prove_json(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Caller,
    cur: &Current,
    proof: Proof<'_>,
) -> Result<HttpResponse, actix_web::Error> {
    let outcome = second_step::prove(
        &state.ctx,
        tenant,
        &cur.token,
        &cur.pending,
        &cur.user,
        proof,
        client.ip,
        &client.origin(),
    )
    .await
    .map_err(|e| page_api_error(e.into()))?;
    match outcome {
        Outcome::Finished { finished, .. } => {
            let answer = finished_response(state, req, tenant, client, cur, finished, None)
                .await
                .map_err(page_api_error)?;
            Ok(answer.json())
        }
        Outcome::Throttled { retry_after } => {
            let mut res = HttpResponse::TooManyRequests().json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": throttled_message(retry_after).replace("sign-in attempts", "attempts"),
            }));
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            Ok(res)
        }
        Outcome::Wrong(msg) => Err(api(msg, StatusCode::BAD_REQUEST)),
        Outcome::NotOffered(msg) => Err(api(msg, StatusCode::FORBIDDEN)),
        Outcome::PasswordConfirmed => Err(api("enter your password first", StatusCode::FORBIDDEN)),
    }
}

pub async fn enrol_webauthn_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    let cur = json_enrolling(&state, &req, &tenant).await?;
    let input: StartBody = body(&bytes)?;
    let kind = input.kind.unwrap_or(webauthn::Kind::SecurityKey);
    let (options, handle) = webauthn::start_registration(&state.ctx, &tenant, &cur.user, kind)
        .await
        .map_err(factor_api_error)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "handle": handle, "options": options })))
}

pub async fn enrol_webauthn_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    let cur = json_enrolling(&state, &req, &tenant).await?;
    let input: FinishBody = body(&bytes)?;
    let credential = credential(input.credential)?;
    let proof = Proof::EnrolWebAuthn {
        handle: &input.handle,
        name: &input.name,
        credential: &credential,
    };
    prove_json(&state, &req, &tenant, &client, &cur, proof).await
}

pub async fn passkey_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    if !tenant.policy.mfa.enabled() {
        return Err(api("passkeys are not enabled here", StatusCode::FORBIDDEN));
    }
    let (options, handle) = webauthn::start_passwordless(&state.ctx, &tenant)
        .await
        .map_err(factor_api_error)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "handle": handle, "options": options })))
}

pub async fn passkey_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    json_csrf(&state, &req)?;
    let input: FinishBody = body(&bytes)?;
    let credential = credential(input.credential)?;
    let request = crate::auth::signin::SessionRequest {
        origin: client.origin(),
        replaces_session: super::session_token(&state, &req, &tenant),
        end_other_sessions: false,
        risk: None,
        via: None,
    };
    let device = req
        .cookie(&crate::web::cookies::device_name(state.https, &tenant.slug))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() <= 256);
    let (user, started) = match second_step::passkey_sign_in(
        &state.ctx,
        &tenant,
        &input.handle,
        &credential,
        &request,
        device.as_deref(),
    )
    .await
    .map_err(|e| page_api_error(e.into()))?
    {
        PasskeySignIn::Started { user, started } => (user, started),
        PasskeySignIn::Refused(e) => return Err(factor_api_error(e)),
        PasskeySignIn::Disabled => {
            return Err(api(super::login::ACCOUNT_DISABLED, StatusCode::FORBIDDEN));
        }
        PasskeySignIn::Blocked => {
            return Err(api(super::login::SIGN_IN_BLOCKED, StatusCode::FORBIDDEN));
        }
    };
    let back = return_to::safe_path(&input.return_to).unwrap_or("");
    let res = started_response(
        &state,
        &req,
        &tenant,
        &client.origin(),
        &user,
        started,
        back,
        None,
    )
    .await
    .map_err(page_api_error)?;
    Ok(res.json())
}

// ---- Registering a security key or passkey on the account page ----

/// The signed-in user behind a JSON request (CSRF checked).
async fn json_user(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<(BrowserSession, User), actix_web::Error> {
    json_csrf(state, req)?;
    match super::factors::signed_in(state, req, tenant).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(api("sign in first", StatusCode::UNAUTHORIZED)),
        Err(e) => Err(page_api_error(e)),
    }
}

pub async fn key_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (session, user) = json_user(&state, &req, &tenant).await?;
    match changes::permission(&state.ctx, &tenant, &session, &user, Change::Add)
        .await
        .map_err(factor_api_error)?
    {
        Permission::Allowed => {}
        Permission::Refused(why) => return Err(api(why, StatusCode::FORBIDDEN)),
        Permission::ConfirmFirst => {
            return Ok(HttpResponse::Ok().json(serde_json::json!({
                "redirect": super::factors::confirm_first_path(&tenant)
            })));
        }
    }
    let input: StartBody = body(&bytes)?;
    let kind = input.kind.unwrap_or(webauthn::Kind::SecurityKey);
    let (options, handle) = webauthn::start_registration(&state.ctx, &tenant, &user, kind)
        .await
        .map_err(factor_api_error)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "handle": handle, "options": options })))
}

pub async fn key_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (session, user) = json_user(&state, &req, &tenant).await?;
    let input: FinishBody = body(&bytes)?;
    let credential = credential(input.credential)?;
    let changed = changes::register_key(
        &state.ctx,
        &tenant,
        &session,
        &user,
        (&input.handle, &input.name),
        &credential,
        &client.origin(),
    )
    .await
    .map_err(factor_api_error)?;
    let back = crate::web::paths::security(&tenant.slug);
    let to = match changed {
        Changed::Done(_) => format!("{back}?done=key"),
        Changed::ConfirmFirst => super::factors::confirm_first_path(&tenant),
        Changed::Refused(why) => return Err(api(why, StatusCode::FORBIDDEN)),
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "redirect": to })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_store::StoreError;
    use crate::storage::StorageError;

    async fn body(e: actix_web::Error) -> (u16, String) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let bytes = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// A storage failure during a WebAuthn JSON call answers 503 `temporarily_unavailable` with a
    /// message for people; the cause (addresses, driver text) stays in the log.
    #[actix_web::test]
    async fn storage_failures_do_not_leak_their_cause() {
        for e in [
            FactorError::Storage(StorageError::Unavailable(
                "connection refused: 10.1.2.3:5432 (pq: FATAL)".into(),
            )),
            FactorError::Store(StoreError::Unavailable(
                "connection refused: 10.1.2.3:6379".into(),
            )),
        ] {
            let (status, text) = body(factor_api_error(e)).await;
            assert_eq!(status, 503);
            assert!(text.contains("temporarily_unavailable"), "{text}");
            assert!(
                !text.contains("10.1.2.3") && !text.contains("refused"),
                "{text}"
            );
        }
        let (status, text) = body(factor_api_error(FactorError::UnknownCredential)).await;
        assert_eq!(status, 401);
        assert!(text.contains("not registered"), "{text}");
    }
}
