//! `/api-keys`: list, create (the secret shown once), revoke. A key never manages keys.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::paging::{Page, PageQuery, cursor};
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::admin::api_keys::{self, ApiKey};
use crate::domain::admin::Permissions;

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            permissions: k.permissions.iter().map(|p| p.to_string()).collect(),
            created_by: k.created_by,
            created_at: k.created_at.to_rfc3339(),
            expires_at: k.expires_at.map(|t| t.to_rfc3339()),
            last_used_at: k.last_used_at.map(|t| t.to_rfc3339()),
            revoked_at: k.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(max_length = 512)]
    pub after: Option<String>,
}

/// A tenant's API keys, newest first.
#[utoipa::path(
    operation_id = "list_api_keys",
    tag = "admins",
    params(TenantPath, KeyQuery),
    responses(
        (status = 200, body = Page<ApiKeyView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:admins:read"]))
)]
#[get("/api-keys")]
pub async fn list(
    c: ApiCaller,
    req: HttpRequest,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, Problem> {
    let paging = PageQuery {
        limit: query.limit,
        after: query.after.clone(),
    };
    let limit = paging.limit()?;
    let after: Option<(i64, String)> = paging.after()?;
    let keys = api_keys::list(c.ctx(), &c.tenant, &c.admin, after, limit + 1).await?;
    let page = Page::of(
        keys,
        limit,
        |k: &ApiKey| cursor(&(k.created_at.timestamp(), k.id.clone())),
        ApiKeyView::from,
    );
    Ok(page.respond(req.path(), limit))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `module:read` or `module:write`, at most what the creator holds, never `admins:write`.
    pub permissions: Vec<String>,
    /// Days until the key stops working (1 to 3650); absent: no expiry.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A new key with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// Send as `Authorization: Bearer …`; it is not shown again.
    pub secret: String,
}

/// Create an API key (people only: a key cannot).
#[utoipa::path(
    operation_id = "create_api_key",
    tag = "admins",
    params(TenantPath),
    request_body = NewKeyBody,
    responses(
        (status = 201, body = CreatedKey),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:admins:write"]))
)]
#[post("/api-keys")]
pub async fn create(c: ApiCaller, body: web::Json<NewKeyBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    if body.permissions.len() > 20 {
        return Err(Problem::invalid("permissions", "at most 20 permissions"));
    }
    let permissions = Permissions::parse(&body.permissions.join(" "))
        .map_err(|e| Problem::invalid("permissions", e.to_string()))?;
    let created = api_keys::create(
        c.ctx(),
        &c.tenant,
        &c.admin,
        &body.name,
        permissions,
        body.expires_in_days,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedKey {
            key: created.key.into(),
            secret: created.secret,
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The key's id.
    pub id: String,
}

/// Revoke an API key (idempotent).
#[utoipa::path(
    tag = "admins",
    params(KeyPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:admins:write"]))
)]
#[delete("/api-keys/{id}")]
pub async fn revoke(c: ApiCaller, path: web::Path<KeyPath>) -> Result<HttpResponse, Problem> {
    api_keys::revoke(c.ctx(), &c.tenant, &c.admin, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
