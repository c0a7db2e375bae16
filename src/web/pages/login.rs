//! The sign-in page: `GET` shows the form (with the tenant's identity providers, or goes
//! straight to its default one), `POST` checks CSRF, sends an address whose domain a provider
//! owns to that provider (home-realm discovery), or checks the password, then starts a new
//! session (fresh id, fresh CSRF cookie; the answer is `signed_in`) and returns the browser to a
//! same-origin path.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{see_other, session_token};
use crate::auth::sessions::Ended;
use crate::auth::signin::{self, PasswordSignIn, SignInResult};
use crate::domain::tenant::Tenant;
use crate::lifecycle::EndReason;
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{LoginPage, html};
use crate::web::{cookies, csrf, return_to};

/// Same message for an unknown user and a wrong password (no account enumeration).
pub const INVALID_CREDENTIALS: &str = "The username or password is incorrect.";
pub const ACCOUNT_DISABLED: &str = "This account is disabled. Contact your administrator.";
/// A passkey sign-in refused by risk scoring (the passkey proved who it is; the network is
/// what is refused).
pub const SIGN_IN_BLOCKED: &str =
    "This sign-in was blocked because it looked unusual. If it was you, check your e-mail.";
pub const RISK_DENIED: &str = "This sign-in looks unusual and needs a second factor, which your account does not have (or cannot set up from here). Sign in from a device or network you have used before, or contact your administrator.";
pub const BREACHED_NO_FACTOR: &str = "Your password appears in a list of passwords leaked in data breaches, so it cannot be used to sign in. Choose a new one with \"Forgot your password?\".";

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    /// A fixed notice code (never free text, so the page cannot be made to say anything).
    reason: Option<String>,
    /// Prefills the identifier (OIDC `login_hint`).
    login_hint: Option<String>,
    /// "1": the password page even when the tenant has a default identity provider (for local
    /// accounts such as a break-glass administrator).
    local: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    identifier: String,
    password: String,
    #[serde(default)]
    return_to: String,
    /// "1" when the user confirms ending their other sessions (session limit, `deny_new`).
    #[serde(default)]
    end_others: String,
}

fn notice_for(reason: Option<&str>) -> Option<&'static str> {
    match reason? {
        "expired" => Some("Your session has expired. Please sign in again."),
        "ended" => Some("Your session was ended. Please sign in again."),
        "setup_done" => Some("The administrator account was created. Sign in with it."),
        "password_changed" => Some(
            "Your password is changed and this browser was signed out. Sign in with the new password.",
        ),
        "password_reset" => Some(
            "Your password is changed and every session was signed out. Sign in with the new password.",
        ),
        "registered" => Some("Your account is ready. Sign in with your username and password."),
        "link" => Some(
            "An account with your e-mail address or username already exists here. Sign in to it once to link it to your organisation's sign-in; after that, your organisation's sign-in is enough.",
        ),
        _ => None,
    }
}

struct Form<'a> {
    return_to: &'a str,
    identifier: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    providers: &'a [crate::domain::idp::IdentityProvider],
}

/// The sign-in page with an error (federated sign-ins refused, an address no provider owns).
pub async fn login_error_page(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    return_to: &str,
    identifier: &str,
    error: &str,
    status: StatusCode,
) -> HttpResponse {
    let providers = crate::federation::offered(&state.ctx, tenant)
        .await
        .unwrap_or_default();
    let mut res = render(
        state,
        req,
        tenant,
        Form {
            return_to,
            identifier,
            error: Some(error),
            notice: None,
            providers: &providers,
        },
    );
    *res.status_mut() = status;
    res
}

fn render(state: &AppState, req: &HttpRequest, tenant: &Tenant, form: Form<'_>) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let buttons: Vec<crate::web::templates::ProviderButton> = form
        .providers
        .iter()
        .map(|p| crate::web::templates::ProviderButton {
            href: paths::idp_start(&tenant.slug, &p.slug, form.return_to),
            name: p.display_name.clone(),
        })
        .collect();
    let sso = form
        .providers
        .iter()
        .any(|p| !p.settings.domains.is_empty());
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
            passkeys: state.ctx.webauthn.is_some() && tenant.policy.mfa.enabled(),
            registration: tenant.policy.registration.mode
                == crate::domain::registration::RegistrationMode::Open,
            providers: buttons,
            sso,
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
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<LoginQuery>,
) -> Result<HttpResponse, PageError> {
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
    let providers = crate::federation::offered(&state.ctx, &tenant).await?;
    if query.reason.is_none()
        && query.local.as_deref() != Some("1")
        && let Some(idp) = crate::federation::default_of(&providers)
    {
        let hint = (!hint.is_empty()).then_some(hint.as_str());
        return super::federation::leave(
            &state,
            &tenant,
            &idp.slug.clone(),
            crate::federation::flow::Intent::SignIn,
            return_to,
            hint,
        )
        .await;
    }
    let evicted = match session_token(&state, &req, &tenant) {
        Some(token) if query.reason.is_none() => super::sessions(&state)
            .ended(&token)
            .await?
            .and_then(|e| evicted_notice(&e)),
        _ => None,
    };
    Ok(render(
        &state,
        &req,
        &tenant,
        Form {
            return_to,
            identifier: &hint,
            error: None,
            notice: evicted
                .as_deref()
                .or_else(|| notice_for(query.reason.as_deref())),
            providers: &providers,
        },
    ))
}

