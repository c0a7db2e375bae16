//! Proving an e-mail address: the account page's "send me a link" action, and the link itself.
//! Opening the link (`GET`) only shows a confirmation button, since mail scanners open links;
//! the `POST` uses it (`auth::email::verify`). Works in any browser, signed in or not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::mail_link::{self, TokenForm, TokenQuery};
use super::see_other;
use crate::auth::email::{self, Sent, Verified};
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::{PeopleTenant, SignedIn, back};
use crate::web::state::AppState;

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
    Ok(mail_link::button_page(
        &state,
        &req,
        &tenant,
        query.token.as_deref(),
        mail_link::Button {
            action: paths::email_verify(&tenant.slug),
            button: "Confirm my address",
            heading: "Confirm your e-mail address",
            message: "Confirm that this address is yours.",
            incomplete: "This link is incomplete. Open the link from the message again, or ask for a new one on your account page.",
        },
    ))
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
    Ok(mail_link::outcome_page(&tenant, status, heading, message))
}
