//! Applications in the management UI: registered with the secret shown once, listed, edited
//! (audited with a diff), given a new secret, deleted after a confirmation; a bad redirect URI is
//! refused on the form, which keeps what was typed.

use reqwest::StatusCode;

use super::{ada, html, post};
use crate::common::TestApp;
use crate::common::browser::location;

#[tokio::test]
async fn a_tenant_admin_registers_edits_rotates_and_deletes_an_application() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let list = html(&ada, "/t/default/admin/clients").await;
    assert!(list.contains("Register an application"));

    // Register: the answer page shows the secret once.
    let res = post(
        &ada,
        "/t/default/admin/clients/new",
        "/t/default/admin/clients/new",
        &[
            ("name", "Billing"),
            ("kind", "confidential"),
            ("redirect_uris", "https://billing.example.test/cb\r\n"),
            ("grant_authorization_code", "1"),
            ("mode_query", "1"),
            ("grant_refresh_token", "1"),
            ("scopes", "openid profile"),
            ("require_pkce", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"new-secret\""), "the secret is shown");
    let tenant = app.tenant("default").await;
    let clients = watchword::admin::clients::list(&app.app.ctx, &tenant)
        .await
        .unwrap();
    let billing = clients.iter().find(|c| c.name == "Billing").unwrap();
    assert_eq!(
        billing.settings.redirect_uris,
        ["https://billing.example.test/cb"]
    );
    assert_eq!(billing.settings.scopes, ["openid", "profile"]);
    let href = format!("/t/default/admin/clients/{}", billing.client_id);
    let list = html(&ada, "/t/default/admin/clients").await;
    assert!(list.contains(&href), "listed");
    let detail = html(&ada, &href).await;
    assert!(detail.contains("https://billing.example.test/cb"));
    assert!(!detail.contains("new-secret"), "never shown again");

    // A bad redirect URI: refused on the form, what was typed kept.
    let res = post(
        &ada,
        &format!("{href}/edit"),
        &format!("{href}/edit"),
        &[
            ("name", "Billing 2"),
            ("redirect_uris", "not a uri"),
            ("grant_authorization_code", "1"),
            ("mode_query", "1"),
            ("scopes", "openid"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = res.text().await.unwrap();
    assert!(form.contains("not a uri") && form.contains("Billing 2"));

    // Edit: saved and audited with a diff.
    let res = post(
        &ada,
        &format!("{href}/edit"),
        &format!("{href}/edit"),
        &[
            ("name", "Billing 2"),
            (
                "redirect_uris",
                "https://billing.example.test/cb\nhttps://billing.example.test/cb2",
            ),
            ("grant_authorization_code", "1"),
            ("mode_query", "1"),
            ("scopes", "openid email"),
            ("require_pkce", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{href}?done=client-updated"));
    let audit = app.audit("default").await;
    let updated = audit.iter().find(|e| e.action == "client_updated").unwrap();
    assert!(updated.diff.as_deref().unwrap().contains("cb2"));

    // A new secret, shown once; the old one no longer matches.
    let old = watchword::admin::clients::get(&app.app.ctx, &tenant, &billing.client_id)
        .await
        .unwrap();
    let res = post(&ada, &href, &format!("{href}/secret"), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("id=\"new-secret\""));
    let new = watchword::admin::clients::get(&app.app.ctx, &tenant, &billing.client_id)
        .await
        .unwrap();
    assert_ne!(old.secret_digest, new.secret_digest);
    assert!(audit_has(&app, "client_secret_rotated").await);

    // Delete after the confirmation page.
    assert!(
        html(&ada, &format!("{href}/delete"))
            .await
            .contains("Delete the application")
    );
    let res = post(
        &ada,
        &format!("{href}/delete"),
        &format!("{href}/delete"),
        &[],
    )
    .await;
    assert_eq!(
        location(&res),
        "/t/default/admin/clients?done=client-deleted"
    );
    assert_eq!(ada.get(&href).await.status(), StatusCode::NOT_FOUND);
    assert!(audit_has(&app, "client_deleted").await);
}

async fn audit_has(app: &TestApp, action: &str) -> bool {
    app.audit("default")
        .await
        .iter()
        .any(|e| e.action == action)
}

#[tokio::test]
async fn the_application_form_edits_lifetimes_algorithms_and_audiences() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let new = "/t/default/admin/clients/new";
    let form = html(&ada, new).await;
    for name in [
        "access_token_secs",
        "id_token_alg",
        "access_token_alg",
        "audiences",
    ] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}");
    }
    let base = [
        ("name", "Api"),
        ("kind", "confidential"),
        ("grant_client_credentials", "1"),
        ("mode_query", "1"),
        ("scopes", "openid"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        all
    };
    // Not a number: refused next to its field, kept as typed.
    let res = post(&ada, new, new, &with(&[("access_token_secs", "ten")])).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"lifetime-access_token_secs-error\""),
        "{page}"
    );
    assert!(page.contains("value=\"ten\""));
    // Out of the engine's range: the same rule as the API's.
    let res = post(&ada, new, new, &with(&[("id_token_secs", "5")])).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"lifetime-id_token_secs-error\""),
        "{page}"
    );
    assert!(page.contains("value=\"5\""));
    // Audiences without being a resource server.
    let res = post(&ada, new, new, &with(&[("audiences", "billing")])).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"audiences-error\""));

    let res = post(
        &ada,
        new,
        new,
        &with(&[
            ("access_token_secs", "600"),
            ("refresh_idle_secs", "86400"),
            ("id_token_alg", "ES256"),
            ("access_token_alg", "EdDSA"),
            ("resource_server", "1"),
            ("audiences", "billing reports"),
        ]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let tenant = app.tenant("default").await;
    let clients = watchword::admin::clients::list(&app.app.ctx, &tenant)
        .await
        .unwrap();
    let api = clients.iter().find(|c| c.name == "Api").unwrap();
    let s = &api.settings;
    assert_eq!(s.lifetimes.access_token_secs, Some(600));
    assert_eq!(s.lifetimes.refresh_idle_secs, Some(86_400));
    assert_eq!(s.lifetimes.id_token_secs, None);
    assert_eq!(s.id_token_alg.map(|a| a.as_str()), Some("ES256"));
    assert_eq!(s.access_token_alg.map(|a| a.as_str()), Some("EdDSA"));
    assert!(s.resource_server);
    assert_eq!(s.audiences, ["billing", "reports"]);
    // The edit form shows them; clearing a lifetime goes back to the tenant's.
    let edit = format!("/t/default/admin/clients/{}/edit", api.client_id);
    let form = html(&ada, &edit).await;
    assert!(form.contains("value=\"600\"") && form.contains("billing reports"));
    assert!(form.contains("<option value=\"ES256\" selected>"));
    let res = post(&ada, &edit, &edit, &with(&[("resource_server", "1")])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = watchword::admin::clients::get(&app.app.ctx, &tenant, &api.client_id)
        .await
        .unwrap();
    assert_eq!(api.client.settings.lifetimes.access_token_secs, None);
    assert!(api.client.settings.audiences.is_empty() && api.client.settings.id_token_alg.is_none());
}
