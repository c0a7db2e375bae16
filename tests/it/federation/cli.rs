//! `watchword idp create|list|show|update|delete` (the real binary) and providers in the seed
//! file: the secret read from standard input, sealed, never printed; settings validated with
//! the field named (exit status 2); a private-address provider refused by the outbound guard
//! unless the operator allows it.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::common::binary::{run, stdout};

fn idp(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    tokio::task::block_in_place(|| {
        let mut cmd = app.cli();
        cmd.arg("idp").args(args);
        run(cmd, stdin)
    })
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_providers_and_the_secret_is_never_shown() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("contoso.toml");
    std::fs::write(
        &settings,
        "domains = [\"contoso.example\"]\n[oidc]\nissuer = \"https://login.contoso.example\"\nclient_id = \"watchword\"\n",
    )
    .unwrap();
    let s = settings.to_str().unwrap();
    let out = idp(
        &app,
        &[
            "create",
            "contoso",
            "--kind",
            "oidc",
            "--name",
            "Contoso",
            "--settings",
            s,
            "--client-secret-stdin",
        ],
        "s3cret-value-that-must-not-leak\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = idp(&app, &["list", "--json"], "");
    let listed = stdout(&out);
    assert!(
        listed.contains("\"slug\":\"contoso\"") && listed.contains("\"has_client_secret\":true"),
        "{listed}"
    );
    assert!(!listed.contains("s3cret"), "the secret is never printed");
    let out = idp(&app, &["show", "contoso"], "");
    assert!(stdout(&out).contains("login.contoso.example") && !stdout(&out).contains("s3cret"));
    // Stored sealed: not in the database in the clear.
    let tenant = app.tenant("default").await;
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "contoso")
        .await
        .unwrap();
    assert!(!stored.sealed_secret.as_deref().unwrap().contains("s3cret"));
    assert_eq!(
        watchword::admin::idps::open_secret(&app.app.ctx, &stored)
            .unwrap()
            .expose(),
        "s3cret-value-that-must-not-leak"
    );
    // Bad settings: the field is named, exit status 2, nothing written.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[saml]\nentity_id = \"https://idp\"\nsso_url = \"https://idp/sso\"\nsigning_certs = []\n",
    )
    .unwrap();
    let out = idp(
        &app,
        &[
            "create",
            "nocert",
            "--kind",
            "saml",
            "--name",
            "No cert",
            "--settings",
            bad.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("saml.signing_certs"),
        "{}",
        stderr(&out)
    );
    // Two providers cannot own one domain.
    let out = idp(
        &app,
        &[
            "create",
            "other",
            "--kind",
            "oidc",
            "--name",
            "Other",
            "--settings",
            s,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("contoso.example"), "{}", stderr(&out));
    let out = idp(
        &app,
        &["update", "contoso", "--disable", "--name", "Contoso Ltd"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "contoso")
        .await
        .unwrap();
    assert!(!stored.idp.enabled && stored.idp.display_name == "Contoso Ltd");
    let out = idp(&app, &["delete", "contoso"], "");
    assert!(out.status.success());
    assert!(
        watchword::admin::idps::find(&app.app.ctx, &tenant, "contoso")
            .await
            .unwrap()
            .is_none()
    );
    let actions: Vec<String> = app
        .audit("default")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["idp_created", "idp_updated", "idp_deleted"] {
        assert!(actions.contains(&a.to_owned()), "{a} audited");
    }
}

#[tokio::test]
async fn the_seed_file_creates_and_updates_providers_idempotently() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    let seed = |name: &str| {
        format!(
            "[[tenants]]\nslug = \"default\"\n[[tenants.idps]]\nslug = \"entra\"\nkind = \"entra\"\ndisplay_name = \"{name}\"\nclient_secret = \"entra-secret\"\n[tenants.idps.settings]\ndomains = [\"contoso.example\"]\n[tenants.idps.settings.entra]\ntenant = \"organizations\"\nclient_id = \"app\"\nallowed_tenants = [\"11111111-1111-1111-1111-111111111111\"]\n"
        )
    };
    std::fs::write(&path, seed("Contoso")).unwrap();
    let first = app.app.seed(&path).await.unwrap();
    assert_eq!(first.idps_created, 1, "{first}");
    let second = app.app.seed(&path).await.unwrap();
    assert_eq!(
        (second.idps_created, second.idps_updated),
        (0, 0),
        "{second}"
    );
    std::fs::write(&path, seed("Contoso Ltd")).unwrap();
    let third = app.app.seed(&path).await.unwrap();
    assert_eq!(third.idps_updated, 1);
}

#[tokio::test]
async fn a_provider_on_a_private_address_is_refused_unless_the_operator_allows_it() {
    let pair = super::pair(|_| {}).await;
    // The same configuration on a server with the default outbound guard.
    let guarded = TestApp::start().await;
    let settings = watchword::admin::idps::get(
        &pair.down.app.ctx,
        &pair.down.tenant("default").await,
        "contoso",
    )
    .await
    .unwrap()
    .idp
    .settings;
    super::create_idp(
        &guarded,
        "contoso",
        watchword::domain::idp::IdpKind::Oidc,
        settings,
        None,
    )
    .await;
    let res = guarded.browser().get("/t/default/idp/contoso/start").await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.text().await.unwrap().contains("could not reach"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saml_provider_is_created_from_its_metadata_and_never_without_a_certificate() {
    let app = TestApp::start().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");
    let good = format!("{fixtures}/idp_metadata.xml");
    let (key, cert) = (
        format!("{fixtures}/sp.key.pem"),
        format!("{fixtures}/sp.crt.pem"),
    );
    let out = idp(
        &app,
        &[
            "create",
            "shib",
            "--kind",
            "saml",
            "--name",
            "Shibboleth",
            "--metadata",
            &good,
            "--sp-key",
            &key,
            "--sp-cert",
            &cert,
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tenant = app.tenant("default").await;
    let stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "shib")
        .await
        .unwrap();
    let saml = stored.idp.settings.saml.unwrap();
    assert!(!saml.entity_id.is_empty() && saml.sso_url.starts_with("http"));
    assert_eq!(
        saml.signing_certs.len(),
        1,
        "the signing certificate imported"
    );
    // Our metadata for it names our ACS.
    let res = app.browser().get("/t/default/saml/shib/metadata").await;
    assert_eq!(res.status(), StatusCode::OK);
    let xml = res.text().await.unwrap();
    assert!(xml.contains("/t/default/idp/shib/saml/acs"), "{xml}");
    // Our certificate published for signing and encryption, the document signed with our key.
    let sp_cert: String = std::fs::read_to_string(&cert)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        xml.contains(&sp_cert[..64]),
        "our certificate in the metadata"
    );
    assert!(
        xml.contains("use=\"encryption\"") && xml.contains("SignatureValue"),
        "{xml}"
    );
    assert!(stored.sealed_secret.is_some(), "the key sealed");
    for bad in ["idp_metadata_no_keys.xml", "idp_metadata_no_entity_id.xml"] {
        let path = format!("{fixtures}/{bad}");
        let out = idp(
            &app,
            &[
                "create",
                "bad",
                "--kind",
                "saml",
                "--name",
                "Bad",
                "--metadata",
                &path,
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    assert!(
        watchword::admin::idps::find(&app.app.ctx, &tenant, "bad")
            .await
            .unwrap()
            .is_none()
    );
}
