//! Signing in through an upstream identity provider, the browser's side: leaving for it
//! (`/t/{t}/idp/{idp}/start`, or home-realm discovery from the sign-in page's address), coming
//! back (`/t/{t}/idp/{idp}/callback`), rendered like any finished sign-in; and the provider's
//! back-channel logout (`/t/{t}/idp/{idp}/backchannel-logout`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{
    ACCOUNT_DISABLED, RISK_DENIED, SIGN_IN_BLOCKED, login_error_page, started_response,
};
use super::{query_escape, see_other, session_token};
use crate::auth::federated::FederatedResult;
use crate::auth::pending_signin::NeedState;
use crate::domain::tenant::Tenant;
use crate::federation::{self, Arrival, Landing, OidcReturn, flow::Intent};
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::{cookies, paths, return_to};

#[derive(Deserialize)]
pub struct StartQuery {
    return_to: Option<String>,
    login_hint: Option<String>,
}

/// Leaves for the provider, with a flow cookie bound to the `state` it carries.
pub async fn start(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let back = query
        .return_to
        .as_deref()
        .and_then(return_to::safe_path)
        .unwrap_or("");
    let hint = query.login_hint.as_deref().filter(|h| h.len() <= 254);
    leave(&state, &tenant, &path.1, Intent::SignIn, back, hint).await
}

pub async fn leave(
    state: &AppState,
    tenant: &Tenant,
    slug: &str,
    intent: Intent,
    back: &str,
    hint: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let begun = federation::begin(&state.ctx, tenant, slug, intent, back, hint).await?;
    let mut res = see_other(&begun.redirect);
    let _ = res.add_cookie(&cookies::build(
        state.https,
        cookies::flow_name(state.https, &tenant.slug),
        begun.token,
    ));
    Ok(res)
}

#[derive(Deserialize)]
pub struct SsoForm {
    identifier: String,
    #[serde(default)]
    return_to: String,
}

/// Home-realm discovery: the sign-in page's address goes to the provider owning its domain.
pub async fn sso(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    CheckedForm(form): CheckedForm<SsoForm>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant_for(&state, &req, &path).await?;
    let back = return_to::safe_path(&form.return_to).unwrap_or("");
    let providers = federation::offered(&state.ctx, &tenant).await?;
    let identifier: String = form.identifier.chars().take(254).collect();
    match federation::home_realm(&providers, &identifier) {
        Some(idp) => {
            let slug = idp.slug.clone();
            leave(
                &state,
                &tenant,
                &slug,
                Intent::SignIn,
                back,
                Some(&identifier),
            )
            .await
        }
        None => Ok(login_error_page(
            &state,
            &req,
            &tenant,
            back,
            &identifier,
            "No single sign-on is set up for this address. Sign in with your password.",
            StatusCode::OK,
        )
        .await),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    state: String,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    session_state: Option<String>,
}

/// The OIDC redirect back from the provider.
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    query: StrictQuery<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let _ = (&query.error_description, &query.session_state);
    let jar = BrowserCookies::of(&state, &req, &tenant);
    let landing = federation::oidc_return(
        &state.ctx,
        &tenant,
        &path.1,
        OidcReturn {
            state: &query.state,
            code: query.code.as_deref(),
            iss: query.iss.as_deref(),
            error: query.error.as_deref(),
        },
        jar.arrival(&client),
    )
    .await?;
    finish(&state, &req, &tenant, &client, landing).await
}

/// What a returning browser holds: its flow, session and known-device cookies.
pub struct BrowserCookies {
    flow: Option<String>,
    session: Option<String>,
    device: Option<String>,
}

impl BrowserCookies {
    pub fn of(state: &AppState, req: &HttpRequest, tenant: &Tenant) -> Self {
        let value = |name: String| req.cookie(&name).map(|c| c.value().to_owned());
        Self {
            flow: value(cookies::flow_name(state.https, &tenant.slug)),
            session: session_token(state, req, tenant),
            device: value(cookies::device_name(state.https, &tenant.slug))
                .filter(|v| v.len() <= 256),
        }
    }

    pub fn arrival(&self, client: &Caller) -> Arrival<'_> {
        Arrival {
            origin: client.origin(),
            flow_cookie: self.flow.as_deref(),
            session_cookie: self.session.clone(),
            device: self.device.as_deref(),
        }
    }
}

/// Renders a landing and removes the used flow cookie.
pub async fn finish(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Caller,
    landing: Landing,
) -> Result<HttpResponse, PageError> {
    let mut res = render(state, req, tenant, client, landing).await?;
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::flow_name(state.https, &tenant.slug),
    ));
    Ok(res)
}

/// Renders where a federated sign-in landed (every protocol).
pub async fn render(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &Caller,
    landing: Landing,
) -> Result<HttpResponse, PageError> {
    match landing {
        Landing::SignIn {
            user,
            result,
            return_to,
        } => match result {
            FederatedResult::Started(started) => Ok(started_response(
                state,
                req,
                tenant,
                &client.origin(),
                &user,
                started,
                &return_to,
                None,
            )
            .await?
            .redirect()),
            FederatedResult::MoreNeeded { token, need } => {
                let next = match need {
                    NeedState::Enrolment => "enrol",
                    _ => "verify",
                };
                let mut res = see_other(&paths::login_step(&tenant.slug, next));
                let _ = res.add_cookie(&cookies::build(
                    state.https,
                    cookies::pending_name(state.https, &tenant.slug),
                    token,
                ));
                Ok(res)
            }
            FederatedResult::Disabled => {
                Ok(refused(state, req, tenant, &return_to, ACCOUNT_DISABLED).await)
            }
            FederatedResult::Blocked => {
                Ok(refused(state, req, tenant, &return_to, SIGN_IN_BLOCKED).await)
            }
            FederatedResult::RiskDenied => {
                Ok(refused(state, req, tenant, &return_to, RISK_DENIED).await)
            }
        },
        Landing::Linked { return_to } => {
            let to = if return_to.is_empty() {
                paths::identities(&tenant.slug)
            } else {
                return_to
            };
            Ok(see_other(&to))
        }
        Landing::NeedsProof {
            token,
            username,
            return_to,
        } => {
            let mut to = format!(
                "{}?reason=link&login_hint={}",
                paths::login(&tenant.slug),
                query_escape(&username)
            );
            if !return_to.is_empty() {
                to.push_str(&format!("&return_to={}", query_escape(&return_to)));
            }
            let mut res = see_other(&to);
            let _ = res.add_cookie(&cookies::build(
                state.https,
                cookies::link_name(state.https, &tenant.slug),
                token,
            ));
            Ok(res)
        }
    }
}

async fn refused(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    back: &str,
    message: &str,
) -> HttpResponse {
    login_error_page(state, req, tenant, back, "", message, StatusCode::FORBIDDEN).await
}

#[derive(Deserialize)]
pub struct LogoutForm {
    logout_token: String,
}

/// OIDC Back-Channel Logout from the provider: 200 when the token is accepted (sessions ended
/// or none to end), 400 with an OAuth-style error otherwise.
pub async fn backchannel_logout(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    form: web::Form<LogoutForm>,
) -> HttpResponse {
    match federation::logout::backchannel(&state.ctx, &tenant, &path.1, &form.logout_token, client.origin()).await {
        Ok(_) => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) if e.is_outage() => {
            tracing::error!(error = %e, request_id = %crate::web::error::request_id(), "upstream logout failed");
            HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "30"))
                .json(serde_json::json!({ "error": "temporarily_unavailable" }))
        }
        Err(e) => HttpResponse::BadRequest()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": "invalid_request", "error_description": e.to_string() })),
    }
}
