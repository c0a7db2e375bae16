//! The audit log (filters: action, actor, subject; newest first, "Next" by the last entry's id,
//! `storage::audit_query::page`) and sign-in events (filters: risk level and decision; "Next" by
//! the last event's time and id, `risk_feedback::activity::list`). Both need `events:read`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views::{AuditLine, AuditPage, EventLine, EventsPage, FilterOption};
use super::{Screen, render, when};
use crate::domain::admin::{Module, Permission};
use crate::storage::{self, audit_query::AuditFilter};
use crate::web::error::PageError;
use crate::web::form::StrictQuery;
use crate::web::paths::{self, query_escape};
use crate::web::state::AppState;

/// Entries a page lists.
pub const PAGE: i64 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    subject: Option<String>,
    after: Option<String>,
}

/// A filter's value: trimmed, empty is none, at most `max` characters.
fn value(raw: Option<String>, max: usize) -> String {
    raw.unwrap_or_default().trim().chars().take(max).collect()
}

fn some(v: &str) -> Option<String> {
    Some(v.to_owned()).filter(|v| !v.is_empty())
}

pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<AuditQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Events))?;
    let q = query.into_inner();
    let (action, actor, subject) = (
        value(q.action, 64),
        value(q.actor, 200),
        value(q.subject, 200),
    );
    let filter = AuditFilter {
        action: some(&action),
        actor: some(&actor),
        subject: some(&subject),
        before_id: some(&value(q.after, 64)),
        ..AuditFilter::default()
    };
    let mut rows =
        crate::admin::reads::audit(&state.ctx, &page.tenant, &page.admin, filter, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next = rows.last().filter(|_| more).map(|r| {
        format!(
            "{}?action={}&actor={}&subject={}&after={}",
            paths::admin_page(&page.tenant.slug, "audit"),
            query_escape(&action),
            query_escape(&actor),
            query_escape(&subject),
            query_escape(&r.id)
        )
    });
    let rows = rows.into_iter().map(AuditLine::from).collect();
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Audit,
        StatusCode::OK,
        None,
        |frame| AuditPage {
            frame,
            action,
            actor,
            subject,
            rows,
            next,
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    level: Option<String>,
    decision: Option<String>,
    /// `{created_at}.{id}` of the previous page's last event.
    after: Option<String>,
}

const LEVELS: [&str; 3] = ["low", "medium", "high"];
const DECISIONS: [&str; 5] = ["allow", "second_factor", "block", "deny", "reauthenticate"];

/// The chosen option of a filter (only a known value; anything else is no filter).
fn choice(raw: Option<&str>, known: &[&'static str]) -> Option<&'static str> {
    raw.and_then(|r| known.iter().copied().find(|k| *k == r))
}

fn options(known: &[&'static str], chosen: Option<&str>) -> Vec<FilterOption> {
    known
        .iter()
        .map(|v| FilterOption {
            value: v,
            selected: chosen == Some(*v),
        })
        .collect()
}

pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<EventQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Events))?;
    let level = choice(query.level.as_deref(), &LEVELS);
    let decision = choice(query.decision.as_deref(), &DECISIONS);
    let before = query
        .after
        .as_deref()
        .and_then(|a| a.split_once('.'))
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.chars().take(64).collect())));
    let filter = storage::risk::Filter {
        level: level.map(str::to_owned),
        decision: decision.map(str::to_owned),
        before,
        limit: PAGE + 1,
        ..storage::risk::Filter::default()
    };
    let mut rows =
        crate::risk_feedback::activity::list(&state.ctx, &page.tenant, filter, &page.admin).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let slug = &page.tenant.slug;
    let next = rows.last().filter(|_| more).map(|e| {
        format!(
            "{}?level={}&decision={}&after={}",
            paths::admin_page(slug, "events"),
            level.unwrap_or(""),
            decision.unwrap_or(""),
            query_escape(&format!("{}.{}", e.created_at, e.id))
        )
    });
    let users_visible = page.can(Permission::read(Module::Users));
    let rows = rows
        .into_iter()
        .map(|e| EventLine {
            when: when(e.created_at),
            user_href: e
                .user_id
                .as_ref()
                .filter(|_| users_visible)
                .map(|u| paths::admin_user(slug, u)),
            user: e.user_id,
            kind: e.kind,
            level: e.level,
            decision: e.decision,
            result: e.result,
            device: e.device,
            place: crate::domain::place::words(
                e.city.as_deref(),
                e.country.as_deref(),
                e.asn.and_then(|a| u32::try_from(a).ok()),
            ),
            ip: e.ip,
        })
        .collect();
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Events,
        StatusCode::OK,
        None,
        |frame| EventsPage {
            frame,
            levels: options(&LEVELS, level),
            decisions: options(&DECISIONS, decision),
            rows,
            next,
        },
    ))
}
