//! What a validated authorization request is (`AuthorizeRequest`, `Prompt`, `ResponseMode`) and
//! where a failed one is reported (`AuthorizeError`); built by `super::request` through the checks.

use crate::domain::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

/// The `prompt` values that were asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (then the token request must repeat it).
    pub redirect_uri_given: bool,
    pub response_mode: ResponseMode,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid `id_token_hint`.
    pub id_token_hint_sub: Option<String>,
    pub acr_values: Option<String>,
    /// The original parameters, to resume the request later.
    pub params: Params,
}

/// Where a failed request is reported.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Unknown client or unregistered redirect URI: an error page, never a redirect.
    Page(OAuthError),
    /// Back to the client's (verified) redirect URI.
    Redirect {
        redirect_uri: String,
        response_mode: ResponseMode,
        state: Option<String>,
        error: OAuthError,
    },
}

impl AuthorizeError {
    pub fn redirect(req: &AuthorizeRequest, error: OAuthError) -> Self {
        Self::Redirect {
            redirect_uri: req.redirect_uri.clone(),
            response_mode: req.response_mode,
            state: req.state.clone(),
            error,
        }
    }
}
