//! What the command line can do, over the admin API too: invitations to sign up (create, list,
//! revoke), an administrator's verdict on a sign-in event (risk feedback, ending sessions only
//! when asked and only with `sessions:write`), a SAML provider created from and refreshed by its
//! metadata (as XML, or fetched through the outbound guard), and unlinking checked by the engine.

use std::io::{Read, Write};

use reqwest::Method;
use serde_json::json;
use watchword::admin::AdminError;
use watchword::domain::admin::Role;

use super::{api_key, call, call_with, person};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};

const METADATA: &str = include_str!("../../fixtures/saml/idp_metadata.xml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_created_listed_and_revoked() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "users:write").await;
    let (status, _, made) = call(
        &app,
        Method::POST,
        "default",
        "/invitations",
        &key,
        Some(json!({"email": "ivy@example.test", "expires_hours": 24})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let link = made["link"].as_str().unwrap();
    assert!(
        link.starts_with(&app.url("/t/default/register?invite=")),
        "{link}"
    );
    assert_eq!(made["address"], "ivy@example.test");
    assert_eq!(made["mailed"], false);
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 12);

    let (status, _, listed) = call(&app, Method::GET, "default", "/invitations", &key, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "open");
    assert!(
        !listed
            .to_string()
            .contains(link.split("invite=").nth(1).unwrap()),
        "the token is shown only once"
    );

    // Bad input names the field; sending needs an address.
    for (body, field) in [
        (json!({"expires_hours": 0}), "expires_hours"),
        (json!({"expires_hours": 721}), "expires_hours"),
        (json!({"send": true}), "send"),
        (json!({"email": "not an address"}), "email"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, _, problem) = call(
            &app,
            Method::POST,
            "default",
            "/invitations",
            &key,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, &problem["field"]),
            (422, &json!(field)),
            "{body}: {problem}"
        );
    }

    // Revoking is idempotent; the link no longer works.
    for _ in 0..2 {
        let path = format!("/invitations/{id}");
        let (status, _, body) = call(&app, Method::DELETE, "default", &path, &key, None).await;
        assert_eq!(status, 204, "{body}");
    }
    let (_, _, listed) = call(&app, Method::GET, "default", "/invitations", &key, None).await;
    assert_eq!(listed[0]["state"], "expired", "{listed}");
    let tenant = app.tenant("default").await;
    let token = link.split("invite=").nth(1).unwrap();
    assert!(matches!(
        watchword::registration::invites::check(&app.app.ctx, &tenant, token)
            .await
            .unwrap(),
        watchword::registration::invites::Checked::Spent
    ));
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "default",
        "/invitations/not-an-id",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404);

    // A reader sees them, and may not make one (the permission named).
    let reader = api_key(&app, "default", "users:read").await;
    let (status, _, _) = call(&app, Method::GET, "default", "/invitations", &reader, None).await;
    assert_eq!(status, 200);
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/invitations",
        &reader,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, &problem["permission"]),
        (403, &json!("users:write"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_events_are_marked_and_end_sessions_only_when_asked() {
    let app = TestApp::start().await;
    let user = app.create_user("default", "eve", GOOD_PASSWORD).await;
    let browser = Browser::new(&app.base);
    let res = browser.sign_in("default", "eve", GOOD_PASSWORD).await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let reader = api_key(&app, "default", "events:read").await;
    let (status, _, events) = call(
        &app,
        Method::GET,
        "default",
        &format!("/events?user={}", user.id),
        &reader,
        None,
    )
    .await;
    assert_eq!(status, 200, "{events}");
    let id = events["items"][0]["id"].as_str().unwrap().to_owned();
    let mark = format!("/events/{id}/mark");

    let marker = api_key(&app, "default", "events:write").await;
    let (status, _, marked) = call(
        &app,
        Method::POST,
        "default",
        &mark,
        &marker,
        Some(json!({"value": "valid"})),
    )
    .await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(
        (marked["value"].clone(), marked["previous"].clone()),
        (json!("valid"), json!(null))
    );
    assert_eq!(marked["sessions_ended"], json!(null));
    let (_, _, events) = call(
        &app,
        Method::GET,
        "default",
        &format!("/events?user={}", user.id),
        &reader,
        None,
    )
    .await;
    assert_eq!(events["items"][0]["feedback"], "valid");

    let both = api_key(&app, "default", "events:write sessions:write").await;
    for (body, status, field) in [
        (json!({"value": "maybe"}), 422, "value"),
        (
            json!({"value": "valid", "end_sessions": true}),
            422,
            "end_sessions",
        ),
    ] {
        let (got, _, problem) = call(
            &app,
            Method::POST,
            "default",
            &mark,
            &both,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (got, &problem["field"]),
            (status, &json!(field)),
            "{body}: {problem}"
        );
    }
    let (status, _, _) = call(
        &app,
        Method::POST,
        "default",
        "/events/no-such-event/mark",
        &marker,
        Some(json!({"value": "invalid"})),
    )
    .await;
    assert_eq!(status, 404);

    // Ending sessions needs sessions:write as well; with it, the browser is signed out.
    let invalid = json!({"value": "invalid", "end_sessions": true});
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        &mark,
        &marker,
        Some(invalid.clone()),
    )
    .await;
    assert_eq!(
        (status, &problem["permission"]),
        (403, &json!("sessions:write"))
    );
    assert_eq!(browser.get("/t/default/account").await.status(), 200);
    let (status, _, marked) =
        call(&app, Method::POST, "default", &mark, &both, Some(invalid)).await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(
        (marked["previous"].clone(), marked["sessions_ended"].clone()),
        (json!("valid"), json!(1))
    );
    assert_ne!(browser.get("/t/default/account").await.status(), 200);
    let audit = app.audit("default").await;
    let row = audit.iter().find(|r| r.action == "risk_feedback").unwrap();
    assert!(row.actor.starts_with("api_key:"), "{}", row.actor);
    assert!(row.request_id.is_some());
}

/// Serves `body` to every request until the test ends (a stand-in for an IdP's metadata URL).
fn serve(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metadata", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saml_provider_is_made_and_refreshed_from_its_metadata() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "idps:write").await;
    let (status, headers, made) = call_with(
        &app,
        Method::POST,
        "default",
        "/idps",
        &key,
        Some(
            json!({"slug": "shib", "kind": "saml", "display_name": "Shibboleth",
                    "settings": {"saml": {"entity_id": "x", "sso_url": "https://x.example/sso",
                                          "signing_certs": [], "allow_sha1": true}},
                    "metadata_xml": METADATA}),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let saml = &made["settings"]["saml"];
    assert_eq!(
        saml["entity_id"], "https://idp.example.org/metadata",
        "{made}"
    );
    assert_eq!(saml["signing_certs"].as_array().unwrap().len(), 1);
    assert_eq!(saml["allow_sha1"], true, "what metadata cannot say is kept");
    let etag = headers["etag"].to_str().unwrap().to_owned();

    // Refreshing: bad documents and both or neither source name the field; nothing changes.
    for (body, field) in [
        (json!({"metadata_xml": "<nope/>"}), "metadata_xml"),
        (json!({"metadata_xml": "not xml"}), "metadata_xml"),
        (json!({}), "metadata_xml"),
        (
            json!({"metadata_xml": METADATA, "metadata_url": "https://a.example/md"}),
            "metadata_url",
        ),
        (
            json!({"metadata_url": "ftp://a.example/md"}),
            "metadata_url",
        ),
        // The outbound guard: no loopback targets unless the operator allows private networks.
        (json!({"metadata_url": serve(METADATA)}), "metadata_url"),
    ] {
        let (status, _, problem) = call(
            &app,
            Method::POST,
            "default",
            "/idps/shib/saml-metadata",
            &key,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, &problem["field"]),
            (422, &json!(field)),
            "{body}: {problem}"
        );
    }
    let (status, _, _) = call_with(
        &app,
        Method::POST,
        "default",
        "/idps/shib/saml-metadata",
        &key,
        Some(json!({"metadata_xml": METADATA})),
        &[("If-Match", "\"v99\"")],
    )
    .await;
    assert_eq!(status, 412, "a stale If-Match");
    let (status, headers, refreshed) = call_with(
        &app,
        Method::POST,
        "default",
        "/idps/shib/saml-metadata",
        &key,
        Some(json!({"metadata_xml": METADATA})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(headers["etag"].to_str().unwrap(), etag, "a new version");

    // Not for OIDC providers; not for a reader.
    call(
        &app,
        Method::POST,
        "default",
        "/idps",
        &key,
        Some(
            json!({"slug": "corp", "kind": "oidc", "display_name": "Corp",
                    "settings": {"oidc": {"issuer": "https://corp.example", "client_id": "w"}}}),
        ),
    )
    .await;
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/idps/corp/saml-metadata",
        &key,
        Some(json!({"metadata_xml": METADATA})),
    )
    .await;
    assert_eq!((status, &problem["field"]), (422, &json!("metadata_xml")));
    let reader = api_key(&app, "default", "idps:read").await;
    let (status, _, problem) = call(
        &app,
        Method::POST,
        "default",
        "/idps/shib/saml-metadata",
        &reader,
        Some(json!({"metadata_xml": METADATA})),
    )
    .await;
    assert_eq!(
        (status, &problem["permission"]),
        (403, &json!("idps:write"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_fetched_from_its_url_where_the_operator_allows_the_network() {
    let app = TestApp::builder()
        .tweak(|c| c.outbound.allow_private_networks = true)
        .start()
        .await;
    let key = api_key(&app, "default", "idps:write").await;
    let url = serve(METADATA);
    let (status, _, made) = call(
        &app,
        Method::POST,
        "default",
        "/idps",
        &key,
        Some(
            json!({"slug": "shib", "kind": "saml", "display_name": "Shibboleth",
                    "settings": {}, "metadata_url": url}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["settings"]["saml"]["metadata_url"], url.as_str());
    assert_eq!(
        made["settings"]["saml"]["entity_id"],
        "https://idp.example.org/metadata"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinking_is_checked_by_the_engine() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let user = app.create_user("default", "linked", GOOD_PASSWORD).await;
    let (_, viewer) = person(&app, "default", "viewer", Role::TenantViewer).await;
    let refused = watchword::admin::user_access::unlink(
        &app.app.ctx,
        &tenant,
        &user,
        "corp",
        "corp-1",
        &viewer,
    )
    .await;
    assert!(
        matches!(refused, Err(AdminError::Forbidden(p)) if p.to_string() == "users:write"),
        "{refused:?}"
    );
    let (_, manager) = person(&app, "default", "manager", Role::UserManager).await;
    let outcome = watchword::admin::user_access::unlink(
        &app.app.ctx,
        &tenant,
        &user,
        "corp",
        "corp-1",
        &manager,
    )
    .await
    .unwrap();
    assert_eq!(outcome, watchword::federation::Unlinked::NotLinked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registration_setting_is_read_created_and_patched_over_the_api() {
    let app = TestApp::start().await;
    let key = api_key(&app, "default", "clients:write").await;
    let (status, _, made) = call(
        &app,
        Method::POST,
        "default",
        "/clients",
        &key,
        Some(
            json!({"client_id": "api-one", "name": "API one", "grant_types": ["client_credentials"],
                    "settings": {"resource_server": true, "audiences": ["web-app"]}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        made["client"]["settings"]["resource_server"], true,
        "{made}"
    );
    assert_eq!(made["client"]["settings"]["audiences"], json!(["web-app"]));

    let (status, headers, _) = call_with(
        &app,
        Method::GET,
        "default",
        "/clients/api-one",
        &key,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, headers, patched) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/clients/api-one",
        &key,
        Some(json!({"settings": {"lifetimes": {"access_token_secs": 300},
                                 "access_token_alg": "EdDSA", "audiences": null}})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let settings = &patched["settings"];
    assert_eq!(settings["lifetimes"]["access_token_secs"], 300, "{patched}");
    assert_eq!(settings["access_token_alg"], "EdDSA");
    assert_eq!(
        settings["audiences"],
        json!([]),
        "null resets to the default"
    );
    assert_eq!(settings["resource_server"], true, "untouched members stay");
    let etag = headers["etag"].to_str().unwrap().to_owned();

    // A token issued now lives 300 seconds and is signed with EdDSA.
    let tenant = app.tenant("default").await;
    let client = watchword::oauth::clients::find(&app.app.ctx, &tenant, "api-one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        client.client.settings.lifetimes.access_token_secs,
        Some(300)
    );

    for (changes, field) in [
        (
            json!({"lifetimes": {"access_token_secs": "ten"}}),
            "settings.lifetimes.access_token_secs",
        ),
        (json!({"lifetimes": {"forever": 1}}), "settings.lifetimes"),
        (
            json!({"access_token_alg": "none"}),
            "settings.access_token_alg",
        ),
    ] {
        let (status, _, problem) = call_with(
            &app,
            Method::PATCH,
            "default",
            "/clients/api-one",
            &key,
            Some(json!({ "settings": changes })),
            &[("If-Match", &etag)],
        )
        .await;
        assert_eq!(status, 422, "{changes}: {problem}");
        assert!(
            problem["field"].as_str().unwrap_or("").starts_with(field),
            "{changes}: {problem}"
        );
    }
    // A lifetime beyond the domain's bound is refused by the same rules as the seed file.
    let (status, _, problem) = call_with(
        &app,
        Method::PATCH,
        "default",
        "/clients/api-one",
        &key,
        Some(json!({"settings": {"lifetimes": {"access_token_secs": 10_000_000_000_i64}}})),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(status, 422, "{problem}");
}
