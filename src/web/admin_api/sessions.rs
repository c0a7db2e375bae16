//! `/sessions/{sid}`: ending one browser session by its public id (as `GET
//! /users/{id}/sessions` lists it), through `admin::sessions::end` and so the lifecycle: record,
//! grants issued in it, back-channel logout, audit.

use actix_web::{HttpResponse, delete, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use crate::admin;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The session's public id (`sid`).
    pub sid: String,
}

/// End one session. A session that is not (or no longer) there answers 404.
#[utoipa::path(
    operation_id = "end_session",
    tag = "sessions",
    params(SessionPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:sessions:write"]))
)]
#[delete("/sessions/{sid}")]
pub async fn end(c: ApiCaller, path: web::Path<SessionPath>) -> Result<HttpResponse, Problem> {
    if path.sid.is_empty() || path.sid.len() > 256 {
        return Err(Problem::not_found("session"));
    }
    admin::sessions::end(c.ctx(), &c.tenant, &path.sid, &c.admin).await?;
    Ok(HttpResponse::NoContent().finish())
}
