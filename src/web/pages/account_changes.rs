//! Changes a signed-in user makes to their account: the password (`/account/password`) and the
//! e-mail address (`/account/email`, and the link sent to the new address, `/email/change`:
//! `GET` only shows a confirmation button, since mail scanners open links; the `POST` uses it).
//! The rules are the engine's (`crate::password_change`, `crate::auth::email_change`); a session
//! that must prove a second factor (or its password) again first is sent there and back to the
//! form, both when the form is shown and when it is posted.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::throttled_message;
use super::mail_link::{self, TokenForm, TokenQuery};
use super::see_other;
use crate::auth::email_change::{self, Confirmed, Requested};
use crate::auth::mfa::changes::Freshness;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::password_change::{self, Change, Outcome, WRONG_PASSWORD};
use crate::web::caller::Caller;
use crate::web::cookies;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::{PeopleTenant, SignedIn};
use crate::web::state::AppState;
use crate::web::templates::{AccountEmailPage, AccountPasswordPage, html};

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    password: String,
    /// "1" when "keep me signed in on this browser" is ticked (absent when not).
    #[serde(default)]
    keep: String,
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

/// Where a session goes that must prove something again before coming back to `back`.
fn confirm_first(tenant: &Tenant, fresh: Freshness, back: &str) -> HttpResponse {
    match fresh {
        Freshness::Password => see_other(&paths::login_returning(&tenant.slug, back)),
        _ => see_other(&paths::step_up(&tenant.slug, "mfa", back)),
    }
}

fn password_page(
    state: &AppState,
    req: &HttpRequest,
    who: &SignedIn,
    status: StatusCode,
    error: Option<&str>,
    keep: bool,
) -> HttpResponse {
    csrf::with_token(state, req, |csrf_token| {
        html(
            status,
            &AccountPasswordPage {
                tenant_name: &who.tenant.display_name,
                tenant_slug: who.tenant.slug.as_str(),
                csrf_token,
                user_label: who.user.label(),
                username: &who.user.username,
                error,
                keep,
            },
        )
    })
}

/// `GET /t/{tenant}/account/password`.
pub async fn password_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let back = paths::account_password(&who.tenant.slug);
    if !password_change::may_change(&state.ctx, &who.tenant, &who.session, &who.user).await? {
        return Ok(confirm_first(&who.tenant, Freshness::SecondFactor, &back));
    }
    Ok(password_page(
        &state,
        &req,
        &who,
        StatusCode::OK,
        None,
        true,
    ))
}

/// `POST /t/{tenant}/account/password`.
pub async fn password_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: Caller,
    who: SignedIn,
    CheckedForm(form): CheckedForm<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let keep = form.keep == "1";
    let (current, new) = (Secret::new(form.current), Secret::new(form.password));
    let outcome = password_change::change(
        &state.ctx,
        &who.tenant,
        Change {
            session: &who.session,
            user: &who.user,
            current: &current,
            new: &new,
            keep_this_session: keep,
            ip: client.ip,
            origin: client.origin(),
        },
    )
    .await?;
    let slug = &who.tenant.slug;
    let (status, error) = match outcome {
        Outcome::Changed { kept: true, .. } => {
            return Ok(see_other(&paths::done(
                paths::account(slug),
                "password-changed",
            )));
        }
        Outcome::Changed { kept: false, .. } => {
            let mut res = see_other(&paths::login_after_password_change(slug));
            let _ = res.add_cookie(&cookies::removal(
                state.https,
                cookies::session_name(state.https, slug),
            ));
            return Ok(res);
        }
        Outcome::ConfirmFirst => {
            let back = paths::account_password(slug);
            return Ok(confirm_first(&who.tenant, Freshness::SecondFactor, &back));
        }
        Outcome::Wrong => (StatusCode::UNPROCESSABLE_ENTITY, WRONG_PASSWORD.to_owned()),
        Outcome::Rejected(why) => (StatusCode::UNPROCESSABLE_ENTITY, why),
        Outcome::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            throttled_message(retry_after),
        ),
    };
    Ok(password_page(
        &state,
        &req,
        &who,
        status,
        Some(&error),
        keep,
    ))
}

