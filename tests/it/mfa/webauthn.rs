//! WebAuthn with a software authenticator (webauthn-authenticator-rs's soft passkey, which signs
//! like a platform authenticator with user verification): registration on the account page, as a
//! second factor, passkey sign-in without a password, and what is refused: another origin, an
//! unknown credential, a cloned authenticator's counter.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use super::{password, session_methods};
use crate::common::browser::location;
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

/// A soft authenticator that also plays a discoverable one: it remembers the credential it made
/// and the user handle it was made for, offers that credential when the server allows any, and
/// returns the user handle with its assertions (the handle is not covered by the signature).
struct SoftKey {
    inner: SoftPasskey,
    origin: Url,
    credential: Option<(String, String)>,
}

impl SoftKey {
    fn new(origin: &str) -> Self {
        Self {
            inner: SoftPasskey::new(true),
            origin: Url::parse(origin).unwrap(),
            credential: None,
        }
    }

    fn register(&mut self, mut options: Value) -> Value {
        let user_handle = options["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // The soft token keeps no resident keys; this wrapper plays that part.
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = false.into();
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "discouraged".into();
        let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let cred = self
            .inner
            .do_registration(self.origin.clone(), ccr)
            .unwrap();
        let out = serde_json::to_value(&cred).unwrap();
        self.credential = Some((out["id"].as_str().unwrap().to_owned(), user_handle));
        out
    }

    fn authenticate(&mut self, mut options: Value) -> Value {
        let (id, user_handle) = self.credential.clone().expect("registered");
        let allow = &mut options["publicKey"]["allowCredentials"];
        if allow.as_array().is_none_or(|a| a.is_empty()) {
            *allow = json!([{ "type": "public-key", "id": id }]);
        }
        let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let cred = self
            .inner
            .do_authentication(self.origin.clone(), rcr)
            .unwrap();
        let mut out = serde_json::to_value(&cred).unwrap();
        out["response"]["userHandle"] = user_handle.into();
        out
    }
}

/// POSTs JSON with the page's CSRF token, as static/js/webauthn.js does.
async fn post_json(b: &Browser, csrf: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = b
        .client
        .post(b.url(path))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Registers `key` for the signed-in browser, as a security key or a passkey.
async fn register(b: &Browser, key: &mut SoftKey, kind: &str, name: &str) {
    let csrf = b.csrf("/t/default/account/security").await;
    let (status, start) = post_json(
        b,
        &csrf,
        "/t/default/account/webauthn/options",
        json!({ "kind": kind }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{start}");
    if kind == "passkey" {
        assert_eq!(
            start["options"]["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
    }
    let credential = key.register(start["options"].clone());
    let (status, done) = post_json(
        b,
        &csrf,
        "/t/default/account/webauthn",
        json!({ "handle": start["handle"], "name": name, "credential": credential }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/t/default/account/security?done=key");
}

async fn localhost_app() -> TestApp {
    TestApp::builder().localhost().start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_key_is_a_second_factor() {
    let app = localhost_app().await;
    let b = super::signed_in(&app, "kay").await;
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "security_key", "YubiKey 5").await;
    let page = b
        .get("/t/default/account/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("YubiKey 5") && page.contains("security key"),
        "{page}"
    );
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "factor_added" && e.details.contains("YubiKey 5"))
    );

    // A new browser: password, then the key.
    let c = app.browser();
    assert_eq!(password(&c, "kay").await, "/t/default/login/verify");
    let page = c.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(page.contains("Use your security key or passkey"));
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap_or_else(|| c_token(&page));
    let (status, start) = post_json(
        &c,
        &csrf,
        "/t/default/login/verify/webauthn/options",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{start}");
    assert_eq!(
        start["options"]["publicKey"]["userVerification"],
        "required"
    );
    let assertion = key.authenticate(start["options"].clone());
    let (status, done) = post_json(
        &c,
        &csrf,
        "/t/default/login/verify/webauthn",
        json!({ "handle": start["handle"], "credential": assertion }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/t/default/");
    assert_eq!(
        session_methods(&app, &c).await,
        ["pwd", "hwk", "user", "mfa"]
    );
    // The ceremony is single use: replaying the same handle and assertion fails.
    let (status, _) = post_json(
        &c,
        &csrf,
        "/t/default/login/verify/webauthn",
        json!({ "handle": start["handle"], "credential": key.authenticate(start["options"].clone()) }),
    )
    .await;
    assert_ne!(status, StatusCode::OK);
}

/// The CSRF token of a page without a form (the data-csrf attribute).
fn c_token(page: &str) -> String {
    let start = page.find("data-csrf=\"").unwrap() + 11;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_signs_in_without_a_password() {
    let app = localhost_app().await;
    let b = super::signed_in(&app, "pia").await;
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "passkey", "Laptop").await;

    let c = app.browser();
    let page = c.get("/t/default/login").await.text().await.unwrap();
    assert!(
        page.contains("Sign in with a passkey")
            && page.contains("autocomplete=\"username webauthn\"")
    );
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let (status, start) = post_json(&c, &csrf, "/t/default/passkey/options", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{start}");
    assert_eq!(start["options"]["mediation"], "conditional", "autofill");
    let assertion = key.authenticate(start["options"].clone());
    let (status, done) = post_json(
        &c,
        &csrf,
        "/t/default/passkey",
        json!({ "handle": start["handle"], "credential": assertion, "return_to": "/t/default/account" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/t/default/account");
    assert_eq!(c.get("/t/default/account").await.status(), StatusCode::OK);
    assert_eq!(session_methods(&app, &c).await, ["hwk", "user", "mfa"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_origins_unknown_credentials_and_cloned_counters_are_refused() {
    let app = localhost_app().await;
    let b = super::signed_in(&app, "eve").await;
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "passkey", "Phone").await;
    let c = app.browser();
    let csrf = c.csrf("/t/default/login").await;
    let start_one = || async {
        let (status, start) = post_json(&c, &csrf, "/t/default/passkey/options", json!({})).await;
        assert_eq!(status, StatusCode::OK);
        start
    };
    let finish = |start: Value, credential: Value| {
        let (c, csrf) = (&c, &csrf);
        async move {
            post_json(
                c,
                csrf,
                "/t/default/passkey",
                json!({ "handle": start["handle"], "credential": credential }),
            )
            .await
        }
    };

    // The same authenticator on another origin (a subdomain, so the authenticator itself
    // signs for this relying party): the server refuses the origin.
    let mut phish = SoftKey {
        inner: SoftPasskey::new(true),
        origin: Url::parse("https://evil.localhost").unwrap(),
        credential: None,
    };
    std::mem::swap(&mut phish.inner, &mut key.inner);
    phish.credential = key.credential.clone();
    let start = start_one().await;
    let (status, body) = finish(start.clone(), phish.authenticate(start["options"].clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    std::mem::swap(&mut phish.inner, &mut key.inner);

    // A credential the server does not know (registered, then removed).
    let other = super::signed_in(&app, "other").await;
    let mut stranger = SoftKey::new(&app.base);
    register(&other, &mut stranger, "passkey", "Old phone").await;
    let tenant = app.tenant("default").await;
    let who = watchword::admin::users::find(&app.app.ctx, &tenant, "other")
        .await
        .unwrap()
        .unwrap();
    let (t, u) = (tenant.id, who.user.id);
    let rows = app
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::factors::credentials_of(c, t, u))
        .await
        .unwrap();
    let id = rows[0].id.clone();
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::factors::credential_delete(c, t, u, &id))
        .await
        .unwrap();
    let start = start_one().await;
    let (status, body) = finish(
        start.clone(),
        stranger.authenticate(start["options"].clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // A cloned authenticator: two assertions, the later counter first; the earlier is refused.
    let first = start_one().await;
    let second = start_one().await;
    let a1 = key.authenticate(first["options"].clone());
    let a2 = key.authenticate(second["options"].clone());
    let (status, body) = finish(second, a2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // (Signing in gave the browser a new CSRF token.)
    let csrf = c.csrf("/t/default/login").await;
    let (status, body) = post_json(
        &c,
        &csrf,
        "/t/default/passkey",
        json!({ "handle": first["handle"], "credential": a1 }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a counter that went back: {body}"
    );
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.outcome == "passkey_refused"));
    let _ = GOOD_PASSWORD;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_values_phr_asks_for_the_security_key() {
    use crate::common::oidc::{discover, register as register_client, rp};
    let app = localhost_app().await;
    let b = super::signed_in(&app, "phil").await; // password only
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "security_key", "Key").await;
    let client = rp(
        &discover(&app, "default").await,
        &register_client(&app, "default", "admin-console", |_| {}).await,
    );
    let (at, p) = super::stepup::authorize(&b, &client, Some("phr"), false).await;
    assert!(at.ends_with("/t/default/login/verify"), "{at}");
    let page = b.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(
        !page.contains("Code from your authenticator app"),
        "phishing-resistant: only WebAuthn is offered"
    );
    let csrf = c_token(&page);
    let (_, start) = post_json(
        &b,
        &csrf,
        "/t/default/login/verify/webauthn/options",
        json!({}),
    )
    .await;
    let (status, done) = post_json(
        &b,
        &csrf,
        "/t/default/login/verify/webauthn",
        json!({ "handle": start["handle"], "credential": key.authenticate(start["options"].clone()) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let back = super::stepup::follow(&b, &b.url(done["redirect"].as_str().unwrap())).await;
    let claims = super::stepup::id_claims(&client, &back, p).await;
    assert_eq!(claims["acr"], "phr");
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]));
}

/// Users rename their keys (CSRF-protected, audited, someone else's key untouched, an empty
/// name refused), and after adding one, where the tenant allows several sessions, they are
/// offered to sign out their other sessions, which the offer's button does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_renamed_and_a_new_key_offers_to_end_other_sessions() {
    use watchword::domain::session::SessionLimit;
    let app = localhost_app().await;
    crate::sessions::set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = SessionLimit::Max(3)
    })
    .await;
    let b = super::signed_in(&app, "ren").await;
    let elsewhere = app.browser();
    assert_eq!(password(&elsewhere, "ren").await, "/t/default/");
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "security_key", "Old name").await;

    // The page after the change offers to end the other session.
    let page = b
        .get("/t/default/account/security?done=key")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign out everywhere else"), "{page}");
    let id = page
        .split("/t/default/account/webauthn/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let rename = format!("/t/default/account/webauthn/{id}/rename");

    let res = b
        .post_form(&rename, &[("csrf_token", "forged"), ("name", "Stolen")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b
        .post_form(&rename, &[("csrf_token", &csrf), ("name", "   ")])
        .await;
    assert!(location(&res).ends_with("done=key-not-renamed"));
    let res = b
        .post_form(
            &rename,
            &[("csrf_token", &csrf), ("name", " Blue YubiKey ")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("done=key-renamed"));
    let page = b.get(&location(&res)).await.text().await.unwrap();
    assert!(
        page.contains("Blue YubiKey") && !page.contains("Old name"),
        "{page}"
    );
    assert!(
        !page.contains("Sign out everywhere else"),
        "a new name is no reason to end sessions"
    );
    // Another user cannot rename it.
    let other = super::signed_in(&app, "eve").await;
    let csrf_eve = other.csrf("/t/default/account/security").await;
    let res = other
        .post_form(&rename, &[("csrf_token", &csrf_eve), ("name", "Mine now")])
        .await;
    assert!(location(&res).ends_with("done=key-not-renamed"));
    let page = b
        .get("/t/default/account/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Blue YubiKey"));
    let renamed: Vec<_> = app
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "factor_renamed")
        .collect();
    assert_eq!(renamed.len(), 1);

    // The offer's button signs the other browser out.
    let res = b
        .post_form(
            "/t/default/account/sessions/end-others",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        elsewhere.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(b.get("/t/default/").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_ceremony_finishes_only_in_the_tenant_that_started_it() {
    let app = localhost_app().await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let b = super::signed_in(&app, "tess").await;
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "passkey", "Laptop").await;

    // Started in another tenant (one relying party serves every tenant), finished here.
    let c = app.browser();
    let csrf = c.csrf("/t/other/login").await;
    let (status, start) = post_json(&c, &csrf, "/t/other/passkey/options", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{start}");
    let assertion = key.authenticate(start["options"].clone());
    let (status, done) = post_json(
        &c,
        &csrf,
        "/t/default/passkey",
        json!({ "handle": start["handle"], "credential": assertion }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{done}");
    assert_eq!(
        c.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_cannot_skip_the_security_key() {
    let sink = crate::common::smtp::SmtpSink::start();
    let app = TestApp::builder()
        .localhost()
        .tweak(crate::mail::smtp_to(sink.port))
        .start()
        .await;
    let b = super::signed_in(&app, "rae").await;
    let mut key = SoftKey::new(&app.base);
    register(&b, &mut key, "security_key", "Rae's key").await;
    crate::mail::verify_address(&app, "rae").await;

    // Whoever reads Rae's mail uses the reset link...
    let other = app.browser();
    let csrf = other.csrf("/t/default/password/forgot").await;
    other
        .post_form(
            "/t/default/password/forgot",
            &[("csrf_token", &csrf), ("identifier", "rae")],
        )
        .await;
    let got = crate::mail::mail_to(&app, &sink, "rae@", 1).await;
    let url = crate::common::smtp::link(&got[0].text).expect("a reset link");
    let page = other
        .get(&url[url.find("/t/").unwrap()..])
        .await
        .text()
        .await
        .unwrap();
    let res = other
        .post_form(
            "/t/default/password/reset",
            &[
                ("csrf_token", &hidden_field(&page, "csrf_token").unwrap()),
                ("token", &hidden_field(&page, "token").unwrap()),
            ],
        )
        .await;
    assert_eq!(location(&res), "/t/default/login/verify");

    // ...and is stopped at the security key: no new-password page, no code accepted instead.
    let res = other.get("/t/default/password/new").await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let page = other
        .get("/t/default/login/verify")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Use your security key or passkey"), "{page}");
    assert!(!page.contains("authenticator app"), "{page}");
    let csrf = c_token(&page);
    let res = other
        .post_form(
            "/t/default/login/verify",
            &[
                ("csrf_token", &csrf),
                ("method", "totp"),
                ("code", "123456"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.browser()
            .sign_in("default", "rae", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );

    // With the key (the owner, on a new device), the reset goes on to the new password.
    let (status, start) = post_json(
        &other,
        &csrf,
        "/t/default/login/verify/webauthn/options",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{start}");
    let assertion = key.authenticate(start["options"].clone());
    let (status, done) = post_json(
        &other,
        &csrf,
        "/t/default/login/verify/webauthn",
        json!({ "handle": start["handle"], "credential": assertion }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/t/default/password/new");
    assert_eq!(
        other.get("/t/default/password/new").await.status(),
        StatusCode::OK
    );
}
