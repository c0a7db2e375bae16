//! The account pages' templates: profile, password, e-mail, mail links, registration, MFA
//! enrolment and verification, security keys, recovery codes, applications and sign-in activity.

use askama::Template;

use super::SessionRow;

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub notice: Option<&'a str>,
    pub limit_text: String,
    pub sessions: Vec<SessionRow>,
    pub others: bool,
    /// Recent sign-in activity (`crate::risk_feedback::activity`), newest first.
    pub activity: Vec<ActivityRow>,
}

/// Changing the password (account page).
#[derive(Template)]
#[template(path = "account_password.html")]
pub struct AccountPasswordPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// "Keep me signed in on this browser" is ticked.
    pub keep: bool,
}

/// Changing the e-mail address (account page).
#[derive(Template)]
#[template(path = "account_email.html")]
pub struct AccountEmailPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub error: Option<&'a str>,
    /// What the person typed (shown again with an error).
    pub typed: &'a str,
}

/// A mail link's confirmation button (mail scanners open links; only the button uses one), or
/// what using it did.
#[derive(Template)]
#[template(path = "auth/mail_link.html")]
pub struct MailLinkPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    /// Show the button, posting this token to `action`.
    pub token: Option<&'a str>,
    pub action: &'a str,
    pub button: &'a str,
    pub heading: &'a str,
    pub message: &'a str,
}

/// "Forgot your password?": the request form, or the same answer for every request.
#[derive(Template)]
#[template(path = "auth/password_forgot.html")]
pub struct PasswordForgotPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    /// After a request: the answer instead of the form.
    pub answer: Option<&'a str>,
}

/// The sign-up form, or its answer.
#[derive(Template)]
#[template(path = "auth/register.html")]
pub struct RegisterPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    /// The invitation token (empty without one), carried to the form's post.
    pub invite: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    /// The invitation fixes the address.
    pub address_fixed: bool,
    pub min_length: usize,
    pub error: Option<&'a str>,
    /// Which field the error is about (`username`, `email`, `password`), or empty.
    pub error_field: &'a str,
    /// After a sign-up: the answer instead of the form.
    pub answer: Option<&'a str>,
}

/// The new password of a reset.
#[derive(Template)]
#[template(path = "auth/password_new.html")]
pub struct PasswordNewPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// The sign-in's password was found in a breach (why a new one is asked for).
    pub breached: bool,
}

#[derive(Template)]
#[template(path = "auth/mfa_verify.html")]
pub struct MfaVerifyPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub heading: &'a str,
    /// The password again (a step-up for a user who has no second factor yet).
    pub password: bool,
    pub totp: bool,
    pub webauthn: bool,
    pub recovery: bool,
    pub recovery_open: bool,
    /// A code by mail to this (masked) address is offered.
    pub email_to: Option<String>,
    /// A code was sent: show where to enter it.
    pub email_open: bool,
    pub no_factor_text: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

/// What the authenticator-app part of the enrolment page shows.
pub struct TotpSetup {
    pub qr_png_base64: String,
    pub manual_key: String,
}

#[derive(Template)]
#[template(path = "auth/mfa_enrol.html")]
pub struct MfaEnrolPage<'a> {
    pub tenant_name: &'a str,
    pub csrf_token: &'a str,
    pub intro: &'a str,
    pub totp: Option<TotpSetup>,
    pub totp_action: &'a str,
    pub webauthn: bool,
    pub webauthn_base: &'a str,
    pub error: Option<&'a str>,
    pub back: Option<&'a str>,
}

/// A WebAuthn credential as the account page lists it.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub added: String,
    pub last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "account_security.html")]
pub struct AccountSecurityPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub user_label: &'a str,
    pub notice: Option<&'a str>,
    pub offer_end_others: bool,
    pub totp: bool,
    pub mfa_enabled: bool,
    pub keys: Vec<KeyRow>,
    pub webauthn: bool,
    pub recovery_left: i64,
    pub recovery_text: String,
}

#[derive(Template)]
#[template(path = "account_recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "auth/recovery_used.html")]
pub struct RecoveryUsedPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub left_text: String,
    pub continue_to: &'a str,
}

