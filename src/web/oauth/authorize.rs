//! `GET|POST /t/{tenant}/authorize`, `/authorize/continue` (resume after sign-in) and
//! `/authorize/consent` (the consent page and its answer).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{page_error, read_body};
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::oauth::authorize::pending::{self, ParkedFor, Pending};
use crate::oauth::authorize::{
    self, AuthorizationResponse, AuthorizeError, ResponseMode, Step, consent,
};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths::{self, query_escape};
use crate::web::people::{PeopleTenant, Visitor, see_other, visitor};
use crate::web::state::AppState;
use crate::web::templates::{ConsentPage, FormPostPage, html};

/// Sends the authorization response to the client.
fn respond(resp: &AuthorizationResponse) -> HttpResponse {
    match resp.mode {
        ResponseMode::Query => {
            let mut res = see_other(&resp.location());
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        ResponseMode::FormPost => {
            let mut res = html(
                StatusCode::OK,
                &FormPostPage {
                    action: &resp.redirect_uri,
                    fields: &resp.params,
                },
            );
            let target = resp
                .redirect_uri
                .split('?')
                .next()
                .unwrap_or_default()
                .replace([';', ',', ' ', '\''], "");
            let csp = format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; form-action {target}; frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}

/// Sends an error to the client; a failure of ours (`server_error`, `temporarily_unavailable`)
/// is logged with its cause first, although the answer is a redirect.
fn respond_failed(resp: &AuthorizationResponse, error: &OAuthError) -> HttpResponse {
    if super::status_of(error.code).is_server_error() {
        super::log(error);
        let mut res = respond(resp);
        res.extensions_mut()
            .insert(crate::web::error::FailureLogged);
        return res;
    }
    respond(resp)
}

fn fail(state: &AppState, tenant: &Tenant, e: AuthorizeError) -> Result<HttpResponse, PageError> {
    match e {
        AuthorizeError::Page(e) => match e.code {
            ErrorCode::TemporarilyUnavailable => {
                Err(PageError::unavailable(e.detail.unwrap_or_default()))
            }
            ErrorCode::ServerError => Err(PageError::internal(e.detail.unwrap_or_default())),
            _ => Err(page_error(&e)),
        },
        AuthorizeError::Redirect {
            redirect_uri,
            response_mode,
            state: client_state,
            error,
        } => Ok(respond_failed(
            &AuthorizationResponse::error(
                &state.ctx,
                tenant,
                redirect_uri,
                response_mode,
                client_state,
                &error,
            ),
            &error,
        )),
    }
}

/// The signed-in session of this browser, if any (timed-out ones are ended here).
async fn current(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Option<BrowserSession>, PageError> {
    Ok(match visitor(state, req, tenant).await? {
        Visitor::SignedIn { session, .. } => Some(*session),
        Visitor::Anonymous { .. } => None,
    })
}

fn render_step(tenant: &Tenant, step: Step) -> HttpResponse {
    match step {
        Step::SignIn {
            pending_id,
            login_hint,
        } => {
            let back = paths::authorize_continue(&tenant.slug, &pending_id);
            let mut target = paths::login_returning(&tenant.slug, &back);
            if let Some(hint) = login_hint {
                target.push_str(&format!("&login_hint={}", query_escape(&hint)));
            }
            see_other(&target)
        }
        Step::StepUp { pending_id, level } => {
            let back = paths::authorize_continue(&tenant.slug, &pending_id);
            see_other(&paths::step_up(&tenant.slug, level.as_str(), &back))
        }
        Step::Consent { pending_id } => see_other(&paths::consent(&tenant.slug, &pending_id)),
        Step::Respond(resp) => respond(&resp),
    }
}

async fn start(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    raw: &[u8],
) -> Result<HttpResponse, PageError> {
    let (params, repeated) = Params::parse_noting_repeats(raw).map_err(|e| page_error(&e))?;
    let request =
        match authorize::validate_with_repeats(&state.ctx, tenant, params, &repeated).await {
            Ok(r) => r,
            Err(e) => return fail(state, tenant, e),
        };
    let session = current(state, req, tenant).await?;
    let now = state.ctx.clock.unix();
    // `max_age` is judged once, when the request arrives: if the sign-in is too old, a new one
    // is required (exactly like prompt=login), so the resume cannot loop across a second.
    let too_old = match (request.max_age, &session) {
        (Some(max), Some(s)) => now - s.auth_time > max,
        _ => false,
    };
    let pending = Pending::new(
        tenant.id,
        request.params.clone(),
        now,
        request.prompt.login || too_old,
        session.as_ref(),
    );
    match authorize::next_step(&state.ctx, tenant, &request, pending, session.as_ref()).await {
        Ok(step) => Ok(render_step(tenant, step)),
        Err(e) => fail(state, tenant, e),
    }
}

pub async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    start(&state, &req, &tenant, req.query_string().as_bytes()).await
}

pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let body = read_body(&state, &req, payload)
        .await
        .map_err(|e| page_error(&e))?;
    start(&state, &req, &tenant, &body).await
}

fn expired_request() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired",
        "Go back to the application and start again.",
    )
}

