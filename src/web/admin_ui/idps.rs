//! Identity providers in the management UI: the list (`idps:read`), and adding or editing a
//! provider of any kind (OpenID Connect, Entra, SAML; `idps:write`; `admin::idps::create`,
//! `admin::idps::update`, both audited; the form itself is `idp_form.rs`). A client secret is a
//! password field that is never filled in: empty keeps the stored one. One provider's page,
//! enabling, disabling and deleting are `idp.rs`; a SAML metadata import `idp_import.rs`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::idp::{href, load};
use super::idp_form::{blank, field, form_page, from_form, kind_of, secret_of};
use super::views_config::{IdpLine, IdpsPage};
use super::{Done, Screen, render};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::domain::idp::IdpKind;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Idps))?;
    let rows = admin::idps::list(&state.ctx, &page.tenant)
        .await?
        .into_iter()
        .map(|s| IdpLine {
            href: href(&page, &s.idp.slug),
            kind: s.idp.kind.as_str(),
            enabled: s.idp.enabled,
            domains: s.idp.settings.domains.join(", "),
            slug: s.idp.slug,
            name: s.idp.display_name,
        })
        .collect();
    let can_write = page.can(Permission::write(Module::Idps));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Idps,
        StatusCode::OK,
        super::notice(query.done.as_deref()),
        |frame| IdpsPage {
            frame,
            rows,
            can_write,
        },
    ))
}

/// The query of the form for a new provider: which kind (`oidc`, `entra`, `saml`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindQuery {
    pub kind: Option<String>,
}

fn new_action(page: &AdminPage) -> String {
    paths::admin_page(&page.tenant.slug, "idps/new")
}

pub async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<KindQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let kind = kind_of(query.kind.as_deref());
    Ok(form_page(
        &state,
        &req,
        &page,
        (new_action(&page), StatusCode::OK, None),
        &blank(&page, kind),
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let kind = kind_of(form.get("kind").map(String::as_str));
    let mut idp = from_form(&form, blank(&page, kind));
    idp.slug = field(&form, "slug").to_owned();
    let new = admin::idps::NewIdp {
        slug: idp.slug.clone(),
        kind,
        display_name: idp.display_name.clone(),
        enabled: idp.enabled,
        settings: idp.settings.clone(),
        client_secret: secret_of(&form).filter(|_| kind != IdpKind::Saml),
    };
    match admin::idps::create(&state.ctx, &page.tenant, new, &page.admin).await {
        Ok(made) => Ok(see_other(&paths::done(
            href(&page, &made.slug),
            "idp-created",
        ))),
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => Ok(form_page(
            &state,
            &req,
            &page,
            (
                new_action(&page),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&e),
            ),
            &idp,
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
    page.require(Permission::write(Module::Idps))?;
    let idp = load(&state, &page, &path.1).await?;
    let action = format!("{}/edit", href(&page, &idp.slug));
    Ok(form_page(
        &state,
        &req,
        &page,
        (action, StatusCode::OK, None),
        &idp,
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let current = load(&state, &page, &path.1).await?;
    let next = from_form(&form, current.clone());
    let here = href(&page, &current.slug);
    // A SAML provider's secret is our signing key, managed through the API or CLI.
    let secret = secret_of(&form)
        .filter(|_| current.kind != IdpKind::Saml)
        .map(Some);
    match admin::idps::update(&state.ctx, &page.tenant, next.clone(), secret, &page.admin).await {
        Ok(_) => Ok(see_other(&paths::done(here, "idp-updated"))),
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => Ok(form_page(
            &state,
            &req,
            &page,
            (
                format!("{here}/edit"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&e),
            ),
            &next,
        )),
        Err(e) => Err(e.into()),
    }
}
