//! `/policy`: the tenant's whole policy (sessions, passwords, tokens, throttling, network, MFA,
//! registration, risk, audit retention) with its `ETag`; replaced (`PUT`) or changed by a JSON
//! merge patch (`PATCH`, RFC 7396), each with `If-Match`. A bad value or unknown member is a
//! 422 naming it by its dotted path (`session.max_sessions_per_user`).

use actix_web::{HttpRequest, HttpResponse, get, patch, put, web};
use serde_json::Value;

use super::auth::ApiCaller;
use super::etag;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::admin;
use crate::domain::tenant::Tenant;

fn answer(tenant: &Tenant) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", etag::of(tenant.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(&tenant.policy)
}

/// Read the tenant's policy (the `ETag` is what `If-Match` takes on changes).
#[utoipa::path(
    operation_id = "read_policy",
    tag = "policies",
    params(TenantPath),
    responses(
        (status = 200, body = Object, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:policies:read"]))
)]
#[get("/policy")]
pub async fn read(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let tenant = admin::policies::read(c.ctx(), &c.tenant, &c.admin).await?;
    Ok(answer(&tenant))
}

/// Replace the whole policy (absent members get their defaults). Needs `If-Match`.
#[utoipa::path(
    operation_id = "replace_policy",
    tag = "policies",
    params(TenantPath, ("If-Match" = String, Header, description = "the ETag last read")),
    request_body = Object,
    responses(
        (status = 200, body = Object, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:policies:write"]))
)]
#[put("/policy")]
pub async fn replace(
    c: ApiCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, Problem> {
    let expected = etag::if_match(&req)?;
    let tenant =
        admin::policies::replace(c.ctx(), &c.tenant, expected, body.into_inner(), &c.admin).await?;
    Ok(answer(&tenant))
}

/// Change the policy with a JSON merge patch (RFC 7396; `application/json` or
/// `application/merge-patch+json`): members present replace, `null` restores the default.
/// Needs `If-Match`.
#[utoipa::path(
    operation_id = "patch_policy",
    tag = "policies",
    params(TenantPath, ("If-Match" = String, Header, description = "the ETag last read")),
    request_body = Object,
    responses(
        (status = 200, body = Object, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:policies:write"]))
)]
#[patch("/policy")]
pub async fn update(
    c: ApiCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, Problem> {
    let expected = etag::if_match(&req)?;
    let tenant =
        admin::policies::patch(c.ctx(), &c.tenant, expected, &body.into_inner(), &c.admin).await?;
    Ok(answer(&tenant))
}
