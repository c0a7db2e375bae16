//! Upgrades: a database left at an earlier schema (all but the newest `BEHIND` migrations,
//! applied with diesel's harness from the same migration directories the binary embeds), holding
//! a tenant, a user, a confidential client and an offline grant with its refresh token written
//! with plain SQL for that schema, is brought up to date by the current `watchword migrate`; the
//! user then signs in, the client authenticates and gets tokens, the old refresh token refreshes,
//! and the tenant has signing keys. On PostgreSQL and on SQLite. Also a fresh install on
//! PostgreSQL: `watchword migrate` on an empty schema, then `serve`.

use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use reqwest::StatusCode;

use crate::common::backend::Backend;
use crate::common::binary::{self, stderr, stdout};
use crate::common::browser::location;
use crate::common::cluster::Cluster;
use crate::common::oidc::{param, plain_client};
use crate::common::{Browser, GOOD_PASSWORD};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How many of the newest migrations the "previous release" lacks. There are no release tags;
/// 6 leaves the schema as of `2026-12-07-000008_registration`, before risk scoring (000009,
/// 000010), federation (000011), the audit hash chain (000012), the management API (000013) and
/// row versions (000014): a gap that rewrites `users` and `audit_events` and adds tables.
const BEHIND: usize = 6;

const SECRET: &str = "legacy-client-secret-0123456789abcdefghij";
const REDIRECT: &str = "https://legacy.example/callback";
/// A refresh token the old release issued (stored as its keyed digest).
const OLD_REFRESH: &str = "legacy-refresh-token-0123456789abcdefghijklmnop";

fn count(dir: &str) -> usize {
    std::fs::read_dir(format!("{}/{dir}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").exists())
        .count()
}

/// Applies all but the newest `BEHIND` migrations; returns how many were applied.
fn apply_old<C>(conn: &mut C, set: fn() -> EmbeddedMigrations, total: usize) -> usize
where
    C: MigrationHarness<C::Backend> + Connection,
{
    assert!(total > BEHIND, "{total} migrations");
    for _ in 0..total - BEHIND {
        conn.run_next_migration(set()).unwrap();
    }
    let applied = conn.applied_migrations().unwrap().len();
    assert_eq!(applied, total - BEHIND);
    assert!(conn.has_pending_migration(set()).unwrap());
    applied
}

/// Plain SQL valid for the old schema: a tenant with an empty policy (defaults), a user with an
/// Argon2id hash, a confidential client whose secret digest is keyed by the master key.
fn old_rows(master_key: &str) -> Vec<String> {
    use argon2::PasswordHasher as _;
    let hash = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(7168, 1, 1, None).unwrap(),
    )
    .hash_password(GOOD_PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    let key = watchword::crypto::master_key::MasterKey::from_base64(master_key).unwrap();
    let digest = watchword::crypto::secret_digest(
        &key.derive(watchword::crypto::master_key::KeyPurpose::SecretHash),
        SECRET,
    );
    let now = watchword::clock::Clock::now(&watchword::clock::SystemClock).timestamp();
    let refresh_digest = watchword::crypto::secret_digest(
        &key.derive(watchword::crypto::master_key::KeyPurpose::SecretHash),
        OLD_REFRESH,
    );
    let (token, family, origin_sid) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let (tenant, user, client) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let settings = format!(
        r#"{{"redirect_uris":["{REDIRECT}"],"grant_types":["authorization_code","refresh_token"],"scopes":["openid","profile","offline_access"],"first_party":true,"require_pkce":true}}"#
    );
    vec![
        format!(
            "INSERT INTO tenants (id, slug, display_name, policy, created_at, updated_at) \
             VALUES ('{tenant}', 'default', 'Default', '{{}}', {now}, {now})"
        ),
        format!(
            "INSERT INTO users (id, tenant_id, username, username_normalized, email, email_normalized, \
             display_name, enabled, password_hash, password_changed_at, created_at, updated_at) \
             VALUES ('{user}', '{tenant}', 'olga', 'olga', 'olga@example.test', 'olga@example.test', \
             'Olga', TRUE, '{hash}', {now}, {now}, {now})"
        ),
        format!(
            "INSERT INTO clients (id, tenant_id, client_id, name, kind, auth_method, secret_hash, \
             settings, created_at, updated_at) VALUES ('{client}', '{tenant}', 'legacy', 'Legacy', \
             'confidential', 'client_secret_basic', '{digest}', '{settings}', {now}, {now})"
        ),
        // An offline grant (`sid` NULL: it outlives the browser session it came from) and its
        // current refresh token, as the old release's code exchange wrote them.
        format!(
            "INSERT INTO grants (family_id, tenant_id, user_id, client_id, origin_sid, offline, scope, \
             created_at, expires_at) VALUES ('{family}', '{tenant}', '{user}', 'legacy', \
             '{origin_sid}', TRUE, 'openid offline_access', {now}, {})",
            now + 86400
        ),
        format!(
            "INSERT INTO refresh_tokens (id, tenant_id, family_id, client_id, user_id, sid, scope, \
             token_hash, auth_time, amr, issued_at, expires_at, family_expires_at, used_at, \
             revoked_at, origin_sid) VALUES ('{token}', '{tenant}', '{family}', 'legacy', '{user}', \
             NULL, 'openid offline_access', '{refresh_digest}', {now}, '[\"pwd\"]', {now}, {}, {}, \
             NULL, NULL, '{origin_sid}')",
            now + 3600,
            now + 86400
        ),
    ]
}

