//! Machine clients: client credentials, introspection (RFC 7662) and revocation (RFC 7009).

use openidconnect::{OAuth2TokenResponse, Scope};

use super::flow::{post, sign_in};
use crate::common::TestApp;
use crate::common::oidc::{discover, http, plain_client, register, rp};
use watchword::domain::client::GrantType;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_issue_api_tokens() {
    let app = TestApp::start().await;
    let registered = register(&app, "default", "batch", |c| {
        c.settings.grant_types = vec![GrantType::ClientCredentials];
        c.settings.redirect_uris.clear();
        c.settings.scopes = vec!["reports:read".into(), "reports:write".into()];
    })
    .await;
    let metadata = discover(&app, "default").await;
    let client = rp(&metadata, &registered);
    let h = plain_client();
    let tokens = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("reports:read".into()))
        .request_async(&|r| http(h.clone(), r))
        .await
        .expect("client credentials grant");
    assert!(tokens.refresh_token().is_none());
    let secret = registered.secret.clone().unwrap();
    let creds = Some(("batch", secret.as_str()));
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", tokens.access_token().secret())],
    )
    .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["sub"], "batch");
    assert_eq!(intro["scope"], "reports:read");

    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "no OIDC scopes for machines"
    );
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["scope"], "reports:read reports:write",
        "default: every allowed scope"
    );

    let (status, body) = post(
        &app,
        "/t/default/token",
        Some(("batch", "wrong-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_and_revocation() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ivy", "app", &["profile"], |_| {}).await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let at = s.tokens.access_token().secret().clone();
    let rt = s.tokens.refresh_token().unwrap().secret().clone();

    let (status, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at)]).await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true);
    assert_eq!(intro["client_id"], "app");
    assert_eq!(intro["token_type"], "Bearer");
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "refresh_token");
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", "not-a-token")],
    )
    .await;
    assert_eq!(intro, serde_json::json!({ "active": false }));

    // Revoking the refresh token revokes its family and the access tokens issued with it.
    let (status, _) = post(&app, "/t/default/revoke", creds, &[("token", &rt)]).await;
    assert_eq!(status, 200);
    for token in [&at, &rt] {
        let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", token)]).await;
        assert_eq!(intro["active"], false, "revoked");
    }
    let (status, _) = post(
        &app,
        "/t/default/revoke",
        creds,
        &[("token", "unknown-token")],
    )
    .await;
    assert_eq!(status, 200, "unknown tokens are answered like revoked ones");

    // Revoking an access token on its own.
    let h = plain_client();
    let again = super::flow::code_flow(&s.client, &s.browser, "ivy", &[])
        .await
        .0;
    let at2 = again.access_token().secret().clone();
    post(
        &app,
        "/t/default/revoke",
        creds,
        &[("token", &at2), ("token_type_hint", "access_token")],
    )
    .await;
    let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at2)]).await;
    assert_eq!(intro["active"], false);
    let res = h
        .get(app.url("/t/default/userinfo"))
        .bearer_auth(&at2)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Another client cannot revoke this client's tokens; public clients cannot introspect.
    let other = register(&app, "default", "other", |_| {}).await;
    let other_secret = other.secret.unwrap();
    let at3 = super::flow::code_flow(&s.client, &s.browser, "ivy", &[])
        .await
        .0
        .access_token()
        .secret()
        .clone();
    let (status, body) = post(
        &app,
        "/t/default/revoke",
        Some(("other", &other_secret)),
        &[("token", &at3)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &at3)]).await;
    assert_eq!(intro["active"], true);
}
