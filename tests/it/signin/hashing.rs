//! The Argon2 pool is bounded: a burst of sign-ins queues behind the hashing threads without
//! holding up other requests, and a full queue answers "busy" instead of growing without end.

use std::time::Instant;

use reqwest::StatusCode;

use crate::common::{GOOD_PASSWORD, TestApp};

/// Prepares `n` browsers, each with a CSRF token for the sign-in form.
async fn browsers(app: &TestApp, n: usize) -> Vec<(crate::common::Browser, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let b = app.browser();
        let csrf = b.csrf("/t/default/login").await;
        out.push((b, csrf));
    }
    out
}

fn sign_in(
    b: crate::common::Browser,
    csrf: String,
) -> tokio::task::JoinHandle<(StatusCode, Instant, String)> {
    tokio::spawn(async move {
        let res = b
            .post_form(
                "/t/default/login",
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "pat"),
                    ("password", GOOD_PASSWORD),
                ],
            )
            .await;
        let status = res.status();
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, Instant::now(), retry)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_sign_ins_does_not_hold_up_other_requests() {
    let app = TestApp::builder()
        .tweak(|c| {
            c.hashing.threads = 1;
            c.server.workers = 2;
        })
        .start()
        .await;
    app.create_user("default", "pat", GOOD_PASSWORD).await;
    let burst = browsers(&app, 12).await;
    let probe = app.browser();

    // Twelve verifications on one hashing thread take hundreds of milliseconds.
    let tasks: Vec<_> = burst
        .into_iter()
        .map(|(b, csrf)| sign_in(b, csrf))
        .collect();
    tokio::task::yield_now().await;
    let health = probe.get("/healthz").await;
    let health_done = Instant::now();
    assert_eq!(health.status(), StatusCode::OK);

    let mut last_sign_in = None;
    for t in tasks {
        let (status, done, _) = t.await.unwrap();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "every queued sign-in completes"
        );
        last_sign_in = last_sign_in.max(Some(done));
    }
    assert!(
        health_done < last_sign_in.unwrap(),
        "/healthz answered while sign-ins were still waiting for the hashing thread"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_answers_busy() {
    let app = TestApp::builder()
        .tweak(|c| {
            c.hashing.threads = 1;
            c.hashing.max_queue = 1;
            c.server.workers = 2;
        })
        .start()
        .await;
    app.create_user("default", "pat", GOOD_PASSWORD).await;
    let burst = browsers(&app, 10).await;
    let tasks: Vec<_> = burst
        .into_iter()
        .map(|(b, csrf)| sign_in(b, csrf))
        .collect();
    let mut busy = 0;
    for t in tasks {
        let (status, _, retry) = t.await.unwrap();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            busy += 1;
            assert_eq!(retry, "2", "busy answers say when to retry");
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER);
        }
    }
    assert!(
        busy > 0,
        "with one thread and a queue of one, a burst of ten overflows"
    );
    let metrics = app.browser().get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("result=\"busy\""), "{metrics}");
}
