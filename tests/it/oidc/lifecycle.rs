//! What happens to tokens when their client, user or key goes away, plus CORS for browser
//! clients and per-client response modes.

use openidconnect::OAuth2TokenResponse;

use super::flow::{post, sign_in};
use crate::common::browser::location;
use crate::common::oidc::{param, plain_client, register};
use crate::common::{GOOD_PASSWORD, TestApp};
use watchword::domain::audit::Actor;
use watchword::domain::client::{ClientKind, GrantType, ResponseModeName};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_client_kills_its_tokens_and_a_namesake_inherits_nothing() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "dee", "doomed", &["offline_access"], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let at = s.tokens.access_token().secret().clone();
    let rt = s.tokens.refresh_token().unwrap().secret().clone();
    let tenant = app.tenant("default").await;
    watchword::admin::clients::delete(
        &app.app.ctx,
        &tenant,
        "doomed",
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();

    let res = plain_client()
        .get(app.url("/t/default/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "the access token of a deleted client is dead"
    );
    // A new client registered under the same id and secret cannot use the old grant.
    register(&app, "default", "doomed", |c| {
        c.secret = Some(watchword::domain::secret::Secret::new(secret.clone()))
    })
    .await;
    let (status, body) = post(
        &app,
        "/t/default/token",
        Some(("doomed", &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
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
        Some(("doomed", &secret)),
        &[("token", &at)],
    )
    .await;
    assert_eq!(intro["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_kills_offline_grants_too() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "dan", "app", &["offline_access"], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::get(&app.app.ctx, &tenant, "dan")
        .await
        .unwrap()
        .user;
    watchword::admin::users::set_enabled(
        &app.app.ctx,
        &tenant,
        user,
        false,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", s.tokens.access_token().secret())],
    )
    .await;
    assert_eq!(
        intro["active"], false,
        "even an offline grant's access token"
    );
    let (_, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s.tokens.refresh_token().unwrap().secret()),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_key_stops_verifying_at_once() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "wes", "app", &[], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let at = s.tokens.access_token().secret().clone();
    let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at)]).await;
    assert_eq!(
        intro["active"], true,
        "verified (and remembered) before the withdrawal"
    );
    let kid = jsonwebtoken::decode_header(&at).unwrap().kid.unwrap();
    let tenant = app.tenant("default").await;
    let replacement = watchword::signing::rotation::withdraw(&app.app.ctx, tenant.id, &kid)
        .await
        .unwrap();
    let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at)]).await;
    assert_eq!(
        intro["active"], false,
        "tokens of a withdrawn key are refused, remembered or not"
    );
    let jwks: serde_json::Value = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(!kids.contains(&kid.as_str()) && kids.contains(&replacement.kid.as_str()));
    let fresh = super::flow::code_flow(&s.client, &s.browser, "wes", &[])
        .await
        .0;
    assert_eq!(
        jsonwebtoken::decode_header(fresh.access_token().secret())
            .unwrap()
            .kid
            .unwrap(),
        replacement.kid,
        "the replacement signs at once"
    );
}

#[tokio::test]
async fn browser_clients_get_cors_for_their_registered_origins() {
    let app = TestApp::start().await;
    register(&app, "default", "spa", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = None;
        c.settings.redirect_uris = vec!["https://spa.example/callback".into()];
    })
    .await;
    let http = plain_client();
    let pre = http
        .request(reqwest::Method::OPTIONS, app.url("/t/default/token"))
        .header("Origin", "https://spa.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    let res = http
        .post(app.url("/t/default/token"))
        .header("Origin", "https://spa.example")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("client_id", "spa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example",
        "errors are readable too"
    );
    let res = http
        .post(app.url("/t/default/token"))
        .header("Origin", "https://evil.example")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("client_id", "spa"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "unregistered origins get nothing"
    );
    let res = http
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = http.get(app.url("/t/default/token")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_modes_are_allow_listed_per_client_and_max_age_zero_does_not_loop() {
    let app = TestApp::start().await;
    app.create_user("default", "max", GOOD_PASSWORD).await;
    let c = register(&app, "default", "queryonly", |c| {
        c.settings.response_modes = vec![ResponseModeName::Query];
        c.settings.require_pkce = false;
        c.settings.grant_types = vec![GrantType::AuthorizationCode];
    })
    .await;
    let b = app.browser();
    let base = format!(
        "/t/default/authorize?client_id=queryonly&redirect_uri={}&response_type=code&scope=openid&state=s1",
        urlencode(&c.redirect_uri)
    );
    let res = b.get(&format!("{base}&response_mode=form_post")).await;
    assert_eq!(res.status(), 303);
    let back = url::Url::parse(&location(&res)).unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));

    // max_age=0: every request needs a fresh sign-in, and one fresh sign-in is enough even when
    // the clock moves on between the sign-in and the resume.
    let res = b.get(&format!("{base}&max_age=0")).await;
    assert!(location(&res).contains("/login"), "no session yet: sign in");
    let login = location(&res);
    let page = b.get(&login).await.text().await.unwrap();
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let return_to = crate::common::hidden_field(&page, "return_to")
        .unwrap()
        .replace("&amp;", "&");
    let res = b
        .post_form(
            "/t/default/login",
            &[
                ("csrf_token", &csrf),
                ("identifier", "max"),
                ("password", GOOD_PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    app.clock.advance(chrono::Duration::seconds(5));
    let res = b.get(&location(&res)).await;
    let back = url::Url::parse(&location(&res)).unwrap();
    assert!(
        param(&back, "code").is_some(),
        "the fresh sign-in satisfies max_age=0: {back}"
    );
    let res = b.get(&format!("{base}&max_age=0")).await;
    assert!(
        location(&res).contains("/login"),
        "a later request with max_age=0 asks again"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
