//! The audit trail of the admin API: every write route in the served OpenAPI document, called
//! once with a valid request, leaves exactly one audit row, of its action, attributed to the
//! caller, with a before/after diff where it updates something; and the chain still verifies.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use watchword::domain::admin::Role;

use super::{call_with, client_token, person};
use crate::common::TestApp;
use crate::common::browser::Browser;

const PASSWORD: &str = "a long enough password 1";

struct Trail<'a> {
    app: &'a TestApp,
    credential: String,
    covered: BTreeSet<String>,
}

impl Trail<'_> {
    /// The newest audit row's id of `slug`.
    async fn newest(&self, slug: &str) -> Option<String> {
        self.app.audit(slug).await.first().map(|r| r.id.clone())
    }

    /// Calls `method path` (`template` is its path in the document) and checks the one row it
    /// leaves in `slug`'s audit log; returns the answer's body.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
        action: &str,
        diff: bool,
    ) -> Value {
        self.write_in(
            "default", method, template, path, body, if_match, action, diff,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_in(
        &mut self,
        audited_in: &str,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
        action: &str,
        diff: bool,
    ) -> Value {
        let before = self.newest(audited_in).await;
        let headers: Vec<(&str, &str)> = if_match.map(|e| ("If-Match", e)).into_iter().collect();
        let (status, _, answer) = call_with(
            self.app,
            method.clone(),
            "default",
            path,
            &self.credential,
            body,
            &headers,
        )
        .await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        let rows: Vec<_> = self
            .app
            .audit(audited_in)
            .await
            .into_iter()
            .take_while(|r| Some(&r.id) != before.as_ref())
            .collect();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            [action],
            "{method} {path}: one audit row of its action"
        );
        let row = &rows[0];
        assert!(
            row.actor.starts_with("client:") || row.actor.starts_with("api_key:"),
            "{method} {path}: attributed to the caller, not {}",
            row.actor
        );
        assert!(row.request_id.is_some(), "{method} {path}: the request id");
        if diff {
            let d: Value = serde_json::from_str(row.diff.as_deref().unwrap_or("null")).unwrap();
            assert!(
                d.as_object().is_some_and(|m| !m.is_empty()),
                "{method} {path}: a before/after diff"
            );
        }
        self.covered.insert(format!("{method} {template}"));
        answer
    }

    async fn etag(&self, path: &str) -> String {
        let (status, headers, _) = call_with(
            self.app,
            Method::GET,
            "default",
            path,
            &self.credential,
            None,
            &[],
        )
        .await;
        assert_eq!(status, 200, "{path}");
        headers["etag"].to_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_route_leaves_exactly_one_audit_row_with_its_diff() {
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let scopes: Vec<String> = Role::TenantAdmin
        .permissions()
        .iter()
        .map(|p| p.scope())
        .collect();
    let mut t = Trail {
        app: &app,
        credential: client_token(&app, "default", &scopes).await,
        covered: BTreeSet::new(),
    };
    let trail = app.create_user("default", "trail", PASSWORD).await;
    let user = format!("/users/{}", trail.id);

    // Users.
    t.write(
        Method::POST,
        "/users",
        "/users",
        Some(json!({"username": "made"})),
        None,
        "user_created",
        false,
    )
    .await;
    let etag = t.etag(&user).await;
    t.write(
        Method::PATCH,
        "/users/{id}",
        &user,
        Some(json!({"display_name": "Trail Blazer"})),
        Some(&etag),
        "user_updated",
        true,
    )
    .await;
    t.write(
        Method::POST,
        "/users/{id}/disable",
        &format!("{user}/disable"),
        None,
        None,
        "user_disabled",
        true,
    )
    .await;
    t.write(
        Method::POST,
        "/users/{id}/enable",
        &format!("{user}/enable"),
        None,
        None,
        "user_enabled",
        true,
    )
    .await;
    t.write(
        Method::PUT,
        "/users/{id}/password",
        &format!("{user}/password"),
        Some(json!({"password": PASSWORD})),
        None,
        "user_password_set",
        false,
    )
    .await;
    t.write(
        Method::POST,
        "/users/{id}/reset-mfa",
        &format!("{user}/reset-mfa"),
        None,
        None,
        "factors_reset",
        false,
    )
    .await;

    // Sessions: one ended by id, then every session of the user (one).
    for template in ["/sessions/{sid}", "/users/{id}/sessions"] {
        let browser = Browser::new(&app.base);
        let res = browser.sign_in("default", "trail", PASSWORD).await;
        assert!(res.status().is_redirection() || res.status().is_success());
        let (_, _, listed) = call_with(
            &app,
            Method::GET,
            "default",
            &format!("{user}/sessions"),
            &t.credential,
            None,
            &[],
        )
        .await;
        let sid = listed[0]["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("{listed}"))
            .to_owned();
        let path = if template.starts_with("/sessions") {
            format!("/sessions/{sid}")
        } else {
            format!("{user}/sessions")
        };
        t.write(
            Method::DELETE,
            template,
            &path,
            None,
            None,
            "session_ended",
            false,
        )
        .await;
    }

    // A verdict on one of the user's sign-in events.
    let (_, _, events) = call_with(
        &app,
        Method::GET,
        "default",
        &format!("/events?user={}", trail.id),
        &t.credential,
        None,
        &[],
    )
    .await;
    let event = events["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{events}"))
        .to_owned();
    t.write(
        Method::POST,
        "/events/{id}/mark",
        &format!("/events/{event}/mark"),
        Some(json!({"value": "valid"})),
        None,
        "risk_feedback",
        false,
    )
    .await;

    // Invitations.
    let invitation = t
        .write(
            Method::POST,
            "/invitations",
            "/invitations",
            Some(json!({"email": "guest@example.test"})),
            None,
            "invite_created",
            false,
        )
        .await;
    let invitation = invitation["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{invitation}"))
        .to_owned();
    t.write(
        Method::DELETE,
        "/invitations/{id}",
        &format!("/invitations/{invitation}"),
        None,
        None,
        "invite_revoked",
        false,
    )
    .await;

    // Consents: withdrawing an application's access.
    crate::common::oidc::register(&app, "default", "third", |c| c.settings.first_party = false)
        .await;
    let (tid, uid) = (tenant.id, trail.id);
    ctx.db
        .run(move |c| {
            watchword::storage::consents::grant(c, tid, uid, "third", &["openid".into()], 1_000)
        })
        .await
        .unwrap();
    t.write(
        Method::DELETE,
        "/users/{id}/consents/{client_id}",
        &format!("{user}/consents/third"),
        None,
        None,
        "access_withdrawn",
        false,
    )
    .await;

    // Identity providers, and unlinking an identity (the user has a password: not the last way in).
    t.write(
        Method::POST,
        "/idps",
        "/idps",
        Some(
            json!({"slug": "corp", "kind": "oidc", "display_name": "Corp",
                    "settings": {"oidc": {"issuer": "https://corp.example", "client_id": "w"}}}),
        ),
        None,
        "idp_created",
        false,
    )
    .await;
    let etag = t.etag("/idps/corp").await;
    t.write(
        Method::PATCH,
        "/idps/{idp}",
        "/idps/corp",
        Some(json!({"display_name": "Corp SSO"})),
        Some(&etag),
        "idp_updated",
        true,
    )
    .await;
    let idp = watchword::admin::idps::get(ctx, &tenant, "corp")
        .await
        .unwrap()
        .idp;
    let row = watchword::storage::idps::IdentityRow {
        idp_id: idp.id.to_string(),
        subject: "corp-1".into(),
        tenant_id: tenant.id.to_string(),
        user_id: trail.id.to_string(),
        email: None,
        created_at: 1,
        last_used_at: 1,
    };
    assert!(
        ctx.db
            .run(move |c| watchword::storage::idps::link(c, &row))
            .await
            .unwrap()
    );
    t.write(
        Method::DELETE,
        "/users/{id}/identities/{idp}/{subject}",
        &format!("{user}/identities/corp/corp-1"),
        None,
        None,
        "identity_unlinked",
        false,
    )
    .await;
    // A SAML provider refreshed from its metadata.
    let metadata = include_str!("../../fixtures/saml/idp_metadata.xml");
    let (status, _, made) = call_with(
        &app,
        Method::POST,
        "default",
        "/idps",
        &t.credential,
        Some(
            json!({"slug": "shib", "kind": "saml", "display_name": "Shibboleth",
                    "settings": {}, "metadata_xml": metadata}),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    t.write(
        Method::POST,
        "/idps/{idp}/saml-metadata",
        "/idps/shib/saml-metadata",
        Some(json!({"metadata_xml": metadata})),
        None,
        "idp_updated",
        false,
    )
    .await;
    t.write(
        Method::DELETE,
        "/idps/{idp}",
        "/idps/corp",
        None,
        None,
        "idp_deleted",
        false,
    )
    .await;

    // Applications.
    t.write(
        Method::POST,
        "/clients",
        "/clients",
        Some(json!({"client_id": "trail-app", "name": "Trail app",
                        "redirect_uris": ["https://app.example/cb"]})),
        None,
        "client_created",
        false,
    )
    .await;
    let etag = t.etag("/clients/trail-app").await;
    t.write(
        Method::PATCH,
        "/clients/{client_id}",
        "/clients/trail-app",
        Some(json!({"name": "Trail application"})),
        Some(&etag),
        "client_updated",
        true,
    )
    .await;
    t.write(
        Method::POST,
        "/clients/{client_id}/rotate-secret",
        "/clients/trail-app/rotate-secret",
        None,
        None,
        "client_secret_rotated",
        false,
    )
    .await;
    t.write(
        Method::DELETE,
        "/clients/{client_id}",
        "/clients/trail-app",
        None,
        None,
        "client_deleted",
        false,
    )
    .await;

    // Signing keys: a rotation, then withdrawing the key it published.
    let rotated = t
        .write(
            Method::POST,
            "/keys/rotate",
            "/keys/rotate",
            Some(json!({})),
            None,
            "keys_rotated",
            false,
        )
        .await;
    let kid = rotated[0]["kid"]
        .as_str()
        .unwrap_or_else(|| panic!("{rotated}"))
        .to_owned();
    t.write(
        Method::POST,
        "/keys/{kid}/withdraw",
        &format!("/keys/{kid}/withdraw"),
        None,
        None,
        "keys_rotated",
        false,
    )
    .await;

    // The policy, by merge patch and whole.
    let etag = t.etag("/policy").await;
    t.write(
        Method::PATCH,
        "/policy",
        "/policy",
        Some(json!({"password": {"min_length": 13}})),
        Some(&etag),
        "tenant_updated",
        true,
    )
    .await;
    let etag = t.etag("/policy").await;
    let (_, _, mut policy) = call_with(
        &app,
        Method::GET,
        "default",
        "/policy",
        &t.credential,
        None,
        &[],
    )
    .await;
    policy["password"]["min_length"] = json!(14);
    t.write(
        Method::PUT,
        "/policy",
        "/policy",
        Some(policy),
        Some(&etag),
        "tenant_updated",
        true,
    )
    .await;

    // Roles and API keys (a client token may make a key no wider than itself).
    t.write(
        Method::PUT,
        "/users/{id}/role",
        &format!("{user}/role"),
        Some(json!({"role": "auditor"})),
        None,
        "role_changed",
        false,
    )
    .await;
    let key = t
        .write(
            Method::POST,
            "/api-keys",
            "/api-keys",
            Some(json!({"name": "trail", "permissions": ["users:read"]})),
            None,
            "api_key_created",
            false,
        )
        .await;
    let key_id = key["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{key}"))
        .to_owned();
    t.write(
        Method::DELETE,
        "/api-keys/{id}",
        &format!("/api-keys/{key_id}"),
        None,
        None,
        "api_key_revoked",
        false,
    )
    .await;

    // Tenants: by an instance admin's key; the row is the new tenant's.
    let (_, root) = person(&app, "default", "root", Role::InstanceAdmin).await;
    t.credential = watchword::admin::api_keys::create(
        ctx,
        &tenant,
        &root,
        "provisioning",
        watchword::domain::admin::Permissions::parse("tenants:write").unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret;
    let before = app.audit("default").await.len();
    let (status, _, made) = call_with(
        &app,
        Method::POST,
        "default",
        "/tenants",
        &t.credential,
        Some(json!({"slug": "globex"})),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let rows = app.audit("globex").await;
    let created: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "tenant_created")
        .collect();
    assert_eq!(created.len(), 1);
    assert!(
        created[0].actor.starts_with("api_key:"),
        "{}",
        created[0].actor
    );
    assert_eq!(
        app.audit("default").await.len(),
        before,
        "nothing in the caller's tenant"
    );
    t.covered.insert("POST /tenants".into());

    // Every write route of the document was exercised.
    let doc: Value = reqwest::get(app.url("/t/default/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let writes: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|verb| *verb != "get")
                .map(move |verb| format!("{} {path}", verb.to_uppercase()))
        })
        .collect();
    let missing: Vec<_> = writes.difference(&t.covered).collect();
    assert!(
        missing.is_empty(),
        "write routes without an audit check: {missing:?}"
    );

    // And the chain over all of it verifies.
    let report = watchword::admin::audit::verify(ctx, Some(tenant.id))
        .await
        .unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.rows > 20, "{report}");

    // The same over the API (events:read), and a tampered row is found there too.
    let reader = super::api_key(&app, "default", "events:read").await;
    let (status, _, chain) = call_with(
        &app,
        Method::GET,
        "default",
        "/audit/verify",
        &reader,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{chain}");
    assert_eq!(chain["intact"], true, "{chain}");
    assert!(chain["rows"].as_u64().unwrap() > 20);
    let statement = format!(
        "UPDATE audit_events SET outcome = 'edited' WHERE tenant_id = '{}' AND action = 'user_disabled'",
        tenant.id
    );
    let edited = ctx
        .db
        .run(move |c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(statement).execute(c)?)
        })
        .await
        .unwrap();
    assert_eq!(edited, 1);
    let (status, _, chain) = call_with(
        &app,
        Method::GET,
        "default",
        "/audit/verify",
        &reader,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(chain["intact"], false, "{chain}");
    assert!(
        chain["broken"].as_str().is_some_and(|b| !b.is_empty()),
        "{chain}"
    );
}
