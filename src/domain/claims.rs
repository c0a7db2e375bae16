//! The claims of the tokens Watchword issues: access tokens (RFC 9068), ID tokens (OIDC Core 2)
//! and back-channel logout tokens. Plain data: signing and verifying them is `oauth::tokens`.

use serde::{Deserialize, Serialize};

/// Claims of an access token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The browser session the token depends on (absent for offline grants and machines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The browser session an offline grant started in: the token outlives it, unless it was
    /// ended against its holder (evicted by a sign-in elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osid: Option<String>,
    /// The grant (refresh-token family) the token belongs to, for revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

/// Claims of an ID token (plus the profile and e-mail claims the scopes allow).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    pub azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The sign-in's risk judgement (`{"level","decision","reasons"}`), where the tenant's
    /// `risk.claim` is on (docs/risk.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<serde_json::Value>,
    #[serde(flatten)]
    pub profile: serde_json::Map<String, serde_json::Value>,
}

/// Claims of a back-channel logout token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub events: serde_json::Value,
}

pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
