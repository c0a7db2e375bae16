//! Risk scoring's tables: `sign_in_events` (one row per evaluation: insert, result, feedback,
//! filtered listing by keyset on `(created_at, id)`, retention purge) and `risk_profiles` (a
//! user's recent sign-ins in brief, `crate::risk::profile`, rewritten under the row's lock so two
//! concurrent sign-ins never lose each other's entries).

use diesel::prelude::*;

use super::schema::{risk_profiles, sign_in_events};
use super::{DbConn, StorageError};
use crate::domain::ids::{TenantId, UserId};
use crate::risk::profile::Profile;

/// Most events one listing returns.
pub const MAX_PAGE: i64 = 500;

#[derive(
    Clone, Debug, PartialEq, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize,
)]
#[diesel(table_name = sign_in_events)]
pub struct SignInEvent {
    pub id: String,
    pub tenant_id: String,
    pub user_id: Option<String>,
    /// `sign_in` (an evaluation of a sign-in) or `continuous` (a session or refresh token used
    /// from elsewhere).
    pub kind: String,
    pub created_at: i64,
    pub ip: String,
    pub country: Option<String>,
    pub city: Option<String>,
    pub asn: Option<i64>,
    pub device: String,
    pub device_id: Option<String>,
    pub level: String,
    pub score: i32,
    /// The signals, as JSON (`[{"code":…,"weight":…,"details":…}]`).
    pub reasons: String,
    /// `allow`, `second_factor`, `block`, `deny`, or `reauthenticate` (continuous evaluation).
    pub decision: String,
    /// False in audit-only mode (the decision was recorded, not applied).
    pub enforced: bool,
    /// `pending` (a second factor or a new password is awaited), `success`, `blocked`,
    /// `denied`, `session_limit`, `reauthenticate`, `revoked`.
    pub result: String,
    /// `valid` ("this was me") or `invalid` ("this wasn't me", or an operator's mark).
    pub feedback: Option<String>,
    pub feedback_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, event: &SignInEvent) -> Result<(), StorageError> {
    diesel::insert_into(sign_in_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// Sets the result of a pending event (only while it is pending, so a late write never
/// overwrites a final one).
pub fn set_result(conn: &mut DbConn, id: &str, result: &str) -> Result<bool, StorageError> {
    Ok(diesel::update(
        sign_in_events::table
            .filter(sign_in_events::id.eq(id))
            .filter(sign_in_events::result.eq("pending")),
    )
    .set(sign_in_events::result.eq(result))
    .execute(conn)?
        == 1)
}

pub fn find(
    conn: &mut DbConn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<SignInEvent>, StorageError> {
    Ok(sign_in_events::table
        .filter(sign_in_events::id.eq(id))
        .filter(sign_in_events::tenant_id.eq(tenant.to_string()))
        .select(SignInEvent::as_select())
        .first(conn)
        .optional()?)
}

/// Records feedback on an event; whether the event exists in the tenant.
pub fn set_feedback(
    conn: &mut DbConn,
    tenant: TenantId,
    id: &str,
    value: &str,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        sign_in_events::table
            .filter(sign_in_events::id.eq(id))
            .filter(sign_in_events::tenant_id.eq(tenant.to_string())),
    )
    .set((
        sign_in_events::feedback.eq(value),
        sign_in_events::feedback_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

/// Which events to list (newest first).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub user: Option<UserId>,
    pub level: Option<String>,
    pub decision: Option<String>,
    pub since: Option<i64>,
    /// Keyset: only events older than this `(created_at, id)`.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

pub fn list(
    conn: &mut DbConn,
    tenant: TenantId,
    filter: &Filter,
) -> Result<Vec<SignInEvent>, StorageError> {
    let mut q = sign_in_events::table
        .filter(sign_in_events::tenant_id.eq(tenant.to_string()))
        .select(SignInEvent::as_select())
        .into_boxed();
    if let Some(user) = filter.user {
        q = q.filter(sign_in_events::user_id.eq(user.to_string()));
    }
    if let Some(level) = &filter.level {
        q = q.filter(sign_in_events::level.eq(level.clone()));
    }
    if let Some(decision) = &filter.decision {
        q = q.filter(sign_in_events::decision.eq(decision.clone()));
    }
    if let Some(since) = filter.since {
        q = q.filter(sign_in_events::created_at.ge(since));
    }
    if let Some((at, id)) = &filter.before {
        q = q.filter(
            sign_in_events::created_at
                .lt(*at)
                .or(sign_in_events::created_at
                    .eq(*at)
                    .and(sign_in_events::id.lt(id.clone()))),
        );
    }
    Ok(
        q.order((sign_in_events::created_at.desc(), sign_in_events::id.desc()))
            .limit(filter.limit.clamp(1, MAX_PAGE))
            .load(conn)?,
    )
}

/// How many of a tenant's events since `since` had each (result, level): one grouped query over
/// `sign_in_events_tenant` (the dashboard's last 24 hours).
pub fn counts_since(
    conn: &mut DbConn,
    tenant: TenantId,
    since: i64,
) -> Result<Vec<(String, String, i64)>, StorageError> {
    Ok(sign_in_events::table
        .filter(sign_in_events::tenant_id.eq(tenant.to_string()))
        .filter(sign_in_events::created_at.ge(since))
        .group_by((sign_in_events::result, sign_in_events::level))
        .select((
            sign_in_events::result,
            sign_in_events::level,
            diesel::dsl::count_star(),
        ))
        .load(conn)?)
}

/// Deletes a tenant's events older than `before`, at most `batch` at a time; how many.
pub fn purge(
    conn: &mut DbConn,
    tenant: TenantId,
    before: i64,
    batch: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = sign_in_events::table
        .filter(sign_in_events::tenant_id.eq(tenant.to_string()))
        .filter(sign_in_events::created_at.lt(before))
        .select(sign_in_events::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(sign_in_events::table.filter(sign_in_events::id.eq_any(ids)))
            .execute(conn)?,
    )
}

/// A user's profile, if they have one yet.
pub fn profile(conn: &mut DbConn, user: UserId) -> Result<Option<Profile>, StorageError> {
    Ok(risk_profiles::table
        .find(user.to_string())
        .select(risk_profiles::summary)
        .first::<String>(conn)
        .optional()?
        .map(|s| Profile::parse(&s)))
}

/// Changes a user's profile with `f` in one transaction under the row's lock (created empty
/// first unless the caller knows it `exists`): concurrent sign-ins of one user each add what
/// they saw.
pub fn update_profile(
    conn: &mut DbConn,
    user: UserId,
    now: i64,
    exists: bool,
    f: impl FnOnce(&mut Profile),
) -> Result<(), StorageError> {
    super::write_transaction(conn, |conn| {
        if !exists {
            super::upsert(
                conn,
                diesel::insert_into(risk_profiles::table)
                    .values((
                        risk_profiles::user_id.eq(user.to_string()),
                        risk_profiles::summary.eq("{}"),
                        risk_profiles::updated_at.eq(now),
                    ))
                    .on_conflict(risk_profiles::user_id)
                    .do_nothing(),
            )?;
        }
        let q = risk_profiles::table
            .find(user.to_string())
            .select(risk_profiles::summary);
        let summary: String = match conn {
            DbConn::Pg(c) => q.for_update().first(c)?,
            DbConn::Sqlite(c) => q.first(c)?,
        };
        let mut profile = Profile::parse(&summary);
        f(&mut profile);
        diesel::update(risk_profiles::table.find(user.to_string()))
            .set((
                risk_profiles::summary.eq(profile.to_json()),
                risk_profiles::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}
