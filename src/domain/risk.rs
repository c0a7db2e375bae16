//! A tenant's risk policy (`policy.risk`): what each risk level of a sign-in leads to, when the
//! user is told, the learning period, the address ranges that are always blocked or never scored,
//! the score thresholds and continuous evaluation. The scoring itself is `crate::risk::assess`.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::throttle::addresses_or_ranges;

/// How risky a sign-in looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Low, Level::Medium, Level::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// What a level leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Signed in with what the tenant's MFA policy asks anyway.
    Allow,
    /// A second factor if the user has one (or may get a code by mail); otherwise as `allow`.
    MfaIfEnrolled,
    /// A second factor; a user with none gets a code by mail where the tenant allows it, and is
    /// otherwise refused with a page saying why.
    MfaRequired,
    /// Refused (the person is told to check their mail when `notify` is on).
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::MfaIfEnrolled => "mfa_if_enrolled",
            Action::MfaRequired => "mfa_required",
            Action::Block => "block",
        }
    }
}

/// One level's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelAction {
    /// What a sign-in of this level leads to: `allow`, `mfa_if_enrolled`, `mfa_required` or
    /// `block`.
    pub action: Action,
    /// Mail the user a notice with "this was me" / "this wasn't me" links.
    #[serde(default)]
    pub notify: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelActions {
    pub low: LevelAction,
    pub medium: LevelAction,
    pub high: LevelAction,
}

impl Default for LevelActions {
    fn default() -> Self {
        Self {
            low: LevelAction {
                action: Action::Allow,
                notify: false,
            },
            medium: LevelAction {
                action: Action::MfaIfEnrolled,
                notify: true,
            },
            high: LevelAction {
                action: Action::MfaRequired,
                notify: true,
            },
        }
    }
}

impl LevelActions {
    pub fn of(&self, level: Level) -> LevelAction {
        match level {
            Level::Low => self.low,
            Level::Medium => self.medium,
            Level::High => self.high,
        }
    }
}

/// Until a user has this many successful sign-ins, or their first is this many days old, the
/// new-device and new-place signals are not raised (everything is new at first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Learning {
    /// Successful sign-ins a user needs before new-device and new-place signals are raised.
    pub sign_ins: u32,
    /// Days since a user's first sign-in before new-device and new-place signals are raised.
    pub days: u32,
}

impl Default for Learning {
    fn default() -> Self {
        Self {
            sign_ins: 3,
            days: 14,
        }
    }
}

/// Score thresholds: a sum of signal weights at or above `medium` is medium, at or above `high`
/// is high. Decisive signals (impossible travel, password spraying) are high whatever the sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A sum of signal weights at or above this is a medium risk.
    pub medium: u32,
    /// A sum of signal weights at or above this is a high risk.
    pub high: u32,
    /// Distinct usernames that failed from one address in an hour before it counts as password
    /// spraying.
    pub spraying_usernames: u32,
    /// Failed attempts on the account in the last hour that raise `account_failures`.
    pub account_failures: u32,
    /// Failed attempts from the address (any account) in the last hour that raise
    /// `address_failures`.
    pub address_failures: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            medium: 30,
            high: 80,
            spraying_usernames: 10,
            account_failures: 5,
            address_failures: 20,
        }
    }
}

/// What happens when a signed-in browser or a refresh token is used from both another network
/// (country or autonomous system) and another device than it was issued to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// Nothing (recorded as a sign-in event only).
    Off,
    /// The browser session must sign in again; a refresh token is refused and its family
    /// revoked (the application must send the user through sign-in).
    #[default]
    Reauthenticate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskPolicy {
    /// Score sign-ins at all (on by default).
    pub enabled: bool,
    /// Record every decision but enforce none (to try a policy out).
    pub audit_only: bool,
    pub actions: LevelActions,
    /// Mail a notice for every sign-in from a new device or country, whatever its level.
    pub notify_new_sign_in: bool,
    pub learning: Learning,
    pub thresholds: Thresholds,
    /// Always refused, before the password is checked (Cognito's `blocked_ip_ranges`).
    #[serde(deserialize_with = "addresses_or_ranges")]
    pub blocked_ip_ranges: Vec<IpNet>,
    /// Never scored: sign-ins from here are low (Cognito's `skipped_ip_ranges`). Blocked ranges
    /// win over skipped ones.
    #[serde(deserialize_with = "addresses_or_ranges")]
    pub skipped_ip_ranges: Vec<IpNet>,
    /// Continuous evaluation at session use and refresh.
    pub on_change: OnChange,
    /// Put the `risk` claim (level, decision, reasons of the sign-in) in ID tokens.
    pub claim: bool,
    /// Keep sign-in events this many days.
    pub retention_days: u32,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            audit_only: false,
            actions: LevelActions::default(),
            notify_new_sign_in: false,
            learning: Learning::default(),
            thresholds: Thresholds::default(),
            blocked_ip_ranges: Vec::new(),
            skipped_ip_ranges: Vec::new(),
            on_change: OnChange::default(),
            claim: false,
            retention_days: 90,
        }
    }
}

