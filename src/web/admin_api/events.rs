//! `/audit`, `/audit/export` and `/events`: the audit log (filtered, paged, exported as NDJSON)
//! and sign-in events (risk level, decision, reasons, feedback).

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::paging::{Page, PageQuery, cursor};
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;

use crate::storage::{self, audit::AuditRow, audit_query::AuditFilter, risk::SignInEvent};

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    /// Unix seconds.
    pub occurred_at: i64,
    pub action: String,
    pub outcome: String,
    /// `user:<id>`, `api_key:<id>`, `client:<id>`, `cli`, `seed`, `system`, `anonymous`.
    pub actor: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        Self {
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            occurred_at: r.occurred_at,
            action: r.action,
            outcome: r.outcome,
            actor: r.actor,
            subject: r.subject,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `user_updated`.
    #[param(max_length = 64)]
    pub action: Option<String>,
    /// e.g. `user:<id>`.
    #[param(max_length = 200)]
    pub subject: Option<String>,
    /// e.g. `api_key:<id>`.
    #[param(max_length = 200)]
    pub actor: Option<String>,
    #[param(max_length = 64)]
    pub outcome: Option<String>,
    /// Unix seconds, inclusive.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    #[param(minimum = 0)]
    pub until: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(max_length = 512)]
    pub after: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, Problem> {
        for (name, v, max) in [
            ("action", &self.action, 64),
            ("subject", &self.subject, 200),
            ("actor", &self.actor, 200),
            ("outcome", &self.outcome, 64),
        ] {
            if v.as_ref().is_some_and(|v| v.chars().count() > max) {
                return Err(Problem::invalid(name, format!("{name} is too long")));
            }
        }
        Ok(AuditFilter {
            action: self.action.clone(),
            subject: self.subject.clone(),
            actor: self.actor.clone(),
            outcome: self.outcome.clone(),
            since: self.since,
            until: self.until,
            before_id: None,
        })
    }

    fn paging(&self) -> PageQuery {
        PageQuery {
            limit: self.limit,
            after: self.after.clone(),
        }
    }
}

/// The audit log, newest first.
#[utoipa::path(
    tag = "audit",
    params(TenantPath, AuditQuery),
    responses(
        (status = 200, body = Page<AuditView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:events:read"]))
)]
#[get("/audit")]
pub async fn audit(
    c: ApiCaller,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    let paging = query.paging();
    let limit = paging.limit()?;
    let mut filter = query.filter()?;
    filter.before_id = paging.after()?;
    let rows = crate::admin::reads::audit(c.ctx(), &c.tenant, &c.admin, filter, limit + 1).await?;
    let page = Page::of(rows, limit, |r: &AuditRow| cursor(&r.id), AuditView::from);
    Ok(page.respond(req.path(), limit))
}

/// Rows per batch of an export: one batch is read, written out and dropped before the next.
const EXPORT_BATCH: i64 = 1000;

/// The audit log as NDJSON (one entry per line, newest first), streamed in batches of 1,000 read
/// by keyset, so an export of any size holds one batch in memory and no connection between
/// batches. A failure after the first batch cuts the response short (the chunked body never
/// ends, so clients see an error), and is logged with the request id.
#[utoipa::path(
    tag = "audit",
    params(TenantPath, AuditQuery),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:events:read"]))
)]
#[get("/audit/export")]
pub async fn export(c: ApiCaller, query: web::Query<AuditQuery>) -> Result<HttpResponse, Problem> {
    let mut filter = query.filter()?;
    filter.before_id = query.paging().after()?;
    // The first batch before the status line: a failure here is still a problem document.
    let first =
        crate::admin::reads::audit(c.ctx(), &c.tenant, &c.admin, filter.clone(), EXPORT_BATCH)
            .await?;
    let request_id = crate::web::error::request_id();
    let batches = futures_util::stream::unfold(Some((Some(first), filter, c)), move |state| {
        let request_id = request_id.clone();
        async move {
            let (read, mut filter, c) = state?;
            let rows = match read {
                Some(rows) => rows,
                None => match crate::admin::reads::audit(
                    c.ctx(),
                    &c.tenant,
                    &c.admin,
                    filter.clone(),
                    EXPORT_BATCH,
                )
                .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::error!(request_id, error = %e, "audit export cut short: the next batch could not be read");
                        return Some((
                            Err(actix_web::error::ErrorServiceUnavailable(e.to_string())),
                            None,
                        ));
                    }
                },
            };
            if rows.is_empty() {
                return None;
            }
            let more = rows.len() as i64 == EXPORT_BATCH;
            filter.before_id = rows.last().map(|r| r.id.clone());
            let mut out = Vec::with_capacity(rows.len() * 256);
            for row in rows {
                // An AuditView is strings, numbers and parsed JSON: it always serializes.
                if serde_json::to_writer(&mut out, &AuditView::from(row)).is_ok() {
                    out.push(b'\n');
                }
            }
            Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(out)),
                more.then_some((None, filter, c)),
            ))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("Cache-Control", "no-store"))
        .streaming(batches))
}

