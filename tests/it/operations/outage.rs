//! Storage outages: with PostgreSQL or Redis unreachable (a proxy in between is cut), requests get
//! a clear 503, `/readyz` names the failing store, nothing panics, and service resumes by itself
//! when the store is back.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::proxy::{Proxy, host_port, through};
use crate::common::{
    Browser, GOOD_PASSWORD, TestApp, assert_clear_503, required_database_url, required_redis_url,
};

/// Polls `/readyz` until it answers `want` (recovery is immediate but asynchronous).
async fn wait_ready(b: &Browser, want: StatusCode) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = b.get("/readyz").await;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "readyz never became {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tests that need Redis (`WATCHWORD_TEST_REDIS_URL`): ignored by default, selected by
/// `scripts/test` in the pass that has it.
mod needs_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_REDIS_URL)"]
    async fn redis_outage_is_reported_and_recovered_from() {
        let redis = required_redis_url();
        let proxy = Proxy::start(&host_port(&redis)).await;
        let app = TestApp::builder()
            .redis_url(Some(through(&redis, &proxy)))
            .tweak(|c| c.redis.timeout_ms = 500)
            .start()
            .await;
        app.create_user("default", "rita", GOOD_PASSWORD).await;
        let b = app.browser();
        assert_eq!(
            b.sign_in("default", "rita", GOOD_PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        wait_ready(&b, StatusCode::OK).await;

        proxy.cut();
        let body = wait_ready(&b, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(body["checks"]["session_store"]["status"], "unreachable");
        assert_eq!(body["checks"]["database"]["status"], "ok");
        let page = assert_clear_503(b.get("/t/default/").await, "account page").await;
        assert!(page.contains("Temporarily unavailable"));
        let fresh = app.browser();
        let res = fresh.sign_in("default", "rita", GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

        proxy.restore();
        wait_ready(&b, StatusCode::OK).await;
        assert_eq!(
            b.get("/t/default/").await.status(),
            StatusCode::OK,
            "the session survived in Redis"
        );
        assert_eq!(
            fresh
                .sign_in("default", "rita", GOOD_PASSWORD)
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
    }
}

/// Tests that need PostgreSQL (`WATCHWORD_TEST_DATABASE_URL`): ignored by default, selected by
/// `scripts/test` in the pass that has it.
mod needs_pg {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn database_outage_is_reported_and_recovered_from() {
        let pg = required_database_url();
        let proxy = Proxy::start(&host_port(&pg)).await;
        let app = TestApp::builder()
            .database_url(Some(through(&pg, &proxy)))
            .tweak(|c| c.database.connect_timeout_secs = 1)
            .start()
            .await;
        app.create_user("default", "dora", GOOD_PASSWORD).await;
        let b = app.browser();
        wait_ready(&b, StatusCode::OK).await;
        let csrf = b.csrf("/t/default/login").await;

        proxy.cut();
        let body = wait_ready(&b, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(body["checks"]["database"]["status"], "unreachable");
        let form = [
            ("csrf_token", csrf.as_str()),
            ("identifier", "dora"),
            ("password", GOOD_PASSWORD),
        ];
        let page = assert_clear_503(b.post_form("/t/default/login", &form).await, "sign-in").await;
        assert!(page.contains("Temporarily unavailable"));

        proxy.restore();
        wait_ready(&b, StatusCode::OK).await;
        assert_eq!(
            b.sign_in("default", "dora", GOOD_PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
    }
}
