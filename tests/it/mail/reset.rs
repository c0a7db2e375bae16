//! "Forgot your password?" end to end through the hosted pages, with the link read from a real
//! SMTP server: no enumeration (same status, body and timing), links only to verified addresses,
//! the second factor is never skipped, a reset ends every session and revokes every grant
//! (offline ones too) and sends a notice, links are single-use, expire, stay in their tenant,
//! and requests are throttled per account and per address.

use std::time::{Duration, Instant};

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use watchword::mail::worker;
use watchword::recovery::{LINKS_PER_HOUR, REQUESTS_PER_HOUR_PER_ADDRESS};

use super::{mail_to, smtp_to, verify_address};
use crate::common::browser::location;
use crate::common::oidc::{http, plain_client};
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

const NEW_PASSWORD: &str = "a brand new passphrase for ann";

/// Posts "Forgot your password?" for `identifier`; the response.
async fn forgot(browser: &Browser, identifier: &str) -> reqwest::Response {
    let csrf = browser.csrf("/t/default/password/forgot").await;
    browser
        .post_form(
            "/t/default/password/forgot",
            &[("csrf_token", &csrf), ("identifier", identifier)],
        )
        .await
}

/// Presses the button of a reset link in `browser`; the response.
async fn use_link(browser: &Browser, url: &str) -> reqwest::Response {
    let path = &url[url.find("/t/").unwrap()..];
    let page = browser.get(path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let token = hidden_field(&html, "token").expect("a button");
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    browser
        .post_form(
            "/t/default/password/reset",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await
}

async fn set_new(browser: &Browser, password: &str, confirm: &str) -> reqwest::Response {
    // Any page's token will do (they are bound to the browser's CSRF cookie, not to a page).
    let csrf = browser.csrf("/t/default/password/forgot").await;
    browser
        .post_form(
            "/t/default/password/new",
            &[
                ("csrf_token", &csrf),
                ("password", password),
                ("confirm", confirm),
            ],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_sets_the_password_ends_every_session_and_grant_and_sends_a_notice() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    // Ann is signed in with an application holding an offline refresh token.
    let s = crate::oidc::flow::sign_in(&app, "ann", "app", &["offline_access"], |_| {}).await;
    verify_address(&app, "ann").await;
    let refresh = s.tokens.refresh_token().unwrap().clone();

    let stranger = app.browser();
    let res = forgot(&stranger, "ann").await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = mail_to(&app, &sink, "ann@", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "Default: reset your password");
    let url = link(&got[0].text).unwrap();

    // No second factor: straight to the new password.
    let res = use_link(&stranger, &url).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/password/new");
    let res = set_new(&stranger, NEW_PASSWORD, "something else").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = set_new(&stranger, "short", "short").await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the tenant's policy applies"
    );
    let res = set_new(&stranger, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/login?reason=password_reset");

    // Every session ended, every grant revoked (offline too), the old password is gone.
    let res = s.browser.get("/t/default/account").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "Ann's old session is signed out"
    );
    let h = plain_client();
    let refreshed = s
        .client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&|r| http(h.clone(), r))
        .await;
    assert!(refreshed.is_err(), "the offline grant is revoked");
    let b = app.browser();
    let res = b.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_ne!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old password fails"
    );
    let res = b.sign_in("default", "ann", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The notice, the audit trail, and the link is spent (so is the pending reset).
    let got = mail_to(&app, &sink, "ann@", 2).await;
    assert!(
        got.iter()
            .any(|m| m.subject == "Default: your password was changed")
    );
    let audit = app.audit("default").await;
    for action in [
        "password_reset_requested",
        "password_reset",
        "user_password_set",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    let res = use_link(&app.browser(), &url).await;
    assert_eq!(res.status(), StatusCode::GONE);
    let res = set_new(
        &stranger,
        "another new passphrase!",
        "another new passphrase!",
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).contains("reason=expired"),
        "{}",
        location(&res)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_cannot_skip_the_second_factor() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    let browser = crate::mfa::signed_in(&app, "bea").await;
    let seed = crate::mfa::enrol_totp(&app, &browser).await;
    verify_address(&app, "bea").await;

    let attacker = app.browser();
    forgot(&attacker, "bea").await;
    let url = link(&mail_to(&app, &sink, "bea@", 1).await[0].text).unwrap();
    let res = use_link(&attacker, &url).await;
    assert_eq!(location(&res), "/t/default/login/verify");

    // Holding the link is not enough: the new-password page and its form send back to the
    // second factor.
    let res = attacker.get("/t/default/password/new").await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let res = set_new(&attacker, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let page = attacker
        .get("/t/default/login/verify")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("reset your password"), "{page}");
    let res = crate::mfa::second_factor(&attacker, "totp", "000000").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "bea", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );

    // With the second factor, the reset goes on; it never signs anyone in by itself.
    let res =
        crate::mfa::second_factor(&attacker, "totp", &crate::mfa::next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/password/new");
    assert!(attacker.get("/t/default/account").await.status() == StatusCode::SEE_OTHER);
    let res = set_new(&attacker, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login?reason=password_reset");
    assert_eq!(
        app.browser()
            .sign_in("default", "bea", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_tells_nothing_about_the_account() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "cid", GOOD_PASSWORD).await;
    verify_address(&app, "cid").await;
    app.create_user("default", "dee", GOOD_PASSWORD).await; // address not verified

    let b = app.browser();
    let mut bodies = Vec::new();
    let mut timings: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for round in 0..6 {
        for (i, who) in ["cid", "dee", "nobody-at-all"].iter().enumerate() {
            let started = Instant::now();
            let res = forgot(&b, who).await;
            timings[i].push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(res.status(), StatusCode::OK);
            let body = res.text().await.unwrap();
            if round == 0 {
                bodies.push(body);
            }
        }
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0], bodies[2]);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = timings.iter_mut().map(median).collect();
    let spread =
        m.iter().cloned().fold(f64::MIN, f64::max) - m.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread < 25.0,
        "median answer times (ms) differ too much: {m:?}"
    );

    // Only the account with a verified address got links (the per-account limit: 3 an hour).
    let got = mail_to(&app, &sink, "cid@", LINKS_PER_HOUR as usize).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker::deliver_due(&app.app.ctx).await;
    assert_eq!(sink.received().len(), LINKS_PER_HOUR as usize, "{got:?}");
    assert!(sink.received().iter().all(|m| m.to.contains("cid@")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_expire_stay_in_their_tenant_and_requests_are_throttled_per_address() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "eli", GOOD_PASSWORD).await;
    verify_address(&app, "eli").await;
    let b = app.browser();
    forgot(&b, "eli").await;
    let url = link(&mail_to(&app, &sink, "eli@", 1).await[0].text).unwrap();

    // Another tenant's path: not valid there, and nothing consumed.
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let token = url.split("token=").nth(1).unwrap();
    let other = app.browser();
    let csrf = other.csrf("/t/other/password/forgot").await;
    let res = other
        .post_form(
            "/t/other/password/reset",
            &[("csrf_token", &csrf), ("token", token)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Expired after 30 minutes (the injected clock).
    app.clock
        .advance(chrono::Duration::minutes(30) + chrono::Duration::seconds(1));
    let res = use_link(&app.browser(), &url).await;
    assert_eq!(res.status(), StatusCode::GONE);
    // Tampered.
    let res = use_link(&app.browser(), &format!("{url}x")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Per address: the requests beyond the hourly limit are refused (429), for any name. (Start
    // at a fresh hour: the counter is per clock hour.)
    let now = app.app.ctx.clock.unix();
    app.clock
        .advance(chrono::Duration::seconds(3600 - now.rem_euclid(3600) + 1));
    let b = app.browser();
    let mut refused = 0;
    for i in 0..(REQUESTS_PER_HOUR_PER_ADDRESS + 3) {
        if forgot(&b, &format!("someone{i}")).await.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(refused, 3);
}
