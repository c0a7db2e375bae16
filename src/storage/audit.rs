//! The append-only, hash-chained audit log. Each row takes the next `seq` of its tenant's chain
//! (instance-level rows: the chain `""`) and `hash = SHA-256(prev_hash || canonical row)`
//! (`domain::audit_chain`). Appending advances the chain's head (`audit_heads`) with one upsert,
//! which holds the head row's lock until the transaction commits on PostgreSQL (SQLite has one
//! writer), so concurrent appends on any replica get contiguous seqs and each links to the one
//! before. Reading a chain back for verification (keyset on `seq`, one snapshot), the retention
//! purge that cuts a chain's start and leaves a checkpoint (`audit_checkpoints`), and the heads.

use diesel::prelude::*;

use super::schema::{audit_checkpoints, audit_events, audit_heads};
use super::{DbConn, StorageError, write_transaction};
use crate::domain::audit::{AuditEvent, Origin};
use crate::domain::audit_chain::{self, Break, ChainRow, GENESIS, Linked, Verified, Verifier};
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
    diff: Option<String>,
    seq: i64,
    prev_hash: String,
    hash: String,
}

/// A stored audit entry as read back (for the admin API, verification and tests).
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
    /// Before/after of an administrative change (JSON), secrets redacted.
    pub diff: Option<String>,
    /// Position in its chain; `None` for rows written before the chain existed.
    pub seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl AuditRow {
    /// The row with its chain fields, if it is in a chain.
    pub fn linked(&self) -> Option<Linked<'_>> {
        Some(Linked {
            row: ChainRow {
                seq: self.seq?,
                id: &self.id,
                tenant_id: self.tenant_id.as_deref(),
                occurred_at: self.occurred_at,
                action: &self.action,
                outcome: &self.outcome,
                actor: &self.actor,
                subject: self.subject.as_deref(),
                ip: self.ip.as_deref(),
                user_agent: self.user_agent.as_deref(),
                request_id: self.request_id.as_deref(),
                details: &self.details,
                diff: self.diff.as_deref(),
            },
            prev_hash: self.prev_hash.as_deref(),
            hash: self.hash.as_deref(),
        })
    }
}

/// A retention checkpoint: rows of `chain` up to `seq` were removed, the last with `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    pub created_at: i64,
    pub rows_removed: i64,
}

/// The chain a tenant's (or, for `None`, the instance's) rows belong to.
pub fn chain_of(tenant: Option<TenantId>) -> String {
    tenant.map_or_else(|| audit_chain::INSTANCE_CHAIN.to_owned(), |t| t.to_string())
}

/// Rows of `chain`, as a boxed filter.
fn in_chain(
    chain: &str,
) -> audit_events::BoxedQuery<'static, <DbConn as diesel::Connection>::Backend> {
    if chain == audit_chain::INSTANCE_CHAIN {
        audit_events::table
            .filter(audit_events::tenant_id.is_null())
            .into_boxed()
    } else {
        audit_events::table
            .filter(audit_events::tenant_id.eq(chain.to_owned()))
            .into_boxed()
    }
}

/// Takes the next seq of `chain`: one upsert that creates the head (seq 1 after [`GENESIS`]) or
/// advances it, locking its row until the transaction ends; returns the seq and the hash of the
/// row before it.
fn advance_head(conn: &mut DbConn, chain: &str) -> Result<(i64, String), StorageError> {
    let q = diesel::insert_into(audit_heads::table)
        .values((
            audit_heads::chain.eq(chain),
            audit_heads::seq.eq(1_i64),
            audit_heads::hash.eq(GENESIS),
        ))
        .on_conflict(audit_heads::chain)
        .do_update()
        .set(audit_heads::seq.eq(audit_heads::seq + 1_i64))
        .returning((audit_heads::seq, audit_heads::hash));
    Ok(match conn {
        DbConn::Pg(c) => q.get_result(c)?,
        DbConn::Sqlite(c) => q.get_result(c)?,
    })
}

