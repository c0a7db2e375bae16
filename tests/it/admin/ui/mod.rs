//! The management UI (`/t/{tenant}/admin/…`, `web::admin_ui`): `pages.rs` drives it with the
//! cookie-carrying browser (a tenant admin's actions checked in the database and the audit log, a
//! viewer's and a role-less person's refusals, another tenant, CSRF, MFA for administrators);
//! `browser.rs` runs `tests/e2e/admin.mjs` in headless Chromium (axe-core on the main screens, a
//! form submitted with JavaScript off, screenshots under `target/admin-ui/`).

mod browser;
mod pages;

use watchword::domain::admin::Role;
use watchword::domain::audit::Actor;
use watchword::domain::secret::Secret;
use watchword::domain::user::User;

use crate::common::{Browser, GOOD_PASSWORD, TestApp};

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
