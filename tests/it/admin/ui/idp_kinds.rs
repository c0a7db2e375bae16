//! Identity providers of every kind in the management UI: a Microsoft Entra ID provider and a
//! SAML provider added and edited through their forms (a refused value named next to its field
//! with what was typed kept), and a SAML provider's metadata imported from pasted XML.

use base64::Engine;
use reqwest::StatusCode;

use super::{ada, html, post};
use crate::common::TestApp;
use crate::common::browser::location;

const DIR: &str = "11111111-1111-1111-1111-111111111111";
const SECRET: &str = "entra-secret-0123456789";

#[tokio::test]
async fn a_tenant_admin_adds_and_edits_an_entra_provider() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let form = html(&ada, "/t/default/admin/idps/new?kind=entra").await;
    assert!(form.contains("name=\"allowed_tenants\""));
    assert!(form.contains("value=\"entra\""));
    let new = "/t/default/admin/idps/new?kind=entra";
    let fields = |tenant: &'static str| {
        vec![
            ("kind", "entra"),
            ("slug", "contoso"),
            ("display_name", "Contoso"),
            ("tenant", tenant),
            ("client_id", "app-id"),
            ("client_secret", SECRET),
            ("allowed_tenants", ""),
            ("domains", "contoso.example.test"),
            ("linking", "proof"),
            ("enabled", "1"),
            ("resolve_group_overage", "1"),
        ]
    };
    // A directory that is not one: refused next to the field, what was typed kept.
    let res = post(&ada, new, "/t/default/admin/idps/new", &fields("not-a-dir")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"idp-tenant-error\""), "{page}");
    assert!(page.contains("value=\"not-a-dir\""));
    assert!(!page.contains(SECRET), "a secret is never sent back");

    let res = post(&ada, new, "/t/default/admin/idps/new", &fields(DIR)).await;
    let href = "/t/default/admin/idps/contoso";
    assert_eq!(location(&res), format!("{href}?done=idp-created"));
    let tenant = app.tenant("default").await;
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "contoso")
        .await
        .unwrap();
    let entra = stored.idp.settings.entra.clone().unwrap();
    assert_eq!(
        (entra.tenant.as_str(), entra.client_id.as_str()),
        (DIR, "app-id")
    );
    assert!(entra.resolve_group_overage && stored.idp.has_secret);
    assert!(html(&ada, href).await.contains("<dd>set</dd>"));

    // Edit: multi-tenant with one allowed directory; the secret kept.
    let edit = format!("{href}/edit");
    let page = html(&ada, &edit).await;
    assert!(page.contains(DIR) && !page.contains(SECRET));
    let res = post(
        &ada,
        &edit,
        &edit,
        &[
            ("display_name", "Contoso AD"),
            ("tenant", "organizations"),
            ("client_id", "app-id"),
            ("client_secret", ""),
            ("allowed_tenants", DIR),
            ("authority", "https://login.microsoftonline.com"),
            ("graph", "https://graph.microsoft.com"),
            ("domains", "contoso.example.test"),
            ("linking", "proof"),
            ("enabled", "1"),
            ("require_groups", "1"),
        ],
    )
    .await;
    assert_eq!(location(&res), format!("{href}?done=idp-updated"));
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "contoso")
        .await
        .unwrap();
    let entra = stored.idp.settings.entra.clone().unwrap();
    assert_eq!(entra.tenant, "organizations");
    assert_eq!(entra.allowed_tenants, vec![DIR.to_owned()]);
    assert!(entra.require_groups && !entra.resolve_group_overage);
    assert_eq!(stored.idp.display_name, "Contoso AD");
    assert_eq!(
        watchword::admin::idps::open_secret(&app.app.ctx, &stored)
            .unwrap()
            .expose(),
        SECRET
    );
}

async fn post_owned(
    b: &crate::common::Browser,
    page: &str,
    action: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(b, page, action, &refs).await
}

