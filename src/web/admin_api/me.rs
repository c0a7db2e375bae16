//! `/me`: who the caller is and every permission they hold in the tenant ("what can I do").

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;

/// The caller and their permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `person`, `api_key` or `client`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub role: Option<String>,
    /// `module:read` or `module:write` (write implies read).
    pub permissions: Vec<String>,
}

/// What can I do?
#[utoipa::path(
    tag = "admins",
    params(TenantPath),
    responses((status = 200, body = Me), (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn me(c: ApiCaller, _path: web::Path<TenantPath>) -> Result<HttpResponse, Problem> {
    let a = c.admin.abilities(c.tenant.id);
    Ok(HttpResponse::Ok().json(Me {
        kind: a.kind.to_owned(),
        id: a.id,
        name: a.name,
        role: a.role.map(str::to_owned),
        permissions: a.permissions,
    }))
}
