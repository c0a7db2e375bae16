//! The management UI driven like a browser without JavaScript: every action a form with the
//! CSRF token, answered by a redirect; what it did checked in the database and the audit log.

use reqwest::StatusCode;
use watchword::domain::admin::Role;
use watchword::domain::audit::Actor;
use watchword::domain::mfa::MfaMode;

use super::{person, signed_in};
use crate::common::browser::location;
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

async fn user(app: &TestApp, slug: &str, name: &str) -> watchword::domain::user::User {
    let tenant = app.tenant(slug).await;
    watchword::admin::users::find(&app.app.ctx, &tenant, name)
        .await
        .unwrap()
        .expect("the user exists")
        .user
}

async fn live_sessions(app: &TestApp, id: watchword::domain::ids::UserId) -> usize {
    let tenant = app.tenant("default").await;
    watchword::admin::sessions::list(&app.app.ctx, &tenant, id)
        .await
        .unwrap()
        .len()
}

/// Posts a form of the page at `page` (its CSRF token) to `action`.
async fn post(b: &Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = b.csrf(page).await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post_form(action, &all).await
}

#[tokio::test]
async fn a_tenant_admin_creates_a_user_resets_mfa_ends_a_session_and_changes_a_role() {
    let app = TestApp::start().await;
    person(&app, "default", "ada", Some(Role::TenantAdmin)).await;
    let ada = signed_in(&app, "default", "ada").await;
    // A failed password step elsewhere: the dashboard's audit-based chart counts it.
    Browser::new(&app.base)
        .sign_in("default", "ada", "not the password at all")
        .await;

    // The dashboard and the navigation of a tenant admin.
    let res = ada.get("/t/default/admin/").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for screen in [
        "Users",
        "Sign-in events",
        "Audit log",
        "API keys",
        "What can I do",
    ] {
        assert!(html.contains(screen), "{screen} in the navigation");
    }
    assert!(html.contains("Sign-in events, last 24 hours"));
    assert!(
        html.contains("<svg class=\"chart\""),
        "a chart of the sign-ins"
    );
    let steps = html
        .find("Password steps by outcome")
        .expect("the password steps chart");
    let chart: String = html[steps..].chars().take(2000).collect();
    assert!(
        chart.contains(">invalid credentials<"),
        "the failed step is counted: {chart}"
    );
    assert!(html.contains("Second factors by outcome"));

    // Create a user.
    let res = post(
        &ada,
        "/t/default/admin/users/new",
        "/t/default/admin/users/new",
        &[
            ("username", "bob"),
            ("email", "bob@example.test"),
            ("display_name", "Bob"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let bob = user(&app, "default", "bob").await;
    let page = format!("/t/default/admin/users/{}", bob.id);
    assert_eq!(location(&res), format!("{page}?done=created"));
    assert!(bob.enabled);
    let audit = app.audit("default").await;
    let by_ada = format!("user:{}", user(&app, "default", "ada").await.id);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "user_created" && e.actor == by_ada)
    );

    // The list finds him by prefix, and a duplicate is refused on the form.
    let html = ada
        .get("/t/default/admin/users?q=bo")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&page), "bob is listed");
    let res = post(
        &ada,
        "/t/default/admin/users/new",
        "/t/default/admin/users/new",
        &[("username", "bob")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bob signs in; his session is listed and ended from his page.
    let bob_browser = signed_in(&app, "default", "bob").await;
    assert_eq!(live_sessions(&app, bob.id).await, 1);
    let html = ada.get(&page).await.text().await.unwrap();
    let sid = hidden_field(&html, "sid").expect("bob's session has an End button");
    let res = post(
        &ada,
        &page,
        &format!("{page}/sessions/end"),
        &[("sid", &sid)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{page}?done=session-ended"));
    assert_eq!(live_sessions(&app, bob.id).await, 0);
    assert_eq!(bob_browser.get("/t/default/account").await.status(), 303);

    // Reset his second factors: audited, and his new session ends too.
    signed_in(&app, "default", "bob").await;
    let res = post(&ada, &page, &format!("{page}/reset-mfa"), &[]).await;
    assert_eq!(location(&res), format!("{page}?done=mfa-reset"));
    assert_eq!(live_sessions(&app, bob.id).await, 0);
    let audit = app.audit("default").await;
    let subject = format!("user:{}", bob.id);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "factors_reset" && e.subject.as_deref() == Some(&subject))
    );

    // End every session.
    signed_in(&app, "default", "bob").await;
    signed_in(&app, "default", "bob").await;
    let res = post(&ada, &page, &format!("{page}/end-sessions"), &[]).await;
    assert_eq!(location(&res), format!("{page}?done=sessions-ended"));
    assert_eq!(live_sessions(&app, bob.id).await, 0);

    // Change his role.
    let res = post(
        &ada,
        &page,
        &format!("{page}/role"),
        &[("role", "user_manager")],
    )
    .await;
    assert_eq!(location(&res), format!("{page}?done=role"));
    assert_eq!(
        user(&app, "default", "bob").await.admin_role,
        Some(Role::UserManager)
    );
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "role_changed"
        && e.subject.as_deref() == Some(&subject)
        && e.details.contains("user_manager")));

    // Disable and enable.
    let res = post(&ada, &page, &format!("{page}/disable"), &[]).await;
    assert_eq!(location(&res), format!("{page}?done=disabled"));
    assert!(!user(&app, "default", "bob").await.enabled);
    let res = post(&ada, &page, &format!("{page}/enable"), &[]).await;
    assert_eq!(location(&res), format!("{page}?done=enabled"));
    assert!(user(&app, "default", "bob").await.enabled);

    // The page shows the notice and his audit trail.
    let html = ada
        .get(&format!("{page}?done=enabled"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("The account is enabled."));
    assert!(html.contains("role_changed") && html.contains("factors_reset"));

    // The last tenant admin cannot remove herself.
    let ada_id = user(&app, "default", "ada").await.id;
    let own = format!("/t/default/admin/users/{ada_id}");
    let res = post(&ada, &own, &format!("{own}/role"), &[("role", "")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        user(&app, "default", "ada").await.admin_role,
        Some(Role::TenantAdmin)
    );
}

#[tokio::test]
async fn a_tenant_viewer_sees_the_lists_and_every_form_is_refused() {
    let app = TestApp::start().await;
    let bob = person(&app, "default", "bob", None).await;
    person(&app, "default", "vic", Some(Role::TenantViewer)).await;
    let vic = signed_in(&app, "default", "vic").await;
    signed_in(&app, "default", "bob").await;

    let res = vic.get("/t/default/admin/users").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("bob") && !html.contains("Create a user"));
    let page = format!("/t/default/admin/users/{}", bob.id);
    let html = vic.get(&page).await.text().await.unwrap();
    assert!(html.contains("bob"));
    for action in [
        "Disable the account",
        "Reset second factors",
        "End every session",
        "Set the role",
        "Revoke",
    ] {
        assert!(!html.contains(action), "no {action} for a viewer");
    }
    let html = vic
        .get("/t/default/admin/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Create the key"));
    assert_eq!(vic.get("/t/default/admin/users/new").await.status(), 403);

    let token = vic.csrf("/t/default/account").await;
    for (action, extra) in [
        (format!("{page}/disable"), None),
        (format!("{page}/enable"), None),
        (format!("{page}/reset-mfa"), None),
        (format!("{page}/end-sessions"), None),
        (format!("{page}/sessions/end"), Some(("sid", "x"))),
        (format!("{page}/role"), Some(("role", "auditor"))),
        (
            "/t/default/admin/users/new".to_owned(),
            Some(("username", "eve")),
        ),
        ("/t/default/admin/api-keys".to_owned(), Some(("name", "k"))),
        (
            "/t/default/admin/api-keys/revoke".to_owned(),
            Some(("id", "x")),
        ),
    ] {
        let mut fields = vec![("csrf_token", token.as_str())];
        fields.extend(extra);
        let res = vic.post_form(&action, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {action}");
        assert!(res.text().await.unwrap().contains("permission"));
    }
    let bob = user(&app, "default", "bob").await;
    assert!(bob.enabled && bob.admin_role.is_none());
    assert_eq!(live_sessions(&app, bob.id).await, 1);
    assert!(user_absent(&app, "eve").await);
}

