//! Who is on a page for people: the tenant of the path (network lists applied), the visitor
//! behind the session cookie (resolving it ends timed-out sessions and those of disabled users),
//! where an anonymous visitor is sent, and the extractors handlers take ([`PeopleTenant`],
//! [`SignedIn`]). Shared by the hosted pages and the browser-facing protocol endpoints.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode};

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{FromRequest, HttpMessage, web};
use futures_util::future::LocalBoxFuture;

use super::cookies;
use super::error::PageError;
use super::paths;
use super::state::AppState;
use crate::admin;
use crate::auth::sessions::{Found, Sessions};
use crate::domain::audit::{Actor, Origin};
use crate::domain::session::BrowserSession;
use crate::domain::tenant::{Tenant, TenantSlug};
use crate::domain::user::User;
use crate::lifecycle::{EndError, EndReason, Resolved};

/// The tenant named in the path, or the 404 page.
pub async fn load_tenant(state: &AppState, slug: &str) -> Result<Tenant, PageError> {
    if TenantSlug::parse(slug).is_err() {
        return Err(PageError::not_found());
    }
    admin::tenants::find(&state.ctx, slug)
        .await?
        .ok_or_else(PageError::not_found)
}

/// The tenant named in the path, for a page people use (sign-in, account, authorization,
/// sign-out): also refused with a 403 page when the tenant's network lists do not allow the
/// client's address. Application servers' endpoints (token, introspection, revocation, userinfo,
/// discovery, JWKS) are not subject to the lists.
pub async fn load_tenant_for(
    state: &AppState,
    req: &HttpRequest,
    slug: &str,
) -> Result<Tenant, PageError> {
    let tenant = load_tenant(state, slug).await?;
    let ip = super::caller::client_ip(req, &state.trusted_proxies);
    if crate::auth::network::admits(&state.ctx, &tenant, ip, Some(super::error::request_id()))
        .await?
    {
        return Ok(tenant);
    }
    Err(PageError::new(
        StatusCode::FORBIDDEN,
        "Not available from your network",
        "Signing in to this organization is not allowed from the network you are connected to. \
         Contact your administrator.",
    ))
}

/// Who is looking at a tenant's page.
pub enum Visitor {
    SignedIn {
        session: Box<BrowserSession>,
        user: Box<User>,
    },
    Anonymous {
        /// The browser sent a session cookie that is no longer valid (delete it).
        stale_cookie: bool,
        /// Why its session ended, when known.
        ended: Option<EndReason>,
    },
}

pub fn sessions(state: &AppState) -> Sessions {
    Sessions::new(state.ctx.store.clone(), state.ctx.clock.clone())
}

/// The session cookie value this browser holds for the tenant.
pub fn session_token(state: &AppState, req: &HttpRequest, tenant: &Tenant) -> Option<String> {
    req.cookie(&cookies::session_name(state.https, &tenant.slug))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

impl From<EndError> for PageError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Store(s) => s.into(),
            EndError::Storage(s) => s.into(),
        }
    }
}

/// Ends a session through `crate::lifecycle` (refresh tokens, back-channel logout, audit).
pub async fn end(
    state: &AppState,
    tenant: &Tenant,
    found: &Found,
    reason: EndReason,
    actor: Actor,
    origin: Origin,
) -> Result<(), PageError> {
    crate::lifecycle::end_session(&state.ctx, tenant, found, reason, actor, origin).await?;
    Ok(())
}

/// Resolves the session cookie (`lifecycle::resolve`: timed-out sessions, those of disabled
/// users and those used from another network and device are ended there) into who is looking at
/// the page.
pub async fn visitor(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Visitor, PageError> {
    let Some(token) = session_token(state, req, tenant) else {
        return Ok(Visitor::Anonymous {
            stale_cookie: false,
            ended: None,
        });
    };
    let seen = super::caller::Caller::of(req, &state.trusted_proxies).seen();
    Ok(
        match crate::lifecycle::resolve(&state.ctx, tenant, &token, &seen).await? {
            Resolved::SignedIn { session, user } => Visitor::SignedIn { session, user },
            Resolved::Anonymous(ended) => Visitor::Anonymous {
                stale_cookie: true,
                ended,
            },
        },
    )
}

/// The answer to an anonymous visitor of a page that needs a session: off to sign in (or, for a
/// session ended by something else, e.g. a sign-in on another device, to the page that says so;
/// it reads the cookie, so the cookie is deleted there rather than here).
pub fn must_sign_in(
    state: &AppState,
    tenant: &Tenant,
    path: &str,
    stale_cookie: bool,
    ended: Option<EndReason>,
) -> HttpResponse {
    let mut res = login_redirect(tenant, path, ended);
    if stale_cookie && !ended.is_some_and(explained_on_its_own_page) {
        let _ = res.add_cookie(&cookies::removal(
            state.https,
            cookies::session_name(state.https, &tenant.slug),
        ));
    }
    res
}

/// The signed-in visitor of a page that needs one, or the answer that sends them to sign in and
/// come back to `back`.
pub async fn signed_in_or_redirect(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    back: &str,
) -> Result<Result<(BrowserSession, User), HttpResponse>, PageError> {
    Ok(match visitor(state, req, tenant).await? {
        Visitor::SignedIn { session, user } => Ok((*session, *user)),
        Visitor::Anonymous {
            stale_cookie,
            ended,
        } => Err(must_sign_in(state, tenant, back, stale_cookie, ended)),
    })
}

/// A 303 redirect (the right answer after a POST, and harmless after a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header(("Location", location))
        .finish()
}