/// A sign-in event (risk scoring's record of one sign-in or session use).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInEventView {
    pub id: String,
    pub user_id: Option<String>,
    /// `sign_in` or `continuous`.
    pub kind: String,
    /// Unix seconds.
    pub created_at: i64,
    pub ip: String,
    pub country: Option<String>,
    pub city: Option<String>,
    pub device: String,
    pub level: String,
    pub score: i32,
    #[schema(value_type = Object)]
    pub reasons: serde_json::Value,
    pub decision: String,
    pub enforced: bool,
    pub result: String,
    pub feedback: Option<String>,
}

impl From<SignInEvent> for SignInEventView {
    fn from(e: SignInEvent) -> Self {
        Self {
            reasons: serde_json::from_str(&e.reasons).unwrap_or(serde_json::Value::Null),
            id: e.id,
            user_id: e.user_id,
            kind: e.kind,
            created_at: e.created_at,
            ip: e.ip,
            country: e.country,
            city: e.city,
            device: e.device,
            level: e.level,
            score: e.score,
            decision: e.decision,
            enforced: e.enforced,
            result: e.result,
            feedback: e.feedback,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// A user's id.
    #[param(max_length = 64)]
    pub user: Option<String>,
    /// `low`, `medium`, `high`.
    #[param(max_length = 16)]
    pub level: Option<String>,
    /// `allow`, `second_factor`, `block`, `deny`, `reauthenticate`.
    #[param(max_length = 32)]
    pub decision: Option<String>,
    /// Unix seconds.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(max_length = 512)]
    pub after: Option<String>,
}

/// Sign-in events, newest first.
#[utoipa::path(
    tag = "audit",
    params(TenantPath, EventQuery),
    responses(
        (status = 200, body = Page<SignInEventView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:events:read"]))
)]
#[get("/events")]
pub async fn events(
    c: ApiCaller,
    req: HttpRequest,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, Problem> {
    let paging = PageQuery {
        limit: query.limit,
        after: query.after.clone(),
    };
    let limit = paging.limit()?;
    let user = match &query.user {
        Some(u) => Some(
            u.parse()
                .map_err(|_| Problem::invalid("user", "user is not a user id"))?,
        ),
        None => None,
    };
    for (name, v, max) in [
        ("level", &query.level, 16),
        ("decision", &query.decision, 32),
    ] {
        if v.as_ref().is_some_and(|v| v.len() > max) {
            return Err(Problem::invalid(name, format!("{name} is too long")));
        }
    }
    let filter = storage::risk::Filter {
        user,
        level: query.level.clone(),
        decision: query.decision.clone(),
        since: query.since,
        before: paging.after()?,
        limit: limit + 1,
    };
    let rows = crate::risk_feedback::activity::list(c.ctx(), &c.tenant, filter, &c.admin).await?;
    let page = Page::of(
        rows,
        limit,
        |e: &SignInEvent| cursor(&(e.created_at, e.id.clone())),
        SignInEventView::from,
    );
    Ok(page.respond(req.path(), limit))
}
