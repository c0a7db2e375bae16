//! The second step of signing in: the second-factor page (authenticator-app code, recovery
//! code, or a code by mail where the tenant allows it; security keys and passkeys through
//! `super::webauthn`), stepping up an existing session
//! (an application asked for `mfa` or `phr`, or the user is changing their factors), and what a
//! finished step answers. Setting a factor up during sign-in is `super::mfa_enrol`. The state
//! between steps is `crate::auth::pending_signin`, named by a cookie.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{Next, SignedInAnswer, started_response, throttled_message};
use super::{Visitor, see_other, visitor};
use crate::auth::mfa;
use crate::auth::mfa::email_code;
use crate::auth::pending_signin::{self, Finished, LevelState, NeedState, PendingSignIn};
use crate::auth::second_step::{self, CodeRequest, Outcome, Proof, StepUpStart};
use crate::domain::session::Acr;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{MfaVerifyPage, html};
use crate::web::{cookies, csrf, return_to};

/// A pending sign-in and its user.
pub struct Current {
    pub token: String,
    pub pending: PendingSignIn,
    pub user: User,
}

pub fn pending_cookie(state: &AppState, req: &HttpRequest, tenant: &Tenant) -> Option<String> {
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
    let mut res = see_other(&paths::login_expired(&tenant.slug));
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
    ));
    res
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
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    query: StrictQuery<VerifyQuery>,
) -> Result<HttpResponse, PageError> {
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
        return Ok(see_other(&paths::enrol(&tenant.slug)));
    }
    if cur.pending.need == NeedState::NewPassword {
        return Ok(see_other(&paths::password_new(&tenant.slug)));
    }
    render_verify(&state, &req, &tenant, &cur, None, None, false).await
}

/// The second-factor page for a pending sign-in (`email_open`: a code was sent by mail).
async fn render_verify(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    cur: &Current,
    error: Option<&str>,
    notice: Option<&str>,
    email_open: bool,
) -> Result<HttpResponse, PageError> {
    let factors = mfa::factors(&state.ctx, tenant, &cur.user).await?;
    let phr = cur.pending.level == LevelState::Phr;
    let password = cur.pending.need == NeedState::Password;
    let email_to = cur
        .user
        .email
        .as_deref()
        .filter(|_| {
            cur.pending.need == NeedState::SecondFactor
                && !cur.pending.reset
                && !phr
                && email_code::available(tenant, &cur.user, &factors)
        })
        .map(crate::mail::message::masked);
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
            } else if cur.pending.reset {
                "Verify it's you to reset your password"
            } else {
                "Verify it's you"
            },
            password,
            totp: factors.totp && !phr && !password,
            webauthn: !factors.credentials.is_empty() && state.ctx.webauthn.is_some() && !password,
            recovery: factors.recovery_left > 0 && !phr && !password,
            recovery_open: !factors.totp && factors.credentials.is_empty() && email_to.is_none(),
            email_open: email_open && email_to.is_some(),
            email_to,
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
/// `phr`, or the user is changing their factors): a pending step-up of its session
/// (`auth::second_step::start_step_up` decides what it needs).
async fn start_step_up(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Caller,
    level: &str,
    back: &str,
) -> Result<HttpResponse, PageError> {
    let Visitor::SignedIn { session, user } = visitor(state, req, tenant).await? else {
        return Ok(see_other(&paths::login_returning(&tenant.slug, back)));
    };
    let level = Acr::parse(level).unwrap_or(Acr::Mfa);
    let started = second_step::start_step_up(
        &state.ctx,
        tenant,
        &session,
        &user,
        level,
        back,
        &client.origin(),
    )
    .await?;
    let (token, need) = match started {
        StepUpStart::Parked { token, need } => (token, need),
        StepUpStart::Refused(why) => {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "Second factors are turned off",
                why,
            ));
        }
    };
    let next = if need == NeedState::Enrolment {
        "enrol"
    } else {
        "verify"
    };
    let mut res = see_other(&paths::login_step(&tenant.slug, next));
    let _ = res.add_cookie(&cookies::build(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
        token,
    ));
    Ok(res)
}

#[derive(Deserialize)]
pub struct VerifyForm {
    /// `totp` or `recovery`.
    method: String,
    code: String,
}

