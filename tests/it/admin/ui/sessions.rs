//! The sessions screen: a person found by prefix, their sessions listed and ended one by one or
//! all at once.

use reqwest::StatusCode;

use super::{ada, html, person, post, signed_in};
use crate::common::browser::location;
use crate::common::{TestApp, hidden_field};

async fn live(app: &TestApp, id: watchword::domain::ids::UserId) -> usize {
    let tenant = app.tenant("default").await;
    watchword::admin::sessions::list(&app.app.ctx, &tenant, id)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_tenant_admin_finds_a_person_and_ends_their_sessions() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let bob = person(&app, "default", "bobby", None).await;
    person(&app, "default", "carol", None).await;
    signed_in(&app, "default", "bobby").await;
    assert_eq!(live(&app, bob.id).await, 1);

    let found = html(&ada, "/t/default/admin/sessions?q=bob").await;
    let chosen = format!("/t/default/admin/sessions?user={}", bob.id);
    assert!(found.contains(&chosen), "bobby found");
    assert!(!found.contains("carol"));
    // The user page links here.
    let user_page = html(&ada, &format!("/t/default/admin/users/{}", bob.id)).await;
    assert!(user_page.contains(&chosen));

    let page = html(&ada, &chosen).await;
    let sid = hidden_field(&page, "sid").expect("an End button");
    let id = bob.id.to_string();
    let res = post(
        &ada,
        &chosen,
        "/t/default/admin/sessions/end",
        &[("user", &id), ("sid", &sid)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{chosen}&done=session-ended"));
    assert_eq!(live(&app, bob.id).await, 0);

    signed_in(&app, "default", "bobby").await;

    let res = post(
        &ada,
        &chosen,
        "/t/default/admin/sessions/end",
        &[("user", &id)],
    )
    .await;
    assert_eq!(location(&res), format!("{chosen}&done=sessions-ended"));
    assert_eq!(live(&app, bob.id).await, 0);

    // Another user's session id with this user: not found.
    signed_in(&app, "default", "bobby").await;
    let res = post(
        &ada,
        &chosen,
        "/t/default/admin/sessions/end",
        &[("user", &id), ("sid", "not-a-session")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(live(&app, bob.id).await, 1);
}
