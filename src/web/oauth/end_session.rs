//! `GET|POST /t/{tenant}/end-session` (RP-initiated logout) and its confirmation form.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{page_error, read_form};
use crate::domain::audit::Actor;
use crate::domain::tenant::Tenant;
use crate::lifecycle::EndReason;
use crate::oauth::end_session;
use crate::oauth::params::Params;
use crate::web::caller::Caller;
use crate::web::cookies;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::paths;
use crate::web::people::{PeopleTenant, Visitor, end, see_other, session_token, sessions, visitor};
use crate::web::state::AppState;
use crate::web::templates::{EndSessionPage, html};

/// The parameters carried through the confirmation form.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

async fn handle(
    state: &AppState,
    req: &HttpRequest,
    client: &Caller,
    tenant: &Tenant,
    params: Params,
    confirmed: bool,
) -> Result<HttpResponse, PageError> {
    let session = match visitor(state, req, tenant).await? {
        Visitor::SignedIn { session, .. } => Some(*session),
        Visitor::Anonymous { .. } => None,
    };
    let request = end_session::validate(&state.ctx, tenant, &params, session.as_ref())
        .await
        .map_err(|e| page_error(&e))?;
    if session.is_some() && !confirmed && !request.confirmed_by_hint {
        let issue = csrf::issue(state, req);
        let fields = CARRIED
            .iter()
            .filter_map(|k| params.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
            .collect();
        let mut res = html(
            StatusCode::OK,
            &EndSessionPage {
                tenant_name: &tenant.display_name,
                tenant_slug: tenant.slug.as_str(),
                csrf_token: &issue.token,
                client_name: request.client.as_ref().map(|c| c.name.as_str()),
                fields,
            },
        );
        if let Some(c) = issue.cookie {
            let _ = res.add_cookie(&c);
        }
        return Ok(res);
    }
    if let Some(token) = session_token(state, req, tenant)
        && let Some(found) = sessions(state).find_by_token(&token).await?
        && found.record.tenant_id == tenant.id
    {
        let actor = Actor::User(found.record.user_id.to_string());
        end(
            state,
            tenant,
            &found,
            EndReason::RpInitiated,
            actor,
            client.origin(),
        )
        .await?;
    }
    let mut res = match &request.redirect {
        Some(uri) => see_other(uri),
        None => see_other(&paths::signed_out(&tenant.slug)),
    };
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::session_name(state.https, &tenant.slug),
    ));
    if let Some(c) = csrf::fresh(state).cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

pub async fn end_session_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(|e| page_error(&e))?;
    handle(&state, &req, &client, &tenant, params, false).await
}

pub async fn end_session_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_form(&state, &req, payload)
        .await
        .map_err(|e| page_error(&e))?;
    handle(&state, &req, &client, &tenant, params, false).await
}

/// The user confirmed on our own page (CSRF-checked).
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_form(&state, &req, payload)
        .await
        .map_err(|e| page_error(&e))?;
    csrf::verify(&state, &req, params.get("csrf_token").unwrap_or(""))?;
    let carried = Params::from_pairs(
        CARRIED
            .iter()
            .filter_map(|k| params.get(k).map(|v| (*k, v))),
    );
    handle(&state, &req, &client, &tenant, carried, true).await
}
