//! The dashboard (administrators count, live sessions count, the last 24 hours of sign-in events by result and by risk
//! level as small server-drawn bar charts, the latest audit entries, the retention jobs' last
//! runs: only what the role can read,
//! and only cheap reads) and "what can I do" (the administrator's abilities).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views::{AbilityLine, AuditLine, Chart, DashboardPage, MePage};
use super::{Screen, render};
use crate::admin;
use crate::domain::admin::{Module, Permission};
use crate::storage::audit_query::AuditFilter;
use crate::web::error::PageError;
use crate::web::form::StrictQuery;
use crate::web::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoneQuery {
    done: Option<String>,
}

/// Audit entries the dashboard shows.
const RECENT_AUDIT: i64 = 10;

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<DoneQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    let ctx = &state.ctx;
    let admins = if page.can(Permission::read(Module::Admins)) {
        Some(admin::reads::admin_count(ctx, &page.tenant, &page.admin).await?)
    } else {
        None
    };
    let sessions = if page.can(Permission::read(Module::Sessions)) {
        Some(admin::sessions::count_live(ctx, &page.tenant, &page.admin).await?)
    } else {
        None
    };
    let (mut total, mut charts, mut audit, mut retention) = (None, Vec::new(), None, None);
    if page.can(Permission::read(Module::Events)) {
        let since = ctx.clock.unix() - 86_400;
        let summary = crate::risk_feedback::activity::summary(ctx, &page.tenant, since).await?;
        total = Some(summary.total);
        charts.push(Chart::new("by-result", "By result", &summary.by_result));
        charts.push(Chart::new("by-level", "By risk level", &summary.by_level));
        // From the audit log: every password step (throttled ones included, which never reach
        // risk scoring) and every second-factor proof.
        for (id, title, action) in [
            ("sign-ins", "Password steps by outcome", "sign_in"),
            (
                "second-factors",
                "Second factors by outcome",
                "second_factor",
            ),
        ] {
            let counts =
                admin::reads::audit_outcomes(ctx, &page.tenant, &page.admin, action, since).await?;
            charts.push(Chart::new(id, title, &counts));
        }
        let rows = admin::reads::audit(
            ctx,
            &page.tenant,
            &page.admin,
            AuditFilter::default(),
            RECENT_AUDIT,
        )
        .await?;
        audit = Some(rows.into_iter().map(AuditLine::from).collect());
        let runs = admin::reads::retention_runs(ctx, &page.tenant, &page.admin).await?;
        retention = Some(
            runs.into_iter()
                .map(|r| {
                    let at = crate::clock::from_unix(r.last_run_at).to_rfc3339();
                    (r.job, at, r.rows_removed)
                })
                .collect(),
        );
    }
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Dashboard,
        StatusCode::OK,
        super::notice(query.done.as_deref()),
        |frame| DashboardPage {
            frame,
            admins,
            sessions,
            total,
            charts,
            audit,
            retention,
        },
    ))
}

pub async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    let abilities = page.admin.abilities(page.tenant.id);
    let lines = Module::ALL
        .into_iter()
        .filter_map(|m| {
            let access = if page.can(Permission::write(m)) {
                "read and write"
            } else if page.can(Permission::read(m)) {
                "read"
            } else {
                return None;
            };
            Some(AbilityLine {
                module: m.as_str(),
                access,
            })
        })
        .collect();
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Me,
        StatusCode::OK,
        None,
        |frame| MePage {
            frame,
            kind: abilities.kind,
            name: abilities.name,
            abilities: lines,
        },
    ))
}
