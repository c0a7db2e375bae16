//! Multi-factor sign-in: TOTP, WebAuthn security keys and passkeys (a software authenticator),
//! recovery codes, the per-tenant policy, and step-up through the OpenID Connect flow.

mod browser;
mod changes;
mod stepup;
mod totp;
mod webauthn;

use chrono::Duration;
use reqwest::StatusCode;
use watchword::clock::Clock;
use watchword::domain::audit::Actor;
use watchword::domain::mfa::MfaMode;

use crate::common::browser::location;
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

/// Sets the tenant's MFA mode.
pub async fn set_mfa(app: &TestApp, mode: MfaMode) {
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.mfa.mode = mode;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
}

/// The authenticator-app key shown on a set-up page.
pub fn manual_key(page: &str) -> String {
    let start = page
        .find("Or type this key: <code>")
        .expect("a key on the page")
        + 24;
    let end = page[start..].find("</code>").unwrap() + start;
    page[start..end].replace(' ', "")
}

/// The code the app shows now (moving the clock to the next step first, so codes never repeat).
pub fn next_code(app: &TestApp, seed: &str) -> String {
    app.clock.advance(Duration::seconds(30));
    watchword::auth::mfa::totp::code_at(seed, app.clock.unix()).unwrap()
}

/// Sets up an authenticator app for the signed-in `browser`; returns its seed.
pub async fn enrol_totp(app: &TestApp, browser: &Browser) -> String {
    let res = browser.get("/t/default/account/totp").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", location(&res));
    let page = res.text().await.unwrap();
    assert!(page.contains("data:image/png;base64,"), "a QR code");
    let seed = manual_key(&page);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = browser
        .post_form(
            "/t/default/account/totp",
            &[("csrf_token", &csrf), ("code", &next_code(app, &seed))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("/account/security?done=totp"));
    seed
}

/// Signs `browser` in with the password; returns where the sign-in goes next.
pub async fn password(browser: &Browser, user: &str) -> String {
    let res = browser.sign_in("default", user, GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res)
}

/// Submits the second-factor form with `method` (`totp` or `recovery`).
pub async fn second_factor(browser: &Browser, method: &str, code: &str) -> reqwest::Response {
    let csrf = browser.csrf("/t/default/login/verify").await;
    browser
        .post_form(
            "/t/default/login/verify",
            &[("csrf_token", &csrf), ("method", method), ("code", code)],
        )
        .await
}

/// A user signed in with a password only (no factors yet).
pub async fn signed_in(app: &TestApp, user: &str) -> Browser {
    app.create_user("default", user, GOOD_PASSWORD).await;
    let b = app.browser();
    assert_eq!(password(&b, user).await, "/t/default/");
    b
}

/// The `amr` of the browser's session, as the session record has it.
pub async fn session_methods(app: &TestApp, browser: &Browser) -> Vec<String> {
    let status: serde_json::Value = browser
        .get("/t/default/session/status")
        .await
        .json()
        .await
        .unwrap();
    let sid = status["sid"].as_str().expect("signed in").to_owned();
    let found = watchword::auth::sessions::Sessions::new(
        app.app.ctx.store.clone(),
        app.app.ctx.clock.clone(),
    )
    .find_by_sid(&sid)
    .await
    .unwrap()
    .unwrap();
    watchword::domain::session::amr_claim(&found.record.amr)
}
