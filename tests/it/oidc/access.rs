//! The account's applications page: what the user approved and which clients hold tokens, and
//! "remove access" (consent forgotten, grants revoked, asked again next time).

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use super::flow::{code_flow, post};
use crate::common::browser::location;
use crate::common::oidc::{discover, register, rp};
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_and_remove_what_applications_hold() {
    let app = TestApp::start().await;
    app.create_user("default", "ada", GOOD_PASSWORD).await;
    app.create_user("default", "bob", GOOD_PASSWORD).await;
    let tp = register(&app, "default", "tp", |c| {
        c.name = "Third Party Reports".into();
        c.settings.first_party = false;
    })
    .await;
    let own = register(&app, "default", "own", |c| c.name = "Our Portal".into()).await;
    let metadata = discover(&app, "default").await;
    let b = app.browser();
    let (tp_tokens, _) = code_flow(&rp(&metadata, &tp), &b, "ada", &["profile"]).await;
    let (own_tokens, _) = code_flow(&rp(&metadata, &own), &b, "ada", &["offline_access"]).await;
    // Someone else's grant to the same client is not shown and not touched.
    let other = app.browser();
    let (bob_tokens, _) = code_flow(&rp(&metadata, &tp), &other, "bob", &[]).await;

    let page = b.get("/t/default/account/apps").await.text().await.unwrap();
    assert!(page.contains("Third Party Reports"), "{page}");
    assert!(
        page.contains("Access: openid profile"),
        "the approved scopes: {page}"
    );
    assert!(
        page.contains("Our Portal"),
        "first-party clients with tokens: {page}"
    );
    assert!(
        page.contains("Keeps access while you are signed out"),
        "offline access is pointed out: {page}"
    );
    assert_eq!(page.matches("Remove access").count(), 2, "{page}");
    let account = b.get("/t/default/account").await.text().await.unwrap();
    assert!(
        account.contains("/t/default/account/apps"),
        "linked from the account page"
    );

    // Remove the third party's access: a CSRF token is required.
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/account/apps/remove",
            &[("csrf_token", "forged"), ("client_id", "tp")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b
        .post_form(
            "/t/default/account/apps/remove",
            &[("csrf_token", &csrf), ("client_id", "tp")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/account/apps?done=removed");

    let creds = Some(("tp", tp.secret.as_deref().unwrap()));
    let active = |token: String| {
        let app = &app;
        async move {
            post(app, "/t/default/introspect", creds, &[("token", &token)])
                .await
                .1["active"]
                == true
        }
    };
    assert!(!active(tp_tokens.access_token().secret().clone()).await);
    assert!(!active(tp_tokens.refresh_token().unwrap().secret().clone()).await);
    let (status, body) = post(
        &app,
        "/t/default/token",
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tp_tokens.refresh_token().unwrap().secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Bob's grant and Ada's other application are untouched.
    assert!(active(bob_tokens.access_token().secret().clone()).await);
    let own_creds = Some(("own", own.secret.as_deref().unwrap()));
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        own_creds,
        &[("token", own_tokens.refresh_token().unwrap().secret())],
    )
    .await;
    assert_eq!(intro["active"], true);

    // The page no longer lists it, and the next authorization asks for consent again.
    let page = b
        .get("/t/default/account/apps?done=removed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("no longer has access"), "{page}");
    assert!(!page.contains("Third Party Reports"), "{page}");
    let (url, _, _) = rp(&metadata, &tp)
        .authorize_url(
            openidconnect::core::CoreAuthenticationFlow::AuthorizationCode,
            openidconnect::CsrfToken::new_random,
            openidconnect::Nonce::new_random,
        )
        .set_pkce_challenge(openidconnect::PkceCodeChallenge::new_random_sha256().0)
        .url();
    let res = b.client.get(url.as_str()).send().await.unwrap();
    assert!(
        location(&res).contains("/authorize/consent?"),
        "asked again: {}",
        location(&res)
    );

    // Removing what is not there says so; the event is audited once.
    let res = b
        .post_form(
            "/t/default/account/apps/remove",
            &[("csrf_token", &csrf), ("client_id", "tp")],
        )
        .await;
    assert_eq!(location(&res), "/t/default/account/apps?done=nothing");
    let events = app.audit("default").await;
    let withdrawn: Vec<_> = events
        .iter()
        .filter(|e| e.action == "access_withdrawn")
        .collect();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0].subject.as_deref(), Some("client:tp"));
    assert!(withdrawn[0].request_id.is_some());
}

/// Signed-out visitors are sent to sign in, and come back to the page.
#[tokio::test]
async fn the_applications_page_needs_a_signed_in_user() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/t/default/account/apps").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).contains("/login"), "{}", location(&res));
    assert!(
        location(&res).contains("account%2Fapps"),
        "{}",
        location(&res)
    );
}
