//! Web basics: security headers everywhere, readable error pages with the request id, request
//! limits and hostile bodies, unknown tenants, health, readiness and metrics.

use reqwest::StatusCode;

use crate::common::{GOOD_PASSWORD, TestApp};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    let b = app.browser();
    for path in [
        "/t/default/login",
        "/nowhere",
        "/healthz",
        "/static/css/watchword.css",
        "/t/nope/",
        "/",
    ] {
        let res = b.get(path).await;
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
        assert!(h.get("x-request-id").is_some(), "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
    }
    let page = b.get("/t/default/login").await;
    assert_eq!(page.headers().get("cache-control").unwrap(), "no-store");
}

#[tokio::test]
async fn error_pages_are_readable_and_show_the_request_id() {
    let app = TestApp::start().await;
    let b = app.browser();
    for (path, status) in [
        ("/nowhere", 404),
        ("/t/unknown-tenant/login", 404),
        ("/t/Not_A_Slug/", 404),
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        let id = res
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "text/html; charset=utf-8"
        );
        let body = res.text().await.unwrap();
        assert!(
            body.contains(&id),
            "{path}: the page shows the request id {id}"
        );
        assert!(body.contains("Page not found"));
    }
    let res = b
        .client
        .delete(b.url("/t/default/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.text().await.unwrap().contains("Method not allowed"));
}

#[tokio::test]
async fn hostile_form_bodies_get_clear_errors_and_never_a_500() {
    let app = TestApp::builder()
        .tweak(|c| c.server.max_body_bytes = 4096)
        .start()
        .await;
    app.create_user("default", "mallory", GOOD_PASSWORD).await;
    let b = app.browser();
    let csrf = b.csrf("/t/default/login").await;
    let url = b.url("/t/default/login");
    let post = |body: Vec<u8>, ct: &'static str| {
        b.client
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";

    let big = format!(
        "csrf_token={csrf}&identifier=mallory&password={}",
        "a".repeat(5000)
    );
    let res = post(big.into_bytes(), form).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("Request too large"));

    let res = post(
        format!("csrf_token={csrf}&identifier=mallory&password=%FF%FE").into_bytes(),
        form,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("not valid UTF-8"));

    let mut raw = format!("csrf_token={csrf}&identifier=").into_bytes();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(b"&password=x");
    assert_eq!(
        post(raw, form).await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "raw invalid bytes"
    );

    let dup = format!("csrf_token={csrf}&identifier=mallory&identifier=admin&password=x");
    let res = post(dup.into_bytes(), form).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("more than once"));

    let res = post(b"{}".to_vec(), "application/json").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let res = post(b"%%%&&&===".to_vec(), form).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let res = b.get("/t/default/login?return_to=a&return_to=b").await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "repeated query parameters"
    );
    let huge_identifier = "x".repeat(3000);
    let res = b.sign_in("default", &huge_identifier, "whatever").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an absurd identifier is just a failed sign-in"
    );
    assert!(res.text().await.unwrap().contains("incorrect"));

    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(
        !metrics.contains("status=\"500\""),
        "no request ended in a 500:\n{metrics}"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let ready: serde_json::Value = b.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"]["status"], "ok");
    assert_eq!(ready["checks"]["session_store"]["status"], "ok");

    app.create_user("default", "mia", GOOD_PASSWORD).await;
    b.sign_in("default", "mia", GOOD_PASSWORD).await;
    b.sign_in("default", "mia", "wrong password").await;
    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("watchword_signin_attempts_total{tenant=\"default\",result=\"success\"}"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "watchword_signin_attempts_total{tenant=\"default\",result=\"invalid_credentials\"}"
    ));
    assert!(
        metrics.contains("watchword_http_request_duration_seconds_bucket{method=\"POST\",route=\"/t/{tenant}/login\",status=\"303\""),
        "latency histogram by route: {metrics}"
    );
}

#[tokio::test]
async fn static_assets_are_cacheable_and_revalidate() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/static/css/watchword.css").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/css; charset=utf-8"
    );
    let etag = res
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let res = b
        .client
        .get(b.url("/static/css/watchword.css"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        b.get("/static/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/static/css/nope.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn hostile_query_strings_get_clear_errors() {
    let app = TestApp::start().await;
    let b = app.browser();
    for (query, says) in [
        ("return_to=%FF%FE", "not valid UTF-8"),
        ("return_to=/a&return_to=/b", "more than once"),
    ] {
        let res = b.get(&format!("/t/default/login?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{query}: {html}");
        assert!(html.contains("request id"), "{html}");
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    // Always on SQLite, whatever the pass's backend (the embedded default is what this checks).
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let app = TestApp::builder().database_url(None).start().await;
    let mode = app
        .app
        .ctx
        .db
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("PRAGMA journal_mode").get_result::<Mode>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
}
