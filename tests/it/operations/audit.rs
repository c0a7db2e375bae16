//! The tamper-evident audit log: every row chained per tenant (`storage::audit::insert`),
//! verified by `admin::audit::verify` and `watchword audit verify` (the real binary); rows
//! changed or deleted with raw SQL are found at their seq; bursts of concurrent appends from two
//! pools (two replicas) get contiguous seqs; the retention purge cuts chains at checkpoints that
//! still verify (on the moved `ManualClock`) and records its run; administrative changes carry a
//! before/after diff without secrets.

use chrono::Duration;
use diesel::RunQueryDsl;
use watchword::admin::audit::ChainReport;
use watchword::clock::Clock;
use watchword::domain::audit::{Actor, AuditAction, AuditEvent};
use watchword::domain::audit_chain::BreakReason;
use watchword::domain::client::{ClientKind, ClientSettings};
use watchword::domain::tenant::Tenant;
use watchword::storage::{self, Db};

use crate::common::TestApp;
use crate::common::binary::{run, stderr, stdout};

fn event(app: &TestApp, tenant: &Tenant, n: usize) -> AuditEvent {
    AuditEvent::new(
        app.clock.now(),
        Some(tenant.id),
        AuditAction::SignIn,
        "success",
        Actor::Anonymous,
    )
    .subject(format!("user:u{n}"))
    .details(serde_json::json!({ "n": n }))
}