async fn user_absent(app: &TestApp, name: &str) -> bool {
    let tenant = app.tenant("default").await;
    watchword::admin::users::find(&app.app.ctx, &tenant, name)
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn an_auditor_sees_events_and_audit_but_not_users() {
    let app = TestApp::start().await;
    person(&app, "default", "aud", Some(Role::Auditor)).await;
    let aud = signed_in(&app, "default", "aud").await;
    let html = aud.get("/t/default/admin/").await.text().await.unwrap();
    assert!(html.contains("Audit log") && !html.contains("/admin/users\""));
    assert!(html.contains("<h2>Retention</h2>"));
    // Once the purges ran, the dashboard shows when and how many rows they removed.
    watchword::jobs::purge_audit_events(&app.app.ctx).await;
    watchword::jobs::purge_sign_in_events(&app.app.ctx).await;
    let html = aud.get("/t/default/admin/").await.text().await.unwrap();
    assert!(
        html.contains("<td>audit_events</td>") && html.contains("<td>sign_in_events</td>"),
        "{html}"
    );
    assert_eq!(aud.get("/t/default/admin/users").await.status(), 403);
    assert_eq!(aud.get("/t/default/admin/api-keys").await.status(), 403);
    assert_eq!(aud.get("/t/default/admin/audit").await.status(), 200);
    assert_eq!(
        aud.get("/t/default/admin/events?level=high").await.status(),
        200
    );
    let html = aud.get("/t/default/admin/me").await.text().await.unwrap();
    assert!(html.contains("events") && !html.contains("<td>users</td>"));
}

#[tokio::test]
async fn a_person_without_a_role_gets_403_and_a_visitor_signs_in_first() {
    let app = TestApp::start().await;
    person(&app, "default", "pat", None).await;
    let anonymous = app.browser();
    let res = anonymous.get("/t/default/admin/users?q=a").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/t/default/login?return_to=%2Ft%2Fdefault%2Fadmin%2Fusers%3Fq%3Da"
    );
    let pat = signed_in(&app, "default", "pat").await;
    for path in [
        "/t/default/admin/",
        "/t/default/admin/users",
        "/t/default/admin/me",
    ] {
        let res = pat.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let token = pat.csrf("/t/default/account").await;
    let res = pat
        .post_form(
            "/t/default/admin/users/new",
            &[("csrf_token", &token), ("username", "eve")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(user_absent(&app, "eve").await);
}

#[tokio::test]
async fn an_admin_of_one_tenant_never_sees_another() {
    let app = TestApp::start().await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let olga = person(&app, "other", "olga-secret-name", None).await;
    person(&app, "other", "oscar", Some(Role::TenantAdmin)).await;
    person(&app, "default", "ada", Some(Role::InstanceAdmin)).await;
    let ada = signed_in(&app, "default", "ada").await;

    // Another tenant's user through this tenant's pages: not found, and nothing changes.
    let page = format!("/t/default/admin/users/{}", olga.id);
    assert_eq!(ada.get(&page).await.status(), StatusCode::NOT_FOUND);
    let token = ada.csrf("/t/default/account").await;
    for action in ["disable", "reset-mfa", "end-sessions"] {
        let res = ada
            .post_form(&format!("{page}/{action}"), &[("csrf_token", &token)])
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert!(user(&app, "other", "olga-secret-name").await.enabled);
    let html = ada
        .get("/t/default/admin/users?q=olga")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("olga-secret-name"));

    // The other tenant's pages: this browser is nobody there, even with this tenant's cookie
    // presented under the other tenant's name.
    let res = ada.get("/t/other/admin/users").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/t/other/login"));
    let cookie = ada.cookie("ww-session-default").expect("a session cookie");
    ada.set_cookie("ww-session-other", &cookie);
    let res = ada.get("/t/other/admin/users").await;
    assert_ne!(res.status(), StatusCode::OK);
    assert!(!res.text().await.unwrap().contains("olga-secret-name"));
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::start().await;
    let bob = person(&app, "default", "bob", None).await;
    person(&app, "default", "ada", Some(Role::TenantAdmin)).await;
    let ada = signed_in(&app, "default", "ada").await;
    let page = format!("/t/default/admin/users/{}", bob.id);
    let res = ada.post_form(&format!("{page}/disable"), &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "no token");
    let res = ada
        .post_form(&format!("{page}/disable"), &[("csrf_token", "forged")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a wrong token");
    let res = ada
        .post_form("/t/default/admin/users/new", &[("username", "eve")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(user(&app, "default", "bob").await.enabled);
    assert!(user_absent(&app, "eve").await);
}

#[tokio::test]
async fn where_admins_need_a_second_factor_the_session_steps_up_first() {
    let app = TestApp::start().await;
    person(&app, "default", "ada", Some(Role::TenantAdmin)).await;
    // Signed in while the tenant did not require it: the session has no second factor.
    let ada = signed_in(&app, "default", "ada").await;
    assert_eq!(ada.get("/t/default/admin/users").await.status(), 200);
    crate::mfa::set_mfa(&app, MfaMode::RequiredForAdmins).await;
    let res = ada.get("/t/default/admin/users").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/t/default/login/verify?step_up=mfa&return_to=%2Ft%2Fdefault%2Fadmin%2Fusers"
    );
    let token = ada.csrf("/t/default/account").await;
    let res = ada
        .post_form(
            "/t/default/admin/users/new",
            &[("csrf_token", &token), ("username", "eve")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/t/default/login/verify?step_up=mfa"));
    assert!(user_absent(&app, "eve").await);
}

#[tokio::test]
async fn api_keys_are_created_shown_once_and_revoked() {
    let app = TestApp::start().await;
    person(&app, "default", "ada", Some(Role::TenantAdmin)).await;
    let ada = signed_in(&app, "default", "ada").await;
    let res = post(
        &ada,
        "/t/default/admin/api-keys",
        "/t/default/admin/api-keys",
        &[
            ("name", "reporting"),
            ("perm_events:read", "1"),
            ("expires_in_days", "30"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let start = html.find("<code id=\"new-secret\">").expect("the secret") + 22;
    let secret = &html[start..start + html[start..].find('<').unwrap()];
    assert!(secret.starts_with("wwk_"));
    let html = ada
        .get("/t/default/admin/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("reporting") && !html.contains(secret),
        "shown once"
    );
    // admins:write is never offered, and refused when posted anyway.
    assert!(!html.contains("perm_admins:write"));
    let res = post(
        &ada,
        "/t/default/admin/api-keys",
        "/t/default/admin/api-keys",
        &[("name", "wide"), ("perm_admins:write", "1")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = hidden_field(&html, "id").expect("a Revoke button");
    let res = post(
        &ada,
        "/t/default/admin/api-keys",
        "/t/default/admin/api-keys/revoke",
        &[("id", &id)],
    )
    .await;
    assert_eq!(location(&res), "/t/default/admin/api-keys?done=revoked");
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "api_key_created"));
    assert!(audit.iter().any(|e| e.action == "api_key_revoked"));
}
