//! The federation layer's one error type. Every variant has a stable code (audit events,
//! metrics) and says whether it is the person's or upstream's doing (4xx) or an outage (5xx).

use crate::auth::signin::SignInError;
use crate::outbound::OutboundError;
use crate::session_store::StoreError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("no such identity provider")]
    UnknownProvider,
    #[error("this identity provider is disabled")]
    Disabled,
    #[error("the sign-in attempt is unknown, expired, already used or from another browser")]
    StateMismatch,
    #[error("the identity provider answered with an error: {0}")]
    Upstream(String),
    #[error("the issuer does not match the identity provider: {0}")]
    IssuerMismatch(String),
    #[error("the identity provider's token was refused: {0}")]
    TokenRejected(String),
    #[error("users of this directory may not sign in here")]
    TenantNotAllowed,
    #[error("the identity provider did not say who the user is")]
    NoSubject,
    #[error("no account exists for this identity and accounts are not created automatically")]
    NoAccount,
    #[error(
        "an account with this e-mail address or username exists and is not linked by this provider"
    )]
    LinkRefused,
    #[error("this identity is already linked to another account")]
    AlreadyLinked,
    #[error("the user's groups could not be determined")]
    GroupsUnavailable,
    #[error("SAML response refused: {0}")]
    Saml(String, &'static str),
    #[error("the request is malformed: {0}")]
    BadRequest(&'static str),
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(#[from] OutboundError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
}

impl FederationError {
    /// A stable snake-case code for audit events and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::Disabled => "provider_disabled",
            Self::StateMismatch => "state_mismatch",
            Self::Upstream(_) => "upstream_error",
            Self::IssuerMismatch(_) => "issuer_mismatch",
            Self::TokenRejected(_) => "token_rejected",
            Self::TenantNotAllowed => "tenant_not_allowed",
            Self::NoSubject => "no_subject",
            Self::NoAccount => "no_account",
            Self::LinkRefused => "link_refused",
            Self::AlreadyLinked => "already_linked",
            Self::GroupsUnavailable => "groups_unavailable",
            Self::Saml(_, code) => code,
            Self::BadRequest(_) => "bad_request",
            Self::Unreachable(_) => "upstream_unreachable",
            Self::Storage(_) | Self::Store(_) | Self::SignIn(_) => "internal",
        }
    }

    /// Whether this is an outage on our side or upstream's (answered 502/503, logged as an
    /// error), rather than something about this attempt.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_) | Self::Storage(_) | Self::Store(_) | Self::SignIn(_)
        )
    }
}
