//! Configuration errors stop start-up with a message naming the key; layers override in order;
//! secrets can come from files.

use crate::common::binary::{run, stderr, stdout, watchword};

fn migrate_with(
    dir: &std::path::Path,
    setup: impl FnOnce(&mut std::process::Command),
) -> std::process::Output {
    let mut cmd = watchword(dir);
    setup(&mut cmd);
    cmd.arg("migrate");
    run(cmd, "")
}

/// Extra arguments, an optional environment variable, and the key the error must name.
type Case = (
    &'static [&'static str],
    Option<(&'static str, &'static str)>,
    &'static str,
);

#[test]
fn unknown_keys_and_invalid_values_stop_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("typo.toml"),
        "[server]\npublic_ulr = \"https://id.example.com\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("bad.toml"),
        "[server]\npublic_url = \"https://id.example.com/sub/path\"\n",
    )
    .unwrap();
    std::fs::write(d.join("type.toml"), "[database]\npool_size = \"lots\"\n").unwrap();

    let cases: &[Case] = &[
        (&["--config", "typo.toml"], None, "server.public_ulr"),
        (&["--config", "bad.toml"], None, "server.public_url"),
        (&["--config", "type.toml"], None, "database.pool_size"),
        (
            &["--config", "missing.toml"],
            None,
            "missing.toml does not exist",
        ),
        (
            &[],
            Some(("WATCHWORD__SERVER__BIND", "not-an-address")),
            "server.bind",
        ),
        (
            &[],
            Some(("WATCHWORD__REDIS__URL", "http://wrong")),
            "redis.url",
        ),
        (&[], Some(("WATCHWORD__NOPE__X", "1")), "nope"),
        (
            &[],
            Some(("WATCHWORD__SECRETS__MASTER_KEY", "too-short")),
            "secrets.master_key",
        ),
        (&[], Some(("WATCHWORD__LOG__FORMAT", "xml")), "log.format"),
    ];
    for (args, env, key) in cases {
        let out = migrate_with(d, |c| {
            c.args(*args);
            if let Some((k, v)) = env {
                c.env(k, v);
            }
        });
        assert_eq!(out.status.code(), Some(2), "{key}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("configuration error") && err.contains(key),
            "expected {key:?} in: {err}"
        );
    }
    assert!(
        !d.join("data").exists(),
        "nothing was created by a refused configuration"
    );
}

#[test]
fn layers_apply_in_order_and_secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The default file is read when present; the environment overrides it.
    std::fs::create_dir_all(d.join("config")).unwrap();
    std::fs::write(
        d.join("config/watchword.toml"),
        "[database]\nurl = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let out = migrate_with(d, |_| {});
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(d.join("from-file.db").exists());

    let out = migrate_with(d, |c| {
        c.env("WATCHWORD__DATABASE__URL", "sqlite://from-env.db");
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(d.join("from-env.db").exists());

    std::fs::remove_dir_all(d.join("data")).unwrap();
    std::fs::remove_file(d.join("config/watchword.toml")).unwrap();
    std::fs::write(d.join("db-url.secret"), "sqlite://from-secret-file.db\n").unwrap();
    std::fs::write(
        d.join("master.key"),
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n",
    )
    .unwrap();
    let out = migrate_with(d, |c| {
        c.env("WATCHWORD__DATABASE__URL_FILE", "db-url.secret")
            .env("WATCHWORD__SECRETS__MASTER_KEY_FILE", "master.key");
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(d.join("from-secret-file.db").exists());
    assert!(
        !d.join("data/master.key").exists(),
        "the configured key file is used, none generated"
    );
    assert!(stdout(&out).contains("applied"));

    let out = migrate_with(d, |c| {
        c.env("WATCHWORD__SECRETS__MASTER_KEY_FILE", "no-such.key");
    });
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing key file is a configuration error"
    );
    assert!(stderr(&out).contains("no-such.key"), "{}", stderr(&out));
}
