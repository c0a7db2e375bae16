//! The management UI's askama templates (`templates/admin/`) and the rows they list.

use askama::Template;

use super::{Frame, when};
use crate::storage::audit::AuditRow;
use crate::web::templates::{ActivityRow, SessionRow};

/// One audit entry as listed.
pub struct AuditLine {
    pub when: String,
    pub action: String,
    pub outcome: String,
    pub actor: String,
    pub subject: String,
    pub details: String,
}

impl From<AuditRow> for AuditLine {
    fn from(r: AuditRow) -> Self {
        Self {
            when: when(r.occurred_at),
            action: r.action,
            outcome: r.outcome,
            actor: r.actor,
            subject: r.subject.unwrap_or_default(),
            details: if r.details == "{}" || r.details == "null" {
                String::new()
            } else {
                r.details.chars().take(300).collect()
            },
        }
    }
}

/// One bar of a chart.
pub struct Bar {
    pub label: String,
    pub count: i64,
    pub y: i64,
    pub text_y: i64,
    pub width: i64,
}

/// A small horizontal bar chart, drawn on the server as SVG.
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    pub height: i64,
    pub bars: Vec<Bar>,
}

impl Chart {
    pub fn new(id: &'static str, title: &'static str, counts: &[(String, i64)]) -> Self {
        let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        let bars = counts
            .iter()
            .enumerate()
            .map(|(i, (label, n))| {
                let y = i as i64 * 24;
                Bar {
                    label: label.replace('_', " "),
                    count: *n,
                    y,
                    text_y: y + 14,
                    width: (n * 180 / max).max(2),
                }
            })
            .collect::<Vec<_>>();
        Self {
            id,
            title,
            height: (bars.len() as i64 * 24).max(24),
            bars,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub frame: Frame,
    pub admins: Option<i64>,
    /// Live browser sessions of the tenant (with sessions:read).
    pub sessions: Option<u64>,
    /// Sign-in events of the last 24 hours (with events:read).
    pub total: Option<i64>,
    pub charts: Vec<Chart>,
    pub audit: Option<Vec<AuditLine>>,
    /// The retention jobs' last runs (instance-wide): what, when (RFC 3339), rows removed.
    pub retention: Option<Vec<(String, String, i64)>>,
}

/// A module and what the administrator may do with it.
pub struct AbilityLine {
    pub module: &'static str,
    pub access: &'static str,
}

#[derive(Template)]
#[template(path = "admin/me.html")]
pub struct MePage {
    pub frame: Frame,
    pub kind: &'static str,
    pub name: String,
    pub abilities: Vec<AbilityLine>,
}

/// One user as listed.
pub struct UserLine {
    pub href: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub enabled: bool,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub frame: Frame,
    pub q: String,
    pub rows: Vec<UserLine>,
    pub next: Option<String>,
    pub can_create: bool,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUserPage {
    pub frame: Frame,
    pub error: Option<String>,
    pub username: String,
    pub email: String,
    pub display_name: String,
}

/// A role in the role selector.
pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A linked identity.
pub struct IdentityLine {
    pub provider: String,
    pub subject: String,
    pub linked: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub frame: Frame,
    pub action: String,
    /// The user on the sessions screen.
    pub sessions_href: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub enabled: bool,
    pub role: &'static str,
    pub created: String,
    pub totp: bool,
    pub keys: usize,
    pub recovery_left: i64,
    pub identities: Vec<IdentityLine>,
    /// `None`: the role cannot read sessions.
    pub sessions: Option<Vec<SessionRow>>,
    pub activity: Option<Vec<ActivityRow>>,
    pub audit: Option<Vec<AuditLine>>,
    pub can_write_users: bool,
    pub can_end_sessions: bool,
    /// `None`: the role cannot change roles.
    pub roles: Option<Vec<RoleOption>>,
}

/// One sign-in event as listed for operators.
pub struct EventLine {
    pub when: String,
    pub user: Option<String>,
    pub user_href: Option<String>,
    pub kind: String,
    pub level: String,
    pub decision: String,
    pub result: String,
    pub device: String,
    pub ip: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub frame: Frame,
    pub action: String,
    pub actor: String,
    pub subject: String,
    pub rows: Vec<AuditLine>,
    pub next: Option<String>,
}

/// An option of a filter's selector.
pub struct FilterOption {
    pub value: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/events.html")]
pub struct EventsPage {
    pub frame: Frame,
    pub levels: Vec<FilterOption>,
    pub decisions: Vec<FilterOption>,
    pub rows: Vec<EventLine>,
    pub next: Option<String>,
}

/// An API key as listed.
pub struct KeyLine {
    pub id: String,
    pub name: String,
    pub permissions: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub revoked: bool,
}

/// A permission offered to a new key.
pub struct PermissionOption {
    pub value: String,
    pub id: String,
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
pub struct ApiKeysPage {
    pub frame: Frame,
    pub keys: Vec<KeyLine>,
    pub next: Option<String>,
    pub can_write: bool,
    pub offer: Vec<PermissionOption>,
    pub error: Option<String>,
    /// The new key's name and secret, shown once.
    pub created: Option<(String, String)>,
}
