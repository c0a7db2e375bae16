//! Browser sessions: the server-side record behind the session cookie, and its timeout rules.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{TenantId, UserId};

/// How long an expired session's record is kept to recognise it (see `store_ttl`).
pub const EXPIRED_GRACE_SECS: i64 = 3600;

/// Per-tenant session lifetimes and the concurrent-session limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    /// A session unused for this long ends (default 30 minutes).
    pub idle_timeout_secs: i64,
    /// A session ends this long after sign-in, however active (default 12 hours).
    pub absolute_timeout_secs: i64,
    /// How many browser sessions one user may have at once (default 1).
    pub max_sessions_per_user: SessionLimit,
    /// What a sign-in beyond the limit does (default: ends the oldest session).
    pub on_limit: OnLimit,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 3600,
            max_sessions_per_user: SessionLimit::Max(1),
            on_limit: OnLimit::EndOldest,
        }
    }
}

/// A number of sessions (1 or more), or `"unlimited"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLimit {
    Unlimited,
    Max(u32),
}

impl SessionLimit {
    /// The limit as a count, `None` when unlimited.
    pub fn max(self) -> Option<u32> {
        match self {
            SessionLimit::Unlimited => None,
            SessionLimit::Max(n) => Some(n),
        }
    }
}

impl Serialize for SessionLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SessionLimit::Unlimited => s.serialize_str("unlimited"),
            SessionLimit::Max(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for SessionLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(i64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) if (1..=i64::from(MAX_SESSION_LIMIT)).contains(&n) => {
                Ok(SessionLimit::Max(n as u32))
            }
            Raw::Word(w) if w == "unlimited" => Ok(SessionLimit::Unlimited),
            _ => Err(serde::de::Error::custom(format!(
                "expected a number from 1 to {MAX_SESSION_LIMIT} or \"unlimited\""
            ))),
        }
    }
}

/// The largest finite session limit.
pub const MAX_SESSION_LIMIT: u32 = 1000;

/// What a sign-in does when the user already has `max_sessions_per_user` sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLimit {
    /// The new sign-in wins: the oldest sessions end (in every browser and application).
    EndOldest,
    /// The new sign-in is refused; the user may end the other sessions by re-entering their
    /// credentials.
    DenyNew,
}

impl OnLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            OnLimit::EndOldest => "end_oldest",
            OnLimit::DenyNew => "deny_new",
        }
    }
}

impl SessionPolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(60..=30 * 86_400).contains(&self.idle_timeout_secs) {
            return Err((
                "idle_timeout_secs".into(),
                "must be between 60 seconds and 30 days".into(),
            ));
        }
        if !(self.idle_timeout_secs..=400 * 86_400).contains(&self.absolute_timeout_secs) {
            return Err((
                "absolute_timeout_secs".into(),
                "must be at least idle_timeout_secs and at most 400 days".into(),
            ));
        }
        Ok(())
    }
}

/// How the user proved who they are. Stored in the session; `amr_claim` turns them into RFC 8176
/// `amr` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    /// A password.
    Pwd,
    /// A TOTP code from an authenticator app.
    Otp,
    /// A recovery code (emitted as `otp`: it is a one-time password).
    Rec,
    /// A one-time code sent to the user's verified address (emitted as `otp`).
    Mail,
    /// A WebAuthn credential bound to its device (not backup-eligible): a security key or a
    /// platform authenticator.
    Hwk,
    /// A WebAuthn credential that may be synced between devices (a backup-eligible passkey).
    Swk,
    /// The WebAuthn authenticator verified the user (PIN or biometrics).
    User,
    /// Signed in at an upstream identity provider (`crate::federation`): one factor here, like
    /// a password.
    Fed,
    /// The upstream identity provider proved multi-factor authentication and the tenant counts
    /// it as ours (emitted as `mfa`).
    Xmfa,
}

