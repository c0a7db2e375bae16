//! The second step of signing in: the second-factor page (authenticator-app code or recovery
//! code; security keys and passkeys through `super::webauthn`), stepping up an existing session
//! (an application asked for `mfa` or `phr`, or the user is changing their factors), and what a
//! finished step answers. Setting a factor up during sign-in is `super::mfa_enrol`. The state
//! between steps is `crate::auth::pending_signin`, named by a cookie.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{started_response, throttled_message};
use super::{Visitor, see_other, visitor};
use crate::auth::mfa::{self, FactorError, recovery, totp};
use crate::auth::pending_signin::{self, Finished, LevelState, NeedState, PendingSignIn};
use crate::auth::throttle;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::session::{Acr, AuthMethod};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;
use crate::web::client::Client;
use crate::web::error::PageError;
use crate::web::form::{StrictForm, StrictQuery};
use crate::web::state::AppState;
use crate::web::templates::{MfaVerifyPage, html};
use crate::web::{cookies, csrf, return_to};

/// A pending sign-in and its user.
pub struct Current {
    pub token: String,
    pub pending: PendingSignIn,
    pub user: User,
}

fn pending_cookie(state: &AppState, req: &HttpRequest, tenant: &Tenant) -> Option<String> {
    req.cookie(&cookies::pending_name(state.https, &tenant.slug))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The browser's pending sign-in, or `None` (expired, finished, forged, or a disabled user).
pub async fn current(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Option<Current>, PageError> {
    let Some(token) = pending_cookie(state, req, tenant) else {
        return Ok(None);
    };
    let Some(pending) = pending_signin::load(&state.ctx, tenant, &token).await? else {
        return Ok(None);
    };
    let user = crate::admin::users::find_by_id(&state.ctx, tenant, pending.user_id)
        .await?
        .filter(|u| u.enabled);
    Ok(user.map(|user| Current {
        token,
        pending,
        user,
    }))
}

/// Back to the sign-in page: the pending sign-in expired or never existed.
pub fn start_over(state: &AppState, tenant: &Tenant) -> HttpResponse {
    let mut res = see_other(&format!("/t/{}/login?reason=expired", tenant.slug));
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
    ));
    res
}

pub fn audit(
    state: &AppState,
    tenant: &Tenant,
    action: AuditAction,
    outcome: &str,
    user: &User,
    client: &Client,
) -> AuditEvent {
    AuditEvent::new(
        state.ctx.clock.now(),
        Some(tenant.id),
        action,
        outcome,
        Actor::User(user.id.to_string()),
    )
    .subject(format!("user:{}", user.id))
    .origin(client.origin())
}

pub fn count(tenant: &Tenant, method: &'static str, result: &'static str) {
    metrics::counter!(
        "watchword_second_factor_attempts_total",
        "tenant" => tenant.slug.to_string(),
        "method" => method,
        "result" => result,
    )
    .increment(1);
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    /// Start a step-up of the current session to this level (`mfa` or `phr`).
    step_up: Option<String>,
    return_to: Option<String>,
}

pub async fn verify_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    client: Client,
    query: StrictQuery<VerifyQuery>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant_for(&state, &req, &path).await?;
    if let Some(level) = query.step_up.as_deref() {
        let back = query
            .return_to
            .as_deref()
            .and_then(return_to::safe_path)
            .unwrap_or("");
        return start_step_up(&state, &req, &tenant, &client, level, back).await;
    }
    let Some(cur) = current(&state, &req, &tenant).await? else {
        return Ok(start_over(&state, &tenant));
    };
    if cur.pending.need == NeedState::Enrolment {
        return Ok(see_other(&format!("/t/{}/login/enrol", tenant.slug)));
    }
    render_verify(&state, &req, &tenant, &cur, None, None).await
}

