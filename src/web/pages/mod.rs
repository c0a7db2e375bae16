//! Hosted pages for people (sign-in, sign-out, landing, first-admin setup) and the operational
//! endpoints (health, readiness, metrics, static assets), plus the helpers they share.

pub mod assets;
pub mod health;
pub mod home;
pub mod login;
pub mod logout;
pub mod setup;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode};

use super::cookies;
use super::error::PageError;
use super::state::AppState;
use crate::admin;
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::session::{BrowserSession, SessionState};
use crate::domain::tenant::{Tenant, TenantSlug};
use crate::domain::user::User;
use crate::storage;

/// The tenant named in the path, or the 404 page.
pub async fn load_tenant(state: &AppState, slug: &str) -> Result<Tenant, PageError> {
    if TenantSlug::parse(slug).is_err() {
        return Err(PageError::not_found());
    }
    admin::tenants::find(&state.ctx, slug)
        .await?
        .ok_or_else(PageError::not_found)
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
        /// Why the session ended, if it timed out just now.
        expired: Option<SessionState>,
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

/// Resolves the session cookie: valid and active, timed out, or absent/forged/ended. A session
/// whose user has since been disabled or deleted is ended here.
pub async fn visitor(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
) -> Result<Visitor, PageError> {
    let Some(token) = session_token(state, req, tenant) else {
        return Ok(Visitor::Anonymous {
            stale_cookie: false,
            expired: None,
        });
    };
    let sessions = sessions(state);
    match sessions.lookup(tenant, &token).await? {
        SessionLookup::Active(session) => {
            let (tenant_id, user_id) = (tenant.id, session.user_id);
            let user = state
                .ctx
                .db
                .run(move |c| storage::users::find_by_id(c, tenant_id, user_id))
                .await?
                .map(|u| u.user)
                .filter(|u| u.enabled);
            match user {
                Some(user) => Ok(Visitor::SignedIn {
                    session: Box::new(session),
                    user: Box::new(user),
                }),
                None => {
                    sessions.end(&token).await?;
                    Ok(Visitor::Anonymous {
                        stale_cookie: true,
                        expired: None,
                    })
                }
            }
        }
        SessionLookup::Expired(session, why) => {
            let reason = if why == SessionState::IdleExpired {
                "idle_timeout"
            } else {
                "absolute_timeout"
            };
            storage::audit::record(
                &state.ctx.db,
                AuditEvent::new(
                    state.ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::SessionExpired,
                    reason,
                    Actor::System,
                )
                .subject(format!("session:{}", session.sid))
                .details(serde_json::json!({ "user": session.user_id.to_string() })),
            )
            .await;
            Ok(Visitor::Anonymous {
                stale_cookie: true,
                expired: Some(why),
            })
        }
        SessionLookup::Missing => Ok(Visitor::Anonymous {
            stale_cookie: true,
            expired: None,
        }),
    }
}

/// A 303 redirect (the right answer after a POST, and harmless after a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header(("Location", location))
        .finish()
}

/// Percent-encodes a value for use in a query string.
pub fn query_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
