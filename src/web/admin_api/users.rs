//! `/users`: list and search (username or e-mail prefix), create, read (with `ETag`), update
//! (with `If-Match`), disable and enable, set a password, reset second factors, sessions, linked
//! identities, role, sign-in events.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::etag;
use super::paging::{Page, PageQuery, cursor};
use super::problem::{Problem, ProblemBody};
use crate::admin;
use crate::domain::admin::Role;
use crate::domain::ids::UserId;
use crate::domain::secret::Secret;
use crate::domain::user::User;

/// A user as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub enabled: bool,
    /// The administrative role, if any.
    pub role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            display_name: u.display_name,
            enabled: u.enabled,
            role: u.admin_role.map(|r| r.as_str().to_owned()),
            created_at: u.created_at.to_rfc3339(),
            updated_at: u.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// A username prefix, or an e-mail prefix when it contains `@` (case-insensitive).
    #[param(max_length = 254)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(max_length = 512)]
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The user's id.
    pub id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// The tenant's slug.
    pub tenant: String,
}

pub(super) async fn load_user(c: &ApiCaller, id: &str) -> Result<User, Problem> {
    let id: UserId = id.parse().map_err(|_| Problem::not_found("user"))?;
    admin::users::find_by_id(c.ctx(), &c.tenant, id)
        .await?
        .ok_or_else(|| Problem::not_found("user"))
}

fn with_etag(user: User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", etag::of(user.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(UserView::from(user))
}

