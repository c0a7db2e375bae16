//! Tenants in the management UI, for instance administrators only (`tenants:read`; to anyone
//! else, a tenant admin included, the screen is "not found", as what is not theirs is
//! elsewhere): every tenant with a link to its own management UI, and creating one by slug and
//! display name (`tenants:write`; `admin::tenants::create`: its signing keys are made and it is
//! audited).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::views_config::{TenantLine, TenantsPage};
use super::{Done, Screen, render, when};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

/// The screen exists only for those who may read tenants: anyone else gets "not found".
fn visible(page: &AdminPage) -> Result<(), PageError> {
    if page.can(Permission::read(Module::Tenants)) {
        Ok(())
    } else {
        Err(PageError::not_found())
    }
}

async fn page_of(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    (status, notice): (StatusCode, Option<&'static str>),
    (error, slug, display_name): (Option<String>, String, String),
) -> Result<HttpResponse, PageError> {
    let rows = admin::tenants::list(&state.ctx)
        .await?
        .into_iter()
        .map(|t| TenantLine {
            href: paths::admin(&t.slug),
            slug: t.slug.to_string(),
            name: t.display_name,
            created: when(t.created_at.timestamp()),
        })
        .collect();
    let can_write = page.can(Permission::write(Module::Tenants));
    Ok(render(
        state,
        req,
        page,
        Screen::Tenants,
        status,
        notice,
        |frame| TenantsPage {
            frame,
            rows,
            can_write,
            error,
            slug,
            display_name,
        },
    ))
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    visible(&page)?;
    page.require(Permission::read(Module::Tenants))?;
    let notice = super::notice(query.done.as_deref());
    page_of(
        &state,
        &req,
        &page,
        (StatusCode::OK, notice),
        (None, String::new(), String::new()),
    )
    .await
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    visible(&page)?;
    page.require(Permission::write(Module::Tenants))?;
    let slug = form.get("slug").map_or("", |s| s.trim()).to_owned();
    let name = form.get("display_name").map_or("", |s| s.trim()).to_owned();
    match admin::tenants::create(&state.ctx, &slug, Some(name.as_str()), None, &page.admin).await {
        Ok(_) => Ok(see_other(&paths::done(
            paths::admin_page(&page.tenant.slug, "tenants"),
            "tenant-created",
        ))),
        Err(
            e @ (AdminError::InvalidSlug(_) | AdminError::Invalid(_) | AdminError::Conflict(_)),
        ) => {
            page_of(
                &state,
                &req,
                &page,
                (StatusCode::UNPROCESSABLE_ENTITY, None),
                (Some(e.to_string()), slug, name),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
