//! A user's access beyond sessions: the applications holding their consent or live grants
//! (`/users/{id}/consents`, withdrawn per application) and the upstream identities linked to
//! the account (`/users/{id}/identities`, unlinked through `admin::user_access::unlink`;
//! the last way in is kept: 409).

use actix_web::{HttpResponse, delete, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::{UserPath, load_user};
use crate::admin;
use crate::federation::link::Unlinked;
use crate::oauth::access::AppAccess;

/// A live grant (a refresh-token family).
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub scope: String,
    /// Outlives the browser session it was issued in.
    pub offline: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

/// An application holding the user's consent or a live grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppAccessView {
    pub client_id: String,
    /// The client's name (its id if it no longer exists).
    pub name: String,
    pub first_party: bool,
    /// The scopes the user approved (absent for first-party clients and without consent).
    pub consented_scopes: Option<Vec<String>>,
    /// When they were approved (Unix seconds).
    pub consented_at: Option<i64>,
    /// Live grants, newest first.
    pub grants: Vec<GrantView>,
}

impl From<AppAccess> for AppAccessView {
    fn from(a: AppAccess) -> Self {
        let (consented_scopes, consented_at) = match a.consent {
            Some((scopes, at)) => (Some(scopes), Some(at)),
            None => (None, None),
        };
        Self {
            client_id: a.client_id,
            name: a.name,
            first_party: a.first_party,
            consented_scopes,
            consented_at,
            grants: a
                .grants
                .into_iter()
                .map(|g| GrantView {
                    scope: g.scope,
                    offline: g.offline,
                    created_at: g.created_at,
                    expires_at: g.expires_at,
                })
                .collect(),
        }
    }
}

/// The applications that hold the user's consent or a live grant, most recent first (one per
/// application: not paged).
#[utoipa::path(
    operation_id = "list_user_consents",
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = Vec<AppAccessView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users/{id}/consents")]
pub async fn consents(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let apps = admin::user_access::apps(c.ctx(), &c.tenant, user.id, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            apps.into_iter()
                .map(AppAccessView::from)
                .collect::<Vec<_>>(),
        ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConsentPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The user's id.
    pub id: String,
    /// The application's `client_id`.
    pub client_id: String,
}

/// What withdrawing an application's access did.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawnView {
    pub consent_forgotten: bool,
    pub grants_revoked: usize,
}

/// Withdraw an application's access to the user: the consent is forgotten and every grant of
/// the application from the user (refresh tokens and their access tokens) revoked; its next
/// authorization asks again. Withdrawing nothing answers 200 too.
#[utoipa::path(
    operation_id = "withdraw_user_consent",
    tag = "users",
    params(ConsentPath),
    responses(
        (status = 200, body = WithdrawnView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[delete("/users/{id}/consents/{client_id}")]
pub async fn withdraw(c: ApiCaller, path: web::Path<ConsentPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let done = admin::user_access::withdraw(c.ctx(), &c.tenant, user.id, &path.client_id, &c.admin)
        .await?;
    Ok(HttpResponse::Ok().json(WithdrawnView {
        consent_forgotten: done.consent,
        grants_revoked: done.grants,
    }))
}

/// An upstream identity linked to the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    /// The provider's slug.
    pub idp: String,
    pub idp_name: String,
    /// The user's subject at the provider.
    pub subject: String,
    pub email: Option<String>,
    /// Unix seconds.
    pub linked_at: i64,
    pub last_used_at: i64,
}

/// The upstream identities linked to the user, oldest first.
#[utoipa::path(
    operation_id = "list_user_identities",
    tag = "users",
    params(UserPath),
    responses(
        (status = 200, body = Vec<IdentityView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/users/{id}/identities")]
pub async fn identities(c: ApiCaller, path: web::Path<UserPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let linked = admin::user_access::identities(c.ctx(), &c.tenant, user.id, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            linked
                .into_iter()
                .map(|l| IdentityView {
                    idp: l.idp,
                    idp_name: l.idp_name,
                    subject: l.subject,
                    email: l.email,
                    linked_at: l.linked_at,
                    last_used_at: l.last_used_at,
                })
                .collect::<Vec<_>>(),
        ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdentityPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The user's id.
    pub id: String,
    /// The provider's slug.
    pub idp: String,
    /// The user's subject at the provider (percent-encoded).
    pub subject: String,
}

/// Unlink an upstream identity from the user. The account's last way in (no password, no other
/// identity) is kept: 409.
#[utoipa::path(
    operation_id = "unlink_user_identity",
    tag = "users",
    params(IdentityPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[delete("/users/{id}/identities/{idp}/{subject}")]
pub async fn unlink(c: ApiCaller, path: web::Path<IdentityPath>) -> Result<HttpResponse, Problem> {
    let user = load_user(&c, &path.id).await?;
    let outcome = admin::user_access::unlink(
        c.ctx(),
        &c.tenant,
        &user,
        &path.idp,
        &path.subject,
        &c.admin,
    )
    .await?;
    match outcome {
        Unlinked::Done => Ok(HttpResponse::NoContent().finish()),
        Unlinked::NotLinked => Err(Problem::not_found("linked identity")),
        Unlinked::LastWayIn => Err(Problem::new(
            actix_web::http::StatusCode::CONFLICT,
            "last-way-in",
            "this identity is the account's only way to sign in (no password, no other linked \
             identity); set a password or link another identity first",
        )),
    }
}
