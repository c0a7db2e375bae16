//! Administration: the admin REST API (authentication, roles, API keys, conventions), its
//! OpenAPI document, and the RBAC matrix generated from it.

mod api;
mod api_idps;
mod api_operations;
mod api_parity;
mod api_settings;
mod audit_trail;
mod engine;
mod export;
mod fuzz;
mod rbac;
mod ui;

use serde_json::Value;
use watchword::admin::authz::{Admin, Caller};
use watchword::domain::admin::{Permissions, Role};
use watchword::domain::audit::Origin;
use watchword::domain::user::User;

use crate::common::TestApp;

/// A person of tenant `slug` with `role`, as the engine sees them.
pub async fn person(app: &TestApp, slug: &str, username: &str, role: Role) -> (User, Admin) {
    let user = app
        .create_user(slug, username, "a long enough password 1")
        .await;
    let tenant = app.tenant(slug).await;
    let mut with_role = user.clone();
    with_role.admin_role = Some(role);
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::users::update_profile(c, &with_role))
        .await
        .unwrap();
    let user = watchword::admin::users::find_by_id(&app.app.ctx, &tenant, user.id)
        .await
        .unwrap()
        .unwrap();
    let admin = Admin {
        caller: Caller::Person {
            user: user.id,
            username: user.username.clone(),
            role,
        },
        home: tenant.id,
        origin: Origin::default(),
    };
    (user, admin)
}

/// Creates a second tenant, `other`.
pub async fn other_tenant(app: &TestApp) {
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
}

/// An API key of tenant `slug` with `permissions`, made by a tenant admin.
pub async fn api_key(app: &TestApp, slug: &str, permissions: &str) -> String {
    let tenant = app.tenant(slug).await;
    let maker = format!(
        "keymaker-{}",
        watchword::crypto::random::token()[..8].to_lowercase()
    );
    let (_, admin) = person(app, slug, &maker, Role::TenantAdmin).await;
    watchword::admin::api_keys::create(
        &app.app.ctx,
        &tenant,
        &admin,
        "test key",
        Permissions::parse(permissions).unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret
}

/// An access token from client credentials for a new client of `slug` allowed `scopes`.
pub async fn client_token(app: &TestApp, slug: &str, scopes: &[String]) -> String {
    use watchword::domain::client::GrantType;
    let id = format!(
        "svc-{}",
        watchword::crypto::random::token()[..10].to_lowercase()
    );
    let scopes = scopes.to_vec();
    let registered = crate::common::oidc::register(app, slug, &id, |c| {
        c.settings.grant_types = vec![GrantType::ClientCredentials];
        c.settings.redirect_uris.clear();
        c.settings.post_logout_redirect_uris.clear();
        c.settings.scopes = scopes;
    })
    .await;
    let res = crate::common::oidc::plain_client()
        .post(app.url(&format!("/t/{slug}/token")))
        .basic_auth(&registered.client_id, registered.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "client credentials for {id}");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A request to the admin API of `slug`: status, headers and JSON body (or `Null`).
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    slug: &str,
    path: &str,
    credential: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call_with(app, method, slug, path, credential, body, &[]).await
}

pub async fn call_with(
    app: &TestApp,
    method: reqwest::Method,
    slug: &str,
    path: &str,
    credential: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = crate::common::oidc::plain_client()
        .request(method, app.url(&format!("/t/{slug}/admin/api/v1{path}")))
        .bearer_auth(credential);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// An update of `path` in `default` without `If-Match` is 428, with a stale one 412.
pub async fn needs_if_match(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    credential: &str,
    body: &Value,
) {
    let (status, _, problem) = call(
        app,
        method.clone(),
        "default",
        path,
        credential,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 428, "{method} {path} without If-Match: {problem}");
    let (status, _, problem) = call_with(
        app,
        method.clone(),
        "default",
        path,
        credential,
        Some(body.clone()),
        &[("If-Match", "\"v999\"")],
    )
    .await;
    assert_eq!(status, 412, "{method} {path} with a stale ETag: {problem}");
}
