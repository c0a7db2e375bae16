//! Hosted sign-in: success, failures that reveal nothing, disabled accounts, CSRF, session
//! rotation and open-redirect attempts.

use reqwest::StatusCode;

use crate::common::browser::location;
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

const COOKIE: &str = "ww-session-default";

#[tokio::test]
async fn signing_in_lands_on_the_home_page_and_is_audited() {
    let app = TestApp::start().await;
    let alice = app.create_user("default", "Alice", GOOD_PASSWORD).await;
    let b = app.browser();

    let res = b.sign_in("default", "alice", GOOD_PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "303 after a POST with credentials"
    );
    assert_eq!(location(&res), "/t/default/");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(COOKIE))
        .expect("session cookie set");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = b.cookie(COOKIE).unwrap();
    assert!(token.len() >= 43, "at least 256 bits of randomness");

    let home = b.get("/t/default/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("You are signed in to Default as <strong>Alice</strong>"),
        "{html}"
    );

    let audit = app.audit("default").await;
    let event = audit.iter().find(|e| e.action == "sign_in").unwrap();
    assert_eq!(event.outcome, "success");
    assert_eq!(event.actor, format!("user:{}", alice.id));
    assert_eq!(event.ip.as_deref(), Some("127.0.0.1"));
    assert!(event.request_id.as_deref().is_some_and(|r| r.len() == 32));
}

#[tokio::test]
async fn email_and_any_case_sign_in_the_same_user() {
    let app = TestApp::start().await;
    // Another user with the same password: signing in must pick bob, not merely someone.
    app.create_user("default", "alice", GOOD_PASSWORD).await;
    let bob = app.create_user("default", "bob", GOOD_PASSWORD).await;
    for identifier in ["BOB", "Bob@Example.Test", " bob "] {
        let b = app.browser();
        let res = b.sign_in("default", identifier, GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{identifier:?}");

        let home = b.get("/t/default/").await;
        assert_eq!(home.status(), StatusCode::OK, "{identifier:?}");
        let html = home.text().await.unwrap();
        assert!(
            html.contains("You are signed in to Default as <strong>bob</strong>"),
            "{identifier:?}: {html}"
        );
        let audit = app.audit("default").await;
        let event = audit.iter().find(|e| e.action == "sign_in").unwrap();
        assert_eq!(event.outcome, "success", "{identifier:?}");
        assert_eq!(event.actor, format!("user:{}", bob.id), "{identifier:?}");
    }
}

/// Unknown user and wrong password: same status, same page, and both pay for one Argon2
/// verification (so the timing is the same too).
#[tokio::test]
async fn wrong_password_and_unknown_user_are_indistinguishable() {
    let app = TestApp::start().await;
    app.create_user("default", "carol", GOOD_PASSWORD).await;
    let b = app.browser();
    let hasher = app.app.ctx.hasher.clone();

    let before = hasher.verifications();
    let wrong = b.sign_in("default", "carol", "not the password").await;
    assert_eq!(hasher.verifications(), before + 1);
    let (wrong_status, wrong_body) = (wrong.status(), wrong.text().await.unwrap());

    let before = hasher.verifications();
    let unknown = b.sign_in("default", "nobody", "not the password").await;
    assert_eq!(
        hasher.verifications(),
        before + 1,
        "unknown users are verified against a dummy hash"
    );
    let (unknown_status, unknown_body) = (unknown.status(), unknown.text().await.unwrap());

    assert_eq!(wrong_status, StatusCode::OK);
    assert_eq!(wrong_status, unknown_status);
    assert!(wrong_body.contains("The username or password is incorrect."));
    // The pages differ only in the echoed identifier (and the CSRF token, which is per browser).
    assert_eq!(
        wrong_body.replace("carol", "X"),
        unknown_body.replace("nobody", "X"),
    );
    assert!(b.cookie(COOKIE).is_none(), "no session after failures");
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.outcome == "invalid_credentials")
            .count(),
        2
    );
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_and_lose_their_sessions() {
    let app = TestApp::start().await;
    let dave = app.create_user("default", "dave", GOOD_PASSWORD).await;
    let tenant = app.tenant("default").await;
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "dave", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);

    let ended = watchword::admin::users::set_enabled(
        &app.app.ctx,
        &tenant,
        dave,
        false,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    assert_eq!(ended, 1, "disabling ends the user's sessions");
    let res = b.get("/t/default/").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old session no longer works"
    );
    // The browser is told why (its cookie is cleared on that page).
    let why = location(&res);
    assert!(why.starts_with("/t/default/session-ended"), "{why}");
    let page = b.get(&why).await.text().await.unwrap();
    assert!(page.contains("This account is disabled"), "{page}");

    let res = b.sign_in("default", "dave", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This account is disabled")
    );
    let res = b.sign_in("default", "dave", "wrong password!").await;
    let body = res.text().await.unwrap();
    assert!(
        body.contains("The username or password is incorrect."),
        "a wrong password reveals nothing"
    );
}

