//! The authorization code flow with PKCE and nonce, ID token validation by the RP, userinfo
//! (GET, and POST with the token in the header or the form body).

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, CsrfToken, EmptyAdditionalClaims, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, Scope, TokenResponse, UserInfoClaims,
};

use super::flow::sign_in;
use crate::common::oidc::{authorize, discover, http, param, plain_client, register, rp};
use crate::common::{GOOD_PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_pkce_nonce_id_token_and_userinfo() {
    let app = TestApp::start().await;
    let user = app.create_user("default", "olivia", GOOD_PASSWORD).await;
    let registered = register(&app, "default", "webapp", |_| {}).await;
    let metadata = discover(&app, "default").await;
    let client = rp(&metadata, &registered);
    let http_client = plain_client();
    let http = |r| http(http_client.clone(), r);

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = app.browser();
    let back = authorize(&browser, url.as_str(), Some(("olivia", GOOD_PASSWORD))).await;
    assert!(back.as_str().starts_with(&registered.redirect_uri));
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str()),
        "state is returned untouched"
    );
    assert_eq!(
        param(&back, "iss"),
        Some(format!("{}/t/default", app.base)),
        "RFC 9207 iss"
    );
    let code = param(&back, "code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the RP accepts the token response");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the RP validates the ID token (signature, iss, aud, exp, nonce)");
    assert_eq!(claims.subject().as_str(), user.id.to_string());
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("olivia")
    );
    // at_hash binds the access token to the ID token.
    let expected = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    let raw: serde_json::Value = jwt_payload(&id_token.to_string());
    assert_eq!(raw["azp"], "webapp");
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
    assert_eq!(raw["acr"], "pwd", "password-only sign-in");
    assert!(raw["sid"].is_string(), "sid for back-channel logout");
    assert!(tokens.refresh_token().is_some());
    assert_eq!(tokens.scopes().map(|s| s.len()), Some(3));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo answers");
    let info: &UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = &info;
    assert_eq!(info.subject().as_str(), user.id.to_string());
    assert_eq!(
        info.email().map(|e| e.as_str()),
        Some("olivia@example.test")
    );
    // `email_verified` tells the truth: false until the address is proven, then true.
    assert_eq!(info.email_verified(), Some(false));
    let id = user.id;
    app.app
        .ctx
        .db
        .run(move |c| {
            watchword::storage::users::set_email_verified(c, id, "olivia@example.test", 0)
        })
        .await
        .unwrap();
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo answers");
    assert_eq!(info.email_verified(), Some(true));

    // The access token is an RFC 9068 JWT.
    let header = jsonwebtoken::decode_header(tokens.access_token().secret()).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let at = jwt_payload(tokens.access_token().secret());
    assert_eq!(at["client_id"], "webapp");
    assert_eq!(at["scope"], "openid profile email");
    assert!(at["jti"].is_string());
    assert_eq!(at["acr"], "pwd");
    assert_eq!(at["sub"], user.id.to_string());
}

/// RFC 6750 2.1: a POST authenticated by the `Authorization: Bearer` header needs no body and
/// does not depend on one (a JSON body is ignored); a token in the header and a form body at
/// once is still refused, and without the header the body must be a form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_by_post_with_the_bearer_header() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "una", "app", &["email"], |_| {}).await;
    let at = s.tokens.access_token().secret().clone();
    let url = app.url("/t/default/userinfo");
    let h = plain_client();
    let claims_of = |res: reqwest::Response| async move {
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], "una@example.test", "{body}");
        body
    };

    let no_body = claims_of(h.post(&url).bearer_auth(&at).send().await.unwrap()).await;
    let json_body = claims_of(
        h.post(&url)
            .bearer_auth(&at)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"not-a-token-location","locale":"en"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json_body, no_body, "the JSON body changes nothing");
    claims_of(
        h.post(&url)
            .bearer_auth(&at)
            .form(&[("locale", "en")])
            .send()
            .await
            .unwrap(),
    )
    .await;

    // The header still decides: a bad token is refused whatever the body.
    let res = h
        .post(&url)
        .bearer_auth("forged")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A token in the header and in a form body: two places, refused.
    let res = h
        .post(&url)
        .bearer_auth(&at)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Without the header the token must come in a form body (RFC 6750 2.2).
    let res = h
        .post(&url)
        .header("content-type", "application/json")
        .body(format!(r#"{{"access_token":"{at}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
}

/// The payload of a JWT, without verification (the RP already verified it).
pub fn jwt_payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}
