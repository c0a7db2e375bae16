//! Reading the audit log for administrators: filtered, newest first, keyset-paged on the event
//! id (UUIDv7, so time order), walking `audit_events_tenant_time` and the per-subject index.

use diesel::prelude::*;

use super::audit::AuditRow;
use super::schema::audit_events;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

/// What to read.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    /// `user:<id>`, `client:<id>`, …
    pub subject: Option<String>,
    /// `user:<id>`, `api_key:<id>`, `cli`, …
    pub actor: Option<String>,
    pub outcome: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Older than this event id.
    pub before_id: Option<String>,
}

pub fn page(
    conn: &mut DbConn,
    tenant: TenantId,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, StorageError> {
    let mut q = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.to_string()))
        .into_boxed();
    if let Some(a) = &f.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(s) = &f.subject {
        q = q.filter(audit_events::subject.eq(s.clone()));
    }
    if let Some(a) = &f.actor {
        q = q.filter(audit_events::actor.eq(a.clone()));
    }
    if let Some(o) = &f.outcome {
        q = q.filter(audit_events::outcome.eq(o.clone()));
    }
    if let Some(t) = f.since {
        q = q.filter(audit_events::occurred_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(audit_events::occurred_at.lt(t));
    }
    if let Some(id) = &f.before_id {
        q = q.filter(audit_events::id.lt(id.clone()));
    }
    Ok(q.order(audit_events::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// How many of a tenant's audit entries of `action` since `since` (Unix seconds) had each
/// outcome, largest first (the dashboard's sign-ins, throttling and second factors); one grouped
/// query over `audit_events_tenant_time`.
pub fn outcomes_since(
    conn: &mut DbConn,
    tenant: TenantId,
    action: &str,
    since: i64,
) -> Result<Vec<(String, i64)>, StorageError> {
    let mut rows: Vec<(String, i64)> = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.to_string()))
        .filter(audit_events::occurred_at.ge(since))
        .filter(audit_events::action.eq(action))
        .group_by(audit_events::outcome)
        .select((audit_events::outcome, diesel::dsl::count_star()))
        .load(conn)?;
    rows.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    Ok(rows)
}
