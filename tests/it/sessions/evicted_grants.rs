//! The grants of a session evicted by the session limit, offline ones included, are revoked in
//! the database before the sign-in that evicted it answers; a revocation that fails (database
//! unreachable) is recorded and retried by the sweep, so it never lapses when the one-hour note
//! of the ended session expires.

use std::time::{Duration, Instant};

use watchword::auth::sessions::{Ended, Sessions};
use watchword::clock::Clock;
use watchword::domain::audit::Origin;

use super::{CHROME_WINDOWS, FIREFOX_LINUX, signed_in, status};
use crate::common::oidc::{discover, register, rp};
use crate::common::proxy::{Proxy, host_port, through};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::oidc::flow::code_flow;

/// The user's grants that can still be refreshed, straight from the database.
async fn live_grants(app: &TestApp, username: &str) -> usize {
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::get(&app.app.ctx, &tenant, username)
        .await
        .unwrap()
        .user
        .id;
    let now = app.clock.unix();
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::grants::of_user(c, tenant.id, user, now))
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_sessions_grants_are_revoked_before_the_sign_in_answers() {
    let app = TestApp::start().await;
    app.create_user("default", "oda", GOOD_PASSWORD).await;
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let a = Browser::with_user_agent(&app.base, FIREFOX_LINUX);
    code_flow(&client, &a, "oda", &["offline_access"]).await;
    code_flow(&client, &a, "oda", &[]).await;
    assert_eq!(live_grants(&app, "oda").await, 2);

    // B's sign-in evicts A (one session per user). Once it has answered, nothing is left to do:
    // no waiting, no polling.
    signed_in(&app.base, "oda", CHROME_WINDOWS).await;
    assert_eq!(
        live_grants(&app, "oda").await,
        0,
        "A's grants, the offline one too, were revoked before B's sign-in answered"
    );
}

mod needs_pg {
    use super::*;
    use crate::common::required_database_url;

    /// With the database unreachable while a session is evicted, its grants cannot be revoked then;
    /// the sweep does it once the database is back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn a_revocation_that_failed_during_an_eviction_is_retried_by_the_sweep() {
        let pg = required_database_url();
        let proxy = Proxy::start(&host_port(&pg)).await;
        let app = TestApp::builder()
            .database_url(Some(through(&pg, &proxy)))
            .tweak(|c| c.database.connect_timeout_secs = 1)
            .start()
            .await;
        app.create_user("default", "pia", GOOD_PASSWORD).await;
        let registered = register(&app, "default", "lms", |_| {}).await;
        let client = rp(&discover(&app, "default").await, &registered);
        let a = Browser::with_user_agent(&app.base, FIREFOX_LINUX);
        code_flow(&client, &a, "pia", &["offline_access"]).await;
        assert_eq!(live_grants(&app, "pia").await, 1);
        let sid = status(&a).await["sid"].as_str().unwrap().to_owned();
        let tenant = app.tenant("default").await;

        // The atomic part of an eviction (the record leaves the store), then the rest of it while
        // the database is unreachable.
        let sessions = Sessions::new(app.app.ctx.store.clone(), app.app.ctx.clock.clone());
        let found = sessions.find_by_sid(&sid).await.unwrap().unwrap();
        let ended = Ended::new(
            watchword::domain::session::EndReason::Evicted,
            app.clock.unix(),
            None,
        );
        assert!(sessions.remove(&found.record, &ended).await.unwrap());
        proxy.cut();
        watchword::lifecycle::end_evicted(
            &app.app.ctx,
            &tenant,
            vec![found],
            Origin::default(),
            "the-new-session",
        )
        .await;
        // The outage lasts a little longer than the eviction (work left to a background task would
        // fail in it too).
        tokio::time::sleep(Duration::from_secs(2)).await;
        proxy.restore();
        let deadline = Instant::now() + Duration::from_secs(20);
        while app.app.ctx.db.ping().await.is_err() {
            assert!(Instant::now() < deadline, "the database came back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        app.app.sweep_sessions().await;
        assert_eq!(
            live_grants(&app, "pia").await,
            0,
            "the sweep revoked the evicted session's offline grant"
        );
    }
}
