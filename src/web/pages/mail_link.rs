//! The two pages of every link sent by mail (address verification and change, password reset,
//! sign-up): opening the link shows a button that uses it (mail scanners open links; only the
//! `POST` acts), and using it shows what it did. The `TokenQuery` / `TokenForm` they read are
//! here too.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domain::tenant::Tenant;
use crate::web::csrf;
use crate::web::state::AppState;
use crate::web::templates::{MailLinkPage, html};

/// `?token=…` of a link.
#[derive(Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

/// The button's form.
#[derive(Deserialize)]
pub struct TokenForm {
    pub token: String,
}

/// The button page of a link.
pub struct Button<'a> {
    /// Where the button posts the token.
    pub action: String,
    pub button: &'a str,
    pub heading: &'a str,
    /// What pressing the button does.
    pub message: &'a str,
    /// What to do when the link has no token (cut off by a mail program).
    pub incomplete: &'a str,
}

/// The page that shows `button` for the link's `token` (or says the link is incomplete).
pub fn button_page(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    token: Option<&str>,
    button: Button<'_>,
) -> HttpResponse {
    let token = token.filter(|t| !t.is_empty());
    csrf::with_token(state, req, |csrf_token| {
        html(
            StatusCode::OK,
            &MailLinkPage {
                tenant_name: &tenant.display_name,
                tenant_slug: tenant.slug.as_str(),
                csrf_token,
                token,
                action: &button.action,
                button: button.button,
                heading: button.heading,
                message: if token.is_some() {
                    button.message
                } else {
                    button.incomplete
                },
            },
        )
    })
}

/// What using a link did (no button).
pub fn outcome_page(
    tenant: &Tenant,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> HttpResponse {
    html(
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
    )
}
