//! Loading the configuration: figment providers in order, `*_file` secrets, validation with
//! messages that name the key.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use super::*;
use crate::domain::secret::Secret;

/// The longest statement or lock timeout accepted: 10 minutes.
const MAX_DATABASE_TIMEOUT_MS: u64 = 600_000;

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
        if let Some(path) = self.mail.smtp_password_file.take() {
            if self.mail.smtp_password.is_some() {
                return Err(ConfigError::invalid(
                    "mail.smtp_password_file",
                    "set either mail.smtp_password or mail.smtp_password_file, not both",
                ));
            }
            let password = read_secret_file("mail.smtp_password_file", &path)?;
            self.mail.smtp_password = Some(Secret::new(password.trim_end().to_owned()));
        }
        if let Some(path) = self.metrics.token_file.take() {
            if self.metrics.token.is_some() {
                return Err(ConfigError::invalid(
                    "metrics.token_file",
                    "set either metrics.token or metrics.token_file, not both",
                ));
            }
            let token = read_secret_file("metrics.token_file", &path)?;
            self.metrics.token = Some(Secret::new(token.trim().to_owned()));
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
        for (key, value) in [
            (
                "database.statement_timeout_ms",
                self.database.statement_timeout_ms,
            ),
            ("database.lock_timeout_ms", self.database.lock_timeout_ms),
        ] {
            if value > MAX_DATABASE_TIMEOUT_MS {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be at most {MAX_DATABASE_TIMEOUT_MS} (10 minutes; 0 = none)"),
                ));
            }
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
        if let Some(sentinel) = &self.redis.sentinel {
            if self.redis.url.is_none() {
                return Err(ConfigError::invalid(
                    "redis.sentinel",
                    "needs redis.url too (its database, credentials and TLS are used with the master)",
                ));
            }
            if sentinel.master_name.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "redis.sentinel.master_name",
                    "must name the monitored master",
                ));
            }
            if sentinel.nodes.is_empty() {
                return Err(ConfigError::invalid(
                    "redis.sentinel.nodes",
                    "must list at least one sentinel (redis://host:26379)",
                ));
            }
            for (i, node) in sentinel.nodes.iter().enumerate() {
                if !Url::parse(node).is_ok_and(|u| matches!(u.scheme(), "redis" | "rediss")) {
                    return Err(ConfigError::invalid(
                        "redis.sentinel.nodes",
                        format!("entry {} is not a redis:// or rediss:// URL", i + 1),
                    ));
                }
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
        if !self.metrics.listen.is_empty() {
            let metrics = self.metrics.listen.parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid(
                    "metrics.listen",
                    "expected ADDRESS:PORT, e.g. 127.0.0.1:9100",
                )
            })?;
            let main = self.server.bind.parse::<SocketAddr>().ok();
            if main == Some(metrics) && metrics.port() != 0 {
                return Err(ConfigError::invalid(
                    "metrics.listen",
                    "must differ from server.bind (leave it empty to serve /metrics there)",
                ));
            }
        }
        if let Some(token) = &self.metrics.token {
            let t = token.expose();
            if t.len() < 16 || t.len() > 512 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::invalid(
                    "metrics.token",
                    "must be 16 to 512 printable ASCII characters without spaces",
                ));
            }
        }
        if let Some(key) = &self.secrets.master_key {
            crate::crypto::master_key::MasterKey::from_base64(key.expose())
                .map_err(|e| ConfigError::invalid("secrets.master_key", e.to_string()))?;
        }
        self.mail.validate()?;
        self.risk.validate()?;
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
pub(super) fn empty_as_none<'de, D: serde::Deserializer<'de>>(
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