/// `watchword migrate` applies exactly the missing migrations.
fn migrate(cluster: &Cluster, missing: usize) {
    let mut cmd = cluster.command();
    cmd.arg("migrate");
    let out = binary::run(cmd, "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("applied ")).count(),
        missing,
        "{text}"
    );
    let mut again = cluster.command();
    again.arg("migrate");
    let out = binary::run(again, "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "database is up to date");
}

/// Through the current server: olga signs in, `legacy` authenticates in a code flow and its
/// tokens work, the refresh token issued before the upgrade refreshes, and the tenant publishes
/// signing keys.
async fn assert_everything_works(cluster: &mut Cluster) {
    cluster.add_replica().await;
    let lb = cluster.lb.base.clone();
    let b = Browser::new(&lb);
    let res = b.sign_in("default", "olga", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "olga signs in");
    let home = b.get("/t/default/").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("olga"));

    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let res = b
        .client
        .get(b.url("/t/default/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "legacy"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(to.starts_with(REDIRECT), "{} {to}", res.status());
    let code = param(&url::Url::parse(&to).unwrap(), "code").unwrap();
    let wrong = plain_client()
        .post(format!("{lb}/t/default/token"))
        .basic_auth("legacy", Some("not-the-secret-0123456789abcdefghijkl"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong secret fails"
    );
    let res = plain_client()
        .post(format!("{lb}/t/default/token"))
        .basic_auth("legacy", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the client authenticates");
    let tokens: serde_json::Value = res.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let res = plain_client()
        .post(format!("{lb}/t/default/token"))
        .basic_auth("legacy", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the refresh token works");
    let introspection: serde_json::Value = plain_client()
        .post(format!("{lb}/t/default/introspect"))
        .basic_auth("legacy", Some(SECRET))
        .form(&[("token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true, "{introspection}");

    let res = plain_client()
        .post(format!("{lb}/t/default/token"))
        .basic_auth("legacy", Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", OLD_REFRESH),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "the refresh token from before works: {body}"
    );
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());

    let jwks: serde_json::Value = reqwest::get(format!("{lb}/t/default/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks["keys"].as_array().unwrap().is_empty(),
        "signing keys: {jwks}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_the_previous_release_schema_keeps_everything_on_sqlite() {
    let mut cluster = Cluster::new(Backend::with(None, None)).await;
    let data = cluster.dir().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut conn =
        diesel::SqliteConnection::establish(data.join("watchword.db").to_str().unwrap()).unwrap();
    apply_old(&mut conn, || SQLITE, count("migrations/sqlite"));
    for sql in old_rows(cluster.master_key()) {
        diesel::sql_query(sql.replace("TRUE", "1"))
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);
    migrate(&cluster, BEHIND);
    assert_everything_works(&mut cluster).await;
}

/// Tests that need PostgreSQL: ignored by default, selected by `scripts/test` in the pass that
/// has it.
mod needs_pg {
    use super::*;

    fn pg_backend() -> Backend {
        Backend::with(
            Some(crate::common::required_database_url()),
            crate::common::test_redis_url(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn upgrade_from_the_previous_release_schema_keeps_everything() {
        let mut cluster = Cluster::new(pg_backend()).await;
        let url = cluster.backend.database_url().unwrap();
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        apply_old(&mut conn, || POSTGRES, count("migrations/postgres"));
        for sql in old_rows(cluster.master_key()) {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        drop(conn);
        migrate(&cluster, BEHIND);
        assert_everything_works(&mut cluster).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn fresh_install_migrates_and_serves_on_postgres() {
        let mut cluster = Cluster::new(pg_backend()).await;
        migrate(&cluster, count("migrations/postgres"));
        let url = cluster.backend.database_url().unwrap();
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        assert_eq!(
            conn.applied_migrations().unwrap().len(),
            count("migrations/postgres")
        );
        drop(conn);
        cluster.add_replica().await;
        let ready: serde_json::Value = reqwest::get(format!("{}/readyz", cluster.lb.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["checks"]["database"]["backend"], "postgres");
        let jwks: serde_json::Value =
            reqwest::get(format!("{}/t/default/jwks.json", cluster.lb.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");
    }
}
