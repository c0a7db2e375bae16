//! OAuth 2.0 / OpenID Connect errors: the RFC 6749 (5.2, 4.1.2.1), RFC 6750, RFC 7009 and
//! OIDC Core error codes with a public description. Internal details never go in the
//! description; they are logged. Turned into HTTP by `web::oauth` in one place.

use crate::session_store::StoreError;
use crate::signing::SigningError;
use crate::storage::StorageError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Safe to show to the client (`error_description`): ASCII, no internals.
    pub description: String,
    /// Logged only.
    pub detail: Option<String>,
    /// Throttled: answered 429 with this `Retry-After` (seconds).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            detail: None,
            retry_after: None,
        }
    }

    /// Too many failed attempts: 429 with `Retry-After`.
    pub fn throttled(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                format!(
                    "too many failed client authentications from this address; retry in {} seconds",
                    retry_after.max(1)
                ),
            )
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }

    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }

    pub fn server_error(detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: "The server could not complete the request.".into(),
            detail: Some(detail.into()),
            retry_after: None,
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::TemporarilyUnavailable,
            description: "The server is temporarily unavailable; try again later.".into(),
            detail: Some(detail.into()),
            retry_after: None,
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<StorageError> for OAuthError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            Self::unavailable(e.to_string())
        } else {
            Self::server_error(e.to_string())
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        Self::unavailable(e.to_string())
    }
}

impl From<SigningError> for OAuthError {
    fn from(e: SigningError) -> Self {
        match e {
            SigningError::Storage(s) => s.into(),
            other => Self::server_error(other.to_string()),
        }
    }
}
