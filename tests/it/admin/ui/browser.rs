//! The management UI in a real browser: `tests/e2e/admin.mjs` (headless Chromium, playwright-core,
//! axe-core: `npm ci --prefix tests/e2e`) checks every screen, in light and dark mode, for serious
//! or critical accessibility violations, keeps screenshots under `target/admin-ui/`, checks that
//! htmx loads under the CSP and the users typeahead updates in place, and submits a form with
//! JavaScript off. A `needs_browser` test, like `mfa::browser`.

use crate::common::{GOOD_PASSWORD, TestApp};

fn available() -> Result<(), String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let chromium =
        std::env::var("WATCHWORD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    for module in ["playwright-core", "axe-core"] {
        if !std::path::Path::new(&format!("{root}/tests/e2e/node_modules/{module}")).exists() {
            return Err(format!(
                "{module} is not installed (npm ci --prefix tests/e2e)"
            ));
        }
    }
    Ok(())
}

mod needs_browser {
    use super::*;
    use watchword::domain::admin::Role;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs the browser (Chromium, Node, playwright-core, axe-core): scripts/test runs it where they are installed"]
    async fn the_admin_screens_pass_axe_and_work_without_javascript() {
        if let Err(why) = available() {
            panic!("the browser test cannot run here: {why}");
        }
        let app = TestApp::start().await;
        super::super::person(&app, "default", "ada", Some(Role::TenantAdmin)).await;
        let bob = super::super::person(&app, "default", "bob", None).await;
        // Something to list: a sign-in of bob's and an audited change.
        super::super::signed_in(&app, "default", "bob").await;
        // An application and an identity provider, for their pages and forms.
        let tenant = app.tenant("default").await;
        let client = watchword::admin::clients::create(
            &app.app.ctx,
            &tenant,
            watchword::admin::clients::NewClient {
                client_id: Some("billing".into()),
                name: "Billing".into(),
                kind: watchword::domain::client::ClientKind::Confidential,
                auth_method: None,
                settings: watchword::domain::client::ClientSettings {
                    redirect_uris: vec!["https://billing.example.test/cb".into()],
                    ..Default::default()
                },
                secret: None,
            },
            &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
        )
        .await
        .unwrap()
        .client
        .client_id;
        let idp = watchword::admin::idps::create(
            &app.app.ctx,
            &tenant,
            watchword::admin::idps::NewIdp {
                slug: "corp".into(),
                kind: watchword::domain::idp::IdpKind::Oidc,
                display_name: "Corp".into(),
                enabled: true,
                settings: serde_json::from_value(serde_json::json!({
                    "domains": ["corp.example.test"],
                    "oidc": {"issuer": "https://login.corp.example.test", "client_id": "ww"}
                }))
                .unwrap(),
                client_secret: Some(watchword::domain::secret::Secret::new(
                    "s3cret-value".into(),
                )),
            },
            &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
        )
        .await
        .unwrap()
        .slug;
        // A SAML provider from its metadata, for its page (with the import form) and its form.
        let operator =
            watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli);
        let saml = watchword::admin::idp_metadata::import(
            &app.app.ctx,
            &tenant,
            &watchword::admin::idp_metadata::Source::Xml(
                include_str!("../../../fixtures/saml/idp_metadata.xml").into(),
            ),
            None,
            &operator,
        )
        .await
        .unwrap();
        let mut settings: watchword::domain::idp::IdpSettings =
            serde_json::from_value(serde_json::json!({})).unwrap();
        settings.saml = Some(saml);
        let saml_slug = watchword::admin::idps::create(
            &app.app.ctx,
            &tenant,
            watchword::admin::idps::NewIdp {
                slug: "shib".into(),
                kind: watchword::domain::idp::IdpKind::Saml,
                display_name: "Shibboleth".into(),
                enabled: true,
                settings,
                client_secret: None,
            },
            &operator,
        )
        .await
        .unwrap()
        .slug;
        let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/admin-ui");
        let (base, id) = (app.base.clone(), bob.id.to_string());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/admin.mjs"))
                .args([
                    &base,
                    "default",
                    "ada",
                    GOOD_PASSWORD,
                    &id,
                    shots,
                    &client,
                    &idp,
                    &saml_slug,
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("OK: axe"), "{stdout}");
        assert!(stdout.contains("OK: form without JavaScript"), "{stdout}");
        assert!(stdout.contains("OK: htmx typeahead"), "{stdout}");
        assert!(stdout.contains("light and dark"), "{stdout}");
        assert!(stdout.contains("OK: flows with JavaScript"), "{stdout}");
        assert!(stdout.contains("OK: flows without JavaScript"), "{stdout}");
        // What the two runs of the main screens did, as the engine sees it.
        let tenant = app.tenant("default").await;
        assert_eq!(
            tenant.policy.password.min_length, 14,
            "the policy form saved"
        );
        let names: Vec<String> = watchword::admin::clients::list(&app.app.ctx, &tenant)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        for label in ["js", "nojs"] {
            let carol =
                watchword::admin::users::find(&app.app.ctx, &tenant, &format!("{label}-carol"))
                    .await
                    .unwrap()
                    .expect("the user was created");
            assert!(
                watchword::admin::sessions::list(&app.app.ctx, &tenant, carol.user.id)
                    .await
                    .unwrap()
                    .is_empty(),
                "{label}: the session was ended"
            );
            assert!(names.contains(&format!("{label} app")), "{names:?}");
        }
        let bob = watchword::admin::users::find(&app.app.ctx, &app.tenant("default").await, "bob")
            .await
            .unwrap()
            .unwrap()
            .user;
        assert!(!bob.enabled, "the form without JavaScript disabled bob");
        let audit = app.audit("default").await;
        assert!(audit.iter().any(|e| e.action == "user_disabled"));
        assert_eq!(
            audit.iter().filter(|e| e.action == "factors_reset").count(),
            2,
            "one reset per run"
        );
        for shot in [
            "dashboard",
            "users",
            "user",
            "audit",
            "clients",
            "client",
            "idp",
            "keys",
            "policy",
            "sessions-dark",
            "policy-dark",
            "user-disabled-no-js",
            "flow-js-policy-saved",
            "flow-nojs-app-registered",
            "flow-nojs-session-ended",
        ] {
            assert!(std::path::Path::new(&format!("{shots}/{shot}.png")).exists());
        }
    }
}
