//! Codes by mail as a second factor (`mfa.email_code`), through the hosted pages with the code
//! read from a real SMTP server: offered only where the tenant allows it (`fallback`: only to
//! users without an app or key), a code finishes only the sign-in it was sent for, works once,
//! expires, is throttled (sending and guessing), and never confirms a password reset.

use reqwest::StatusCode;
use watchword::auth::mfa::email_code::{CODES_PER_HOUR, redeem};
use watchword::domain::mfa::{EmailCodeMode, MfaMode};

use super::{mail_to, smtp_to, verify_address};
use crate::common::browser::location;
use crate::common::smtp::SmtpSink;
use crate::common::{Browser, GOOD_PASSWORD, TestApp};

async fn set_policy(app: &TestApp, mode: MfaMode, email_code: EmailCodeMode) {
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.mfa.mode = mode;
    policy.mfa.email_code = email_code;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
}

/// Asks for a code on the second-factor page; the response.
async fn ask_for_code(browser: &Browser) -> reqwest::Response {
    let csrf = browser.csrf("/t/default/login/verify").await;
    browser
        .post_form(
            "/t/default/login/verify/email-code",
            &[("csrf_token", &csrf)],
        )
        .await
}

/// The code of the newest message to `to` (codes seen before are in `seen`, which gets it).
async fn new_code(app: &TestApp, sink: &SmtpSink, to: &str, seen: &mut Vec<String>) -> String {
    let got = mail_to(app, sink, to, seen.len() + 1).await;
    assert_eq!(got.len(), seen.len() + 1, "one more message to {to}");
    let codes: Vec<String> = got
        .iter()
        .map(|m| {
            assert_eq!(m.subject, "Default: your sign-in code");
            m.text
                .lines()
                .map(str::trim)
                .find(|l| l.len() == 9 && l.as_bytes()[4] == b' ')
                .expect("a code in the message")
                .replace(' ', "")
        })
        .collect();
    let new = codes
        .into_iter()
        .find(|c| !seen.contains(c))
        .expect("a new code");
    seen.push(new.clone());
    new
}

