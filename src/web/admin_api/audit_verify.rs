//! `/audit/verify`: the tenant's audit hash chain checked on demand (what `watchword audit
//! verify --tenant` reports), for integrators who watch the log's integrity over the API.

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;

/// What verifying the tenant's chain found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    /// No link is broken.
    pub intact: bool,
    /// Rows verified.
    pub rows: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The checkpoint verification started from (retention removed the rows before it).
    pub checkpoint: Option<i64>,
    /// Rows written before the chain existed (not covered by it).
    pub unchained: i64,
    /// The first broken link, in words (`seq`, what is wrong).
    pub broken: Option<String>,
}

/// Verifies the tenant's audit hash chain from its checkpoint to its head (reads every row in
/// batches: on a very large log prefer `watchword audit verify`).
#[utoipa::path(
    operation_id = "verify_audit",
    tag = "audit",
    params(TenantPath),
    responses(
        (status = 200, body = ChainView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:events:read"]))
)]
#[get("/audit/verify")]
pub async fn verify(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let report = crate::admin::audit::verify_for(c.ctx(), &c.tenant, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ChainView {
            intact: report.intact(),
            rows: report.rows,
            first_seq: report.first_seq,
            last_seq: report.last_seq,
            checkpoint: report.checkpoint,
            unchained: report.unchained,
            broken: report.broken.as_ref().map(ToString::to_string),
        }))
}
