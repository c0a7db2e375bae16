//! Upstream identity providers of a tenant: their kind (`oidc`, `entra`, `saml`), the e-mail
//! domains they own (home-realm discovery), how first sign-ins create or link accounts, how
//! their claims map onto ours, and whether their multi-factor authentication counts as ours.

use serde::{Deserialize, Serialize};

use super::ids::{IdpId, TenantId};
use super::user::InvalidInput;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdpKind {
    /// Any OpenID Connect provider (Google Workspace, Okta, another Watchword, ...).
    Oidc,
    /// Microsoft Entra ID (Azure AD): OpenID Connect with its issuer, tenant and e-mail rules.
    Entra,
    /// A SAML 2.0 identity provider (ADFS, Shibboleth, SimpleSAMLphp, Okta SAML).
    Saml,
}

impl IdpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpKind::Oidc => "oidc",
            IdpKind::Entra => "entra",
            IdpKind::Saml => "saml",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "oidc" => Ok(IdpKind::Oidc),
            "entra" => Ok(IdpKind::Entra),
            "saml" => Ok(IdpKind::Saml),
            _ => Err(InvalidInput::new(
                "kind",
                "must be \"oidc\", \"entra\" or \"saml\"",
            )),
        }
    }
}

/// A tenant's upstream provider (its secret, if any, is kept sealed in storage).
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityProvider {
    pub id: IdpId,
    pub tenant_id: TenantId,
    /// The provider's name in addresses (`/t/{tenant}/idp/{slug}/...`).
    pub slug: String,
    pub kind: IdpKind,
    /// What the button says: "Sign in with {display_name}".
    pub display_name: String,
    pub enabled: bool,
    pub settings: IdpSettings,
    pub has_secret: bool,
    /// Bumped by every write of the row (the admin API's `ETag`); an update is conditional on it.
    pub version: i64,
}

impl IdentityProvider {
    /// Whether `domain` (of an e-mail address, lower-case) is one this provider owns.
    pub fn owns_domain(&self, domain: &str) -> bool {
        self.settings
            .domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// "Contoso (entra)", for audit and pages.
    pub fn label(&self) -> String {
        format!("{} ({})", self.display_name, self.kind.as_str())
    }
}

/// How a first sign-in of an upstream identity that matches an existing account (same e-mail
/// address or username) is handled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linking {
    /// The person proves the existing account (its password or passkey) first.
    #[default]
    Proof,
    /// Linked at once when the provider is trusted for e-mail (`trust_email`), the upstream
    /// says the address is verified, and its domain is one of `domains`; otherwise as `proof`.
    TrustedEmail,
    /// Never linked by a match: the sign-in is refused (an operator links by hand).
    Never,
}

/// The provider's own multi-factor authentication, and what proves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamMfa {
    /// Whether an upstream multi-factor sign-in counts as ours (no second factor asked here).
    pub counts: bool,
    /// Upstream `amr` values that prove multi-factor (OIDC, Entra).
    pub amr: Vec<String>,
    /// Upstream `acr` values that prove multi-factor (OIDC).
    pub acr: Vec<String>,
    /// SAML `AuthnContextClassRef` values that prove multi-factor.
    pub authn_contexts: Vec<String>,
}

impl Default for UpstreamMfa {
    fn default() -> Self {
        Self {
            counts: false,
            amr: vec!["mfa".into()],
            acr: Vec::new(),
            authn_contexts: vec![
                "https://refeds.org/profile/mfa".into(),
                "http://schemas.microsoft.com/claims/multipleauthn".into(),
            ],
        }
    }
}

/// Which upstream claims (OIDC) or attributes (SAML) fill a new account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    pub username: String,
    pub email: String,
    pub name: String,
    pub groups: String,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            username: "preferred_username".into(),
            email: "email".into(),
            name: "name".into(),
            groups: "groups".into(),
        }
    }
}

/// A generic OpenID Connect provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Also read the userinfo endpoint (claims the ID token lacks).
    #[serde(default)]
    pub userinfo: bool,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

/// Microsoft's tenant id of personal accounts (outlook.com, live.com).
pub const ENTRA_CONSUMERS_TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Microsoft Entra ID.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraSettings {
    /// A directory (tenant) id for a single-tenant registration, or `organizations`, `common`
    /// (multi-tenant; `common` also admits personal accounts when `personal_accounts`).
    pub tenant: String,
    pub client_id: String,
    /// Multi-tenant: the directories whose users may sign in (empty: none). Single-tenant: the
    /// registration's own directory is the only one whatever this says.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Admit personal Microsoft accounts (tenant `consumers` or `common` only).
    #[serde(default)]
    pub personal_accounts: bool,
    /// Resolve a groups overage (more groups than fit in the token) through Microsoft Graph.
    #[serde(default = "yes")]
    pub resolve_group_overage: bool,
    /// Refuse the sign-in when the user's groups cannot be known (an overage that could not be
    /// resolved): for tenants whose applications gate on groups.
    #[serde(default)]
    pub require_groups: bool,
    /// The login host (changed only for sovereign clouds and tests).
    #[serde(default = "entra_authority")]
    pub authority: String,
    /// The Microsoft Graph host (changed only for sovereign clouds and tests).
    #[serde(default = "entra_graph")]
    pub graph: String,
}

