//! Tenants: each customer company with its own users, clients, keys and policies.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::TenantId;
use super::keys::TokenPolicy;
use super::mfa::MfaPolicy;
use super::password_policy::PasswordPolicy;
use super::registration::RegistrationPolicy;
use super::session::SessionPolicy;
use super::throttle::{NetworkPolicy, ThrottlePolicy};

/// The slug of the tenant every installation starts with.
pub const DEFAULT_TENANT: &str = "default";

/// A tenant's URL name: 1-63 of `a-z`, `0-9` and `-`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, InvalidSlug> {
        let ok_len = (1..=63).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_edges = !raw.starts_with('-') && !raw.ends_with('-');
        if ok_len && ok_chars && ok_edges {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidSlug(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn default_tenant() -> Self {
        Self(DEFAULT_TENANT.to_owned())
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = InvalidSlug;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantSlug> for String {
    fn from(value: TenantSlug) -> Self {
        value.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "invalid tenant slug {0:?}: use 1-63 characters a-z, 0-9 and '-', not starting or ending with '-'"
)]
pub struct InvalidSlug(pub String);

/// Security policies a tenant chooses for itself. Stored as JSON, so new policy fields get their
/// defaults on old rows without a migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantPolicy {
    pub session: SessionPolicy,
    pub password: PasswordPolicy,
    pub tokens: TokenPolicy,
    pub throttle: ThrottlePolicy,
    pub network: NetworkPolicy,
    pub mfa: MfaPolicy,
    /// Self-registration on the hosted sign-up page (off by default).
    pub registration: RegistrationPolicy,
    /// Risk scoring of sign-ins (on by default; see `domain::risk`).
    pub risk: super::risk::RiskPolicy,
    /// How long audit events are kept (`domain::audit_chain`).
    pub audit: super::audit_chain::AuditPolicy,
}

impl TenantPolicy {
    /// Checks every bound; returns the offending field's dotted name and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.session
            .validate()
            .map_err(|(k, m)| (format!("session.{k}"), m))?;
        self.password
            .validate()
            .map_err(|(k, m)| (format!("password.{k}"), m))?;
        self.tokens
            .validate()
            .map_err(|(k, m)| (format!("tokens.{k}"), m))?;
        self.throttle
            .validate()
            .map_err(|(k, m)| (format!("throttle.{k}"), m))?;
        self.mfa
            .validate()
            .map_err(|(k, m)| (format!("mfa.{k}"), m))?;
        self.registration
            .validate()
            .map_err(|(k, m)| (format!("registration.{k}"), m))?;
        self.risk
            .validate()
            .map_err(|(k, m)| (format!("risk.{k}"), m))?;
        self.audit
            .validate()
            .map_err(|(k, m)| (format!("audit.{k}"), m))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub display_name: String,
    pub policy: TenantPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write of the row (the admin API's `ETag` of the policy); an update is
    /// conditional on it.
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated() {
        for good in ["default", "acme", "a", "acme-eu-1", "0x"] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "Acme",
            "ac me",
            "acme/x",
            "ä",
            &"a".repeat(64),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documented_default_policy_is_the_default() {
        let doc = include_str!("../../docs/configuration.md");
        let json = doc
            .split("The stored JSON for the defaults is:")
            .nth(1)
            .and_then(|rest| rest.split("```json").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("docs/configuration.md shows the default policy");
        let documented: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        let actual = serde_json::to_value(TenantPolicy::default()).unwrap();
        assert_eq!(
            documented,
            actual,
            "{}",
            serde_json::to_string(&actual).unwrap()
        );
    }

    #[test]
    fn policy_json_fills_defaults_and_rejects_unknown_fields() {
        let p: TenantPolicy =
            serde_json::from_str(r#"{"session":{"idle_timeout_secs":60}}"#).unwrap();
        assert_eq!(p.session.idle_timeout_secs, 60);
        assert_eq!(p.session.absolute_timeout_secs, 12 * 3600);
        assert_eq!(p.password.min_length, 8);
        assert!(serde_json::from_str::<TenantPolicy>(r#"{"sesion":{}}"#).is_err());
    }
}