impl Amr {
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::Otp => "otp",
            Amr::Rec => "rec",
            Amr::Mail => "mail",
            Amr::Hwk => "hwk",
            Amr::Swk => "swk",
            Amr::User => "user",
            Amr::Fed => "fed",
            Amr::Xmfa => "xmfa",
        }
    }

    /// Something the user has (a device, an app, a code sheet), as opposed to knows or is.
    pub fn is_possession(self) -> bool {
        matches!(self, Amr::Otp | Amr::Rec | Amr::Mail | Amr::Hwk | Amr::Swk)
    }

    fn is_webauthn(self) -> bool {
        matches!(self, Amr::Hwk | Amr::Swk)
    }
}

/// Whether proving `methods` is a new authentication of the user (moves `auth_time` and
/// satisfies `prompt=login` / `max_age`): the password, or a WebAuthn credential that verified
/// the user (a passkey). A code or a security key alone only adds a factor to the session.
pub fn is_new_authentication(methods: &[Amr]) -> bool {
    methods.contains(&Amr::Pwd) || methods.contains(&Amr::User) || methods.contains(&Amr::Fed)
}

/// Whether `methods` include a second factor (something the user has).
pub fn proves_second_factor(methods: &[Amr]) -> bool {
    methods.iter().any(|m| m.is_possession())
}

/// Authentication context classes (`acr`), weakest first. Documented in docs/oidc.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    /// One factor (a password).
    Pwd,
    /// Two factors of different kinds (password and a code or a security key, or a passkey with
    /// user verification).
    Mfa,
    /// Multi-factor with a WebAuthn credential: phishing-resistant (the credential is bound to
    /// this site's origin).
    Phr,
}

impl Acr {
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Pwd => "pwd",
            Acr::Mfa => "mfa",
            Acr::Phr => "phr",
        }
    }

    pub fn parse(raw: &str) -> Option<Acr> {
        match raw {
            "pwd" => Some(Acr::Pwd),
            "mfa" => Some(Acr::Mfa),
            "phr" => Some(Acr::Phr),
            _ => None,
        }
    }

    /// What a set of methods reached.
    pub fn of(methods: &[Amr]) -> Acr {
        let possession = methods.iter().any(|m| m.is_possession());
        let webauthn = methods.iter().any(|m| m.is_webauthn());
        let first = methods.contains(&Amr::Pwd) || methods.contains(&Amr::Fed);
        let multi = (possession && first)
            || (webauthn && methods.contains(&Amr::User))
            || methods.contains(&Amr::Xmfa);
        match (multi, webauthn) {
            (true, true) => Acr::Phr,
            (true, false) => Acr::Mfa,
            _ => Acr::Pwd,
        }
    }

    /// The weakest level among the requested `acr_values` that Watchword knows, if any (the
    /// request is satisfied by that level or a stronger one). Unknown values are ignored.
    pub fn weakest_requested(acr_values: &str) -> Option<Acr> {
        acr_values.split(' ').filter_map(Acr::parse).min()
    }
}

/// The RFC 8176 `amr` values for a set of methods: `pwd`, `otp` (TOTP and recovery codes), `hwk`,
/// `swk`, `user`, and `mfa` when two factors of different kinds were used.
pub fn amr_claim(methods: &[Amr]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in methods {
        let s = match m {
            Amr::Rec | Amr::Mail => "otp",
            Amr::Xmfa => continue, // `mfa`, added below
            other => other.as_str(),
        };
        if !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    }
    if Acr::of(methods) >= Acr::Mfa {
        out.push("mfa".into());
    }
    out
}

