//! The admin API's updates of settings: applications (`PATCH /clients/{id}`) and the tenant's
//! policy (`GET`/`PUT`/`PATCH /policy`), each with `ETag` / `If-Match` (428 without, 412 stale,
//! exactly one winner in a burst), fields named in 422s, 403 naming the permission, another
//! tenant's records not found.

use reqwest::Method;
use serde_json::{Value, json};

use super::{api_key, call, call_with, other_tenant};
use crate::common::TestApp;

async fn etag_of(app: &TestApp, path: &str, key: &str) -> String {
    let (status, headers, body) = call(app, Method::GET, "default", path, key, None).await;
    assert_eq!(status, 200, "{body}");
    headers["etag"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_are_updated_with_if_match_and_validated_like_registration() {
    let app = TestApp::start().await;
    other_tenant(&app).await;
    let key = api_key(&app, "default", "clients:write").await;
    crate::common::oidc::register(&app, "default", "shop", |_| {}).await;
    crate::common::oidc::register(&app, "other", "elsewhere", |_| {}).await;
    let etag = etag_of(&app, "/clients/shop", &key).await;
    let patch = json!({"name": "Shop 2", "redirect_uris": ["https://shop.example/cb"]});

    super::needs_if_match(&app, Method::PATCH, "/clients/shop", &key, &patch).await;
    // The same rules as registration: a plain-http redirect to another host is refused.
    for (bad, field) in [
        (json!({"redirect_uris": ["http://evil.example/cb"]}), None),
        (json!({"grant_types": ["password"]}), Some("grant_types")),
        (json!({"secret": "x"}), Some("secret")),
    ] {
        let (status, _, problem) = call_with(
            &app,
            Method::PATCH,
            "default",
            "/clients/shop",
            &key,
            Some(bad.clone()),
            &[("If-Match", &etag)],
        )
        .await;
        assert_eq!(status, 422, "{bad}: {problem}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{problem}");
        } else {
            assert!(problem["field"].as_str().is_some(), "{problem}");
        }
    }
    let (status, headers, updated) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/clients/shop",
        &key,
        Some(patch.clone()),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Shop 2");
    assert_eq!(updated["redirect_uris"], json!(["https://shop.example/cb"]));
    assert_eq!(updated["first_party"], true, "absent fields stay");
    let next = headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(next, etag);
    assert_eq!(etag_of(&app, "/clients/shop", &key).await, next);
    let (status, _, _) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/clients/shop",
        &key,
        Some(json!({"name": "Mallory"})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 412, "the first ETag is stale now");
    // Rotating the secret is a write of the row too.
    call(
        &app,
        Method::POST,
        "default",
        "/clients/shop/rotate-secret",
        &key,
        None,
    )
    .await;
    assert_ne!(etag_of(&app, "/clients/shop", &key).await, next);

    let audit = app.audit("default").await;
    assert!(
        audit.iter().any(|e| e.action == "client_updated"
            && e.subject.as_deref() == Some("client:shop")
            && e.actor.starts_with("api_key:")
            && e.diff.as_deref().is_some_and(|d| d.contains("Shop 2"))),
        "{audit:?}"
    );

    // Another tenant's application is not found; a reader may not write.
    let (status, _, _) = call(
        &app,
        Method::GET,
        "default",
        "/clients/elsewhere",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let viewer = api_key(&app, "default", "clients:read").await;
    let (status, _, problem) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/clients/shop",
        &viewer,
        Some(json!({"name": "x"})),
        &[("If-Match", &next)],
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("clients:write"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_is_read_replaced_and_merge_patched_with_if_match() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "policies:write").await;
    let (status, headers, policy) = call(&app, Method::GET, "default", "/policy", &key, None).await;
    assert_eq!(status, 200, "{policy}");
    assert!(policy["session"]["idle_timeout_secs"].is_number());
    let etag = headers["etag"].to_str().unwrap().to_owned();

    let patch = json!({"session": {"max_sessions_per_user": 3}});
    super::needs_if_match(&app, Method::PATCH, "/policy", &key, &patch).await;
    // Bad values and unknown members: 422 naming the field by its dotted path; nothing written.
    for (bad, field) in [
        (
            json!({"session": {"max_sessions_per_user": 0}}),
            "session.max_sessions_per_user",
        ),
        (
            json!({"session": {"idle_timeout_secs": 5}}),
            "session.idle_timeout_secs",
        ),
        (
            json!({"session": {"no_such_knob": 1}}),
            "session.no_such_knob",
        ),
        (json!({"nonsense": true}), "nonsense"),
    ] {
        let (status, _, problem) = call_with(
            &app,
            Method::PATCH,
            "default",
            "/policy",
            &key,
            Some(bad.clone()),
            &[("If-Match", &etag)],
        )
        .await;
        assert_eq!(status, 422, "{bad}: {problem}");
        assert_eq!(problem["field"], field, "{bad}: {problem}");
    }
    let (status, headers, patched) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/policy",
        &key,
        Some(patch.clone()),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["session"]["max_sessions_per_user"], 3);
    assert_eq!(
        patched["session"]["idle_timeout_secs"], policy["session"]["idle_timeout_secs"],
        "members not in the patch stay"
    );
    let next = headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(next, etag);
    let tenant = app.tenant("default").await;
    assert_eq!(
        tenant.policy.session.max_sessions_per_user,
        watchword::domain::session::SessionLimit::Max(3),
        "the engine sees the new policy"
    );

    // PUT replaces the whole policy: what it leaves out gets its default.
    let (status, _, _) = call(
        &app,
        Method::PUT,
        "default",
        "/policy",
        &key,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 428);
    let (status, _, _) = call_with(
        &app,
        Method::PUT,
        "default",
        "/policy",
        &key,
        Some(json!({})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 412, "PUT needs the current ETag too");
    let (status, _, replaced) = call_with(
        &app,
        Method::PUT,
        "default",
        "/policy",
        &key,
        Some(json!({"password": {"min_length": 12}})),
        &[("If-Match", &next)],
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["password"]["min_length"], 12);
    assert_eq!(
        replaced["session"], policy["session"],
        "back to the default"
    );
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "tenant_updated" && e.actor.starts_with("api_key:"))
            .count()
            == 2,
        "{audit:?}"
    );

    // Readers may read but not write; others may not read.
    let viewer = api_key(&app, "default", "policies:read").await;
    let (status, _, problem) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/policy",
        &viewer,
        Some(patch.clone()),
        &[("If-Match", &next)],
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("policies:write"))
    );
    let auditor = api_key(&app, "default", "events:read").await;
    let (status, _, problem) = call(&app, Method::GET, "default", "/policy", &auditor, None).await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("policies:read"))
    );
}

