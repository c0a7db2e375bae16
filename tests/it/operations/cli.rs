//! The command line: every command has --help, does its job, and exits non-zero with a clear
//! message on bad input.

use crate::common::GOOD_PASSWORD;
use crate::common::binary::{Workdir, run, stderr, stdout};

fn cli(dir: &Workdir, args: &[&str], stdin: &str) -> std::process::Output {
    let mut cmd = dir.watchword();
    cmd.args(args);
    run(cmd, stdin)
}

#[test]
fn every_command_has_help() {
    let dir = Workdir::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["seed", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["tenant", "list", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "set-password", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "enable", "--help"],
        vec!["user", "reset-mfa", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let out = cli(&dir, &args, "");
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
    assert!(!dir.path().join("data").exists(), "--help touches nothing");
}

#[test]
fn tenants_and_users_are_managed_from_the_command_line() {
    let dir = Workdir::new();
    let d = &dir;

    let out = cli(d, &["migrate"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("applied"), "{}", stdout(&out));
    let out = cli(d, &["migrate"], "");
    assert!(stdout(&out).contains("up to date"));

    let out = cli(
        d,
        &["tenant", "create", "acme", "--display-name", "Acme Corp"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("/t/acme"), "prints the issuer");
    let out = cli(d, &["tenant", "list"], "");
    assert!(
        stdout(&out).contains("acme")
            && stdout(&out).contains("Acme Corp")
            && stdout(&out).contains("default")
    );

    let out = cli(
        d,
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "Zoe",
            "--email",
            "zoe@acme.test",
            "--password-stdin",
        ],
        &format!("{GOOD_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(d, &["user", "list", "--tenant", "acme", "--json"], "");
    let users: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(users[0]["username"], "Zoe");
    assert_eq!(users[0]["enabled"], true);

    let out = cli(
        d,
        &[
            "user",
            "set-password",
            "--tenant",
            "acme",
            "zoe",
            "--password-stdin",
        ],
        "another long passphrase\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(d, &["user", "disable", "--tenant", "acme", "ZOE"], "");
    assert!(
        out.status.success() && stdout(&out).contains("disabled Zoe"),
        "{}",
        stderr(&out)
    );
    let out = cli(d, &["user", "list", "--tenant", "acme", "--json"], "");
    assert!(stdout(&out).contains("\"enabled\": false"));
    let out = cli(d, &["user", "enable", "--tenant", "acme", "zoe"], "");
    assert!(out.status.success());
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    let dir = Workdir::new();
    let d = &dir;
    let cases: &[(&[&str], &str, &str)] = &[
        (&["tenant", "create", "Bad Slug"], "", "invalid tenant slug"),
        (
            &["user", "create", "x", "--tenant", "nope", "--no-password"],
            "",
            "tenant \"nope\" not found",
        ),
        (
            &["user", "create", "weak", "--password-stdin"],
            "password\n",
            "most commonly used",
        ),
        (
            &["user", "create", "short", "--password-stdin"],
            "abc\n",
            "at least 8 characters",
        ),
        (&["user", "create", "a b", "--no-password"], "", "username"),
        (&["user", "create", "nopw"], "", "--password-stdin"),
        (
            &["user", "create", "x", "--admin", "god", "--no-password"],
            "",
            "read-only",
        ),
        (&["user", "disable", "ghost"], "", "not found"),
        (&["user", "frobnicate"], "", "unrecognized subcommand"),
        (
            &["seed", "does-not-exist.toml"],
            "",
            "cannot read seed file",
        ),
    ];
    for (args, stdin, expected) in cases {
        let out = cli(d, args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: usage errors exit with 2"
        );
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
    let out = cli(d, &["user", "create", "dup", "--no-password"], "");
    assert!(out.status.success());
    let out = cli(d, &["user", "create", "DUP", "--no-password"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("username with that value already exists"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn admin_changes_are_audited() {
    use watchword::domain::audit::Actor;
    let app = crate::common::TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = watchword::admin::tenants::create(
        ctx,
        "audited",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let user = app.create_user("audited", "una", GOOD_PASSWORD).await;
    watchword::admin::users::set_enabled(
        ctx,
        &tenant,
        user.clone(),
        false,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let events = app.audit("audited").await;
    let actions: Vec<(&str, &str)> = events
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("tenant_created", "cli"),
            ("user_created", "cli"),
            ("user_disabled", "cli")
        ]
    );
    assert_eq!(
        events[0].subject.as_deref(),
        Some(format!("user:{}", user.id).as_str())
    );
}

#[test]
fn clients_and_keys_are_managed_from_the_command_line() {
    let dir = Workdir::new();
    let d = &dir;
    let secret_of = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("client_secret: "))
            .map(|s| s.trim().to_owned())
    };

    let out = cli(
        d,
        &[
            "client",
            "create",
            "--name",
            "Web",
            "--client-id",
            "web",
            "--redirect-uri",
            "https://app.example/cb",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first = secret_of(&stdout(&out)).expect("the secret is shown once");
    assert_eq!(first.len(), 43, "256 random bits");
    let out = cli(
        d,
        &[
            "client",
            "create",
            "--public",
            "--name",
            "SPA",
            "--client-id",
            "spa",
            "--redirect-uri",
            "http://127.0.0.1:5000/cb",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        secret_of(&stdout(&out)).is_none(),
        "public clients have no secret"
    );

    for (args, expected) in [
        (
            vec![
                "client",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "http://app.example/cb",
            ],
            "https",
        ),
        (
            vec![
                "client",
                "create",
                "--public",
                "--name",
                "X",
                "--grant-type",
                "client_credentials",
            ],
            "client_credentials",
        ),
        (
            vec![
                "client",
                "create",
                "--name",
                "X",
                "--client-id",
                "web",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            "already exists",
        ),
        (
            vec![
                "client",
                "create",
                "--name",
                "X",
                "--grant-type",
                "password",
            ],
            "grant",
        ),
        (
            vec!["client", "rotate-secret", "spa"],
            "public client has no secret",
        ),
        (vec!["client", "show", "nope"], "not found"),
    ] {
        let out = cli(d, &args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    let out = cli(d, &["client", "list", "--json"], "");
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let out = cli(d, &["client", "show", "web"], "");
    assert!(stdout(&out).contains("https://app.example/cb"));
    assert!(
        !stdout(&out).contains(&first) && !stdout(&out).contains("secret_hash"),
        "the secret is never shown again"
    );
    let out = cli(d, &["client", "rotate-secret", "web"], "");
    let second = secret_of(&stdout(&out)).unwrap();
    assert_ne!(first, second);
    let out = cli(d, &["client", "delete", "web"], "");
    assert!(out.status.success());
    assert_eq!(
        cli(d, &["client", "show", "web"], "").status.code(),
        Some(2)
    );

    let keys = |d: &Workdir| -> Vec<serde_json::Value> {
        serde_json::from_str(&stdout(&cli(d, &["keys", "list", "--json"], ""))).unwrap()
    };
    let before = keys(d);
    assert_eq!(before.len(), 3);
    assert!(before.iter().all(|k| k["state"] == "active"));
    let out = cli(d, &["keys", "rotate", "--alg", "ES256"], "");
    assert!(
        out.status.success() && stdout(&out).contains("signs from"),
        "{}",
        stderr(&out)
    );
    let after = keys(d);
    assert_eq!(after.len(), 4);
    assert_eq!(
        after.iter().filter(|k| k["state"] == "pending").count(),
        1,
        "published before it signs"
    );
    let out = cli(d, &["keys", "rotate", "--alg", "RS256", "--immediate"], "");
    assert!(out.status.success());
    let now = keys(d);
    let rs: Vec<_> = now.iter().filter(|k| k["alg"] == "RS256").collect();
    assert_eq!(rs.iter().filter(|k| k["state"] == "active").count(), 1);
    assert_eq!(rs.iter().filter(|k| k["state"] == "retiring").count(), 1);
}
