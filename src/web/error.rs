//! Errors to HTTP, in one place: `PageError` renders the HTML error page (with the request id
//! that the logs carry) for people; `ApiError` renders JSON for programs. Internal details go
//! to the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::admin::AdminError;
use crate::auth::mfa::FactorError;
use crate::auth::signin::SignInError;
use crate::session_store::StoreError;
use crate::storage::StorageError;

use super::templates::{ErrorPage, html};

tokio::task_local! {
    /// The id of the request being handled (set by the `observe` middleware).
    pub static REQUEST_ID: String;
}

/// The current request's id, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".into())
}

/// An error shown to a person as a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    /// Logged, never shown.
    pub detail: Option<String>,
    pub retry_after: Option<u64>,
    pub back: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            detail: None,
            retry_after: None,
            back: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address. Check the link you followed.",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Invalid request", message)
    }

    /// A form without a valid CSRF token: most often an old tab or an expired page.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your security the form could not be accepted. Go back, reload the page and try again.",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "The submitted data is larger than Watchword accepts.",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported request",
            "This address accepts only HTML form submissions.",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Watchword cannot reach its storage right now. Please try again in a minute.",
        );
        e.detail = Some(detail.into());
        e.retry_after = Some(30);
        e
    }

    pub fn busy() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "Too many sign-ins are being processed right now. Please try again in a moment.",
        );
        e.retry_after = Some(2);
        e
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Watchword could not complete this request.",
        );
        e.detail = Some(detail.into());
        e
    }

    pub fn with_back(mut self, path: impl Into<String>) -> Self {
        self.back = Some(path.into());
        self
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.title)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        log_error(self.status, self.title, self.detail.as_deref());
        let request_id = request_id();
        let mut res = html(
            self.status,
            &ErrorPage {
                status: self.status.as_u16(),
                title: self.title,
                message: &self.message,
                request_id: &request_id,
                back: self.back.as_deref(),
            },
        );
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(secs),
            );
        }
        res.extensions_mut().insert(FailureLogged);
        res
    }
}

fn log_error(status: StatusCode, what: &str, detail: Option<&str>) {
    if status.is_server_error() {
        log_failure(status.as_u16(), what, detail.unwrap_or(""));
    } else {
        tracing::info!(status = status.as_u16(), error = what, "request refused");
    }
}

/// Marks a response whose failure was logged with its cause, so the access log
/// (`web::middleware`) does not log it again as a failure without one.
#[derive(Clone, Copy, Debug)]
pub struct FailureLogged;

/// Logs a failed request (a 5xx, or an OAuth `server_error` sent by redirect) at error level,
/// with its cause and the request id. Every such failure goes through here or, for responses
/// built elsewhere, through the access log.
pub fn log_failure(status: u16, error: &str, cause: &str) {
    tracing::error!(
        request_id = %request_id(),
        status,
        error,
        cause,
        "request failed"
    );
}

impl From<StorageError> for PageError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            Self::unavailable(e.to_string())
        } else {
            Self::internal(e.to_string())
        }
    }
}

impl From<crate::oauth::revocation::RevokeError> for PageError {
    fn from(e: crate::oauth::revocation::RevokeError) -> Self {
        match e {
            crate::oauth::revocation::RevokeError::Store(s) => s.into(),
            crate::oauth::revocation::RevokeError::Storage(s) => s.into(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::unavailable(e.to_string())
    }
}

impl From<SignInError> for PageError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Busy(_) => Self::busy(),
            SignInError::Unavailable(d) => Self::unavailable(d),
            SignInError::Internal(d) => Self::internal(d),
        }
    }
}

impl From<crate::federation::FederationError> for PageError {
    fn from(e: crate::federation::FederationError) -> Self {
        use crate::federation::FederationError as F;
        match e {
            F::Storage(s) => s.into(),
            F::Store(s) => s.into(),
            F::SignIn(s) => s.into(),
            F::UnknownProvider => Self::not_found(),
            F::Unreachable(u) => {
                let mut page = Self::new(
                    StatusCode::BAD_GATEWAY,
                    "Identity provider unavailable",
                    "Watchword could not reach your organisation's identity provider. Please try again in a minute.",
                );
                page.detail = Some(u.to_string());
                page.retry_after = Some(30);
                page
            }
            other => {
                let mut page = Self::new(
                    StatusCode::BAD_REQUEST,
                    "Sign-in failed",
                    format!("Signing in through your identity provider did not work: {other}."),
                );
                page.detail = Some(other.code().to_owned());
                page
            }
        }
    }
}

impl From<AdminError> for PageError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Storage(s) => s.into(),
            AdminError::Store(s) => s.into(),
            AdminError::Hashing(crate::crypto::password::HashError::Busy) => Self::busy(),
            AdminError::NotFound(_) => Self::not_found(),
            AdminError::Forbidden(p) => Self::new(
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("Your role does not allow this: it needs the {p} permission."),
            ),
            AdminError::Refused(why) => Self::new(StatusCode::CONFLICT, "Not possible", why),
            AdminError::Stale => Self::new(
                StatusCode::CONFLICT,
                "Changed meanwhile",
                "Someone changed this record after you opened it. Open it again and repeat your change.",
            ),
            AdminError::Hashing(h) => Self::internal(h.to_string()),
            AdminError::Signing(e) => Self::internal(e.to_string()),
            other => Self::bad_request(other.to_string()),
        }
    }
}

/// An error for programs: `{"error": ..., "error_description": ..., "request_id": ...}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub detail: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            detail: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.error)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        log_error(self.status, self.error, self.detail.as_deref());
        let mut res = HttpResponse::build(self.status)
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({
                "error": self.error,
                "error_description": self.description,
                "request_id": request_id(),
            }));
        res.extensions_mut().insert(FailureLogged);
        res
    }
}

impl From<FactorError> for PageError {
    fn from(e: FactorError) -> Self {
        match e {
            FactorError::Storage(s) => s.into(),
            FactorError::Store(s) => s.into(),
            other => PageError::bad_request(other.to_string()),
        }
    }
}
