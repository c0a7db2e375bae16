//! Background work: the session sweep (ends timed-out sessions everywhere, so applications get
//! their back-channel logout even when the browser never comes back, and retries revocations of
//! evicted sessions' grants that failed) and purges of refresh tokens
//! and signing keys nobody can use anymore, of sign-ups whose link expired, and of delivered (after a week) or given-up (after
//! 30 days) mail, of sign-in events older than their tenant's `policy.risk.retention_days`
//! (in batches), and of audit events older than `policy.audit.retention_days` (whole leading
//! segments of each chain, in batches, each leaving a checkpoint so the rest still verifies;
//! every checkpoint and every chain's head are logged to the `audit` target). Both retention
//! purges record their last run (`storage::maintenance`) and the metrics
//! `watchword_retention_rows_deleted_total{table}` and
//! `watchword_retention_last_run_timestamp_seconds{table}`. The check of the risk data files for a new version (`[risk]`,
//! every `geoip_reload_secs`); the mail worker (`crate::mail::worker`) runs beside them. Each runs on every replica; claims are atomic in the
//! session store, so each session is ended once.

use std::time::Duration;

use crate::auth::sessions::Sessions;
use crate::context::Ctx;
use crate::domain::audit::{Actor, Origin};
use crate::domain::session::SessionState;
use crate::lifecycle::{self, EndReason};
use crate::storage;

/// Retries the grant revocations an eviction could not do, then ends every session whose
/// deadline has passed; returns how many were ended.
pub async fn sweep_sessions(ctx: &Ctx) -> usize {
    lifecycle::retry_revocations(ctx).await;
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let mut ended = 0;
    loop {
        let due = match sessions.claim_due(200).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "session sweep: store unavailable");
                return ended;
            }
        };
        if due.is_empty() {
            return ended;
        }
        for found in due {
            let tenant_id = found.record.tenant_id;
            let tenant = match ctx
                .db
                .run(move |c| storage::tenants::find_by_id(c, tenant_id))
                .await
            {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "session sweep: database unavailable");
                    let _ = sessions.reschedule(&found, &Default::default()).await;
                    return ended;
                }
            };
            let reason = match found.record.state(ctx.clock.now(), &tenant.policy.session) {
                SessionState::Active => {
                    let _ = sessions.reschedule(&found, &tenant.policy.session).await;
                    continue;
                }
                SessionState::IdleExpired => EndReason::IdleTimeout,
                SessionState::AbsoluteExpired => EndReason::AbsoluteTimeout,
            };
            match lifecycle::end_session(
                ctx,
                &tenant,
                &found,
                reason,
                Actor::System,
                Origin::default(),
            )
            .await
            {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "session sweep: could not end a session"),
            }
        }
    }
}

/// Deletes refresh tokens and grants whose family has ended and keys that left the JWKS a week ago.
pub async fn purge(ctx: &Ctx) {
    let now = ctx.clock.unix();
    let result = ctx
        .db
        .run(move |c| {
            // One statement per table, however many rows are due: not cut short by
            // `database.statement_timeout_ms`.
            use storage::without_statement_timeout as unbounded;
            let tokens = unbounded(c, |c| storage::refresh_tokens::purge(c, now - 86_400))?;
            unbounded(c, |c| storage::grants::purge(c, now - 86_400))?;
            let keys = storage::signing_keys::purge(c, now - 7 * 86_400)?;
            let mail = unbounded(c, |c| {
                storage::outbox::purge(c, now - 7 * 86_400, now - 30 * 86_400)
            })?;
            unbounded(c, |c| storage::mail_links::purge(c, now - 7 * 86_400))?;
            // Sign-ups whose link expired: their password hash goes at once.
            storage::registrations::purge(c, now)?;
            Ok((tokens, keys, mail))
        })
        .await;
    match result {
        Ok((tokens, keys, mail)) if tokens + keys + mail > 0 => {
            tracing::info!(
                refresh_tokens = tokens,
                signing_keys = keys,
                mail_messages = mail,
                "purged expired rows"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "purge failed"),
    }
    purge_sign_in_events(ctx).await;
    purge_audit_events(ctx).await;
}

/// Sign-in events deleted per statement by [`purge_sign_in_events`].
pub const EVENT_BATCH: i64 = 1000;

/// Deletes every tenant's sign-in events older than its `policy.risk.retention_days`,
/// [`EVENT_BATCH`] rows per statement (short write transactions beside the sign-ins that insert
/// them); how many.
pub async fn purge_sign_in_events(ctx: &Ctx) -> usize {
    let tenants = match ctx.db.run(storage::tenants::list).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "sign-in event purge: database unavailable");
            return 0;
        }
    };
    let now = ctx.clock.unix();
    let mut purged = 0;
    for tenant in tenants {
        let (id, before) = (
            tenant.id,
            now - i64::from(tenant.policy.risk.retention_days) * 86_400,
        );
        loop {
            match ctx
                .db
                .write(move |c| storage::risk::purge(c, id, before, EVENT_BATCH))
                .await
            {
                Ok(n) => {
                    purged += n;
                    if (n as i64) < EVENT_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, tenant = %tenant.slug, "sign-in event purge failed");
                    retention_metrics(storage::maintenance::SIGN_IN_EVENT_RETENTION, purged, None);
                    return purged;
                }
            }
            tokio::task::yield_now().await;
        }
    }
    if purged > 0 {
        tracing::info!(sign_in_events = purged, "purged old sign-in events");
    }
    finish_run(
        ctx,
        storage::maintenance::SIGN_IN_EVENT_RETENTION,
        now,
        purged,
    )
    .await;
    purged
}

