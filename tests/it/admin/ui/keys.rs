//! Signing keys in the management UI: listed with their state, rotated (the new key published),
//! and withdrawn after a confirmation (gone from the list, a replacement signing).

use std::collections::HashSet;

use reqwest::StatusCode;

use super::{ada, html, post};
use crate::common::TestApp;
use crate::common::browser::location;

async fn kids(app: &TestApp) -> Vec<(String, String)> {
    let tenant = app.tenant("default").await;
    watchword::signing::rotation::list(&app.app.ctx, tenant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state.to_owned()))
        .collect()
}

#[tokio::test]
async fn a_tenant_admin_rotates_and_withdraws_keys() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let before = kids(&app).await;
    let page = html(&ada, "/t/default/admin/keys").await;
    for (kid, state) in &before {
        assert!(page.contains(kid.as_str()) && page.contains(state.as_str()));
    }

    let res = post(
        &ada,
        "/t/default/admin/keys",
        "/t/default/admin/keys/rotate",
        &[("alg", "ES256")],
    )
    .await;
    assert_eq!(location(&res), "/t/default/admin/keys?done=keys-rotated");
    let after = kids(&app).await;
    let old: HashSet<_> = before.iter().map(|(k, _)| k.clone()).collect();
    let new: Vec<_> = after.iter().filter(|(k, _)| !old.contains(k)).collect();
    assert_eq!(new.len(), 1, "one new key");
    assert_eq!(new[0].1, "pending", "published, not signing yet");
    let page = html(&ada, "/t/default/admin/keys").await;
    assert!(page.contains(&new[0].0), "the new key is listed");

    // Withdraw one of the old keys.
    let victim = &before[0].0;
    let confirm = format!("/t/default/admin/keys/withdraw?kid={victim}");
    assert!(html(&ada, &confirm).await.contains("Withdraw the key"));
    let res = post(
        &ada,
        &confirm,
        "/t/default/admin/keys/withdraw",
        &[("kid", victim)],
    )
    .await;
    assert_eq!(location(&res), "/t/default/admin/keys?done=key-withdrawn");
    assert!(!kids(&app).await.iter().any(|(k, _)| k == victim));
    let res = post(
        &ada,
        "/t/default/admin/keys",
        "/t/default/admin/keys/withdraw",
        &[("kid", "no-such-key")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "keys_rotated" && e.outcome == "withdrawn")
    );
}
