//! Discovery metadata (snapshot), discovery and JWKS caching, key rotation (the new key is
//! published before it signs, tokens signed by the old key keep verifying, the old key leaves
//! the JWKS once they have all expired), per-client and per-tenant signing algorithms, and
//! private keys encrypted at rest.

use base64::Engine;
use chrono::Duration;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreTokenResponse};
use openidconnect::{Nonce, OAuth2TokenResponse, TokenResponse};
use watchword::clock::Clock;
use watchword::crypto::master_key::{KeyPurpose, MasterKey};
use watchword::crypto::{aead, jws};
use watchword::domain::audit::Actor;
use watchword::domain::client::{GrantType, MAX_TOKEN_LIFETIME_SECS};
use watchword::domain::keys::SigningAlg;

use super::code_flow::jwt_payload;
use super::flow::{SignedIn, code_flow, post, sign_in};
use crate::common::TestApp;
use crate::common::oidc::{Rp, discover, plain_client, rp};

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

/// Discovery documents are cacheable (they change only with a release or a tenant's settings);
/// an unknown tenant's 404 is not.
#[tokio::test]
async fn discovery_responses_carry_cache_control() {
    let app = TestApp::start().await;
    for path in [
        "/t/default/.well-known/openid-configuration",
        "/t/default/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/t/default",
        "/.well-known/openid-configuration/t/default",
    ] {
        let res = plain_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=300",
            "{path}"
        );
    }
    let res = plain_client()
        .get(app.url("/t/nope/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

/// The `kid`s the JWKS endpoint publishes right now.
async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: serde_json::Value = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_published_before_they_sign_and_old_tokens_keep_verifying() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "kai", "app", &[], |c| {
        c.settings.lifetimes.access_token_secs = Some(MAX_TOKEN_LIFETIME_SECS);
        c.settings.lifetimes.id_token_secs = Some(3600);
        c.settings.grant_types.push(GrantType::ClientCredentials);
        c.settings.scopes.push("api".into());
    })
    .await;
    let secret = s.registered.secret.clone().unwrap();
    let creds = Some(("app", secret.as_str()));
    let old_at = s.tokens.access_token().secret().clone();
    let old_es = kid_of(&old_at);
    let old_id = s.tokens.id_token().unwrap().clone();
    let old_rs = kid_of(&old_id.to_string());

    let tenant = app.tenant("default").await;
    let rotated = watchword::signing::rotation::rotate(
        &app.app.ctx,
        tenant.id,
        &[SigningAlg::RS256, SigningAlg::ES256],
        false,
    )
    .await
    .unwrap();
    let new_kid = |alg: &str| {
        rotated
            .iter()
            .find(|k| k.alg == alg)
            .map(|k| k.kid.clone())
            .unwrap()
    };
    let (new_rs, new_es) = (new_kid("RS256"), new_kid("ES256"));
    let kids = published_kids(&app).await;
    for kid in [&old_rs, &old_es, &new_rs, &new_es] {
        assert!(kids.contains(kid), "{kid} is published: {kids:?}");
    }

    // Not signing yet.
    let body = refresh(&app, creds, s.tokens.refresh_token().unwrap().secret()).await;
    assert_eq!(kid_of(body["access_token"].as_str().unwrap()), old_es);

    // The last moment the old key signs: a token as long-lived as any can be.
    app.clock
        .advance(Duration::seconds(watchword::signing::PUBLISH_LEAD_SECS - 1));
    let (status, cc) = post(
        &app,
        "/t/default/token",
        creds,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(status, 200, "{cc}");
    let last_old = cc["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&last_old), old_es);

    // After the publication lead time, the new key signs; the old token still verifies.
    app.clock.advance(Duration::seconds(2));
    s.browser.get("/t/default/").await;
    let body = refresh(&app, creds, body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(kid_of(body["access_token"].as_str().unwrap()), new_es);
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

    // A relying party that fetches the JWKS now still verifies the ID token issued before the
    // rotation, and new ID tokens are signed by the new key.
    let metadata = discover(&app, "default").await;
    let after = rp(&metadata, &s.registered);
    let clock = app.clock.clone();
    let verifier = after.id_token_verifier().set_time_fn(move || clock.now());
    old_id
        .claims(&verifier, &s.nonce)
        .expect("the RP verifies the pre-rotation ID token with the current JWKS");
    let (tokens, nonce) = code_flow(&after, &s.browser, "kai", &[]).await;
    let new_id = tokens.id_token().unwrap();
    assert_eq!(kid_of(&new_id.to_string()), new_rs);
    new_id
        .claims(&verifier, &nonce)
        .expect("the RP verifies an ID token of the new key");

    // The retired keys stay published as long as a token they signed can be valid (checked
    // after a reload of the key ring, as every replica does every 30 seconds)...
    let expires = jwt_payload(&last_old)["exp"].as_i64().unwrap();
    app.clock
        .advance(Duration::seconds(expires - app.clock.unix() - 1));
    app.app.ctx.keyring.invalidate(tenant.id);
    let kids = published_kids(&app).await;
    assert!(
        kids.contains(&old_es) && kids.contains(&old_rs),
        "retired keys are still published while their tokens live: {kids:?}"
    );
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", &last_old)],
    )
    .await;
    assert_eq!(
        intro["active"], true,
        "the last token of the old key verifies"
    );

    // ...and leave the JWKS once every one of them has expired.
    let keys = watchword::signing::rotation::list(&app.app.ctx, tenant.id)
        .await
        .unwrap();
    let leaves = keys
        .iter()
        .filter(|k| k.kid == old_es || k.kid == old_rs)
        .map(|k| k.expires_at.expect("a retired key has an end"))
        .max()
        .unwrap();
    assert!(leaves >= expires, "not before its tokens expire");
    app.clock
        .advance(Duration::seconds(leaves - app.clock.unix() + 1));
    app.app.ctx.keyring.invalidate(tenant.id);
    let kids = published_kids(&app).await;
    assert!(
        !kids.contains(&old_es) && !kids.contains(&old_rs),
        "retired keys are gone: {kids:?}"
    );
    assert!(kids.contains(&new_es) && kids.contains(&new_rs), "{kids:?}");
    let keys = watchword::signing::rotation::list(&app.app.ctx, tenant.id)
        .await
        .unwrap();
    assert!(
        !keys.iter().any(|k| k.kid == old_es || k.kid == old_rs),
        "{keys:?}"
    );
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        creds,
        &[("token", &last_old)],
    )
    .await;
    assert_eq!(intro["active"], false);
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

fn rp_alg(alg: SigningAlg) -> CoreJwsSigningAlgorithm {
    match alg {
        SigningAlg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        SigningAlg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        SigningAlg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
    }
}

/// The ID token is signed with `id_alg` and the RP, accepting only that algorithm, verifies it;
/// the access token is signed with `at_alg` and Watchword accepts it at userinfo.
async fn assert_signed_with(
    app: &TestApp,
    client: &Rp,
    (tokens, nonce): &(CoreTokenResponse, Nonce),
    id_alg: SigningAlg,
    at_alg: SigningAlg,
) {
    let what = client.client_id().as_str();
    let id = tokens.id_token().unwrap();
    let header = jsonwebtoken::decode_header(id.to_string()).unwrap();
    assert_eq!(
        format!("{:?}", header.alg),
        id_alg.as_str(),
        "{what}: ID token alg"
    );
    assert_eq!(id.signing_alg().unwrap(), &rp_alg(id_alg), "{what}");
    let claims = id
        .claims(
            &client
                .id_token_verifier()
                .set_allowed_algs([rp_alg(id_alg)]),
            nonce,
        )
        .unwrap_or_else(|e| panic!("{what}: the RP verifies the {id_alg:?} ID token: {e}"));
    // at_hash is computed with the ID token's algorithm.
    let expected = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id.signing_alg().unwrap(),
        id.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims.access_token_hash(),
        Some(&expected),
        "{what}: at_hash"
    );
    if id_alg != SigningAlg::RS256 {
        let rs256_only = client
            .id_token_verifier()
            .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        assert!(
            id.claims(&rs256_only, nonce).is_err(),
            "{what}: an RS256-only RP refuses it"
        );
    }

    let at = tokens.access_token().secret();
    let header = jsonwebtoken::decode_header(at).unwrap();
    assert_eq!(
        format!("{:?}", header.alg),
        at_alg.as_str(),
        "{what}: access token alg"
    );
    let jwks: serde_json::Value = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header.kid.clone().unwrap().as_str())
        .expect("signed with a published key");
    assert_eq!(key["alg"], at_alg.as_str(), "{what}");
    let res = plain_client()
        .get(app.url("/t/default/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{what}: the access token is accepted");
}

/// A client's registered algorithms win over the tenant's; the tenant's token policy sets the
/// default for clients without their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_and_per_tenant_signing_algorithms() {
    let app = TestApp::start().await;
    let signed_in = |s: &SignedIn| (s.tokens.clone(), s.nonce.clone());
    let plain = sign_in(&app, "alg", "plain", &[], |_| {}).await;
    assert_signed_with(
        &app,
        &plain.client,
        &signed_in(&plain),
        SigningAlg::RS256,
        SigningAlg::ES256,
    )
    .await;
    let es = sign_in(&app, "alg", "es", &[], |c| {
        c.settings.id_token_alg = Some(SigningAlg::ES256);
        c.settings.access_token_alg = Some(SigningAlg::EdDSA);
    })
    .await;
    assert_signed_with(
        &app,
        &es.client,
        &signed_in(&es),
        SigningAlg::ES256,
        SigningAlg::EdDSA,
    )
    .await;
    let ed = sign_in(&app, "alg", "ed", &[], |c| {
        c.settings.id_token_alg = Some(SigningAlg::EdDSA);
        c.settings.access_token_alg = Some(SigningAlg::RS256);
    })
    .await;
    assert_signed_with(
        &app,
        &ed.client,
        &signed_in(&ed),
        SigningAlg::EdDSA,
        SigningAlg::RS256,
    )
    .await;

    // The tenant switches its defaults: clients without their own follow, the others do not.
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.tokens.id_token_alg = SigningAlg::EdDSA;
    policy.tokens.access_token_alg = SigningAlg::RS256;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    for (s, id_alg, at_alg) in [
        (&plain, SigningAlg::EdDSA, SigningAlg::RS256),
        (&es, SigningAlg::ES256, SigningAlg::EdDSA),
    ] {
        let again = code_flow(&s.client, &s.browser, "alg", &[]).await;
        assert_signed_with(&app, &s.client, &again, id_alg, at_alg).await;
    }
}