/// The server-side record of a signed-in browser. Kept small (it lives in Redis at scale, one
/// per signed-in browser): short JSON field names, and the device's description rather than its
/// whole User-Agent header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrowserSession {
    /// Public identifier of the session (shown on account pages, used as OIDC `sid`); the
    /// cookie is `<sid>.<secret>`.
    #[serde(rename = "sid")]
    pub sid: String,
    /// SHA-256 (base64url) of the secret half of the session cookie.
    #[serde(rename = "sh")]
    pub secret_hash: String,
    #[serde(rename = "t")]
    pub tenant_id: TenantId,
    #[serde(rename = "u")]
    pub user_id: UserId,
    /// When the user last proved who they are (OIDC `auth_time`), Unix seconds.
    #[serde(rename = "at")]
    pub auth_time: i64,
    /// A random id of that proof, new at every (re-)authentication; `prompt=login` waits for a
    /// new one (seconds are too coarse to tell two sign-ins apart).
    #[serde(rename = "ai", default)]
    pub auth_id: String,
    /// What was proven in that authentication (plus second factors proven since, by step-up).
    #[serde(rename = "m")]
    pub amr: Vec<Amr>,
    /// When a second factor was last proven in this session (step-ups included), Unix seconds:
    /// what "a recent second factor" is judged by. Step-ups by a second factor alone do not move
    /// `auth_time` (only the password or a passkey does).
    #[serde(rename = "mt", default, skip_serializing_if = "Option::is_none")]
    pub mfa_at: Option<i64>,
    pub ip: String,
    /// "Firefox on Linux" (see `crate::domain::device`).
    #[serde(rename = "d")]
    pub device: String,
    /// Unix seconds. The session store's admission script reads `c` and `l` (see
    /// `crate::session_store::Admission`).
    #[serde(rename = "c")]
    pub created_at: i64,
    #[serde(rename = "l")]
    pub last_seen: i64,
    /// The risk judgement of the sign-in that made (or last re-made) this session.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<SessionRisk>,
    /// The upstream identity provider this session was signed in through, if any.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Federated>,
}

/// A session signed in through an upstream identity provider (`crate::federation`): which one,
/// the upstream session (OIDC `sid`, SAML `SessionIndex`) that upstream logout names, and the
/// upstream's cap on the session's life (SAML `SessionNotOnOrAfter`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Federated {
    /// The provider's slug.
    #[serde(rename = "i")]
    pub idp: String,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Unix seconds after which the session is over whatever the tenant's timeouts say.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// The upstream's groups, kept when the provider emits them (`emit_groups`): the `groups`
    /// claim of ID tokens issued in this session to clients that ask for scope `groups`.
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A session's sign-in as risk scoring judged it (`crate::auth::risk`): shown in the optional
/// `risk` claim, and a medium or high one that proved no second factor may not set one up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRisk {
    #[serde(rename = "l")]
    pub level: super::risk::Level,
    #[serde(rename = "r")]
    pub reasons: Vec<String>,
    #[serde(rename = "d")]
    pub decision: String,
    #[serde(rename = "e")]
    pub event: String,
    /// False in audit-only mode.
    #[serde(rename = "x", default)]
    pub enforced: bool,
}

