//! The users screen: search by username or e-mail prefix (`q`; with `@` it is an e-mail prefix),
//! keyset paging ("Next" with `after`, the last row's normalized key; no totals, no offsets), 50
//! a page (`storage::users::page`), and creating a user (`admin::users::create`). An htmx request
//! (`HX-Request`: the typeahead, "Next" in place) gets just the rows.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views::{NewUserPage, UserLine, UsersPage};
use super::views_config::UserRows;
use super::{Screen, render};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::domain::secret::Secret;
use crate::domain::user::{User, normalize};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths::{self, query_escape};
use crate::web::people::see_other;
use crate::web::state::AppState;

/// Users a page lists.
pub const PAGE: i64 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<ListQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Users))?;
    let ListQuery { q, after } = query.into_inner();
    let q: String = q.unwrap_or_default().trim().chars().take(254).collect();
    let after: Option<String> = after
        .filter(|a| !a.is_empty())
        .map(|a| a.chars().take(254).collect());
    let by_email = q.contains('@');
    let prefix = Some(q.clone()).filter(|q| !q.is_empty());
    let mut rows = crate::admin::reads::users(
        &state.ctx,
        &page.tenant,
        &page.admin,
        prefix,
        after,
        PAGE + 1,
    )
    .await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let slug = page.tenant.slug.clone();
    let next = rows.last().filter(|_| more).map(|u: &User| {
        let key = if by_email {
            normalize(u.email.as_deref().unwrap_or(""))
        } else {
            normalize(&u.username)
        };
        format!(
            "{}?q={}&after={}",
            paths::admin_page(&slug, "users"),
            query_escape(&q),
            query_escape(&key)
        )
    });
    let rows = rows
        .into_iter()
        .map(|u| UserLine {
            href: paths::admin_user(&slug, u.id),
            username: u.username,
            email: u.email.unwrap_or_default(),
            display_name: u.display_name.unwrap_or_default(),
            enabled: u.enabled,
            role: u.admin_role.map_or("", |r| r.as_str()),
        })
        .collect();
    if super::fragment(&req) {
        return Ok(super::render_fragment(&UserRows { rows, next }));
    }
    let can_create = page.can(Permission::write(Module::Users));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Users,
        StatusCode::OK,
        None,
        |frame| UsersPage {
            frame,
            q,
            rows,
            next,
            can_create,
        },
    ))
}

#[derive(Deserialize, Default)]
pub struct NewUserForm {
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

fn form_page(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    status: StatusCode,
    form: NewUserForm,
    error: Option<String>,
) -> HttpResponse {
    render(state, req, page, Screen::Users, status, None, |frame| {
        NewUserPage {
            frame,
            error,
            username: form.username,
            email: form.email,
            display_name: form.display_name,
        }
    })
}

pub async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Users))?;
    Ok(form_page(
        &state,
        &req,
        &page,
        StatusCode::OK,
        NewUserForm::default(),
        None,
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Users))?;
    let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let new = admin::users::NewUser {
        username: form.username.trim().to_owned(),
        email: blank(&form.email),
        email_verified: false,
        display_name: blank(&form.display_name),
        password: Some(form.password.clone())
            .filter(|p| !p.is_empty())
            .map(Secret::new),
        admin_role: None,
        enabled: true,
    };
    match admin::users::create(&state.ctx, &page.tenant, new, &page.admin).await {
        Ok(user) => Ok(see_other(&paths::done(
            paths::admin_user(&page.tenant.slug, user.id),
            "created",
        ))),
        Err(
            e
            @ (AdminError::Invalid(_) | AdminError::Conflict(_) | AdminError::PasswordRejected(_)),
        ) => {
            let form = NewUserForm {
                password: String::new(),
                ..form
            };
            Ok(form_page(
                &state,
                &req,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                Some(e.to_string()),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
