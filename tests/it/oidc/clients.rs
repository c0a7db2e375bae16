//! Client secrets from outside the server: clients declared in a seed file (given id and
//! secret, applied idempotently) and `watchword client rotate-secret` run against a live server.

use std::sync::{Arc, Mutex};

use base64::Engine;
use openidconnect::{OAuth2TokenResponse, Scope};
use watchword::domain::audit::Actor;

use super::flow::post;
use crate::common::TestApp;
use crate::common::binary::{run, stderr, stdout, watchword};
use crate::common::oidc::{Registered, discover, http, plain_client, register, rp};
use watchword::domain::client::GrantType;

const SEEDED_SECRET: &str = "seeded-batch-secret-0123456789-abcdefghij";

const SEED: &str = r#"
[[tenants]]
slug = "default"

[[tenants.clients]]
client_id = "seeded-batch"
name = "Seeded batch"
secret = "seeded-batch-secret-0123456789-abcdefghij"
grant_types = ["client_credentials"]
scopes = ["reports:read"]
"#;

/// A client-credentials grant with HTTP Basic: the status and body.
async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (u16, serde_json::Value) {
    post(
        app,
        "/t/default/token",
        Some((id, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await
}

/// The number of audit events about `client_id`.
async fn client_events(app: &TestApp, client_id: &str) -> usize {
    let subject = format!("client:{client_id}");
    app.audit("default")
        .await
        .iter()
        .filter(|e| e.subject.as_deref() == Some(subject.as_str()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_clients_use_their_given_secret_and_a_second_run_changes_nothing() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    std::fs::write(&path, SEED).unwrap();

    let first = app.app.seed(&path).await.unwrap();
    assert_eq!((first.clients_created, first.clients_updated), (1, 0));

    // The relying party authenticates with the secret from the file.
    let registered = Registered {
        client_id: "seeded-batch".into(),
        secret: Some(SEEDED_SECRET.into()),
        redirect_uri: String::new(),
    };
    let client = rp(&discover(&app, "default").await, &registered);
    let h = plain_client();
    let tokens = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("reports:read".into()))
        .request_async(&|r| http(h.clone(), r))
        .await
        .expect("the seeded secret authenticates the client");
    let (_, intro) = post(
        &app,
        "/t/default/introspect",
        Some(("seeded-batch", SEEDED_SECRET)),
        &[("token", tokens.access_token().secret())],
    )
    .await;
    assert_eq!(
        (intro["active"].as_bool(), intro["client_id"].as_str()),
        (Some(true), Some("seeded-batch"))
    );
    let (status, body) = client_credentials(&app, "seeded-batch", "not-the-seeded-secret").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // The same file again: nothing is written.
    let tenant = app.tenant("default").await;
    let before = watchword::admin::clients::get(&app.app.ctx, &tenant, "seeded-batch")
        .await
        .unwrap();
    let events = client_events(&app, "seeded-batch").await;
    let second = app.app.seed(&path).await.unwrap();
    assert_eq!(
        second.to_string(),
        "tenants: 0 created, 0 updated; users: 0 created, 0 updated; clients: 0 created, 0 updated; 2 unchanged"
    );
    let after = watchword::admin::clients::get(&app.app.ctx, &tenant, "seeded-batch")
        .await
        .unwrap();
    assert_eq!(after.client, before.client, "registration untouched");
    assert_eq!(
        after.secret_digest, before.secret_digest,
        "secret untouched"
    );
    assert_eq!(
        client_events(&app, "seeded-batch").await,
        events,
        "nothing audited: nothing changed"
    );
    let all = watchword::admin::clients::list(&app.app.ctx, &tenant)
        .await
        .unwrap();
    assert_eq!(
        all.iter().filter(|c| c.client_id == "seeded-batch").count(),
        1,
        "no duplicate"
    );
    let (status, body) = client_credentials(&app, "seeded-batch", SEEDED_SECRET).await;
    assert_eq!(status, 200, "the secret still works: {body}");

    // A secret rotated by an operator is set back to the file's by the next run.
    let rotated = watchword::admin::clients::set_secret(
        &app.app.ctx,
        &tenant,
        &after.client,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    assert_eq!(
        client_credentials(&app, "seeded-batch", SEEDED_SECRET)
            .await
            .0,
        401
    );
    let third = app.app.seed(&path).await.unwrap();
    assert_eq!((third.clients_created, third.clients_updated), (0, 1));
    assert_eq!(
        client_credentials(&app, "seeded-batch", SEEDED_SECRET)
            .await
            .0,
        200
    );
    assert_eq!(
        client_credentials(&app, "seeded-batch", rotated.expose())
            .await
            .0,
        401
    );
}

/// The configuration a server was started with, for the command line to share: its database,
/// Redis and master key.
#[derive(Default, Clone)]
struct Shared {
    database_url: Option<String>,
    redis: Option<(String, String)>,
    master_key: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_secret_on_the_command_line_retires_the_old_secret() {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let seen = shared.clone();
    let master_key =
        base64::engine::general_purpose::STANDARD.encode(watchword::crypto::random::bytes::<32>());
    let key = master_key.clone();
    let app = TestApp::builder()
        .tweak(move |c| {
            c.secrets.master_key = Some(watchword::domain::secret::Secret::new(key.clone()));
            *seen.lock().unwrap() = Shared {
                database_url: c.database.url.as_ref().map(|u| u.expose().clone()),
                redis: c
                    .redis
                    .url
                    .as_ref()
                    .map(|u| (u.expose().clone(), c.redis.key_prefix.clone())),
                master_key: key,
            };
        })
        .start()
        .await;
    let registered = register(&app, "default", "rot", |c| {
        c.settings.grant_types = vec![GrantType::ClientCredentials];
        c.settings.redirect_uris.clear();
        c.settings.scopes = vec!["api".into()];
    })
    .await;
    let old = registered.secret.clone().unwrap();
    assert_eq!(client_credentials(&app, "rot", &old).await.0, 200);

    // The operator's command, on the server's database and master key.
    let shared = shared.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = watchword(dir.path());
    cmd.env("WATCHWORD__SECRETS__MASTER_KEY", &shared.master_key)
        .args(["client", "rotate-secret", "rot"]);
    if let Some(url) = &shared.database_url {
        cmd.env("WATCHWORD__DATABASE__URL", url);
    }
    if let Some((url, prefix)) = &shared.redis {
        cmd.env("WATCHWORD__REDIS__URL", url)
            .env("WATCHWORD__REDIS__KEY_PREFIX", prefix);
    }
    let out = run(cmd, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let new = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .map(|s| s.trim().to_owned())
        .expect("the new secret is shown once");
    assert_ne!(new, old);
    // Another process wrote the client: this server sees it once its 5-second client cache
    // entry expires (here: at once).
    app.app.ctx.cache.clients.clear();

    let res = plain_client()
        .post(app.url("/t/default/token"))
        .basic_auth("rot", Some(&old))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the old secret is refused");
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = client_credentials(&app, "rot", &new).await;
    assert_eq!(status, 200, "the new secret works: {body}");
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.subject.as_deref() == Some("client:rot")
                && e.action == "client_secret_rotated"
                && e.actor == "cli"),
        "the rotation is audited"
    );
}