async fn saml(
    app: &TestApp,
    tenant: &watchword::domain::tenant::Tenant,
) -> watchword::domain::idp::SamlSettings {
    watchword::admin::idps::get(&app.app.ctx, tenant, "shib")
        .await
        .unwrap()
        .idp
        .settings
        .saml
        .unwrap()
}

fn cert() -> String {
    let der = std::fs::read("tests/fixtures/saml/idp.crt.der").unwrap();
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[tokio::test]
async fn a_tenant_admin_adds_edits_and_imports_metadata_of_a_saml_provider() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let new = "/t/default/admin/idps/new?kind=saml";
    let cert = cert();
    let fields = |certs: &str| {
        vec![
            ("kind", "saml".to_owned()),
            ("slug", "shib".to_owned()),
            ("display_name", "Shibboleth".to_owned()),
            ("entity_id", "https://shib.example.test/idp".to_owned()),
            ("sso_url", "https://shib.example.test/sso".to_owned()),
            ("slo_url", String::new()),
            ("signing_certs", certs.to_owned()),
            ("linking", "proof".to_owned()),
            ("enabled", "1".to_owned()),
            ("allow_unsolicited", "1".to_owned()),
        ]
    };
    // PEM armour is not a certificate: refused next to the field.
    let res = post_owned(
        &ada,
        new,
        "/t/default/admin/idps/new",
        &fields("-----BEGIN CERTIFICATE-----"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"idp-certs-error\""), "{page}");
    assert!(
        page.contains("https://shib.example.test/sso"),
        "what was typed is kept"
    );

    let res = post_owned(&ada, new, "/t/default/admin/idps/new", &fields(&cert)).await;
    let href = "/t/default/admin/idps/shib";
    assert_eq!(location(&res), format!("{href}?done=idp-created"));
    let tenant = app.tenant("default").await;
    let s = saml(&app, &tenant).await;
    assert_eq!(s.signing_certs, vec![cert.clone()]);
    assert!(s.allow_unsolicited && !s.allow_sha1);

    // Edit: a logout address and SHA-1.
    let edit = format!("{href}/edit");
    assert!(html(&ada, &edit).await.contains(&cert));
    let mut next = fields(&cert);
    next.retain(|(k, _)| *k != "kind" && *k != "slug");
    next.push(("allow_sha1", "1".into()));
    next.retain(|(k, _)| *k != "slo_url");
    next.push(("slo_url", "https://shib.example.test/slo".into()));
    let res = post_owned(&ada, &edit, &edit, &next).await;
    assert_eq!(location(&res), format!("{href}?done=idp-updated"));
    let s = saml(&app, &tenant).await;
    assert_eq!(s.slo_url.as_deref(), Some("https://shib.example.test/slo"));
    assert!(s.allow_sha1);

    // Import: a URL that is not http(s) is refused on the page, what was typed kept.
    let page = html(&ada, href).await;
    assert!(page.contains("Import metadata"));
    let metadata = format!("{href}/metadata");
    let res = post(
        &ada,
        href,
        &metadata,
        &[("metadata_url", "ftp://x.test/md")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"import-error\"") && page.contains("ftp://x.test/md"));

    // Pasted XML: the entity, addresses and certificate replaced; the options kept.
    let xml = std::fs::read_to_string("tests/fixtures/saml/idp_metadata.xml").unwrap();
    let res = post(
        &ada,
        href,
        &metadata,
        &[("metadata_url", ""), ("metadata_xml", xml.as_str())],
    )
    .await;
    assert_eq!(location(&res), format!("{href}?done=idp-metadata-imported"));
    let s = saml(&app, &tenant).await;
    assert_eq!(s.entity_id, "https://idp.example.org/metadata");
    assert_eq!(s.sso_url, "https://idp.example.org/sso");
    assert_eq!(s.slo_url.as_deref(), Some("https://idp.example.org/slo"));
    assert_eq!(s.signing_certs.len(), 1);
    assert!(s.allow_sha1 && s.allow_unsolicited, "options kept");
    let audit = app.audit("default").await;
    assert!(
        audit.iter().filter(|e| e.action == "idp_updated").count() >= 2,
        "edit and import audited"
    );
}
