//! Token signing algorithms and token lifetime policy.

use serde::{Deserialize, Serialize};

use super::user::InvalidInput;

/// Upper bound of any access or ID token lifetime (revocation markers live this long).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 86_400;

/// JWS algorithms Watchword signs with. RS256 must be offered for OpenID Connect; ES256 and EdDSA
/// are much cheaper to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "RS256" => Ok(Self::RS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(InvalidInput::new("alg", "must be RS256, ES256 or EdDSA")),
        }
    }
}

/// A tenant's token policy: lifetimes and default algorithms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenPolicy {
    /// How long an access token is valid, in seconds (default 300), unless a client sets its own.
    pub access_token_secs: i64,
    /// How long an ID token is valid, in seconds (default 300), unless a client sets its own.
    pub id_token_secs: i64,
    /// A refresh token unused for this long expires.
    pub refresh_idle_secs: i64,
    /// A refresh-token family ends this long after the sign-in that started it.
    pub refresh_absolute_secs: i64,
    /// ID tokens: RS256 unless a client registers another (OpenID Connect's default).
    pub id_token_alg: SigningAlg,
    /// Access tokens: the algorithm they are signed with unless a client registers another.
    pub access_token_alg: SigningAlg,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_token_secs: 300,
            id_token_secs: 300,
            refresh_idle_secs: 30 * 86_400,
            refresh_absolute_secs: 90 * 86_400,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
        }
    }
}

impl TokenPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let max = MAX_TOKEN_LIFETIME_SECS;
        for (k, v) in [
            ("access_token_secs", self.access_token_secs),
            ("id_token_secs", self.id_token_secs),
        ] {
            if !(30..=max).contains(&v) {
                return Err((k.into(), format!("must be between 30 and {max}")));
            }
        }
        if !(60..=400 * 86_400).contains(&self.refresh_idle_secs) {
            return Err((
                "refresh_idle_secs".into(),
                "must be between 60 seconds and 400 days".into(),
            ));
        }
        if !(self.refresh_idle_secs..=400 * 86_400).contains(&self.refresh_absolute_secs) {
            return Err((
                "refresh_absolute_secs".into(),
                "must be at least refresh_idle_secs and at most 400 days".into(),
            ));
        }
        Ok(())
    }
}
