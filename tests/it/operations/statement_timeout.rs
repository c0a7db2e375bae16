//! PostgreSQL statement timeouts (`database.statement_timeout_ms`): a request whose query waits
//! on a lock held elsewhere is answered 503 with `Retry-After` once the timeout passes instead
//! of hanging, the timed-out connection stays in the pool, service resumes when the lock goes,
//! and migrations run without the timeout.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;

use crate::common::{GOOD_PASSWORD, TestApp, assert_clear_503, required_database_url};

/// Watchword's migration advisory lock (docs/deployment.md, "Migrations").
const MIGRATION_LOCK: i64 = 0x5741_5443_4857_4f52;

/// A server on PostgreSQL whose statements time out after 300 ms.
async fn app(pool_size: u32) -> TestApp {
    TestApp::builder()
        .database_url(Some(required_database_url()))
        .tweak(move |c| {
            c.database.statement_timeout_ms = 300;
            c.database.pool_size = pool_size;
        })
        .start()
        .await
}

/// A second connection to the test's schema, as another client of the database.
fn other_client(app: &TestApp) -> PgConnection {
    PgConnection::establish(&app.backend.database_url().unwrap()).unwrap()
}

#[derive(diesel::QueryableByName)]
struct Value {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// The pooled connection's backend process id and `statement_timeout`.
async fn pooled_session(app: &TestApp) -> (String, String) {
    app.app
        .ctx
        .db
        .run(|c| {
            let pid: Value =
                diesel::sql_query("SELECT pg_backend_pid()::text AS value").get_result(c)?;
            let timeout: Value =
                diesel::sql_query("SELECT current_setting('statement_timeout') AS value")
                    .get_result(c)?;
            Ok((pid.value, timeout.value))
        })
        .await
        .unwrap()
}

/// Tests that need PostgreSQL (`WATCHWORD_TEST_DATABASE_URL`): ignored by default, selected by
/// `scripts/test` in the pass that has it.
mod needs_pg {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn a_query_blocked_by_a_lock_is_answered_503_then_served_when_it_goes() {
        let app = app(4).await;
        app.create_user("default", "tim", GOOD_PASSWORD).await;
        let b = app.browser();
        let csrf = b.csrf("/t/default/login").await;

        let mut locker = other_client(&app);
        locker
            .batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        let form = [
            ("csrf_token", csrf.as_str()),
            ("identifier", "tim"),
            ("password", GOOD_PASSWORD),
        ];
        let started = Instant::now();
        let res = b.post_form("/t/default/login", &form).await;
        let waited = started.elapsed();
        let page = assert_clear_503(res, "sign-in behind a lock").await;
        assert!(
            waited < Duration::from_secs(3),
            "answered after the timeout, not after the lock: {waited:?}"
        );
        assert!(page.contains("Temporarily unavailable"));

        locker.batch_execute("ROLLBACK").unwrap();
        assert_eq!(
            b.sign_in("default", "tim", GOOD_PASSWORD).await.status(),
            StatusCode::SEE_OTHER,
            "served again as soon as the lock is gone, without a restart"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn a_timed_out_statement_keeps_its_pooled_connection() {
        let app = app(1).await;
        let (pid, timeout) = pooled_session(&app).await;
        assert_eq!(
            timeout, "300ms",
            "set on the pooled connection, and restored after the migrations that ran on it"
        );

        let err = app
            .app
            .ctx
            .db
            .run(|c| {
                diesel::sql_query("SELECT pg_sleep(2)").execute(c)?;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "answered 503: {err}");
        assert!(!err.is_connection_failure(), "{err}");
        assert!(err.to_string().contains("statement timeout"), "{err}");

        let (again, _) = pooled_session(&app).await;
        assert_eq!(again, pid, "the pool kept the connection");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn migrations_are_not_cut_short_by_the_statement_timeout() {
        let app = app(1).await;
        // Another replica migrating: it holds the migration lock for longer than the timeout.
        let mut replica = other_client(&app);
        replica
            .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            replica
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .unwrap();
        });

        let db = app.app.ctx.db.clone();
        let started = Instant::now();
        let applied = tokio::task::spawn_blocking(move || watchword::storage::migrations::run(&db))
            .await
            .unwrap()
            .expect("waits for the lock past the statement timeout");
        assert!(applied.is_empty(), "{applied:?}");
        assert!(started.elapsed() >= Duration::from_secs(1));
        release.join().unwrap();

        let (_, timeout) = pooled_session(&app).await;
        assert_eq!(timeout, "300ms", "the connection's timeout is back");
    }
}
