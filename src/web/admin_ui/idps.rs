//! Identity providers in the management UI: the list (`idps:read`), and adding or editing a
//! generic OpenID Connect provider (`idps:write`; `admin::idps::create`, `admin::idps::update`,
//! both audited). The client secret is a password field that is never filled in: empty keeps
//! the stored one. One provider's page, enabling, disabling and deleting are `idp.rs`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::idp::{href, load};
use super::views_config::{IdpFormPage, IdpLine, IdpsPage};
use super::{Done, Screen, render};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::domain::idp::{IdentityProvider, IdpKind, IdpSettings, Linking, OidcSettings};
use crate::domain::secret::Secret;
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

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.trim())
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

const LINKING: [(&str, Linking); 3] = [
    ("proof", Linking::Proof),
    ("trusted_email", Linking::TrustedEmail),
    ("never", Linking::Never),
];

/// The provider the form describes, over `base` (settings the form does not show are kept).
fn from_form(form: &HashMap<String, String>, mut base: IdentityProvider) -> IdentityProvider {
    base.display_name = field(form, "display_name").to_owned();
    base.enabled = form.contains_key("enabled");
    let s = &mut base.settings;
    s.domains = words(field(form, "domains"));
    s.jit = form.contains_key("jit");
    s.trust_email = form.contains_key("trust_email");
    s.default = form.contains_key("default");
    s.linking = LINKING
        .iter()
        .find(|(v, _)| *v == field(form, "linking"))
        .map_or(Linking::Proof, |(_, l)| *l);
    let scopes = words(field(form, "scopes"));
    s.oidc = Some(OidcSettings {
        issuer: field(form, "issuer").to_owned(),
        client_id: field(form, "client_id").to_owned(),
        scopes: if scopes.is_empty() {
            vec!["openid".into(), "email".into(), "profile".into()]
        } else {
            scopes
        },
        userinfo: form.contains_key("userinfo"),
    });
    base
}

fn form_page(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    (action, status, error): (String, StatusCode, Option<String>),
    idp: &IdentityProvider,
) -> HttpResponse {
    let editing = action.ends_with("/edit");
    let oidc = idp.settings.oidc.clone();
    render(state, req, page, Screen::Idps, status, None, |frame| {
        IdpFormPage {
            frame,
            action,
            editing,
            error,
            slug: idp.slug.clone(),
            display_name: idp.display_name.clone(),
            issuer: oidc.as_ref().map_or_else(String::new, |o| o.issuer.clone()),
            client_id: oidc
                .as_ref()
                .map_or_else(String::new, |o| o.client_id.clone()),
            has_secret: idp.has_secret,
            scopes: oidc
                .as_ref()
                .map_or_else(|| "openid email profile".into(), |o| o.scopes.join(" ")),
            domains: idp.settings.domains.join(" "),
            enabled: idp.enabled,
            jit: idp.settings.jit,
            trust_email: idp.settings.trust_email,
            default: idp.settings.default,
            userinfo: oidc.is_some_and(|o| o.userinfo),
            linking: LINKING
                .iter()
                .map(|(v, l)| (*v, *l == idp.settings.linking))
                .collect(),
        }
    })
}

fn blank(page: &AdminPage) -> IdentityProvider {
    IdentityProvider {
        id: crate::domain::ids::IdpId::generate(),
        tenant_id: page.tenant.id,
        slug: String::new(),
        kind: IdpKind::Oidc,
        display_name: String::new(),
        enabled: true,
        settings: IdpSettings {
            domains: Vec::new(),
            jit: true,
            linking: Linking::default(),
            trust_email: false,
            default: false,
            mfa: Default::default(),
            mapping: Default::default(),
            emit_groups: false,
            oidc: None,
            entra: None,
            saml: None,
        },
        has_secret: false,
        version: 0,
    }
}

pub async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let action = paths::admin_page(&page.tenant.slug, "idps/new");
    Ok(form_page(
        &state,
        &req,
        &page,
        (action, StatusCode::OK, None),
        &blank(&page),
    ))
}

fn secret_of(form: &HashMap<String, String>) -> Option<Secret<String>> {
    Some(field(form, "client_secret"))
        .filter(|s| !s.is_empty())
        .map(|s| Secret::new(s.to_owned()))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let mut idp = from_form(&form, blank(&page));
    idp.slug = field(&form, "slug").to_owned();
    let new = admin::idps::NewIdp {
        slug: idp.slug.clone(),
        kind: IdpKind::Oidc,
        display_name: idp.display_name.clone(),
        enabled: idp.enabled,
        settings: idp.settings.clone(),
        client_secret: secret_of(&form),
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
                paths::admin_page(&page.tenant.slug, "idps/new"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
            ),
            &idp,
        )),
        Err(e) => Err(e.into()),
    }
}

/// Only generic OpenID Connect providers are edited here (others through the API or CLI).
async fn load_oidc(
    state: &AppState,
    page: &AdminPage,
    slug: &str,
) -> Result<IdentityProvider, PageError> {
    let idp = load(state, page, slug).await?;
    if idp.kind != IdpKind::Oidc {
        return Err(PageError::not_found());
    }
    Ok(idp)
}

pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let idp = load_oidc(&state, &page, &path.1).await?;
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
    let current = load_oidc(&state, &page, &path.1).await?;
    let next = from_form(&form, current.clone());
    let here = href(&page, &current.slug);
    let secret = secret_of(&form).map(Some);
    match admin::idps::update(&state.ctx, &page.tenant, next.clone(), secret, &page.admin).await {
        Ok(_) => Ok(see_other(&paths::done(here, "idp-updated"))),
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => Ok(form_page(
            &state,
            &req,
            &page,
            (
                format!("{here}/edit"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
            ),
            &next,
        )),
        Err(e) => Err(e.into()),
    }
}