#[tokio::test]
async fn a_new_session_id_is_issued_at_every_sign_in() {
    let app = TestApp::start().await;
    app.create_user("default", "erin", GOOD_PASSWORD).await;
    let b = app.browser();
    // An attacker plants a session id before the victim signs in (fixation).
    b.set_cookie(COOKIE, "attacker-chosen-session-id-attacker-chosen-00");
    b.sign_in("default", "erin", GOOD_PASSWORD).await;
    let first = b.cookie(COOKIE).unwrap();
    assert_ne!(first, "attacker-chosen-session-id-attacker-chosen-00");

    b.sign_in("default", "erin", GOOD_PASSWORD).await;
    let second = b.cookie(COOKIE).unwrap();
    assert_ne!(first, second, "signing in again rotates the id");

    let old = app.browser();
    old.set_cookie(COOKIE, &first);
    let res = old.get("/t/default/").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the replaced session is gone server-side"
    );
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::start().await;
    app.create_user("default", "frank", GOOD_PASSWORD).await;
    let b = app.browser();
    let token = b.csrf("/t/default/login").await;
    let form = |csrf: &str| {
        vec![
            ("csrf_token".to_owned(), csrf.to_owned()),
            ("identifier".to_owned(), "frank".to_owned()),
            ("password".to_owned(), GOOD_PASSWORD.to_owned()),
        ]
    };
    let url = b.url("/t/default/login");

    // Missing, wrong, and another browser's token.
    let missing = b
        .client
        .post(&url)
        .form(&[("identifier", "frank"), ("password", GOOD_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        StatusCode::BAD_REQUEST,
        "a form without the field is malformed"
    );
    let wrong = b
        .client
        .post(&url)
        .form(&form("AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    let other = app.browser();
    let foreign = other.csrf("/t/default/login").await;
    let res = b
        .client
        .post(&url)
        .form(&form(&foreign))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "tokens are bound to the browser's cookie"
    );

    // A valid token, but the browser says the post comes from another site.
    let res = b
        .client
        .post(&url)
        .header("Origin", "https://evil.example")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b
        .client
        .post(&url)
        .header("Sec-Fetch-Site", "cross-site")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A cookie-less client (cross-site request without SameSite cookies) with a token.
    let res = reqwest::Client::new()
        .post(&url)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.cookie(COOKIE).is_none(), "none of these signed anyone in");

    let res = b
        .client
        .post(&url)
        .header("Origin", app.base.clone())
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the same form from our own origin works"
    );

    // Sign-out needs the token too: a cross-site GET or POST cannot end the session.
    assert_eq!(
        b.get("/t/default/logout").await.status(),
        StatusCode::OK,
        "GET only asks"
    );
    let res = b
        .post_form("/t/default/logout", &[("csrf_token", "nope")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        b.get("/t/default/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn sign_in_returns_only_to_same_origin_paths() {
    let app = TestApp::start().await;
    app.create_user("default", "gina", GOOD_PASSWORD).await;
    let evil = [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "http:evil.example",
    ];
    for target in evil {
        let b = app.browser();
        // The sign-in page does not carry a foreign target into its form.
        let page = b
            .get(&format!("/t/default/login?return_to={}", urlencode(target)))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            hidden_field(&page, "return_to").as_deref(),
            Some(""),
            "{target:?}"
        );
        // And a forged form field is ignored.
        let res = b.sign_in_to("default", "gina", GOOD_PASSWORD, target).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&res),
            "/t/default/",
            "{target:?} must not be followed"
        );
    }
    let b = app.browser();
    let res = b
        .sign_in_to("default", "gina", GOOD_PASSWORD, "/t/default/?tab=x")
        .await;
    assert_eq!(
        location(&res),
        "/t/default/?tab=x",
        "same-origin paths are honoured"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Browsing to the bind address (127.0.0.1) while `public_url` says `localhost` still works;
/// another origin still does not.
#[tokio::test]
async fn forms_accept_the_origin_the_browser_addressed() {
    let app = TestApp::builder()
        .tweak(|c| c.server.public_url = c.server.public_url.replace("127.0.0.1", "localhost"))
        .start()
        .await;
    app.create_user("default", "lou", GOOD_PASSWORD).await;
    let b = app.browser();
    let form = |csrf: String| {
        vec![
            ("csrf_token", csrf),
            ("identifier", "lou".to_owned()),
            ("password", GOOD_PASSWORD.to_owned()),
        ]
    };
    let url = b.url("/t/default/login");
    let csrf = b.csrf("/t/default/login").await;
    let res = b
        .client
        .post(&url)
        .header("Origin", "http://evil.example")
        .form(&form(csrf.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b
        .client
        .post(&url)
        .header("Origin", app.base.clone())
        .form(&form(csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{} is the addressed origin",
        app.base
    );
}
