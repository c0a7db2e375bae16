//! Refresh tokens: rotation on every use, reuse detection revoking the family, lifetimes, no
//! scope escalation, and session binding without `offline_access`.

use chrono::Duration;
use openidconnect::{OAuth2TokenResponse, RefreshToken, Scope};

use super::flow::{post, sign_in};
use crate::common::TestApp;
use crate::common::oidc::{http, plain_client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "rita", "app", &["offline_access"], |_| {}).await;
    let h = plain_client();
    let http = |r| http(h.clone(), r);
    let first = s.tokens.refresh_token().unwrap().clone();

    let second = s
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh works");
    let second_rt = second
        .refresh_token()
        .expect("rotation issues a new refresh token")
        .clone();
    assert_ne!(second_rt.secret(), first.secret());
    let third = s
        .client
        .exchange_refresh_token(&second_rt)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let third_rt = third.refresh_token().unwrap().clone();

    // Presenting an already-used token: refused, and the whole family dies, including the
    // newest refresh token and the access tokens issued with it.
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", third_rt.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", third.access_token().secret())],
    )
    .await;
    assert_eq!(
        intro["active"], false,
        "access tokens of a revoked family are inactive"
    );
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "token_reuse_detected" && e.outcome == "refresh_token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_cannot_widen_scope_and_tokens_expire() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "sue", "app", &["profile"], |c| {
        c.settings.lifetimes.refresh_idle_secs = Some(3600);
    })
    .await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let rt = s.tokens.refresh_token().unwrap().secret().clone();
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid profile email"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, 200, "narrowing is fine: {body}");
    assert_eq!(body["scope"], "openid");
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(
        body.get("id_token").is_none(),
        "refresh responses carry no new ID token"
    );

    // Keep the browser session alive, but let the refresh token idle out (1 hour).
    for _ in 0..7 {
        app.clock.advance(Duration::minutes(9));
        assert_eq!(s.browser.get("/t/default/").await.status(), 200);
    }
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_without_offline_access_die_with_the_browser_session() {
    let app = TestApp::start().await;
    let h = plain_client();
    let http = |r| http(h.clone(), r);
    let bound = sign_in(&app, "tom", "app", &[], |_| {}).await;
    let offline = super::flow::code_flow(&bound.client, &bound.browser, "tom", &["offline_access"])
        .await
        .0;

    // Signing out ends the session: the session-bound refresh token and access token die;
    // the offline grant survives.
    let csrf = bound.browser.csrf("/t/default/logout").await;
    bound
        .browser
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;

    let err = bound
        .client
        .exchange_refresh_token(bound.tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        err.is_err(),
        "the session-bound refresh token died with the session"
    );
    let secret = bound.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", bound.tokens.access_token().secret())],
    )
    .await;
    assert_eq!(intro["active"], false);
    let renewed = bound
        .client
        .exchange_refresh_token(offline.refresh_token().unwrap())
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request_async(&http)
        .await
        .expect("offline access outlives the browser session");
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", renewed.access_token().secret())],
    )
    .await;
    assert_eq!(intro["active"], true);
    assert!(
        intro.get("sid").is_none(),
        "offline access tokens are not bound to a session"
    );
    let _ = RefreshToken::new(String::new());
}

/// Presents `token` at the token endpoint as client `app`.
async fn redeem(app: &TestApp, secret: &str, token: &str) -> (u16, serde_json::Value) {
    post(
        app,
        "/t/default/token",
        Some(("app", secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_rotate_once_and_replays_never_fail_the_server() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "cora", "app", &["offline_access"], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let t0 = s.tokens.refresh_token().unwrap().secret().clone();
    let (_, body) = redeem(&app, &secret, &t0).await;
    let t1 = body["refresh_token"].as_str().unwrap().to_owned();
    let (_, body) = redeem(&app, &secret, &t1).await;
    let t2 = body["refresh_token"].as_str().unwrap().to_owned();

    // The live token eight times at once, and replays of two used tokens of the same family
    // at the same moment (on PostgreSQL, two replays once deadlocked on each other's row locks).
    let mut tasks = Vec::new();
    for token in std::iter::repeat_n(&t2, 8).chain([&t0, &t1, &t0, &t1]) {
        let (base, secret, token) = (app.base.clone(), secret.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let res = crate::common::oidc::plain_client()
                .post(format!("{base}/t/default/token"))
                .basic_auth("app", Some(&secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }));
    }
    let mut successors = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => successors.push(body["refresh_token"].as_str().unwrap().to_owned()),
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert!(
        successors.len() <= 1,
        "a refresh token rotates at most once: {successors:?}"
    );
    // Replays revoked the family: whatever was issued in the race is dead too.
    for token in successors.iter().chain([&t2]) {
        let (status, body) = redeem(&app, &secret, token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_absolute_lifetime_ends_a_family_however_often_it_is_used() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "abe", "app", &["offline_access"], |c| {
        c.settings.lifetimes.refresh_idle_secs = Some(3600);
        c.settings.lifetimes.refresh_absolute_secs = Some(3 * 3600);
    })
    .await;
    let secret = s.registered.secret.clone().unwrap();
    let mut token = s.tokens.refresh_token().unwrap().secret().clone();
    // Used every 50 minutes, it never idles out; 3 hours after the sign-in it is over.
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(50));
        let (status, body) = redeem(&app, &secret, &token).await;
        assert_eq!(status, 200, "{body}");
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    app.clock.advance(Duration::minutes(35));
    let (status, body) = redeem(&app, &secret, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_scope_does_not_consume_the_refresh_token() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ned", "app", &["offline_access"], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let token = s.tokens.refresh_token().unwrap().secret().clone();
    for scope in ["openid admin:everything", "openid email"] {
        let (status, body) = post(
            &app,
            "/t/default/token",
            Some(("app", &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{scope}: {body}"
        );
    }
    let (status, body) = redeem(&app, &secret, &token).await;
    assert_eq!(status, 200, "the token still works: {body}");
}
