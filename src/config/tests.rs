//! Unit tests of configuration loading and validation.

use super::*;
use figment::Figment;
use figment::providers::Serialized;
use figment::providers::{Format, Toml};

fn from_toml(toml: &str) -> Result<Config, ConfigError> {
    Config::from_figment(Figment::new().merge(Toml::string(toml)))
}

/// The reference file lists every key with its real default: uncommenting the keys that
/// have one changes nothing (the `*_file` keys, `master_key` and Redis `url` are examples).
#[test]
fn the_example_file_documents_the_defaults() {
    let example = include_str!("../../config/watchword.example.toml");
    let examples_only = [
        "url_file",
        "master_key",
        "master_key_file",
        "token",
        "token_file",
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "smtp_password_file",
        "smtp_ca_file",
        "geoip_database",
        "geoip_asn_database",
        "network_list",
        "filter",
        "range_url",
    ];
    let mut section = String::new();
    let uncommented: String = example
        .lines()
        .filter_map(|line| {
            if line.starts_with('[') {
                section = line.to_owned();
                return Some(line.to_owned());
            }
            let rest = line.strip_prefix('#')?;
            let key = rest.split(" = ").next()?;
            let is_key = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                && rest.contains(" = ");
            let example_only =
                examples_only.contains(&key) || (section == "[redis]" && key == "url");
            (is_key && !example_only).then(|| rest.to_owned())
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.matches(" = ").count() >= 18, "{uncommented}");
    let mut parsed = from_toml(&uncommented).unwrap();
    let defaults = from_toml("").unwrap();
    // The database URL's default is implicit (None means the SQLite file shown).
    assert_eq!(parsed.database_url(), defaults.database_url());
    parsed.database.url = None;
    assert_eq!(format!("{parsed:?}"), format!("{defaults:?}"));
}

#[test]
fn defaults_are_valid() {
    let c = from_toml("").unwrap();
    assert_eq!(c.server.bind, "127.0.0.1:8080");
    assert!(matches!(
        c.database_backend().unwrap(),
        DatabaseBackend::Sqlite { .. }
    ));
    assert!(!c.is_https());
}

#[test]
fn values_are_normalized() {
    let c = from_toml(
        "[server]\npublic_url = \"HTTPS://ID.Example.com:443\"\ntrusted_proxies = [\"10.0.0.5\", \"fd00::/8\"]\n[redis]\nurl = \"\"",
    )
    .unwrap();
    assert_eq!(c.public_origin(), "https://id.example.com");
    assert!(c.is_https());
    assert_eq!(c.server.trusted_proxies[0].to_string(), "10.0.0.5/32");
    assert!(
        c.redis.url.is_none(),
        "an empty Redis URL means the in-process store"
    );
    let e = from_toml("[server]\ntrusted_proxies = [\"nope\"]").unwrap_err();
    assert!(e.to_string().contains("server.trusted_proxies"), "{e}");
    let e = from_toml("[database]\nurl = \"sqlite://a.db\"\nurl_file = \"x\"").unwrap_err();
    assert!(e.to_string().contains("database.url_file"), "{e}");
}

#[test]
fn unknown_keys_are_named() {
    let e = from_toml("[server]\nbnd = \"x\"").unwrap_err().to_string();
    assert!(e.contains("server.bnd"), "{e}");
    let e = from_toml("[srv]\nbind = \"x\"").unwrap_err().to_string();
    assert!(e.contains("srv"), "{e}");
}

#[test]
fn invalid_values_are_named() {
    let e = from_toml("[server]\npublic_url = \"https://x.example/path\"").unwrap_err();
    assert!(e.to_string().contains("server.public_url"), "{e}");
    let e = from_toml("[database]\nurl = \"mysql://x\"").unwrap_err();
    assert!(e.to_string().contains("database.url"), "{e}");
    let e = from_toml("[server]\nworkers = \"many\"").unwrap_err();
    assert!(e.to_string().contains("server.workers"), "{e}");
    let e = from_toml("[hashing]\nmemory_kib = 1024").unwrap_err();
    assert!(e.to_string().contains("hashing.memory_kib"), "{e}");
    for (toml, key) in [
        ("[hashing]\niterations = 0", "hashing.iterations"),
        ("[hashing]\nparallelism = 0", "hashing.parallelism"),
    ] {
        let e = from_toml(toml).unwrap_err();
        assert!(e.to_string().contains(key), "{toml}: {e}");
    }
}

#[test]
fn later_layers_win_and_secret_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db-url");
    std::fs::write(&file, "postgres://u:p@db/watchword\n").unwrap();
    let redis_file = dir.path().join("redis-url");
    std::fs::write(&redis_file, "redis://:hunter2@cache:6379/0\n").unwrap();
    let c = Config::from_figment(
        Figment::new()
            .merge(Toml::string("[server]\npublic_url = \"http://a.example\""))
            .merge(Serialized::default(
                "server.public_url",
                "https://b.example",
            ))
            .merge(Serialized::default(
                "database.url_file",
                file.to_str().unwrap(),
            ))
            .merge(Serialized::default(
                "redis.url_file",
                redis_file.to_str().unwrap(),
            )),
    )
    .unwrap();
    assert_eq!(
        c.redis
            .url
            .as_ref()
            .map(|u| u.expose().to_owned())
            .as_deref(),
        Some("redis://:hunter2@cache:6379/0")
    );
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(c.is_https());
    assert_eq!(c.database_url(), "postgres://u:p@db/watchword");
    assert_eq!(c.database_backend().unwrap(), DatabaseBackend::Postgres);
    assert!(
        !format!("{c:?}").contains("u:p@db"),
        "secrets must not be printed"
    );
}

