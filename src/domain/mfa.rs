//! Multi-factor rules per tenant: whether a second factor is off, optional, or required (for
//! everyone or for administrators), and how recent a second-factor check must be before factors
//! can be changed.

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaPolicy {
    pub mode: MfaMode,
    /// Removing or resetting a factor needs a second-factor check this recent (seconds,
    /// default 600); otherwise the user is asked for one first.
    pub fresh_for_secs: i64,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            mode: MfaMode::Optional,
            fresh_for_secs: 600,
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
        assert_eq!(parsed.mode, MfaMode::RequiredForAdmins);
        assert!(serde_json::from_str::<MfaPolicy>(r#"{"mode":"sometimes"}"#).is_err());
    }
}
