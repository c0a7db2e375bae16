//! Identity providers in the management UI: a generic OpenID Connect provider added, shown
//! without its secret ("set"), edited (an empty secret keeps it), disabled, enabled and deleted.

use reqwest::StatusCode;

use super::{ada, html, post};
use crate::common::TestApp;
use crate::common::browser::location;

const SECRET: &str = "upstream-secret-0123456789";

#[tokio::test]
async fn a_tenant_admin_adds_edits_disables_and_deletes_an_oidc_provider() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    assert!(
        html(&ada, "/t/default/admin/idps")
            .await
            .contains("No identity providers")
    );
    let res = post(
        &ada,
        "/t/default/admin/idps/new",
        "/t/default/admin/idps/new",
        &[
            ("slug", "corp"),
            ("display_name", "Corp"),
            ("issuer", "https://login.corp.example.test"),
            ("client_id", "watchword"),
            ("client_secret", SECRET),
            ("scopes", "openid email"),
            ("domains", "corp.example.test"),
            ("linking", "proof"),
            ("enabled", "1"),
            ("jit", "1"),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let href = "/t/default/admin/idps/corp";
    assert_eq!(location(&res), format!("{href}?done=idp-created"));
    let page = html(&ada, href).await;
    assert!(page.contains("https://login.corp.example.test"));
    assert!(page.contains("corp.example.test"));
    assert!(
        page.contains("<dd>set</dd>"),
        "the secret is only said to be set"
    );
    assert!(!page.contains(SECRET));
    let form = html(&ada, &format!("{href}/edit")).await;
    assert!(!form.contains(SECRET), "the form never fills in the secret");

    // Edit with an empty secret: kept.
    let res = post(
        &ada,
        &format!("{href}/edit"),
        &format!("{href}/edit"),
        &[
            ("display_name", "Corp SSO"),
            ("issuer", "https://login.corp.example.test"),
            ("client_id", "watchword"),
            ("client_secret", ""),
            ("scopes", "openid email"),
            ("domains", "corp.example.test"),
            ("linking", "proof"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(location(&res), format!("{href}?done=idp-updated"));
    let tenant = app.tenant("default").await;
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "corp")
        .await
        .unwrap();
    assert_eq!(stored.idp.display_name, "Corp SSO");
    assert!(stored.idp.has_secret);
    assert_eq!(
        watchword::admin::idps::open_secret(&app.app.ctx, &stored)
            .unwrap()
            .expose(),
        SECRET
    );

    // Disable, enable.
    let res = post(
        &ada,
        href,
        &format!("{href}/enabled"),
        &[("enabled", "false")],
    )
    .await;
    assert_eq!(location(&res), format!("{href}?done=idp-disabled"));
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "corp")
        .await
        .unwrap();
    assert!(!stored.idp.enabled);
    let res = post(
        &ada,
        href,
        &format!("{href}/enabled"),
        &[("enabled", "true")],
    )
    .await;
    assert_eq!(location(&res), format!("{href}?done=idp-enabled"));

    // Delete after confirming.
    let res = post(
        &ada,
        &format!("{href}/delete"),
        &format!("{href}/delete"),
        &[],
    )
    .await;
    assert_eq!(location(&res), "/t/default/admin/idps?done=idp-deleted");
    assert_eq!(ada.get(href).await.status(), StatusCode::NOT_FOUND);
    let audit = app.audit("default").await;
    for action in ["idp_created", "idp_updated", "idp_deleted"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
}