/// Deletes every chain's audit events older than its tenant's `policy.audit.retention_days`
/// (instance-level events: the default, 365 days): whole leading segments of the chain,
/// [`EVENT_BATCH`] rows per transaction, each leaving a checkpoint (logged to the `audit`
/// target) so that `watchword audit verify` still passes from it. A chain that does not verify
/// is not purged (logged at error level). Rows older than the chain itself go by age. Then logs
/// every chain's head. Returns how many rows were deleted.
pub async fn purge_audit_events(ctx: &Ctx) -> usize {
    use crate::domain::audit_chain::AuditPolicy;
    let job = storage::maintenance::AUDIT_RETENTION;
    let tenants = match ctx.db.run(storage::tenants::list).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "audit event purge: database unavailable");
            return 0;
        }
    };
    let now = ctx.clock.unix();
    let days = |d: u32| now - i64::from(d) * 86_400;
    let mut chains: Vec<(String, i64)> = tenants
        .iter()
        .map(|t| (t.id.to_string(), days(t.policy.audit.retention_days)))
        .collect();
    chains.push((
        storage::audit::chain_of(None),
        days(AuditPolicy::default().retention_days),
    ));
    let mut purged = 0;
    let mut failed = false;
    for (chain, before) in chains {
        loop {
            let name = chain.clone();
            match ctx
                .db
                .write(move |c| storage::audit::purge_chain(c, &name, before, EVENT_BATCH, now))
                .await
            {
                Ok(Some(cp)) => {
                    tracing::info!(
                        target: "audit",
                        chain = %cp.chain,
                        seq = cp.seq,
                        hash = %cp.hash,
                        rows_removed = cp.rows_removed,
                        "audit checkpoint"
                    );
                    purged += usize::try_from(cp.rows_removed).unwrap_or(0);
                    if cp.rows_removed < EVENT_BATCH {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e @ storage::StorageError::Corrupt(_)) => {
                    tracing::error!(error = %e, chain = %chain, "audit event purge skipped a chain");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, chain = %chain, "audit event purge failed");
                    failed = true;
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        loop {
            let name = chain.clone();
            match ctx
                .db
                .write(move |c| storage::audit::purge_unchained(c, &name, before, EVENT_BATCH))
                .await
            {
                Ok(n) => {
                    purged += n;
                    if (n as i64) < EVENT_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, chain = %chain, "audit event purge failed");
                    failed = true;
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
    }
    if purged > 0 {
        tracing::info!(audit_events = purged, "purged old audit events");
    }
    log_heads(ctx).await;
    if failed {
        retention_metrics(job, purged, None);
    } else {
        finish_run(ctx, job, now, purged).await;
    }
    purged
}

/// Logs every audit chain's head to the `audit` target: copied off the machine, these lines
/// let a rewrite of the whole chain by someone with write access to the database be found.
async fn log_heads(ctx: &Ctx) {
    match ctx.db.run(storage::audit::heads).await {
        Ok(heads) => {
            for (chain, seq, hash) in heads {
                tracing::info!(target: "audit", chain = %chain, seq, hash = %hash, "audit chain head");
            }
        }
        Err(e) => tracing::warn!(error = %e, "audit chain heads: database unavailable"),
    }
}

/// Records a completed retention run and its metrics.
async fn finish_run(ctx: &Ctx, job: &'static str, now: i64, removed: usize) {
    let run = storage::maintenance::MaintenanceRun {
        job: job.to_owned(),
        last_run_at: now,
        rows_removed: i64::try_from(removed).unwrap_or(i64::MAX),
    };
    if let Err(e) = ctx
        .db
        .write(move |c| storage::maintenance::record_run(c, &run))
        .await
    {
        tracing::warn!(error = %e, job, "could not record the retention run");
    }
    retention_metrics(job, removed, Some(now));
}

/// Counts deleted rows; sets the last-run time of a completed run.
fn retention_metrics(table: &'static str, removed: usize, completed_at: Option<i64>) {
    metrics::counter!("watchword_retention_rows_deleted_total", "table" => table)
        .increment(removed as u64);
    if let Some(at) = completed_at {
        metrics::gauge!("watchword_retention_last_run_timestamp_seconds", "table" => table)
            .set(at as f64);
    }
}

/// Starts the periodic jobs on the current runtime.
pub fn start(ctx: Ctx) {
    if let Some(memory) = ctx.memory_store.clone() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                memory.sweep();
            }
        });
    }
    tokio::spawn(crate::mail::worker::run(ctx.clone()));
    if ctx.risk_place.has_files() {
        let locator = ctx.risk_place.clone();
        let every = Duration::from_secs(ctx.config.risk.geoip_reload_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await; // the first tick is immediate; the files were just read
            loop {
                tick.tick().await;
                let locator = locator.clone();
                let _ = tokio::task::spawn_blocking(move || locator.reload_if_changed()).await;
            }
        });
    }
    let sweep_ctx = ctx.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        loop {
            tick.tick().await;
            sweep_sessions(&sweep_ctx).await;
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            purge(&ctx).await;
        }
    });
}
