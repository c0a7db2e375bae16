//! `/invitations`: invitations to sign up (`registration::invites`): create (the link, which
//! holds the token, is shown once), list with state, revoke (idempotent). Bound to an address
//! and mailed to it on request; the tenant's `registration.mode` decides whether links work.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::registration::invites;

/// An invitation (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    /// 12 hex digits.
    pub id: String,
    /// The address the sign-up must use, if bound.
    pub address: Option<String>,
    /// Watchword mailed it (using it proves the address).
    pub mailed: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// `open`, `used` or `expired` (also revoked ones).
    pub state: String,
}

impl From<invites::Listed> for InvitationView {
    fn from(l: invites::Listed) -> Self {
        Self {
            id: l.id,
            address: l.address,
            mailed: l.mailed,
            created_at: l.created_at,
            expires_at: l.expires_at,
            used_at: l.used_at,
            state: l.state.to_owned(),
        }
    }
}

/// The tenant's invitations, newest first.
#[utoipa::path(
    operation_id = "list_invitations",
    tag = "users",
    params(TenantPath),
    responses(
        (status = 200, body = Vec<InvitationView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:read"]))
)]
#[get("/invitations")]
pub async fn list(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let rows = invites::list(c.ctx(), &c.tenant, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            rows.into_iter()
                .map(InvitationView::from)
                .collect::<Vec<_>>(),
        ))
}

/// An invitation to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Bind it to this address (the sign-up must use it).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// How long it works, 1 to 720 hours (default 168).
    #[schema(minimum = 1, maximum = 720)]
    pub expires_hours: Option<i64>,
    /// Mail it to `email` (then using it proves the address).
    #[serde(default)]
    pub send: bool,
}

/// A new invitation, with its link (shown only now).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub id: String,
    /// `…/t/{tenant}/register?invite=…`: hand it to the person (it works once).
    pub link: String,
    pub address: Option<String>,
    pub mailed: bool,
    pub expires_at: i64,
}

/// Create an invitation to sign up.
#[utoipa::path(
    operation_id = "create_invitation",
    tag = "users",
    params(TenantPath),
    request_body = NewInvitation,
    responses(
        (status = 201, body = CreatedInvitation),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[post("/invitations")]
pub async fn create(c: ApiCaller, body: web::Json<NewInvitation>) -> Result<HttpResponse, Problem> {
    let created = invites::create(
        c.ctx(),
        &c.tenant,
        body.email.as_deref(),
        body.expires_hours.unwrap_or(invites::DEFAULT_HOURS),
        body.send,
        &c.admin,
    )
    .await
    .map_err(|e| match e {
        crate::admin::AdminError::Invalid(i) if i.field == "expires-hours" => {
            Problem::invalid("expires_hours", i.to_string())
        }
        other => other.into(),
    })?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedInvitation {
            id: created.id,
            link: created.link,
            address: created.address,
            mailed: created.mailed,
            expires_at: created.expires_at,
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The invitation's id (12 hex digits).
    pub id: String,
}

/// Revoke an unused invitation. One already used, expired, revoked or unknown answers 204 too.
#[utoipa::path(
    operation_id = "revoke_invitation",
    tag = "users",
    params(InvitationPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:users:write"]))
)]
#[delete("/invitations/{id}")]
pub async fn revoke(
    c: ApiCaller,
    path: web::Path<InvitationPath>,
) -> Result<HttpResponse, Problem> {
    match invites::revoke(c.ctx(), &c.tenant, &path.id, &c.admin).await {
        Ok(_) => Ok(HttpResponse::NoContent().finish()),
        Err(crate::admin::AdminError::Invalid(_)) => Err(Problem::not_found("invitation")),
        Err(e) => Err(e.into()),
    }
}