#[test]
fn metrics_listener_and_token_are_checked() {
    let c =
        from_toml("[metrics]\nlisten = \"127.0.0.1:9100\"\ntoken = \"0123456789abcdef\"").unwrap();
    assert_eq!(c.metrics.listen, "127.0.0.1:9100");
    assert_eq!(c.metrics.token.unwrap().expose(), "0123456789abcdef");
    for (toml, key) in [
        ("[metrics]\nlisten = \"9100\"", "metrics.listen"),
        ("[metrics]\nlisten = \"127.0.0.1:8080\"", "metrics.listen"),
        ("[metrics]\ntoken = \"short\"", "metrics.token"),
        (
            "[metrics]\ntoken = \"has a space in it ok\"",
            "metrics.token",
        ),
    ] {
        let e = from_toml(toml).unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
    assert!(
        from_toml("[metrics]\ntoken = \"\"")
            .unwrap()
            .metrics
            .token
            .is_none()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "fedcba9876543210\n").unwrap();
    let c = from_toml(&format!(
        "[metrics]\ntoken_file = {:?}",
        file.display().to_string()
    ))
    .unwrap();
    assert_eq!(c.metrics.token.unwrap().expose(), "fedcba9876543210");
    let e = from_toml(&format!(
        "[metrics]\ntoken = \"0123456789abcdef\"\ntoken_file = {:?}",
        file.display().to_string()
    ))
    .unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
}

#[test]
fn mail_settings_are_checked() {
    let smtp_without_host = from_toml("[mail]\ntransport = \"smtp\"\n").unwrap_err();
    assert!(
        smtp_without_host.to_string().contains("mail.smtp_host"),
        "{smtp_without_host}"
    );
    let bad_from = from_toml("[mail]\nfrom = \"not an address\"\n").unwrap_err();
    assert!(bad_from.to_string().contains("mail.from"), "{bad_from}");
    let no_user = from_toml("[mail]\nsmtp_password = \"x\"\n").unwrap_err();
    assert!(
        no_user.to_string().contains("mail.smtp_username"),
        "{no_user}"
    );
    let ok = from_toml(
        "[mail]\ntransport = \"smtp\"\nsmtp_host = \"smtp.example.com\"\nsmtp_tls = \"implicit\"\nfrom = \"Acme <id@acme.example>\"\n",
    )
    .unwrap();
    assert_eq!(ok.mail.port(), 465);
}

#[test]
fn risk_files_must_exist_and_reload_secs_be_sane() {
    let e = from_toml("[risk]\ngeoip_database = \"/nonexistent/city.mmdb\"").unwrap_err();
    assert!(
        e.to_string().contains("`risk.geoip_database`")
            && e.to_string().contains("/nonexistent/city.mmdb"),
        "{e}"
    );
    let e = from_toml("[risk]\nnetwork_list = \"/nonexistent/list\"").unwrap_err();
    assert!(e.to_string().contains("`risk.network_list`"), "{e}");
    let e = from_toml("[risk]\ngeoip_asn_database = \"/\"").unwrap_err();
    assert!(e.to_string().contains("`risk.geoip_asn_database`"), "{e}");
    let e = from_toml("[risk]\ngeoip_reload_secs = 0").unwrap_err();
    assert!(e.to_string().contains("`risk.geoip_reload_secs`"), "{e}");
    let c = from_toml("").unwrap();
    assert_eq!(c.risk.geoip_reload_secs, 60);
    assert!(c.risk.geoip_database.is_none());
}

#[test]
fn redis_sentinel_settings_are_checked() {
    let ok = from_toml(
        "[redis]\nurl = \"redis://:pw@ignored/2\"\n[redis.sentinel]\nmaster_name = \"ww\"\nnodes = [\"redis://s1:26379\", \"redis://s2:26379\"]",
    )
    .unwrap();
    let s = ok.redis.sentinel.unwrap();
    assert_eq!((s.master_name.as_str(), s.nodes.len()), ("ww", 2));
    for (toml, key) in [
        (
            "[redis.sentinel]\nmaster_name = \"ww\"\nnodes = [\"redis://s1:26379\"]",
            "redis.sentinel",
        ),
        (
            "[redis]\nurl = \"redis://x\"\n[redis.sentinel]\nmaster_name = \" \"\nnodes = [\"redis://s1:26379\"]",
            "redis.sentinel.master_name",
        ),
        (
            "[redis]\nurl = \"redis://x\"\n[redis.sentinel]\nmaster_name = \"ww\"\nnodes = []",
            "redis.sentinel.nodes",
        ),
        (
            "[redis]\nurl = \"redis://x\"\n[redis.sentinel]\nmaster_name = \"ww\"\nnodes = [\"s1:26379\"]",
            "redis.sentinel.nodes",
        ),
        (
            "[redis]\nurl = \"redis://x\"\n[redis.sentinel]\nmaster_name = \"ww\"\nnodes = [\"redis://s1\"]\nport = 1",
            "redis.sentinel.port",
        ),
    ] {
        let e = from_toml(toml).unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
}

#[test]
fn database_timeouts_are_checked() {
    let c = from_toml("").unwrap();
    assert_eq!(c.database.statement_timeout_ms, 5000);
    assert_eq!(
        c.database.lock_timeout_ms, 0,
        "none: the statement timeout bounds lock waits"
    );
    let c = from_toml("[database]\nstatement_timeout_ms = 0\nlock_timeout_ms = 600000").unwrap();
    assert_eq!(c.database.statement_timeout_ms, 0, "0 = none");
    assert_eq!(c.database.lock_timeout_ms, 600_000);
    for (toml, key) in [
        (
            "[database]\nstatement_timeout_ms = 600001",
            "`database.statement_timeout_ms`",
        ),
        (
            "[database]\nlock_timeout_ms = 3600000",
            "`database.lock_timeout_ms`",
        ),
        (
            "[database]\nstatement_timeout_ms = -1",
            "database.statement_timeout_ms",
        ),
    ] {
        let e = from_toml(toml).unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
}
