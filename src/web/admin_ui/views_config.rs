//! The templates of the configuration screens (`templates/admin/`): applications, identity
//! providers, sessions, signing keys, the policy and tenants, and the rows htmx swaps in.

use askama::Template;

use super::Frame;
use super::policy_form::Section;
use super::views::UserLine;

/// An application as listed.
pub struct ClientLine {
    pub href: String,
    pub client_id: String,
    pub name: String,
    pub kind: &'static str,
    pub grants: String,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub frame: Frame,
    pub rows: Vec<ClientLine>,
    pub can_write: bool,
}

/// An application's page: settings, and (once, after registering or rotating) its secret.
#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub frame: Frame,
    pub href: String,
    pub client_id: String,
    pub name: String,
    pub kind: &'static str,
    pub auth_method: &'static str,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grants: Vec<&'static str>,
    pub scopes: String,
    pub flags: Vec<(&'static str, bool)>,
    pub backchannel_logout_uri: String,
    pub created: String,
    pub updated: String,
    pub can_write: bool,
    pub secret: Option<String>,
}

/// A grant type's checkbox.
pub struct GrantOption {
    pub value: &'static str,
    pub label: &'static str,
    /// A text field's value (lifetimes).
    pub text: String,
    pub checked: bool,
}

/// Registering or editing an application (`href` is `None` for a new one).
#[derive(Template)]
#[template(path = "admin/client_form.html")]
pub struct ClientFormPage {
    pub frame: Frame,
    pub action: String,
    pub editing: bool,
    pub error: Option<String>,
    /// The form field the error names (empty: none).
    pub error_field: String,
    pub name: String,
    pub kind: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grants: Vec<GrantOption>,
    pub modes: Vec<GrantOption>,
    pub scopes: String,
    pub audiences: String,
    /// Token lifetimes: field name, label and the value (empty: the tenant's).
    pub lifetimes: Vec<GrantOption>,
    /// (value, label, selected) of each choice.
    pub id_token_algs: Vec<(&'static str, &'static str, bool)>,
    pub access_token_algs: Vec<(&'static str, &'static str, bool)>,
    pub first_party: bool,
    pub require_pkce: bool,
    pub require_mfa: bool,
    pub resource_server: bool,
    pub backchannel_logout_session_required: bool,
    pub backchannel_logout_uri: String,
}

impl ClientFormPage {
    /// The error to show next to field `name`, if it is the one refused.
    pub fn err(&self, name: &str) -> Option<&str> {
        (self.error_field == name)
            .then_some(self.error.as_deref())
            .flatten()
    }
}

/// "Are you sure?" before deleting or withdrawing something.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub frame: Frame,
    pub title: String,
    pub question: String,
    pub action: String,
    /// Hidden fields besides the CSRF token.
    pub fields: Vec<(&'static str, String)>,
    pub button: &'static str,
    pub cancel: String,
}

/// An identity provider as listed.
pub struct IdpLine {
    pub href: String,
    pub slug: String,
    pub name: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub domains: String,
}

#[derive(Template)]
#[template(path = "admin/idps.html")]
pub struct IdpsPage {
    pub frame: Frame,
    pub rows: Vec<IdpLine>,
    pub can_write: bool,
}

#[derive(Template)]
#[template(path = "admin/idp.html")]
pub struct IdpPage {
    pub frame: Frame,
    pub href: String,
    pub slug: String,
    pub name: String,
    pub kind: &'static str,
    pub enabled: bool,
    /// What it is: issuer, Entra directory, SAML entity and metadata, as (label, value).
    pub facts: Vec<(&'static str, String)>,
    pub domains: Vec<String>,
    pub has_secret: bool,
    /// The settings as JSON (they hold no secret: the secret is sealed apart).
    pub settings: String,
    pub can_write: bool,
    /// A SAML provider's metadata import: the URL and XML typed, and a refusal of either.
    pub saml: bool,
    pub import_url: String,
    pub import_xml: String,
    pub import_error: Option<(String, String)>,
}

/// The form of a provider of any kind (the kind's own section shown).
#[derive(Template)]
#[template(path = "admin/idp_form.html")]
pub struct IdpFormPage {
    pub frame: Frame,
    pub action: String,
    pub editing: bool,
    pub error: Option<String>,
    /// The form field the error names (empty: none).
    pub error_field: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub slug: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub has_secret: bool,
    pub scopes: String,
    pub userinfo: bool,
    pub tenant: String,
    pub allowed_tenants: String,
    pub personal_accounts: bool,
    pub resolve_group_overage: bool,
    pub require_groups: bool,
    pub authority: String,
    pub graph: String,
    pub entity_id: String,
    pub sso_url: String,
    pub slo_url: String,
    pub signing_certs: String,
    pub allow_sha1: bool,
    pub allow_unsolicited: bool,
    pub sign_requests: bool,
    pub domains: String,
    pub enabled: bool,
    pub jit: bool,
    pub trust_email: bool,
    pub default: bool,
    pub emit_groups: bool,
    pub linking: Vec<(&'static str, bool)>,
}

impl IdpFormPage {
    /// The error to show next to field `name`, if it is the one refused.
    pub fn err(&self, name: &str) -> Option<&str> {
        (self.error_field == name)
            .then_some(self.error.as_deref())
            .flatten()
    }
}

/// A session on the sessions screen.
pub struct SessionLine {
    pub sid: String,
    pub device: String,
    pub ip: String,
    pub started: String,
    pub last_seen: String,
    pub factors: String,
}

/// A person the sessions screen found.
pub struct PersonLine {
    pub href: String,
    pub username: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
pub struct SessionsPage {
    pub frame: Frame,
    pub q: String,
    pub people: Vec<PersonLine>,
    /// The chosen user: id, name, page in the users screen, and their sessions.
    pub chosen: Option<(String, String, String, Vec<SessionLine>)>,
    pub can_write: bool,
}

/// The people the sessions screen's typeahead found (htmx).
#[derive(Template)]
#[template(path = "admin/sessions_people.html")]
pub struct PeopleFragment {
    pub people: Vec<PersonLine>,
    pub q: String,
}

/// The row that replaces an ended session's (htmx).
#[derive(Template)]
#[template(
    source = "<tr><td colspan=\"6\" role=\"status\">The session is ended.</td></tr>\n",
    ext = "html"
)]
pub struct EndedRow {}

/// The rows of the users list alone (htmx: "Next" and the typeahead).
#[derive(Template)]
#[template(path = "admin/users_rows.html")]
pub struct UserRows {
    pub rows: Vec<UserLine>,
    pub next: Option<String>,
}

/// A signing key as listed.
pub struct SigningKeyLine {
    pub kid: String,
    pub alg: &'static str,
    pub state: &'static str,
    pub created: String,
    pub activates: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub struct KeysPage {
    pub frame: Frame,
    pub rows: Vec<SigningKeyLine>,
    pub algs: Vec<&'static str>,
    pub can_write: bool,
}

#[derive(Template)]
#[template(path = "admin/policy.html")]
pub struct PolicyPage {
    pub frame: Frame,
    pub sections: Vec<Section>,
    /// The field at fault, why, and the id of its input (the message is also next to it).
    pub error: Option<(String, String, String)>,
    pub can_write: bool,
}

/// A tenant as listed.
pub struct TenantLine {
    pub slug: String,
    pub name: String,
    pub href: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/tenants.html")]
pub struct TenantsPage {
    pub frame: Frame,
    pub rows: Vec<TenantLine>,
    pub can_write: bool,
    pub error: Option<String>,
    pub slug: String,
    pub display_name: String,
}
