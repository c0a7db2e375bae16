//! Configuration: built-in defaults, then a TOML file, then `WATCHWORD__SECTION__KEY` environment
//! variables (figment). Secrets may come from `*_file` paths. Unknown keys and invalid values stop
//! start-up with a message naming the key. Documented in docs/configuration.md.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    pub metrics: MetricsConfig,
    pub mail: MailConfig,
    pub risk: RiskConfig,
    pub outbound: OutboundConfig,
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
    /// Milliseconds between the shutdown signal and the closing of the listener, during which
    /// `/readyz` answers 503 (`draining`) while requests are still served, so that a load
    /// balancer polling readiness stops sending new ones first. 0: close at once.
    pub shutdown_delay_ms: u64,
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
            shutdown_delay_ms: 2000,
            control_socket: "data/control.sock".into(),
        }
    }
}

/// Requests Watchword makes to addresses tenants configure (`crate::outbound`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Allow targets on private, loopback and link-local networks (an identity provider on the
    /// internal network, or tests on loopback). Off: such targets are refused after DNS
    /// resolution.
    pub allow_private_networks: bool,
    /// Milliseconds before a request (connection and response) is abandoned.
    pub timeout_ms: u64,
    /// Largest response body read, in bytes.
    pub max_response_bytes: usize,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            timeout_ms: 5000,
            max_response_bytes: 1024 * 1024,
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
    /// PostgreSQL only: milliseconds a statement may run (lock waits included) before the server
    /// cancels it and the request is answered 503. Set on every pooled connection; migrations run
    /// without it. 0: Watchword sets none (the role's or server's default applies).
    pub statement_timeout_ms: u64,
    /// PostgreSQL only: milliseconds a statement may wait for a lock before it is cancelled (503).
    /// 0: Watchword sets none (lock waits are bounded by `statement_timeout_ms`).
    pub lock_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            url_file: None,
            pool_size: 10,
            connect_timeout_secs: 3,
            startup_wait_secs: 60,
            statement_timeout_ms: 5000,
            lock_timeout_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db` (or `rediss://` for TLS). Unset or empty: sessions live in process
    /// memory (one node only).
    #[serde(deserialize_with = "load::empty_as_none")]
    pub url: Option<Secret<String>>,
    pub url_file: Option<PathBuf>,
    /// Prefix of every key Watchword writes, so several installations can share one Redis.
    pub key_prefix: String,
    /// Milliseconds before a Redis command or connection attempt counts as failed.
    pub timeout_ms: u64,
    /// Redis Sentinel: the master is the node the sentinels name, found again after a
    /// failover; `url` then gives only the database, credentials and TLS (its host is unused).
    pub sentinel: Option<SentinelConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
    pub master_name: String,
    /// The sentinels, e.g. `["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"]` (with a
    /// password in the URL if the sentinels require one).
    pub nodes: Vec<String>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            url_file: None,
            key_prefix: "ww:".into(),
            timeout_ms: 2000,
            sentinel: None,
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

/// Where `/metrics` is served and who may read it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` on its own listener at this ADDRESS:PORT (e.g. `127.0.0.1:9100`) and not
    /// on the public one. Empty: `/metrics` is on the main listener.
    pub listen: String,
    /// Require `Authorization: Bearer <token>` on `/metrics` (on whichever listener serves it).
    /// Empty: no token.
    #[serde(deserialize_with = "load::empty_as_none")]
    pub token: Option<Secret<String>>,
    /// Read `token` from this file instead (for container secrets).
    pub token_file: Option<PathBuf>,
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

mod breach;
mod load;
mod mail;
pub use breach::{BreachConfig, OnUnavailable};
pub use mail::{MailConfig, MailTransport, SmtpTls};
mod risk;
pub use risk::RiskConfig;
#[cfg(test)]
mod tests;
