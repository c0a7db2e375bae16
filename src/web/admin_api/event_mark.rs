//! `POST /events/{id}/mark`: an administrator's verdict on a sign-in event
//! (`risk_feedback::mark`): `valid` confirms its device and place as the user's, `invalid` marks
//! it and forgets its device, and with `end_sessions` also ends the user's sessions and revokes
//! their grants (which needs `sessions:write` as well).

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use crate::risk_feedback::{Value, mark as feedback};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The sign-in event's id (as `GET /events` lists it).
    pub id: String,
}

/// The verdict.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// `valid` ("this was the user") or `invalid` ("this was not").
    pub value: String,
    /// With `invalid`: also end the user's sessions and revoke their grants.
    #[serde(default)]
    pub end_sessions: bool,
}

/// What marking did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedView {
    pub id: String,
    pub value: String,
    /// The event's previous verdict, if it had one.
    pub previous: Option<String>,
    /// Sessions ended and grants revoked (with `end_sessions`).
    pub sessions_ended: Option<usize>,
    pub grants_revoked: Option<usize>,
}

/// Mark a sign-in event valid or invalid (risk feedback). Marking again replaces the verdict.
#[utoipa::path(
    operation_id = "mark_sign_in_event",
    tag = "audit",
    params(EventPath),
    request_body = MarkBody,
    responses(
        (status = 200, body = MarkedView),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:events:write"]))
)]
#[post("/events/{id}/mark")]
pub async fn mark(
    c: ApiCaller,
    path: web::Path<EventPath>,
    body: web::Json<MarkBody>,
) -> Result<HttpResponse, Problem> {
    let value = Value::parse(&body.value)
        .ok_or_else(|| Problem::invalid("value", "must be `valid` or `invalid`"))?;
    if path.id.is_empty() || path.id.len() > 64 {
        return Err(Problem::not_found("sign-in event"));
    }
    let marked = feedback::mark(
        c.ctx(),
        &c.tenant,
        &path.id,
        value,
        body.end_sessions,
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(MarkedView {
            id: marked.event.id,
            value: value.as_str().to_owned(),
            previous: marked.event.feedback,
            sessions_ended: marked.ended.as_ref().map(|a| a.sessions),
            grants_revoked: marked.ended.as_ref().map(|a| a.grants),
        }))
}
