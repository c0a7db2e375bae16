//! The append-only audit log.

use diesel::prelude::*;

use super::schema::audit_events;
use super::{DbConn, StorageError};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::TenantId;

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditRow<'a> {
    id: String,
    tenant_id: Option<String>,
    occurred_at: i64,
    action: &'a str,
    outcome: &'a str,
    actor: String,
    subject: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    details: String,
}

/// A stored audit entry as read back (for the admin API and tests).
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub occurred_at: i64,
    pub action: String,
    pub outcome: String,
    pub actor: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
}

pub fn insert(conn: &mut DbConn, e: &AuditEvent) -> Result<(), StorageError> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditRow {
            id: e.id.to_string(),
            tenant_id: e.tenant_id.map(|t| t.to_string()),
            occurred_at: e.occurred_at.timestamp(),
            action: e.action.as_str(),
            outcome: &e.outcome,
            actor: e.actor.render(),
            subject: e.subject.as_deref(),
            ip: e.origin.ip.as_deref(),
            user_agent: e.origin.user_agent.as_deref(),
            request_id: e.origin.request_id.as_deref(),
            details: e.details.to_string(),
        })
        .execute(conn)?;
    Ok(())
}

/// The newest `limit` events of a tenant, newest first.
pub fn recent(
    conn: &mut DbConn,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<AuditRow>, StorageError> {
    Ok(audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.to_string()))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Appends an event and mirrors it to the `audit` log target. A failed write is logged, never
/// propagated: losing the database must not also lock every user out.
pub async fn record(db: &super::Db, event: AuditEvent) {
    tracing::info!(
        target: "audit",
        action = event.action.as_str(),
        outcome = %event.outcome,
        actor = %event.actor.render(),
        subject = event.subject.as_deref().unwrap_or(""),
        tenant = event.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
        ip = event.origin.ip.as_deref().unwrap_or(""),
        request_id = event.origin.request_id.as_deref().unwrap_or(""),
        "audit"
    );
    let action = event.action.as_str();
    if let Err(e) = db.write(move |conn| insert(conn, &event)).await {
        tracing::error!(error = %e, action, "could not write audit event");
    }
}
