//! The management UI (`/t/{tenant}/admin/…`): server-rendered pages with the hosted pages'
//! layout and CSS, no JavaScript. Every action is a plain form with the CSRF token, answered by
//! a redirect with a notice (`?done=…`). Who may open it is [`access::AdminPage`]; every handler
//! makes the `Admin::require` check of the permission its screen needs, so a viewer sees the
//! lists without the action buttons and a form posted anyway is refused (403). The use cases
//! (`admin`, `risk_feedback`, `lifecycle`) do the work and audit it; this module only renders.
//! Screens: dashboard and "what can I do" (`dashboard.rs`), users (`users.rs`, `user.rs`), the
//! audit log and sign-in events (`logs.rs`), API keys (`api_keys.rs`), applications
//! (`clients.rs`, `client.rs`, the form `client_form.rs`), identity providers (`idps.rs`,
//! `idp.rs`, the form of every kind `idp_form.rs`, the SAML metadata import `idp_import.rs`),
//! sessions (`sessions.rs`), signing keys (`keys.rs`), the tenant's policy (`policies.rs`, with
//! the generic form of `policy_form.rs` and its help lines, `policy_help.rs`) and tenants
//! (`tenants.rs`). Where htmx (vendored, `static/js/`) is loaded, a few lists update in place
//! (`fragment`: an `HX-Request` gets just the rows); every page works the same without
//! JavaScript.

pub mod access;
pub mod api_keys;
pub mod client;
pub mod client_form;
pub mod clients;
pub mod dashboard;
pub mod idp;
pub mod idp_form;
pub mod idp_import;
pub mod idps;
pub mod keys;
pub mod logs;
pub mod policies;
pub mod policy_form;
pub mod policy_help;
pub mod sessions;
pub mod tenants;
pub mod user;
pub mod users;
pub mod views;
pub mod views_config;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use askama::Template;

use self::access::AdminPage;
use crate::domain::admin::{Module, Permission};
use crate::web::csrf;
use crate::web::paths;
use crate::web::state::AppState;
use crate::web::templates::html;

/// The screens, in the navigation's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Dashboard,
    Users,
    Events,
    Audit,
    Clients,
    Idps,
    Sessions,
    Keys,
    Policy,
    ApiKeys,
    Tenants,
    Me,
}

impl Screen {
    const ALL: [Screen; 12] = [
        Screen::Dashboard,
        Screen::Users,
        Screen::Sessions,
        Screen::Events,
        Screen::Audit,
        Screen::Clients,
        Screen::Idps,
        Screen::Keys,
        Screen::Policy,
        Screen::ApiKeys,
        Screen::Tenants,
        Screen::Me,
    ];

    fn path(self) -> &'static str {
        match self {
            Screen::Dashboard => "",
            Screen::Users => "users",
            Screen::Events => "events",
            Screen::Audit => "audit",
            Screen::ApiKeys => "api-keys",
            Screen::Clients => "clients",
            Screen::Idps => "idps",
            Screen::Sessions => "sessions",
            Screen::Keys => "keys",
            Screen::Policy => "policy",
            Screen::Tenants => "tenants",
            Screen::Me => "me",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Screen::Dashboard => "Dashboard",
            Screen::Users => "Users",
            Screen::Events => "Sign-in events",
            Screen::Audit => "Audit log",
            Screen::ApiKeys => "API keys",
            Screen::Clients => "Applications",
            Screen::Idps => "Identity providers",
            Screen::Sessions => "Sessions",
            Screen::Keys => "Signing keys",
            Screen::Policy => "Policy",
            Screen::Tenants => "Tenants",
            Screen::Me => "What can I do",
        }
    }

    /// What it takes to read the screen (`None`: every administrator).
    pub fn needs(self) -> Option<Permission> {
        match self {
            Screen::Dashboard | Screen::Me => None,
            Screen::Users => Some(Permission::read(Module::Users)),
            Screen::Events | Screen::Audit => Some(Permission::read(Module::Events)),
            Screen::ApiKeys => Some(Permission::read(Module::Admins)),
            Screen::Clients => Some(Permission::read(Module::Clients)),
            Screen::Idps => Some(Permission::read(Module::Idps)),
            Screen::Sessions => Some(Permission::read(Module::Sessions)),
            Screen::Keys => Some(Permission::read(Module::Keys)),
            Screen::Policy => Some(Permission::read(Module::Policies)),
            Screen::Tenants => Some(Permission::read(Module::Tenants)),
        }
    }
}

