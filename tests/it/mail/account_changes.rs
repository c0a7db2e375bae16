//! Changing the password and the e-mail address from the account page, end to end through the
//! hosted pages with mail read from a real SMTP server: the current password is checked and
//! throttled; a user with a second factor proves it recently first (step-up, back to the form);
//! a new password revokes every grant (offline ones too) and ends every other session, this
//! browser's as the person chooses, and sends a notice; a new address gets a single-use link and
//! replaces the old one only when it is used (verified, the old verified address told), an
//! address in use is answered the same and told by mail, and links are single-use under bursts,
//! expire, stay in their tenant and change nothing once the address changed otherwise.

use std::time::Duration;

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use watchword::auth::email_change::LINKS_PER_HOUR;
use watchword::domain::audit::Actor;
use watchword::domain::session::SessionLimit;
use watchword::mail::worker;

use super::{mail_to, smtp_to, verify_address};
use crate::common::browser::location;
use crate::common::oidc::{http, plain_client};
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

const NEW_PASSWORD: &str = "a brand new passphrase for the account";

async fn user(app: &TestApp, name: &str) -> watchword::domain::user::User {
    let tenant = app.tenant("default").await;
    watchword::admin::users::find(&app.app.ctx, &tenant, name)
        .await
        .unwrap()
        .unwrap()
        .user
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", name, GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    b
}

/// Posts the change-password form (`keep`: "keep me signed in on this browser").
async fn change_password(b: &Browser, current: &str, new: &str, keep: bool) -> reqwest::Response {
    let csrf = b.csrf("/t/default/account").await;
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("current", current),
        ("password", new),
    ];
    if keep {
        fields.push(("keep", "1"));
    }
    b.post_form("/t/default/account/password", &fields).await
}

/// Posts the change-address form.
async fn change_email(b: &Browser, address: &str) -> reqwest::Response {
    let csrf = b.csrf("/t/default/account").await;
    b.post_form(
        "/t/default/account/email",
        &[("csrf_token", &csrf), ("email", address)],
    )
    .await
}

