//! The admin API's one error type: RFC 9457 problem details (`application/problem+json`), with
//! the request id, the field a validation error is about, and the permission a refusal names.
//! Admin use-case errors map onto it here and nowhere else.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::web::error::{FailureLogged, log_failure, request_id};

/// An RFC 9457 problem (boxed: it travels in every `Result` of the API).
#[derive(Debug, Clone)]
pub struct Problem(Box<ProblemBody>);

impl std::ops::Deref for Problem {
    type Target = ProblemBody;
    fn deref(&self) -> &ProblemBody {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemBody {
        &mut self.0
    }
}

/// An RFC 9457 problem's body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id (also in the `X-Request-Id` header and the server's log).
    pub instance: String,
    /// For a validation error: the field it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a refusal: the permission that was missing (`users:write`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    cause: Option<String>,
    #[serde(skip)]
    challenge: bool,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: format!("https://watchword.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: format!("urn:request:{}", request_id()),
            field: None,
            permission: None,
            retry_after: None,
            cause: None,
            challenge: false,
        }))
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail);
        p.field = Some(field.into());
        p
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    /// No credential, or not a live one of this tenant (with `WWW-Authenticate: Bearer`).
    pub fn unauthenticated() -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send an API key or an access token with admin scopes as `Authorization: Bearer …`",
        );
        p.challenge = true;
        p
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            "the record changed since the ETag you sent; read it again and repeat the change",
        )
    }

    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "storage is unavailable; try again shortly",
        );
        p.retry_after = Some(5);
        p.cause = Some(cause.into());
        p
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request",
        );
        p.cause = Some(cause.into());
        p
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            log_failure(
                self.status,
                &self.detail,
                self.cause.as_deref().unwrap_or(""),
            );
        } else {
            tracing::info!(status = self.status, problem = %self.kind, "admin API request refused");
        }
        let mut res = HttpResponse::build(status)
            .content_type("application/problem+json")
            .json(&*self.0);
        res.extensions_mut().insert(FailureLogged);
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"watchword-admin\""),
            );
        }
        res
    }
}

impl From<AdminError> for Problem {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(i) => Problem::invalid(i.field, i.to_string()),
            AdminError::InvalidSlug(s) => Problem::invalid("slug", s.to_string()),
            AdminError::InvalidPolicy(field, why) => {
                Problem::invalid(field.clone(), format!("`{field}` {why}"))
            }
            AdminError::PasswordRejected(r) => {
                Problem::invalid("password", format!("password rejected: {r}"))
            }
            AdminError::Conflict(what) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("a {what} with that value already exists"),
                );
                p.field = Some(what.to_owned());
                p
            }
            AdminError::NotFound(what) => Problem::not_found(&what),
            AdminError::Stale => Problem::precondition_failed(),
            AdminError::Forbidden(perm) => {
                let mut p = Problem::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!("this needs the {perm} permission"),
                );
                p.permission = Some(perm.to_string());
                p
            }
            AdminError::Refused(why) => Problem::new(StatusCode::CONFLICT, "refused", why),
            AdminError::Hashing(crate::crypto::password::HashError::Busy) => {
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "too many password operations at once; try again shortly",
                );
                p.retry_after = Some(2);
                p
            }
            AdminError::Storage(s) if s.is_unavailable() => Problem::unavailable(s.to_string()),
            AdminError::Store(s) => Problem::unavailable(s.to_string()),
            other => Problem::internal(other.to_string()),
        }
    }
}

impl From<crate::storage::StorageError> for Problem {
    fn from(e: crate::storage::StorageError) -> Self {
        AdminError::from(e).into()
    }
}
