//! The session limit on one server (the in-process store, or Redis in the second pass): a
//! sign-in on a second device ends the first session everywhere (`end_oldest`), or is refused
//! with a way to end the other session (`deny_new`); concurrent sign-ins leave exactly the limit.

use base64::Engine;
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use watchword::clock::Clock;
use watchword::domain::session::{OnLimit, SessionLimit};

use super::{CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, set_session_policy, signed_in, status};
use crate::common::browser::location;
use crate::common::oidc::{Listener, discover, register, rp};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};
use crate::oidc::flow::{code_flow, post};

/// The claims of a JWT, unverified (the logout tests verify signatures).
fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_on_a_second_device_ends_the_first_session_everywhere() {
    let app = TestApp::start().await;
    app.create_user("default", "eva", GOOD_PASSWORD).await;
    let listener = Listener::start().await;
    let uri = listener.uri.clone();
    let registered = register(&app, "default", "lms", |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await;
    let client = rp(&discover(&app, "default").await, &registered);
    let secret = registered.secret.clone().unwrap();
    let creds = Some(("lms", secret.as_str()));

    // Device A: signed in, with tokens for the application (one session-bound grant, one
    // offline grant).
    let a = Browser::with_user_agent(&app.base, FIREFOX_LINUX);
    let (a_tokens, _) = code_flow(&client, &a, "eva", &[]).await;
    let (a_offline, _) = code_flow(&client, &a, "eva", &["offline_access"]).await;
    let a_sid = status(&a).await["sid"].as_str().unwrap().to_owned();

    // Device B signs in: the default tenant allows one session, the new one wins.
    let b = signed_in(&app.base, "eva", CHROME_WINDOWS).await;
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);

    // A's next page says what happened, with B's device and address.
    let res = a.get("/t/default/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/t/default/session-ended"), "{to}");
    let page = a.get(&to).await.text().await.unwrap();
    assert!(page.contains("signed in on another device"), "{page}");
    assert!(page.contains("Chrome on Windows"), "{page}");
    assert!(page.contains("127.0.x.x"), "{page}");
    assert!(
        a.get("/t/default/").await.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/login"),
        "the page deleted the dead cookie"
    );

    // A's tokens are dead: refresh fails, access tokens are inactive, even the offline grant
    // issued in the evicted session.
    for rt in [&a_tokens, &a_offline].map(|t| t.refresh_token().unwrap().secret().clone()) {
        let (status, body) = post(
            &app,
            "/t/default/token",
            creds,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    for at in [&a_tokens, &a_offline].map(|t| t.access_token().secret().clone()) {
        let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at)]).await;
        assert_eq!(intro["active"], false, "{intro}");
    }

    // Silent re-authentication from A finds no session.
    let url = format!(
        "/t/default/authorize?response_type=code&client_id=lms&redirect_uri={}&scope=openid&prompt=none&state=q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        crate::common::oidc::REDIRECT_URI
    );
    let res = a.get(&url).await;
    let back = location(&res);
    assert!(back.contains("error=login_required"), "{back}");

    // The application got a back-channel logout token for A's session.
    let token = listener
        .next()
        .await
        .expect("back-channel logout delivered");
    let c = claims(&token);
    assert_eq!(c["sid"], a_sid.as_str());
    assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());

    // Audited (who, which session, why, from where) and counted.
    let audit = super::eventually_audited(&app, |e| e.outcome == "evicted").await;
    let ended = audit
        .iter()
        .find(|e| e.action == "session_ended" && e.outcome == "evicted")
        .expect("eviction audited");
    assert_eq!(
        ended.subject.as_deref(),
        Some(format!("session:{a_sid}").as_str())
    );
    let details = &ended.details;
    assert!(
        details.contains("Chrome on Windows") && details.contains("Firefox on Linux"),
        "{details}"
    );
    let metrics = app.browser().get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("watchword_sessions_ended_total")
                && l.contains("reason=\"evicted\"")),
        "{metrics}"
    );
}

