//! Setting up a second factor during sign-in, when the tenant requires one and the user has
//! none (or an application asks for a security key the user does not have yet): an authenticator
//! app's QR code and first code, or registering a security key or passkey (the JSON ceremony is
//! `super::webauthn`). Also the form the account page uses to add an authenticator app.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mfa::{Current, current, finished_response, start_over};
use crate::auth::mfa::totp;
use crate::auth::pending_signin::{LevelState, NeedState};
use crate::auth::second_step::{self, Outcome, Proof};
use crate::domain::tenant::Tenant;
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::CheckedForm;
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{MfaEnrolPage, TotpSetup, html};

pub async fn enrol_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    let cur = match enrolling(&state, &req, &tenant).await? {
        Ok(cur) => cur,
        Err(elsewhere) => return Ok(elsewhere),
    };
    render_enrol(&state, &req, &tenant, &cur, None).await
}

async fn render_enrol(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    cur: &Current,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let phr = cur.pending.level == LevelState::Phr;
    let totp = if phr {
        None
    } else {
        // The seed being set up is shown again while it lasts (`totp::ENROLMENT_SECS`), so the
        // app scanned before a mistyped code keeps matching.
        totp::start(&state.ctx, tenant, &cur.user)
            .await
            .map_err(PageError::from)?
            .map(|e| TotpSetup {
                qr_png_base64: e.qr_png_base64,
                manual_key: e.manual_key,
            })
    };
    let totp_action = paths::enrol_totp(&tenant.slug);
    let webauthn_base = paths::enrol_webauthn(&tenant.slug);
    Ok(enrol_html(
        state,
        req,
        tenant,
        if phr {
            "This application asks for a security key or passkey. Register one to continue."
        } else {
            "Your organization requires a second factor. Set one up to continue."
        },
        totp,
        &totp_action,
        state
            .ctx
            .webauthn
            .is_some()
            .then_some(webauthn_base.as_str()),
        None,
        error,
    ))
}

/// The pending sign-in, if it is one that must set a factor up (the user has none at all).
/// Any other pending sign-in goes to the second-factor page: it must prove the factor it has.
pub async fn enrolling(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Result<Current, HttpResponse>, PageError> {
    Ok(match current(state, req, tenant).await? {
        Some(cur) if cur.pending.need == NeedState::Enrolment => Ok(cur),
        Some(_) => Err(super::see_other(&paths::login_step(&tenant.slug, "verify"))),
        None => Err(start_over(state, tenant)),
    })
}

/// The set-up page: an authenticator app's QR code and first-code form, and/or registering a
/// security key or passkey (at `webauthn_base`).
#[allow(clippy::too_many_arguments)]
fn enrol_html(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    intro: &str,
    totp: Option<TotpSetup>,
    totp_action: &str,
    webauthn_base: Option<&str>,
    back: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let mut res = html(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &MfaEnrolPage {
            tenant_name: &tenant.display_name,
            csrf_token: &issue.token,
            intro,
            totp,
            totp_action,
            webauthn: webauthn_base.is_some(),
            webauthn_base: webauthn_base.unwrap_or(""),
            error,
            back,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

/// The account page's "set up an authenticator app" form.
pub fn enrol_form_page(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    setup: totp::Enrolment,
    action: &str,
    back: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    Ok(enrol_html(
        state,
        req,
        tenant,
        "Add an authenticator app as a second factor.",
        Some(TotpSetup {
            qr_png_base64: setup.qr_png_base64,
            manual_key: setup.manual_key,
        }),
        action,
        None,
        Some(back),
        error,
    ))
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn enrol_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    CheckedForm(form): CheckedForm<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let cur = match enrolling(&state, &req, &tenant).await? {
        Ok(cur) => cur,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let origin = client.origin();
    let outcome = second_step::prove(
        &state.ctx,
        &tenant,
        &cur.token,
        &cur.pending,
        &cur.user,
        Proof::EnrolTotp(&form.code),
        client.ip,
        &origin,
    )
    .await?;
    match outcome {
        Outcome::Finished { finished, .. } => {
            finished_response(&state, &req, &tenant, &client, &cur, finished, None)
                .await
                .map(super::login::SignedInAnswer::redirect)
        }
        Outcome::Throttled { retry_after } => {
            let msg =
                super::login::throttled_message(retry_after).replace("sign-in attempts", "codes");
            let mut res = render_enrol(&state, &req, &tenant, &cur, Some(&msg)).await?;
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(res)
        }
        Outcome::Wrong(msg) => render_enrol(&state, &req, &tenant, &cur, Some(&msg)).await,
        Outcome::NotOffered(msg) => render_enrol(&state, &req, &tenant, &cur, Some(msg)).await,
        Outcome::PasswordConfirmed => Ok(super::see_other(&paths::enrol(&tenant.slug))),
    }
}
