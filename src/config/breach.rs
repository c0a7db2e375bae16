//! `[risk.breach]`: breached-password checks: the offline filter (the built-in one unless `filter`
//! names another) and the optional online range service. Documented in docs/configuration.md.

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::ConfigError;

/// What a password change, reset or sign-up does when the range service cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnUnavailable {
    /// Accept the password (the offline filter has already passed it).
    Allow,
    /// Refuse it ("try again later").
    Deny,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreachConfig {
    /// A filter file (`filter.bin`, with its `manifest.json` in the same directory) used instead
    /// of the built-in one. A missing, corrupt or mismatching file stops the start.
    #[serde(deserialize_with = "empty_as_none")]
    pub filter: Option<PathBuf>,
    /// Base URL of a Pwned-Passwords-compatible range service (`{range_url}/range/{prefix}`),
    /// e.g. `https://api.pwnedpasswords.com` or a mirror. Empty: no online check (default).
    #[serde(deserialize_with = "empty_as_none")]
    pub range_url: Option<Url>,
    /// Milliseconds before the range service counts as unavailable.
    pub range_timeout_ms: u64,
    pub on_unavailable: OnUnavailable,
}

impl Default for BreachConfig {
    fn default() -> Self {
        Self {
            filter: None,
            range_url: None,
            range_timeout_ms: 1000,
            on_unavailable: OnUnavailable::Allow,
        }
    }
}

impl BreachConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.range_url {
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::invalid(
                    "risk.breach.range_url",
                    "must be an http or https URL",
                ));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(ConfigError::invalid(
                    "risk.breach.range_url",
                    "must have no query or fragment",
                ));
            }
        }
        if !(50..=10_000).contains(&self.range_timeout_ms) {
            return Err(ConfigError::invalid(
                "risk.breach.range_timeout_ms",
                "must be between 50 and 10000",
            ));
        }
        Ok(())
    }
}

/// An empty string (an environment variable set to nothing) is the same as no value.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match Option::<String>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => {
            s.trim().parse().map(Some).map_err(serde::de::Error::custom)
        }
        _ => Ok(None),
    }
}
