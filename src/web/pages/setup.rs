//! The one-time page that creates a tenant's first administrator (link printed at first start).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::admin::setup::{self, SetupError};
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{SetupPage, html};

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    username: String,
    #[serde(default)]
    email: String,
    password: Secret<String>,
    password_confirm: Secret<String>,
}

fn invalid_link() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "Setup link not valid",
        SetupError::InvalidToken.to_string(),
    )
}

struct Values<'a> {
    token: &'a str,
    username: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

fn render(state: &AppState, req: &HttpRequest, tenant: &Tenant, v: Values<'_>) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let mut res = html(
        StatusCode::OK,
        &SetupPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            token: v.token,
            username: v.username,
            email: v.email,
            min_length: tenant.policy.password.min_length,
            error: v.error,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<SetupQuery>,
) -> Result<HttpResponse, PageError> {
    if !setup::token_is_valid(&state.ctx, &tenant, &query.token).await? {
        return Err(invalid_link());
    }
    Ok(render(
        &state,
        &req,
        &tenant,
        Values {
            token: &query.token,
            username: "",
            email: "",
            error: None,
        },
    ))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    CheckedForm(form): CheckedForm<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let again = |message: &str| {
        render(
            &state,
            &req,
            &tenant,
            Values {
                token: &form.token,
                username: &form.username,
                email: &form.email,
                error: Some(message),
            },
        )
    };
    if form.password.expose() != form.password_confirm.expose() {
        return Ok(again("The two passwords do not match."));
    }
    let result = setup::complete(
        &state.ctx,
        &tenant,
        &form.token,
        &form.username,
        Some(&form.email),
        form.password.clone(),
    )
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}?reason=setup_done",
            paths::login(&tenant.slug)
        ))),
        Err(SetupError::InvalidToken) => Err(invalid_link()),
        Err(SetupError::Admin(e)) => match PageError::from(e) {
            e if e.status == StatusCode::BAD_REQUEST => Ok(again(&e.message)),
            e => Err(e),
        },
    }
}
