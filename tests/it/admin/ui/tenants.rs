//! The tenants screen: only for instance administrators (to a tenant admin it is "not found",
//! and not in the navigation); an instance admin lists tenants and creates one.

use reqwest::StatusCode;
use watchword::domain::admin::Role;

use super::{ada, html, person, post, signed_in};
use crate::common::TestApp;
use crate::common::browser::location;

#[tokio::test]
async fn only_an_instance_admin_lists_and_creates_tenants() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    assert!(
        !html(&ada, "/t/default/admin/")
            .await
            .contains("/admin/tenants")
    );
    // Not theirs: "not found", as another tenant's things are.
    let res = ada.get("/t/default/admin/tenants").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let csrf = ada.csrf("/t/default/account").await;
    let res = ada
        .post_form(
            "/t/default/admin/tenants",
            &[
                ("csrf_token", &csrf),
                ("slug", "evil"),
                ("display_name", "Evil"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    person(&app, "default", "root", Some(Role::InstanceAdmin)).await;
    let root = signed_in(&app, "default", "root").await;
    assert!(
        html(&root, "/t/default/admin/")
            .await
            .contains("/t/default/admin/tenants")
    );
    let page = html(&root, "/t/default/admin/tenants").await;
    assert!(page.contains("/t/default/admin/"));
    let res = post(
        &root,
        "/t/default/admin/tenants",
        "/t/default/admin/tenants",
        &[("slug", "acme"), ("display_name", "Acme Corp")],
    )
    .await;
    assert_eq!(
        location(&res),
        "/t/default/admin/tenants?done=tenant-created"
    );
    let page = html(&root, "/t/default/admin/tenants").await;
    assert!(page.contains("Acme Corp") && page.contains("/t/acme/admin/"));
    assert_eq!(app.tenant("acme").await.display_name, "Acme Corp");
    let res = post(
        &root,
        "/t/default/admin/tenants",
        "/t/default/admin/tenants",
        &[("slug", "Not A Slug!"), ("display_name", "x")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Not A Slug!"), "kept");
    let tenants = watchword::admin::tenants::list(&app.app.ctx).await.unwrap();
    assert!(!tenants.iter().any(|t| t.slug.as_str() == "evil"));
}
