//! The dashboard's count of the tenant's active sessions: every live browser session of the
//! tenant (not another tenant's), down when one ends or times out, shown only with
//! `sessions:read`.

use chrono::Duration;
use reqwest::StatusCode;
use watchword::domain::admin::Role;

use super::{ada, html, person, post, signed_in};
use crate::admin::other_tenant;
use crate::common::TestApp;

/// The number the dashboard shows.
fn shown(page: &str) -> Option<u64> {
    let start = page.find("id=\"active-sessions\">")? + "id=\"active-sessions\">".len();
    page[start..].split('<').next()?.parse().ok()
}

#[tokio::test]
async fn the_dashboard_counts_the_tenants_active_sessions() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    assert_eq!(shown(&html(&ada, "/t/default/admin/").await), Some(1));
    let bob = person(&app, "default", "bobby", None).await;
    signed_in(&app, "default", "bobby").await;
    signed_in(&app, "default", "bobby").await;
    // Another tenant's sessions are not this tenant's.
    other_tenant(&app).await;
    person(&app, "other", "olga", None).await;
    signed_in(&app, "other", "olga").await;
    // One session a user by default (the oldest ended): evicted sessions do not count.
    assert_eq!(shown(&html(&ada, "/t/default/admin/").await), Some(2));

    // Ending bob's sessions takes them off the count.
    let chosen = format!("/t/default/admin/sessions?user={}", bob.id);
    let id = bob.id.to_string();
    let res = post(
        &ada,
        &chosen,
        "/t/default/admin/sessions/end",
        &[("user", &id)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(shown(&html(&ada, "/t/default/admin/").await), Some(1));

    // An auditor cannot read sessions: no count.
    person(&app, "default", "aud", Some(Role::Auditor)).await;
    let aud = signed_in(&app, "default", "aud").await;
    let page = html(&aud, "/t/default/admin/").await;
    assert!(!page.contains("active-sessions"), "{page}");

    // Timed out (idle): no longer counted, even before the sweep ends them.
    app.clock.advance(Duration::minutes(31));
    let tenant = app.tenant("default").await;
    let operator = watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli);
    let n = watchword::admin::sessions::count_live(&app.app.ctx, &tenant, &operator)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