fn email_page(
    state: &AppState,
    req: &HttpRequest,
    who: &SignedIn,
    status: StatusCode,
    error: Option<&str>,
    typed: &str,
) -> HttpResponse {
    csrf::with_token(state, req, |csrf_token| {
        html(
            status,
            &AccountEmailPage {
                tenant_name: &who.tenant.display_name,
                tenant_slug: who.tenant.slug.as_str(),
                csrf_token,
                user_label: who.user.label(),
                username: &who.user.username,
                email: who.user.email.as_deref(),
                error,
                typed,
            },
        )
    })
}

/// `GET /t/{tenant}/account/email`.
pub async fn email_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let fresh = email_change::gate(&state.ctx, &who.tenant, &who.session, &who.user).await?;
    if fresh != Freshness::Fresh {
        let back = paths::account_email(&who.tenant.slug);
        return Ok(confirm_first(&who.tenant, fresh, &back));
    }
    Ok(email_page(&state, &req, &who, StatusCode::OK, None, ""))
}

/// `POST /t/{tenant}/account/email`: sends the link to the new address.
pub async fn email_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: Caller,
    who: SignedIn,
    CheckedForm(form): CheckedForm<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let requested = email_change::request(
        &state.ctx,
        &who.tenant,
        &who.session,
        &who.user,
        &form.email,
        client.origin(),
    )
    .await?;
    let account = || paths::account(&who.tenant.slug);
    Ok(match requested {
        Requested::Sent => see_other(&paths::done(account(), "email-sent")),
        Requested::Throttled => see_other(&paths::done(account(), "email-throttled")),
        Requested::Unchanged => see_other(&paths::done(account(), "email-unchanged")),
        Requested::ConfirmFirst(fresh) => {
            let back = paths::account_email(&who.tenant.slug);
            confirm_first(&who.tenant, fresh, &back)
        }
        Requested::Invalid(why) => {
            let typed: String = form.email.chars().take(254).collect();
            email_page(
                &state,
                &req,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(why),
                &typed,
            )
        }
    })
}

/// `GET /t/{tenant}/email/change?token=…`: the confirmation button.
pub async fn change_confirm(
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
            action: paths::email_change(&tenant.slug),
            button: "Use this address",
            heading: "Confirm your new e-mail address",
            message: "Confirm that this address is yours and should replace your account's current address.",
            incomplete: "This link is incomplete. Open the link from the message again, or ask for a new one on your account page.",
        },
    ))
}

/// `POST /t/{tenant}/email/change`: uses the link.
pub async fn change_use(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let outcome = email_change::confirm(&state.ctx, &tenant, &form.token, client.origin()).await?;
    let (status, heading, message) = match &outcome {
        Confirmed::Changed { .. } => (
            StatusCode::OK,
            "Your address is changed",
            "Thank you: this is now your account's e-mail address, and it is verified.",
        ),
        Confirmed::Spent => (
            StatusCode::GONE,
            "This link no longer works",
            "It was used already, has expired, or a newer link replaced it. Ask for a new one on your account page.",
        ),
        Confirmed::AddressChanged => (
            StatusCode::CONFLICT,
            "Your address changed meanwhile",
            "Your account's e-mail address changed after this link was sent, so it changes nothing. Ask for a new one on your account page.",
        ),
        Confirmed::Taken => (
            StatusCode::CONFLICT,
            "This address cannot be used",
            "Another account uses this address now, so nothing was changed. Choose another address on your account page.",
        ),
        Confirmed::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from the message, or ask for a new one on your account page.",
        ),
    };
    Ok(mail_link::outcome_page(&tenant, status, heading, message))
}