fn yes() -> bool {
    true
}

fn entra_authority() -> String {
    "https://login.microsoftonline.com".into()
}

fn entra_graph() -> String {
    "https://graph.microsoft.com".into()
}

impl EntraSettings {
    /// Whether the registration admits users of several directories.
    pub fn multi_tenant(&self) -> bool {
        matches!(
            self.tenant.as_str(),
            "organizations" | "common" | "consumers"
        )
    }

    /// The issuer a token of directory `tid` must carry (v2.0 tokens).
    pub fn issuer_for(&self, tid: &str) -> String {
        format!("{}/{tid}/v2.0", self.authority.trim_end_matches('/'))
    }

    /// Whether users of directory `tid` may sign in.
    pub fn admits(&self, tid: &str) -> bool {
        if tid == ENTRA_CONSUMERS_TID {
            return self.personal_accounts
                && matches!(self.tenant.as_str(), "common" | "consumers");
        }
        if self.multi_tenant() {
            self.tenant != "consumers" && self.allowed_tenants.iter().any(|t| t == tid)
        } else {
            self.tenant == tid
        }
    }
}

/// A SAML 2.0 identity provider (its metadata, imported).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSettings {
    /// The IdP's `entityID`.
    pub entity_id: String,
    /// Its single sign-on endpoint (HTTP-Redirect binding).
    pub sso_url: String,
    /// Its single logout endpoint (HTTP-Redirect binding), if it has one.
    #[serde(default)]
    pub slo_url: Option<String>,
    /// Its signing certificates (base64 DER); none means no sign-in, never an unchecked one.
    pub signing_certs: Vec<String>,
    /// Accept RSA-SHA1 signatures and SHA-1 digests (old ADFS).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Accept responses the IdP sends without a request of ours (IdP-initiated).
    #[serde(default)]
    pub allow_unsolicited: bool,
    /// Where the metadata came from (a URL to refresh from), if not a file.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// Our certificates at this IdP (base64 DER), the current one first (the one whose private
    /// key is kept sealed as the provider's secret), the previous one after it during a
    /// rollover. Published in our metadata for signing and encryption; with a key, the
    /// metadata is signed and encrypted assertions can be read.
    #[serde(default)]
    pub sp_certs: Vec<String>,
    /// Sign our AuthnRequests (needs the key).
    #[serde(default)]
    pub sign_requests: bool,
}

/// Everything about a provider except its identity and secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSettings {
    /// E-mail domains the provider owns: an address in one goes straight to it at sign-in, and
    /// only addresses in one can be trusted for linking.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Create an account at the first sign-in of an identity that matches none.
    #[serde(default = "yes")]
    pub jit: bool,
    #[serde(default)]
    pub linking: Linking,
    /// The provider's verified e-mail addresses are believed (for `linking = trusted_email`).
    #[serde(default)]
    pub trust_email: bool,
    /// The tenant's default: its sign-in page goes straight to this provider.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub mfa: UpstreamMfa,
    #[serde(default)]
    pub mapping: Mapping,
    /// Keep the upstream's groups with the session and release them as the `groups` claim of
    /// ID tokens to clients that ask for scope `groups` (at most 200, each at most 256
    /// characters; a larger set is refused rather than cut, so nothing gates on a partial list).
    #[serde(default)]
    pub emit_groups: bool,
    #[serde(default)]
    pub oidc: Option<OidcSettings>,
    #[serde(default)]
    pub entra: Option<EntraSettings>,
    #[serde(default)]
    pub saml: Option<SamlSettings>,
}

