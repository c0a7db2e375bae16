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
pub mod types;

pub use request::{validate, validate_with_repeats};
pub use response::AuthorizationResponse;
pub use types::{AuthorizeError, AuthorizeRequest, Prompt, ResponseMode};

use crate::auth::sessions::Sessions;
use crate::context::Ctx;
use crate::domain::session::{Acr, BrowserSession};
use crate::domain::tenant::Tenant;

use super::error::{ErrorCode, OAuthError};
use pending::{ParkedFor, Pending};

/// What the browser must do next.
#[derive(Debug)]
pub enum Step {
    /// Sign in (again), then come back to `/authorize/continue?id=<pending id>`.
    SignIn {
        pending_id: String,
        login_hint: Option<String>,
    },
    /// Prove a second factor in the current session (the client requires MFA, or asked for a
    /// stronger `acr` than the session has), then come back to `/authorize/continue`.
    StepUp { pending_id: String, level: Acr },
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
        let pending_id = pending::save(ctx, &pending, ParkedFor::SignIn)
            .await
            .map_err(|e| fail(e.into()))?;
        return Ok(Step::SignIn {
            pending_id,
            login_hint: req.login_hint.clone(),
        });
    }
    let session = session.expect("checked by needs_sign_in");
    if let Some(level) = step_up(ctx, tenant, req, session).await.map_err(fail)? {
        if req.prompt.none {
            return Err(fail(OAuthError::new(
                ErrorCode::InteractionRequired,
                "the user must confirm a second factor",
            )));
        }
        let pending_id = pending::save(ctx, &pending, ParkedFor::StepUp)
            .await
            .map_err(|e| fail(e.into()))?;
        return Ok(Step::StepUp { pending_id, level });
    }
    if !pending.consented
        && consent::needed(ctx, tenant, req, session.user_id)
            .await
            .map_err(fail)?
    {
        if req.prompt.none {
            return Err(fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            )));
        }
        let pending_id = pending::save(ctx, &pending, ParkedFor::Consent)
            .await
            .map_err(|e| fail(e.into()))?;
        return Ok(Step::Consent { pending_id });
    }
    if let Some(id) = &pending.id {
        pending::delete(ctx, id).await.map_err(|e| fail(e.into()))?;
    }
    issue(ctx, tenant, req, session).await
}

/// The level the session must reach first, if it falls short: `mfa` for a client that requires
/// MFA or a tenant that requires a second factor of this user (whether or not the user has one:
/// one is set up then; so sessions from before the tenant's switch to `required` step up before
/// they get another code), and the weakest known
/// `acr_values` level, if the user has a factor that can reach it (`acr_values` are a request,
/// not a demand: otherwise the code is issued and the ID token's `acr` says what was reached).
/// A client that requires MFA in a tenant whose MFA mode is `off` gets `access_denied`: its
/// requirement fails closed.
async fn step_up(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    session: &BrowserSession,
) -> Result<Option<Acr>, OAuthError> {
    if !tenant.policy.mfa.enabled() {
        if req.client.settings.require_mfa && Acr::of(&session.amr) < Acr::Mfa {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "this client requires a second factor, and second factors are turned off for \
                 this tenant",
            ));
        }
        return Ok(None);
    }
    let have = Acr::of(&session.amr);
    let tenant_requires = tenant.policy.mfa.required_for(false)
        || (have < Acr::Mfa
            && tenant
                .policy
                .mfa
                .required_for(is_admin(ctx, tenant, session).await?));
    let required = (req.client.settings.require_mfa || tenant_requires).then_some(Acr::Mfa);
    let requested = req.acr_values.as_deref().and_then(Acr::weakest_requested);
    if let Some(level) = required.filter(|l| have < *l) {
        return Ok(Some(level.max(requested.unwrap_or(level))));
    }
    let Some(level) = requested.filter(|l| have < *l) else {
        return Ok(None);
    };
    let (t, u) = (tenant.id, session.user_id);
    let factors = ctx
        .db
        .run(move |c| crate::storage::factors::factors(c, t, u))
        .await?;
    let reachable = match level {
        Acr::Phr => !factors.credentials.is_empty(),
        _ => factors.any(),
    };
    Ok(reachable.then_some(level))
}

/// Whether the session's user is an administrator (for `mfa.mode = required_for_admins`).
async fn is_admin(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
) -> Result<bool, OAuthError> {
    let (t, u) = (tenant.id, session.user_id);
    Ok(ctx
        .db
        .run(move |c| crate::storage::users::find_by_id(c, t, u))
        .await?
        .is_some_and(|found| found.user.admin_role.is_some()))
}

/// Issues the authorization code and notes the client in the session (back-channel logout).
pub async fn issue(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    session: &BrowserSession,
) -> Result<Step, AuthorizeError> {
    let fail = |e: OAuthError| AuthorizeError::redirect(req, e);
    // The client is noted first: a session with grants always lists their clients, which lets
    // an eviction skip the database when a session never issued anything.
    Sessions::new(ctx.store.clone(), ctx.clock.clone())
        .add_client(&session.sid, &req.client.client_id)
        .await
        .map_err(|e| fail(e.into()))?;
    let code = code::issue(ctx, tenant, req, session).await.map_err(fail)?;
    Ok(Step::Respond(AuthorizationResponse::success(
        ctx, tenant, req, &code,
    )))
}
