//! The sessions screen (`sessions:read`): find a person by username or e-mail prefix (a page of
//! at most `FOUND` from the users index, never a whole collection; with htmx a typeahead gets just
//! the list), then their live sessions (`admin::sessions::list`), each with "End", and "End
//! every session" (`sessions:write`; `admin::sessions::end`, `admin::sessions::end_user`, both
//! through `lifecycle` and audited). With htmx, "End" replaces its row in place.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views_config::{EndedRow, PeopleFragment, PersonLine, SessionLine, SessionsPage};
use super::{Screen, fragment, render, render_fragment, when};
use crate::admin;
use crate::domain::admin::{Module, Permission};
use crate::domain::ids::UserId;
use crate::domain::user::User;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths::{self, query_escape};
use crate::web::people::see_other;
use crate::web::state::AppState;

/// People a search shows.
const FOUND: i64 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    q: Option<String>,
    user: Option<String>,
    done: Option<String>,
}

fn here(page: &AdminPage) -> String {
    paths::admin_page(&page.tenant.slug, "sessions")
}

async fn user_of(state: &AppState, page: &AdminPage, id: &str) -> Result<User, PageError> {
    let id: UserId = id.parse().map_err(|_| PageError::not_found())?;
    admin::users::find_by_id(&state.ctx, &page.tenant, id)
        .await?
        .ok_or_else(PageError::not_found)
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Query>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Sessions))?;
    page.require(Permission::read(Module::Users))?;
    let Query { q, user, done } = query.into_inner();
    let q: String = q.unwrap_or_default().trim().chars().take(254).collect();
    let people = if q.is_empty() {
        Vec::new()
    } else {
        admin::reads::users(
            &state.ctx,
            &page.tenant,
            &page.admin,
            Some(q.clone()),
            None,
            FOUND,
        )
        .await?
        .into_iter()
        .map(|u| PersonLine {
            href: format!("{}?user={}", here(&page), u.id),
            username: u.username,
            email: u.email.unwrap_or_default(),
        })
        .collect()
    };
    if fragment(&req) {
        return Ok(render_fragment(&PeopleFragment { people, q }));
    }
    let chosen = match user.filter(|u| !u.is_empty()) {
        None => None,
        Some(id) => {
            let u = user_of(&state, &page, &id).await?;
            let sessions = admin::sessions::list(&state.ctx, &page.tenant, u.id)
                .await?
                .into_iter()
                .map(|s| SessionLine {
                    started: when(s.created_at),
                    last_seen: when(s.last_seen),
                    factors: s.amr.join(", "),
                    sid: s.sid,
                    device: s.device,
                    ip: s.ip,
                })
                .collect();
            Some((
                u.id.to_string(),
                u.username.clone(),
                paths::admin_user(&page.tenant.slug, u.id),
                sessions,
            ))
        }
    };
    let can_write = page.can(Permission::write(Module::Sessions));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Sessions,
        StatusCode::OK,
        super::notice(done.as_deref()),
        |frame| SessionsPage {
            frame,
            q,
            people,
            chosen,
            can_write,
        },
    ))
}

#[derive(Deserialize)]
pub struct EndForm {
    user: String,
    sid: Option<String>,
}

fn back(page: &AdminPage, user: &User, done: &str) -> HttpResponse {
    see_other(&paths::done(
        format!("{}?user={}", here(page), query_escape(&user.id.to_string())),
        done,
    ))
}

/// Ends one session of the user (`sid`), or every one without it. Ending one from htmx (the
/// "End" button of a row) is answered with the row that replaces it, not a redirect.
pub async fn end(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<EndForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Sessions))?;
    let user = user_of(&state, &page, &form.user).await?;
    let Some(sid) = form.sid.filter(|s| !s.is_empty()) else {
        admin::sessions::end_user(&state.ctx, &page.tenant, user.id, &page.admin).await?;
        return Ok(back(&page, &user, "sessions-ended"));
    };
    // Only a session of this user (and, in the engine, of this tenant).
    let theirs = admin::sessions::list(&state.ctx, &page.tenant, user.id)
        .await?
        .iter()
        .any(|s| s.sid == sid);
    if !theirs {
        return Err(PageError::not_found());
    }
    admin::sessions::end(&state.ctx, &page.tenant, &sid, &page.admin).await?;
    if fragment(&req) {
        return Ok(render_fragment(&EndedRow {}));
    }
    Ok(back(&page, &user, "session-ended"))
}
