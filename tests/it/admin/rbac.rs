//! The RBAC matrix, generated from the served OpenAPI document (itself generated from the
//! handlers): every admin route × every role (as a client token carrying the role's scopes, and
//! as an API key with the role's permissions) × own and another tenant → 2xx/4xx, 403 naming the
//! permission, or 404.

use reqwest::Method;
use serde_json::{Value, json};
use watchword::domain::admin::{Access, Module, Permission, Role};

use super::{call, client_token, person};
use crate::common::TestApp;

struct Route {
    verb: Method,
    path: String,
    needs: Option<Permission>,
}

fn routes(doc: &Value, user: &str, key: &str, client: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let needs = op["security"][0]["bearer"][0]
                .as_str()
                .map(|s| Permission::from_scope(s).expect("a known admin scope"));
            let concrete = if path.starts_with("/api-keys/") {
                path.replace("{id}", key)
            } else {
                path.replace("{id}", user).replace("{client_id}", client)
            };
            // Samples for the other parameters (records that need not exist: 404 is an answer).
            let concrete = concrete
                .replace("{slug}", "default")
                .replace("{idp}", "no-such-idp")
                .replace("{subject}", "nobody")
                .replace("{kid}", "no-such-kid")
                .replace("{sid}", "no-such-session");
            assert!(
                !concrete.contains('{'),
                "a sample for every parameter: {path}"
            );
            out.push(Route {
                verb: verb.to_uppercase().parse().unwrap(),
                path: concrete,
                needs,
            });
        }
    }
    assert!(out.len() >= 15, "the document lists the API's routes");
    out
}

fn body_for(route: &Route) -> Option<Value> {
    match route.verb {
        Method::POST | Method::PUT | Method::PATCH => Some(json!({})),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rbac_matrix_every_route_every_role_own_and_other_tenant() {
    let app = TestApp::start().await;
    super::other_tenant(&app).await;
    let doc: Value = reqwest::get(app.url("/t/default/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let target = app
        .create_user("default", "target", "a long enough password 1")
        .await;
    let (_, boss) = person(&app, "default", "boss", Role::TenantAdmin).await;
    let tenant = app.tenant("default").await;
    let throwaway = watchword::admin::api_keys::create(
        &app.app.ctx,
        &tenant,
        &boss,
        "throwaway",
        watchword::domain::admin::Permissions::parse("users:read").unwrap(),
        None,
    )
    .await
    .unwrap();
    let app_client = crate::common::oidc::register(&app, "default", "matrix-app", |_| {}).await;
    let table = routes(
        &doc,
        &target.id.to_string(),
        &throwaway.key.id,
        &app_client.client_id,
    );

    let mut checked = 0;
    for role in [
        Role::TenantAdmin,
        Role::TenantViewer,
        Role::UserManager,
        Role::Auditor,
    ] {
        let scopes: Vec<String> = role.permissions().iter().map(|p| p.scope()).collect();
        let own = client_token(&app, "default", &scopes).await;
        let foreign = client_token(&app, "other", &scopes).await;
        let key_perms: Vec<String> = role
            .permissions()
            .into_iter()
            .map(|p| {
                // A key can hold at most admins:read.
                if p.module == Module::Admins {
                    Permission::read(Module::Admins)
                } else {
                    p
                }
            })
            .map(|p| p.to_string())
            .collect();
        let key = super::api_key(&app, "default", &key_perms.join(" ")).await;
        for route in &table {
            for (who, credential, is_key) in [("token", &own, false), ("key", &key, true)] {
                let allowed = route.needs.is_none_or(|p| {
                    role.allows(p)
                        && !(is_key && p.module == Module::Admins && p.access == Access::Write)
                });
                let (status, _, problem) = call(
                    &app,
                    route.verb.clone(),
                    "default",
                    &route.path,
                    credential,
                    body_for(route),
                )
                .await;
                assert!(
                    status < 500,
                    "{role:?} {who} {} {}: {status}",
                    route.verb,
                    route.path
                );
                if allowed {
                    assert!(
                        ![401, 403].contains(&status),
                        "{role:?} {who} may {} {}: got {status} {problem}",
                        route.verb,
                        route.path
                    );
                } else {
                    assert_eq!(
                        status, 403,
                        "{role:?} {who} may not {} {}: {problem}",
                        route.verb, route.path
                    );
                    assert_eq!(problem["permission"], route.needs.unwrap().to_string());
                }
                checked += 1;
            }
            let (status, _, _) = call(
                &app,
                route.verb.clone(),
                "default",
                &route.path,
                &foreign,
                body_for(route),
            )
            .await;
            assert_eq!(
                status, 404,
                "{role:?} of another tenant: {} {}",
                route.verb, route.path
            );
            checked += 1;
        }
    }
    // A client token without admin scopes: refused everywhere but /me.
    let none = client_token(&app, "default", &["reports:read".into()]).await;
    for route in &table {
        let (status, _, _) = call(
            &app,
            route.verb.clone(),
            "default",
            &route.path,
            &none,
            body_for(route),
        )
        .await;
        let expected = if route.needs.is_none() { 200 } else { 403 };
        assert_eq!(
            status, expected,
            "no admin scope: {} {}",
            route.verb, route.path
        );
    }
    assert!(checked > 100, "{checked}");
}