impl IdpSettings {
    /// Checks the settings for a provider of `kind`; names the field at fault.
    pub fn validate(&self, kind: IdpKind) -> Result<(), InvalidInput> {
        for d in &self.domains {
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                return Err(InvalidInput::new(
                    "domains",
                    format!("\"{d}\" is not a domain name"),
                ));
            }
        }
        let present = (
            self.oidc.is_some(),
            self.entra.is_some(),
            self.saml.is_some(),
        );
        let expected = match kind {
            IdpKind::Oidc => (true, false, false),
            IdpKind::Entra => (false, true, false),
            IdpKind::Saml => (false, false, true),
        };
        if present != expected {
            return Err(InvalidInput::new(
                "kind",
                format!(
                    "a provider of kind \"{}\" needs exactly its own section [{}]",
                    kind.as_str(),
                    kind.as_str()
                ),
            ));
        }
        if let Some(o) = &self.oidc {
            url_field("oidc.issuer", &o.issuer)?;
            if o.client_id.trim().is_empty() {
                return Err(InvalidInput::new("oidc.client_id", "is required"));
            }
            if !o.scopes.iter().any(|s| s == "openid") {
                return Err(InvalidInput::new("oidc.scopes", "must include \"openid\""));
            }
        }
        if let Some(e) = &self.entra {
            let guid = |t: &str| uuid::Uuid::parse_str(t).is_ok();
            if !e.multi_tenant() && !guid(&e.tenant) {
                return Err(InvalidInput::new(
                    "entra.tenant",
                    "must be a directory id, \"organizations\", \"common\" or \"consumers\"",
                ));
            }
            if let Some(bad) = e.allowed_tenants.iter().find(|t| !guid(t)) {
                return Err(InvalidInput::new(
                    "entra.allowed_tenants",
                    format!("\"{bad}\" is not a directory id"),
                ));
            }
            if e.personal_accounts && !matches!(e.tenant.as_str(), "common" | "consumers") {
                return Err(InvalidInput::new(
                    "entra.personal_accounts",
                    "needs tenant \"common\" or \"consumers\"",
                ));
            }
            if e.client_id.trim().is_empty() {
                return Err(InvalidInput::new("entra.client_id", "is required"));
            }
            url_field("entra.authority", &e.authority)?;
            url_field("entra.graph", &e.graph)?;
        }
        if let Some(s) = &self.saml {
            if s.entity_id.trim().is_empty() {
                return Err(InvalidInput::new("saml.entity_id", "is required"));
            }
            url_field("saml.sso_url", &s.sso_url)?;
            if let Some(u) = &s.slo_url {
                url_field("saml.slo_url", u)?;
            }
            let der = |c: &String| cert_der(c).filter(|d| d.first() == Some(&0x30));
            if let Some(bad) = s
                .signing_certs
                .iter()
                .chain(&s.sp_certs)
                .find(|c| der(c).is_none())
            {
                let shown: String = bad.chars().take(20).collect();
                return Err(InvalidInput::new(
                    "saml.signing_certs",
                    format!(
                        "\"{shown}…\" is not a base64 DER certificate (leave out the PEM header lines)"
                    ),
                ));
            }
            if s.signing_certs.is_empty() {
                return Err(InvalidInput::new(
                    "saml.signing_certs",
                    "at least one signing certificate is required (no certificate, no sign-in)",
                ));
            }
        }
        Ok(())
    }
}

fn url_field(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(InvalidInput::new(field, "must be an http(s) URL")),
    }
}

/// A certificate as settings hold it (base64 DER, line breaks allowed) decoded; `None` when it
/// is not base64.
pub fn cert_der(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Checks a provider slug: 1-40 lower-case letters, digits and `-`.
pub fn validate_slug(slug: &str) -> Result<(), InvalidInput> {
    let ok = (1..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "slug",
            "must be 1 to 40 lower-case letters, digits or '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entra(tenant: &str, allowed: &[&str], personal: bool) -> EntraSettings {
        EntraSettings {
            tenant: tenant.into(),
            client_id: "app".into(),
            allowed_tenants: allowed.iter().map(|s| s.to_string()).collect(),
            personal_accounts: personal,
            resolve_group_overage: true,
            require_groups: false,
            authority: entra_authority(),
            graph: entra_graph(),
        }
    }

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    #[test]
    fn entra_admits_only_its_directories() {
        let single = entra(A, &[], false);
        assert!(single.admits(A) && !single.admits(B));
        assert!(!single.admits(ENTRA_CONSUMERS_TID));
        let multi = entra("organizations", &[A], false);
        assert!(multi.admits(A) && !multi.admits(B));
        assert!(!multi.admits(ENTRA_CONSUMERS_TID));
        assert!(entra("common", &[], true).admits(ENTRA_CONSUMERS_TID));
        assert!(!entra("common", &[], false).admits(ENTRA_CONSUMERS_TID));
        assert_eq!(
            multi.issuer_for(A),
            format!("https://login.microsoftonline.com/{A}/v2.0")
        );
    }

    #[test]
    fn settings_need_their_own_section_and_saml_a_certificate() {
        let mut s: IdpSettings = serde_json::from_value(serde_json::json!({
            "saml": { "entity_id": "https://idp", "sso_url": "https://idp/sso", "signing_certs": [] }
        }))
        .unwrap();
        assert_eq!(
            s.validate(IdpKind::Saml).unwrap_err().field,
            "saml.signing_certs"
        );
        s.saml.as_mut().unwrap().signing_certs = vec!["-----BEGIN CERTIFICATE-----".into()];
        assert_eq!(
            s.validate(IdpKind::Saml).unwrap_err().field,
            "saml.signing_certs",
            "PEM armour is not a certificate"
        );
        s.saml.as_mut().unwrap().signing_certs = vec!["MIIB".into()];
        assert!(s.validate(IdpKind::Saml).is_ok());
        assert_eq!(s.validate(IdpKind::Oidc).unwrap_err().field, "kind");
        assert!(serde_json::from_value::<IdpSettings>(serde_json::json!({"bogus": 1})).is_err());
    }
}
