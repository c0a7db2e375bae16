//! OAuth clients (applications) of a tenant and the rules for their registration: redirect URIs
//! (exact match; only a loopback port may vary, RFC 8252), grant types, scopes, PKCE.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::TenantId;
use super::keys::SigningAlg;
use super::user::InvalidInput;

/// Confidential clients can keep a secret (servers); public ones cannot (SPAs, native apps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Confidential,
    Public,
}

/// How a client proves its identity at the token endpoint (RFC 6749 section 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::None => "none",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "none" => Ok(Self::None),
            _ => Err(InvalidInput::new(
                "auth_method",
                "must be client_secret_basic, client_secret_post or none",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

/// How the authorization response may be delivered (`response_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseModeName {
    Query,
    FormPost,
}

/// Per-client overrides of the tenant's token lifetimes (seconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lifetimes {
    pub access_token_secs: Option<i64>,
    pub id_token_secs: Option<i64>,
    pub refresh_idle_secs: Option<i64>,
    pub refresh_absolute_secs: Option<i64>,
}

/// The registration of a client, stored as JSON beside its identifying columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Response modes this client may ask for (default: query and form_post).
    pub response_modes: Vec<ResponseModeName>,
    /// Scopes this client may ask for.
    pub scopes: Vec<String>,
    /// Skip the consent page (the tenant's own applications).
    pub first_party: bool,
    /// Require PKCE (always on for public clients).
    pub require_pkce: bool,
    /// ID token signing algorithm; default: the tenant's.
    pub id_token_alg: Option<SigningAlg>,
    /// Access token signing algorithm; default: the tenant's.
    pub access_token_alg: Option<SigningAlg>,
    pub lifetimes: Lifetimes,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Users of this application must have passed a second factor (ACR `mfa` or better); a
    /// session without one is asked for it (step-up) before a code is issued.
    pub require_mfa: bool,
    /// A resource server (an API): it may introspect access tokens meant for it, those whose
    /// `aud` is its own client id or one of `audiences`. Any client may introspect the tokens
    /// issued to itself; nothing else.
    pub resource_server: bool,
    /// The audiences a resource server serves. An access token's `aud` is the client it was
    /// issued to, so these are the client ids of the applications whose tokens it accepts.
    pub audiences: Vec<String>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_modes: vec![ResponseModeName::Query, ResponseModeName::FormPost],
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            first_party: false,
            require_pkce: true,
            id_token_alg: None,
            access_token_alg: None,
            lifetimes: Lifetimes::default(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: true,
            require_mfa: false,
            resource_server: false,
            audiences: Vec::new(),
        }
    }
}

/// Scopes a new client may request unless told otherwise.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

pub use super::keys::MAX_TOKEN_LIFETIME_SECS;

#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub pk: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub name: String,
    pub kind: ClientKind,
    pub auth_method: ClientAuthMethod,
    pub settings: ClientSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write of the row (the admin API's `ETag`); an update is conditional on it.
    pub version: i64,
}

impl Client {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.settings.grant_types.contains(&grant)
    }

    pub fn pkce_required(&self) -> bool {
        self.kind == ClientKind::Public || self.settings.require_pkce
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.settings.scopes.iter().any(|s| s == scope)
    }

    /// Is `requested` one of the registered redirect URIs? Exact string comparison, except that
    /// for a registered loopback IP URI (`http://127.0.0.1:…` or `http://[::1]:…`) the port may
    /// differ (RFC 8252 section 7.3).
    pub fn redirect_uri_registered(&self, requested: &str) -> bool {
        self.settings
            .redirect_uris
            .iter()
            .any(|registered| redirect_uri_matches(registered, requested))
    }

    /// May this client introspect an access token with this audience and this `client_id`
    /// claim? Its own tokens always; as a resource server, those meant for it.
    pub fn may_introspect(&self, aud: &str, issued_to: &str) -> bool {
        issued_to == self.client_id
            || (self.settings.resource_server
                && (aud == self.client_id || self.settings.audiences.iter().any(|a| a == aud)))
    }

    pub fn post_logout_uri_registered(&self, requested: &str) -> bool {
        self.settings
            .post_logout_redirect_uris
            .iter()
            .any(|r| r == requested)
    }
}

/// Validates a client id: 1-128 characters of `A-Z a-z 0-9 . _ ~ -`.
pub fn validate_client_id(raw: &str) -> Result<(), InvalidInput> {
    let ok = (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "client_id",
            "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'",
        ))
    }
}