/// List users, or search them by prefix.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    params(TenantPath, UserQuery),
    responses(
        (status = 200, body = Page<UserView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users")]
pub async fn list(
    c: ApiCaller,
    req: HttpRequest,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, Problem> {
    let paging = PageQuery {
        limit: query.limit,
        after: query.after.clone(),
    };
    let limit = paging.limit()?;
    let after: Option<String> = paging.after()?;
    let prefix = query.q.clone().filter(|q| !q.trim().is_empty());
    if prefix.as_ref().is_some_and(|p| p.chars().count() > 254) {
        return Err(Problem::invalid("q", "q must be at most 254 characters"));
    }
    let by_email = prefix.as_deref().is_some_and(|p| p.contains('@'));
    let rows = admin::reads::users(c.ctx(), &c.tenant, &c.admin, prefix, after, limit + 1).await?;
    let page = Page::of(
        rows,
        limit,
        |u: &User| {
            cursor(&if by_email {
                crate::domain::user::normalize(u.email.as_deref().unwrap_or(""))
            } else {
                crate::domain::user::normalize(&u.username)
            })
        },
        UserView::from,
    );
    Ok(page.respond(req.path(), limit))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[schema(max_length = 128)]
    pub display_name: Option<String>,
    /// Checked against the tenant's password policy; omit for an account without a password.
    #[schema(max_length = 1024)]
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Create a user.
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    params(TenantPath),
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users")]
pub async fn create(c: ApiCaller, body: web::Json<NewUserBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let user = admin::users::create(
        c.ctx(),
        &c.tenant,
        admin::users::NewUser {
            username: body.username,
            email: body.email,
            email_verified: body.email_verified,
            display_name: body.display_name,
            password: body.password.map(Secret::new),
            admin_role: None,
            enabled: body.enabled,
        },
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag::of(user.version)))
        .insert_header(("Location", format!("users/{}", user.id)))
        .json(UserView::from(user)))
}

/// Read a user (the `ETag` is what `If-Match` takes on updates).
#[utoipa::path(
    operation_id = "read_user",
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = UserView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users/{id}")]
pub async fn read(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    Ok(with_etag(load_user(&c, &path.id).await?))
}

/// Changes to a user's profile; absent fields stay as they are (`null` clears).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, deserialize_with = "some")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "some")]
    #[schema(max_length = 128)]
    pub display_name: Option<Option<String>>,
}

fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Update a user's profile. Needs `If-Match` with the `ETag` last read: a change made meanwhile
/// by someone else answers 412 and nothing is written.
#[utoipa::path(
    tag = "users",
    params(UserPath, ("If-Match" = String, Header, description = "the ETag last read")),
    request_body = UserPatch,
    responses(
        (status = 200, body = UserView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"), (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[patch("/users/{id}")]
pub async fn update(
    c: ApiCaller,
    req: HttpRequest,
    path: web::Path<UserPath>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, Problem> {
    let expected = etag::if_match(&req)?;
    let mut user = load_user(&c, &path.id).await?;
    if user.version != expected {
        return Err(Problem::precondition_failed());
    }
    let body = body.into_inner();
    let email = body.email.unwrap_or_else(|| user.email.clone());
    let display = body
        .display_name
        .unwrap_or_else(|| user.display_name.clone());
    admin::users::update_profile(
        c.ctx(),
        &c.tenant,
        &user,
        email.as_deref(),
        body.email_verified,
        display.as_deref(),
        user.admin_role,
        &c.admin,
    )
    .await?;
    user = load_user(&c, &path.id).await?;
    Ok(with_etag(user))
}

/// Disable a user: every session ends, every grant is revoked.
#[utoipa::path(
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users/{id}/disable")]
pub async fn disable(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    set_enabled(c, &path.id, false).await
}

/// Enable a disabled user.
#[utoipa::path(
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users/{id}/enable")]
pub async fn enable(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    set_enabled(c, &path.id, true).await
}

async fn set_enabled(c: ApiCaller, id: &str, enabled: bool) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, id).await?;
    admin::users::set_enabled(c.ctx(), &c.tenant, user, enabled, &c.admin).await?;
    Ok(with_etag(load_user(&c, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// What ending a user's access did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub sessions_ended: usize,
}

/// Set a user's password (the tenant's policy applies); every session ends.
#[utoipa::path(
    tag = "users",
    params(UserPath),
    request_body = PasswordBody,
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[put("/users/{id}/password")]
pub async fn set_password(
    c: ApiCaller,
    path: web::Path<UserPath>,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    admin::users::set_password(
        c.ctx(),
        &c.tenant,
        &user,
        &Secret::new(body.into_inner().password),
        admin::access::OnReset::EndAccess,
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What a factor reset removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorsRemoved {
    /// Whether an authenticator app was removed.
    pub totp: bool,
    pub webauthn_credentials: usize,
    pub sessions_ended: usize,
    pub grants_revoked: usize,
}

/// Remove every second factor of a user (lost device); their sessions end.
#[utoipa::path(
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = FactorsRemoved),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/users/{id}/reset-mfa")]
pub async fn reset_mfa(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let reset = admin::users::reset_factors(
        c.ctx(),
        &c.tenant,
        &user,
        admin::access::OnReset::EndAccess,
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::Ok().json(FactorsRemoved {
        totp: reset.removed.totp,
        webauthn_credentials: reset.removed.credentials,
        sessions_ended: reset.ended.map_or(0, |e| e.sessions),
        grants_revoked: reset.ended.map_or(0, |e| e.grants),
    }))
}

/// A live browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub sid: String,
    pub user_id: String,
    pub device: String,
    pub ip: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_seen: i64,
    pub auth_time: i64,
    pub amr: Vec<String>,
}

impl From<admin::sessions::SessionInfo> for SessionView {
    fn from(s: admin::sessions::SessionInfo) -> Self {
        Self {
            sid: s.sid,
            user_id: s.user_id,
            device: s.device,
            ip: s.ip,
            created_at: s.created_at,
            last_seen: s.last_seen,
            auth_time: s.auth_time,
            amr: s.amr,
        }
    }
}

/// A user's live sessions (at most the tenant's session limit).
#[utoipa::path(
    tag = "sessions",
    params(UserPath),
    responses(
        (status = 200, body = Vec<SessionView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:sessions:read"]))
)]
#[get("/users/{id}/sessions")]
pub async fn sessions(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let live = admin::sessions::list(c.ctx(), &c.tenant, user.id).await?;
    Ok(HttpResponse::Ok().json(live.into_iter().map(SessionView::from).collect::<Vec<_>>()))
}

/// End every session of a user.
#[utoipa::path(
    tag = "sessions",
    params(UserPath),
    responses(
        (status = 200, body = Ended),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:sessions:write"]))
)]
#[delete("/users/{id}/sessions")]
pub async fn end_sessions(
    c: ApiCaller,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let n = admin::sessions::end_user(c.ctx(), &c.tenant, user.id, &c.admin).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions_ended: n }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `instance_admin`, `tenant_admin`, `tenant_viewer`, `user_manager`, `auditor`, or `null`.
    pub role: Option<String>,
}

/// Give, change or take away a user's administrative role. API keys cannot; the last tenant
/// admin cannot be removed (409).
#[utoipa::path(
    tag = "admins",
    params(UserPath),
    request_body = RoleBody,
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:admins:write"]))
)]
#[put("/users/{id}/role")]
pub async fn set_role(
    c: ApiCaller,
    path: web::Path<UserPath>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, Problem> {
    let role = body
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(|e| Problem::invalid("role", e.to_string()))?;
    let user = load_user(&c, &path.id).await?;
    admin::roles::set(c.ctx(), &c.tenant, &c.admin, &user, role).await?;
    Ok(with_etag(load_user(&c, &path.id).await?))
}
