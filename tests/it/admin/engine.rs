//! Administrative rules the use cases enforce themselves, whatever the path (API, UI, CLI):
//! the permission check, administrators' accounts needing `admins:write`, tenants only for the
//! instance level, and the last tenant admin never disabled (also by two admins at once).

use reqwest::Method;
use serde_json::json;
use watchword::admin::AdminError;
use watchword::admin::authz::Admin;
use watchword::domain::admin::{Module, Permission, Role};
use watchword::domain::audit::Actor;
use watchword::domain::secret::Secret;

use super::{api_key, call, client_token, person};
use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_cases_check_the_permission_themselves() {
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let (_, auditor) = person(&app, "default", "auditor", Role::Auditor).await;
    let plain = app
        .create_user("default", "plain", "a long enough password 1")
        .await;
    let refused =
        watchword::admin::users::set_enabled(ctx, &tenant, plain.clone(), false, &auditor)
            .await
            .unwrap_err();
    assert!(
        matches!(refused, AdminError::Forbidden(p) if p == Permission::write(Module::Users)),
        "{refused:?}"
    );
    let refused = watchword::admin::keys::rotate(ctx, &tenant, &[], false, &auditor)
        .await
        .unwrap_err();
    assert!(matches!(refused, AdminError::Forbidden(p) if p == Permission::write(Module::Keys)));
    // Tenants are the instance level: not even a tenant admin creates one.
    let (_, boss) = person(&app, "default", "boss", Role::TenantAdmin).await;
    let refused = watchword::admin::tenants::create(ctx, "acme", None, None, &boss)
        .await
        .unwrap_err();
    assert!(matches!(refused, AdminError::Forbidden(p) if p == Permission::write(Module::Tenants)));
    let (_, root) = person(&app, "default", "root", Role::InstanceAdmin).await;
    watchword::admin::tenants::create(ctx, "acme", None, None, &root)
        .await
        .unwrap();
    // The operator (CLI, seed) holds everything.
    let operator = Admin::operator(Actor::Cli);
    assert_eq!(
        watchword::admin::users::set_enabled(ctx, &tenant, plain, false, &operator)
            .await
            .unwrap(),
        0
    );
    // Nothing was written for the refusals.
    let audit = app.audit("default").await;
    assert_eq!(
        audit.iter().filter(|e| e.action == "user_disabled").count(),
        1
    );
    assert!(!audit.iter().any(|e| e.action == "keys_rotated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_accounts_need_admins_write_so_a_user_manager_cannot_take_one_over() {
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let (boss, _) = person(&app, "default", "boss", Role::TenantAdmin).await;
    let (_, manager) = person(&app, "default", "manager", Role::UserManager).await;
    let password = Secret::new("a brand new password 42".to_owned());
    let refused = watchword::admin::users::set_password(
        ctx,
        &tenant,
        &boss,
        &password,
        watchword::admin::access::OnReset::EndAccess,
        &manager,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, AdminError::Forbidden(p) if p == Permission::write(Module::Admins)),
        "{refused:?}"
    );
    let refused = watchword::admin::users::update_profile(
        ctx,
        &tenant,
        &boss,
        Some("attacker@example.com"),
        Some(true),
        None,
        boss.admin_role,
        &manager,
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, AdminError::Forbidden(_)));
    // Nor make someone an administrator by creating them.
    let refused = watchword::admin::users::create(
        ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "sidekick".into(),
            email: None,
            email_verified: false,
            display_name: None,
            password: None,
            admin_role: Some(Role::TenantAdmin),
            enabled: true,
        },
        &manager,
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, AdminError::Forbidden(p) if p == Permission::write(Module::Admins)));

    // Over the API: a key with users:write manages ordinary users, never an administrator.
    let key = api_key(&app, "default", "users:write").await;
    let plain = app
        .create_user("default", "plain", "a long enough password 1")
        .await;
    for (method, path, body) in [
        (Method::POST, format!("/users/{}/disable", boss.id), None),
        (
            Method::PUT,
            format!("/users/{}/password", boss.id),
            Some(json!({"password": "a brand new password 42"})),
        ),
        (Method::POST, format!("/users/{}/reset-mfa", boss.id), None),
    ] {
        let (status, _, problem) = call(&app, method, "default", &path, &key, body).await;
        assert_eq!(status, 403, "{path}: {problem}");
        assert_eq!(problem["permission"], "admins:write", "{path}");
    }
    let (status, _, _) = call(
        &app,
        Method::POST,
        "default",
        &format!("/users/{}/disable", plain.id),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let still = watchword::admin::users::find_by_id(ctx, &tenant, boss.id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.enabled);
    assert_eq!(still.version, boss.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_tenant_admin_cannot_be_disabled_even_by_two_admins_at_once() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let (a_user, a) = person(&app, "default", "admin-a", Role::TenantAdmin).await;
    let (b_user, b) = person(&app, "default", "admin-b", Role::TenantAdmin).await;
    let ctx = app.app.ctx.clone();
    let (t1, t2) = (tenant.clone(), tenant.clone());
    let (c1, c2) = (ctx.clone(), ctx.clone());
    let one = tokio::spawn(async move {
        watchword::admin::users::set_enabled(&c1, &t1, b_user, false, &a).await
    });
    let two = tokio::spawn(async move {
        watchword::admin::users::set_enabled(&c2, &t2, a_user, false, &b).await
    });
    let results = [one.await.unwrap(), two.await.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(AdminError::Refused(_))))
    );
    let enabled_admins = watchword::admin::users::list(&ctx, &tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.enabled && u.admin_role == Some(Role::TenantAdmin))
        .count();
    assert_eq!(enabled_admins, 1);

    // Over the API, with a token allowed to manage users and administrators: 409.
    let token = client_token(
        &app,
        "default",
        &["admin:users:write".into(), "admin:admins:write".into()],
    )
    .await;
    let last = watchword::admin::users::list(&ctx, &tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.enabled && u.admin_role == Some(Role::TenantAdmin))
        .unwrap();
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        &format!("/users/{}/disable", last.id),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    let disabled = app
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "user_disabled")
        .count();
    assert_eq!(disabled, 1);
}