/// A link of the navigation.
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What every management page shows around its content.
pub struct Frame {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub csrf_token: String,
    pub username: String,
    pub role: &'static str,
    /// Only the screens the administrator's role can read.
    pub nav: Vec<NavItem>,
    pub notice: Option<&'static str>,
}

impl AdminPage {
    /// Does the administrator hold `p` here (to show or hide an action)?
    pub fn can(&self, p: Permission) -> bool {
        self.admin.allows(self.tenant.id, p)
    }

    /// The `Admin::require` check, as a page error.
    pub fn require(&self, p: Permission) -> Result<(), crate::web::error::PageError> {
        Ok(self.admin.require(self.tenant.id, p)?)
    }

    fn frame(&self, screen: Screen, csrf_token: &str, notice: Option<&'static str>) -> Frame {
        let nav = Screen::ALL
            .into_iter()
            .filter(|s| s.needs().is_none_or(|p| self.can(p)))
            .map(|s| NavItem {
                href: paths::admin_page(&self.tenant.slug, s.path()),
                label: s.label(),
                current: s == screen,
            })
            .collect();
        Frame {
            tenant_name: self.tenant.display_name.clone(),
            tenant_slug: self.tenant.slug.to_string(),
            csrf_token: csrf_token.to_owned(),
            username: self.user.username.clone(),
            role: self.admin.role().map_or("", |r| r.as_str()),
            nav,
            notice,
        }
    }
}

/// Renders a management page: `build` gets the frame (navigation, CSRF token, notice).
pub fn render<T: Template>(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    screen: Screen,
    status: StatusCode,
    notice: Option<&'static str>,
    build: impl FnOnce(Frame) -> T,
) -> actix_web::HttpResponse {
    csrf::with_token(state, req, |token| {
        html(status, &build(page.frame(screen, token, notice)))
    })
}

/// The query of a screen that only shows a notice after an action (`?done=…`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub done: Option<String>,
}

/// Was the request made by htmx (`HX-Request`)? Then a list answers with just its rows.
pub fn fragment(req: &HttpRequest) -> bool {
    req.headers()
        .get("hx-request")
        .is_some_and(|v| v.as_bytes() == b"true")
}

/// Renders a fragment (the rows of a list) for htmx, marked as varying with `HX-Request`.
pub fn render_fragment<T: Template>(t: &T) -> actix_web::HttpResponse {
    let mut res = html(StatusCode::OK, t);
    res.headers_mut().insert(
        actix_web::http::header::VARY,
        actix_web::http::header::HeaderValue::from_static("HX-Request"),
    );
    res
}

/// `value` as one path segment (client ids and provider slugs in addresses).
pub fn segment(value: &str) -> String {
    paths::query_escape(value).replace('+', "%20")
}

/// A time as the pages show it.
pub fn when(unix: i64) -> String {
    crate::clock::from_unix(unix)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// The notice of a `?done=` code after an action.
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The user was created.",
        "disabled" => "The account is disabled and its sessions are ended.",
        "enabled" => "The account is enabled.",
        "mfa-reset" => "Every second factor was removed; their sessions and grants are ended.",
        "sessions-ended" => "Every session of the user is ended.",
        "session-ended" => "The session is ended.",
        "role" => "The role was changed.",
        "role-same" => "The role was already that.",
        "revoked" => "The API key is revoked.",
        "client-updated" => "The application's settings were saved.",
        "client-unchanged" => "Nothing was changed.",
        "client-deleted" => "The application is deleted; its grants are revoked.",
        "idp-created" => "The identity provider was added.",
        "idp-updated" => "The identity provider was saved.",
        "idp-enabled" => "The identity provider is enabled.",
        "idp-disabled" => "The identity provider is disabled.",
        "idp-deleted" => "The identity provider is deleted.",
        "idp-metadata-imported" => "The metadata was imported and saved.",
        "keys-rotated" => "New signing keys are published.",
        "key-withdrawn" => "The key is withdrawn; another one signs instead.",
        "policy-saved" => "The policy was saved.",
        "policy-unchanged" => "The policy was already that; nothing was saved.",
        "tenant-created" => "The tenant was created.",
        _ => return None,
    })
}
