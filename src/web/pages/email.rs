//! Proving an e-mail address: the account page's "send me a link" action, and the link itself.
//! Opening the link (`GET`) only shows a confirmation button, since mail scanners open links;
//! the `POST` uses it (`auth::email::verify`). Works in any browser, signed in or not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::auth::email::{self, Sent, Verified};
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::{PeopleTenant, SignedIn, back};
use crate::web::state::AppState;
use crate::web::templates::{MailLinkPage, html};

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

/// `POST /t/{tenant}/account/email/verify`: mails the signed-in user a link.
pub async fn send(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
    SignedIn { tenant, user, .. }: SignedIn<back::Account>,
) -> Result<HttpResponse, PageError> {
    let done = match email::send_verification(&state.ctx, &tenant, &user, client.origin()).await? {
        Sent::Sent { .. } => "verify-sent",
        Sent::Throttled => "verify-throttled",
        Sent::NothingToVerify => "verify-none",
    };
    Ok(see_other(&paths::done(paths::account(&tenant.slug), done)))
}

/// `GET /t/{tenant}/email/verify?token=…`: the confirmation button.
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let token = query.token.as_deref().unwrap_or("");
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &MailLinkPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            token: Some(token).filter(|t| !t.is_empty()),
            action: &paths::email_verify(&tenant.slug),
            button: "Confirm my address",
            heading: "Confirm your e-mail address",
            message: if token.is_empty() {
                "This link is incomplete. Open the link from the message again, or ask for a new one on your account page."
            } else {
                "Confirm that this address is yours."
            },
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// `POST /t/{tenant}/email/verify`: uses the link.
pub async fn verify(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let outcome = email::verify(&state.ctx, &tenant, &form.token, client.origin()).await?;
    let (status, heading, message) = match &outcome {
        Verified::Verified { .. } => (
            StatusCode::OK,
            "Your address is confirmed",
            "Thank you: your e-mail address is verified.",
        ),
        Verified::Spent => (
            StatusCode::GONE,
            "This link no longer works",
            "It was used already, has expired, or a newer link replaced it. Ask for a new one on your account page.",
        ),
        Verified::AddressChanged => (
            StatusCode::CONFLICT,
            "This link is for another address",
            "Your account's e-mail address changed after this link was sent. Ask for a new one on your account page.",
        ),
        Verified::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from the message, or ask for a new one on your account page.",
        ),
    };
    Ok(html(
        status,
        &MailLinkPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: "",
            token: None,
            action: "",
            button: "",
            heading,
            message,
        },
    ))
}
