//! Sign-in events are kept `policy.risk.retention_days` per tenant: the background purge
//! (`jobs::purge_sign_in_events`, called directly on the moved `ManualClock`) deletes older ones,
//! in batches, and leaves other tenants' (with their own retention) alone.

use chrono::Duration;
use reqwest::StatusCode;
use watchword::clock::Clock;
use watchword::jobs::{EVENT_BATCH, purge_sign_in_events};
use watchword::storage::risk::SignInEvent;

use super::notices::{events, events_in, set_risk_policy};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};

fn old_event(tenant: &str, at: i64, n: usize) -> SignInEvent {
    SignInEvent {
        id: format!("old-{n:05}"),
        tenant_id: tenant.to_owned(),
        user_id: None,
        kind: "sign_in".into(),
        created_at: at,
        ip: "192.0.2.1".into(),
        country: None,
        city: None,
        asn: None,
        device: "curl".into(),
        device_id: None,
        level: "high".into(),
        score: 100,
        reasons: "[]".into(),
        decision: "block".into(),
        enforced: true,
        result: "blocked".into(),
        feedback: None,
        feedback_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_the_tenants_retention_are_purged_in_batches() {
    let app = TestApp::start().await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    set_risk_policy(&app, "default", |p| p.retention_days = 7).await;
    let ann = app.create_user("default", "ann", GOOD_PASSWORD).await;
    let olaf = app.create_user("other", "olaf", GOOD_PASSWORD).await;
    let b = Browser::new(&app.base);
    sign_in(&b, "default", "ann").await;
    sign_in(&b, "other", "olaf").await;
    // More old events than one batch holds, written as they were eight days ago.
    let t0 = app.clock.now().timestamp();
    let default_id = app.tenant("default").await.id.to_string();
    let n = usize::try_from(EVENT_BATCH).unwrap() * 2 + 500;
    app.app
        .ctx
        .db
        .write(move |c| {
            watchword::storage::write_transaction(c, |c| {
                for i in 0..n {
                    watchword::storage::risk::insert(c, &old_event(&default_id, t0 - 86_400, i))?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();

    // A week later (to the second) nothing is old enough; ten days later Ann's first event and
    // the written ones are, Olaf's (90 days) is not.
    app.clock
        .advance(Duration::days(7) - Duration::seconds(86_400 + 1));
    assert_eq!(purge_sign_in_events(&app.app.ctx).await, 0);
    app.clock.advance(Duration::days(10));
    sign_in(&b, "default", "ann").await;
    assert_eq!(purge_sign_in_events(&app.app.ctx).await, n + 1);
    assert_eq!(events(&app, &ann).await.len(), 1, "the recent one stays");
    assert_eq!(events_in(&app, "other", &olaf).await.len(), 1);
    assert_eq!(purge_sign_in_events(&app.app.ctx).await, 0);
    // The hourly purge job runs it too.
    app.clock.advance(Duration::days(8));
    watchword::jobs::purge(&app.app.ctx).await;
    assert!(events(&app, &ann).await.is_empty());
}

async fn sign_in(b: &Browser, tenant: &str, user: &str) {
    let res = b.sign_in(tenant, user, GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
