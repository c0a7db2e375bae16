//! One application in the management UI: its settings, redirect URIs, grant types and scopes
//! (`clients:read`); a new secret for a confidential client, shown once on the answer page
//! (`admin::clients::set_secret`), and deleting it after a confirmation page
//! (`admin::clients::delete`: its grants are revoked), both `clients:write`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::clients::{href, kind_str};
use super::views_config::{ClientPage, ConfirmPage};
use super::{Done, Screen, render, when};
use crate::admin;
use crate::domain::admin::{Module, Permission};
use crate::domain::client::Client;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

/// The application of the path, in the administrator's tenant; anything else is "not found".
pub async fn load(state: &AppState, page: &AdminPage, id: &str) -> Result<Client, PageError> {
    Ok(admin::clients::find(&state.ctx, &page.tenant, id)
        .await?
        .ok_or_else(PageError::not_found)?
        .client)
}

/// The application's page; `secret` is shown once (just registered or rotated).
pub fn page_of(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    c: &Client,
    done: Option<&str>,
    secret: Option<String>,
) -> HttpResponse {
    let notice = match (done, &secret) {
        (_, Some(_)) => Some("Copy the application's secret now: it is not shown again."),
        (Some("created"), None) => Some("The application was registered."),
        (d, None) => super::notice(d),
    };
    let s = &c.settings;
    let can_write = page.can(Permission::write(Module::Clients));
    render(
        state,
        req,
        page,
        Screen::Clients,
        StatusCode::OK,
        notice,
        |frame| ClientPage {
            frame,
            href: href(page, &c.client_id),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            kind: kind_str(c.kind),
            auth_method: c.auth_method.as_str(),
            redirect_uris: s.redirect_uris.clone(),
            post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
            grants: s.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: s.scopes.join(" "),
            flags: vec![
                ("First party (no consent page)", s.first_party),
                ("PKCE required", c.pkce_required()),
                ("Second factor required", s.require_mfa),
                ("Resource server (may introspect)", s.resource_server),
            ],
            backchannel_logout_uri: s.backchannel_logout_uri.clone().unwrap_or_default(),
            created: when(c.created_at.timestamp()),
            updated: when(c.updated_at.timestamp()),
            can_write,
            secret,
        },
    )
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Clients))?;
    let c = load(&state, &page, &path.1).await?;
    Ok(page_of(
        &state,
        &req,
        &page,
        &c,
        query.done.as_deref(),
        None,
    ))
}

/// A new secret, shown once on the answer page (never a redirect: it must not be in a URL).
pub async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let c = load(&state, &page, &path.1).await?;
    let secret =
        admin::clients::set_secret(&state.ctx, &page.tenant, &c, None, &page.admin).await?;
    Ok(page_of(
        &state,
        &req,
        &page,
        &c,
        None,
        Some(secret.expose().clone()),
    ))
}

pub async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let c = load(&state, &page, &path.1).await?;
    let here = href(&page, &c.client_id);
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Clients,
        StatusCode::OK,
        None,
        |frame| ConfirmPage {
            frame,
            title: format!("Delete “{}”?", c.name),
            question: "Its refresh and access tokens are revoked and its consents forgotten. \
                       This cannot be undone."
                .into(),
            action: format!("{here}/delete"),
            fields: Vec::new(),
            button: "Delete the application",
            cancel: here,
        },
    ))
}

pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let c = load(&state, &page, &path.1).await?;
    admin::clients::delete(&state.ctx, &page.tenant, &c.client_id, &page.admin).await?;
    Ok(see_other(&paths::done(
        paths::admin_page(&page.tenant.slug, "clients"),
        "client-deleted",
    )))
}