/// The second-factor page for a pending sign-in.
async fn render_verify(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    cur: &Current,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let factors = mfa::factors(&state.ctx, tenant, &cur.user).await?;
    let phr = cur.pending.level == LevelState::Phr;
    let issue = csrf::issue(state, req);
    let step_up = cur.pending.step_up.is_some();
    let mut res = html(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &MfaVerifyPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            user_label: cur.user.label(),
            heading: if step_up {
                "Confirm it's you"
            } else {
                "Verify it's you"
            },
            totp: factors.totp && !phr,
            webauthn: !factors.credentials.is_empty() && state.ctx.webauthn.is_some(),
            recovery: factors.recovery_left > 0 && !phr,
            recovery_open: !factors.totp && factors.credentials.is_empty(),
            no_factor_text: if phr {
                "This application asks for a security key or passkey, and none is available here."
            } else {
                "No second factor is available. Use a recovery code, or ask your administrator."
            },
            error,
            notice,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// A signed-in browser asked to prove a second factor again (an application wants `mfa` or
/// `phr`, or the user is changing their factors): a pending step-up of its session.
async fn start_step_up(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Client,
    level: &str,
    back: &str,
) -> Result<HttpResponse, PageError> {
    let Visitor::SignedIn { session, user } = visitor(state, req, tenant).await? else {
        return Ok(see_other(&format!(
            "/t/{}/login?return_to={}",
            tenant.slug,
            super::query_escape(back)
        )));
    };
    let level = LevelState::from_acr(Acr::parse(level).unwrap_or(Acr::Mfa).max(Acr::Mfa));
    let factors = mfa::factors(&state.ctx, tenant, &user).await?;
    // Setting a factor up instead of proving one is only for users who have none at all:
    // otherwise a session that proved just a password could register its own.
    let has_any = factors.any() || factors.recovery_left > 0;
    let pending = PendingSignIn {
        tenant_id: tenant.id,
        user_id: user.id,
        amr: session.amr.clone(),
        need: if has_any {
            NeedState::SecondFactor
        } else {
            NeedState::Enrolment
        },
        step_up: Some(session.sid.clone()),
        level,
        return_to: back.to_owned(),
        end_other_sessions: false,
        replaces_session: None,
        ip: Some(client.ip.to_string()),
        user_agent: Some(client.user_agent.clone()),
    };
    let token = pending_signin::begin(&state.ctx, &pending).await?;
    let next = if has_any { "verify" } else { "enrol" };
    let mut res = see_other(&format!("/t/{}/login/{next}", tenant.slug));
    let _ = res.add_cookie(&cookies::build(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
        token,
    ));
    Ok(res)
}

#[derive(Deserialize)]
pub struct VerifyForm {
    csrf_token: String,
    /// `totp` or `recovery`.
    method: String,
    code: String,
}

pub async fn verify_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    client: Client,
    StrictForm(form): StrictForm<VerifyForm>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant_for(&state, &req, &path).await?;
    csrf::verify(&state, &req, &form.csrf_token)?;
    let Some(cur) = current(&state, &req, &tenant).await? else {
        return Ok(start_over(&state, &tenant));
    };
    if cur.pending.level == LevelState::Phr {
        let msg = "This application asks for a security key or passkey.";
        return render_verify(&state, &req, &tenant, &cur, Some(msg), None).await;
    }
    let user_id = cur.user.id.to_string();
    if let Some(wait) =
        throttle::check_second_factor(&state.ctx, &tenant, &user_id, client.ip).await?
    {
        count(&tenant, "code", "throttled");
        let event = audit(
            &state,
            &tenant,
            AuditAction::SecondFactor,
            "throttled",
            &cur.user,
            &client,
        )
        .details(serde_json::json!({ "retry_after": wait }));
        throttle::audit_refusal(&state.ctx, &tenant, &["second_factor", &user_id], event).await?;
        let msg = throttled_message(wait).replace("sign-in attempts", "codes");
        let mut res = render_verify(&state, &req, &tenant, &cur, Some(&msg), None).await?;
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(res);
    }
    let (method, name) = match form.method.as_str() {
        "recovery" => (AuthMethod::Rec, "recovery_code"),
        _ => (AuthMethod::Otp, "totp"),
    };
    let checked = match method {
        AuthMethod::Rec => recovery::redeem(&state.ctx, &cur.user, &form.code)
            .await
            .map(Some),
        _ => totp::verify(&state.ctx, &tenant, &cur.user, &form.code)
            .await
            .map(|()| None),
    };
    match checked {
        Ok(left) => {
            count(&tenant, name, "success");
            throttle::second_factor_succeeded(&state.ctx, &tenant, &user_id, client.ip).await?;
            let mut details = serde_json::json!({ "method": name });
            if let Some(left) = left {
                details["recovery_codes_left"] = left.into();
            }
            storage::audit::record(
                &state.ctx.db,
                audit(
                    &state,
                    &tenant,
                    AuditAction::SecondFactor,
                    "success",
                    &cur.user,
                    &client,
                )
                .details(details),
            )
            .await;
            let finished = pending_signin::finish(
                &state.ctx,
                &tenant,
                &cur.user,
                &cur.token,
                &cur.pending,
                &[method],
                Some(crate::web::error::request_id()),
            )
            .await?;
            let mut res = finished_response(&state, &req, &tenant, &client, &cur, finished).await?;
            if let Some(left) = left
                && let Some(next) = res
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            {
                // Tell the user how many codes remain before going on.
                let via = format!(
                    "/t/{}/login/recovery-used?left={left}&continue={}",
                    tenant.slug,
                    super::query_escape(&next)
                );
                res.headers_mut().insert(
                    actix_web::http::header::LOCATION,
                    actix_web::http::header::HeaderValue::from_str(&via)
                        .map_err(|e| PageError::internal(e.to_string()))?,
                );
            }
            Ok(res)
        }
        Err(FactorError::WrongCode | FactorError::WrongRecoveryCode) => {
            count(&tenant, name, "failure");
            throttle::second_factor_failed(&state.ctx, &tenant, &user_id, client.ip).await?;
            storage::audit::record(
                &state.ctx.db,
                audit(
                    &state,
                    &tenant,
                    AuditAction::SecondFactor,
                    "failure",
                    &cur.user,
                    &client,
                )
                .details(serde_json::json!({ "method": name })),
            )
            .await;
            let msg = checked.err().map(|e| e.to_string()).unwrap_or_default();
            render_verify(&state, &req, &tenant, &cur, Some(&msg), None).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The answer once a pending sign-in is finished: the new session (see `started_response`), the
/// stepped-up session's new cookie, or back to sign in if the session to step up is gone.
pub async fn finished_response(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Client,
    cur: &Current,
    finished: Finished,
) -> Result<HttpResponse, PageError> {
    let back = return_to::safe_path(&cur.pending.return_to).unwrap_or("");
    match finished {
        Finished::SignedIn(started) => {
            started_response(
                state,
                req,
                tenant,
                &client.origin(),
                &cur.user,
                started,
                back,
                None,
            )
            .await
        }
        Finished::SteppedUp(session) => {
            let target = if back.is_empty() {
                format!("/t/{}/", tenant.slug)
            } else {
                back.to_owned()
            };
            let mut res = see_other(&target);
            let _ = res.add_cookie(&cookies::build(
                state.https,
                cookies::session_name(state.https, &tenant.slug),
                session.token.expose().clone(),
            ));
            let _ = res.add_cookie(&cookies::removal(
                state.https,
                cookies::pending_name(state.https, &tenant.slug),
            ));
            Ok(res)
        }
        Finished::SessionGone => Ok(start_over(state, tenant)),
    }
}

#[derive(Deserialize)]
pub struct RecoveryUsedQuery {
    left: i64,
    #[serde(rename = "continue")]
    next: String,
}

/// "You used a recovery code; N remain", then on to where the sign-in was going.
pub async fn recovery_used(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: StrictQuery<RecoveryUsedQuery>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant_for(&state, &req, &path).await?;
    let home = format!("/t/{}/", tenant.slug);
    let next = return_to::safe_path(&query.next).unwrap_or(&home);
    Ok(html(
        StatusCode::OK,
        &crate::web::templates::RecoveryUsedPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            left_text: match query.left.clamp(0, 10) {
                0 => "It was your last one: create new recovery codes now.".into(),
                1 => "You have 1 recovery code left.".into(),
                n => format!("You have {n} recovery codes left."),
            },
            continue_to: next,
        },
    ))
}
