//! The askama page templates (compiled in; HTML is escaped automatically) and the one helper that
//! turns a template into a response; the account pages' templates are in `account`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub identifier: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    /// Offer "Sign in with a passkey" (WebAuthn available, MFA not off).
    pub passkeys: bool,
    /// Offer "Create an account" (the tenant's registration is open).
    pub registration: bool,
    /// "Sign in with …" buttons of the tenant's identity providers.
    pub providers: Vec<ProviderButton>,
    /// Offer "Continue with single sign-on" (a provider owns e-mail domains).
    pub sso: bool,
}

/// A "Sign in with {name}" button.
pub struct ProviderButton {
    pub href: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "auth/logout.html")]
pub struct LogoutPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
}

#[derive(Template)]
#[template(path = "auth/signed_out.html")]
pub struct SignedOutPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub username: &'a str,
    pub signed_in: String,
    pub signed_in_iso: String,
    pub ip: &'a str,
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub token: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub min_length: usize,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "oauth/form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub fields: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
pub struct ConsentPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub pending_id: &'a str,
    pub client_name: &'a str,
    pub user_label: &'a str,
    pub scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "oauth/end_session.html")]
pub struct EndSessionPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub client_name: Option<&'a str>,
    pub fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
    pub back: Option<&'a str>,
}

/// Renders a page with the given status. Pages are never cached (they carry CSRF tokens and
/// personal data).
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// One browser session as the hosted pages list it.
pub struct SessionRow {
    pub sid: String,
    pub device: String,
    pub ip: String,
    pub started: String,
    pub started_iso: String,
    pub last_seen: String,
    pub last_seen_iso: String,
    pub current: bool,
}

impl SessionRow {
    pub fn new(record: &crate::domain::session::BrowserSession, current_sid: Option<&str>) -> Self {
        let started = crate::clock::from_unix(record.created_at);
        let last_seen = crate::clock::from_unix(record.last_seen);
        Self {
            sid: record.sid.clone(),
            device: record.device.clone(),
            ip: if record.ip.is_empty() {
                "unknown address".into()
            } else {
                record.ip.clone()
            },
            started: started.format("%Y-%m-%d %H:%M UTC").to_string(),
            started_iso: started.to_rfc3339(),
            last_seen: last_seen.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_seen_iso: last_seen.to_rfc3339(),
            current: current_sid == Some(record.sid.as_str()),
        }
    }
}

/// "1 device", "3 devices", "any number of devices".
pub fn limit_text(policy: &crate::domain::session::SessionPolicy) -> String {
    match policy.max_sessions_per_user.max() {
        None => "any number of devices".into(),
        Some(1) => "one device".into(),
        Some(n) => format!("{n} devices"),
    }
}

#[derive(Template)]
#[template(path = "auth/session_limit.html")]
pub struct SessionLimitPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub identifier: &'a str,
    pub limit_text: String,
    pub end_text: &'a str,
    pub sessions: Vec<SessionRow>,
    pub error: Option<&'a str>,
    /// `?return_to=…` (a pending authorization request goes on after cancelling), or empty.
    pub cancel_query: String,
}

#[derive(Template)]
#[template(path = "auth/session_ended.html")]
pub struct SessionEndedPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub heading: &'a str,
    pub message: &'a str,
    pub by: Option<crate::auth::sessions::Elsewhere>,
    pub at: String,
    pub at_iso: String,
    pub login_query: String,
}

mod account;
pub use account::*;
