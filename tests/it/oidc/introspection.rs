//! Who may introspect what (RFC 7662 section 4): a client its own tokens, a resource server the
//! access tokens meant for it (`aud` among its audiences), nobody else; refresh tokens only
//! their own client. Everything else is `{"active": false}`, like an unknown token.

use openidconnect::OAuth2TokenResponse;
use serde_json::{Value, json};

use super::flow::{post, sign_in};
use crate::common::TestApp;
use crate::common::oidc::{Registered, register};

async fn introspect(app: &TestApp, c: &Registered, token: &str) -> Value {
    let secret = c.secret.clone().unwrap();
    let (status, body) = post(
        app,
        "/t/default/introspect",
        Some((&c.client_id, &secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_and_its_resource_servers_may_introspect_a_token() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ria", "app", &["offline_access"], |_| {}).await;
    let at = s.tokens.access_token().secret().clone();
    let rt = s.tokens.refresh_token().unwrap().secret().clone();
    let other = register(&app, "default", "other", |_| {}).await;
    let api = register(&app, "default", "api", |c| {
        c.settings.resource_server = true;
        c.settings.audiences = vec!["app".into()];
    })
    .await;
    let other_api = register(&app, "default", "other-api", |c| {
        c.settings.resource_server = true;
        c.settings.audiences = vec!["someone-else".into()];
    })
    .await;

    // The owner sees both of its tokens.
    let own = introspect(&app, &s.registered, &at).await;
    assert_eq!(
        (own["active"].as_bool(), own["client_id"].as_str()),
        (Some(true), Some("app"))
    );
    assert_eq!(introspect(&app, &s.registered, &rt).await["active"], true);

    // Another confidential client learns nothing about either, not even that they exist.
    for token in [&at, &rt] {
        assert_eq!(
            introspect(&app, &other, token).await,
            json!({ "active": false })
        );
    }

    // A resource server serving "app" sees its access token, with the claims it needs...
    let seen = introspect(&app, &api, &at).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["aud"], "app");
    assert!(
        seen["sub"].is_string() && seen["scope"].is_string(),
        "{seen}"
    );
    // ...but never a refresh token.
    assert_eq!(
        introspect(&app, &api, &rt).await,
        json!({ "active": false })
    );
    // A resource server for another audience sees neither.
    for token in [&at, &rt] {
        assert_eq!(
            introspect(&app, &other_api, token).await,
            json!({ "active": false })
        );
    }
    // The same with the refresh-token hint.
    let (_, hinted) = post(
        &app,
        "/t/default/introspect",
        Some(("other", other.secret.as_deref().unwrap())),
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(hinted, json!({ "active": false }));
}

/// A resource server's own client-credentials tokens are its own (their `aud` is its id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_server_introspects_its_own_tokens() {
    use watchword::domain::client::GrantType;
    let app = TestApp::start().await;
    let api = register(&app, "default", "api", |c| {
        c.settings.resource_server = true;
        c.settings.grant_types = vec![GrantType::ClientCredentials];
        c.settings.redirect_uris.clear();
        c.settings.scopes = vec!["reports:read".into()];
    })
    .await;
    let secret = api.secret.clone().unwrap();
    let (status, body) = post(
        &app,
        "/t/default/token",
        Some(("api", &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &api, token).await["active"], true);
}