pub async fn verify_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    CheckedForm(form): CheckedForm<VerifyForm>,
) -> Result<HttpResponse, PageError> {
    let Some(cur) = current(&state, &req, &tenant).await? else {
        return Ok(start_over(&state, &tenant));
    };
    let by_mail = form.method == "email";
    let proof = match form.method.as_str() {
        "recovery" => Proof::Recovery(&form.code),
        "email" => Proof::EmailCode(&form.code),
        "password" => Proof::Password(&form.code),
        _ => Proof::Totp(&form.code),
    };
    let origin = client.origin();
    let outcome = second_step::prove(
        &state.ctx,
        &tenant,
        &cur.token,
        &cur.pending,
        &cur.user,
        proof,
        client.ip,
        &origin,
    )
    .await?;
    match outcome {
        Outcome::Finished {
            finished,
            recovery_left,
        } => {
            let next = recovery_left.map(|left| RecoveryNotice { left });
            finished_response(&state, &req, &tenant, &client, &cur, finished, next)
                .await
                .map(SignedInAnswer::redirect)
        }
        Outcome::PasswordConfirmed => Ok(see_other(&paths::enrol(&tenant.slug))),
        Outcome::Wrong(msg) => {
            render_verify(&state, &req, &tenant, &cur, Some(&msg), None, by_mail).await
        }
        Outcome::NotOffered(msg) => {
            render_verify(&state, &req, &tenant, &cur, Some(msg), None, false).await
        }
        Outcome::Throttled { retry_after } => {
            let msg = throttled_message(retry_after).replace("sign-in attempts", "codes");
            let mut res =
                render_verify(&state, &req, &tenant, &cur, Some(&msg), None, by_mail).await?;
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            Ok(res)
        }
    }
}

/// "Send me a code by mail" on the second-factor page.
pub async fn send_email_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    CheckedForm(_): CheckedForm<crate::web::form::Nothing>,
) -> Result<HttpResponse, PageError> {
    let Some(cur) = current(&state, &req, &tenant).await? else {
        return Ok(start_over(&state, &tenant));
    };
    let asked = second_step::send_email_code(
        &state.ctx,
        &tenant,
        &cur.token,
        &cur.pending,
        &cur.user,
        &client.origin(),
    )
    .await?;
    match asked {
        CodeRequest::Sent { to } => {
            let notice = format!(
                "We sent a code to {to}. It works for {} minutes.",
                email_code::CODE_MINUTES
            );
            render_verify(&state, &req, &tenant, &cur, None, Some(&notice), true).await
        }
        CodeRequest::Throttled => {
            let msg =
                "You asked for several codes already. Use the newest one, or try again later.";
            let mut res = render_verify(&state, &req, &tenant, &cur, Some(msg), None, true).await?;
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(res)
        }
        CodeRequest::NotOffered(msg) => {
            render_verify(&state, &req, &tenant, &cur, Some(msg), None, false).await
        }
    }
}

/// "You used a recovery code; `left` remain" before going on.
pub struct RecoveryNotice {
    pub left: i64,
}

/// The answer once a pending sign-in is finished: the new session (see `started_response`), the
/// stepped-up session's new cookie, or back to sign in if the session to step up is gone. With
/// `recovery`, the browser first sees how many recovery codes remain.
pub async fn finished_response(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Caller,
    cur: &Current,
    finished: Finished,
    recovery: Option<RecoveryNotice>,
) -> Result<SignedInAnswer, PageError> {
    let back = return_to::safe_path(&cur.pending.return_to).unwrap_or("");
    let target = if back.is_empty() {
        paths::home(&tenant.slug)
    } else {
        back.to_owned()
    };
    let target = match recovery {
        Some(r) => format!(
            "{}?left={}&continue={}",
            paths::login_step(&tenant.slug, "recovery-used"),
            r.left,
            paths::query_escape(&target)
        ),
        None => target,
    };
    let pending_removal = cookies::removal(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
    );
    match finished {
        Finished::SignedIn(started) => {
            started_response(
                state,
                req,
                tenant,
                &client.origin(),
                &cur.user,
                started,
                &target,
                None,
            )
            .await
        }
        Finished::SteppedUp(session) => Ok(SignedInAnswer {
            next: Next::Go(target),
            cookies: vec![
                cookies::build(
                    state.https,
                    cookies::session_name(state.https, &tenant.slug),
                    session.token.expose().clone(),
                ),
                pending_removal,
            ],
        }),
        Finished::ResetProven => Ok(SignedInAnswer {
            next: Next::Go(paths::password_new(&tenant.slug)),
            cookies: Vec::new(),
        }),
        Finished::SessionGone => Ok(SignedInAnswer {
            next: Next::Go(paths::login_expired(&tenant.slug)),
            cookies: vec![pending_removal],
        }),
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
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<RecoveryUsedQuery>,
) -> Result<HttpResponse, PageError> {
    let home = paths::home(&tenant.slug);
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
