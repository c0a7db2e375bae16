//! The application form of the management UI: every registration setting an operator edits
//! (name, URIs, grant types, response modes, scopes, back-channel logout, token lifetimes,
//! signing algorithms, resource server and audiences, options) read from the form over the
//! stored settings, and the form rendered with a refused value named next to its field and
//! what was typed kept. The rules are `domain::client::validate`, through `admin::clients`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use super::access::AdminPage;
use super::views_config::{ClientFormPage, GrantOption};
use super::{Screen, render};
use crate::admin::AdminError;
use crate::domain::client::{ClientSettings, GrantType, Lifetimes, ResponseModeName};
use crate::domain::keys::SigningAlg;
use crate::domain::user::InvalidInput;
use crate::web::state::AppState;

const GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

const MODES: [(ResponseModeName, &str); 2] = [
    (ResponseModeName::Query, "query"),
    (ResponseModeName::FormPost, "form_post"),
];

/// The lifetimes' form fields, with their labels.
pub const LIFETIMES: [(&str, &str); 4] = [
    ("access_token_secs", "Access token lifetime (seconds)"),
    ("id_token_secs", "ID token lifetime (seconds)"),
    ("refresh_idle_secs", "Refresh token idle timeout (seconds)"),
    (
        "refresh_absolute_secs",
        "Refresh token absolute lifetime (seconds)",
    ),
];

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A value of the form as posted (missing: empty).
pub fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.as_str())
}

fn lifetime(
    form: &HashMap<String, String>,
    name: &'static str,
) -> Result<Option<i64>, InvalidInput> {
    match field(form, name).trim() {
        "" => Ok(None),
        v => v.parse::<i64>().map(Some).map_err(|_| {
            InvalidInput::new(
                LIFETIME_PATHS[LIFETIMES.iter().position(|(n, _)| *n == name).unwrap_or(0)],
                "must be a whole number of seconds (empty: the tenant's)",
            )
        }),
    }
}

const LIFETIME_PATHS: [&str; 4] = [
    "lifetimes.access_token_secs",
    "lifetimes.id_token_secs",
    "lifetimes.refresh_idle_secs",
    "lifetimes.refresh_absolute_secs",
];

fn alg(
    form: &HashMap<String, String>,
    name: &'static str,
) -> Result<Option<SigningAlg>, InvalidInput> {
    match field(form, name) {
        "" => Ok(None),
        v => SigningAlg::parse(v)
            .map(Some)
            .map_err(|e| InvalidInput::new(name, e.message)),
    }
}

/// The settings the form describes, over `base` (fields the form does not show are kept), and
/// the refusal of a value that cannot even be read (a lifetime that is not a number), named as
/// `domain::client::validate` names it.
pub fn settings_of(
    form: &HashMap<String, String>,
    mut base: ClientSettings,
) -> (ClientSettings, Option<AdminError>) {
    base.redirect_uris = lines(field(form, "redirect_uris"));
    base.post_logout_redirect_uris = lines(field(form, "post_logout_redirect_uris"));
    base.grant_types = GRANTS
        .into_iter()
        .filter(|g| form.contains_key(&format!("grant_{}", g.as_str())))
        .collect();
    base.response_modes = MODES
        .into_iter()
        .filter(|(_, v)| form.contains_key(&format!("mode_{v}")))
        .map(|(m, _)| m)
        .collect();
    base.scopes = field(form, "scopes")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    base.audiences = field(form, "audiences")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    base.first_party = form.contains_key("first_party");
    base.require_pkce = form.contains_key("require_pkce");
    base.require_mfa = form.contains_key("require_mfa");
    base.resource_server = form.contains_key("resource_server");
    base.backchannel_logout_session_required =
        form.contains_key("backchannel_logout_session_required");
    base.backchannel_logout_uri =
        Some(field(form, "backchannel_logout_uri").trim().to_owned()).filter(|u| !u.is_empty());
    let no_mode = base.response_modes.is_empty();
    let read = || -> Result<(Lifetimes, Option<SigningAlg>, Option<SigningAlg>), InvalidInput> {
        if no_mode {
            return Err(InvalidInput::new(
                "response_modes",
                "at least one response mode",
            ));
        }
        Ok((
            Lifetimes {
                access_token_secs: lifetime(form, "access_token_secs")?,
                id_token_secs: lifetime(form, "id_token_secs")?,
                refresh_idle_secs: lifetime(form, "refresh_idle_secs")?,
                refresh_absolute_secs: lifetime(form, "refresh_absolute_secs")?,
            },
            alg(form, "id_token_alg")?,
            alg(form, "access_token_alg")?,
        ))
    };
    match read() {
        Ok((lifetimes, id_alg, access_alg)) => {
            base.lifetimes = lifetimes;
            base.id_token_alg = id_alg;
            base.access_token_alg = access_alg;
            (base, None)
        }
        Err(e) => (base, Some(e.into())),
    }
}

/// The form field an error names (`lifetimes.id_token_secs` → `id_token_secs`).
fn field_of(e: &AdminError) -> String {
    match e {
        AdminError::Invalid(i) => i.field.rsplit('.').next().unwrap_or(i.field).to_owned(),
        _ => String::new(),
    }
}

/// The form, filled from `c`; after a refusal, `typed` is the form as posted (its lifetimes
/// shown as typed, even when they are not numbers).
pub fn form_page(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    (action, status): (String, StatusCode),
    (c, kind): (&ClientSettings, &str),
    (name, error, typed): (
        String,
        Option<&AdminError>,
        Option<&HashMap<String, String>>,
    ),
) -> HttpResponse {
    let editing = action.ends_with("/edit");
    let l = &c.lifetimes;
    let stored = [
        l.access_token_secs,
        l.id_token_secs,
        l.refresh_idle_secs,
        l.refresh_absolute_secs,
    ];
    let lifetimes = LIFETIMES
        .iter()
        .zip(stored)
        .map(|(&(name, label), v)| GrantOption {
            value: name,
            label,
            text: match typed {
                Some(form) => field(form, name).to_owned(),
                None => v.map(|v| v.to_string()).unwrap_or_default(),
            },
            checked: false,
        })
        .collect();
    let algs = |chosen: Option<SigningAlg>| -> Vec<(&'static str, &'static str, bool)> {
        std::iter::once(("", "the tenant's", chosen.is_none()))
            .chain(
                SigningAlg::ALL
                    .into_iter()
                    .map(|a| (a.as_str(), a.as_str(), chosen == Some(a))),
            )
            .collect()
    };
    render(state, req, page, Screen::Clients, status, None, |frame| {
        ClientFormPage {
            frame,
            action,
            editing,
            error: error.map(ToString::to_string),
            error_field: error.map(field_of).unwrap_or_default(),
            name,
            kind: kind.to_owned(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            grants: GRANTS
                .into_iter()
                .map(|g| GrantOption {
                    value: g.as_str(),
                    label: g.as_str(),
                    text: String::new(),
                    checked: c.grant_types.contains(&g),
                })
                .collect(),
            modes: MODES
                .into_iter()
                .map(|(m, v)| GrantOption {
                    value: v,
                    label: v,
                    text: String::new(),
                    checked: c.response_modes.contains(&m),
                })
                .collect(),
            scopes: c.scopes.join(" "),
            audiences: c.audiences.join(" "),
            lifetimes,
            id_token_algs: algs(c.id_token_alg),
            access_token_algs: algs(c.access_token_alg),
            first_party: c.first_party,
            require_pkce: c.require_pkce,
            require_mfa: c.require_mfa,
            resource_server: c.resource_server,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
        }
    })
}