/// Whoever holds the evicted cookie may be the thief: the page and the status endpoint name the
/// new sign-in's device and a coarse network (IPv4 /16, IPv6 /32), never its address, and the
/// note they read does not hold the address either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evicted_browser_learns_the_device_and_network_not_the_address() {
    let app = TestApp::builder()
        .tweak(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .start()
        .await;
    app.create_user("default", "ivy", GOOD_PASSWORD).await;
    for (new_ip, network) in [
        ("203.0.113.77", "203.0.x.x"),
        ("2001:db8:aa:bb::7", "2001:db8::/32"),
        ("::ffff:198.51.100.9", "198.51.x.x"),
    ] {
        let old = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.10");
        let res = old.sign_in("default", "ivy", GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let sid = status(&old).await["sid"].as_str().unwrap().to_owned();
        let new = Browser::at(&app.base, CHROME_WINDOWS, new_ip);
        let res = new.sign_in("default", "ivy", GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);

        let note = app
            .app
            .ctx
            .store
            .get(&format!("gone:{sid}"))
            .await
            .unwrap()
            .expect("the evicted session has its note");
        let note = String::from_utf8(note).unwrap();
        let bare = new_ip.trim_start_matches("::ffff:");
        assert!(!note.contains(bare), "{note}");

        let s = status(&old).await;
        assert_eq!(s["reason"], "evicted", "{s}");
        assert_eq!(s["by"]["device"], "Chrome on Windows", "{s}");
        assert_eq!(s["by"]["network"], network, "{s}");
        assert!(!s.to_string().contains(bare), "{s}");

        // The sign-in page says it too (before the session-ended page deletes the cookie).
        let login = old.get("/t/default/login").await.text().await.unwrap();
        assert!(
            login.contains("another device (Chrome on Windows"),
            "{login}"
        );
        assert!(login.contains(network), "{login}");
        assert!(!login.contains(bare), "{new_ip}: {login}");

        let page = old
            .get("/t/default/session-ended")
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("signed in on another device"), "{page}");
        assert!(page.contains("Chrome on Windows"), "{page}");
        assert!(page.contains(network), "{page}");
        assert!(!page.contains(bare), "{new_ip}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_endpoint_tells_a_browser_its_session_ended() {
    let app = TestApp::start().await;
    app.create_user("default", "sam", GOOD_PASSWORD).await;
    let anonymous = app.browser();
    assert_eq!(status(&anonymous).await["active"], false);
    let a = signed_in(&app.base, "sam", FIREFOX_LINUX).await;
    let s = status(&a).await;
    assert_eq!(s["active"], true, "{s}");
    assert!(s["expires_at"].as_i64().unwrap() > app.clock.unix());
    let _b = signed_in(&app.base, "sam", SAFARI_IPHONE).await;
    let s = status(&a).await;
    assert_eq!(
        (s["active"].as_bool(), s["reason"].as_str()),
        (Some(false), Some("evicted")),
        "{s}"
    );
    assert_eq!(s["by"]["device"], "Safari on iPhone");
    // Polling does not keep a session alive.
    let c = signed_in(&app.base, "sam", FIREFOX_LINUX).await;
    for _ in 0..7 {
        app.clock.advance(chrono::Duration::minutes(5));
        status(&c).await;
    }
    assert_eq!(
        status(&c).await["active"],
        false,
        "idle timeout still applies"
    );
    // The hosted pages poll it.
    let home = app.browser();
    assert!(
        home.sign_in("default", "sam", GOOD_PASSWORD)
            .await
            .status()
            .is_redirection()
    );
    let page = home.get("/t/default/").await.text().await.unwrap();
    assert!(page.contains("/static/js/session-watch.js"), "{page}");
    let js = home.get("/static/js/session-watch.js").await;
    assert_eq!(js.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_again_in_the_same_browser_is_not_a_second_session() {
    let app = TestApp::start().await;
    app.create_user("default", "ray", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "ray", FIREFOX_LINUX).await;
    let sid = status(&a).await["sid"].clone();
    assert_eq!(
        a.sign_in("default", "ray", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&a).await["sid"], sid, "the same session continues");
    assert_eq!(status(&a).await["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_two_keeps_the_two_newest_sessions() {
    let app = TestApp::start().await;
    set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = SessionLimit::Max(2)
    })
    .await;
    app.create_user("default", "kim", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "kim", FIREFOX_LINUX).await;
    let b = signed_in(&app.base, "kim", CHROME_WINDOWS).await;
    assert_eq!(status(&a).await["active"], true);
    let c = signed_in(&app.base, "kim", SAFARI_IPHONE).await;
    assert_eq!(status(&a).await["reason"], "evicted", "the oldest goes");
    assert_eq!(status(&b).await["active"], true);
    assert_eq!(status(&c).await["active"], true);
    // Other users are not affected.
    app.create_user("default", "lee", GOOD_PASSWORD).await;
    let _l = signed_in(&app.base, "lee", FIREFOX_LINUX).await;
    assert_eq!(status(&b).await["active"], true);
    assert_eq!(status(&c).await["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_new_refuses_and_lets_the_user_end_the_other_session_with_their_password() {
    let app = TestApp::start().await;
    set_session_policy(&app, "default", |p| p.on_limit = OnLimit::DenyNew).await;
    app.create_user("default", "dee", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "dee", FIREFOX_LINUX).await;

    let b = Browser::with_user_agent(&app.base, CHROME_WINDOWS);
    let res = b.sign_in("default", "dee", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        b.cookie("ww-session-default").is_none(),
        "no session was created"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("Already signed in elsewhere"), "{page}");
    assert!(
        page.contains("Firefox on Linux"),
        "where the account is signed in: {page}"
    );
    assert_eq!(
        status(&a).await["active"],
        true,
        "the first session goes on"
    );
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "sign_in" && e.outcome == "session_limit")
    );

    // Ending the other session needs the password again.
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let confirm = |password: &'static str| {
        let csrf = csrf.clone();
        let b = &b;
        async move {
            b.post_form(
                "/t/default/login",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("identifier", "dee"),
                    ("password", password),
                    ("end_others", "1"),
                    ("return_to", ""),
                ],
            )
            .await
        }
    };
    let res = confirm("not the password").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("incorrect"));
    assert_eq!(status(&a).await["active"], true);
    let res = confirm(GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&b).await["active"], true);
    assert_eq!(status(&a).await["reason"], "evicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_leave_exactly_the_limit() {
    let app = TestApp::start().await;
    app.create_user("default", "max", GOOD_PASSWORD).await;
    // Attempts in flight hold their place in the throttle's counters until they are decided, and
    // at most 20 of one account from one address (the pair's lock threshold), or from its known
    // networks, are evaluated at once: allow more, to have 24 at once here.
    super::set_throttle_policy(&app, "default", |t| {
        t.pair_lock_failures = 100;
        t.known_network_failures_per_hour = 100;
    })
    .await;
    for limit in [1u32, 2] {
        set_session_policy(&app, "default", |p| {
            p.max_sessions_per_user = SessionLimit::Max(limit)
        })
        .await;
        let mut tasks = Vec::new();
        for _ in 0..24 {
            let base = app.base.clone();
            tasks.push(tokio::spawn(async move {
                signed_in(&base, "max", FIREFOX_LINUX).await
            }));
        }
        let mut browsers = Vec::new();
        for t in tasks {
            browsers.push(t.await.unwrap());
        }
        let mut active = 0;
        for b in &browsers {
            let s = status(b).await;
            if s["active"] == true {
                active += 1;
            } else {
                assert_eq!(s["reason"], "evicted", "{s}");
            }
        }
        assert_eq!(active, limit, "limit {limit}");
        let tenant = app.tenant("default").await;
        let user = watchword::admin::users::find(&app.app.ctx, &tenant, "max")
            .await
            .unwrap()
            .unwrap();
        let listed = watchword::admin::sessions::list(&app.app.ctx, &tenant, user.user.id)
            .await
            .unwrap();
        assert_eq!(listed.len() as u32, limit, "the store agrees");
    }
}

/// An offline grant (its refresh token and its access tokens) dies with a session ended against
/// its holder even before the database revocation (which runs in the background after an eviction) has happened; after a plain
/// sign-out it lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_grants_follow_how_their_session_ended() {
    use watchword::auth::sessions::{Ended, Sessions};
    let app = TestApp::start().await;
    app.create_user("default", "ode", GOOD_PASSWORD).await;
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let secret = registered.secret.clone().unwrap();
    let sessions = Sessions::new(app.app.ctx.store.clone(), app.app.ctx.clock.clone());
    use watchword::domain::session::EndReason;
    for (reason, survives) in [(EndReason::SignedOut, true), (EndReason::Evicted, false)] {
        let b = Browser::with_user_agent(&app.base, FIREFOX_LINUX);
        let (tokens, _) = code_flow(&client, &b, "ode", &["offline_access"]).await;
        let sid = status(&b).await["sid"].as_str().unwrap().to_owned();
        // End the session in the store only, as the first, atomic part of an eviction does.
        let found = sessions.find_by_sid(&sid).await.unwrap().unwrap();
        let ended = Ended::new(reason, app.clock.unix(), None);
        assert!(sessions.remove(&found.record, &ended).await.unwrap());
        let (_, body) = post(
            &app,
            "/t/default/introspect",
            Some(("lms", secret.as_str())),
            &[("token", tokens.access_token().secret())],
        )
        .await;
        assert_eq!(body["active"] == true, survives, "{reason:?}: {body}");
        let (status, body) = post(
            &app,
            "/t/default/token",
            Some(("lms", secret.as_str())),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.refresh_token().unwrap().secret()),
            ],
        )
        .await;
        assert_eq!(status == 200, survives, "{reason:?}: {body}");
    }
}