/// Opens a change link in `browser` and presses its button; the status and page.
async fn use_link(browser: &Browser, url: &str) -> (StatusCode, String) {
    let path = &url[url.find("/t/").unwrap()..];
    let page = browser.get(path).await;
    assert_eq!(page.status(), StatusCode::OK, "opening shows a button");
    let html = page.text().await.unwrap();
    let token = hidden_field(&html, "token").expect("the page carries the token");
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    let action = path.split('?').next().unwrap();
    let res = browser
        .post_form(action, &[("csrf_token", &csrf), ("token", &token)])
        .await;
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn audited(audit: &[watchword::storage::audit::AuditRow], action: &str, outcome: &str) -> bool {
    audit
        .iter()
        .any(|e| e.action == action && e.outcome == outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_current_password_is_refused_and_throttled() {
    let app = TestApp::start().await;
    app.create_user("default", "wes", GOOD_PASSWORD).await;
    let b = signed_in(&app, "wes").await;
    let page = b.get("/t/default/account/password").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Keep me signed in") && page.contains("checked"));

    let res = change_password(&b, "not my password", NEW_PASSWORD, true).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("current password is not right")
    );
    // The policy applies to the new one (checked before the current one costs an attempt).
    let res = change_password(&b, GOOD_PASSWORD, "short", true).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Guessing is throttled (the second-factor counter of the user and address: waits after
    // three failures), and a throttled attempt is not evaluated, even with the right password.
    let mut throttled = false;
    for _ in 0..10 {
        let res = change_password(&b, "still not it", NEW_PASSWORD, true).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(throttled, "wrong passwords are throttled");
    let res = change_password(&b, GOOD_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("wait"));
    let audit = app.audit("default").await;
    assert!(audited(&audit, "password_changed", "failure"));
    assert!(audited(&audit, "password_changed", "throttled"));
    assert!(!audited(&audit, "password_changed", "success"));
    // Nothing changed.
    assert_eq!(
        app.browser()
            .sign_in("default", "wes", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_a_second_factor_proves_it_recently_first() {
    let app = TestApp::start().await;
    let b = crate::mfa::signed_in(&app, "tia").await;
    let seed = crate::mfa::enrol_totp(&app, &b).await;
    // This session proved the password only: both forms send it to a step-up and back.
    let step_up_password =
        "/t/default/login/verify?step_up=mfa&return_to=%2Ft%2Fdefault%2Faccount%2Fpassword";
    let step_up_email =
        "/t/default/login/verify?step_up=mfa&return_to=%2Ft%2Fdefault%2Faccount%2Femail";
    let res = b.get("/t/default/account/password").await;
    assert_eq!(location(&res), step_up_password);
    let res = change_password(&b, GOOD_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(location(&res), step_up_password, "the post is checked too");
    let res = b.get("/t/default/account/email").await;
    assert_eq!(location(&res), step_up_email);
    let res = change_email(&b, "tia@new.example").await;
    assert_eq!(location(&res), step_up_email);

    // The step-up proves the authenticator app and comes back to the form.
    let res = b.get(step_up_password).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let res = crate::mfa::second_factor(&b, "totp", &crate::mfa::next_code(&app, &seed)).await;
    assert_eq!(location(&res), "/t/default/account/password");
    assert_eq!(
        b.get("/t/default/account/password").await.status(),
        StatusCode::OK
    );
    let res = change_password(&b, GOOD_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(location(&res), "/t/default/account?done=password-changed");

    // Fresh for `mfa.fresh_for_secs` (600 s) only.
    assert_eq!(
        b.get("/t/default/account/email").await.status(),
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::seconds(601));
    assert_eq!(
        location(&b.get("/t/default/account/email").await),
        step_up_email
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_every_other_session_and_every_grant_and_sends_a_notice() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    crate::sessions::set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = SessionLimit::Max(3)
    })
    .await;
    // Ann is signed in here with an application holding an offline refresh token, and in
    // another browser.
    let s = crate::oidc::flow::sign_in(&app, "ann", "app", &["offline_access"], |_| {}).await;
    verify_address(&app, "ann").await;
    let refresh = s.tokens.refresh_token().unwrap().clone();
    let other = signed_in(&app, "ann").await;
    assert_eq!(
        other.get("/t/default/account").await.status(),
        StatusCode::OK
    );

    let res = change_password(&s.browser, GOOD_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/account?done=password-changed");
    // This browser stays signed in; the other one does not.
    let page = s.browser.get(&location(&res)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your password is changed")
    );
    let res = other.get("/t/default/account").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    // The offline grant (issued in this very browser) is revoked.
    let h = plain_client();
    let refreshed = s
        .client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&|r| http(h.clone(), r))
        .await;
    assert!(refreshed.is_err(), "the offline grant is revoked");
    // The old password is gone, the new one works.
    let b = app.browser();
    assert_ne!(
        b.sign_in("default", "ann", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        b.sign_in("default", "ann", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let got = mail_to(&app, &sink, "ann@", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].subject, "Default: your password was changed");
    let audit = app.audit("default").await;
    let event = audit
        .iter()
        .find(|e| e.action == "password_changed" && e.outcome == "success")
        .expect("audited");
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
    assert_eq!(details["sessions_ended"], 1, "{details}");
    assert_eq!(details["grants_revoked"], 1, "{details}");
    assert_eq!(details["this_session_kept"], true, "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keep_me_signed_in_this_browser_is_signed_out_too() {
    let app = TestApp::start().await;
    app.create_user("default", "kim", GOOD_PASSWORD).await;
    let b = signed_in(&app, "kim").await;
    let res = change_password(&b, GOOD_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&res), "/t/default/login?reason=password_changed");
    let res = b.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out");
    let page = b
        .get("/t/default/login?reason=password_changed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your password is changed"));
    assert_eq!(
        b.sign_in("default", "kim", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("default").await;
    let event = audit
        .iter()
        .find(|e| e.action == "password_changed" && e.outcome == "success")
        .unwrap();
    assert!(event.details.contains("\"this_session_kept\":false"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_changes_only_when_the_link_sent_to_it_is_used() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "nora", GOOD_PASSWORD).await;
    verify_address(&app, "nora").await;
    let b = signed_in(&app, "nora").await;
    let page = b.get("/t/default/account").await.text().await.unwrap();
    assert!(page.contains("/t/default/account/email"));
    assert_eq!(
        b.get("/t/default/account/email").await.status(),
        StatusCode::OK
    );
    let res = change_email(&b, "not an address").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = change_email(&b, "NORA@example.test").await;
    assert_eq!(location(&res), "/t/default/account?done=email-unchanged");

    let res = change_email(&b, "nora@new.example").await;
    assert_eq!(location(&res), "/t/default/account?done=email-sent");
    let got = mail_to(&app, &sink, "nora@new.example", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "Default: confirm your new e-mail address");
    let url = link(&got[0].text).unwrap();
    assert!(url.starts_with(&app.url("/t/default/email/change?token=")));
    // Until the link is used, the account keeps its address (verified), and opening the link
    // (as a mail scanner would) uses nothing.
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let stranger = app.browser();
    assert_eq!(
        stranger
            .get(&format!("/t/default/email/change?token={token}"))
            .await
            .status(),
        StatusCode::OK
    );
    let u = user(&app, "nora").await;
    assert_eq!(u.email.as_deref(), Some("nora@example.test"));
    assert!(u.email_verified);

    // The link works in any browser, once: the new address, verified.
    let (status, html) = use_link(&stranger, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Your address is changed"));
    let u = user(&app, "nora").await;
    assert_eq!(u.email.as_deref(), Some("nora@new.example"));
    assert!(u.email_verified);
    let (status, _) = use_link(&stranger, &url).await;
    assert_eq!(status, StatusCode::GONE, "used once");
    // The old (verified) address is told, without the whole new one.
    let got = mail_to(&app, &sink, "nora@example.test", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "Default: your e-mail address was changed");
    assert!(got[0].text.contains("n***@new.example"), "{}", got[0].text);
    assert!(!got[0].text.contains("nora@new.example"));
    // Signing in with the new address works; with the old one it does not.
    assert_eq!(
        app.browser()
            .sign_in("default", "nora@new.example", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_ne!(
        app.browser()
            .sign_in("default", "nora@example.test", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("default").await;
    assert!(audited(&audit, "email_change_requested", "success"));
    assert!(audited(&audit, "email_changed", "success"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_in_use_is_answered_the_same_and_told_by_mail() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "olga", GOOD_PASSWORD).await;
    let pete = app.create_user("default", "pete", GOOD_PASSWORD).await;
    let b = signed_in(&app, "olga").await;

    let taken = change_email(&b, "Pete@Example.test").await;
    let free = change_email(&b, "olga@new.example").await;
    assert_eq!(taken.status(), free.status());
    assert_eq!(location(&taken), location(&free));
    assert_eq!(location(&taken), "/t/default/account?done=email-sent");
    // To the address as typed.
    let to_pete = mail_to(&app, &sink, "Pete@Example.test", 1).await;
    assert_eq!(to_pete.len(), 1);
    assert_eq!(
        to_pete[0].subject,
        "Default: this address is already in use"
    );
    assert!(!to_pete[0].text.contains("/email/change"), "no link");
    assert!(!to_pete[0].text.contains("olga"), "nothing about who asked");
    assert_eq!(
        user(&app, "pete").await.email.as_deref(),
        Some("pete@example.test")
    );

    // Another account takes the new address between the request and the link's use: a clear
    // page, nothing changed, the link not used up.
    let url = link(&mail_to(&app, &sink, "olga@new.example", 1).await[0].text).unwrap();
    let tenant = app.tenant("default").await;
    watchword::admin::users::update_profile(
        &app.app.ctx,
        &tenant,
        &pete,
        Some("olga@new.example"),
        None,
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let (status, html) = use_link(&app.browser(), &url).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("Another account uses this address"));
    assert_eq!(
        user(&app, "olga").await.email.as_deref(),
        Some("olga@example.test")
    );
    // Once it is free again, the same link works.
    let pete = user(&app, "pete").await;
    watchword::admin::users::update_profile(
        &app.app.ctx,
        &tenant,
        &pete,
        Some("pete@example.test"),
        None,
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let (status, html) = use_link(&app.browser(), &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        user(&app, "olga").await.email.as_deref(),
        Some("olga@new.example")
    );
    // Olga's old address was never verified: no notice to it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker::deliver_due(&app.app.ctx).await;
    assert!(
        !sink
            .received()
            .iter()
            .any(|m| m.to.contains("olga@example.test")),
        "an unverified old address is not told"
    );
    let audit = app.audit("default").await;
    let requests: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "email_change_requested")
        .collect();
    assert!(
        requests
            .iter()
            .any(|e| e.details.contains("\"address_in_use\":true"))
    );
    assert!(audited(&audit, "email_changed", "address_in_use"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_links_expire_stay_in_their_tenant_and_follow_the_address() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    let quinn = app.create_user("default", "quinn", GOOD_PASSWORD).await;
    let b = signed_in(&app, "quinn").await;
    change_email(&b, "quinn@one.example").await;
    let url = link(&mail_to(&app, &sink, "quinn@one.example", 1).await[0].text).unwrap();
    let token = url.split("token=").nth(1).unwrap().to_owned();

    // Another tenant's path, a tampered token: not valid, nothing consumed.
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let (status, _) = use_link(
        &app.browser(),
        &app.url(&format!("/t/other/email/change?token={token}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = use_link(&app.browser(), &format!("{url}x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A link for another purpose (verifying the current address) is no change link.
    let csrf = b.csrf("/t/default/account").await;
    b.post_form("/t/default/account/email/verify", &[("csrf_token", &csrf)])
        .await;
    let verify = link(&mail_to(&app, &sink, "quinn@example.test", 1).await[0].text).unwrap();
    let verify_token = verify.split("token=").nth(1).unwrap();
    let (status, _) = use_link(
        &app.browser(),
        &app.url(&format!("/t/default/email/change?token={verify_token}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The address changed otherwise meanwhile (an operator): the link changes nothing.
    let tenant = app.tenant("default").await;
    watchword::admin::users::update_profile(
        &app.app.ctx,
        &tenant,
        &quinn,
        Some("quinn@operator.example"),
        None,
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let (status, html) = use_link(&app.browser(), &url).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert_eq!(
        user(&app, "quinn").await.email.as_deref(),
        Some("quinn@operator.example")
    );

    // Expiry (the injected clock): 24 hours. A new request, then a day passes.
    let res = change_email(&b, "quinn@two.example").await;
    assert_eq!(location(&res), "/t/default/account?done=email-sent");
    let url = link(&mail_to(&app, &sink, "quinn@two.example", 1).await[0].text).unwrap();
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let (status, _) = use_link(&app.browser(), &url).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        user(&app, "quinn").await.email.as_deref(),
        Some("quinn@operator.example")
    );

    // Per user and hour (the session timed out meanwhile: sign in again).
    let b = signed_in(&app, "quinn").await;
    for i in 0..LINKS_PER_HOUR {
        let res = change_email(&b, &format!("quinn{i}@three.example")).await;
        assert_eq!(location(&res), "/t/default/account?done=email-sent");
    }
    let res = change_email(&b, "quinn@four.example").await;
    assert_eq!(location(&res), "/t/default/account?done=email-throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_session_without_a_second_factor_signs_in_again_first() {
    let app = TestApp::start().await;
    app.create_user("default", "stu", GOOD_PASSWORD).await;
    let b = signed_in(&app, "stu").await;
    app.clock.advance(chrono::Duration::minutes(11));
    let back = "/t/default/login?return_to=%2Ft%2Fdefault%2Faccount%2Femail";
    assert_eq!(location(&b.get("/t/default/account/email").await), back);
    assert_eq!(location(&change_email(&b, "stu@new.example").await), back);
    // The password change needs no fresh sign-in: the form asks for the current password.
    assert_eq!(
        b.get("/t/default/account/password").await.status(),
        StatusCode::OK
    );
    // Signing in again in this browser (same session) makes it fresh.
    let res = b
        .sign_in_to("default", "stu", GOOD_PASSWORD, "/t/default/account/email")
        .await;
    assert_eq!(location(&res), "/t/default/account/email");
    assert_eq!(
        b.get("/t/default/account/email").await.status(),
        StatusCode::OK
    );
}

/// Ten parallel uses of one change link: the address changes once, the rest are told the link
/// is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_uses_of_one_change_link_changes_the_address_once() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "vic", GOOD_PASSWORD).await;
    verify_address(&app, "vic").await;
    let b = signed_in(&app, "vic").await;
    change_email(&b, "vic@new.example").await;
    let url = link(&mail_to(&app, &sink, "vic@new.example", 1).await[0].text).unwrap();
    let stranger = app.browser();
    let path = &url[url.find("/t/").unwrap()..];
    let html = stranger.get(path).await.text().await.unwrap();
    let token = hidden_field(&html, "token").unwrap();
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    let fields = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
    let uses = (0..10).map(|_| stranger.post_form("/t/default/email/change", &fields));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(uses)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::GONE),
        "{statuses:?}"
    );
    let u = user(&app, "vic").await;
    assert_eq!(u.email.as_deref(), Some("vic@new.example"));
    assert!(u.email_verified);
    // One notice to the old address, one `email_changed`.
    let got = mail_to(&app, &sink, "vic@example.test", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker::deliver_due(&app.app.ctx).await;
    assert_eq!(
        sink.received()
            .iter()
            .filter(|m| m.to.contains("vic@example.test"))
            .count(),
        1,
        "{got:?}"
    );
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "email_changed" && e.outcome == "success")
            .count(),
        1
    );
}

/// Bursts against the limits: parallel requests for a new address send exactly the hourly
/// number of messages, and parallel wrong current passwords get at most the hourly number of
/// second-factor failures evaluated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_get_no_more_than_the_limits() {
    let app = TestApp::start().await;
    app.create_user("default", "zed", GOOD_PASSWORD).await;
    let b = signed_in(&app, "zed").await;
    let csrf = b.csrf("/t/default/account").await;
    let asks = (0..20).map(|i| {
        let address = format!("zed{i}@burst.example");
        let csrf = csrf.clone();
        let b = &b;
        async move {
            b.post_form(
                "/t/default/account/email",
                &[("csrf_token", csrf.as_str()), ("email", address.as_str())],
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    let sent = answers
        .iter()
        .filter(|r| location(r).ends_with("done=email-sent"))
        .count();
    let throttled = answers
        .iter()
        .filter(|r| location(r).ends_with("done=email-throttled"))
        .count();
    assert_eq!(
        (sent, throttled),
        (LINKS_PER_HOUR as usize, 20 - LINKS_PER_HOUR as usize)
    );

    let limit = app
        .tenant("default")
        .await
        .policy
        .throttle
        .second_factor_failures_per_hour;
    let n = limit as usize + 5;
    let tries = (0..n).map(|_| {
        let csrf = csrf.clone();
        let b = &b;
        async move {
            b.post_form(
                "/t/default/account/password",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("current", "a wrong guess"),
                    ("password", NEW_PASSWORD),
                    ("keep", "1"),
                ],
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let evaluated = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert!(
        (1..=limit as usize).contains(&evaluated),
        "{evaluated} evaluated: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY || *s == StatusCode::TOO_MANY_REQUESTS)
    );
}
