//! The admin REST API: credentials (API keys, client-credentials tokens), tenant isolation,
//! problem details, ETag / If-Match, keyset paging, roles, audit, and its OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};
use watchword::domain::admin::Role;

use super::{api_key, call, call_with, client_token, other_tenant, person};
use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_users_are_created_read_and_updated_without_lost_updates() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "users:write").await;

    let (status, headers, created) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &key,
        Some(json!({"username": "alice", "email": "alice@example.test"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let etag = headers["etag"].to_str().unwrap().to_owned();

    // A second user with the same name: 409 naming the field, as a problem.
    let (status, headers, problem) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &key,
        Some(json!({"username": "ALICE"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["field"], "username");
    assert!(
        problem["instance"]
            .as_str()
            .unwrap()
            .starts_with("urn:request:")
    );

    // Unknown fields are refused with the field named.
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &key,
        Some(json!({"username": "bob", "is_admin": true})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "is_admin");

    // Oversized bodies: 413.
    let big = "x".repeat(70 * 1024);
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &key,
        Some(json!({"username": "bob", "display_name": big})),
    )
    .await;
    assert_eq!(status, 413, "{problem}");

    let path = format!("/users/{id}");
    // An update needs If-Match (428), a stale one is 412, and nothing is written.
    let patch = json!({"display_name": "Alice A."});
    super::needs_if_match(&app, Method::PATCH, &path, &key, &patch).await;
    let (status, headers, updated) = call_with(
        &app,
        Method::PATCH,
        "default",
        &path,
        &key,
        Some(patch.clone()),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["display_name"], "Alice A.");
    assert_eq!(updated["email"], "alice@example.test", "absent fields stay");
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    // The second admin, still holding the first ETag, loses nothing: 412.
    let (status, _, _) = call_with(
        &app,
        Method::PATCH,
        "default",
        &path,
        &key,
        Some(json!({"display_name": "Mallory"})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 412);
    let (_, _, read) = call(&app, Method::GET, "default", &path, &key, None).await;
    assert_eq!(read["display_name"], "Alice A.");

    // The audit names the key as the actor.
    let audit = app.audit("default").await;
    let key_id = key.trim_start_matches("wwk_").split('.').next().unwrap();
    assert!(
        audit.iter().any(|e| e.action == "user_updated"
            && e.actor == format!("api_key:{key_id}")
            && e.subject.as_deref() == Some(&format!("user:{id}"))
            && e.ip.as_deref() == Some("127.0.0.1")
            && e.request_id.as_deref().is_some_and(|r| r.len() == 32)
            && e.diff.as_deref().is_some_and(|d| d.contains("Alice A."))),
        "{audit:?}"
    );

    // Unknown ids, malformed ids: 404 problems, never a 5xx.
    for bad in [
        "/users/00000000-0000-7000-8000-000000000000",
        "/users/not-an-id",
    ] {
        let (status, _, _) = call(&app, Method::GET, "default", bad, &key, None).await;
        assert_eq!(status, 404, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_lists_are_keyset_paged_and_searched_by_prefix() {
    let app = TestApp::start().await;
    for name in ["ann", "anna", "annabel", "bert", "carl"] {
        app.create_user("default", name, "a long enough password 1")
            .await;
    }
    let key = api_key(&app, "default", "users:read").await;

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(after) => format!("/users?limit=2&after={after}"),
            None => "/users?limit=2".to_owned(),
        };
        let (status, headers, page) = call(&app, Method::GET, "default", &path, &key, None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        next = page["next"].as_str().map(str::to_owned);
        assert_eq!(headers.contains_key("link"), next.is_some());
        if next.is_none() {
            break;
        }
    }
    let users: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|n| !n.starts_with("keymaker"))
        .collect();
    assert_eq!(users, ["ann", "anna", "annabel", "bert", "carl"]);

    let (_, _, page) = call(&app, Method::GET, "default", "/users?q=ANN", &key, None).await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "anna", "annabel"]);
    let (_, _, page) = call(&app, Method::GET, "default", "/users?q=bert@", &key, None).await;
    assert_eq!(page["items"][0]["username"], "bert");

    for bad in [
        "/users?limit=0",
        "/users?limit=101",
        "/users?after=%%%",
        "/users?limit=x",
        "/users?color=red",
    ] {
        let (status, _, problem) = call(&app, Method::GET, "default", bad, &key, None).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_never_manage_keys_or_roles_and_stop_working_when_revoked_or_expired() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let (_, boss) = person(&app, "default", "boss", Role::TenantAdmin).await;
    let (target, _) = person(&app, "default", "helper", Role::TenantViewer).await;
    let key = api_key(&app, "default", "admins:read users:write").await;

    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/api-keys",
        &key,
        Some(json!({"name": "escalate", "permissions": ["users:write"]})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(problem["permission"], "admins:write");
    let (status, _, _) = call(
        &app,
        Method::PUT,
        "default",
        &format!("/users/{}/role", target.id),
        &key,
        Some(json!({"role": "tenant_admin"})),
    )
    .await;
    assert_eq!(status, 403);
    // It can read keys (admins:read) and never sees a secret.
    let (status, _, page) = call(&app, Method::GET, "default", "/api-keys", &key, None).await;
    assert_eq!(status, 200);
    assert!(!page.to_string().contains("wwk_"));

    // The engine refuses a key that could manage keys, and permissions its maker lacks.
    let refused = watchword::admin::api_keys::create(
        &app.app.ctx,
        &tenant,
        &boss,
        "too strong",
        watchword::domain::admin::Permissions::parse("admins:write").unwrap(),
        None,
    )
    .await;
    assert!(
        matches!(refused, Err(watchword::admin::AdminError::Invalid(ref i)) if i.field == "permissions")
    );
    let (_, viewer) = person(&app, "default", "viewer", Role::TenantViewer).await;
    let refused = watchword::admin::api_keys::create(
        &app.app.ctx,
        &tenant,
        &viewer,
        "k",
        watchword::domain::admin::Permissions::parse("users:read").unwrap(),
        None,
    )
    .await;
    assert!(matches!(
        refused,
        Err(watchword::admin::AdminError::Forbidden(_))
    ));

    // Expiry on the injected clock.
    let short = watchword::admin::api_keys::create(
        &app.app.ctx,
        &tenant,
        &boss,
        "short",
        watchword::domain::admin::Permissions::parse("users:read").unwrap(),
        Some(1),
    )
    .await
    .unwrap();
    let (status, _, _) = call(&app, Method::GET, "default", "/users", &short.secret, None).await;
    assert_eq!(status, 200);
    app.clock.advance(chrono::Duration::days(1));
    let (status, headers, _) =
        call(&app, Method::GET, "default", "/users", &short.secret, None).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    // Revocation (idempotent) ends the key at once; a wrong secret for a real id is refused.
    let id = key
        .trim_start_matches("wwk_")
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    watchword::admin::api_keys::revoke(&app.app.ctx, &tenant, &boss, &id)
        .await
        .unwrap();
    watchword::admin::api_keys::revoke(&app.app.ctx, &tenant, &boss, &id)
        .await
        .unwrap();
    let (status, _, _) = call(&app, Method::GET, "default", "/users", &key, None).await;
    assert_eq!(status, 401);
    let forged = format!("wwk_{id}.{}", "A".repeat(43));
    let (status, _, _) = call(&app, Method::GET, "default", "/users", &forged, None).await;
    assert_eq!(status, 401);
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "api_key_revoked")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tokens_carry_admin_scopes_and_other_tenants_credentials_are_not_found() {
    let app = TestApp::start().await;
    other_tenant(&app).await;
    let reader = client_token(&app, "default", &["admin:users:read".into()]).await;
    let plain = client_token(&app, "default", &["reports:read".into()]).await;

    let (status, _, _) = call(&app, Method::GET, "default", "/users", &reader, None).await;
    assert_eq!(status, 200);
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &reader,
        Some(json!({"username": "x"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(problem["permission"], "users:write");
    let (status, _, me) = call(&app, Method::GET, "default", "/me", &plain, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["kind"], "client");
    assert_eq!(me["permissions"], json!([]));
    let (_, _, me) = call(&app, Method::GET, "default", "/me", &reader, None).await;
    assert_eq!(me["permissions"], json!(["users:read"]));
    let (status, _, _) = call(&app, Method::GET, "default", "/users", &plain, None).await;
    assert_eq!(status, 403);

    // Tenant B's credentials at tenant A's address: 404, like a tenant that does not exist.
    let other_key = api_key(&app, "other", "users:write").await;
    let other_token = client_token(&app, "other", &["admin:users:write".into()]).await;
    for credential in [&other_key, &other_token] {
        let (status, _, _) = call(&app, Method::GET, "default", "/users", credential, None).await;
        assert_eq!(status, 404);
        let (status, _, _) = call(&app, Method::GET, "nowhere", "/users", credential, None).await;
        assert_eq!(status, 404);
    }
    // Nothing, or garbage: 401 with a challenge.
    for credential in ["", "garbage", "wwk_zz.y", "a.b.c"] {
        let (status, headers, _) =
            call(&app, Method::GET, "default", "/users", credential, None).await;
        assert_eq!(status, 401, "{credential:?}");
        assert!(headers.contains_key("www-authenticate"));
    }
    // A user's own access token (code flow) never carries admin rights: not a client token.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_tenant_admin_cannot_be_removed_even_by_two_admins_at_once() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let (a_user, a) = person(&app, "default", "admin-a", Role::TenantAdmin).await;
    let (b_user, b) = person(&app, "default", "admin-b", Role::TenantAdmin).await;
    let ctx = app.app.ctx.clone();
    let (t1, t2) = (tenant.clone(), tenant.clone());
    let (c1, c2) = (ctx.clone(), ctx.clone());
    let one = tokio::spawn(async move {
        watchword::admin::roles::set(&c1, &t1, &a, &b_user, Some(Role::TenantViewer)).await
    });
    let two = tokio::spawn(async move {
        watchword::admin::roles::set(&c2, &t2, &b, &a_user, Some(Role::TenantViewer)).await
    });
    let results = [one.await.unwrap(), two.await.unwrap()];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(watchword::admin::AdminError::Refused(_))))
    );
    let admins = watchword::admin::users::list(&ctx, &tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.admin_role == Some(Role::TenantAdmin))
        .count();
    assert_eq!(admins, 1);
    let changed = app
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "role_changed")
        .count();
    assert_eq!(changed, 1);

    // Through the API with a token allowed to manage roles: the last admin stays (409).
    let token = client_token(
        &app,
        "default",
        &["admin:admins:write".into(), "admin:users:read".into()],
    )
    .await;
    let last = watchword::admin::users::list(&ctx, &tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.admin_role == Some(Role::TenantAdmin))
        .unwrap();
    let (status, _, problem) = call(
        &app,
        Method::PUT,
        "default",
        &format!("/users/{}/role", last.id),
        &token,
        Some(json!({"role": null})),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    // Giving instance admin needs an instance admin.
    let (status, _, _) = call(
        &app,
        Method::PUT,
        "default",
        &format!("/users/{}/role", last.id),
        &token,
        Some(json!({"role": "instance_admin"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, problem) = call(
        &app,
        Method::PUT,
        "default",
        &format!("/users/{}/role", last.id),
        &token,
        Some(json!({"role": "root"})),
    )
    .await;
    assert_eq!((status, problem["field"].clone()), (422, json!("role")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_is_filtered_paged_and_exported_as_ndjson() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "users:write events:read").await;
    for name in ["u1", "u2", "u3"] {
        let (status, _, _) = call(
            &app,
            Method::POST,
            "default",
            "/users",
            &key,
            Some(json!({"username": name})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, _, page) = call(
        &app,
        Method::GET,
        "default",
        "/audit?action=user_created&limit=2",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let (_, _, rest) = call(
        &app,
        Method::GET,
        "default",
        &format!("/audit?action=user_created&limit=2&after={next}"),
        &key,
        None,
    )
    .await;
    // Three by the key, plus the key maker's own user: at least one more page entry.
    assert!(!rest["items"].as_array().unwrap().is_empty());

    let res = crate::common::oidc::plain_client()
        .get(app.url("/t/default/admin/api/v1/audit/export?action=user_created"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let text = res.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3);
    assert!(lines.iter().all(|l| l["action"] == "user_created"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_generated_from_the_handlers_and_matches_its_snapshot() {
    let app = TestApp::start().await;
    let res = reqwest::get(app.url("/t/default/admin/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["servers"][0]["url"], "/t/default/admin/api/v1");
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            assert!(
                op["security"].is_array(),
                "{verb} {path} declares its permission"
            );
            // Client generators name methods after these: one per operation.
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                operation_ids.insert(id.clone()),
                "{verb} {path}: operationId {id:?} repeats"
            );
        }
    }
    let (status, _, _) = call(&app, Method::GET, "nowhere", "/../openapi.json", "", None).await;
    assert_eq!(status, 404);

    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/admin-openapi.json");
    let rendered = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("tests/snapshots/admin-openapi.json (run with UPDATE_SNAPSHOTS=1 to write it)");
    assert_eq!(
        rendered, expected,
        "the admin API changed: review it and run with UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_are_registered_rotated_and_deleted_over_the_api() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "clients:write").await;
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/clients",
        &key,
        Some(json!({"name": "Batch", "redirect_uris": ["http://evil.example/cb"]})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["field"].as_str().is_some());

    let (status, _, created) = call(
        &app,
        Method::POST,
        "default",
        "/clients",
        &key,
        Some(json!({
            "client_id": "batch", "name": "Batch",
            "grant_types": ["client_credentials"], "scopes": ["reports:read"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let first = created["client_secret"].as_str().unwrap().to_owned();
    let token = |secret: String| {
        let app = &app;
        async move {
            crate::common::oidc::plain_client()
                .post(app.url("/t/default/token"))
                .basic_auth("batch", Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(token(first.clone()).await, 200);
    let (status, _, rotated) = call(
        &app,
        Method::POST,
        "default",
        "/clients/batch/rotate-secret",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token(first).await, 401);
    assert_eq!(token(second.clone()).await, 200);
    let (_, _, listed) = call(&app, Method::GET, "default", "/clients", &key, None).await;
    assert!(
        !listed.to_string().contains(&second),
        "a secret is shown once"
    );

    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        "/clients/batch",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        "/clients/batch",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 204, "deletes are idempotent");
    assert_eq!(token(second).await, 401);
    let (status, _, _) = call(&app, Method::GET, "default", "/clients/batch", &key, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_updates_from_one_etag_writes_exactly_once() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "users:write").await;
    let (_, headers, created) = call(
        &app,
        Method::POST,
        "default",
        "/users",
        &key,
        Some(json!({"username": "raced"})),
    )
    .await;
    let path = format!("/users/{}", created["id"].as_str().unwrap());
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (app_url, key, path, etag) = (app.url(""), key.clone(), path.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            crate::common::oidc::plain_client()
                .patch(format!("{app_url}/t/default/admin/api/v1{path}"))
                .bearer_auth(key)
                .header("If-Match", etag)
                .json(&json!({"display_name": format!("writer {i}")}))
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
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 412].contains(s)),
        "{statuses:?}"
    );
    let updates = app
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "user_updated")
        .count();
    assert_eq!(updates, 1);
}
