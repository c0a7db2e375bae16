//! The askama page templates (compiled in; HTML is escaped automatically) and the one helper that
//! turns a template into a response.

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
