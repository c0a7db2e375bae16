//! Verified upstream claims (an ID token's, with userinfo's) to a [`Person`], through the
//! provider's attribute mapping; what proves multi-factor authentication upstream.

use serde_json::{Map, Value};

use super::identity::Person;
use crate::domain::idp::IdentityProvider;

/// A string claim (`true`/`false` strings are not accepted as strings).
pub fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .map(str::to_owned)
}

/// A boolean claim (some providers send `"true"`).
pub fn flag(claims: &Map<String, Value>, name: &str) -> bool {
    match claims.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A list of strings (a single string counts as one), at most 1,000.
pub fn list(claims: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match claims.get(name)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .take(1000)
                .map(str::to_owned)
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// Whether the upstream `amr`/`acr` prove multi-factor authentication and the provider's
/// counts as ours.
pub fn upstream_mfa(idp: &IdentityProvider, claims: &Map<String, Value>) -> bool {
    let mfa = &idp.settings.mfa;
    if !mfa.counts {
        return false;
    }
    let amr = list(claims, "amr").unwrap_or_default();
    let acr = text(claims, "acr");
    amr.iter().any(|a| mfa.amr.contains(a)) || acr.is_some_and(|a| mfa.acr.contains(&a))
}

/// A generic OpenID Connect provider's person: `sub` is the subject.
pub fn generic(idp: &IdentityProvider, claims: &Map<String, Value>) -> Person {
    let m = &idp.settings.mapping;
    Person {
        subject: text(claims, "sub").unwrap_or_default(),
        email: text(claims, &m.email),
        email_verified: flag(claims, "email_verified"),
        username: text(claims, &m.username),
        name: text(claims, &m.name),
        groups: list(claims, &m.groups),
        mfa: upstream_mfa(idp, claims),
        sid: text(claims, "sid"),
        until: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::idp::{IdpKind, IdpSettings};

    fn idp(counts: bool) -> IdentityProvider {
        let mut settings: IdpSettings = serde_json::from_value(serde_json::json!({
            "oidc": { "issuer": "https://idp.example", "client_id": "c" },
            "domains": ["example.com"], "trust_email": true
        }))
        .unwrap();
        settings.mfa.counts = counts;
        IdentityProvider {
            id: crate::domain::ids::IdpId::generate(),
            tenant_id: crate::domain::ids::TenantId::generate(),
            slug: "x".into(),
            kind: IdpKind::Oidc,
            display_name: "X".into(),
            enabled: true,
            settings,
            has_secret: false,
            version: 1,
        }
    }

    fn claims(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn mfa_counts_only_when_the_provider_says_so() {
        let c = claims(serde_json::json!({ "sub": "1", "amr": ["pwd", "mfa"] }));
        assert!(generic(&idp(true), &c).mfa);
        assert!(!generic(&idp(false), &c).mfa);
        let single = claims(serde_json::json!({ "sub": "1", "amr": ["pwd"] }));
        assert!(!generic(&idp(true), &single).mfa);
    }

    #[test]
    fn an_address_is_trusted_only_verified_and_in_the_providers_domains() {
        let i = idp(false);
        let p = |email: &str, verified: bool| {
            generic(
                &i,
                &claims(
                    serde_json::json!({ "sub": "1", "email": email, "email_verified": verified }),
                ),
            )
        };
        assert_eq!(
            p("a@example.com", true).trusted_email(&i),
            Some("a@example.com")
        );
        assert_eq!(p("a@example.com", false).trusted_email(&i), None);
        assert_eq!(p("a@elsewhere.com", true).trusted_email(&i), None);
    }
}
