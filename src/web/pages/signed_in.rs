//! The answer to every finished sign-in (password, second factor, passkey, upstream provider):
//! the replaced and evicted sessions ended through `lifecycle`, a waiting upstream identity
//! linked, the session and device cookies set; or the session-limit page. Rendered as a redirect
//! for pages or JSON for the WebAuthn ceremonies.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;

use super::{query_escape, see_other};
use crate::auth::sessions::Found;
use crate::auth::signin::Started;
use crate::domain::audit::Actor;
use crate::domain::tenant::Tenant;
use crate::lifecycle::EndReason;
use crate::web::error::PageError;
use crate::web::paths;
use crate::web::state::AppState;
use crate::web::templates::{SessionLimitPage, SessionRow, html, limit_text};
use crate::web::{cookies, csrf};

/// What a finished sign-in answers, before it is rendered: as a redirect for pages
/// ([`SignedInAnswer::redirect`]) or as JSON for the WebAuthn ceremonies
/// ([`SignedInAnswer::json`]). Never a response whose `Location` is parsed back.
pub struct SignedInAnswer {
    pub next: Next,
    /// Cookies to set or remove (session, CSRF, known device, the pending sign-in).
    pub cookies: Vec<Cookie<'static>>,
}

/// Where a finished sign-in goes.
pub enum Next {
    /// On to this same-origin path.
    Go(String),
    /// The session limit refused it (`deny_new`): this page lets the user choose.
    TooManySessions(HttpResponse),
}

impl SignedInAnswer {
    /// A 303 to where the sign-in goes (or the session-limit page).
    pub fn redirect(self) -> HttpResponse {
        let mut res = match self.next {
            Next::Go(to) => see_other(&to),
            Next::TooManySessions(page) => page,
        };
        for c in &self.cookies {
            let _ = res.add_cookie(c);
        }
        res
    }

    /// `{"redirect": path}`, or 409 with a message when the session limit refused the sign-in.
    pub fn json(self) -> HttpResponse {
        let mut res = match self.next {
            Next::Go(to) => HttpResponse::Ok().json(serde_json::json!({ "redirect": to })),
            Next::TooManySessions(_) => HttpResponse::build(StatusCode::CONFLICT).json(serde_json::json!({
                "message": "Your account is signed in on too many devices. Sign in with your password to choose which session to end.",
            })),
        };
        for c in &self.cookies {
            let _ = res.add_cookie(c);
        }
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
        res
    }
}

/// The answer to every finished sign-in (password, second factor, passkey): ends the session it
/// replaced and the ones the session limit evicted (through `lifecycle`), and sets the session
/// cookie; or the session-limit page. Always removes the pending sign-in cookie.
#[allow(clippy::too_many_arguments)]
pub async fn started_response(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    origin: &crate::domain::audit::Origin,
    user: &crate::domain::user::User,
    started: Started,
    return_to: &str,
    device: Option<String>,
) -> Result<SignedInAnswer, PageError> {
    let mut jar = Vec::new();
    let next = match started {
        Started::Session {
            session,
            replaced,
            evicted,
        } => {
            if let Some(previous) = replaced {
                super::end(
                    state,
                    tenant,
                    &previous,
                    EndReason::Replaced,
                    Actor::System,
                    origin.clone(),
                )
                .await?;
            }
            crate::lifecycle::end_evicted(
                &state.ctx,
                tenant,
                evicted,
                origin.clone(),
                &session.record.sid,
            )
            .await;
            let link = cookies::link_name(state.https, &tenant.slug);
            if let Some(token) = req.cookie(&link).map(|c| c.value().to_owned()) {
                // An upstream identity waiting for this account's proof: linked if it matched
                // this account (the engine decides), used up either way.
                if let Err(e) = crate::federation::complete_link(
                    &state.ctx,
                    tenant,
                    &token,
                    user,
                    origin.clone(),
                )
                .await
                {
                    tracing::warn!(error = %e, "could not link an upstream identity");
                }
                jar.push(cookies::removal(state.https, link));
            }
            let name = cookies::session_name(state.https, &tenant.slug);
            jar.push(cookies::build(
                state.https,
                name,
                session.token.expose().clone(),
            ));
            if let Some(c) = csrf::fresh(state).cookie {
                jar.push(c);
            }
            Next::Go(if return_to.is_empty() {
                paths::home(&tenant.slug)
            } else {
                return_to.to_owned()
            })
        }
        Started::Denied { live } => Next::TooManySessions(limit_page(
            state,
            req,
            tenant,
            &user.username,
            return_to,
            &live,
        )),
    };
    if let Some(device) = device {
        jar.push(device_cookie(state, tenant, device));
    }
    jar.push(cookies::removal(
        state.https,
        cookies::pending_name(state.https, &tenant.slug),
    ));
    Ok(SignedInAnswer { next, cookies: jar })
}

pub(super) fn device_cookie(
    state: &AppState,
    tenant: &Tenant,
    value: String,
) -> actix_web::cookie::Cookie<'static> {
    cookies::lasting(
        state.https,
        cookies::device_name(state.https, &tenant.slug),
        value,
        tenant.policy.throttle.known_for_days,
    )
}

/// The page for a sign-in refused by the session limit (`deny_new`): where the account is signed
/// in, and a form to end those sessions by entering the password again.
fn limit_page(
    state: &AppState,
    req: &HttpRequest,
    tenant: &Tenant,
    identifier: &str,
    return_to: &str,
    live: &[Found],
) -> HttpResponse {
    let issue = csrf::issue(state, req);
    let policy = &tenant.policy.session;
    let mut res = html(
        StatusCode::CONFLICT,
        &SessionLimitPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            return_to,
            identifier,
            limit_text: limit_text(policy),
            end_text: if live.len() > 1 {
                "sign out the session you signed in to first"
            } else {
                "sign out that session"
            },
            sessions: live
                .iter()
                .map(|f| SessionRow::new(&f.record, None))
                .collect(),
            error: None,
            cancel_query: if return_to.is_empty() {
                String::new()
            } else {
                format!("?return_to={}", query_escape(return_to))
            },
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    res
}
