//! "Forgot your password?": the request form (the same answer whether or not the account
//! exists), the reset link's button, and the new password. The second factor of a reset is the
//! ordinary second-factor page (`pages::mfa`), which sends a proven reset here. The rules are
//! in `crate::recovery`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mail_link::{self, TokenForm, TokenQuery};
use super::mfa::{pending_cookie, start_over};
use super::see_other;
use crate::auth::pending_signin::NeedState;
use crate::domain::secret::Secret;
use crate::recovery::{self, Completed, Requested, Started};
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{PasswordForgotPage, PasswordNewPage, html};
use crate::web::{cookies, csrf};

/// What every reset request is told, whether or not the account exists.
const ANSWER: &str = "If an account matches and has a verified e-mail address, we sent it a link to choose a new password. It works for 30 minutes.";

#[derive(Deserialize)]
pub struct ForgotForm {
    identifier: String,
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    confirm: String,
    #[serde(default)]
    #[allow(dead_code)]
    username: String,
}

/// `GET /t/{tenant}/password/forgot`.
pub async fn forgot_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    Ok(csrf::with_token(&state, &req, |token| {
        html(
            StatusCode::OK,
            &PasswordForgotPage {
                tenant_name: &tenant.display_name,
                tenant_slug: tenant.slug.as_str(),
                csrf_token: token,
                answer: None,
            },
        )
    }))
}

/// `POST /t/{tenant}/password/forgot`: the same page, status and timing for every identifier.
pub async fn forgot(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    let requested = recovery::request(
        &state.ctx,
        &tenant,
        &form.identifier,
        client.ip,
        client.origin(),
    )
    .await?;
    let (status, answer) = match requested {
        Requested::Accepted => (StatusCode::OK, ANSWER.to_owned()),
        Requested::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many requests from your network. Try again in {} minutes.",
                retry_after.div_ceil(60)
            ),
        ),
    };
    Ok(html(
        status,
        &PasswordForgotPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: "",
            answer: Some(&answer),
        },
    ))
}

/// `GET /t/{tenant}/password/reset?token=…`: the button that uses the link.
pub async fn reset_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    Ok(mail_link::button_page(
        &state,
        &req,
        &tenant,
        query.token.as_deref(),
        mail_link::Button {
            action: paths::password_reset(&tenant.slug),
            button: "Continue",
            heading: "Reset your password",
            message: "Continue to choose a new password. If you have a second factor, you will be asked for it first.",
            incomplete: "This link is incomplete. Open the link from the message again, or ask for a new one.",
        },
    ))
}

/// `POST /t/{tenant}/password/reset`: uses the link and goes on to the second factor or the
/// new password.
pub async fn reset(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let (status, heading, message) = match recovery::start(
        &state.ctx,
        &tenant,
        &form.token,
        client.origin(),
    )
    .await?
    {
        Started::Parked { token, need } => {
            let next = if need == NeedState::SecondFactor {
                paths::login_step(&tenant.slug, "verify")
            } else {
                paths::password_new(&tenant.slug)
            };
            let mut res = see_other(&next);
            let _ = res.add_cookie(&cookies::build(
                state.https,
                cookies::pending_name(state.https, &tenant.slug),
                token,
            ));
            return Ok(res);
        }
        Started::Spent => (
            StatusCode::GONE,
            "This link no longer works",
            "It was used already, has expired, or a newer link replaced it. Ask for a new one with \"Forgot your password?\" on the sign-in page.",
        ),
        Started::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from the message, or ask for a new one with \"Forgot your password?\" on the sign-in page.",
        ),
    };
    Ok(mail_link::outcome_page(&tenant, status, heading, message))
}

/// Where a browser goes that is not at the new-password step: a reset still waiting for its
/// second factor goes back to it; anything else starts over.
async fn not_ready(
    state: &AppState,
    tenant: &crate::domain::tenant::Tenant,
    token: &str,
) -> Result<HttpResponse, PageError> {
    let pending = crate::auth::pending_signin::load(&state.ctx, tenant, token).await?;
    Ok(match pending {
        Some(p) if p.reset && p.need == NeedState::SecondFactor => {
            see_other(&paths::login_step(&tenant.slug, "verify"))
        }
        _ => start_over(state, tenant),
    })
}

/// `GET /t/{tenant}/password/new`.
pub async fn new_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    let token = pending_cookie(&state, &req, &tenant).unwrap_or_default();
    let Some((pending, user)) = recovery::ready(&state.ctx, &tenant, &token).await? else {
        return not_ready(&state, &tenant, &token).await;
    };
    let breached = pending.risk.as_ref().is_some_and(|r| r.breached);
    Ok(csrf::with_token(&state, &req, |csrf_token| {
        html(
            StatusCode::OK,
            &PasswordNewPage {
                tenant_name: &tenant.display_name,
                tenant_slug: tenant.slug.as_str(),
                csrf_token,
                user_label: user.label(),
                username: &user.username,
                error: None,
                breached,
            },
        )
    }))
}

/// `POST /t/{tenant}/password/new`.
pub async fn set_new(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<NewPasswordForm>,
) -> Result<HttpResponse, PageError> {
    let token = pending_cookie(&state, &req, &tenant).unwrap_or_default();
    let Some((pending, user)) = recovery::ready(&state.ctx, &tenant, &token).await? else {
        return not_ready(&state, &tenant, &token).await;
    };
    let breached = pending.risk.as_ref().is_some_and(|r| r.breached);
    let error = if form.password != form.confirm {
        "The two passwords are not the same.".to_owned()
    } else {
        match recovery::complete(
            &state.ctx,
            &tenant,
            &token,
            &Secret::new(form.password),
            client.origin(),
        )
        .await?
        {
            Completed::Done => {
                let mut res = see_other(&paths::login_after_reset(&tenant.slug));
                let _ = res.add_cookie(&cookies::removal(
                    state.https,
                    cookies::pending_name(state.https, &tenant.slug),
                ));
                return Ok(res);
            }
            Completed::Gone => return Ok(start_over(&state, &tenant)),
            Completed::Rejected(why) => why,
        }
    };
    Ok(csrf::with_token(&state, &req, |csrf_token| {
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordNewPage {
                tenant_name: &tenant.display_name,
                tenant_slug: tenant.slug.as_str(),
                csrf_token,
                user_label: user.label(),
                username: &user.username,
                error: Some(&error),
                breached,
            },
        )
    }))
}
