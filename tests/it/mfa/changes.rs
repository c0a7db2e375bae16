//! Changing second factors from a signed-in session (`auth::mfa::changes`): a first factor needs
//! a recent password, other changes a recent second factor; nothing is added while second
//! factors are off; the last factor a tenant requires cannot be removed.

use chrono::Duration;
use reqwest::StatusCode;
use watchword::domain::mfa::MfaMode;

use super::{enrol_totp, next_code, second_factor, set_mfa, signed_in};
use crate::common::browser::location;
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

const STEP_UP: &str =
    "/t/default/login/verify?step_up=mfa&return_to=%2Ft%2Fdefault%2Faccount%2Fsecurity";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_alone_cannot_add_a_first_factor() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "stan").await; // no factor
    // An old session (a stolen cookie, say): no authenticator app, no security key or passkey.
    app.clock.advance(Duration::minutes(11));
    let res = b.get("/t/default/account/totp").await;
    assert_eq!(location(&res), STEP_UP);
    let csrf = b.csrf("/t/default/account/security").await;
    let options: serde_json::Value = b
        .client
        .post(b.url("/t/default/account/webauthn/options"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({ "kind": "passkey" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options["redirect"], STEP_UP, "{options}");
    let res = b
        .post_form("/t/default/account/recovery", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(location(&res), STEP_UP);

    // The step-up asks for the password, then the factor is set up.
    let res = b.get(STEP_UP).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let res = second_factor(&b, "password", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    let page = b.get("/t/default/login/enrol").await.text().await.unwrap();
    let seed = super::manual_key(&page);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", &next_code(&app, &seed))],
        )
        .await;
    assert_eq!(location(&res), "/t/default/account/security");
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "factor_added"));
    // Re-entering the password was a new authentication: the session is fresh again.
    assert_eq!(
        b.get("/t/default/account/security").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_added_while_second_factors_are_off() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "otto").await;
    set_mfa(&app, MfaMode::Off).await;
    // No step-up (where a passkey could be registered during set-up).
    let res = b
        .get("/t/default/login/verify?step_up=mfa&return_to=/t/default/")
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.cookie("ww-signin-default").is_none());
    // No set-up page, no key registration.
    let res = b.get("/t/default/account/totp").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let csrf = b.csrf("/t/default/account").await;
    let res = b
        .client
        .post(b.url("/t/default/account/webauthn/options"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({ "kind": "passkey" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_required_factor_cannot_be_removed() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "rita").await;
    let seed = enrol_totp(&app, &b).await;
    set_mfa(&app, MfaMode::Required).await;
    let page = b
        .get("/t/default/account/security")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form("/t/default/account/totp/remove", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("requires a second factor")
    );
    // Where it is optional, it can be removed (after confirming it).
    set_mfa(&app, MfaMode::Optional).await;
    let res = b
        .post_form("/t/default/account/totp/remove", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(location(&res), STEP_UP);
    b.get(STEP_UP).await;
    let res = second_factor(&b, "totp", &next_code(&app, &seed)).await;
    assert_eq!(location(&res), "/t/default/account/security");
    let csrf = b.csrf("/t/default/account/security").await;
    let res = b
        .post_form("/t/default/account/totp/remove", &[("csrf_token", &csrf)])
        .await;
    assert!(
        location(&res).ends_with("done=totp-removed"),
        "{}",
        location(&res)
    );
}
