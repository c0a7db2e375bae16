//! The admin API's identity providers (`/idps`: secrets never shown, `ETag`/`If-Match`, settings
//! as a merge patch, idempotent delete) and a user's linked identities (`/users/{id}/identities`:
//! the last way in is kept, 409).

use reqwest::Method;
use serde_json::json;
use watchword::domain::secret::Secret;

use super::{api_key, call, call_with, other_tenant};
use crate::common::TestApp;

fn oidc(issuer: &str) -> serde_json::Value {
    json!({"oidc": {"issuer": issuer, "client_id": "watchword"}, "domains": ["contoso.example"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_providers_are_managed_without_ever_showing_a_secret() {
    let app = TestApp::start().await;
    other_tenant(&app).await;
    let key = api_key(&app, "default", "idps:write").await;
    let secret = "an upstream client secret nobody may read back";
    let body = json!({
        "slug": "contoso", "kind": "oidc", "display_name": "Contoso",
        "settings": oidc("https://login.contoso.example"), "client_secret": secret
    });
    let (status, headers, created) = call(
        &app,
        Method::POST,
        "default",
        "/idps",
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["has_client_secret"], true);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let mut again = body.clone();
    again["settings"]["domains"] = json!([]);
    let (status, _, problem) =
        call(&app, Method::POST, "default", "/idps", &key, Some(again)).await;
    assert_eq!(
        (status, problem["field"].clone()),
        (409, json!("slug")),
        "{problem}"
    );

    // Bad settings are named by their place in the body.
    for (bad, field) in [
        (
            json!({"oidc": {"issuer": "not a url", "client_id": "w"}}),
            "settings.oidc.issuer",
        ),
        (
            json!({"oidc": {"issuer": "https://x.example", "client_id": "w", "nope": 1}}),
            "settings.oidc.nope",
        ),
        (json!({"saml": {}}), "settings.saml"),
    ] {
        let (status, _, problem) = call(
            &app,
            Method::POST,
            "default",
            "/idps",
            &key,
            Some(json!({"slug": "bad", "kind": "oidc", "display_name": "Bad", "settings": bad})),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert!(
            problem["field"].as_str().unwrap().starts_with(field),
            "{field}: {problem}"
        );
    }

    let (_, _, listed) = call(&app, Method::GET, "default", "/idps", &key, None).await;
    assert_eq!(listed[0]["slug"], "contoso");
    let (status, headers, read) =
        call(&app, Method::GET, "default", "/idps/contoso", &key, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    for shown in [&listed, &read] {
        assert!(!shown.to_string().contains(secret), "{shown}");
    }

    // Updates: If-Match required, stale refused, settings merged.
    let patch = json!({"display_name": "Contoso AD", "settings": {"jit": false, "oidc": {"scopes": ["openid", "email"]}}});
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        "default",
        "/idps/contoso",
        &key,
        Some(patch.clone()),
    )
    .await;
    assert_eq!(status, 428);
    let (status, _, _) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/idps/contoso",
        &key,
        Some(patch.clone()),
        &[("If-Match", "\"v42\"")],
    )
    .await;
    assert_eq!(status, 412);
    let (status, headers, updated) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/idps/contoso",
        &key,
        Some(patch.clone()),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["display_name"], "Contoso AD");
    assert_eq!(updated["settings"]["jit"], false);
    assert_eq!(
        updated["settings"]["oidc"]["scopes"],
        json!(["openid", "email"])
    );
    assert_eq!(
        updated["settings"]["oidc"]["issuer"], "https://login.contoso.example",
        "members not in the patch stay"
    );
    assert_eq!(updated["has_client_secret"], true, "the secret is kept");
    let next = headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(next, etag);
    let (status, _, _) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/idps/contoso",
        &key,
        Some(json!({"enabled": false})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 412);
    let (status, _, removed) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/idps/contoso",
        &key,
        Some(json!({"client_secret": null})),
        &[("If-Match", &next)],
    )
    .await;
    assert_eq!(
        (status, removed["has_client_secret"].clone()),
        (200, json!(false))
    );
    let audit = app.audit("default").await;
    assert!(
        audit.iter().any(|e| e.action == "idp_updated"
            && e.actor.starts_with("api_key:")
            && e.diff.as_deref().is_some_and(|d| d.contains("Contoso AD"))),
        "{audit:?}"
    );
    assert!(!format!("{audit:?}").contains(secret));

    // Another tenant's provider is not found; readers may not write.
    let other = app.tenant("other").await;
    watchword::admin::idps::create(
        &app.app.ctx,
        &other,
        watchword::admin::idps::NewIdp {
            slug: "theirs".into(),
            kind: watchword::domain::idp::IdpKind::Oidc,
            display_name: "Theirs".into(),
            enabled: true,
            settings: serde_json::from_value(oidc("https://theirs.example")).unwrap(),
            client_secret: None,
        },
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let (status, _, _) = call(&app, Method::GET, "default", "/idps/theirs", &key, None).await;
    assert_eq!(status, 404);
    let reader = api_key(&app, "default", "idps:read").await;
    let (status, _, problem) = call(
        &app,
        Method::DELETE,
        "default",
        "/idps/contoso",
        &reader,
        None,
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("idps:write"))
    );

    for _ in 0..2 {
        let (status, _, _) =
            call(&app, Method::DELETE, "default", "/idps/contoso", &key, None).await;
        assert_eq!(status, 204, "deletes are idempotent");
    }
    let (status, _, _) = call(&app, Method::GET, "default", "/idps/contoso", &key, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&app, Method::DELETE, "default", "/idps/theirs", &key, None).await;
    assert_eq!(status, 204);
    assert!(
        watchword::admin::idps::find(&app.app.ctx, &other, "theirs")
            .await
            .unwrap()
            .is_some(),
        "another tenant's provider is untouched"
    );
}

/// Links `subject` at provider `slug` to `user` as a federated sign-in would.
async fn link(app: &TestApp, slug: &str, user: &watchword::domain::user::User, subject: &str) {
    let tenant = app.tenant("default").await;
    let idp = watchword::admin::idps::get(&app.app.ctx, &tenant, slug)
        .await
        .unwrap()
        .idp;
    let row = watchword::storage::idps::IdentityRow {
        idp_id: idp.id.to_string(),
        subject: subject.into(),
        tenant_id: tenant.id.to_string(),
        user_id: user.id.to_string(),
        email: user.email.clone(),
        created_at: 1,
        last_used_at: 1,
    };
    assert!(
        app.app
            .ctx
            .db
            .run(move |c| watchword::storage::idps::link(c, &row))
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_identities_are_listed_and_unlinked_but_never_the_last_way_in() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "users:write idps:write").await;
    for slug in ["contoso", "fabrikam"] {
        let (status, _, body) = call(
            &app, Method::POST, "default", "/idps", &key,
            Some(json!({"slug": slug, "kind": "oidc", "display_name": slug,
                        "settings": {"oidc": {"issuer": format!("https://{slug}.example"), "client_id": "w"}}})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let tenant = app.tenant("default").await;
    // A federated user: no password, one identity.
    let fed = watchword::admin::users::create(
        &app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "fed".into(),
            email: None,
            email_verified: false,
            display_name: None,
            password: None::<Secret<String>>,
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    link(&app, "contoso", &fed, "sub/with slash").await;
    let base = format!("/users/{}/identities", fed.id);
    let (status, _, listed) = call(&app, Method::GET, "default", &base, &key, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed[0]["idp"], "contoso");
    assert_eq!(listed[0]["subject"], "sub/with slash");
    let one = format!("{base}/contoso/sub%2Fwith%20slash");
    let (status, _, problem) = call(&app, Method::DELETE, "default", &one, &key, None).await;
    assert_eq!(status, 409, "the last way in is kept: {problem}");
    // With a second identity, the first may go.
    link(&app, "fabrikam", &fed, "f-1").await;
    let (status, _, problem) = call(&app, Method::DELETE, "default", &one, &key, None).await;
    assert_eq!(status, 204, "{problem}");
    let (status, _, _) = call(&app, Method::DELETE, "default", &one, &key, None).await;
    assert_eq!(status, 404, "no longer linked");
    let (_, _, listed) = call(&app, Method::GET, "default", &base, &key, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("{base}/fabrikam/f-1"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 409, "now the other one is the last way in");

    // A user with a password may lose every identity.
    let pw = app
        .create_user("default", "pw", "a long enough password 1")
        .await;
    link(&app, "contoso", &pw, "pw-1").await;
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("/users/{}/identities/contoso/pw-1", pw.id),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let audit = app.audit("default").await;
    assert!(
        audit.iter().any(|e| e.action == "identity_unlinked"
            && e.actor.starts_with("api_key:")
            && e.subject.as_deref() == Some(&format!("user:{}", pw.id))),
        "{audit:?}"
    );
    let viewer = api_key(&app, "default", "users:read").await;
    let (status, _, problem) = call(
        &app,
        Method::DELETE,
        "default",
        &format!("{base}/fabrikam/f-1"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        (status, problem["permission"].clone()),
        (403, json!("users:write"))
    );
}