/// Session ends that a person would not expect (their session was ended *by* something
/// else): the browser is shown why, on `/t/{tenant}/session-ended`, before signing in again.
pub fn explained_on_its_own_page(reason: EndReason) -> bool {
    reason.ends_offline_grants()
}

/// Where to send a browser that must sign in before seeing `path`; `ended` is why its session
/// ended, if it had one.
pub fn login_redirect(tenant: &Tenant, path: &str, ended: Option<EndReason>) -> HttpResponse {
    if ended.is_some_and(explained_on_its_own_page) {
        return see_other(&paths::session_ended(&tenant.slug, path));
    }
    let reason = match ended {
        Some(r) if r.is_timeout() => "&reason=expired",
        Some(EndReason::SignedOut | EndReason::RpInitiated) | None => "",
        Some(_) => "&reason=ended",
    };
    see_other(&format!(
        "{}{reason}",
        paths::login_returning(&tenant.slug, path)
    ))
}

// ---- extractors ----

/// The tenant of the path (`{tenant}`) of a page for people, with the tenant's network lists
/// applied: a handler that takes it never sees a tenant it must refuse. Loaded once per request.
pub struct PeopleTenant(pub Tenant);

async fn tenant_of(req: &HttpRequest) -> Result<Tenant, PageError> {
    let cached = req.extensions().get::<Tenant>().cloned();
    if let Some(t) = cached {
        return Ok(t);
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| PageError::internal("no application state"))?;
    let slug = req.match_info().get("tenant").unwrap_or_default();
    let tenant = load_tenant_for(state, req, slug).await?;
    req.extensions_mut().insert(tenant.clone());
    Ok(tenant)
}

impl FromRequest for PeopleTenant {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(PeopleTenant(tenant_of(&req).await?)) })
    }
}

/// Where a visitor who must sign in first comes back to.
pub trait BackTo {
    fn path(req: &HttpRequest, tenant: &Tenant) -> String;
}

/// The markers of [`SignedIn`]'s way back.
pub mod back {
    use super::*;

    /// The page itself (GET pages).
    pub struct ThisPage;
    /// The account page.
    pub struct Account;
    /// The sign-in methods page.
    pub struct Security;
    /// The applications page.
    pub struct Apps;
    /// The linked identities page.
    pub struct Identities;

    impl BackTo for ThisPage {
        fn path(req: &HttpRequest, _: &Tenant) -> String {
            req.uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |p| p.to_string())
        }
    }
    impl BackTo for Account {
        fn path(_: &HttpRequest, t: &Tenant) -> String {
            paths::account(&t.slug)
        }
    }
    impl BackTo for Security {
        fn path(_: &HttpRequest, t: &Tenant) -> String {
            paths::security(&t.slug)
        }
    }
    impl BackTo for Identities {
        fn path(_: &HttpRequest, t: &Tenant) -> String {
            paths::identities(&t.slug)
        }
    }
    impl BackTo for Apps {
        fn path(_: &HttpRequest, t: &Tenant) -> String {
            paths::apps(&t.slug)
        }
    }
}

/// The signed-in user of a page for people (tenant as [`PeopleTenant`]). Anyone else is answered
/// before the handler runs: sent to sign in and back to `B`'s page, or to the page that says why
/// their session ended.
pub struct SignedIn<B: BackTo = back::ThisPage> {
    pub tenant: Tenant,
    pub session: BrowserSession,
    pub user: User,
    back: PhantomData<B>,
}

impl<B: BackTo + 'static> FromRequest for SignedIn<B> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let tenant = tenant_of(&req).await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| PageError::internal("no application state"))?;
            let back = B::path(&req, &tenant);
            match signed_in_or_redirect(state, &req, &tenant, &back).await? {
                Ok((session, user)) => Ok(SignedIn {
                    tenant,
                    session,
                    user,
                    back: PhantomData,
                }),
                Err(answer) => Err(InternalError::from_response("sign in first", answer).into()),
            }
        })
    }
}
