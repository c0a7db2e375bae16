//! The authorization endpoint (`response_type=code`): validate the request through the check
//! pipeline (`checks/`), then decide the next step for this browser: sign in, consent, or issue
//! a code. Requests that need the user are parked in the session store (`pending`) and resumed
//! after sign-in or consent.

pub mod checks;
pub mod code;
pub mod consent;
pub mod pending;
pub mod request;
pub mod response;

pub use request::{
    AuthorizeError, AuthorizeRequest, Prompt, ResponseMode, validate, validate_with_repeats,
};
pub use response::AuthorizationResponse;

use crate::auth::sessions::Sessions;
use crate::context::Ctx;
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;

use super::error::{ErrorCode, OAuthError};
use pending::Pending;

/// What the browser must do next.
#[derive(Debug)]
pub enum Step {
    /// Sign in (again), then come back to `/authorize/continue?id=<pending id>`.
    SignIn {
        pending_id: String,
        login_hint: Option<String>,
    },
    /// Show the consent page for the pending request.
    Consent { pending_id: String },
    /// Send the browser back to the client with this response.
    Respond(AuthorizationResponse),
}

/// Why the current session cannot be used as it is: none, a new authentication is required
/// (`prompt=login`, or `max_age` exceeded when the request arrived), or the `id_token_hint`
/// names another user.
fn needs_sign_in(
    req: &AuthorizeRequest,
    pending: &Pending,
    session: Option<&BrowserSession>,
) -> bool {
    let Some(s) = session else { return true };
    !pending.login_satisfied(s)
        || req
            .id_token_hint_sub
            .as_deref()
            .is_some_and(|sub| sub != s.user_id.to_string())
}

/// Decides the next step of a (new or resumed) authorization request.
pub async fn next_step(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    pending: Pending,
    session: Option<&BrowserSession>,
) -> Result<Step, AuthorizeError> {
    let fail = |e: OAuthError| AuthorizeError::redirect(req, e);
    if needs_sign_in(req, &pending, session) {
        if req.prompt.none {
            return Err(fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            )));
        }
        let pending_id = pending::save(ctx, &pending)
            .await
            .map_err(|e| fail(e.into()))?;
        return Ok(Step::SignIn {
            pending_id,
            login_hint: req.login_hint.clone(),
        });
    }
    let session = session.expect("checked by needs_sign_in");
    if consent::needed(ctx, tenant, req, session.user_id)
        .await
        .map_err(fail)?
    {
        if req.prompt.none {
            return Err(fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            )));
        }
        let pending_id = pending::save(ctx, &pending)
            .await
            .map_err(|e| fail(e.into()))?;
        return Ok(Step::Consent { pending_id });
    }
    if let Some(id) = &pending.id {
        pending::delete(ctx, id).await.map_err(|e| fail(e.into()))?;
    }
    issue(ctx, tenant, req, session).await
}

/// Issues the authorization code and notes the client in the session (back-channel logout).
pub async fn issue(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    session: &BrowserSession,
) -> Result<Step, AuthorizeError> {
    let fail = |e: OAuthError| AuthorizeError::redirect(req, e);
    let code = code::issue(ctx, tenant, req, session).await.map_err(fail)?;
    Sessions::new(ctx.store.clone(), ctx.clock.clone())
        .add_client(&session.sid, &req.client.client_id)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(Step::Respond(AuthorizationResponse::success(
        ctx, tenant, req, &code,
    )))
}