/// "You were signed out because your account signed in on another device (…)".
pub fn evicted_notice(ended: &Ended) -> Option<String> {
    let by = ended
        .by
        .as_ref()
        .filter(|_| ended.reason == EndReason::Evicted)?;
    let at = crate::clock::from_unix(ended.at).format("%Y-%m-%d %H:%M UTC");
    // The device and a coarse network, never the address: this browser may be a thief's.
    let network = by
        .network
        .as_deref()
        .map(|n| format!(", network {n}"))
        .unwrap_or_default();
    Some(format!(
        "You were signed out because your account signed in on another device ({}{network}) at {at}.",
        by.device
    ))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    client: Caller,
    CheckedForm(form): CheckedForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant_for(&state, &req, &path).await?;
    let return_to = return_to::safe_path(&form.return_to).unwrap_or("");
    // Home-realm discovery: an address whose domain a provider owns signs in there, never
    // with a password here.
    let providers = crate::federation::offered(&state.ctx, &tenant).await?;
    if let Some(idp) = crate::federation::home_realm(&providers, &form.identifier) {
        let hint: String = form.identifier.chars().take(254).collect();
        return super::federation::leave(
            &state,
            &tenant,
            &idp.slug.clone(),
            crate::federation::flow::Intent::SignIn,
            return_to,
            Some(&hint),
        )
        .await;
    }

    let result = signin::password_sign_in(
        &state.ctx,
        PasswordSignIn {
            tenant: &tenant,
            identifier: &form.identifier,
            password: &form.password,
            origin: client.origin(),
            replaces_session: session_token(&state, &req, &tenant),
            end_other_sessions: form.end_others == "1",
            ip: client.ip,
            device: req
                .cookie(&cookies::device_name(state.https, &tenant.slug))
                .map(|c| c.value().to_owned())
                .filter(|v| v.len() <= 256),
            return_to,
        },
    )
    .await?;

    let error = match result {
        SignInResult::Done {
            user,
            started,
            device,
        } => {
            return started_response(
                &state,
                &req,
                &tenant,
                &client.origin(),
                &user,
                started,
                return_to,
                Some(device),
            )
            .await
            .map(SignedInAnswer::redirect);
        }
        SignInResult::MoreNeeded {
            token,
            need,
            device,
        } => {
            let next = match need {
                crate::auth::pending_signin::NeedState::Enrolment => "enrol",
                _ => "verify",
            };
            let mut res = see_other(&paths::login_step(&tenant.slug, next));
            let _ = res.add_cookie(&cookies::build(
                state.https,
                cookies::pending_name(state.https, &tenant.slug),
                token,
            ));
            let _ = res.add_cookie(&device_cookie(&state, &tenant, device));
            return Ok(res);
        }
        SignInResult::Throttled { retry_after } => {
            let identifier: String = form.identifier.chars().take(254).collect();
            let message = throttled_message(retry_after);
            let mut res = render(
                &state,
                &req,
                &tenant,
                Form {
                    return_to,
                    identifier: &identifier,
                    error: Some(&message),
                    notice: None,
                    providers: &providers,
                },
            );
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            return Ok(res);
        }
        // A block is answered exactly like a wrong password: whoever tried learns nothing.
        SignInResult::InvalidCredentials | SignInResult::Blocked => INVALID_CREDENTIALS,
        SignInResult::RiskDenied { breached: true } => BREACHED_NO_FACTOR,
        SignInResult::RiskDenied { breached: false } => RISK_DENIED,
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
            providers: &providers,
        },
    ))
}

/// "Too many failed attempts. Wait 2 minutes before trying again."
pub fn throttled_message(retry_after: u64) -> String {
    let wait = match retry_after {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{retry_after} seconds"),
        91..=5399 => format!("{} minutes", retry_after.div_ceil(60)),
        _ => format!("{} hours", retry_after.div_ceil(3600)),
    };
    format!("Too many failed sign-in attempts. For your security, wait {wait} before trying again.")
}

pub(super) use super::signed_in::device_cookie;
pub use super::signed_in::{Next, SignedInAnswer, started_response};
pub use crate::web::people::{explained_on_its_own_page, login_redirect};
