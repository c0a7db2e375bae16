//! Logout: RP-initiated (with and without `id_token_hint`) and back-channel logout tokens
//! received by a test listener, for sign-out, RP-initiated logout, session timeout, a disabled
//! account and a session replaced by another user's sign-in; delivery to a failing or hanging
//! listener (retried, never blocking the person signing out).

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use jsonwebtoken::jwk::JwkSet;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use watchword::domain::audit::Actor;

use super::flow::{SignedIn, post, sign_in};
use crate::common::browser::location;
use crate::common::oidc::{Fault, Listener, plain_client};
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

/// Verifies a logout token against the tenant's JWKS and returns its claims.
async fn verify_logout_token(app: &TestApp, token: &str, client_id: &str) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: JwkSet = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("signed with a published key");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[client_id]);
    v.set_issuer(&[format!("{}/t/default", app.base)]);
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
        .expect("signature and claims verify")
        .claims;
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "logout tokens never carry a nonce"
    );
    assert!(claims["jti"].is_string() && claims["iat"].is_number());
    claims
}

fn sid_of(s: &SignedIn) -> String {
    let id = s.tokens.id_token().unwrap().to_string();
    super::code_flow::jwt_payload(&id)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_sends_back_channel_logout_tokens() {
    let app = TestApp::start().await;
    let listener = Listener::start().await;
    let uri = listener.uri.clone();
    let s = sign_in(&app, "bea", "app", &["profile"], move |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await;
    let sid = sid_of(&s);
    let csrf = s.browser.csrf("/t/default/logout").await;
    s.browser
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;

    let token = listener.next().await.expect("a logout token arrives");
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(
        claims["sub"],
        s.tokens
            .id_token()
            .unwrap()
            .claims(&s.client.id_token_verifier(), &s.nonce)
            .unwrap()
            .subject()
            .as_str()
    );
    assert!(
        listener.quiet_for(300).await,
        "exactly one token for one client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_session_is_swept_and_its_clients_told() {
    let app = TestApp::start().await;
    let listener = Listener::start().await;
    let uri = listener.uri.clone();
    let s = sign_in(&app, "tim", "app", &[], move |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await;
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        app.app.sweep_sessions().await,
        1,
        "the sweep ends the idle session"
    );
    let token = listener
        .next()
        .await
        .expect("a logout token arrives without the browser coming back");
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid_of(&s).as_str());
    let secret = s.registered.secret.clone().unwrap();
    let (_, body) = post(
        &app,
        "/t/default/token",
        Some(("app", &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s.tokens.refresh_token().unwrap().secret()),
        ],
    )
    .await;
    assert_eq!(
        body["error"], "invalid_grant",
        "its refresh token died with it"
    );
    assert_eq!(app.app.sweep_sessions().await, 0, "ended once");
    let res = s.browser.get("/t/default/").await;
    assert!(
        location(&res).contains("reason=expired"),
        "the browser is told its session expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_with_hint_redirects_with_state() {
    let app = TestApp::start().await;
    let listener = Listener::start().await;
    let uri = listener.uri.clone();
    let s = sign_in(&app, "rob", "app", &[], move |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await;
    let hint = s.tokens.id_token().unwrap().to_string();
    let res = s
        .browser
        .client
        .get(app.url("/t/default/end-session"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "s-123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "https://app.example/bye?state=s-123");
    assert_eq!(
        s.browser.get("/t/default/").await.status(),
        303,
        "signed out"
    );
    verify_logout_token(&app, &listener.next().await.unwrap(), "app").await;

    // An unregistered post-logout URI is never followed.
    let again = super::flow::code_flow(&s.client, &s.browser, "rob", &[])
        .await
        .0;
    let hint = again.id_token().unwrap().to_string();
    let res = s
        .browser
        .client
        .get(app.url("/t/default/end-session"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        s.browser.get("/t/default/").await.status(),
        200,
        "still signed in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_without_hint_asks_the_user() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ria", "app", &[], |_| {}).await;
    // A link on another site: no hint. Nothing happens until the user confirms.
    let res = s
        .browser
        .client
        .get(app.url("/t/default/end-session?client_id=app&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign out?") && page.contains("App app"));
    assert_eq!(
        s.browser.get("/t/default/").await.status(),
        200,
        "not signed out by a GET"
    );
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = s
        .browser
        .post_form(
            "/t/default/end-session/confirm",
            &[
                ("csrf_token", &csrf),
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://app.example/bye"),
                ("state", "x"),
            ],
        )
        .await;
    assert_eq!(location(&res), "https://app.example/bye?state=x");
    assert_eq!(s.browser.get("/t/default/").await.status(), 303);
    let res = s
        .browser
        .post_form(
            "/t/default/end-session/confirm",
            &[("csrf_token", "forged")],
        )
        .await;
    assert_eq!(res.status(), 403, "the confirmation is CSRF-protected");
    let _ = s.tokens.access_token();
}

/// The `sub` the relying party saw in the ID token.
fn sub_of(s: &SignedIn) -> String {
    s.tokens
        .id_token()
        .unwrap()
        .claims(&s.client.id_token_verifier(), &s.nonce)
        .unwrap()
        .subject()
        .to_string()
}

/// Signs `user` in at a client whose back-channel logout URI is `listener`'s.
async fn signed_in_at(app: &TestApp, listener: &Listener, user: &str) -> SignedIn {
    let uri = listener.uri.clone();
    sign_in(app, user, "app", &[], move |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await
}

async fn sign_out(s: &SignedIn) -> reqwest::Response {
    let csrf = s.browser.csrf("/t/default/logout").await;
    s.browser
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await
}

/// A client answering 500 gets the same logout token again, with back-off, until it accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_back_channel_delivery_is_retried_until_received() {
    let app = TestApp::start().await;
    let listener = Listener::faulty(Fault::Fail, 2).await;
    let s = signed_in_at(&app, &listener, "ray").await;
    assert_eq!(sign_out(&s).await.status(), StatusCode::SEE_OTHER);

    // Retries come 1 s and 5 s after the failures: accepted about 6 s after sign-out.
    let token = listener
        .next_within(StdDuration::from_secs(20))
        .await
        .expect("the third attempt is accepted");
    let attempts = listener.attempts();
    assert_eq!(attempts.len(), 3, "two refusals, then the delivery");
    assert!(
        attempts.iter().all(|a| a.logout_token == token),
        "every attempt carries the same logout token"
    );
    for pair in attempts.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= StdDuration::from_millis(800),
            "retries back off: {:?}",
            pair[1].at - pair[0].at
        );
    }
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid_of(&s).as_str());
    assert_eq!(claims["sub"], sub_of(&s).as_str());
    assert!(
        listener.quiet_for(1500).await && listener.attempts().len() == 3,
        "nothing more once delivered"
    );
}

/// A client that never answers does not hold up sign-out; its delivery is abandoned after the
/// attempt timeout and retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_back_channel_endpoint_does_not_delay_sign_out() {
    let app = TestApp::start().await;
    let listener = Listener::faulty(Fault::Hang, 1).await;
    let s = signed_in_at(&app, &listener, "hal").await;
    let csrf = s.browser.csrf("/t/default/logout").await;
    let started = Instant::now();
    let res = s
        .browser
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        took < StdDuration::from_secs(3),
        "sign-out answered in {took:?}, well under the 5 s delivery timeout"
    );
    assert_eq!(
        s.browser.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );

    let token = listener
        .next_within(StdDuration::from_secs(20))
        .await
        .expect("the retry after the timed-out attempt is accepted");
    let attempts = listener.attempts();
    assert_eq!(attempts.len(), 2, "one held attempt, then the delivery");
    assert!(
        attempts[1].at - attempts[0].at >= StdDuration::from_secs(4),
        "the held attempt was given up only after its timeout: {:?}",
        attempts[1].at - attempts[0].at
    );
    assert_eq!(attempts[0].logout_token, token);
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid_of(&s).as_str());
}

/// Disabling an account ends its sessions, and their clients are told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_sends_back_channel_logout_tokens() {
    let app = TestApp::start().await;
    let listener = Listener::start().await;
    let s = signed_in_at(&app, &listener, "dora").await;
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::get(&app.app.ctx, &tenant, "dora")
        .await
        .unwrap()
        .user;
    let ended = watchword::admin::users::set_enabled(
        &app.app.ctx,
        &tenant,
        user,
        false,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    assert_eq!(ended, 1, "her one session ends");
    let token = listener
        .next()
        .await
        .expect("a logout token arrives for the disabled account's session");
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid_of(&s).as_str());
    assert_eq!(claims["sub"], sub_of(&s).as_str());
    assert!(
        listener.quiet_for(300).await,
        "one session, one client, one token"
    );
}

/// Another person signing in in the same browser replaces the session: the first person's
/// applications are told. The same person signing in again keeps the session (no token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_replaced_by_another_users_sign_in_is_logged_out_at_its_clients() {
    let app = TestApp::start().await;
    let listener = Listener::start().await;
    let s = signed_in_at(&app, &listener, "ann").await;
    let res = s.browser.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        listener.quiet_for(500).await,
        "signing in again as the same user keeps the session"
    );

    app.create_user("default", "ben", GOOD_PASSWORD).await;
    let res = s.browser.sign_in("default", "ben", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let token = listener
        .next()
        .await
        .expect("ann's applications are told her session ended");
    let claims = verify_logout_token(&app, &token, "app").await;
    assert_eq!(claims["sid"], sid_of(&s).as_str());
    assert_eq!(claims["sub"], sub_of(&s).as_str());
    assert!(listener.quiet_for(300).await, "exactly one token");
}
