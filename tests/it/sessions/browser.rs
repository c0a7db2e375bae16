//! Browser sessions: idle and absolute timeouts (moved by the injected clock, never by
//! sleeping), sign-out, forged cookies and cookie attributes on https.

use chrono::Duration;
use reqwest::StatusCode;

use crate::common::browser::location;
use crate::common::{GOOD_PASSWORD, TestApp};

const COOKIE: &str = "ww-session-default";

async fn signed_in(app: &TestApp, name: &str) -> crate::common::Browser {
    app.create_user("default", name, GOOD_PASSWORD).await;
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", name, GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    b
}

#[tokio::test]
async fn idle_sessions_end_after_the_idle_timeout() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "ida").await;

    // Activity keeps the session alive: 29 minutes, visit, 29 minutes, visit.
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(29));
        assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);
    }
    // 30 minutes without activity end it.
    app.clock.advance(Duration::minutes(30));
    let res = b.get("/t/default/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/t/default/login?return_to=%2Ft%2Fdefault%2F&reason=expired"
    );
    assert!(b.cookie(COOKIE).is_none(), "the stale cookie is deleted");
    let page = b.get(&location(&res)).await.text().await.unwrap();
    assert!(page.contains("Your session has expired"));
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "session_expired" && e.outcome == "idle_timeout")
    );
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_however_active() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "abe").await;
    // 11 h 50 min of steady activity, every 10 minutes.
    for _ in 0..71 {
        app.clock.advance(Duration::minutes(10));
        assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(10));
    let res = b.get("/t/default/").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "12 hours after sign-in the session ends"
    );
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "session_expired" && e.outcome == "absolute_timeout")
    );
}

#[tokio::test]
async fn tenant_policy_sets_the_timeouts() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.session.idle_timeout_secs = 120;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let b = signed_in(&app, "tess").await;
    app.clock.advance(Duration::seconds(119));
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(120));
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_deletes_the_server_side_session() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "sam").await;
    let token = b.cookie(COOKIE).unwrap();
    let csrf = b.csrf("/t/default/logout").await;
    let res = b
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/signed-out");
    assert!(b.cookie(COOKIE).is_none(), "cookie removed");
    let page = b.get("/t/default/signed-out").await.text().await.unwrap();
    assert!(page.contains("You are signed out"));

    // Replaying the old cookie (e.g. stolen before sign-out) gets nowhere.
    let thief = app.browser();
    thief.set_cookie(COOKIE, &token);
    assert_eq!(
        thief.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "sign_out"));
}

#[tokio::test]
async fn forged_and_foreign_session_cookies_are_ignored() {
    let app = TestApp::start().await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "acme",
        Some("Acme"),
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let b = signed_in(&app, "fred").await;
    let token = b.cookie(COOKIE).unwrap();

    for forged in [
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &"y".repeat(500),
        "%00%ff",
    ] {
        let f = app.browser();
        f.set_cookie(COOKIE, forged);
        let res = f.get("/t/default/").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{forged:?}");
    }
    // A default-tenant session does not sign anyone in to another tenant.
    let f = app.browser();
    f.set_cookie("ww-session-acme", &token);
    let res = f.get("/t/acme/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/t/acme/login"));
}

#[tokio::test]
async fn https_deployments_get_host_prefixed_secure_cookies_and_hsts() {
    let app = TestApp::builder().https().start().await;
    app.create_user("default", "hana", GOOD_PASSWORD).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(app.url("/t/default/login"))
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("strict-transport-security").is_some());
    let csrf_cookie = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csrf_cookie.starts_with("__Host-ww-csrf="), "{csrf_cookie}");
    assert!(csrf_cookie.contains("Secure") && csrf_cookie.contains("Path=/"));
    let csrf_value = csrf_cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let token = crate::common::hidden_field(&html, "csrf_token").unwrap();

    let res = client
        .post(app.url("/t/default/login"))
        .header("Cookie", csrf_value)
        .form(&[
            ("csrf_token", token.as_str()),
            ("identifier", "hana"),
            ("password", GOOD_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.contains("ww-session-default"))
        .unwrap();
    assert!(
        session.starts_with("__Host-ww-session-default="),
        "{session}"
    );
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    assert!(!session.contains("Domain="));
}

#[tokio::test]
async fn the_store_keeps_only_a_hash_of_the_session_cookie() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "hash").await;
    let token = b.cookie(COOKIE).unwrap();
    let (sid, secret) = token.split_once('.').expect("cookie is <sid>.<secret>");
    assert!(secret.len() >= 43, "256-bit secret");
    let store = &app.app.ctx.store;
    let record = store
        .get(&format!("sess:{sid}"))
        .await
        .unwrap()
        .expect("record under the session id");
    let text = String::from_utf8(record).unwrap();
    assert!(
        !text.contains(secret),
        "the record does not contain the cookie secret"
    );
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["m"], serde_json::json!(["pwd"]), "{record}");
    assert_eq!(record["sid"], sid);
    assert_eq!(
        record["sh"],
        watchword::crypto::sha256_b64(secret.as_bytes()),
        "only the secret's hash"
    );
    // The session id alone (it appears in ID tokens) is not a cookie.
    let forger = app.browser();
    forger.set_cookie(COOKIE, &format!("{sid}.{}", "A".repeat(43)));
    assert_eq!(
        forger.get("/t/default/").await.status(),
        reqwest::StatusCode::SEE_OTHER
    );
    assert_eq!(b.get("/t/default/").await.status(), reqwest::StatusCode::OK);
}
