//! What the feedback, activity, CLI and retention tests share: a tenant policy changed in place,
//! a server whose default tenant mails a notice for every sign-in (low risk notifies too) through
//! the SMTP sink, users with a verified address, a user's sign-in events read from storage, and
//! the links of the notices they were sent.

use watchword::domain::risk::RiskPolicy;
use watchword::domain::user::User;
use watchword::storage::risk::{Filter, SignInEvent};

use crate::common::smtp::{Received, SmtpSink, link};
use crate::common::{GOOD_PASSWORD, TestApp};
use crate::mail::{mail_to, smtp_to, verify_address};

/// Changes the risk policy of tenant `slug`.
pub async fn set_risk_policy(app: &TestApp, slug: &str, f: impl FnOnce(&mut RiskPolicy)) {
    let tenant = app.tenant(slug).await;
    let mut policy = tenant.policy.clone();
    f(&mut policy.risk);
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

/// A server mailing through `sink`, whose default tenant notifies of every sign-in (as
/// `"risk":{"actions":{"low":{"action":"allow","notify":true}}}` in a seed file would).
pub async fn notifying_app(sink: &SmtpSink) -> TestApp {
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_risk_policy(&app, "default", |p| p.actions.low.notify = true).await;
    app
}

/// A user of the default tenant with the test password and a verified address
/// (`<name>@example.test`).
pub async fn user_with_address(app: &TestApp, name: &str) -> User {
    app.create_user("default", name, GOOD_PASSWORD).await;
    verify_address(app, name).await;
    let tenant = app.tenant("default").await;
    watchword::admin::users::find(&app.app.ctx, &tenant, name)
        .await
        .unwrap()
        .unwrap()
        .user
}

/// The user's sign-in events in tenant `slug`, newest first.
pub async fn events_in(app: &TestApp, slug: &str, user: &User) -> Vec<SignInEvent> {
    let tenant = app.tenant(slug).await;
    let filter = Filter {
        user: Some(user.id),
        limit: 100,
        ..Filter::default()
    };
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::risk::list(c, tenant.id, &filter))
        .await
        .unwrap()
}

/// The user's sign-in events in the default tenant, newest first.
pub async fn events(app: &TestApp, user: &User) -> Vec<SignInEvent> {
    events_in(app, "default", user).await
}

/// The reason codes of an event.
pub fn reasons(event: &SignInEvent) -> Vec<String> {
    let signals: Vec<serde_json::Value> = serde_json::from_str(&event.reasons).unwrap();
    signals
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `at_least` sign-in notices reached `to`; those notices, oldest first.
pub async fn notices(app: &TestApp, sink: &SmtpSink, to: &str, at_least: usize) -> Vec<Received> {
    let is_notice = |m: &Received| {
        m.subject.ends_with("new sign-in to your account")
            || m.subject.ends_with("a sign-in to your account was blocked")
    };
    for _ in 0..20 {
        let got: Vec<Received> = mail_to(app, sink, to, 1)
            .await
            .into_iter()
            .filter(is_notice)
            .collect();
        if got.len() >= at_least {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {at_least} sign-in notices reached {to}");
}

/// The link of a notice, as a path (`/t/default/sign-in-check?token=…`).
pub fn link_path(notice: &Received) -> String {
    let url = link(&notice.text).expect("the notice has a link");
    url[url.find("/t/").unwrap()..].to_owned()
}

/// The notice about event `id` among `notices` (they may arrive in any order).
pub fn notice_for<'a>(notices: &'a [Received], id: &str) -> &'a Received {
    notices
        .iter()
        .find(|n| token(n).starts_with(&format!("{id}.")))
        .unwrap_or_else(|| panic!("no notice about event {id}"))
}

/// The token of a notice's link.
pub fn token(notice: &Received) -> String {
    let path = link_path(notice);
    path.split_once("token=").unwrap().1.to_owned()
}
