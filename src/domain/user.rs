//! Users: identity attributes and the rules for usernames and e-mail addresses.

use std::fmt;

use chrono::{DateTime, Utc};

use super::admin::Role;
use super::ids::{TenantId, UserId};

/// A username as typed, plus its normalized form (lower-case) that makes it unique per tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username {
    display: String,
    normalized: String,
}

impl Username {
    /// 1-64 characters, no whitespace, control characters or `@` (an identifier containing `@`
    /// is always an e-mail address at sign-in).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        let len = raw.chars().count();
        if len == 0 || len > 64 {
            return Err(InvalidInput::new("username", "must be 1 to 64 characters"));
        }
        if raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
        {
            return Err(InvalidInput::new(
                "username",
                "may not contain spaces, control characters or '@'",
            ));
        }
        Ok(Self {
            display: raw.to_owned(),
            normalized: normalize(raw),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.display)
    }
}

/// An e-mail address, checked for shape only (deliverability is proven by verification mail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        let bad = || InvalidInput::new("email", "is not a valid e-mail address");
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = raw.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self {
            display: raw.to_owned(),
            normalized: normalize(raw),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.display)
    }
}

/// What a sign-in form's identifier field refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginIdentifier {
    Username(String),
    Email(String),
}

impl LoginIdentifier {
    /// Normalizes whatever the user typed; anything containing `@` is an e-mail address.
    pub fn from_input(raw: &str) -> Self {
        let n = normalize(raw.trim());
        if n.contains('@') {
            Self::Email(n)
        } else {
            Self::Username(n)
        }
    }
}

/// Case-insensitive comparison key for usernames and e-mail addresses.
pub fn normalize(raw: &str) -> String {
    raw.to_lowercase()
}

/// A user as the rest of the application sees it. The password hash is not part of it.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub username: String,
    pub email: Option<String>,
    /// The user proved the address (a verification link) or an operator vouched for it; false
    /// again whenever the address changes.
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub admin_role: Option<Role>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change of the profile: the admin API's `ETag`, and the condition of
    /// every profile write (a write based on an older read is refused, not lost).
    pub version: i64,
}

impl User {
    /// What to call the user on pages.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// A value that breaks a domain rule: which field, and why (safe to show to the person).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_normalize_case_and_refuse_odd_characters() {
        let u = Username::parse(" Alice ").unwrap();
        assert_eq!((u.as_str(), u.normalized()), ("Alice", "alice"));
        for bad in ["", "a b", "a@b", "ta\tb", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_shape_checked() {
        assert_eq!(
            Email::parse("Alice@Example.COM").unwrap().normalized(),
            "alice@example.com"
        );
        for bad in ["alice", "@x.y", "a@", "a@.x", "a@x.", "a b@x.y", "a@x..y"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_with_at_are_emails() {
        assert_eq!(
            LoginIdentifier::from_input("Bob@X.org"),
            LoginIdentifier::Email("bob@x.org".into())
        );
        assert_eq!(
            LoginIdentifier::from_input(" BOB "),
            LoginIdentifier::Username("bob".into())
        );
    }
}
