//! The authorization-request checks, in the order they run. `client` and `redirect_uri` run
//! first (their failures never redirect); then [`PIPELINE`], each step filling in the draft.

pub mod client;
pub mod id_token_hint;
pub mod lengths;
pub mod max_age;
pub mod pkce;
pub mod prompt;
pub mod redirect_uri;
pub mod response_mode;
pub mod response_type;
pub mod scope;
pub mod unsupported;

use std::sync::Arc;

use super::types::{AuthorizeRequest, Prompt, ResponseMode};
use crate::domain::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::signing::TenantKeys;

/// What checks may consult besides the request.
pub struct Env {
    pub issuer: String,
    pub now: i64,
    /// Loaded only when an `id_token_hint` needs verifying.
    pub keys: Option<Arc<TenantKeys>>,
}

/// The request being validated.
pub struct Draft {
    pub params: Params,
    pub client: Client,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub scope: Scope,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub id_token_hint_sub: Option<String>,
}

impl Draft {
    pub fn new(
        client: Client,
        redirect_uri: String,
        redirect_uri_given: bool,
        params: Params,
    ) -> Self {
        let state = params.get("state").map(str::to_owned);
        Self {
            params,
            client,
            redirect_uri,
            redirect_uri_given,
            response_mode: ResponseMode::Query,
            state,
            scope: Scope::default(),
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            id_token_hint_sub: None,
        }
    }

    pub fn finish(self) -> AuthorizeRequest {
        let get = |k: &str| self.params.get(k).map(str::to_owned);
        AuthorizeRequest {
            nonce: get("nonce"),
            login_hint: get("login_hint"),
            acr_values: get("acr_values"),
            client: self.client,
            redirect_uri: self.redirect_uri,
            redirect_uri_given: self.redirect_uri_given,
            response_mode: self.response_mode,
            scope: self.scope,
            state: self.state,
            code_challenge: self.code_challenge,
            prompt: self.prompt,
            max_age: self.max_age,
            id_token_hint_sub: self.id_token_hint_sub,
            params: self.params,
        }
    }
}

pub type Check = fn(&mut Draft, &Env) -> Result<(), OAuthError>;

/// Every check after the redirect URI is trusted, in order. `response_mode` comes first so the
/// errors of the others are delivered the way the client asked.
pub const PIPELINE: &[Check] = &[
    response_mode::check,
    lengths::check,
    unsupported::check,
    response_type::check,
    scope::check,
    pkce::check,
    prompt::check,
    max_age::check,
    id_token_hint::check,
];
