//! A tenant viewer on the configuration screens: every one renders, without a single action
//! form (only the search forms), and every action posted anyway is refused with 403.

use reqwest::StatusCode;
use watchword::domain::admin::Role;

use super::{ada, html, person, post, signed_in};
use crate::common::TestApp;

#[tokio::test]
async fn a_viewer_reads_the_configuration_screens_but_every_action_is_refused() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    // Something on every screen: an application and a provider.
    let res = post(
        &ada,
        "/t/default/admin/clients/new",
        "/t/default/admin/clients/new",
        &[
            ("name", "App"),
            ("kind", "public"),
            ("redirect_uris", "https://app.example.test/cb"),
            ("grant_authorization_code", "1"),
            ("mode_query", "1"),
            ("scopes", "openid"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let tenant = app.tenant("default").await;
    let client = watchword::admin::clients::list(&app.app.ctx, &tenant)
        .await
        .unwrap()[0]
        .client_id
        .clone();
    let kid = watchword::signing::rotation::list(&app.app.ctx, tenant.id)
        .await
        .unwrap()[0]
        .kid
        .clone();
    let bob = person(&app, "default", "bob", None).await;
    signed_in(&app, "default", "bob").await;

    person(&app, "default", "vic", Some(Role::TenantViewer)).await;
    let vic = signed_in(&app, "default", "vic").await;
    let nav = html(&vic, "/t/default/admin/").await;
    for screen in [
        "Applications",
        "Identity providers",
        "Sessions",
        "Signing keys",
        "Policy",
    ] {
        assert!(nav.contains(screen), "{screen} in a viewer's navigation");
    }
    assert!(!nav.contains("Tenants"));
    let client_page = format!("/t/default/admin/clients/{client}");
    let sessions = format!("/t/default/admin/sessions?user={}", bob.id);
    for path in [
        "/t/default/admin/clients",
        client_page.as_str(),
        "/t/default/admin/idps",
        sessions.as_str(),
        "/t/default/admin/keys",
        "/t/default/admin/policy",
    ] {
        let page = html(&vic, path).await;
        assert!(
            !page.contains("method=\"post\""),
            "no action form on {path}"
        );
        assert!(!page.contains("type=\"submit\">Save"), "{path}");
    }
    let policy = html(&vic, "/t/default/admin/policy").await;
    assert!(policy.contains("disabled"), "the policy is shown read-only");
    for path in [
        "/t/default/admin/clients/new",
        "/t/default/admin/idps/new",
        "/t/default/admin/keys/withdraw?kid=x",
    ] {
        assert_eq!(
            vic.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    let token = vic.csrf("/t/default/account").await;
    let id = bob.id.to_string();
    for (action, extra) in [
        (
            "/t/default/admin/clients/new".to_owned(),
            vec![("name", "Evil")],
        ),
        (format!("{client_page}/edit"), vec![("name", "Evil")]),
        (format!("{client_page}/secret"), vec![]),
        (format!("{client_page}/delete"), vec![]),
        (
            "/t/default/admin/idps/new".to_owned(),
            vec![("slug", "evil")],
        ),
        (
            "/t/default/admin/sessions/end".to_owned(),
            vec![("user", id.as_str())],
        ),
        (
            "/t/default/admin/keys/rotate".to_owned(),
            vec![("alg", "all")],
        ),
        (
            "/t/default/admin/keys/withdraw".to_owned(),
            vec![("kid", kid.as_str())],
        ),
        (
            "/t/default/admin/policy".to_owned(),
            vec![("audit.retention_days", "5")],
        ),
    ] {
        let mut fields = vec![("csrf_token", token.as_str())];
        fields.extend(extra);
        let res = vic.post_form(&action, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {action}");
    }
    // The tenants screen is not theirs at all: "not found", not "forbidden".
    let fields = [("csrf_token", token.as_str()), ("slug", "evil")];
    let res = vic.post_form("/t/default/admin/tenants", &fields).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let tenant = app.tenant("default").await;
    assert_eq!(
        watchword::admin::clients::list(&app.app.ctx, &tenant)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        watchword::admin::sessions::list(&app.app.ctx, &tenant, bob.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        watchword::signing::rotation::list(&app.app.ctx, tenant.id)
            .await
            .unwrap()
            .iter()
            .any(|k| k.kid == kid)
    );
}
