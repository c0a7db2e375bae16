//! One identity provider in the management UI (`idps:read`): its kind, issuer or metadata,
//! domains and settings; never its secret, only whether one is set. Enabling or disabling it and
//! deleting it after a confirmation page (`idps:write`; `admin::idps::update`,
//! `admin::idps::delete`: its linked identities go too). A SAML provider's page also carries
//! the metadata import form (`idp_import.rs`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views_config::{ConfirmPage, IdpPage};
use super::{Done, Screen, render, segment};
use crate::admin;
use crate::domain::admin::{Module, Permission};
use crate::domain::idp::{IdentityProvider, IdpKind};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

/// The address of a provider's page.
pub fn href(page: &AdminPage, slug: &str) -> String {
    paths::admin_page(&page.tenant.slug, &format!("idps/{}", segment(slug)))
}

/// The provider of the path, in the administrator's tenant; anything else is "not found".
pub async fn load(
    state: &AppState,
    page: &AdminPage,
    slug: &str,
) -> Result<IdentityProvider, PageError> {
    Ok(admin::idps::find(&state.ctx, &page.tenant, slug)
        .await?
        .ok_or_else(PageError::not_found)?
        .idp)
}

/// What the provider is, in a few facts (no secret is among them).
fn facts(idp: &IdentityProvider) -> Vec<(&'static str, String)> {
    let s = &idp.settings;
    let mut out = Vec::new();
    if let Some(o) = &s.oidc {
        out.push(("Issuer", o.issuer.clone()));
        out.push(("Client id", o.client_id.clone()));
        out.push(("Scopes", o.scopes.join(" ")));
    }
    if let Some(e) = &s.entra {
        out.push(("Directory", e.tenant.clone()));
        out.push(("Client id", e.client_id.clone()));
    }
    if let Some(m) = &s.saml {
        out.push(("Entity id", m.entity_id.clone()));
        out.push(("Sign-in address", m.sso_url.clone()));
        out.push((
            "Metadata",
            m.metadata_url
                .clone()
                .unwrap_or_else(|| "not fetched".into()),
        ));
    }
    out.push((
        "Accounts created at first sign-in",
        if s.jit { "yes" } else { "no" }.into(),
    ));
    out.push(("Linking", format!("{:?}", s.linking).to_lowercase()));
    out.push((
        "Tenant's default",
        if s.default { "yes" } else { "no" }.into(),
    ));
    out
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Idps))?;
    let idp = load(&state, &page, &path.1).await?;
    let notice = super::notice(query.done.as_deref());
    Ok(page_of(
        &state,
        &req,
        &page,
        idp,
        (StatusCode::OK, notice),
        Import::default(),
    ))
}

/// What the metadata import form shows: what was typed, and a refusal (field, message).
#[derive(Default)]
pub struct Import {
    pub url: String,
    pub xml: String,
    pub error: Option<(String, String)>,
}

/// A provider's page (with the metadata import form of a SAML provider).
pub fn page_of(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    idp: IdentityProvider,
    (status, notice): (StatusCode, Option<&'static str>),
    import: Import,
) -> HttpResponse {
    let can_write = page.can(Permission::write(Module::Idps));
    let settings = serde_json::to_string_pretty(&idp.settings).unwrap_or_default();
    render(state, req, page, Screen::Idps, status, notice, |frame| {
        IdpPage {
            frame,
            href: href(page, &idp.slug),
            facts: facts(&idp),
            domains: idp.settings.domains.clone(),
            kind: idp.kind.as_str(),
            enabled: idp.enabled,
            has_secret: idp.has_secret,
            saml: idp.kind == IdpKind::Saml,
            import_url: if import.url.is_empty() {
                idp.settings
                    .saml
                    .as_ref()
                    .and_then(|m| m.metadata_url.clone())
                    .unwrap_or_default()
            } else {
                import.url
            },
            import_xml: import.xml,
            import_error: import.error,
            settings,
            slug: idp.slug,
            name: idp.display_name,
            can_write,
        }
    })
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

pub async fn set_enabled(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<EnabledForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let mut idp = load(&state, &page, &path.1).await?;
    idp.enabled = form.enabled == "true";
    let done = if idp.enabled {
        "idp-enabled"
    } else {
        "idp-disabled"
    };
    let here = href(&page, &idp.slug);
    admin::idps::update(&state.ctx, &page.tenant, idp, None, &page.admin).await?;
    Ok(see_other(&paths::done(here, done)))
}

pub async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let idp = load(&state, &page, &path.1).await?;
    let here = href(&page, &idp.slug);
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Idps,
        StatusCode::OK,
        None,
        |frame| ConfirmPage {
            frame,
            title: format!("Delete “{}”?", idp.display_name),
            question: "The identities linked through it are removed too; their users stay, but \
                       those without a password or another provider cannot sign in."
                .into(),
            action: format!("{here}/delete"),
            fields: Vec::new(),
            button: "Delete the provider",
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
    page.require(Permission::write(Module::Idps))?;
    let idp = load(&state, &page, &path.1).await?;
    admin::idps::delete(&state.ctx, &page.tenant, &idp.slug, &page.admin).await?;
    Ok(see_other(&paths::done(
        paths::admin_page(&page.tenant.slug, "idps"),
        "idp-deleted",
    )))
}
