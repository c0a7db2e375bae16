//! Configuration: built-in defaults, then a TOML file, then `WATCHWORD__SECTION__KEY` environment
//! variables (figment). Secrets may come from `*_file` paths. Unknown keys and invalid values stop
//! start-up with a message naming the key. Documented in docs/configuration.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

use crate::domain::secret::Secret;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_PATH: &str = "config/watchword.toml";
/// Prefix of environment variables; sections and keys are separated by `__`.
pub const ENV_PREFIX: &str = "WATCHWORD__";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub log: LogConfig,
    pub hashing: HashingConfig,
    pub secrets: SecretsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: String,
    /// The URL people and applications use to reach Watchword (scheme, host, optional port; no
    /// path). When it is https, cookies get the `__Host-` prefix and `Secure`, and HSTS is sent.
    pub public_url: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
    #[serde(deserialize_with = "crate::domain::throttle::addresses_or_ranges")]
    pub trusted_proxies: Vec<IpNet>,
    /// Seconds given to in-flight requests at shutdown.
    pub shutdown_timeout_secs: u64,
    /// Unix socket on which the server accepts operator commands from the `watchword` CLI on the
    /// same machine (e.g. `watchword session end` with the in-process session store). Mode 0600.
    /// Empty: none.
    pub control_socket: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            workers: 0,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            shutdown_timeout_secs: 30,
            control_socket: "data/control.sock".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (default `sqlite://data/watchword.db`) or `postgres://user:pass@host/db`.
    /// Read it with [`Config::database_url`].
    pub url: Option<Secret<String>>,
    /// Read `url` from this file instead (for container secrets).
    pub url_file: Option<PathBuf>,
    /// Maximum pooled connections.
    pub pool_size: u32,
    /// Seconds to wait for a connection before reporting the database unavailable.
    pub connect_timeout_secs: u64,
    /// `serve` only: how long to keep retrying at start-up while the database is unreachable
    /// (e.g. PostgreSQL still starting next to Watchword) before giving up.
    pub startup_wait_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            url_file: None,
            pool_size: 10,
            connect_timeout_secs: 3,
            startup_wait_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db` (or `rediss://` for TLS). Unset or empty: sessions live in process
    /// memory (one node only).
    #[serde(deserialize_with = "empty_as_none")]
    pub url: Option<Secret<String>>,
    pub url_file: Option<PathBuf>,
    /// Prefix of every key Watchword writes, so several installations can share one Redis.
    pub key_prefix: String,
    /// Milliseconds before a Redis command or connection attempt counts as failed.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            url_file: None,
            key_prefix: "ww:".into(),
            timeout_ms: 2000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when standard output is a terminal, JSON otherwise.
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,watchword=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".into(),
        }
    }
}

/// Argon2id parameters and the bounded pool that runs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashing threads; 0 means one per CPU core.
    pub threads: usize,
    /// Hash jobs allowed to wait; beyond this, sign-ins get "busy, try again" instead of queueing
    /// without bound.
    pub max_queue: usize,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            threads: 0,
            max_queue: 1024,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Base64 of 32 random bytes (`openssl rand -base64 32`).
    pub master_key: Option<Secret<String>>,
    /// A file holding the master key. If neither is set, `data/master.key` is used and created
    /// on first start (development convenience; a warning is logged).
    pub master_key_file: Option<PathBuf>,
}

/// Where the master key comes from once configuration is resolved.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    Inline(Secret<String>),
    File(PathBuf),
    GeneratedDevFile(PathBuf),
}