#[derive(Template)]
#[template(path = "account_apps.html")]
pub struct AccountAppsPage<'a> {
    pub tenant_name: &'a str,
    pub tenant_slug: &'a str,
    pub csrf_token: &'a str,
    pub notice: Option<&'a str>,
    pub apps: Vec<AppRow>,
}

/// One application on the account's applications page.
pub struct AppRow {
    pub client_id: String,
    pub name: String,
    pub first_party: bool,
    /// The approved scopes, space-separated (empty without consent).
    pub scopes: String,
    /// When access was last given (consent or newest grant).
    pub since: String,
    pub since_iso: String,
    pub grants: usize,
    pub offline: bool,
}

impl AppRow {
    pub fn new(a: &crate::oauth::access::AppAccess) -> Self {
        let since = crate::clock::from_unix(a.last_given());
        let mut scopes: Vec<&str> = Vec::new();
        for s in a
            .consent
            .iter()
            .flat_map(|c| c.0.iter().map(String::as_str))
            .chain(a.grants.iter().flat_map(|g| g.scope.split(' ')))
        {
            if !s.is_empty() && !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        Self {
            client_id: a.client_id.clone(),
            name: a.name.clone(),
            first_party: a.first_party,
            scopes: scopes.join(" "),
            since: since.format("%Y-%m-%d %H:%M UTC").to_string(),
            since_iso: since.to_rfc3339(),
            grants: a.grants.len(),
            offline: a.offline(),
        }
    }
}

/// A sign-in notice's link: the event and the two answers.
#[derive(Template)]
#[template(path = "auth/sign_in_check.html")]
pub struct SignInCheckPage<'a> {
    pub tenant_name: &'a str,
    pub csrf_token: &'a str,
    pub token: &'a str,
    pub action: &'a str,
    pub user_label: &'a str,
    pub event: ActivityRow,
}

/// One sign-in event as people see it (account page, the notice's link): never the address.
pub struct ActivityRow {
    pub when: String,
    pub when_iso: String,
    pub device: String,
    pub place: String,
    /// The coarse network ("203.0.x.x"), or empty.
    pub network: String,
    /// What happened, in words.
    pub result: &'static str,
    /// Every reason that weighed, in words.
    pub noticed: Vec<String>,
    /// Why a second factor was asked or the sign-in refused (empty otherwise), and the words
    /// that introduce it.
    pub why: Vec<String>,
    pub why_label: &'static str,
    pub feedback: Option<&'static str>,
}

impl ActivityRow {
    pub fn new(a: &crate::risk_feedback::activity::Activity) -> Self {
        let at = crate::clock::from_unix(a.at);
        let words = |reasons: &[crate::risk::Reason]| -> Vec<String> {
            reasons.iter().map(|r| capitalized(r.describe())).collect()
        };
        Self {
            when: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            when_iso: at.to_rfc3339(),
            device: if a.device.is_empty() {
                "unknown device".into()
            } else {
                a.device.clone()
            },
            place: a.place.clone(),
            network: a.network.clone().unwrap_or_default(),
            result: result_words(a),
            noticed: words(&a.reasons),
            why: words(a.why()),
            why_label: match a.decision.as_str() {
                "second_factor" => "A second factor was asked because of",
                _ => "Refused because of",
            },
            feedback: match a.feedback.as_deref() {
                Some("valid") => Some("you said this was you"),
                Some("invalid") => Some("reported as not you"),
                _ => None,
            },
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What happened at a sign-in event, in words.
fn result_words(a: &crate::risk_feedback::activity::Activity) -> &'static str {
    let second_factor = a.enforced && a.decision == "second_factor";
    match (a.kind.as_str(), a.result.as_str()) {
        ("continuous", "reauthenticate") => {
            "Asked to sign in again (used from another network and device)"
        }
        ("continuous", "revoked") => {
            "Application access revoked (used from another network and device)"
        }
        ("continuous", _) => "Used from another network and device",
        (_, "success") if second_factor => "Signed in with a second factor",
        (_, "success") => "Signed in",
        (_, "pending") if second_factor => "Not finished: a second factor was asked",
        (_, "pending") => "Not finished",
        (_, "blocked") => "Blocked",
        (_, "denied") => "Refused: a second factor was needed",
        (_, "session_limit") => "Refused: signed in on too many devices",
        _ => "Checked",
    }
}
