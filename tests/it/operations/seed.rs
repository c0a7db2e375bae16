//! The seed file creates and updates tenants and users idempotently.

use reqwest::StatusCode;

use crate::common::binary::{run, stderr, stdout, watchword};
use crate::common::{GOOD_PASSWORD, TestApp};

const SEED: &str = r#"
[[tenants]]
slug = "default"
display_name = "Example Company"

[[tenants.users]]
username = "alice"
email = "alice@example.test"
display_name = "Alice Liddell"
password = "correct horse battery staple"
admin = "read-write"

[[tenants]]
slug = "school"
display_name = "School"
[tenants.policy.session]
idle_timeout_secs = 600
[tenants.policy.password]
min_length = 12

[[tenants.users]]
username = "bob"
password = "a long enough passphrase"
enabled = false
"#;

#[tokio::test]
async fn applying_a_seed_twice_changes_nothing_the_second_time() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    std::fs::write(&path, SEED).unwrap();

    let first = app.app.seed(&path).await.unwrap();
    assert_eq!(
        (
            first.tenants_created,
            first.tenants_updated,
            first.users_created
        ),
        (1, 1, 2)
    );
    let second = app.app.seed(&path).await.unwrap();
    assert_eq!(
        second.to_string(),
        "tenants: 0 created, 0 updated; users: 0 created, 0 updated; clients: 0 created, 0 updated; 4 unchanged"
    );

    let school = app.tenant("school").await;
    assert_eq!(school.policy.session.idle_timeout_secs, 600);
    assert_eq!(school.policy.password.min_length, 12);
    // The tenant's own password policy applies: 11 characters pass the default tenant's
    // minimum of 8, not this one's 12.
    let bob = watchword::admin::users::find(&app.app.ctx, &school, "bob")
        .await
        .unwrap()
        .unwrap();
    let short = watchword::domain::secret::Secret::new("elevenchars".to_owned());
    let refused = watchword::admin::users::set_password(
        &app.app.ctx,
        &school,
        &bob.user,
        &short,
        watchword::admin::access::OnReset::EndAccess,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("12")),
        "{refused:?}"
    );
    let default = app.tenant("default").await;
    let carol = app.create_user("default", "carol", GOOD_PASSWORD).await;
    watchword::admin::users::set_password(
        &app.app.ctx,
        &default,
        &carol,
        &short,
        watchword::admin::access::OnReset::EndAccess,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .expect("the default tenant's minimum is 8");
    assert_eq!(app.tenant("default").await.display_name, "Example Company");

    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "alice", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let res = app
        .browser()
        .sign_in("school", "bob", "a long enough passphrase")
        .await;
    assert!(
        res.text().await.unwrap().contains("disabled"),
        "seeded as disabled"
    );

    // Changing the file updates exactly what changed.
    std::fs::write(
        &path,
        SEED.replace("enabled = false", "enabled = true")
            .replace("Alice Liddell", "Alice L."),
    )
    .unwrap();
    let third = app.app.seed(&path).await.unwrap();
    assert_eq!((third.users_updated, third.unchanged), (2, 2));
    assert_eq!(
        app.browser()
            .sign_in("school", "bob", "a long enough passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn outdated_password_hashes_are_upgraded_at_the_next_sign_in() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    // A hash of GOOD_PASSWORD made with weaker parameters (m=8192, t=1), e.g. imported.
    let weak =
        watchword::crypto::password::PasswordHasher::start(&watchword::config::HashingConfig {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
            threads: 1,
            max_queue: 4,
        })
        .unwrap()
        .hash(GOOD_PASSWORD)
        .await
        .unwrap();
    std::fs::write(
        &path,
        format!("[[tenants]]\nslug = \"default\"\n[[tenants.users]]\nusername = \"old\"\npassword_hash = \"{weak}\"\n"),
    )
    .unwrap();
    app.app.seed(&path).await.unwrap();

    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "old", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let tenant = app.tenant("default").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stored = watchword::admin::users::get(&app.app.ctx, &tenant, "old")
            .await
            .unwrap()
            .password_hash
            .unwrap();
        if stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hash not upgraded: {stored}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.browser()
            .sign_in("default", "old", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[test]
fn the_seed_command_reports_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("seed.toml"), SEED).unwrap();
    std::fs::write(
        d.join("typo.toml"),
        "[[tenants]]\nslug = \"x\"\ndisplayname = \"X\"\n",
    )
    .unwrap();
    std::fs::write(d.join("weak.toml"), "[[tenants]]\nslug = \"x\"\n[[tenants.users]]\nusername = \"u\"\npassword = \"password1\"\n").unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[[tenants]]\nslug = \"x\"\n[tenants.policy.session]\nidle_timeout_secs = 5\n",
    )
    .unwrap();
    std::fs::write(
        d.join("risk.toml"),
        "[[tenants]]\nslug = \"x\"\n[tenants.policy.risk.thresholds]\nmedium = 50\nhigh = 40\n",
    )
    .unwrap();
    std::fs::write(
        d.join("ranges.toml"),
        "[[tenants]]\nslug = \"x\"\n[tenants.policy.risk]\nblocked_ip_ranges = [\"not-a-range\"]\n",
    )
    .unwrap();

    let seed = |file: &str| {
        let mut c = watchword(d);
        c.args(["seed", file]);
        run(c, "")
    };
    let out = seed("seed.toml");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("users: 2 created"));
    let out = seed("seed.toml");
    assert!(stdout(&out).contains("4 unchanged"), "{}", stdout(&out));

    for (file, expected) in [
        ("typo.toml", "displayname"),
        ("weak.toml", "most commonly used"),
        ("policy.toml", "session.idle_timeout_secs"),
        ("risk.toml", "risk.thresholds"),
        ("ranges.toml", "not-a-range"),
    ] {
        let out = seed(file);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(stderr(&out).contains(expected), "{file}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn a_bad_seed_file_changes_nothing() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    let bad = r#"
[[tenants]]
slug = "first"
[[tenants.users]]
username = "fine"
password = "a perfectly fine passphrase"

[[tenants]]
slug = "second"
[[tenants.users]]
username = "weak"
password = "password1"
"#;
    std::fs::write(&path, bad).unwrap();
    let err = app.app.seed(&path).await.unwrap_err().to_string();
    assert!(err.contains("tenant \"second\", user \"weak\""), "{err}");
    assert!(
        watchword::admin::tenants::find(&app.app.ctx, "first")
            .await
            .unwrap()
            .is_none(),
        "the valid entries before the bad one were not applied"
    );

    let malformed_hash = "[[tenants]]\nslug = \"default\"\n[[tenants.users]]\nusername = \"h\"\npassword_hash = \"$argon2id$garbage\"\n";
    std::fs::write(&path, malformed_hash).unwrap();
    let err = app.app.seed(&path).await.unwrap_err().to_string();
    assert!(err.contains("password_hash"), "{err}");
}

#[tokio::test]
async fn a_seed_can_grant_and_remove_admin_rights() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    let seed = |admin: &str| {
        format!(
            "[[tenants]]\nslug = \"default\"\n[[tenants.users]]\nusername = \"ops\"\nadmin = \"{admin}\"\n"
        )
    };
    let tenant = app.tenant("default").await;
    std::fs::write(&path, seed("read-only")).unwrap();
    app.app.seed(&path).await.unwrap();
    let role = |app: &TestApp| {
        let (ctx, tenant) = (app.app.ctx.clone(), tenant.clone());
        async move {
            watchword::admin::users::get(&ctx, &tenant, "ops")
                .await
                .unwrap()
                .user
                .admin_role
        }
    };
    assert_eq!(
        role(&app).await,
        Some(watchword::domain::admin::Role::TenantViewer)
    );
    std::fs::write(&path, seed("none")).unwrap();
    app.app.seed(&path).await.unwrap();
    assert_eq!(role(&app).await, None);
}
