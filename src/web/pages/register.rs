//! The sign-up page (`/t/{tenant}/register`, with `?invite=` for an invitation) and the button
//! of a sign-up's link (`/t/{tenant}/register/confirm`). A tenant whose registration is off has
//! no such pages (404). The rules (invitations, no enumeration, throttling, when the account is
//! created) are in `crate::registration`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mail_link::{TokenForm, TokenQuery};
use super::see_other;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::registration::{self, Confirmed, Form, InviteProblem, Requested, SignUp};
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{MailLinkPage, RegisterPage, html};

/// What every well-formed sign-up is told, whoever already has an account.
const ANSWER: &str = "Check your mail: we sent a message to the address you gave. To finish creating your account, open the link in it within 24 hours. Until then, there is no account to sign in with.";

#[derive(Deserialize)]
pub struct RegisterQuery {
    invite: Option<String>,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    username: String,
    #[serde(default)]
    email: String,
    password: String,
    confirm: String,
    #[serde(default)]
    invite: String,
}

/// The page instead of the form: none (404), by invitation only (403), a bad invitation.
fn refused(form: Form) -> PageError {
    match form {
        Form::Closed | Form::Open { .. } => PageError::not_found(),
        Form::InviteRequired => PageError::new(
            StatusCode::FORBIDDEN,
            "By invitation only",
            "Accounts here are created by invitation. Open the invitation link you were sent, or ask an administrator for one.",
        ),
        Form::Invite(InviteProblem::Invalid) => PageError::new(
            StatusCode::NOT_FOUND,
            "This invitation is not valid",
            "Check that you opened the whole link you were sent, or ask an administrator for a new invitation.",
        ),
        Form::Invite(InviteProblem::Spent) => PageError::new(
            StatusCode::GONE,
            "This invitation no longer works",
            "It was used already, has expired or was withdrawn. Ask an administrator for a new one.",
        ),
    }
}

/// The form's values to show again.
struct Shown<'a> {
    invite: &'a str,
    username: &'a str,
    email: &'a str,
    address_fixed: bool,
    error: Option<(&'a str, &'a str)>,
    answer: Option<&'a str>,
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    status: StatusCode,
    shown: Shown<'_>,
) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let mut res = html(
        status,
        &RegisterPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            invite: shown.invite,
            username: shown.username,
            email: shown.email,
            address_fixed: shown.address_fixed,
            min_length: tenant.policy.password.min_length,
            error: shown.error.map(|e| e.1),
            error_field: shown.error.map_or("", |e| e.0),
            answer: shown.answer,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

/// `GET /t/{tenant}/register[?invite=…]`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<RegisterQuery>,
) -> Result<HttpResponse, PageError> {
    let invite = query.invite.as_deref().unwrap_or("");
    let address = match registration::form(&state.ctx, &tenant, Some(invite)).await? {
        Form::Open { address } => address,
        other => return Err(refused(other)),
    };
    Ok(render(
        &state,
        &req,
        &tenant,
        StatusCode::OK,
        Shown {
            invite,
            username: "",
            email: address.as_deref().unwrap_or(""),
            address_fixed: address.is_some(),
            error: None,
            answer: None,
        },
    ))
}

/// `POST /t/{tenant}/register`: the same answer for every well-formed sign-up.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    let invite = form.invite.trim();
    let again = |status, error: (&str, &str), address: Option<&str>| {
        render(
            &state,
            &req,
            &tenant,
            status,
            Shown {
                invite,
                username: &form.username,
                email: address.unwrap_or(&form.email),
                address_fixed: address.is_some(),
                error: Some(error),
                answer: None,
            },
        )
    };
    // The address an invitation fixes, to show it again with an error.
    let fixed = match registration::form(&state.ctx, &tenant, Some(invite)).await? {
        Form::Open { address } => address,
        other => return Err(refused(other)),
    };
    if form.password != form.confirm {
        return Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            ("password", "The two passwords are not the same."),
            fixed.as_deref(),
        ));
    }
    let password = Secret::new(form.password.clone());
    let requested = registration::request(
        &state.ctx,
        &tenant,
        SignUp {
            username: &form.username,
            email: &form.email,
            password: &password,
            invite: Some(invite),
            ip: client.ip,
            origin: client.origin(),
        },
    )
    .await?;
    Ok(match requested {
        Requested::CheckYourMail => render(
            &state,
            &req,
            &tenant,
            StatusCode::OK,
            Shown {
                invite: "",
                username: "",
                email: "",
                address_fixed: false,
                error: None,
                answer: Some(ANSWER),
            },
        ),
        Requested::Created { .. } => see_other(&paths::login_after_registration(&tenant.slug)),
        Requested::Rejected { field, message } => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            (field, &message),
            fixed.as_deref(),
        ),
        Requested::Throttled { retry_after } => {
            let message = format!(
                "Too many sign-ups from your network. Try again in {} minutes.",
                retry_after.div_ceil(60)
            );
            let mut res = again(
                StatusCode::TOO_MANY_REQUESTS,
                ("", &message),
                fixed.as_deref(),
            );
            if let Ok(v) = retry_after.to_string().parse() {
                res.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            res
        }
        Requested::Refused(form) => return Err(refused(form)),
    })
}

fn link_page(
    tenant: &Tenant,
    status: StatusCode,
    csrf_token: &str,
    token: Option<&str>,
    heading: &str,
    message: &str,
) -> HttpResponse {
    let action = paths::register_confirm(&tenant.slug);
    html(
        status,
        &MailLinkPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token,
            token,
            action: &action,
            button: "Create my account",
            heading,
            message,
        },
    )
}

/// `GET /t/{tenant}/register/confirm?token=…`: the button that uses the link (mail scanners
/// open links; only the button creates the account).
pub async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    if !tenant.policy.registration.enabled() {
        return Err(PageError::not_found());
    }
    let token = query.token.as_deref().unwrap_or("");
    let issue = csrf::issue(&state, &req);
    let mut res = link_page(
        &tenant,
        StatusCode::OK,
        &issue.token,
        Some(token).filter(|t| !t.is_empty()),
        "Create your account",
        if token.is_empty() {
            "This link is incomplete. Open the link from the message again."
        } else {
            "Confirm your e-mail address to create your account."
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// `POST /t/{tenant}/register/confirm`: creates the account, once.
pub async fn confirm(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    if !tenant.policy.registration.enabled() {
        return Err(PageError::not_found());
    }
    let (status, heading, message) = match registration::confirm(
        &state.ctx,
        &tenant,
        &form.token,
        client.origin(),
    )
    .await?
    {
        Confirmed::Created { .. } => {
            return Ok(see_other(&paths::login_after_registration(&tenant.slug)));
        }
        Confirmed::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from the newest message, or sign up again.",
        ),
        Confirmed::Spent => (
            StatusCode::GONE,
            "This link no longer works",
            "It was used already or has expired. If you have no account yet, sign up again.",
        ),
        Confirmed::UsernameTaken => (
            StatusCode::CONFLICT,
            "Choose another username",
            "Someone else took this username in the meantime. No account was created; sign up again with another username.",
        ),
        Confirmed::AddressTaken => (
            StatusCode::CONFLICT,
            "You already have an account",
            "There is already an account with this address. Sign in, or choose \"Forgot your password?\" on the sign-in page.",
        ),
        Confirmed::InviteSpent => (
            StatusCode::GONE,
            "This invitation no longer works",
            "The invitation this sign-up was made with was used, has expired or was withdrawn. Ask an administrator for a new one.",
        ),
    };
    Ok(link_page(&tenant, status, "", None, heading, message))
}
