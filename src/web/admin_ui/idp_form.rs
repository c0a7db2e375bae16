//! The identity provider form of every kind (generic OpenID Connect, Microsoft Entra, SAML):
//! the form's fields read over a provider (settings the form does not show are kept) and the
//! form page rendered with a refused value named next to its field and everything typed kept.
//! Secrets are never filled in. The handlers are `idps.rs`; the rules are `admin::idps`'s.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use super::access::AdminPage;
use super::views_config::IdpFormPage;
use super::{Screen, render};
use crate::admin::AdminError;
use crate::domain::idp::{
    EntraSettings, IdentityProvider, IdpKind, IdpSettings, Linking, OidcSettings, SamlSettings,
};
use crate::domain::secret::Secret;
use crate::web::state::AppState;

/// A value of the form, trimmed (missing: empty).
pub fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.trim())
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const LINKING: [(&str, Linking); 3] = [
    ("proof", Linking::Proof),
    ("trusted_email", Linking::TrustedEmail),
    ("never", Linking::Never),
];

/// The kind of the form's `kind` field (a new provider); anything unknown is generic OIDC.
pub fn kind_of(raw: Option<&str>) -> IdpKind {
    raw.and_then(|k| IdpKind::parse(k).ok())
        .unwrap_or(IdpKind::Oidc)
}

/// The provider the form describes, over `base` (settings the form does not show are kept).
pub fn from_form(form: &HashMap<String, String>, mut base: IdentityProvider) -> IdentityProvider {
    base.display_name = field(form, "display_name").to_owned();
    base.enabled = form.contains_key("enabled");
    let on = |name: &str| form.contains_key(name);
    let s = &mut base.settings;
    s.domains = words(field(form, "domains"));
    s.jit = on("jit");
    s.trust_email = on("trust_email");
    s.default = on("default");
    s.emit_groups = on("emit_groups");
    s.linking = LINKING
        .iter()
        .find(|(v, _)| *v == field(form, "linking"))
        .map_or(Linking::Proof, |(_, l)| *l);
    match base.kind {
        IdpKind::Oidc => {
            let scopes = words(field(form, "scopes"));
            s.oidc = Some(OidcSettings {
                issuer: field(form, "issuer").to_owned(),
                client_id: field(form, "client_id").to_owned(),
                scopes: if scopes.is_empty() {
                    vec!["openid".into(), "email".into(), "profile".into()]
                } else {
                    scopes
                },
                userinfo: on("userinfo"),
            });
        }
        IdpKind::Entra => {
            let text = |name: &str, default: &str| match field(form, name) {
                "" => default.to_owned(),
                v => v.to_owned(),
            };
            s.entra = Some(EntraSettings {
                tenant: field(form, "tenant").to_owned(),
                client_id: field(form, "client_id").to_owned(),
                allowed_tenants: words(field(form, "allowed_tenants")),
                personal_accounts: on("personal_accounts"),
                resolve_group_overage: on("resolve_group_overage"),
                require_groups: on("require_groups"),
                authority: text("authority", ENTRA_AUTHORITY),
                graph: text("graph", ENTRA_GRAPH),
            });
        }
        IdpKind::Saml => {
            let previous = s.saml.take();
            s.saml = Some(SamlSettings {
                entity_id: field(form, "entity_id").to_owned(),
                sso_url: field(form, "sso_url").to_owned(),
                slo_url: Some(field(form, "slo_url"))
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned),
                signing_certs: lines(field(form, "signing_certs")),
                allow_sha1: on("allow_sha1"),
                allow_unsolicited: on("allow_unsolicited"),
                sign_requests: on("sign_requests"),
                metadata_url: previous.as_ref().and_then(|p| p.metadata_url.clone()),
                sp_certs: previous.map(|p| p.sp_certs).unwrap_or_default(),
            });
        }
    }
    base
}

const ENTRA_AUTHORITY: &str = "https://login.microsoftonline.com";
const ENTRA_GRAPH: &str = "https://graph.microsoft.com";

/// The client secret typed (OIDC, Entra): empty keeps the stored one.
pub fn secret_of(form: &HashMap<String, String>) -> Option<Secret<String>> {
    Some(field(form, "client_secret"))
        .filter(|s| !s.is_empty())
        .map(|s| Secret::new(s.to_owned()))
}