/// Appends an event to its chain, atomically: in the caller's transaction (as a savepoint) or
/// in its own. On PostgreSQL the chain's head stays locked until that transaction ends, so
/// appends to one chain queue behind it: inside a longer transaction, append last.
pub fn insert(conn: &mut DbConn, e: &AuditEvent) -> Result<(), StorageError> {
    let chain = chain_of(e.tenant_id);
    write_transaction(conn, |conn| {
        let (seq, prev_hash) = advance_head(conn, &chain)?;
        let mut row = NewAuditRow {
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
            diff: e.diff.as_ref().map(ToString::to_string),
            seq,
            prev_hash,
            hash: String::new(),
        };
        row.hash = audit_chain::link(
            &row.prev_hash,
            &ChainRow {
                seq,
                id: &row.id,
                tenant_id: row.tenant_id.as_deref(),
                occurred_at: row.occurred_at,
                action: row.action,
                outcome: row.outcome,
                actor: &row.actor,
                subject: row.subject,
                ip: row.ip,
                user_agent: row.user_agent,
                request_id: row.request_id,
                details: &row.details,
                diff: row.diff.as_deref(),
            },
        );
        diesel::insert_into(audit_events::table)
            .values(&row)
            .execute(conn)?;
        diesel::update(audit_heads::table.find(&chain))
            .set(audit_heads::hash.eq(&row.hash))
            .execute(conn)?;
        Ok(())
    })
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

tokio::task_local! {
    /// Where the request being handled came from (set by the web layer's request middleware).
    static REQUEST_ORIGIN: Option<Origin>;
}

/// Runs `f` with `origin` as the origin of every event [`record`]ed inside it without one.
pub async fn with_origin<F: std::future::Future>(origin: Option<Origin>, f: F) -> F::Output {
    REQUEST_ORIGIN.scope(origin, f).await
}

/// Appends an event and mirrors it to the `audit` log target. A failed write is logged, never
/// propagated: losing the database must not also lock every user out.
pub async fn record(db: &super::Db, mut event: AuditEvent) {
    if event.origin == Origin::default()
        && let Ok(Some(origin)) = REQUEST_ORIGIN.try_with(Clone::clone)
    {
        event.origin = origin;
    }
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
    let _turn = append_turn(&chain_of(event.tenant_id)).lock().await;
    if let Err(e) = db.write(move |conn| insert(conn, &event)).await {
        tracing::error!(error = %e, action, "could not write audit event");
    }
}

/// Appends to one chain wait for each other at its head's lock anyway; [`record`] queues them
/// here first (locks striped by chain), so a burst for one tenant waits in this process instead
/// of holding every pooled connection while PostgreSQL makes them wait.
fn append_turn(chain: &str) -> &'static tokio::sync::Mutex<()> {
    use std::hash::{Hash, Hasher};
    const STRIPES: usize = 16;
    static TURNS: std::sync::OnceLock<Vec<tokio::sync::Mutex<()>>> = std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    chain.hash(&mut h);
    &turns[(h.finish() % STRIPES as u64) as usize]
}

/// The head of a chain: its last seq and that row's hash.
pub fn head(conn: &mut DbConn, chain: &str) -> Result<Option<(i64, String)>, StorageError> {
    Ok(audit_heads::table
        .find(chain)
        .select((audit_heads::seq, audit_heads::hash))
        .first(conn)
        .optional()?)
}

/// Every chain with a head or a checkpoint, with its head (for the periodic log line).
pub fn heads(conn: &mut DbConn) -> Result<Vec<(String, i64, String)>, StorageError> {
    Ok(audit_heads::table
        .select((audit_heads::chain, audit_heads::seq, audit_heads::hash))
        .order(audit_heads::chain)
        .load(conn)?)
}

/// Every chain that has a head or a checkpoint.
pub fn chains(conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
    let mut all: Vec<String> = audit_heads::table.select(audit_heads::chain).load(conn)?;
    all.extend(
        audit_checkpoints::table
            .select(audit_checkpoints::chain)
            .distinct()
            .load::<String>(conn)?,
    );
    all.sort();
    all.dedup();
    Ok(all)
}

