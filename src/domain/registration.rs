//! Self-registration per tenant: whether people may create their own accounts on the hosted
//! sign-up page, and if so whether they need an operator's invitation.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// No sign-up page (404) and no "Create an account" link: operators create every account.
    #[default]
    Off,
    /// Anyone may sign up; the account exists once the address is proven by the mailed link.
    Open,
    /// Only with a valid, unused invitation link (`watchword invite create`).
    Invite,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationPolicy {
    /// Who may create an account on the hosted sign-up page: `off` (operators only), `open`
    /// (anyone, once the address is proven), `invite` (with an invitation link).
    pub mode: RegistrationMode,
}

impl RegistrationPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        Ok(())
    }

    /// Whether the sign-up page exists at all (open, or by invitation).
    pub fn enabled(&self) -> bool {
        self.mode != RegistrationMode::Off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_modes_parse() {
        assert_eq!(RegistrationPolicy::default().mode, RegistrationMode::Off);
        assert!(!RegistrationPolicy::default().enabled());
        let p: RegistrationPolicy = serde_json::from_str(r#"{"mode":"invite"}"#).unwrap();
        assert_eq!(p.mode, RegistrationMode::Invite);
        assert!(p.enabled());
        assert!(serde_json::from_str::<RegistrationPolicy>(r#"{"mode":"maybe"}"#).is_err());
        assert!(serde_json::from_str::<RegistrationPolicy>(r#"{"mod":"open"}"#).is_err());
    }
}