#[derive(Deserialize)]
pub struct PendingQuery {
    #[serde(default)]
    id: String,
}

/// Loads and re-validates a parked request.
async fn resume(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
) -> Result<(Pending, authorize::AuthorizeRequest), Result<HttpResponse, PageError>> {
    let pending = pending::load(&state.ctx, tenant.id, id)
        .await
        .map_err(|e| Err(e.into()))?
        .ok_or(Err(expired_request()))?;
    match authorize::validate(&state.ctx, tenant, pending.params.clone()).await {
        Ok(r) => Ok((pending, r)),
        Err(e) => Err(fail(state, tenant, e)),
    }
}

pub async fn resume_after_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<PendingQuery>,
) -> Result<HttpResponse, PageError> {
    let (pending, request) = match resume(&state, &tenant, &query.id).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let session = current(&state, &req, &tenant).await?;
    match authorize::next_step(&state.ctx, &tenant, &request, pending, session.as_ref()).await {
        Ok(step) => Ok(render_step(&tenant, step)),
        Err(e) => fail(&state, &tenant, e),
    }
}

/// Human descriptions of the scopes on the consent page.
fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your user id)".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your e-mail address".into(),
        "offline_access" => "Stay connected when you are not using it".into(),
        other => format!("Use \u{201c}{other}\u{201d}"),
    }
}

pub async fn consent_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<PendingQuery>,
) -> Result<HttpResponse, PageError> {
    let (pending, request) = match resume(&state, &tenant, &query.id).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    if pending.parked_for != ParkedFor::Consent {
        return Err(expired_request());
    }
    let Visitor::SignedIn { user, .. } = visitor(&state, &req, &tenant).await? else {
        return Ok(see_other(&paths::authorize_continue(
            &tenant.slug,
            &query.id,
        )));
    };
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &ConsentPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            pending_id: &query.id,
            client_name: &request.client.name,
            user_label: user.label(),
            scopes: request.scope.iter().map(describe).collect(),
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    id: String,
    decision: String,
}

pub async fn consent_answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let (pending, request) = match resume(&state, &tenant, &form.id).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let Visitor::SignedIn { session, user } = visitor(&state, &req, &tenant).await? else {
        return Ok(see_other(&paths::authorize_continue(
            &tenant.slug,
            &form.id,
        )));
    };
    if pending.parked_for != ParkedFor::Consent {
        return Err(expired_request());
    }
    pending::delete(&state.ctx, &form.id).await?;
    if form.decision != "allow" {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return fail(&state, &tenant, AuthorizeError::redirect(&request, denied));
    }
    if let Err(e) = consent::remember(
        &state.ctx,
        &tenant,
        user.id,
        &request.client.client_id,
        &request.scope,
    )
    .await
    {
        return fail(&state, &tenant, AuthorizeError::redirect(&request, e));
    }
    // Issuing the code re-runs every check (sign-in, step-up), not only consent.
    let mut pending = pending;
    pending.consented = true;
    match authorize::next_step(&state.ctx, &tenant, &request, pending, Some(&session)).await {
        Ok(step) => Ok(render_step(&tenant, step)),
        Err(e) => fail(&state, &tenant, e),
    }
}
