//! The authorization response: `code`, `state` and `iss` (RFC 9207) on success, `error`,
//! `error_description`, `state` and `iss` on failure; delivered in the query or by form post.

use super::types::{AuthorizeRequest, ResponseMode};
use crate::context::Ctx;
use crate::domain::tenant::Tenant;
use crate::oauth::error::OAuthError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    pub fn success(ctx: &Ctx, tenant: &Tenant, req: &AuthorizeRequest, code: &str) -> Self {
        let mut params = vec![("code".to_owned(), code.to_owned())];
        if let Some(s) = &req.state {
            params.push(("state".into(), s.clone()));
        }
        params.push(("iss".into(), crate::oauth::issuer(ctx, tenant)));
        Self {
            redirect_uri: req.redirect_uri.clone(),
            mode: req.response_mode,
            params,
        }
    }

    pub fn error(
        ctx: &Ctx,
        tenant: &Tenant,
        redirect_uri: String,
        mode: ResponseMode,
        state: Option<String>,
        error: &OAuthError,
    ) -> Self {
        let mut params = vec![
            ("error".to_owned(), error.code.as_str().to_owned()),
            ("error_description".to_owned(), error.description.clone()),
        ];
        if let Some(s) = state {
            params.push(("state".into(), s));
        }
        params.push(("iss".into(), crate::oauth::issuer(ctx, tenant)));
        Self {
            redirect_uri,
            mode,
            params,
        }
    }

    /// The redirect target in query mode: the registered URI with the parameters appended.
    pub fn location(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            q.append_pair(k, v);
        }
        let sep = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{}", self.redirect_uri, q.finish())
    }
}
