//! The link of a sign-in notice ("Was this you?"): opening it (`GET`) shows the event (when, the
//! device, the approximate place, what happened and why) and two buttons, and uses nothing (mail
//! scanners open links); pressing one (`POST`, CSRF-checked) answers once. The rules are in
//! `crate::risk_feedback::link`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mail_link::{TokenQuery, outcome_page};
use crate::risk_feedback::Value;
use crate::risk_feedback::link::{self, Answered, Checked};
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{ActivityRow, SignInCheckPage, html};

#[derive(Deserialize)]
pub struct AnswerForm {
    token: String,
    /// `valid` or `invalid`.
    answer: String,
}

const SPENT: (StatusCode, &str, &str) = (
    StatusCode::GONE,
    "This link no longer works",
    "It was used already, has expired, or a newer notice replaced it. If you think someone else signed in to your account, change your password, or choose a new one with \"Forgot your password?\" on the sign-in page.",
);

const INVALID: (StatusCode, &str, &str) = (
    StatusCode::NOT_FOUND,
    "This link is not valid",
    "Check that you opened the whole link from the message.",
);

/// `GET /t/{tenant}/sign-in-check?token=…`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(token) = query.token.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(outcome_page(
            &tenant,
            StatusCode::OK,
            "This link is incomplete",
            "Open the link from the message again: your mail program may have cut it off.",
        ));
    };
    let (event, user) = match link::check(&state.ctx, &tenant, token).await? {
        Checked::Open { event, user } => (event, user),
        Checked::Invalid => return Ok(outcome_page(&tenant, INVALID.0, INVALID.1, INVALID.2)),
        Checked::Spent => return Ok(outcome_page(&tenant, SPENT.0, SPENT.1, SPENT.2)),
    };
    let action = paths::sign_in_check(&tenant.slug);
    Ok(csrf::with_token(&state, &req, |csrf_token| {
        html(
            StatusCode::OK,
            &SignInCheckPage {
                tenant_name: &tenant.display_name,
                csrf_token,
                token,
                action: &action,
                user_label: user.label(),
                event: ActivityRow::new(&event),
            },
        )
    }))
}

/// `POST /t/{tenant}/sign-in-check`: the answer.
pub async fn answer(
    state: web::Data<AppState>,
    client: Caller,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let Some(value) = Value::parse(&form.answer) else {
        return Err(PageError::bad_request(
            "The answer must be \"valid\" or \"invalid\".",
        ));
    };
    let outcome = link::answer(&state.ctx, &tenant, &form.token, value, client.origin()).await?;
    Ok(match outcome {
        Answered::Confirmed => outcome_page(
            &tenant,
            StatusCode::OK,
            "Thank you",
            "We will remember this device and place: signing in from them will not look unusual.",
        ),
        Answered::Reported { ended, reset_sent } => {
            let next = if reset_sent {
                format!(
                    "We sent you a link to choose a new password: it works for {} minutes.",
                    crate::recovery::LINK_MINUTES
                )
            } else {
                "Choose a new one with \"Forgot your password?\" on the sign-in page.".into()
            };
            let message = format!(
                "We signed your account out everywhere ({ended}), and your password no longer works. {next} If you use that password anywhere else, change it there too."
            );
            outcome_page(&tenant, StatusCode::OK, "Your account is secured", &message)
        }
        Answered::Spent => outcome_page(&tenant, SPENT.0, SPENT.1, SPENT.2),
        Answered::Invalid => outcome_page(&tenant, INVALID.0, INVALID.1, INVALID.2),
    })
}
