//! The mail outbox table: messages written in the transaction of the event that causes them,
//! claimed by one delivery worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has
//! one writer), then marked sent, due again later, or given up. The message itself is sealed by
//! the caller (`crate::mail`); this file never sees it in clear.

use diesel::prelude::*;

use super::schema::mail_outbox;
use super::{DbConn, StorageError};
use crate::domain::ids::TenantId;

/// A message to queue.
pub struct NewMail<'a> {
    pub id: &'a str,
    pub tenant: Option<TenantId>,
    pub kind: &'a str,
    pub recipient: &'a str,
    /// The sealed message.
    pub content: &'a [u8],
    pub now: i64,
}

/// A message claimed for delivery.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct Claimed {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub content: Vec<u8>,
    /// Counting this one.
    pub attempts: i32,
    pub created_at: i64,
}

/// A message as operators see it (`watchword mail list`): never its content.
#[derive(Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = mail_outbox)]
pub struct Listed {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Which messages to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Not delivered: waiting (after at least one failed attempt) or given up.
    Stuck,
    /// Not delivered yet, whatever their attempts.
    Pending,
    Failed,
    All,
}

pub fn enqueue(conn: &mut DbConn, mail: &NewMail<'_>) -> Result<(), StorageError> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(mail.id),
            mail_outbox::tenant_id.eq(mail.tenant.map(|t| t.to_string())),
            mail_outbox::kind.eq(mail.kind),
            mail_outbox::recipient.eq(mail.recipient),
            mail_outbox::content.eq(mail.content),
            mail_outbox::created_at.eq(mail.now),
            mail_outbox::attempts.eq(0),
            mail_outbox::next_attempt_at.eq(mail.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` messages that are due at `now` and not claimed by anyone whose claim is
/// still running: each gets `claimed_until = now + lease` and one more attempt. On PostgreSQL
/// rows another replica is claiming are skipped, not waited for; on SQLite the transaction holds
/// the write lock. So a message is never claimed twice while its claim runs.
pub fn claim(
    conn: &mut DbConn,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StorageError> {
    super::write_transaction(conn, |conn| {
        let due = || {
            mail_outbox::table
                .select(mail_outbox::id)
                .filter(mail_outbox::sent_at.is_null())
                .filter(mail_outbox::failed_at.is_null())
                .filter(mail_outbox::next_attempt_at.le(now))
                .filter(
                    mail_outbox::claimed_until
                        .is_null()
                        .or(mail_outbox::claimed_until.le(now)),
                )
                .order(mail_outbox::next_attempt_at)
                .limit(limit)
        };
        let ids: Vec<String> = match conn {
            DbConn::Pg(c) => due().for_update().skip_locked().load(c)?,
            DbConn::Sqlite(c) => due().load(c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(mail_outbox::table.filter(mail_outbox::id.eq_any(&ids)))
            .set((
                mail_outbox::claimed_until.eq(now + lease),
                mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            ))
            .execute(conn)?;
        Ok(mail_outbox::table
            .filter(mail_outbox::id.eq_any(&ids))
            .order(mail_outbox::next_attempt_at)
            .select(Claimed::as_select())
            .load(conn)?)
    })
}

/// Delivered: the content is wiped (it may hold a one-time link).
pub fn sent(conn: &mut DbConn, id: &str, now: i64) -> Result<(), StorageError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::sent_at.eq(Some(now)),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::last_error.eq(None::<String>),
            mail_outbox::content.eq(Vec::<u8>::new()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Not delivered this time: due again at `next`.
pub fn retry_at(conn: &mut DbConn, id: &str, next: i64, error: &str) -> Result<(), StorageError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::next_attempt_at.eq(next),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Given up (a permanent refusal, or the last attempt failed). The content stays, sealed, so an
/// operator can retry; the purge deletes the row later.
pub fn failed(conn: &mut DbConn, id: &str, now: i64, error: &str) -> Result<(), StorageError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::failed_at.eq(Some(now)),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Messages for operators, newest first.
pub fn list(conn: &mut DbConn, which: Which, limit: i64) -> Result<Vec<Listed>, StorageError> {
    let mut query = mail_outbox::table
        .select(Listed::as_select())
        .order(mail_outbox::created_at.desc())
        .limit(limit)
        .into_boxed();
    query = match which {
        Which::All => query,
        Which::Failed => query.filter(mail_outbox::failed_at.is_not_null()),
        Which::Pending => query
            .filter(mail_outbox::sent_at.is_null())
            .filter(mail_outbox::failed_at.is_null()),
        Which::Stuck => query.filter(mail_outbox::sent_at.is_null()).filter(
            mail_outbox::failed_at
                .is_not_null()
                .or(mail_outbox::attempts.gt(0)),
        ),
    };
    Ok(query.load(conn)?)
}

/// Makes undelivered messages due now with a fresh count of attempts: the given ids, or with
/// `ids` empty every message given up. Returns how many.
pub fn retry_now(conn: &mut DbConn, ids: &[String], now: i64) -> Result<usize, StorageError> {
    let undelivered = mail_outbox::table.filter(mail_outbox::sent_at.is_null());
    let set = (
        mail_outbox::failed_at.eq(None::<i64>),
        mail_outbox::next_attempt_at.eq(now),
        mail_outbox::attempts.eq(0),
        mail_outbox::claimed_until.eq(None::<i64>),
    );
    Ok(if ids.is_empty() {
        diesel::update(undelivered.filter(mail_outbox::failed_at.is_not_null()))
            .set(set)
            .execute(conn)?
    } else {
        diesel::update(undelivered.filter(mail_outbox::id.eq_any(ids)))
            .set(set)
            .execute(conn)?
    })
}

/// Messages not yet delivered nor given up (for the queue-length gauge).
pub fn pending_count(conn: &mut DbConn) -> Result<i64, StorageError> {
    Ok(mail_outbox::table
        .filter(mail_outbox::sent_at.is_null())
        .filter(mail_outbox::failed_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Deletes messages delivered before `sent_before` and messages given up before
/// `failed_before`; returns how many.
pub fn purge(
    conn: &mut DbConn,
    sent_before: i64,
    failed_before: i64,
) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        mail_outbox::table.filter(
            mail_outbox::sent_at
                .lt(sent_before)
                .or(mail_outbox::failed_at.lt(failed_before)),
        ),
    )
    .execute(conn)?)
}
