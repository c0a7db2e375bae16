//! Applications (OAuth clients) in the management UI: the list (`clients:read`), registering one
//! (`clients:write`; a confidential client's secret is shown once on the answer page) and editing
//! its settings (`admin::clients::create`, `admin::clients::update`, both audited). One
//! application's page, its secret and its deletion are `client.rs`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::client::{load, page_of};
use super::views_config::{ClientFormPage, ClientLine, ClientsPage, GrantOption};
use super::{Done, Screen, render, segment};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::domain::client::{Client, ClientKind, ClientSettings, GrantType};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

const GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

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

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.as_str())
}

/// The settings the form describes, over `base` (fields the form does not show are kept).
fn settings_of(form: &HashMap<String, String>, mut base: ClientSettings) -> ClientSettings {
    base.redirect_uris = lines(field(form, "redirect_uris"));
    base.post_logout_redirect_uris = lines(field(form, "post_logout_redirect_uris"));
    base.grant_types = GRANTS
        .into_iter()
        .filter(|g| form.contains_key(&format!("grant_{}", g.as_str())))
        .collect();
    base.scopes = field(form, "scopes")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    base.first_party = form.contains_key("first_party");
    base.require_pkce = form.contains_key("require_pkce");
    base.require_mfa = form.contains_key("require_mfa");
    base.backchannel_logout_uri =
        Some(field(form, "backchannel_logout_uri").trim().to_owned()).filter(|u| !u.is_empty());
    base
}

/// The form, filled from `c` (or the form as posted, after an error).
fn form_page(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    action: String,
    status: StatusCode,
    (c, kind): (&ClientSettings, &str),
    (name, error): (String, Option<String>),
) -> HttpResponse {
    let editing = action.ends_with("/edit");
    render(state, req, page, Screen::Clients, status, None, |frame| {
        ClientFormPage {
            frame,
            action,
            editing,
            error,
            name,
            kind: kind.to_owned(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            grants: GRANTS
                .into_iter()
                .map(|g| GrantOption {
                    value: g.as_str(),
                    checked: c.grant_types.contains(&g),
                })
                .collect(),
            scopes: c.scopes.join(" "),
            first_party: c.first_party,
            require_pkce: c.require_pkce,
            require_mfa: c.require_mfa,
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
        }
    })
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
        action,
        StatusCode::OK,
        (&settings, "confidential"),
        (String::new(), None),
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Clients))?;
    let settings = settings_of(&form, ClientSettings::default());
    let kind = match field(&form, "kind") {
        "public" => ClientKind::Public,
        _ => ClientKind::Confidential,
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
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => Ok(form_page(
            &state,
            &req,
            &page,
            paths::admin_page(&page.tenant.slug, "clients/new"),
            StatusCode::UNPROCESSABLE_ENTITY,
            (&settings, kind_str(kind)),
            (field(&form, "name").to_owned(), Some(e.to_string())),
        )),
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
        action,
        StatusCode::OK,
        (&c.settings, kind_str(c.kind)),
        (c.name.clone(), None),
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
    let next = Client {
        name: field(&form, "name").trim().to_owned(),
        settings: settings_of(&form, current.settings.clone()),
        ..current.clone()
    };
    let here = href(&page, &current.client_id);
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
            here,
            if changed {
                "client-updated"
            } else {
                "client-unchanged"
            },
        ))),
        Err(e @ AdminError::Invalid(_)) => Ok(form_page(
            &state,
            &req,
            &page,
            format!("{here}/edit"),
            StatusCode::UNPROCESSABLE_ENTITY,
            (&next.settings, kind_str(next.kind)),
            (next.name.clone(), Some(e.to_string())),
        )),
        Err(e) => Err(e.into()),
    }
}