/// Checks a redirect URI at registration: absolute, no fragment, and https unless it is a
/// loopback address (http allowed) or a private-use scheme of a native app (`com.example.app:/cb`).
pub fn validate_redirect_uri(field: &'static str, raw: &str) -> Result<(), InvalidInput> {
    let bad = |m: &str| InvalidInput::new(field, format!("{raw:?} {m}"));
    if raw.len() > 2000 {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    if url.as_str() != raw && url.as_str() != format!("{raw}/") {
        // Registered URIs are compared as strings; refuse forms a parser would rewrite.
        return Err(bad("is not in normalized form"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(bad(
            "must use https (http is allowed only for loopback addresses)",
        )),
        "javascript" | "data" | "file" | "vbscript" => Err(bad("uses a forbidden scheme")),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(bad(
            "must use https or a reverse-domain private scheme (com.example.app:/cb)",
        )),
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    registered == requested
        || matches!(
            (split_loopback_port(registered), split_loopback_port(requested)),
            (Some((reg_host, _, reg_rest)), Some((req_host, _, req_rest))) if reg_host == req_host && reg_rest == req_rest
        )
}

/// RFC 8252 section 7.3: for `http://127.0.0.1` and `http://[::1]` (exactly these spellings),
/// splits the URI into host part, port and the rest, so that only the port may differ. Everything
/// else is compared as an exact string: no URL normalization.
fn split_loopback_port(uri: &str) -> Option<(&str, &str, &str)> {
    let host = ["http://127.0.0.1", "http://[::1]"]
        .into_iter()
        .find(|h| uri.starts_with(h))?;
    let after = &uri[host.len()..];
    let (port, rest) = match after.strip_prefix(':') {
        Some(p) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 5 {
                return None;
            }
            (&p[..digits], &p[digits..])
        }
        None => ("", after),
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        .then_some((host, port, rest))
}

/// Checks a whole registration; the error names the field.
pub fn validate(client: &Client) -> Result<(), InvalidInput> {
    validate_client_id(&client.client_id)?;
    let name = client.name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "name",
            "must be 1-128 characters without control characters",
        ));
    }
    let s = &client.settings;
    if s.redirect_uris.len() > 50 || s.post_logout_redirect_uris.len() > 50 {
        return Err(InvalidInput::new("redirect_uris", "at most 50 URIs"));
    }
    for uri in &s.redirect_uris {
        validate_redirect_uri("redirect_uris", uri)?;
    }
    for uri in &s.post_logout_redirect_uris {
        validate_redirect_uri("post_logout_redirect_uris", uri)?;
    }
    if let Some(uri) = &s.backchannel_logout_uri {
        validate_redirect_uri("backchannel_logout_uri", uri)?;
        if uri.contains('#') || !(uri.starts_with("https://") || uri.starts_with("http://")) {
            return Err(InvalidInput::new(
                "backchannel_logout_uri",
                "must be an http(s) URL",
            ));
        }
    }
    if s.grant_types.is_empty() {
        return Err(InvalidInput::new("grant_types", "at least one grant type"));
    }
    if s.grant_types.contains(&GrantType::AuthorizationCode) && s.redirect_uris.is_empty() {
        return Err(InvalidInput::new(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    match (client.kind, client.auth_method) {
        (ClientKind::Public, ClientAuthMethod::None) => {
            if s.grant_types.contains(&GrantType::ClientCredentials) {
                return Err(InvalidInput::new(
                    "grant_types",
                    "a public client cannot use client_credentials",
                ));
            }
        }
        (ClientKind::Public, _) => {
            return Err(InvalidInput::new(
                "auth_method",
                "a public client authenticates with \"none\"",
            ));
        }
        (ClientKind::Confidential, ClientAuthMethod::None) => {
            return Err(InvalidInput::new(
                "auth_method",
                "a confidential client needs client_secret_basic or client_secret_post",
            ));
        }
        (ClientKind::Confidential, _) => {}
    }
    for scope in &s.scopes {
        let ok = !scope.is_empty()
            && scope.len() <= 256
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !ok {
            return Err(InvalidInput::new(
                "scopes",
                format!("{scope:?} is not a valid scope"),
            ));
        }
    }
    if !s.audiences.is_empty() && !s.resource_server {
        return Err(InvalidInput::new(
            "audiences",
            "only a resource server has audiences",
        ));
    }
    if s.audiences.len() > 50 {
        return Err(InvalidInput::new("audiences", "at most 50 audiences"));
    }
    for aud in &s.audiences {
        let ok = (1..=256).contains(&aud.len()) && aud.bytes().all(|b| (0x21..=0x7E).contains(&b));
        if !ok {
            return Err(InvalidInput::new(
                "audiences",
                format!("{aud:?} is not a valid audience"),
            ));
        }
    }
    let l = &s.lifetimes;
    for (field, v, min, max) in [
        (
            "lifetimes.access_token_secs",
            l.access_token_secs,
            30,
            MAX_TOKEN_LIFETIME_SECS,
        ),
        (
            "lifetimes.id_token_secs",
            l.id_token_secs,
            30,
            MAX_TOKEN_LIFETIME_SECS,
        ),
        (
            "lifetimes.refresh_idle_secs",
            l.refresh_idle_secs,
            60,
            400 * 86_400,
        ),
        (
            "lifetimes.refresh_absolute_secs",
            l.refresh_absolute_secs,
            60,
            400 * 86_400,
        ),
    ] {
        if v.is_some_and(|v| !(min..=max).contains(&v)) {
            return Err(InvalidInput::new(
                field,
                format!("must be between {min} and {max}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
