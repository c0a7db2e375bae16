//! Discovery metadata (snapshot), JWKS caching, and key rotation: the new key is published
//! before it signs, and tokens signed by the old key keep verifying.

use chrono::Duration;
use openidconnect::OAuth2TokenResponse;

use super::flow::{post, sign_in};
use crate::common::TestApp;
use crate::common::oidc::plain_client;
use watchword::domain::keys::SigningAlg;

#[tokio::test]
async fn discovery_document() {
    let app = TestApp::start().await;
    let doc: serde_json::Value = plain_client()
        .get(app.url("/t/default/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = doc.to_string().replace(&app.base, "https://id.example.com");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!("discovery", doc);
    let rfc8414: serde_json::Value = plain_client()
        .get(app.url("/.well-known/oauth-authorization-server/t/default"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rfc8414["issuer"], format!("{}/t/default", app.base));
    let res = plain_client()
        .get(app.url("/t/nope/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn jwks_is_cacheable() {
    let app = TestApp::start().await;
    let res = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let jwks: serde_json::Value = res.json().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs.len(), 3);
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} is published");
    }
    for k in jwks["keys"].as_array().unwrap() {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private parts"
        );
    }
    let res = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_published_before_they_sign_and_old_tokens_keep_verifying() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "kai", "app", &[], |c| {
        c.settings.lifetimes.access_token_secs = Some(3600)
    })
    .await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let old_at = s.tokens.access_token().secret().clone();
    let old_kid = jsonwebtoken::decode_header(&old_at).unwrap().kid.unwrap();

    let tenant = app.tenant("default").await;
    let rotated =
        watchword::signing::rotation::rotate(&app.app.ctx, tenant.id, &[SigningAlg::ES256], false)
            .await
            .unwrap();
    let new_kid = rotated[0].kid.clone();
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
    assert!(
        kids.contains(&new_kid.as_str()) && kids.contains(&old_kid.as_str()),
        "both published"
    );

    // Not signing yet.
    let body = refresh(&app, creds, s.tokens.refresh_token().unwrap().secret()).await;
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(at).unwrap().kid.unwrap(),
        old_kid
    );

    // After the publication lead time, the new key signs; the old token still verifies.
    app.clock
        .advance(Duration::seconds(watchword::signing::PUBLISH_LEAD_SECS + 1));
    s.browser.get("/t/default/").await;
    let body = refresh(&app, creds, body["refresh_token"].as_str().unwrap()).await;
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(at).unwrap().kid.unwrap(),
        new_kid
    );
    let (_, intro) = post(&app, "/t/default/introspect", creds, &[("token", &old_at)]).await;
    assert_eq!(
        intro["active"], true,
        "a token of the retiring key still verifies"
    );
    let res = plain_client()
        .get(app.url("/t/default/userinfo"))
        .bearer_auth(&old_at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The retired key leaves the JWKS once every token it signed has expired.
    app.clock.advance(Duration::seconds(
        watchword::domain::client::MAX_TOKEN_LIFETIME_SECS + 120,
    ));
    let keys = watchword::signing::rotation::list(&app.app.ctx, tenant.id)
        .await
        .unwrap();
    assert!(
        !keys.iter().any(|k| k.kid == old_kid)
            || keys
                .iter()
                .any(|k| k.kid == old_kid && k.state == "retiring")
    );
}

async fn refresh(app: &TestApp, creds: Option<(&str, &str)>, rt: &str) -> serde_json::Value {
    let (status, body) = post(
        app,
        "/t/default/token",
        creds,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}