impl RiskPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let t = &self.thresholds;
        if t.medium == 0 || t.high <= t.medium || t.high > 1000 {
            return Err((
                "thresholds".into(),
                "must satisfy 0 < medium < high <= 1000".into(),
            ));
        }
        if !(2..=10_000).contains(&t.spraying_usernames) {
            return Err((
                "thresholds.spraying_usernames".into(),
                "must be between 2 and 10000".into(),
            ));
        }
        if !(1..=10_000).contains(&t.account_failures) {
            return Err((
                "thresholds.account_failures".into(),
                "must be between 1 and 10000".into(),
            ));
        }
        if !(1..=1_000_000).contains(&t.address_failures) {
            return Err((
                "thresholds.address_failures".into(),
                "must be between 1 and 1000000".into(),
            ));
        }
        if self.learning.sign_ins > 1000 || self.learning.days > 365 {
            return Err((
                "learning".into(),
                "sign_ins at most 1000, days at most 365".into(),
            ));
        }
        if !(1..=3650).contains(&self.retention_days) {
            return Err(("retention_days".into(), "must be between 1 and 3650".into()));
        }
        if self.blocked_ip_ranges.len() + self.skipped_ip_ranges.len() > 10_000 {
            return Err((
                "blocked_ip_ranges".into(),
                "at most 10000 ranges in all".into(),
            ));
        }
        Ok(())
    }

    pub fn blocks(&self, ip: std::net::IpAddr) -> bool {
        let ip = super::throttle::canonical(ip);
        self.blocked_ip_ranges.iter().any(|n| n.contains(&ip))
    }

    pub fn skips(&self, ip: std::net::IpAddr) -> bool {
        let ip = super::throttle::canonical(ip);
        self.skipped_ip_ranges.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_and_not_annoying() {
        let p = RiskPolicy::default();
        assert!(p.enabled && !p.audit_only);
        assert_eq!(p.actions.of(Level::Low).action, Action::Allow);
        assert_eq!(p.actions.of(Level::Medium).action, Action::MfaIfEnrolled);
        assert_eq!(p.actions.of(Level::High).action, Action::MfaRequired);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn parses_and_validates() {
        let p: RiskPolicy = serde_json::from_str(
            r#"{"audit_only":true,"actions":{"high":{"action":"block","notify":true}},
                "blocked_ip_ranges":["198.51.100.0/24","192.0.2.9"],"on_change":"off"}"#,
        )
        .unwrap();
        assert!(p.audit_only);
        assert_eq!(p.actions.high.action, Action::Block);
        assert_eq!(p.actions.medium.action, Action::MfaIfEnrolled);
        assert!(p.blocks("198.51.100.7".parse().unwrap()));
        assert!(p.blocks("::ffff:192.0.2.9".parse().unwrap()));
        assert!(!p.blocks("192.0.2.10".parse().unwrap()));
        assert!(
            serde_json::from_str::<RiskPolicy>(r#"{"actions":{"low":{"action":"maybe"}}}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<RiskPolicy>(r#"{"blocked_ip_ranges":["nope"]}"#).is_err());
        let bad: RiskPolicy =
            serde_json::from_str(r#"{"thresholds":{"medium":50,"high":40}}"#).unwrap();
        assert_eq!(bad.validate().unwrap_err().0, "thresholds");
    }
}