/// Which database the URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseBackend {
    Sqlite { path: PathBuf },
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("{0}")]
    Parse(String),
    #[error("invalid value for `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl ConfigError {
    fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            message: message.into(),
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (`path`, or `config/watchword.toml` if present), then
    /// the environment; resolves `*_file` secrets and validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        match path {
            Some(p) if !p.exists() => {
                return Err(ConfigError::MissingFile(p.display().to_string()));
            }
            Some(p) => figment = figment.merge(Toml::file_exact(p)),
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_PATH))
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
        Self::from_figment(figment)
    }

    /// Extracts, resolves and validates a configuration from any figment (used by tests).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(describe_figment_error).collect();
            ConfigError::Parse(messages.join("; "))
        })?;
        config.resolve_secret_files()?;
        config.validate()?;
        Ok(config)
    }

    fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = self.database.url_file.take() {
            if self.database.url.is_some() {
                return Err(ConfigError::invalid(
                    "database.url_file",
                    "set either database.url or database.url_file, not both",
                ));
            }
            self.database.url = Some(Secret::new(read_secret_file("database.url_file", &path)?));
        }
        if let Some(path) = self.redis.url_file.take() {
            if self.redis.url.is_some() {
                return Err(ConfigError::invalid(
                    "redis.url_file",
                    "set either redis.url or redis.url_file, not both",
                ));
            }
            self.redis.url = Some(Secret::new(read_secret_file("redis.url_file", &path)?));
        }
        if self.secrets.master_key.is_some() && self.secrets.master_key_file.is_some() {
            return Err(ConfigError::invalid(
                "secrets.master_key_file",
                "set either secrets.master_key or secrets.master_key_file, not both",
            ));
        }
        if let Some(path) = &self.secrets.master_key_file {
            crate::crypto::master_key::MasterKey::read_file(path)
                .map_err(|e| ConfigError::invalid("secrets.master_key_file", e.to_string()))?;
        }
        Ok(())
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.bind.parse::<SocketAddr>().map_err(|_| {
            ConfigError::invalid("server.bind", "expected ADDRESS:PORT, e.g. 0.0.0.0:8080")
        })?;
        self.public_url()?;
        if self.server.workers > 1024 {
            return Err(ConfigError::invalid(
                "server.workers",
                "must be at most 1024 (0 = one per core)",
            ));
        }
        if self.server.max_body_bytes < 1024 || self.server.max_body_bytes > 16 * 1024 * 1024 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be between 1024 and 16777216",
            ));
        }
        self.database_backend()?;
        if self.database.pool_size == 0 || self.database.pool_size > 500 {
            return Err(ConfigError::invalid(
                "database.pool_size",
                "must be between 1 and 500",
            ));
        }
        if self.database.connect_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "database.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        if let Some(url) = &self.redis.url {
            let parsed = Url::parse(url.expose()).map_err(|_| {
                ConfigError::invalid("redis.url", "is not a URL (redis://host:port/db)")
            })?;
            if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
                return Err(ConfigError::invalid(
                    "redis.url",
                    "must start with redis:// or rediss://",
                ));
            }
        }
        if self.redis.timeout_ms == 0 {
            return Err(ConfigError::invalid(
                "redis.timeout_ms",
                "must be at least 1",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError::invalid("log.level", e.to_string()))?;
        if !(1..=64).contains(&self.hashing.iterations) {
            return Err(ConfigError::invalid(
                "hashing.iterations",
                "must be between 1 and 64",
            ));
        }
        if !(1..=255).contains(&self.hashing.parallelism) {
            return Err(ConfigError::invalid(
                "hashing.parallelism",
                "must be between 1 and 255",
            ));
        }
        argon2::Params::new(
            self.hashing.memory_kib,
            self.hashing.iterations,
            self.hashing.parallelism,
            None,
        )
        .map_err(|e| {
            ConfigError::invalid(
                "hashing.memory_kib",
                format!("invalid Argon2 parameters: {e}"),
            )
        })?;
        if self.hashing.memory_kib < 7 * 1024 {
            return Err(ConfigError::invalid(
                "hashing.memory_kib",
                "must be at least 7168 (OWASP minimum for Argon2id)",
            ));
        }
        if self.hashing.threads > 1024 {
            return Err(ConfigError::invalid(
                "hashing.threads",
                "must be at most 1024 (0 = one per core)",
            ));
        }
        if self.hashing.max_queue == 0 {
            return Err(ConfigError::invalid(
                "hashing.max_queue",
                "must be at least 1",
            ));
        }
        if let Some(key) = &self.secrets.master_key {
            crate::crypto::master_key::MasterKey::from_base64(key.expose())
                .map_err(|e| ConfigError::invalid("secrets.master_key", e.to_string()))?;
        }
        Ok(())
    }

    /// The parsed public URL (validated: http or https, no path, query or fragment).
    pub fn public_url(&self) -> Result<Url, ConfigError> {
        let key = "server.public_url";
        let url = Url::parse(&self.server.public_url)
            .map_err(|_| ConfigError::invalid(key, "is not a URL, e.g. https://id.example.com"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::invalid(
                key,
                "must be an http:// or https:// URL with a host",
            ));
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(ConfigError::invalid(
                key,
                "must be only scheme, host and port (no path, query, fragment or user)",
            ));
        }
        Ok(url)
    }

    /// The public origin as browsers serialize it (lower-case scheme and host, no default port,
    /// no trailing slash), e.g. `https://id.example.com`. Compared with `Origin` headers.
    pub fn public_origin(&self) -> String {
        match self.public_url() {
            Ok(url) => url.origin().ascii_serialization(),
            Err(_) => self.server.public_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn is_https(&self) -> bool {
        self.public_url().is_ok_and(|u| u.scheme() == "https")
    }

    /// The database URL (default `sqlite://data/watchword.db`).
    pub fn database_url(&self) -> &str {
        self.database
            .url
            .as_ref()
            .map_or("sqlite://data/watchword.db", |u| u.expose().as_str())
    }

    pub fn database_backend(&self) -> Result<DatabaseBackend, ConfigError> {
        let url = self.database_url();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseBackend::Postgres)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.starts_with(':') {
                return Err(ConfigError::invalid(
                    "database.url",
                    "an SQLite URL needs a file path, e.g. sqlite://data/watchword.db",
                ));
            }
            Ok(DatabaseBackend::Sqlite {
                path: PathBuf::from(path),
            })
        } else {
            Err(ConfigError::invalid(
                "database.url",
                "must start with sqlite:// or postgres://",
            ))
        }
    }

    pub fn master_key_source(&self) -> MasterKeySource {
        match (&self.secrets.master_key, &self.secrets.master_key_file) {
            (Some(inline), _) => MasterKeySource::Inline(inline.clone()),
            (None, Some(path)) => MasterKeySource::File(path.clone()),
            (None, None) => MasterKeySource::GeneratedDevFile(PathBuf::from("data/master.key")),
        }
    }

    /// HTTP workers and hashing threads default to the number of CPU cores.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// An empty string means "not set" (so an environment variable can switch a file's value off).
fn empty_as_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Secret<String>>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw.filter(|s| !s.trim().is_empty()).map(Secret::new))
}

fn read_secret_file(key: &'static str, path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    let value = text.trim().to_owned();
    if value.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(value)
}

/// Renders one figment error as "KIND (key `a.b`, from SOURCE)".
fn describe_figment_error(e: figment::Error) -> String {
    let key = e.path.join(".");
    let source = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(src) => format!("{} {src}", m.name),
            None => m.name.to_string(),
        })
        .unwrap_or_else(|| "defaults".into());
    if key.is_empty() {
        format!("{} (from {source})", e.kind)
    } else {
        format!("{} (key `{key}`, from {source})", e.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn from_toml(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    /// The reference file lists every key with its real default: uncommenting the keys that
    /// have one changes nothing (the `*_file` keys, `master_key` and Redis `url` are examples).
    #[test]
    fn the_example_file_documents_the_defaults() {
        let example = include_str!("../config/watchword.example.toml");
        let examples_only = ["url_file", "master_key", "master_key_file"];
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
}
