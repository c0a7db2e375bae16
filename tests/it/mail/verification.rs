//! Verifying an address through the hosted pages, with the link read from a real SMTP server:
//! the account page sends it, the link confirms it (once, before it expires, only the newest,
//! only for the address it was sent to, only in its tenant), `email_verified` tells the truth,
//! links are throttled, and no log line holds the token.

use reqwest::StatusCode;
use watchword::auth::email::LINKS_PER_HOUR;
use watchword::mail::worker;

use super::smtp_to;
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field, logs};

/// Signs `user` in and asks the account page for a link; returns the redirect's notice code.
async fn ask_for_link(app: &TestApp, browser: &Browser, user: &str) -> String {
    if browser.cookie("ww-session").is_none() && browser.cookie("__Host-ww-session").is_none() {
        let res = browser.sign_in("default", user, GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let page = browser
        .get("/t/default/account")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = browser
        .post_form("/t/default/account/email/verify", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    worker::deliver_due(&app.app.ctx).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    location.rsplit('=').next().unwrap().to_owned()
}

/// Opens a link in `browser` and presses the button; the status and page.
async fn use_link(browser: &Browser, url: &str) -> (StatusCode, String) {
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let page = browser.get(path).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "opening the link shows a button"
    );
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

async fn verified(app: &TestApp, user: &str) -> bool {
    let tenant = app.tenant("default").await;
    watchword::admin::users::find(&app.app.ctx, &tenant, user)
        .await
        .unwrap()
        .unwrap()
        .user
        .email_verified
}

#[tokio::test]
async fn an_address_is_verified_by_its_link_once() {
    let logs = logs::capture();
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "ann", GOOD_PASSWORD).await;
    app.create_user("default", "bob", GOOD_PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("default", "ann", GOOD_PASSWORD).await;
    let page = browser
        .get("/t/default/account")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("ann@example.test") && page.contains("not verified"));
    assert!(!verified(&app, "ann").await);

    assert_eq!(ask_for_link(&app, &browser, "ann").await, "verify-sent");
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].to, "ann <ann@example.test>");
    assert_eq!(got[0].subject, "Default: confirm your e-mail address");
    let url = link(&got[0].text).expect("the message has a link");
    let token = url.split("token=").nth(1).unwrap().to_owned();
    assert!(url.starts_with(&app.url("/t/default/email/verify?token=")));

    // Opening the link (as a mail scanner would) uses nothing.
    let stranger = app.browser();
    assert_eq!(
        stranger
            .get(&format!("/t/default/email/verify?token={token}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert!(!verified(&app, "ann").await);
    // A tampered token, or the token in another tenant, is refused and consumes nothing.
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let (status, _) = use_link(
        &stranger,
        &app.url(&format!("/t/other/email/verify?token={token}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = use_link(&stranger, &format!("{url}x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The link works in any browser, once.
    let (status, html) = use_link(&stranger, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Your address is confirmed"));
    assert!(verified(&app, "ann").await);
    assert!(!verified(&app, "bob").await, "only that user");
    let (status, html) = use_link(&stranger, &url).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "email_verified"));
    assert!(audit.iter().any(|e| e.action == "email_verification_sent"));

    // Nothing left to verify.
    let page = browser
        .get("/t/default/account")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("verified") && !page.contains("not verified"));

    if let Some(logs) = logs {
        let text = logs.text();
        assert!(text.contains("mail sent"), "the delivery is logged");
        assert!(!text.contains(&token), "no log line holds the link's token");
    }
}

#[tokio::test]
async fn links_expire_are_replaced_by_newer_ones_and_are_throttled() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "cat", GOOD_PASSWORD).await;
    let browser = app.browser();

    // Expiry (the injected clock): 24 hours.
    ask_for_link(&app, &browser, "cat").await;
    let first = link(&sink.wait_for(1).await[0].text).unwrap();
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let fresh = app.browser();
    let (status, _) = use_link(&fresh, &first).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(!verified(&app, "cat").await);

    // The session timed out meanwhile: a new browser signs in again. The newest link replaces
    // the older one.
    let browser = app.browser();
    ask_for_link(&app, &browser, "cat").await;
    ask_for_link(&app, &browser, "cat").await;
    let got = sink.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let links: Vec<String> = got
        .iter()
        .filter_map(|m| link(&m.text))
        .filter(|l| *l != first)
        .collect();
    assert_eq!(links.len(), 2);
    // Maildir order is not sending order: exactly one of the two works, and it is the newest.
    let (a, _) = use_link(&fresh, &links[0]).await;
    let (b, _) = use_link(&fresh, &links[1]).await;
    let mut outcomes = [a, b];
    outcomes.sort();
    assert_eq!(outcomes, [StatusCode::OK, StatusCode::GONE]);
    assert!(verified(&app, "cat").await);

    // Throttle: a fresh user asks more than the hourly limit; the extra asks send nothing.
    app.create_user("default", "dog", GOOD_PASSWORD).await;
    let browser = app.browser();
    for _ in 0..LINKS_PER_HOUR {
        assert_eq!(ask_for_link(&app, &browser, "dog").await, "verify-sent");
    }
    assert_eq!(
        ask_for_link(&app, &browser, "dog").await,
        "verify-throttled"
    );
    let to_dog = sink.wait_for(3 + LINKS_PER_HOUR as usize).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sink.received()
            .iter()
            .filter(|m| m.to.contains("dog@"))
            .count(),
        LINKS_PER_HOUR as usize,
        "{}",
        to_dog.len()
    );
}

#[tokio::test]
async fn a_link_for_an_address_the_user_no_longer_has_changes_nothing() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    let user = app.create_user("default", "eve", GOOD_PASSWORD).await;
    let browser = app.browser();
    ask_for_link(&app, &browser, "eve").await;
    let url = link(&sink.wait_for(1).await[0].text).unwrap();
    let tenant = app.tenant("default").await;
    watchword::admin::users::update_profile(
        &app.app.ctx,
        &tenant,
        &user,
        Some("eve@new.example"),
        None,
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let (status, html) = use_link(&app.browser(), &url).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(!verified(&app, "eve").await);
}

/// A burst from one attacker: parallel asks get exactly the hourly number of links, and
/// parallel uses of one link verify once (the rest are told it is spent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_get_the_hourly_limit_and_a_link_is_used_once() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "fay", GOOD_PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("default", "fay", GOOD_PASSWORD).await;
    let page = browser
        .get("/t/default/account")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let fields = [("csrf_token", csrf.as_str())];
    let asks = (0..20).map(|_| browser.post_form("/t/default/account/email/verify", &fields));
    let answers = futures_util::future::join_all(asks).await;
    let sent = answers
        .iter()
        .filter(|r| location_of(r).ends_with("done=verify-sent"))
        .count();
    let throttled = answers
        .iter()
        .filter(|r| location_of(r).ends_with("done=verify-throttled"))
        .count();
    assert_eq!(
        (sent, throttled),
        (LINKS_PER_HOUR as usize, 20 - LINKS_PER_HOUR as usize)
    );
    worker::deliver_due(&app.app.ctx).await;
    let got = sink.wait_for(LINKS_PER_HOUR as usize).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sink.received().len(),
        LINKS_PER_HOUR as usize,
        "{}",
        got.len()
    );

    // The newest link, used ten times at once from one page: verified once.
    let links: Vec<String> = sink
        .received()
        .iter()
        .filter_map(|m| link(&m.text))
        .collect();
    let stranger = app.browser();
    let mut newest = None;
    for url in &links {
        let path = &url[url.find("/t/").unwrap()..];
        let html = stranger.get(path).await.text().await.unwrap();
        let token = hidden_field(&html, "token").unwrap();
        let csrf = hidden_field(&html, "csrf_token").unwrap();
        let fields = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
        let uses = (0..10).map(|_| stranger.post_form("/t/default/email/verify", &fields));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(uses)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::GONE)
        );
        if ok > 0 {
            assert_eq!(ok, 1, "{statuses:?}");
            assert!(newest.is_none(), "only the newest link works");
            newest = Some(url.clone());
        }
    }
    assert!(newest.is_some());
    assert!(verified(&app, "fay").await);
}

fn location_of(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_owned()
}
