//! Multi-factor rules per tenant: whether a second factor is off, optional, or required (for
//! everyone or for administrators), and how recent a second-factor check must be before factors
//! can be changed, and whether a code sent by mail counts as a second factor.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMode {
    /// No second factor is asked for or can be set up.
    Off,
    /// Users may set up second factors; whoever has one is asked for it at every sign-in.
    #[default]
    Optional,
    /// Everyone: users without a second factor set one up at their next sign-in, before any
    /// application gets a token.
    Required,
    /// Like `required` for administrators, `optional` for everyone else.
    RequiredForAdmins,
}

/// Whether a one-time code sent to the user's verified address is a second factor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailCodeMode {
    /// Never (the default).
    #[default]
    Off,
    /// Only for users who have no authenticator app, security key or passkey: where the
    /// tenant requires a second factor they prove a mailed code instead of setting one up.
    Fallback,
    /// For every user with a verified address, next to the factors they have.
    Allowed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaPolicy {
    /// Who uses a second factor: `off`, `optional` (whoever set one up), `required` (everyone),
    /// `required_for_admins`.
    pub mode: MfaMode,
    /// Removing or resetting a factor needs a second-factor check this recent (seconds,
    /// default 600); otherwise the user is asked for one first.
    pub fresh_for_secs: i64,
    /// Codes by mail as a second factor (`off`, `fallback`, `allowed`).
    pub email_code: EmailCodeMode,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            mode: MfaMode::Optional,
            fresh_for_secs: 600,
            email_code: EmailCodeMode::Off,
        }
    }
}

impl MfaPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(60..=86_400).contains(&self.fresh_for_secs) {
            return Err((
                "fresh_for_secs".into(),
                "must be between 60 and 86400".into(),
            ));
        }
        Ok(())
    }

    pub fn enabled(&self) -> bool {
        self.mode != MfaMode::Off
    }

    /// Whether a code by mail is a second factor for a user with a verified address who has
    /// (`has_other`) or has not an authenticator app, security key or passkey.
    pub fn email_code_for(&self, has_other: bool) -> bool {
        self.enabled()
            && match self.email_code {
                EmailCodeMode::Off => false,
                EmailCodeMode::Fallback => !has_other,
                EmailCodeMode::Allowed => true,
            }
    }

    /// Whether a user (an administrator or not) must have a second factor.
    pub fn required_for(&self, is_admin: bool) -> bool {
        match self.mode {
            MfaMode::Required => true,
            MfaMode::RequiredForAdmins => is_admin,
            MfaMode::Off | MfaMode::Optional => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let p = |mode| MfaPolicy {
            mode,
            ..Default::default()
        };
        assert!(!p(MfaMode::Optional).required_for(true));
        assert!(p(MfaMode::Required).required_for(false));
        assert!(p(MfaMode::RequiredForAdmins).required_for(true));
        assert!(!p(MfaMode::RequiredForAdmins).required_for(false));
        assert!(!p(MfaMode::Off).enabled());
        let parsed: MfaPolicy = serde_json::from_str(r#"{"mode":"required_for_admins"}"#).unwrap();
        assert_eq!(parsed.email_code, EmailCodeMode::Off);
        assert_eq!(parsed.mode, MfaMode::RequiredForAdmins);
        assert!(serde_json::from_str::<MfaPolicy>(r#"{"mode":"sometimes"}"#).is_err());
    }

    #[test]
    fn email_codes() {
        let p = |mode, email_code| MfaPolicy {
            mode,
            email_code,
            ..Default::default()
        };
        use EmailCodeMode::*;
        assert!(!p(MfaMode::Optional, Off).email_code_for(false));
        assert!(p(MfaMode::Optional, Fallback).email_code_for(false));
        assert!(!p(MfaMode::Optional, Fallback).email_code_for(true));
        assert!(p(MfaMode::Required, Allowed).email_code_for(true));
        assert!(!p(MfaMode::Off, Allowed).email_code_for(false));
        let parsed: MfaPolicy = serde_json::from_str(r#"{"email_code":"fallback"}"#).unwrap();
        assert_eq!(parsed.email_code, Fallback);
        assert!(serde_json::from_str::<MfaPolicy>(r#"{"email_code":"always"}"#).is_err());
    }
}
