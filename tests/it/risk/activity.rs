//! The account page's "Recent sign-in activity": the user's own sign-in events (allowed, a second
//! factor asked, blocked before the password), with the time, device, approximate place, coarse
//! network and, where risk asked for more, why; never an address, never another user's events.
//! Clients come from chosen addresses through `X-Forwarded-For` and a trusted proxy.

use reqwest::StatusCode;
use watchword::domain::mfa::EmailCodeMode;

use super::notices::{events, set_risk_policy, user_with_address};
use crate::common::browser::location;
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::sessions::{FIREFOX_LINUX, SAFARI_IPHONE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_recent_sign_ins_without_addresses() {
    let app = TestApp::builder()
        .tweak(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .start()
        .await;
    set_risk_policy(&app, "default", |p| {
        p.learning.sign_ins = 1;
        p.thresholds.medium = 20;
        p.blocked_ip_ranges = vec!["192.0.2.0/24".parse().unwrap()];
    })
    .await;
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.mfa.email_code = EmailCodeMode::Allowed;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let ann = user_with_address(&app, "ann").await;
    app.create_user("default", "bob", GOOD_PASSWORD).await;

    // Ann's laptop (learning: allowed), her phone from elsewhere (a new device: a code by mail
    // is asked, and she does not finish), and someone in a blocked range.
    let laptop = Browser::at(&app.base, FIREFOX_LINUX, "203.0.113.77");
    let res = laptop.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let phone = Browser::at(&app.base, SAFARI_IPHONE, "198.51.100.9");
    let res = phone.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify", "a second factor");
    let blocked = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.55");
    let res = blocked.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER);
    // Bob's sign-in is not Ann's business.
    let bob = Browser::at(&app.base, FIREFOX_LINUX, "2001:db8::5");
    let res = bob.sign_in("default", "bob", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let decisions: Vec<String> = events(&app, &ann)
        .await
        .iter()
        .map(|e| format!("{}/{}", e.decision, e.result))
        .collect();
    assert_eq!(
        decisions,
        ["block/blocked", "second_factor/pending", "allow/success"]
    );

    let res = laptop.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let activity = &page[page.find("Recent sign-in activity").expect("the section")..];
    for words in [
        "Signed in",
        "Not finished: a second factor was asked",
        "A second factor was asked because of: A browser that has not signed in to your account before",
        "Blocked",
        "Refused because of: A blocked network",
        "Firefox on Linux",
        "Safari on iPhone",
        "network 203.0.x.x",
        "network 198.51.x.x",
        "network 192.0.x.x",
    ] {
        assert!(activity.contains(words), "{words}: {activity}");
    }
    for address in ["203.0.113.77", "198.51.100.9", "192.0.2.55"] {
        assert!(!activity.contains(address), "{address}: {activity}");
    }
    assert!(!activity.contains("2001:db8"), "not Bob's: {activity}");
    assert_eq!(activity.matches("<li>").count(), 3, "{activity}");
}