/// Eight PATCHes carrying one ETag, at once: exactly one is written.
async fn burst(app: &TestApp, key: &str, path: &str, bodies: Vec<Value>) -> Vec<u16> {
    let etag = etag_of(app, path, key).await;
    let mut tasks = Vec::new();
    for body in bodies {
        let (url, key, etag) = (
            app.url(&format!("/t/default/admin/api/v1{path}")),
            key.to_owned(),
            etag.clone(),
        );
        tasks.push(tokio::spawn(async move {
            crate::common::oidc::plain_client()
                .patch(url)
                .bearer_auth(key)
                .header("If-Match", etag)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_policy_and_client_updates_from_one_etag_writes_exactly_once() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "policies:write clients:write idps:write").await;
    crate::common::oidc::register(&app, "default", "raced", |_| {}).await;
    let (status, _, body) = call(
        &app,
        Method::POST,
        "default",
        "/idps",
        &key,
        Some(
            json!({"slug": "raced", "kind": "oidc", "display_name": "Raced",
                    "settings": {"oidc": {"issuer": "https://raced.example", "client_id": "w"}}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for (path, bodies, action) in [
        (
            "/policy",
            // 2 to 9: none equals the default (1), so every one would be a change.
            (2..=9)
                .map(|i| json!({"session": {"max_sessions_per_user": i}}))
                .collect::<Vec<_>>(),
            "tenant_updated",
        ),
        (
            "/clients/raced",
            (1..=8)
                .map(|i| json!({"name": format!("writer {i}")}))
                .collect(),
            "client_updated",
        ),
        (
            "/idps/raced",
            (1..=8)
                .map(|i| json!({"display_name": format!("writer {i}")}))
                .collect(),
            "idp_updated",
        ),
    ] {
        let statuses = burst(&app, &key, path, bodies).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{path}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 412].contains(s)),
            "{path}: {statuses:?}"
        );
        let written = app
            .audit("default")
            .await
            .into_iter()
            .filter(|e| e.action == action)
            .count();
        assert_eq!(written, 1, "{path}");
    }
}
