//! One user in the management UI: profile, role, second factors in brief, live sessions (each
//! with "End"), linked identities, recent sign-in events (`risk_feedback::activity::recent`) and
//! the audit trail of `user:{id}`; and the actions, each a form answered by a redirect back here:
//! disable or enable (`users:write`), reset second factors (`users:write`; ends sessions and
//! grants), end one or every session (`sessions:write`), set the role (`admins:write`,
//! `admin::roles::set`: never the last tenant admin).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views::{AuditLine, IdentityLine, RoleOption, UserPage};
use super::{Screen, render, when};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission, Role};
use crate::domain::ids::UserId;
use crate::domain::user::User;
use crate::storage::audit_query::AuditFilter;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;
use crate::web::templates::{ActivityRow, SessionRow};

/// Audit entries of the user the page shows.
const AUDIT_TRAIL: i64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The user of the path, in the administrator's tenant; anything else is "not found".
async fn load(state: &AppState, page: &AdminPage, id: &str) -> Result<User, PageError> {
    let id: UserId = id.parse().map_err(|_| PageError::not_found())?;
    admin::users::find_by_id(&state.ctx, &page.tenant, id)
        .await?
        .ok_or_else(PageError::not_found)
}

fn back_here(page: &AdminPage, user: &User, done: &str) -> HttpResponse {
    see_other(&paths::done(
        paths::admin_user(&page.tenant.slug, user.id),
        done,
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: StrictQuery<DoneQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Users))?;
    let user = load(&state, &page, &path.1).await?;
    let ctx = &state.ctx;
    let factors = crate::auth::mfa::factors(ctx, &page.tenant, &user).await?;
    let identities = crate::federation::link::linked(ctx, &user)
        .await?
        .into_iter()
        .map(|(_, name, subject, at)| IdentityLine {
            provider: name,
            subject,
            linked: when(at),
        })
        .collect();
    let sessions = if page.can(Permission::read(Module::Sessions)) {
        let now = ctx.clock.now();
        Some(
            crate::web::people::sessions(&state)
                .list_for_user(page.tenant.id, user.id)
                .await?
                .iter()
                .filter(|f| f.record.state(now, &page.tenant.policy.session).is_active())
                .map(|f| SessionRow::new(&f.record, Some(&page.session.sid)))
                .collect(),
        )
    } else {
        None
    };
    let (mut activity, mut audit) = (None, None);
    if page.can(Permission::read(Module::Events)) {
        activity = Some(
            crate::risk_feedback::activity::recent(ctx, &page.tenant, user.id)
                .await?
                .iter()
                .map(ActivityRow::new)
                .collect(),
        );
        let filter = AuditFilter {
            subject: Some(format!("user:{}", user.id)),
            ..AuditFilter::default()
        };
        let rows =
            crate::admin::reads::audit(ctx, &page.tenant, &page.admin, filter, AUDIT_TRAIL).await?;
        audit = Some(rows.into_iter().map(AuditLine::from).collect());
    }
    let roles = page.can(Permission::write(Module::Admins)).then(|| {
        let mut options = vec![RoleOption {
            value: "",
            label: "none (not an administrator)",
            selected: user.admin_role.is_none(),
        }];
        options.extend(
            Role::ALL
                .into_iter()
                .filter(|r| *r != Role::InstanceAdmin || page.admin.role() == Some(*r))
                .map(|r| RoleOption {
                    value: r.as_str(),
                    label: r.as_str(),
                    selected: user.admin_role == Some(r),
                }),
        );
        options
    });
    let view = UserPage {
        frame: page.frame(Screen::Users, "", None),
        action: paths::admin_user(&page.tenant.slug, user.id),
        sessions_href: format!(
            "{}?user={}",
            paths::admin_page(&page.tenant.slug, "sessions"),
            user.id
        ),
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_default(),
        email_verified: user.email_verified,
        display_name: user.display_name.clone().unwrap_or_default(),
        enabled: user.enabled,
        role: user.admin_role.map_or("none", |r| r.as_str()),
        created: user.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        totp: factors.totp,
        keys: factors.credentials.len(),
        recovery_left: factors.recovery_left,
        identities,
        sessions,
        activity,
        audit,
        can_write_users: page.can(Permission::write(Module::Users)),
        can_end_sessions: page.can(Permission::write(Module::Sessions)),
        roles,
    };
    let notice = super::notice(query.done.as_deref());
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Users,
        StatusCode::OK,
        notice,
        |frame| UserPage { frame, ..view },
    ))
}

pub async fn disable(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    set_enabled(&state, &page, &path.1, false).await
}

pub async fn enable(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    set_enabled(&state, &page, &path.1, true).await
}

async fn set_enabled(
    state: &AppState,
    page: &AdminPage,
    id: &str,
    enabled: bool,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Users))?;
    let user = load(state, page, id).await?;
    let back = back_here(page, &user, if enabled { "enabled" } else { "disabled" });
    admin::users::set_enabled(&state.ctx, &page.tenant, user, enabled, &page.admin).await?;
    Ok(back)
}

pub async fn reset_mfa(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Users))?;
    let user = load(&state, &page, &path.1).await?;
    admin::users::reset_factors(
        &state.ctx,
        &page.tenant,
        &user,
        admin::access::OnReset::EndAccess,
        &page.admin,
    )
    .await?;
    Ok(back_here(&page, &user, "mfa-reset"))
}

pub async fn end_sessions(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Sessions))?;
    let user = load(&state, &page, &path.1).await?;
    admin::sessions::end_user(&state.ctx, &page.tenant, user.id, &page.admin).await?;
    Ok(back_here(&page, &user, "sessions-ended"))
}

#[derive(Deserialize)]
pub struct EndOneForm {
    sid: String,
}

pub async fn end_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<EndOneForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Sessions))?;
    let user = load(&state, &page, &path.1).await?;
    // Only a session of this user (and, in the engine, of this tenant).
    let theirs = admin::sessions::list(&state.ctx, &page.tenant, user.id)
        .await?
        .iter()
        .any(|s| s.sid == form.sid);
    if !theirs {
        return Err(PageError::not_found());
    }
    admin::sessions::end(&state.ctx, &page.tenant, &form.sid, &page.admin).await?;
    Ok(back_here(&page, &user, "session-ended"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<RoleForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Admins))?;
    let user = load(&state, &page, &path.1).await?;
    let role = match form.role.as_str() {
        "" => None,
        raw => Some(Role::parse(raw).map_err(AdminError::from)?),
    };
    let changed = admin::roles::set(&state.ctx, &page.tenant, &page.admin, &user, role).await?;
    Ok(back_here(
        &page,
        &user,
        if changed { "role" } else { "role-same" },
    ))
}