/// The database holds signing keys only sealed under the master key: no PEM, no PKCS#8, and
/// another master key (or another key's row) cannot open them.
#[tokio::test]
async fn private_keys_are_encrypted_at_rest() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let (id, now) = (tenant.id, app.clock.unix());
    let rows = app
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::signing_keys::live(c, id, now))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "one key per algorithm");
    let other = MasterKey::from_base64(
        &base64::engine::general_purpose::STANDARD.encode(watchword::crypto::random::bytes::<32>()),
    )
    .unwrap()
    .derive(KeyPurpose::Encryption);
    // Bound to tenant and key id (as `signing::sealing_aad` does).
    let aad = |kid: &str| format!("signing-key:{}:{kid}", tenant.id).into_bytes();
    for row in &rows {
        let alg = SigningAlg::parse(&row.alg).unwrap();
        let stored = &row.private_key;
        assert!(
            !String::from_utf8_lossy(stored).contains("PRIVATE KEY"),
            "{}: no PEM",
            row.kid
        );
        assert!(
            jws::SigningKey::load(alg, stored).is_err(),
            "{}: the column is not a PKCS#8 key",
            row.kid
        );
        assert!(
            !row.public_jwk.contains("\"d\""),
            "{}: the public JWK has no private part",
            row.kid
        );
        let pkcs8 = aead::open(&app.app.ctx.keys.encryption, &aad(&row.kid), stored)
            .expect("the server's master key opens it");
        assert!(
            jws::SigningKey::load(alg, &pkcs8).is_ok(),
            "{}: what is sealed is the private key",
            row.kid
        );
        assert!(
            !stored.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()),
            "{}: no plaintext copy beside the ciphertext",
            row.kid
        );
        assert!(
            aead::open(&other, &aad(&row.kid), stored).is_err(),
            "{}: another master key cannot open it",
            row.kid
        );
        let swapped = rows.iter().find(|r| r.kid != row.kid).unwrap();
        assert!(
            aead::open(&app.app.ctx.keys.encryption, &aad(&swapped.kid), stored).is_err(),
            "{}: a row copied under another key id does not open",
            row.kid
        );
    }
}
