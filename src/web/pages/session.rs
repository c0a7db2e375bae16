//! What a browser learns about its own session: `GET /t/{tenant}/session/status` (JSON, polled by
//! the hosted pages and usable by same-site applications) and `GET /t/{tenant}/session-ended`,
//! the page that says why a session ended, e.g. "your account signed in on another device".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{query_escape, session_token, sessions};
use crate::auth::sessions::{Ended, SessionLookup, deadline};
use crate::domain::session::EndReason;
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::form::StrictQuery;
use crate::web::people::PeopleTenant;
use crate::web::return_to;
use crate::web::state::AppState;
use crate::web::templates::{SessionEndedPage, html};

/// `{"active": true, "sid", "expires_at"}` or `{"active": false, "reason", "ended_at", "by"}`
/// (`by`: the device and coarse network of the sign-in that evicted the session, not its address).
/// Reading it does not count as activity (the idle timeout keeps running).
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    let body = match session_token(&state, &req, &tenant) {
        None => serde_json::json!({ "active": false, "reason": "no_session" }),
        Some(token) => match sessions(&state).lookup(&tenant, &token, false).await? {
            SessionLookup::Active(found) => {
                // A disabled account's session is over even before a page ends it.
                let enabled =
                    crate::admin::users::find_by_id(&state.ctx, &tenant, found.record.user_id)
                        .await?
                        .is_some_and(|u| u.enabled);
                if enabled {
                    serde_json::json!({
                        "active": true,
                        "sid": found.record.sid,
                        "expires_at": deadline(&found.record, &tenant.policy.session),
                    })
                } else {
                    serde_json::json!({ "active": false, "reason": "account_disabled" })
                }
            }
            SessionLookup::Expired(..) => {
                serde_json::json!({ "active": false, "reason": "expired" })
            }
            SessionLookup::Ended(ended) => ended_json(&ended),
            SessionLookup::Missing => {
                serde_json::json!({ "active": false, "reason": "no_session" })
            }
        },
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

fn ended_json(ended: &Ended) -> serde_json::Value {
    let mut v = serde_json::json!({
        "active": false,
        "reason": ended.reason,
        "ended_at": ended.at,
    });
    if let Some(by) = &ended.by {
        v["by"] = serde_json::json!({ "device": by.device, "network": by.network });
    }
    v
}

#[derive(Deserialize)]
pub struct EndedQuery {
    return_to: Option<String>,
}

/// Why this browser's session ended. Deletes the session cookie.
pub async fn ended(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    query: StrictQuery<EndedQuery>,
) -> Result<HttpResponse, PageError> {
    let ended = match session_token(&state, &req, &tenant) {
        Some(token) => sessions(&state).ended(&token).await?,
        None => None,
    };
    let (heading, message) = match ended.as_ref().map(|e| e.reason) {
        Some(EndReason::Evicted) => (
            "You were signed out",
            "Your account signed in on another device, and it can be signed in on a limited \
             number of devices at a time, so this browser was signed out.",
        ),
        Some(EndReason::IdleTimeout | EndReason::AbsoluteTimeout) => {
            ("Your session expired", "Please sign in again.")
        }
        Some(EndReason::User) => (
            "You were signed out",
            "This session was signed out from another browser where you are signed in.",
        ),
        Some(EndReason::Administrator) => (
            "You were signed out",
            "An administrator ended this session.",
        ),
        Some(EndReason::AccountDisabled) => ("You were signed out", "This account is disabled."),
        Some(EndReason::Risk) => (
            "Please sign in again",
            "This session was used from another network and another device than the ones it \
             was signed in on, so it was signed out to protect your account.",
        ),
        Some(EndReason::Upstream) => (
            "You were signed out",
            "You signed out at the identity provider you signed in with, so this session ended too.",
        ),
        _ => ("You are signed out", "Sign in to continue."),
    };
    let at = crate::clock::from_unix(ended.as_ref().map_or(0, |e| e.at));
    let login_query = query
        .return_to
        .as_deref()
        .and_then(return_to::safe_path)
        .map(|p| format!("?return_to={}", query_escape(p)))
        .unwrap_or_default();
    let mut res = html(
        StatusCode::OK,
        &SessionEndedPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            heading,
            message,
            by: ended.as_ref().and_then(|e| e.by.clone()),
            at: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            at_iso: at.to_rfc3339(),
            login_query,
        },
    );
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::session_name(state.https, &tenant.slug),
    ));
    Ok(res)
}
