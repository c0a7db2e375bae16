//! The admin API's operations: signing keys (list, rotate, withdraw), tenants (instance admins
//! only), a user's consents and grants (withdrawn per application), ending one session by id.

use reqwest::Method;
use serde_json::json;
use watchword::domain::admin::Role;

use super::{api_key, call, client_token, other_tenant, person};
use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_are_listed_rotated_and_withdrawn() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "keys:write").await;
    let (status, _, keys) = call(&app, Method::GET, "default", "/keys", &key, None).await;
    assert_eq!(status, 200, "{keys}");
    let active: Vec<_> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "active")
        .collect();
    assert_eq!(active.len(), 3, "one signing key per algorithm: {keys}");
    assert!(!keys.to_string().contains("private"), "{keys}");

    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/keys/rotate",
        &key,
        Some(json!({"algs": ["HS256"]})),
    )
    .await;
    assert_eq!((status, problem["field"].clone()), (422, json!("algs")));
    let (status, _, rotated) = call(
        &app,
        Method::POST,
        "default",
        "/keys/rotate",
        &key,
        Some(json!({"algs": ["ES256"]})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated[0]["alg"], "ES256");
    assert_eq!(rotated[0]["state"], "pending", "published before it signs");

    let es = active.iter().find(|k| k["alg"] == "ES256").unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, replacement) = call(
        &app,
        Method::POST,
        "default",
        &format!("/keys/{es}/withdraw"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{replacement}");
    assert_eq!(replacement["state"], "active");
    let (_, _, keys) = call(&app, Method::GET, "default", "/keys", &key, None).await;
    assert!(!keys.to_string().contains(&es), "withdrawn at once: {keys}");
    let (status, _, _) = call(
        &app,
        Method::POST,
        "default",
        &format!("/keys/{es}/withdraw"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "keys_rotated" && e.outcome == "withdrawn"),
        "{audit:?}"
    );

    let reader = api_key(&app, "default", "keys:read").await;
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/keys/rotate",
        &reader,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("keys:write"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_for_instance_admins_only() {
    let app = TestApp::start().await;
    other_tenant(&app).await;
    // No client token ever holds tenants:*, a tenant admin's included, nor a key a tenant admin made.
    let scopes: Vec<String> = Role::TenantAdmin
        .permissions()
        .iter()
        .map(|p| p.scope())
        .collect();
    let token = client_token(&app, "default", &scopes).await;
    let key = api_key(&app, "default", "users:write").await;
    for credential in [&token, &key] {
        for (verb, path, body, needs) in [
            (Method::GET, "/tenants", None, "tenants:read"),
            (Method::GET, "/tenants/other", None, "tenants:read"),
            (
                Method::POST,
                "/tenants",
                Some(json!({"slug": "sneaky"})),
                "tenants:write",
            ),
        ] {
            let (status, _, problem) = call(&app, verb, "default", path, credential, body).await;
            assert_eq!((status, problem["permission"].clone()), (403, json!(needs)));
        }
    }

    // The engine: a tenant admin is refused, an instance admin allowed.
    let ctx = &app.app.ctx;
    let (_, tenant_admin) = person(&app, "default", "ta", Role::TenantAdmin).await;
    assert!(matches!(
        watchword::admin::instance::list(ctx, &tenant_admin).await,
        Err(watchword::admin::AdminError::Forbidden(_))
    ));
    assert!(
        watchword::admin::instance::create(ctx, "sneaky", None, None, &tenant_admin)
            .await
            .is_err()
    );
    let (_, root) = person(&app, "default", "root", Role::InstanceAdmin).await;
    let policy =
        watchword::admin::policies::parse(json!({"password": {"min_length": 14}})).unwrap();
    let made = watchword::admin::instance::create(ctx, "acme", Some("Acme"), Some(policy), &root)
        .await
        .unwrap();
    assert_eq!(made.policy.password.min_length, 14);
    let all = watchword::admin::instance::list(ctx, &root).await.unwrap();
    let slugs: Vec<_> = all.iter().map(|t| t.slug.to_string()).collect();
    assert_eq!(slugs, ["acme", "default", "other"]);
    let read = watchword::admin::instance::get(ctx, "other", &root)
        .await
        .unwrap();
    assert_eq!(read.slug.as_str(), "other");
    assert!(matches!(
        watchword::admin::instance::create(ctx, "acme", None, None, &root).await,
        Err(watchword::admin::AdminError::Conflict(_))
    ));
    let audit = app.audit("acme").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "tenant_created" && e.actor.starts_with("user:")),
        "{audit:?}"
    );

    // A key an instance admin made may carry tenants:* (a tenant admin cannot make one).
    let tenant = app.tenant("default").await;
    let refused = watchword::admin::api_keys::create(
        ctx,
        &tenant,
        &tenant_admin,
        "tenants",
        watchword::domain::admin::Permissions::parse("tenants:read").unwrap(),
        None,
    )
    .await;
    assert!(
        matches!(refused, Err(watchword::admin::AdminError::Invalid(_))),
        "{refused:?}"
    );
    let root_key = watchword::admin::api_keys::create(
        ctx,
        &tenant,
        &root,
        "provisioning",
        watchword::domain::admin::Permissions::parse("tenants:write").unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret;
    let (status, _, listed) = call(&app, Method::GET, "default", "/tenants", &root_key, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let (status, _, made) = call(
        &app,
        Method::POST,
        "default",
        "/tenants",
        &root_key,
        Some(json!({"slug": "globex", "display_name": "Globex"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (status, _, _) = call(
        &app,
        Method::GET,
        "default",
        "/tenants/globex",
        &root_key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    // It sees no other tenant's users: its home is its tenant.
    let (status, _, _) = call(&app, Method::GET, "other", "/users", &root_key, None).await;
    assert_eq!(status, 404);
    // And it holds nothing else.
    let (status, _, problem) = call(&app, Method::GET, "default", "/users", &root_key, None).await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("users:read"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_consents_are_listed_and_withdrawn_per_application() {
    let app = TestApp::start().await;
    other_tenant(&app).await;
    let key = api_key(&app, "default", "users:write").await;
    let user = app
        .create_user("default", "consenting", "a long enough password 1")
        .await;
    crate::common::oidc::register(&app, "default", "third", |c| {
        c.settings.first_party = false;
    })
    .await;
    let tenant = app.tenant("default").await;
    let (t, u) = (tenant.id, user.id);
    app.app
        .ctx
        .db
        .run(move |c| {
            watchword::storage::consents::grant(c, t, u, "third", &["openid".into()], 1_000)
        })
        .await
        .unwrap();
    let path = format!("/users/{}/consents", user.id);
    let (status, _, apps) = call(&app, Method::GET, "default", &path, &key, None).await;
    assert_eq!(status, 200, "{apps}");
    assert_eq!(apps[0]["client_id"], "third");
    assert_eq!(apps[0]["consented_scopes"], json!(["openid"]));

    let (status, _, done) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("{path}/third"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["consent_forgotten"], true);
    let (_, _, apps) = call(&app, Method::GET, "default", &path, &key, None).await;
    assert_eq!(apps, json!([]));
    let (status, _, again) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("{path}/third"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (status, again["consent_forgotten"].clone()),
        (200, json!(false))
    );
    let audit = app.audit("default").await;
    assert!(
        audit.iter().any(|e| e.action == "access_withdrawn"
            && e.actor.starts_with("api_key:")
            && e.subject.as_deref() == Some("client:third")),
        "{audit:?}"
    );

    // Another tenant's user is not found; a reader may not withdraw.
    let stranger = app
        .create_user("other", "stranger", "a long enough password 1")
        .await;
    let (status, _, _) = call(
        &app,
        Method::GET,
        "default",
        &format!("/users/{}/consents", stranger.id),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let viewer = api_key(&app, "default", "users:read").await;
    let (status, _, problem) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("{path}/third"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("users:write"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_is_ended_by_its_id() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "sessions:write policies:write").await;
    let (_, headers, _) = call(&app, Method::GET, "default", "/policy", &key, None).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, _) = super::call_with(
        &app,
        Method::PATCH,
        "default",
        "/policy",
        &key,
        Some(json!({"session": {"max_sessions_per_user": 5}})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200);
    let user = app
        .create_user("default", "roamer", "a long enough password 1")
        .await;
    for _ in 0..2 {
        let browser = app.browser();
        browser
            .sign_in("default", "roamer", "a long enough password 1")
            .await;
    }
    let path = format!("/users/{}/sessions", user.id);
    let (_, _, live) = call(&app, Method::GET, "default", &path, &key, None).await;
    assert_eq!(live.as_array().unwrap().len(), 2, "{live}");
    let sid = live[0]["sid"].as_str().unwrap().to_owned();
    let reader = api_key(&app, "default", "sessions:read").await;
    let (status, _, problem) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("/sessions/{sid}"),
        &reader,
        None,
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("sessions:write"))
    );
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("/sessions/{sid}"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, _, live) = call(&app, Method::GET, "default", &path, &key, None).await;
    assert_eq!(live.as_array().unwrap().len(), 1, "{live}");
    assert_ne!(live[0]["sid"], sid);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("/sessions/{sid}"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404);
}
