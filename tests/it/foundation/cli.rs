//! The command line: every command has --help, does its job, and exits non-zero with a clear
//! message on bad input.

use crate::common::GOOD_PASSWORD;
use crate::common::binary::{run, stderr, stdout, watchword};

fn cli(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut cmd = watchword(dir);
    cmd.args(args);
    run(cmd, stdin)
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
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
    ] {
        let out = cli(dir.path(), &args, "");
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
    assert!(!dir.path().join("data").exists(), "--help touches nothing");
}

#[test]
fn tenants_and_users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
    let tenant = watchword::admin::tenants::create(ctx, "audited", None, None, Actor::Cli)
        .await
        .unwrap();
    let user = app.create_user("audited", "una", GOOD_PASSWORD).await;
    watchword::admin::users::set_enabled(ctx, &tenant, user.clone(), false, Actor::Cli)
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
