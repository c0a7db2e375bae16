//! The management UI (`/t/{tenant}/admin/…`, `web::admin_ui`): `pages.rs` drives it with the
//! cookie-carrying browser (a tenant admin's actions checked in the database and the audit log, a
//! viewer's and a role-less person's refusals, another tenant, CSRF, MFA for administrators);
//! `browser.rs` runs `tests/e2e/admin.mjs` in headless Chromium (axe-core on the main screens, a
//! form submitted with JavaScript off, screenshots under `target/admin-ui/`). The configuration
//! screens each have a file: `clients.rs`, `idps.rs`, `sessions.rs`, `keys.rs`, `policy.rs`,
//! `tenants.rs`; `viewer.rs` checks a viewer's read-only view and refusals on all of them, and
//! `htmx.rs` the fragments htmx gets (and that everything works without it).

mod browser;
mod clients;
mod dashboard;
mod htmx;
mod idp_kinds;
mod idps;
mod keys;
mod pages;
mod policy;
mod sessions;
mod tenants;
mod viewer;

use watchword::domain::admin::Role;
use watchword::domain::audit::Actor;
use watchword::domain::secret::Secret;
use watchword::domain::user::User;

use crate::common::{Browser, GOOD_PASSWORD, TestApp};

/// Posts a form of the page at `page` (with its CSRF token) to `action`.
pub async fn post(
    b: &Browser,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = b.csrf(page).await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post_form(action, &all).await
}

/// The page's HTML, after checking it answered 200.
pub async fn html(b: &Browser, path: &str) -> String {
    let res = b.get(path).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK, "GET {path}");
    res.text().await.unwrap()
}

/// A tenant admin `ada` of `default`, signed in.
pub async fn ada(app: &TestApp) -> Browser {
    person(app, "default", "ada", Some(Role::TenantAdmin)).await;
    signed_in(app, "default", "ada").await
}

/// Creates `username` in tenant `slug` with `role` (and the good password).
pub async fn person(app: &TestApp, slug: &str, username: &str, role: Option<Role>) -> User {
    let tenant = app.tenant(slug).await;
    watchword::admin::users::create(
        &app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: username.into(),
            email: Some(format!("{username}@example.test")),
            email_verified: true,
            display_name: None,
            password: Some(Secret::new(GOOD_PASSWORD.into())),
            admin_role: role,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap()
}

/// A browser signed in to tenant `slug` as `username`.
pub async fn signed_in(app: &TestApp, slug: &str, username: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(slug, username, GOOD_PASSWORD).await;
    assert_eq!(res.status(), 303, "{username} signs in");
    b
}