/// A new provider of `kind` with the usual defaults.
pub fn blank(page: &AdminPage, kind: IdpKind) -> IdentityProvider {
    IdentityProvider {
        id: crate::domain::ids::IdpId::generate(),
        tenant_id: page.tenant.id,
        slug: String::new(),
        kind,
        display_name: String::new(),
        enabled: true,
        settings: IdpSettings {
            domains: Vec::new(),
            jit: true,
            linking: Linking::default(),
            trust_email: false,
            default: false,
            mfa: Default::default(),
            mapping: Default::default(),
            emit_groups: false,
            oidc: None,
            entra: (kind == IdpKind::Entra).then(|| EntraSettings {
                tenant: String::new(),
                client_id: String::new(),
                allowed_tenants: Vec::new(),
                personal_accounts: false,
                resolve_group_overage: true,
                require_groups: false,
                authority: ENTRA_AUTHORITY.into(),
                graph: ENTRA_GRAPH.into(),
            }),
            saml: None,
        },
        has_secret: false,
        version: 0,
    }
}

/// The form field a refusal of `admin::idps` names (`saml.sso_url` → `sso_url`).
pub fn field_of(e: &AdminError) -> String {
    match e {
        AdminError::Invalid(i) => i.field.rsplit('.').next().unwrap_or(i.field).to_owned(),
        AdminError::Conflict(_) => "slug".into(),
        _ => String::new(),
    }
}

/// The form page: `action` posts it; `error` is the refusal with the field it names.
pub fn form_page(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    (action, status, error): (String, StatusCode, Option<&AdminError>),
    idp: &IdentityProvider,
) -> HttpResponse {
    let editing = action.ends_with("/edit");
    let s = &idp.settings;
    let oidc = s.oidc.clone();
    let entra = s.entra.clone();
    let saml = s.saml.clone();
    let text = |v: Option<String>| v.unwrap_or_default();
    render(state, req, page, Screen::Idps, status, None, |frame| {
        IdpFormPage {
            frame,
            action,
            editing,
            error: error.map(ToString::to_string),
            error_field: error.map(field_of).unwrap_or_default(),
            kind: idp.kind.as_str(),
            kind_label: match idp.kind {
                IdpKind::Oidc => "OpenID Connect provider",
                IdpKind::Entra => "Microsoft Entra ID provider",
                IdpKind::Saml => "SAML provider",
            },
            slug: idp.slug.clone(),
            display_name: idp.display_name.clone(),
            issuer: text(oidc.as_ref().map(|o| o.issuer.clone())),
            client_id: text(
                oidc.as_ref()
                    .map(|o| o.client_id.clone())
                    .or_else(|| entra.as_ref().map(|e| e.client_id.clone())),
            ),
            has_secret: idp.has_secret,
            scopes: oidc
                .as_ref()
                .map_or_else(|| "openid email profile".into(), |o| o.scopes.join(" ")),
            userinfo: oidc.as_ref().is_some_and(|o| o.userinfo),
            tenant: text(entra.as_ref().map(|e| e.tenant.clone())),
            allowed_tenants: text(entra.as_ref().map(|e| e.allowed_tenants.join(" "))),
            personal_accounts: entra.as_ref().is_some_and(|e| e.personal_accounts),
            resolve_group_overage: entra.as_ref().is_none_or(|e| e.resolve_group_overage),
            require_groups: entra.as_ref().is_some_and(|e| e.require_groups),
            authority: entra
                .as_ref()
                .map_or_else(|| ENTRA_AUTHORITY.into(), |e| e.authority.clone()),
            graph: entra
                .as_ref()
                .map_or_else(|| ENTRA_GRAPH.into(), |e| e.graph.clone()),
            entity_id: text(saml.as_ref().map(|m| m.entity_id.clone())),
            sso_url: text(saml.as_ref().map(|m| m.sso_url.clone())),
            slo_url: text(saml.as_ref().and_then(|m| m.slo_url.clone())),
            signing_certs: text(saml.as_ref().map(|m| m.signing_certs.join("\n"))),
            allow_sha1: saml.as_ref().is_some_and(|m| m.allow_sha1),
            allow_unsolicited: saml.as_ref().is_some_and(|m| m.allow_unsolicited),
            sign_requests: saml.as_ref().is_some_and(|m| m.sign_requests),
            domains: s.domains.join(" "),
            enabled: idp.enabled,
            jit: s.jit,
            trust_email: s.trust_email,
            default: s.default,
            emit_groups: s.emit_groups,
            linking: LINKING.iter().map(|(v, l)| (*v, *l == s.linking)).collect(),
        }
    })
}