/// Appends `n` events to the tenant's chain in one transaction (each insert a savepoint).
async fn write_events(app: &TestApp, tenant: &Tenant, n: usize) {
    let events: Vec<_> = (0..n).map(|i| event(app, tenant, i)).collect();
    app.app
        .ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                for e in &events {
                    storage::audit::insert(c, e)?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
}

async fn verify(app: &TestApp, tenant: &Tenant) -> ChainReport {
    watchword::admin::audit::verify(&app.app.ctx, Some(tenant.id))
        .await
        .unwrap()
}

async fn sql(app: &TestApp, statement: String) -> usize {
    app.app
        .ctx
        .db
        .run(move |c| Ok(diesel::sql_query(statement).execute(c)?))
        .await
        .unwrap()
}

/// The seqs of a tenant's chain, in order.
async fn seqs(db: &Db, tenant: &Tenant) -> Vec<i64> {
    let chain = tenant.id.to_string();
    db.run(move |c| storage::audit::chain_after(c, &chain, 0, 100_000))
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_verifies_and_a_changed_row_is_found_at_its_seq() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let before = verify(&app, &tenant).await;
    write_events(&app, &tenant, 10).await;
    let report = verify(&app, &tenant).await;
    assert!(report.intact(), "{report}");
    let n = report.rows;
    assert_eq!(n, before.rows + 10);
    assert_eq!(
        (report.first_seq, report.last_seq),
        (Some(1), Some(n as i64))
    );
    assert_eq!(report.to_string(), format!("intact: {n} rows (seq 1..{n})"));

    // Change the outcome of one row.
    let id = tenant.id;
    let rows = app.audit("default").await;
    let victim = rows.iter().find(|r| r.seq == Some(5)).unwrap().clone();
    let changed = sql(
        &app,
        format!("UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = '{id}' AND seq = 5"),
    )
    .await;
    assert_eq!(changed, 1);
    let report = verify(&app, &tenant).await;
    let broken = report.broken.clone().expect("broken");
    assert_eq!(broken.seq, 5);
    assert_eq!(broken.event_id.as_deref(), Some(victim.id.as_str()));
    assert_eq!(broken.reason, BreakReason::Altered);
    assert_eq!(
        report.to_string(),
        format!(
            "broken at seq 5 (event id {}): the row does not match its hash (changed)",
            victim.id
        )
    );
    // Put it back: intact again. Then change its details instead.
    sql(
        &app,
        format!(
            "UPDATE audit_events SET outcome = '{}' WHERE tenant_id = '{id}' AND seq = 5",
            victim.outcome
        ),
    )
    .await;
    assert!(verify(&app, &tenant).await.intact());
    sql(
        &app,
        format!(
            r#"UPDATE audit_events SET details = '{{"n":99}}' WHERE tenant_id = '{id}' AND seq = {n}"#
        ),
    )
    .await;
    let broken = verify(&app, &tenant).await.broken.unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (n as i64, BreakReason::Altered)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_from_before_the_chain_are_reported_as_unchained_not_broken() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    // As an older version wrote them (and as the migration leaves them): no seq, no hash.
    let (id, t) = (tenant.id, app.clock.unix() - 86_400);
    for n in 0..2 {
        sql(
            &app,
            format!(
                "INSERT INTO audit_events (id, tenant_id, occurred_at, action, outcome, actor, details) \
                 VALUES ('old-{n}', '{id}', {t}, 'sign_in', 'success', 'anonymous', '{{}}')"
            ),
        )
        .await;
    }
    write_events(&app, &tenant, 3).await;
    let report = verify(&app, &tenant).await;
    assert!(report.intact(), "{report}");
    assert_eq!(report.unchained, 2);
    assert!(
        report
            .to_string()
            .ends_with("; 2 older rows are not chained (written before the chain existed)"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_are_found_in_the_middle_and_at_the_end() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    write_events(&app, &tenant, 8).await;
    let n = verify(&app, &tenant).await.rows as i64;
    let id = tenant.id;
    // The last row: the head is past the chain.
    sql(
        &app,
        format!("DELETE FROM audit_events WHERE tenant_id = '{id}' AND seq = {n}"),
    )
    .await;
    let broken = verify(&app, &tenant).await.broken.unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (n, BreakReason::TailMissing { head: n })
    );
    // A row in the middle.
    sql(
        &app,
        format!("DELETE FROM audit_events WHERE tenant_id = '{id}' AND seq = 4"),
    )
    .await;
    let report = verify(&app, &tenant).await;
    let broken = report.broken.clone().unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (4, BreakReason::Missing { found: 5 })
    );
    assert!(
        report
            .to_string()
            .starts_with("broken at seq 4: rows missing"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_records_from_two_replicas_gets_contiguous_seqs() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let first = verify(&app, &tenant).await.rows;
    // A second pool on the same database: another replica.
    let other = Db::connect(&app.app.ctx.config).unwrap();
    let per_pool = 30;
    let mut tasks = Vec::new();
    for i in 0..per_pool * 2 {
        let db = if i % 2 == 0 {
            app.app.ctx.db.clone()
        } else {
            other.clone()
        };
        let e = event(&app, &tenant, i);
        // Half through `record` (queued per chain in its process), half straight to the
        // database (with the error kept instead of logged).
        tasks.push(tokio::spawn(async move {
            if i % 4 < 2 {
                storage::audit::record(&db, e).await;
                Ok(())
            } else {
                db.write(move |c| storage::audit::insert(c, &e)).await
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let total = first as i64 + (per_pool * 2) as i64;
    assert_eq!(
        seqs(&app.app.ctx.db, &tenant).await,
        (1..=total).collect::<Vec<_>>()
    );
    let report = verify(&app, &tenant).await;
    assert!(report.intact(), "{report}");
    assert_eq!(report.rows as i64, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_cuts_the_chain_at_checkpoints_that_still_verify() {
    let handle = watchword::observability::metrics();
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.audit.retention_days = 7;
    let (tenant, _) = watchword::admin::tenants::update(
        ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    // The change itself is audited with its diff.
    let rows = app.audit("default").await;
    let updated = rows.iter().find(|r| r.action == "tenant_updated").unwrap();
    let diff: serde_json::Value =
        serde_json::from_str(updated.diff.as_deref().expect("a diff")).unwrap();
    assert_eq!(
        diff["policy.audit.retention_days"],
        serde_json::json!({"before": 365, "after": 7})
    );
    // More old rows than two batches hold.
    let batch = usize::try_from(watchword::jobs::EVENT_BATCH).unwrap();
    write_events(&app, &tenant, batch * 2 + 300).await;
    let old = verify(&app, &tenant).await.rows;

    // Six days later nothing is old enough.
    app.clock.advance(Duration::days(6));
    assert_eq!(watchword::jobs::purge_audit_events(ctx).await, 0);
    // Eight days later every row written so far is; three new ones are not.
    app.clock.advance(Duration::days(2));
    write_events(&app, &tenant, 3).await;
    assert_eq!(
        watchword::jobs::purge_audit_events(ctx).await as u64,
        old,
        "whole batches, then the rest"
    );
    let report = verify(&app, &tenant).await;
    assert!(report.intact(), "{report}");
    assert_eq!(report.rows, 3);
    let old = old as i64;
    assert_eq!(report.checkpoint, Some(old));
    assert_eq!(
        report.to_string(),
        format!(
            "intact: 3 rows (seq {}..{}), from checkpoint {old}",
            old + 1,
            old + 3
        )
    );
    let chain = tenant.id.to_string();
    let checkpoint = ctx
        .db
        .run(move |c| storage::audit::latest_checkpoint(c, &chain))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.seq, old);
    assert_eq!(checkpoint.created_at, app.clock.unix());
    assert_eq!(
        seqs(&ctx.db, &tenant).await,
        vec![old + 1, old + 2, old + 3]
    );
    assert_eq!(watchword::jobs::purge_audit_events(ctx).await, 0);

    // Both retention jobs record their runs, and the metrics.
    watchword::jobs::purge_sign_in_events(ctx).await;
    let runs = ctx.db.run(storage::maintenance::runs).await.unwrap();
    let jobs: Vec<_> = runs
        .iter()
        .map(|r| (r.job.as_str(), r.last_run_at))
        .collect();
    assert_eq!(
        jobs,
        vec![
            ("audit_events", app.clock.unix()),
            ("sign_in_events", app.clock.unix())
        ]
    );
    assert_eq!(runs[0].rows_removed, 0, "the last run removed nothing");
    let metrics = handle.render();
    assert!(
        metrics.contains(r#"watchword_retention_rows_deleted_total{table="audit_events"}"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"watchword_retention_last_run_timestamp_seconds{table="sign_in_events"}"#)
    );

    // A changed row after the checkpoint is still found; the purge does not erase it when it
    // becomes old.
    let id = tenant.id;
    sql(
        &app,
        format!(
            "UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = '{id}' AND seq = {}",
            old + 2
        ),
    )
    .await;
    let broken = verify(&app, &tenant).await.broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (old + 2, BreakReason::Altered));
    app.clock.advance(Duration::days(30));
    assert_eq!(watchword::jobs::purge_audit_events(ctx).await, 0);
    let broken = verify(&app, &tenant).await.broken.unwrap();
    assert_eq!(broken.seq, old + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_update_is_audited_with_a_diff_and_never_its_secret() {
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let registered = watchword::admin::clients::create(
        ctx,
        &tenant,
        watchword::admin::clients::NewClient {
            client_id: Some("billing".into()),
            name: "Billing".into(),
            kind: ClientKind::Confidential,
            auth_method: None,
            settings: ClientSettings {
                redirect_uris: vec!["https://billing.example/cb".into()],
                ..Default::default()
            },
            secret: None,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let secret = registered.secret.unwrap().expose().clone();
    let mut next = registered.client.clone();
    next.name = "Billing (EU)".into();
    next.settings
        .redirect_uris
        .push("https://eu.billing.example/cb".into());
    next.settings.lifetimes.access_token_secs = Some(120);
    assert!(
        watchword::admin::clients::update(
            ctx,
            &tenant,
            &registered.client,
            next,
            &watchword::admin::authz::Admin::operator(Actor::Cli)
        )
        .await
        .unwrap()
    );
    let rows = app.audit("default").await;
    let row = rows.iter().find(|r| r.action == "client_updated").unwrap();
    let diff: serde_json::Value = serde_json::from_str(row.diff.as_deref().unwrap()).unwrap();
    assert_eq!(
        diff,
        serde_json::json!({
            "name": {"before": "Billing", "after": "Billing (EU)"},
            "settings.redirect_uris": {
                "before": ["https://billing.example/cb"],
                "after": ["https://billing.example/cb", "https://eu.billing.example/cb"],
            },
            "settings.lifetimes.access_token_secs": {"before": null, "after": 120},
        })
    );
    for r in &rows {
        let all = serde_json::to_string(r).unwrap();
        assert!(!all.contains(&secret), "{all}");
    }
    assert!(verify(&app, &tenant).await.intact());
}

/// Runs `watchword audit <args>` (blocking this thread; the server serves on the others).
fn audit_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    tokio::task::block_in_place(|| {
        let mut cmd = app.cli();
        cmd.arg("audit").args(args);
        run(cmd, "")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchword_audit_verify_reports_every_chain_and_exits_1_when_one_is_broken() {
    let app = TestApp::start().await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "acme",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let tenant = app.tenant("default").await;
    write_events(&app, &tenant, 5).await;

    let out = audit_cli(&app, &["verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("instance: intact"), "{text}");
    assert!(text.contains("tenant acme: intact: "), "{text}");
    assert!(text.contains("tenant default: intact: "), "{text}");

    let n = verify(&app, &tenant).await.rows;
    let id = tenant.id;
    sql(
        &app,
        format!("DELETE FROM audit_events WHERE tenant_id = '{id}' AND seq = 2"),
    )
    .await;
    let out = audit_cli(&app, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("tenant default: broken at seq 2: rows missing"),
        "{text}"
    );
    assert!(
        text.contains("tenant acme: intact"),
        "the others are still checked: {text}"
    );
    assert!(stderr(&out).contains("1 broken chain"), "{}", stderr(&out));

    let out = audit_cli(&app, &["verify", "--tenant", "acme", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["name"], "tenant acme");
    assert_eq!(line["intact"], true);
    let out = audit_cli(&app, &["verify", "--tenant", "default", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["broken"]["seq"], 2);
    assert_eq!(line["broken"]["reason"]["kind"], "missing");
    assert!(n >= 5);

    let out = audit_cli(&app, &["verify", "--tenant", "nope"]);
    assert_eq!(out.status.code(), Some(2), "an unknown tenant is bad usage");
}
