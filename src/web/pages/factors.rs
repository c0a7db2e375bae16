//! The account's sign-in methods: authenticator app (set up, remove), security keys and passkeys
//! (register, remove), recovery codes (create, replace). Whether the session may make a change
//! now, and the change with its audit event, are `crate::auth::mfa::changes`; a session that must
//! confirm a factor (or its password) first is sent to a step-up. Where the tenant allows several
//! sessions the user is offered to end the others after a change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mfa_enrol::enrol_form_page;
use super::see_other;
use crate::auth::mfa::changes::{self, Changed};
use crate::auth::mfa::{self, FactorError, totp};
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::{SignedIn, back};
use crate::web::state::AppState;
use crate::web::templates::{AccountSecurityPage, KeyRow, RecoveryCodesPage, html};

/// The signed-in visitor, or where to send them.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Result<(BrowserSession, User), HttpResponse>, PageError> {
    super::signed_in_or_redirect(state, req, tenant, &paths::security(&tenant.slug)).await
}

/// Where a session that may not change factors yet goes first: a step-up (a second factor, or
/// the password again for a user with none), then back to the sign-in methods page.
pub fn confirm_first_path(tenant: &Tenant) -> String {
    paths::step_up(&tenant.slug, "mfa", &paths::security(&tenant.slug))
}

/// The page answer for a change the engine did not make.
fn not_changed<T>(tenant: &Tenant, changed: Changed<T>) -> Result<HttpResponse, PageError> {
    match changed {
        Changed::Done(_) | Changed::ConfirmFirst => Ok(see_other(&confirm_first_path(tenant))),
        Changed::Refused(why) => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "This change is not allowed",
            why,
        )),
    }
}

#[derive(Deserialize)]
pub struct SecurityQuery {
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<SecurityQuery>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Security>,
) -> Result<HttpResponse, PageError> {
    let factors = mfa::factors(&state.ctx, &tenant, &user).await?;
    let (notice, changed) = match query.done.as_deref() {
        Some("totp") => (Some("The authenticator app is set up."), true),
        Some("totp-removed") => (Some("The authenticator app was removed."), true),
        Some("key") => (Some("The security key or passkey was added."), true),
        Some("key-removed") => (Some("The security key or passkey was removed."), true),
        Some("key-renamed") => (Some("The security key or passkey was renamed."), false),
        Some("key-not-renamed") => (Some("Give the key a name that is not empty."), false),
        _ => (None, false),
    };
    let others = super::sessions(&state)
        .list_for_user(tenant.id, user.id)
        .await?
        .iter()
        .any(|f| f.record.sid != session.sid);
    let allows_several = tenant.policy.session.max_sessions_per_user.max() != Some(1);
    let when = |t: i64| crate::clock::from_unix(t).format("%Y-%m-%d").to_string();
    let keys = factors
        .credentials
        .iter()
        .map(|k| KeyRow {
            id: k.id.clone(),
            name: k.name.clone(),
            kind: if k.discoverable {
                "passkey"
            } else {
                "security key"
            },
            added: when(k.created_at),
            last_used: k.last_used_at.map(when),
        })
        .collect();
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &AccountSecurityPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            user_label: user.label(),
            notice,
            offer_end_others: changed && others && allows_several,
            totp: factors.totp,
            mfa_enabled: tenant.policy.mfa.enabled(),
            keys,
            webauthn: state.ctx.webauthn.is_some() && tenant.policy.mfa.enabled(),
            recovery_left: factors.recovery_left,
            recovery_text: match factors.recovery_left {
                0 => "You have no recovery codes. Create some in case you lose your second factor."
                    .into(),
                1 => "One unused recovery code left.".into(),
                n => format!("{n} unused recovery codes left."),
            },
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// Setting up an authenticator app: the QR code and a form for the first code.
pub async fn totp_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Security>,
) -> Result<HttpResponse, PageError> {
    let setup = match changes::start_totp(&state.ctx, &tenant, &session, &user).await? {
        Changed::Done(Some(setup)) => setup,
        Changed::Done(None) => return Ok(see_other(&paths::security(&tenant.slug))),
        other => return not_changed(&tenant, other),
    };
    enrol_form_page(
        &state,
        &req,
        &tenant,
        setup,
        &paths::account_totp(&tenant.slug),
        &paths::security(&tenant.slug),
        None,
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: Caller,
    CheckedForm(form): CheckedForm<CodeForm>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Security>,
) -> Result<HttpResponse, PageError> {
    if !totp::pending(&state.ctx, &tenant, &user).await? {
        return Ok(see_other(&paths::security(&tenant.slug)));
    }
    let origin = client.origin();
    match changes::confirm_totp(&state.ctx, &tenant, &session, &user, &form.code, &origin).await {
        Ok(Changed::Done(())) => Ok(see_other(&format!(
            "{}?done=totp",
            paths::security(&tenant.slug)
        ))),
        Ok(other) => not_changed(&tenant, other),
        Err(FactorError::WrongCode) => {
            // The same key again: the app scanned before the mistyped code keeps matching.
            let setup = totp::start(&state.ctx, &tenant, &user)
                .await?
                .ok_or_else(PageError::not_found)?;
            enrol_form_page(
                &state,
                &req,
                &tenant,
                setup,
                &paths::account_totp(&tenant.slug),
                &paths::security(&tenant.slug),
                Some(&FactorError::WrongCode.to_string()),
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn totp_remove(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Security>,
) -> Result<HttpResponse, PageError> {
    let origin = client.origin();
    match changes::remove_totp(&state.ctx, &tenant, &session, &user, &origin).await? {
        Changed::Done(()) => Ok(see_other(&format!(
            "{}?done=totp-removed",
            paths::security(&tenant.slug)
        ))),
        other => not_changed(&tenant, other),
    }
}

pub async fn key_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let tenant = super::load_tenant_for(&state, &req, &slug).await?;
    let (session, user) = match signed_in(&state, &req, &tenant).await? {
        Ok(v) => v,
        Err(redirect) => return Ok(redirect),
    };
    let origin = client.origin();
    match changes::remove_key(&state.ctx, &tenant, &session, &user, &id, &origin).await? {
        Changed::Done(()) => Ok(see_other(&format!(
            "{}?done=key-removed",
            paths::security(&tenant.slug)
        ))),
        other => not_changed(&tenant, other),
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

/// Renames a security key or passkey (a label: no fresh second factor needed). Audited.
pub async fn key_rename(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    client: Caller,
    CheckedForm(form): CheckedForm<RenameForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let tenant = super::load_tenant_for(&state, &req, &slug).await?;
    let (_, user) = match signed_in(&state, &req, &tenant).await? {
        Ok(v) => v,
        Err(redirect) => return Ok(redirect),
    };
    let renamed = changes::rename_key(
        &state.ctx,
        &tenant,
        &user,
        &id,
        &form.name,
        &client.origin(),
    )
    .await?;
    let done = if renamed {
        "key-renamed"
    } else {
        "key-not-renamed"
    };
    Ok(see_other(&format!(
        "{}?done={done}",
        paths::security(&tenant.slug)
    )))
}

pub async fn recovery_generate(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Security>,
) -> Result<HttpResponse, PageError> {
    let origin = client.origin();
    let codes =
        match changes::new_recovery_codes(&state.ctx, &tenant, &session, &user, &origin).await? {
            Changed::Done(codes) => codes,
            other => return not_changed(&tenant, other),
        };
    Ok(html(
        StatusCode::OK,
        &RecoveryCodesPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            codes,
        },
    ))
}