async fn password_step(app: &TestApp, user: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in("default", user, GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/login/verify");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_a_second_factor_is_required_a_user_without_one_proves_a_code_by_mail() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_policy(&app, MfaMode::Required, EmailCodeMode::Fallback).await;
    app.create_user("default", "ann", GOOD_PASSWORD).await;
    verify_address(&app, "ann").await;

    // No enrolment: the page offers a code to the masked address.
    let b = password_step(&app, "ann").await;
    let page = b.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(page.contains("Send a code to a***@example.test"), "{page}");
    assert!(!page.contains("ann@example.test"), "the address is masked");
    let res = ask_for_code(&b).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("We sent a code to a***@example.test"),
        "{page}"
    );
    let code = new_code(&app, &sink, "ann@", &mut Vec::new()).await;

    // A wrong code is refused; the right one signs in, with a second factor in the session.
    let res = crate::mfa::second_factor(&b, "email", "12345678").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res =
        crate::mfa::second_factor(&b, "email", &format!("{} {}", &code[..4], &code[4..])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "spaces are ignored");
    assert_eq!(location(&res), "/t/default/");
    let account = b.get("/t/default/account").await;
    assert_eq!(account.status(), StatusCode::OK);
    // Proven just now, so the user may set up an app of their own at once.
    assert_eq!(
        b.get("/t/default/account/totp").await.status(),
        StatusCode::OK
    );

    // The code is spent: another sign-in cannot use it.
    let other = password_step(&app, "ann").await;
    let res = crate::mfa::second_factor(&other, "email", &code).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_only_for_its_sign_in_once_and_not_after_ten_minutes() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_policy(&app, MfaMode::Required, EmailCodeMode::Fallback).await;
    app.create_user("default", "bo", GOOD_PASSWORD).await;
    verify_address(&app, "bo").await;

    // The attacker knows the password and reads nothing; the owner's sign-in gets a code.
    let owner = password_step(&app, "bo").await;
    let attacker = password_step(&app, "bo").await;
    let mut seen = Vec::new();
    ask_for_code(&owner).await;
    let code = new_code(&app, &sink, "bo@", &mut seen).await;
    let res = crate::mfa::second_factor(&attacker, "email", &code).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "bound to the sign-in it was sent for"
    );
    // A newer code replaces the older one.
    ask_for_code(&owner).await;
    new_code(&app, &sink, "bo@", &mut seen).await;
    let res = crate::mfa::second_factor(&owner, "email", &code).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "replaced");

    // Expiry, judged by the injected clock (the pending sign-in itself lasts as long, so the
    // engine is asked directly).
    ask_for_code(&owner).await;
    let latest = new_code(&app, &sink, "bo@", &mut seen).await;
    let pending = owner.cookie("ww-signin-default").unwrap();
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, "bo")
        .await
        .unwrap()
        .unwrap()
        .user;
    app.clock
        .advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    assert!(
        !redeem(&app.app.ctx, &tenant, &user, &pending, &latest)
            .await
            .unwrap()
    );
    app.clock.advance(chrono::Duration::minutes(-10));
    assert!(
        redeem(&app.app.ctx, &tenant, &user, &pending, &latest)
            .await
            .unwrap(),
        "within ten minutes it works"
    );
    assert!(
        !redeem(&app.app.ctx, &tenant, &user, &pending, &latest)
            .await
            .unwrap(),
        "once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_and_guessing_are_throttled() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_policy(&app, MfaMode::Required, EmailCodeMode::Fallback).await;
    app.create_user("default", "cy", GOOD_PASSWORD).await;
    verify_address(&app, "cy").await;
    let b = password_step(&app, "cy").await;

    // A burst of requests for codes sends at most the hourly limit.
    let burst = (0..CODES_PER_HOUR + 4).map(|_| ask_for_code(&b));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(burst)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let sent = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (sent, refused),
        (CODES_PER_HOUR as usize, 4),
        "{statuses:?}"
    );
    let got = super::mail_to(&app, &sink, "cy@", CODES_PER_HOUR as usize + 1).await;
    assert_eq!(got.len(), CODES_PER_HOUR as usize);

    // Guessing: wrong codes are throttled like any second factor.
    let mut status = StatusCode::OK;
    for i in 0..30 {
        status = crate::mfa::second_factor(&b, "email", &format!("{:08}", i))
            .await
            .status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_offered_only_as_the_tenant_allows() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    // A user with an authenticator app and a verified address.
    let browser = crate::mfa::signed_in(&app, "dee").await;
    crate::mfa::enrol_totp(&app, &browser).await;
    verify_address(&app, "dee").await;
    // And one without anything, whose address is not verified.
    app.create_user("default", "eve", GOOD_PASSWORD).await;

    let offered = |page: &str| page.contains("Send a code to");
    // `off` (the default) and `fallback`: Dee has an app, so no code by mail.
    for mode in [EmailCodeMode::Off, EmailCodeMode::Fallback] {
        set_policy(&app, MfaMode::Optional, mode).await;
        let b = password_step(&app, "dee").await;
        let page = b.get("/t/default/login/verify").await.text().await.unwrap();
        assert!(!offered(&page), "{mode:?}");
        assert_eq!(
            ask_for_code(&b).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let res = crate::mfa::second_factor(&b, "email", "12345678").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // `allowed`: next to the app.
    set_policy(&app, MfaMode::Optional, EmailCodeMode::Allowed).await;
    let b = password_step(&app, "dee").await;
    let page = b.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(
        offered(&page) && page.contains("authenticator app"),
        "{page}"
    );

    // Without a verified address nothing is offered: a required factor is set up instead.
    set_policy(&app, MfaMode::Required, EmailCodeMode::Allowed).await;
    let res = app.browser().sign_in("default", "eve", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    // `off`: a user without a factor sets one up even with a verified address.
    verify_address(&app, "eve").await;
    set_policy(&app, MfaMode::Required, EmailCodeMode::Off).await;
    let res = app.browser().sign_in("default", "eve", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    assert!(sink.received().is_empty(), "no code was ever sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_is_never_confirmed_by_a_code_by_mail() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_policy(&app, MfaMode::Optional, EmailCodeMode::Allowed).await;
    let browser = crate::mfa::signed_in(&app, "fay").await;
    crate::mfa::enrol_totp(&app, &browser).await;
    verify_address(&app, "fay").await;

    // Whoever reads Fay's mail gets the reset link; the second factor must be something else.
    let attacker = app.browser();
    let csrf = attacker.csrf("/t/default/password/forgot").await;
    attacker
        .post_form(
            "/t/default/password/forgot",
            &[("csrf_token", &csrf), ("identifier", "fay")],
        )
        .await;
    let url = crate::common::smtp::link(&mail_to(&app, &sink, "fay@", 1).await[0].text).unwrap();
    let path = &url[url.find("/t/").unwrap()..];
    let page = attacker.get(path).await.text().await.unwrap();
    let token = crate::common::hidden_field(&page, "token").unwrap();
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let res = attacker
        .post_form(
            "/t/default/password/reset",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let page = attacker
        .get("/t/default/login/verify")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Send a code to"), "{page}");
    assert_eq!(
        ask_for_code(&attacker).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        mail_to(&app, &sink, "fay@", 2).await.len(),
        1,
        "no code sent"
    );
    let res = crate::mfa::second_factor(&attacker, "email", "12345678").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        attacker.get("/t/default/password/new").await.status(),
        StatusCode::SEE_OTHER,
        "still at the second factor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_code_finishes_the_sign_in_exactly_once() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_policy(&app, MfaMode::Required, EmailCodeMode::Fallback).await;
    app.create_user("default", "bo", GOOD_PASSWORD).await;
    verify_address(&app, "bo").await;
    let b = password_step(&app, "bo").await;
    assert_eq!(ask_for_code(&b).await.status(), StatusCode::OK);
    let code = new_code(&app, &sink, "bo@", &mut Vec::new()).await;
    // Eight redemptions of the same code for the same pending sign-in at once.
    let csrf = b.csrf("/t/default/login/verify").await;
    let url = b.url("/t/default/login/verify");
    let sends = (0..8).map(|_| {
        b.client
            .post(&url)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("method", "email"),
                ("code", code.as_str()),
            ])
            .send()
    });
    let answers = futures_util::future::join_all(sends).await;
    let signed_in = answers
        .iter()
        .filter(|r| {
            let r = r.as_ref().unwrap();
            r.status() == StatusCode::SEE_OTHER && location(r) == "/t/default/"
        })
        .count();
    assert_eq!(signed_in, 1, "one session from one code");
    assert!(
        answers
            .iter()
            .all(|r| !r.as_ref().unwrap().status().is_server_error()),
        "no 5xx"
    );
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, "bo")
        .await
        .unwrap()
        .unwrap()
        .user;
    let live = watchword::admin::sessions::list(&app.app.ctx, &tenant, user.id)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "exactly one session exists");
}
