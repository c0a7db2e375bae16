//! Browser sessions: the cookie and its record, one active session per user (the session
//! limit), evicted sessions' grants, resets, replicas, and the sessions a user and an
//! administrator can see and end.

mod account;
mod browser;
mod evicted_grants;
mod limit;
mod replicas;
mod resets;

use reqwest::StatusCode;
use watchword::domain::audit::Actor;
use watchword::domain::session::SessionPolicy;

use crate::common::{Browser, GOOD_PASSWORD, TestApp};

/// Changes the session policy of tenant `slug`.
pub async fn set_session_policy(app: &TestApp, slug: &str, f: impl FnOnce(&mut SessionPolicy)) {
    let tenant = app.tenant(slug).await;
    let mut policy = tenant.policy.clone();
    f(&mut policy.session);
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

/// Changes the brute-force protection policy of tenant `slug`.
pub async fn set_throttle_policy(
    app: &TestApp,
    slug: &str,
    f: impl FnOnce(&mut watchword::domain::throttle::ThrottlePolicy),
) {
    let tenant = app.tenant(slug).await;
    let mut policy = tenant.policy.clone();
    f(&mut policy.throttle);
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

/// A new browser (with its own user agent) signed in as `user`.
pub async fn signed_in(base: &str, user: &str, user_agent: &str) -> Browser {
    let b = Browser::with_user_agent(base, user_agent);
    let res = b.sign_in("default", user, GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} signs in");
    b
}

pub const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
pub const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// The tenant's audit events once one matches `pred` (work finished in the background, such as
/// ending an evicted session, is given up to 5 seconds).
pub async fn eventually_audited(
    app: &TestApp,
    pred: impl Fn(&watchword::storage::audit::AuditRow) -> bool,
) -> Vec<watchword::storage::audit::AuditRow> {
    for _ in 0..100 {
        let events = app.audit("default").await;
        if events.iter().any(&pred) {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no such audit event");
}

/// The JSON of the session-status endpoint for `browser`.
pub async fn status(browser: &Browser) -> serde_json::Value {
    let res = browser.get("/t/default/session/status").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}
