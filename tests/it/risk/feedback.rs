//! The link of a sign-in notice ("Was this you?") end to end, with the notice read from a real
//! SMTP server: opening it shows the event and uses nothing; "this was me" makes the device
//! known (the next sign-in from that browser has no `new_device`); the link works once, for its
//! own event, in its own tenant, until it expires; "this wasn't me" ends every session, revokes
//! every grant, takes the password away and mails a reset link that sets a new one.

use chrono::Duration;
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use watchword::domain::risk::{Action, LevelAction};
use watchword::risk::profile::FORGET_DAYS;

use super::notices::{
    events, link_path, notice_for, notices, notifying_app, reasons, set_risk_policy, token,
    user_with_address,
};
use crate::common::browser::location;
use crate::common::oidc::{http, plain_client};
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};
use crate::mail::mail_to;

const NEW_PASSWORD: &str = "a brand new passphrase for ann";

/// Opens a notice's link in `browser`: the status and the page.
async fn open(browser: &Browser, path: &str) -> (StatusCode, String) {
    let res = browser.get(path).await;
    (res.status(), res.text().await.unwrap())
}

/// Opens the link and presses the button of `answer`; the status and the page.
async fn answer(browser: &Browser, path: &str, answer: &str) -> (StatusCode, String) {
    let (status, page) = open(browser, path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let token = hidden_field(&page, "token").unwrap();
    post(browser, &csrf, &token, answer).await
}

/// Posts an answer with `token` (the page's CSRF token from an earlier visit).
async fn post(browser: &Browser, csrf: &str, token: &str, answer: &str) -> (StatusCode, String) {
    let res = browser
        .post_form(
            "/t/default/sign-in-check",
            &[("csrf_token", csrf), ("token", token), ("answer", answer)],
        )
        .await;
    (res.status(), res.text().await.unwrap())
}

async fn metrics(app: &TestApp) -> String {
    reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_was_me_makes_the_device_known_and_the_link_works_once() {
    let sink = SmtpSink::start();
    let app = notifying_app(&sink).await;
    // New-device signals after one sign-in; a new device alone is medium, and medium is
    // blocked with a notice. Browsers stay known to the throttle for a year.
    set_risk_policy(&app, "default", |p| {
        p.learning.sign_ins = 1;
        p.thresholds.medium = 20;
        p.actions.medium = LevelAction {
            action: Action::Block,
            notify: true,
        };
    })
    .await;
    crate::sessions::set_throttle_policy(&app, "default", |t| t.known_for_days = 365).await;
    let ann = user_with_address(&app, "ann").await;
    let laptop = app.browser();
    let res = laptop.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "learning: allowed");

    // Half a year later Ann's profile has forgotten the laptop, whose known-device cookie still
    // works: the sign-in is blocked and she gets a notice.
    app.clock.advance(Duration::days(FORGET_DAYS + 1));
    let res = laptop.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER, "blocked");
    let blocked = events(&app, &ann).await.remove(0);
    assert_eq!(
        (blocked.decision.as_str(), blocked.result.as_str()),
        ("block", "blocked")
    );
    assert!(reasons(&blocked).contains(&"new_device".to_owned()));
    assert!(blocked.device_id.is_some(), "the laptop's device id");
    let got = notices(&app, &sink, "ann@", 2).await;
    let (notice, first) = (
        notice_for(&got, &blocked.id),
        notice_for(&got, &events(&app, &ann).await[1].id),
    );
    assert_eq!(
        notice.subject,
        "Default: a sign-in to your account was blocked"
    );
    let path = link_path(notice);

    // Opening the link (a mail scanner, then Ann) shows the event and uses nothing.
    let reader = app.browser();
    for _ in 0..2 {
        let (status, page) = open(&reader, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for words in [
            "Was this you?",
            "Firefox on Linux",
            "Blocked",
            "A browser that has not signed in to your account before",
            "Yes, this was me",
            "No, this wasn't me",
        ] {
            assert!(page.contains(words), "{words}: {page}");
        }
        assert!(!page.contains("127.0.0.1"), "never the address: {page}");
    }
    assert_eq!(events(&app, &ann).await[0].feedback, None);
    // The first notice's link was replaced by the newer one.
    let (status, _) = open(&reader, &link_path(first)).await;
    assert_eq!(status, StatusCode::GONE);

    // "Yes, this was me", once.
    let (status, page) = open(&reader, &path).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let token = hidden_field(&page, "token").unwrap();
    let (status, page) = post(&reader, &csrf, &token, "valid").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Thank you"), "{page}");
    let (status, page) = post(&reader, &csrf, &token, "valid").await;
    assert_eq!(status, StatusCode::GONE, "single use: {page}");
    assert!(page.contains("This link no longer works"));
    let (status, _) = post(&reader, &csrf, &token, "invalid").await;
    assert_eq!(status, StatusCode::GONE, "not even for the other answer");
    assert_eq!(open(&reader, &path).await.0, StatusCode::GONE);
    let marked = events(&app, &ann).await.remove(0);
    assert_eq!(marked.feedback.as_deref(), Some("valid"));
    assert!(marked.feedback_at.is_some());

    // The laptop is known again: no new_device, allowed.
    let res = laptop.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let latest = events(&app, &ann).await.remove(0);
    assert!(
        !reasons(&latest).contains(&"new_device".to_owned()),
        "{:?}",
        latest.reasons
    );
    assert_eq!(
        (latest.decision.as_str(), latest.result.as_str()),
        ("allow", "success")
    );

    let audit = app.audit("default").await;
    let event = audit
        .iter()
        .find(|e| e.action == "risk_feedback")
        .expect("audited");
    assert_eq!(event.outcome, "valid");
    assert_eq!(event.subject.as_deref(), Some(&*format!("user:{}", ann.id)));
    assert!(event.details.contains(&blocked.id), "{}", event.details);
    let m = metrics(&app).await;
    assert!(
        m.lines()
            .any(|l| l.starts_with("watchword_risk_feedback_total")
                && l.contains("value=\"valid\"")
                && l.ends_with(" 1")),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_works_only_for_its_own_event_in_its_own_tenant_until_it_expires() {
    let sink = SmtpSink::start();
    let app = notifying_app(&sink).await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let ann = user_with_address(&app, "ann").await;
    let b = app.browser();
    for _ in 0..2 {
        let res = b.sign_in("default", "ann", GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let got = notices(&app, &sink, "ann@", 2).await;
    let evs = events(&app, &ann).await;
    let (first, second) = (&evs[1], token(notice_for(&got, &evs[0].id)));
    let (event_id, secret) = second.split_once('.').unwrap();
    let mut altered = secret.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });

    let reader = app.browser();
    let csrf = reader.csrf("/t/default/login").await;
    for bad in [
        format!("{}.{secret}", first.id), // another event of the same user
        format!("{event_id}.{altered}"),  // the secret changed
        secret.to_owned(),                // no event id
        format!("{event_id}."),
        "x".repeat(300),
    ] {
        let (status, page) = open(&reader, &format!("/t/default/sign-in-check?token={bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {page}");
        assert!(page.contains("This link is not valid"));
        let (status, _) = post(&reader, &csrf, &bad, "valid").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    // In another tenant's path.
    let (status, _) = open(&reader, &format!("/t/other/sign-in-check?token={second}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without the link's token: incomplete, nothing shown.
    let (status, page) = open(&reader, "/t/default/sign-in-check").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This link is incomplete"), "{page}");
    // A post without the CSRF token, or with an unknown answer, uses nothing.
    let res = reader
        .post_form(
            "/t/default/sign-in-check",
            &[
                ("csrf_token", "forged"),
                ("token", second.as_str()),
                ("answer", "valid"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, _) = post(&reader, &csrf, &second, "maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let path = format!("/t/default/sign-in-check?token={second}");
    assert_eq!(open(&reader, &path).await.0, StatusCode::OK, "still unused");
    assert!(
        events(&app, &ann)
            .await
            .iter()
            .all(|e| e.feedback.is_none())
    );

    // Seven days later it has expired.
    app.clock.advance(Duration::days(7) + Duration::seconds(1));
    let (status, page) = open(&reader, &path).await;
    assert_eq!(status, StatusCode::GONE, "{page}");
    let (status, _) = post(&reader, &csrf, &second, "valid").await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_was_not_me_ends_every_session_and_grant_and_requires_a_new_password() {
    let sink = SmtpSink::start();
    let app = notifying_app(&sink).await;
    let ann = user_with_address(&app, "ann").await;
    crate::sessions::set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = watchword::domain::session::SessionLimit::Max(3)
    })
    .await;
    // Ann is signed in with an application holding an offline refresh token, and in another
    // browser (the stranger's, say).
    let s = crate::oidc::flow::sign_in(&app, "ann", "app", &["offline_access"], |_| {}).await;
    let refresh = s.tokens.refresh_token().unwrap().clone();
    let stranger = app.browser();
    let res = stranger.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        stranger.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    let got = notices(&app, &sink, "ann@", 2).await;
    let strangers = events(&app, &ann).await.remove(0);
    let notice = notice_for(&got, &strangers.id);

    // "No, this wasn't me", from the mail program's browser.
    let reader = app.browser();
    let (status, page) = answer(&reader, &link_path(notice), "invalid").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Your account is secured"), "{page}");
    assert!(
        page.contains("ended 2 sessions and revoked 1 grant"),
        "{page}"
    );

    // Every session ended, every grant revoked (offline too), the password gone.
    for b in [&s.browser, &stranger] {
        assert_eq!(
            b.get("/t/default/account").await.status(),
            StatusCode::SEE_OTHER,
            "signed out"
        );
    }
    let h = plain_client();
    let refreshed = s
        .client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&|r| http(h.clone(), r))
        .await;
    assert!(refreshed.is_err(), "the offline grant is revoked");
    let res = app.browser().sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER, "the password is gone");
    let marked = events(&app, &ann)
        .await
        .into_iter()
        .find(|e| e.id == strangers.id)
        .unwrap();
    assert_eq!(marked.feedback.as_deref(), Some("invalid"));
    let audit = app.audit("default").await;
    let event = audit
        .iter()
        .find(|e| e.action == "risk_feedback")
        .expect("audited");
    assert_eq!(event.outcome, "invalid");
    assert_eq!(event.subject.as_deref(), Some(&*format!("user:{}", ann.id)));
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
    assert_eq!(details["sessions_ended"], 2, "{details}");
    assert_eq!(details["grants_revoked"], 1, "{details}");
    assert_eq!(details["reset_link_sent"], true, "{details}");
    assert_eq!(details["risk_event"], strangers.id.as_str(), "{details}");

    // The reset link came by mail and sets a new password (Ann has no second factor).
    let mails = mail_to(&app, &sink, "ann@", 3).await;
    let reset = mails
        .iter()
        .find(|m| m.subject == "Default: reset your password")
        .expect("a reset link");
    let url = link(&reset.text).unwrap();
    let page = reader.get(&url[url.find("/t/").unwrap()..]).await;
    let html = page.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    let reset_token = hidden_field(&html, "token").unwrap();
    let res = reader
        .post_form(
            "/t/default/password/reset",
            &[("csrf_token", &csrf), ("token", &reset_token)],
        )
        .await;
    assert_eq!(location(&res), "/t/default/password/new");
    let res = reader
        .post_form(
            "/t/default/password/new",
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&res), "/t/default/login?reason=password_reset");
    let res = app.browser().sign_in("default", "ann", NEW_PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the new password works"
    );
    // And the notice's link is spent.
    let (status, _) = open(&reader, &link_path(notice)).await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_answers_to_one_link_is_taken_once() {
    let sink = SmtpSink::start();
    let app = notifying_app(&sink).await;
    user_with_address(&app, "ann").await;
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "ann", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let got = notices(&app, &sink, "ann@", 1).await;
    let reader = app.browser();
    let (status, page) = open(&reader, &link_path(&got[0])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let token = hidden_field(&page, "token").unwrap();
    // Eight answers at once, both kinds: exactly one is taken.
    let url = reader.url("/t/default/sign-in-check");
    let sends = (0..8).map(|i| {
        let answer = if i % 2 == 0 { "valid" } else { "invalid" };
        reader
            .client
            .post(&url)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("answer", answer),
            ])
            .send()
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
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
    let answered = app
        .audit("default")
        .await
        .into_iter()
        .filter(|a| a.action == "risk_feedback")
        .count();
    assert_eq!(answered, 1, "one answer recorded");
}
