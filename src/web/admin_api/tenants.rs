//! `/tenants` (instance level): list, create (slug, display name, optional policy), read. Only an
//! instance admin holds `tenants:*`; API keys and client tokens never do, so through them every
//! route here answers 403 naming the permission (`admin::instance`).

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::etag;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::admin;
use crate::domain::tenant::Tenant;

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    /// The tenant's whole policy (as `GET /policy` in its API).
    #[schema(value_type = Object)]
    pub policy: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            slug: t.slug.to_string(),
            display_name: t.display_name,
            policy: serde_json::to_value(&t.policy).unwrap_or(Value::Null),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

/// Every tenant of the instance, by slug.
#[utoipa::path(
    operation_id = "list_tenants",
    tag = "tenants",
    params(TenantPath),
    responses(
        (status = 200, body = Vec<TenantView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:tenants:read"]))
)]
#[get("/tenants")]
pub async fn list(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let all = admin::instance::list(c.ctx(), &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(all.into_iter().map(TenantView::from).collect::<Vec<_>>()))
}

/// A tenant to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    /// 1-63 of `a-z`, `0-9` and `-`.
    #[schema(min_length = 1, max_length = 63)]
    pub slug: String,
    #[schema(max_length = 128)]
    pub display_name: Option<String>,
    /// Its policy (absent members get their defaults).
    #[schema(value_type = Option<Object>)]
    pub policy: Option<Value>,
}

/// Create a tenant (with its signing keys).
#[utoipa::path(
    operation_id = "create_tenant",
    tag = "tenants",
    params(TenantPath),
    request_body = NewTenantBody,
    responses(
        (status = 201, body = TenantView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:tenants:write"]))
)]
#[post("/tenants")]
pub async fn create(c: ApiCaller, body: web::Json<NewTenantBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let policy = body
        .policy
        .map(admin::policies::parse)
        .transpose()
        .map_err(|e| match e {
            admin::AdminError::InvalidPolicy(field, why) => {
                Problem::invalid(format!("policy.{field}"), why)
            }
            other => other.into(),
        })?;
    let tenant = admin::instance::create(
        c.ctx(),
        &body.slug,
        body.display_name.as_deref(),
        policy,
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag::of(tenant.version)))
        .insert_header(("Location", format!("tenants/{}", tenant.slug)))
        .json(TenantView::from(tenant)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SlugPath {
    /// The slug of the tenant whose API this is.
    pub tenant: String,
    /// The slug of the tenant to read.
    pub slug: String,
}

/// Read a tenant.
#[utoipa::path(
    operation_id = "read_tenant",
    tag = "tenants",
    params(SlugPath),
    responses(
        (status = 200, body = TenantView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:tenants:read"]))
)]
#[get("/tenants/{slug}")]
pub async fn read(c: ApiCaller, path: web::Path<SlugPath>) -> Result<HttpResponse, Problem> {
    let tenant = admin::instance::get(c.ctx(), &path.slug, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag::of(tenant.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(TenantView::from(tenant)))
}
