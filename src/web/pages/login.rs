//! The sign-in page: `GET` shows the form, `POST` checks CSRF and the password, then starts a new
//! session (fresh id, fresh CSRF cookie) and returns the browser to a same-origin path.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{query_escape, see_other, session_token};
use crate::auth::signin::{self, PasswordSignIn, SignInResult};
use crate::domain::audit::Actor;
use crate::domain::tenant::Tenant;
use crate::logout::EndReason;
use crate::web::client::Client;
use crate::web::error::PageError;
use crate::web::form::{StrictForm, StrictQuery};
use crate::web::state::AppState;
use crate::web::templates::{LoginPage, html};
use crate::web::{cookies, csrf, return_to};

/// Same message for an unknown user and a wrong password (no account enumeration).
pub const INVALID_CREDENTIALS: &str = "The username or password is incorrect.";
pub const ACCOUNT_DISABLED: &str = "This account is disabled. Contact your administrator.";

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    /// A fixed notice code (never free text, so the page cannot be made to say anything).
    reason: Option<String>,
    /// Prefills the identifier (OIDC `login_hint`).
    login_hint: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: String,
    identifier: String,
    password: String,
    #[serde(default)]
    return_to: String,
}

fn notice_for(reason: Option<&str>) -> Option<&'static str> {
    match reason? {
        "expired" => Some("Your session has expired. Please sign in again."),
        "ended" => Some("Your session was ended. Please sign in again."),
        "setup_done" => Some("The administrator account was created. Sign in with it."),
        _ => None,
    }
}

struct Form<'a> {
    return_to: &'a str,
    identifier: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

fn render(state: &AppState, req: &HttpRequest, tenant: &Tenant, form: Form<'_>) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let mut res = html(
        StatusCode::OK,
        &LoginPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            return_to: form.return_to,
            identifier: form.identifier,
            error: form.error,
            notice: form.notice,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: StrictQuery<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant(&state, &path).await?;
    let return_to = query
        .return_to
        .as_deref()
        .and_then(return_to::safe_path)
        .unwrap_or("");
    let hint: String = query
        .login_hint
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(254)
        .collect();
    Ok(render(
        &state,
        &req,
        &tenant,
        Form {
            return_to,
            identifier: &hint,
            error: None,
            notice: notice_for(query.reason.as_deref()),
        },
    ))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    client: Client,
    StrictForm(form): StrictForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant(&state, &path).await?;
    csrf::verify(&state, &req, &form.csrf_token)?;
    let return_to = return_to::safe_path(&form.return_to).unwrap_or("");

    let result = signin::password_sign_in(
        &state.ctx,
        PasswordSignIn {
            tenant: &tenant,
            identifier: &form.identifier,
            password: &form.password,
            origin: client.origin(),
            replaces_session: session_token(&state, &req, &tenant),
        },
    )
    .await?;

    let error = match result {
        SignInResult::SignedIn {
            session, replaced, ..
        } => {
            if let Some(previous) = replaced {
                let origin = client.origin();
                super::end(
                    &state,
                    &tenant,
                    &previous,
                    EndReason::Replaced,
                    Actor::System,
                    origin,
                )
                .await?;
            }
            let target = if return_to.is_empty() {
                format!("/t/{}/", tenant.slug)
            } else {
                return_to.to_owned()
            };
            let mut res = see_other(&target);
            let name = cookies::session_name(state.https, &tenant.slug);
            let _ = res.add_cookie(&cookies::build(
                state.https,
                name,
                session.token.expose().clone(),
            ));
            if let Some(c) = csrf::fresh(&state).cookie {
                let _ = res.add_cookie(&c);
            }
            return Ok(res);
        }
        SignInResult::InvalidCredentials => INVALID_CREDENTIALS,
        SignInResult::Disabled => ACCOUNT_DISABLED,
    };
    let identifier: String = form.identifier.chars().take(254).collect();
    Ok(render(
        &state,
        &req,
        &tenant,
        Form {
            return_to,
            identifier: &identifier,
            error: Some(error),
            notice: None,
        },
    ))
}

/// Where to send a browser that must sign in before seeing `path`; `ended` is why its session
/// ended, if it had one.
pub fn login_redirect(tenant: &Tenant, path: &str, ended: Option<&str>) -> HttpResponse {
    let reason = match ended {
        Some("idle_timeout" | "absolute_timeout") => "&reason=expired",
        Some("signed_out" | "rp_logout") | None => "",
        Some(_) => "&reason=ended",
    };
    see_other(&format!(
        "/t/{}/login?return_to={}{reason}",
        tenant.slug,
        query_escape(path)
    ))
}