/// Why a browser session ended. Stored (as its snake-case name) in the note an ended session
/// leaves, audited, and shown to the browser that held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    #[serde(rename = "signed_out")]
    SignedOut,
    #[serde(rename = "rp_logout")]
    RpInitiated,
    #[serde(rename = "idle_timeout")]
    IdleTimeout,
    #[serde(rename = "absolute_timeout")]
    AbsoluteTimeout,
    /// Another user signed in with the same browser.
    #[serde(rename = "replaced")]
    Replaced,
    /// The same user signed in elsewhere, beyond the tenant's session limit.
    #[serde(rename = "evicted")]
    Evicted,
    /// The user ended it from another session (account page).
    #[serde(rename = "ended_by_user")]
    User,
    #[serde(rename = "account_disabled")]
    AccountDisabled,
    #[serde(rename = "administrator")]
    Administrator,
    /// Used from both another network and another device than it was signed in on (continuous
    /// risk evaluation, `policy.risk.on_change = reauthenticate`): the person signs in again.
    #[serde(rename = "risk_reauthenticate")]
    Risk,
    /// The upstream identity provider it was signed in through ended the upstream session
    /// (OIDC back-channel logout, SAML single logout).
    #[serde(rename = "upstream_logout")]
    Upstream,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::RpInitiated => "rp_logout",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::AbsoluteTimeout => "absolute_timeout",
            EndReason::Replaced => "replaced",
            EndReason::Evicted => "evicted",
            EndReason::User => "ended_by_user",
            EndReason::AccountDisabled => "account_disabled",
            EndReason::Administrator => "administrator",
            EndReason::Risk => "risk_reauthenticate",
            EndReason::Upstream => "upstream_logout",
        }
    }

    /// Whether the offline grants issued in the session die with it. Sign-out and timeouts
    /// leave them (that is what offline access is for); a session ended *against* its holder
    /// (evicted by the session limit, ended by the user elsewhere or by an administrator,
    /// disabled account, used from another network and device) takes everything issued in it.
    pub fn ends_offline_grants(self) -> bool {
        matches!(
            self,
            EndReason::Evicted
                | EndReason::User
                | EndReason::Administrator
                | EndReason::AccountDisabled
                | EndReason::Risk
        )
    }

    /// A timeout, not something someone did.
    pub fn is_timeout(self) -> bool {
        matches!(self, EndReason::IdleTimeout | EndReason::AbsoluteTimeout)
    }
}

/// The authentication context class (`acr`) that an `amr` claim reflects (for grants stored with
/// their `amr` values).
pub fn acr_for(amr: &[String]) -> &'static str {
    let has = |v: &str| amr.iter().any(|a| a == v);
    match (has("mfa"), has("hwk") || has("swk")) {
        (true, true) => Acr::Phr.as_str(),
        (true, false) => Acr::Mfa.as_str(),
        _ => Acr::Pwd.as_str(),
    }
}

/// Whether a session may still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Active,
    IdleExpired,
    AbsoluteExpired,
}

impl SessionState {
    pub fn is_active(self) -> bool {
        self == SessionState::Active
    }
}

impl BrowserSession {
    pub fn state(&self, now: DateTime<Utc>, policy: &SessionPolicy) -> SessionState {
        let now = now.timestamp();
        let capped = self
            .via
            .as_ref()
            .and_then(|f| f.until)
            .is_some_and(|until| now >= until);
        if capped || now >= self.created_at + policy.absolute_timeout_secs {
            SessionState::AbsoluteExpired
        } else if now >= self.last_seen + policy.idle_timeout_secs {
            SessionState::IdleExpired
        } else {
            SessionState::Active
        }
    }

    /// `last_seen` is refreshed at most once a minute (or once per tenth of the idle timeout,
    /// if shorter) so that reading pages does not write to the store on every request.
    pub fn needs_touch(&self, now: DateTime<Utc>, policy: &SessionPolicy) -> bool {
        let granularity = (policy.idle_timeout_secs / 10).clamp(1, 60);
        now.timestamp() - self.last_seen >= granularity
    }

    /// How long the store should keep the record: until whichever timeout comes first, plus
    /// [`EXPIRED_GRACE_SECS`] so that a returning browser is told its session expired (and the
    /// expiry is audited) rather than silently treated as a stranger.
    pub fn store_ttl(&self, now: DateTime<Utc>, policy: &SessionPolicy) -> Duration {
        let mut absolute_end = self.created_at + policy.absolute_timeout_secs;
        if let Some(until) = self.via.as_ref().and_then(|f| f.until) {
            absolute_end = absolute_end.min(until);
        }
        let idle_end = self.last_seen + policy.idle_timeout_secs;
        Duration::seconds(
            (absolute_end.min(idle_end) + EXPIRED_GRACE_SECS - now.timestamp()).max(1),
        )
    }
}

#[cfg(test)]
mod tests;