/// The newest checkpoint of a chain.
pub fn latest_checkpoint(
    conn: &mut DbConn,
    chain: &str,
) -> Result<Option<Checkpoint>, StorageError> {
    Ok(audit_checkpoints::table
        .filter(audit_checkpoints::chain.eq(chain))
        .order(audit_checkpoints::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()?)
}

/// Up to `limit` rows of a chain after `seq`, in seq order (keyset on the `(tenant_id, seq)`
/// index).
pub fn chain_after(
    conn: &mut DbConn,
    chain: &str,
    seq: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StorageError> {
    Ok(in_chain(chain)
        .filter(audit_events::seq.gt(seq))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// What a chain's verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    /// Where it started, when retention cut the chain.
    pub checkpoint: Option<Checkpoint>,
    pub result: Result<Verified, Break>,
    /// Rows of this tenant outside the chain (written before it existed).
    pub unchained: i64,
}

/// Verifies a chain from its newest checkpoint (or its start) to its head, reading `batch` rows
/// at a time, all in one read-only snapshot (a purge or appends running meanwhile are not seen
/// half-way).
pub fn verify(conn: &mut DbConn, chain: &str, batch: i64) -> Result<ChainCheck, StorageError> {
    conn.transaction(|conn| {
        if let DbConn::Pg(_) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        let checkpoint = latest_checkpoint(conn, chain)?;
        let mut verifier = match &checkpoint {
            Some(c) => Verifier::from_checkpoint(c.seq, &c.hash),
            None => Verifier::default(),
        };
        let unchained: i64 = in_chain(chain)
            .filter(audit_events::seq.is_null())
            .count()
            .get_result(conn)?;
        let mut after = verifier.next_seq() - 1;
        loop {
            let rows = chain_after(conn, chain, after, batch)?;
            for row in &rows {
                let linked = row.linked().expect("rows after a seq have one");
                if let Err(b) = verifier.push(&linked) {
                    return Ok(ChainCheck {
                        checkpoint,
                        result: Err(b),
                        unchained,
                    });
                }
            }
            match rows.last().and_then(|r| r.seq) {
                Some(last) if rows.len() as i64 == batch => after = last,
                _ => break,
            }
        }
        let head = head(conn, chain)?;
        let result = verifier.finish(head.as_ref().map(|(s, h)| (*s, h.as_str())));
        Ok(ChainCheck {
            checkpoint,
            result,
            unchained,
        })
    })
}

/// Removes the oldest rows of a chain, at most `batch`, as long as each is older than `before`,
/// and records a checkpoint at the last one removed, in one transaction; returns it (`None`
/// when the chain's first row is recent). The rows are verified before they go (from the
/// previous checkpoint), so a purge never erases the evidence of a broken chain: a break is a
/// `Corrupt` error and nothing is removed.
pub fn purge_chain(
    conn: &mut DbConn,
    chain: &str,
    before: i64,
    batch: i64,
    now: i64,
) -> Result<Option<Checkpoint>, StorageError> {
    write_transaction(conn, |conn| {
        let previous = latest_checkpoint(conn, chain)?;
        let mut verifier = match &previous {
            Some(c) => Verifier::from_checkpoint(c.seq, &c.hash),
            None => Verifier::default(),
        };
        let rows = chain_after(conn, chain, verifier.next_seq() - 1, batch)?;
        let mut last = None;
        for row in rows.iter().take_while(|r| r.occurred_at < before) {
            let linked = row.linked().expect("rows after a seq have one");
            verifier.push(&linked).map_err(|b| {
                StorageError::Corrupt(format!("audit chain {chain:?} not purged: {b}"))
            })?;
            last = Some((linked.row.seq, linked.hash.unwrap_or_default().to_owned()));
        }
        let Some((seq, hash)) = last else {
            return Ok(None);
        };
        let up_to = audit_events::seq.le(seq);
        let removed = if chain == audit_chain::INSTANCE_CHAIN {
            diesel::delete(
                audit_events::table
                    .filter(audit_events::tenant_id.is_null())
                    .filter(up_to),
            )
            .execute(conn)?
        } else {
            diesel::delete(
                audit_events::table
                    .filter(audit_events::tenant_id.eq(chain))
                    .filter(up_to),
            )
            .execute(conn)?
        };
        let checkpoint = Checkpoint {
            chain: chain.to_owned(),
            seq,
            hash,
            created_at: now,
            rows_removed: removed as i64,
        };
        diesel::insert_into(audit_checkpoints::table)
            .values(&checkpoint)
            .execute(conn)?;
        Ok(Some(checkpoint))
    })
}

/// Removes up to `batch` rows of a tenant (`None`: instance-level) written before the chain
/// existed and older than `before`; how many.
pub fn purge_unchained(
    conn: &mut DbConn,
    chain: &str,
    before: i64,
    batch: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = in_chain(chain)
        .filter(audit_events::seq.is_null())
        .filter(audit_events::occurred_at.lt(before))
        .select(audit_events::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(audit_events::table.filter(audit_events::id.eq_any(ids))).execute(conn)?)
}
