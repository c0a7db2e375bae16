//! Applications (OAuth clients) in the management UI: the list (`clients:read`), registering one
//! (`clients:write`; a confidential client's secret is shown once on the answer page) and editing
//! its settings (`admin::clients::create`, `admin::clients::update`, both audited). One
//! application's page, its secret and its deletion are `client.rs`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::client::{load, page_of};
use super::client_form::{field, form_page, settings_of};
use super::views_config::{ClientLine, ClientsPage};
use super::{Done, Screen, render, segment};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::domain::client::{Client, ClientKind, ClientSettings};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

/// The address of an application's page.
pub fn href(page: &AdminPage, client_id: &str) -> String {
    paths::admin_page(
        &page.tenant.slug,
        &format!("clients/{}", segment(client_id)),
    )
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Clients))?;
    let notice = super::notice(query.done.as_deref());
    let rows = admin::clients::list(&state.ctx, &page.tenant)
        .await?
        .into_iter()
        .map(|c| ClientLine {
            href: href(&page, &c.client_id),
            kind: kind_str(c.kind),
            grants: c
                .settings
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            client_id: c.client_id,
            name: c.name,
        })
        .collect();
    let can_write = page.can(Permission::write(Module::Clients));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Clients,
        StatusCode::OK,
        notice,
        |frame| ClientsPage {
            frame,
            rows,
            can_write,
        },
    ))
}

pub fn kind_str(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Confidential => "confidential",
        ClientKind::Public => "public",
    }
}

pub async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let action = paths::admin_page(&page.tenant.slug, "clients/new");
    let settings = ClientSettings::default();
    Ok(form_page(
        &state,
        &req,
        &page,
        (action, StatusCode::OK),
        (&settings, "confidential"),
        (String::new(), None, None),
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let kind = match field(&form, "kind") {
        "public" => ClientKind::Public,
        _ => ClientKind::Confidential,
    };
    let action = paths::admin_page(&page.tenant.slug, "clients/new");
    let refused = |settings: &ClientSettings, e: &AdminError| {
        form_page(
            &state,
            &req,
            &page,
            (action.clone(), StatusCode::UNPROCESSABLE_ENTITY),
            (settings, kind_str(kind)),
            (field(&form, "name").to_owned(), Some(e), Some(&form)),
        )
    };
    let settings = match settings_of(&form, ClientSettings::default()) {
        (s, Some(e)) => return Ok(refused(&s, &e)),
        (s, None) => s,
    };
    let new = admin::clients::NewClient {
        client_id: None,
        name: field(&form, "name").to_owned(),
        kind,
        auth_method: None,
        settings: settings.clone(),
        secret: None,
    };
    match admin::clients::create(&state.ctx, &page.tenant, new, &page.admin).await {
        Ok(made) => {
            let secret = made.secret.map(|s| s.expose().clone());
            Ok(page_of(
                &state,
                &req,
                &page,
                &made.client,
                Some("created"),
                secret,
            ))
        }
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => Ok(refused(&settings, &e)),
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let c = load(&state, &page, &path.1).await?;
    let action = format!("{}/edit", href(&page, &c.client_id));
    Ok(form_page(
        &state,
        &req,
        &page,
        (action, StatusCode::OK),
        (&c.settings, kind_str(c.kind)),
        (c.name.clone(), None, None),
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let current = load(&state, &page, &path.1).await?;
    let here = href(&page, &current.client_id);
    let name = field(&form, "name").trim().to_owned();
    let refused = |settings: &ClientSettings, e: &AdminError| {
        form_page(
            &state,
            &req,
            &page,
            (format!("{here}/edit"), StatusCode::UNPROCESSABLE_ENTITY),
            (settings, kind_str(current.kind)),
            (name.clone(), Some(e), Some(&form)),
        )
    };
    let settings = match settings_of(&form, current.settings.clone()) {
        (s, Some(e)) => return Ok(refused(&s, &e)),
        (s, None) => s,
    };
    let next = Client {
        name: name.clone(),
        settings,
        ..current.clone()
    };
    match admin::clients::update(
        &state.ctx,
        &page.tenant,
        &current,
        next.clone(),
        &page.admin,
    )
    .await
    {
        Ok(changed) => Ok(see_other(&paths::done(
            here.clone(),
            if changed {
                "client-updated"
            } else {
                "client-unchanged"
            },
        ))),
        Err(e @ AdminError::Invalid(_)) => Ok(refused(&next.settings, &e)),
        Err(e) => Err(e.into()),
    }
}
