//! Audit events: who did what, when, from where, with which outcome.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::{AuditEventId, TenantId};

/// What happened. The string form is what the audit log stores and operators filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AuditAction {
    SignIn,
    SignOut,
    SessionExpired,
    SessionEnded,
    TenantCreated,
    TenantUpdated,
    UserCreated,
    UserUpdated,
    UserPasswordSet,
    UserDisabled,
    UserEnabled,
    SetupCompleted,
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientDeleted,
    KeysRotated,
    ConsentGranted,
    TokenReuseDetected,
    /// A request refused by brute-force protection or the network lists (other than sign-in
    /// attempts, which are `SignIn` with outcome `throttled`).
    RequestRefused,
    /// A second factor presented at sign-in or step-up (outcome `success`, `failure`,
    /// `throttled`; details name the method).
    SecondFactor,
    /// A signed-in user re-entered their password (before setting up a first second factor).
    PasswordConfirmed,
    /// A second factor set up (TOTP, security key, passkey).
    FactorAdded,
    /// A second factor removed.
    FactorRemoved,
    /// A security key or passkey given a new name.
    FactorRenamed,
    /// A new set of recovery codes (the old set stops working).
    RecoveryCodesGenerated,
    /// A user withdrew a client's access (consent forgotten, grants revoked).
    AccessWithdrawn,
    /// An administrator removed every second factor of a user (lost factor, re-proofed).
    FactorsReset,
    /// A link to verify an address was sent.
    EmailVerificationSent,
    /// A user proved an address with the link.
    EmailVerified,
    /// Someone asked for a password reset link for this user (`throttled`: none was sent).
    PasswordResetRequested,
    /// A user set a new password with a reset link (every session ended, grants revoked).
    PasswordReset,
    /// A sign-in code was sent by mail (`throttled`: none was sent).
    EmailCodeSent,
    /// A signed-in user changed their password on the account page (outcome `success`,
    /// `failure` for a wrong current password, `throttled`; details: sessions ended, grants
    /// revoked, whether this browser stayed signed in).
    PasswordChanged,
    /// A signed-in user asked to change their address (a link went to the new one; `throttled`:
    /// none was sent).
    EmailChangeRequested,
    /// A user replaced their address with the link sent to the new one (now verified).
    EmailChanged,
    /// Someone signed up on the hosted page (outcome: `sent` a confirmation link,
    /// `address_taken` or `username_taken` (the address got a message saying so), `throttled`).
    RegistrationRequested,
    /// A sign-up's link was used and the account created (details: `invite` if by invitation).
    RegistrationCompleted,
    /// An operator created an invitation link (details: whether it was mailed).
    InviteCreated,
    /// An invitation was used to create an account.
    InviteUsed,
    /// An operator revoked an unused invitation.
    InviteRevoked,
    /// Feedback on a sign-in event (outcome `valid`: "this was me", `invalid`: "this wasn't
    /// me", from the mailed link or an operator; details: the event, what was ended, whether a
    /// reset link was sent, `failed` when ending access failed).
    RiskFeedback,
    /// A browser session or refresh token was used from both another network and another
    /// device than it was issued to (continuous risk evaluation). Outcome `risk_reauthenticate`
    /// (the session was ended, or the refresh refused and its grant revoked) or `risk_recorded`
    /// (`on_change = off`, or audit-only); details: where (`session`, `refresh`), the sign-in
    /// event, what changed.
    ContextChanged,
    /// An operator created, changed or deleted an upstream identity provider (details: the
    /// provider's slug and kind, never its secret).
    IdpCreated,
    IdpUpdated,
    IdpDeleted,
    /// A sign-in through an upstream identity provider failed before any session (outcome: the
    /// typed error's code, e.g. `state_mismatch`, `issuer_mismatch`, `tenant_not_allowed`,
    /// `saml_signature`; details: the provider).
    FederatedSignInFailed,
    /// An upstream identity was linked to a user (outcome `jit` (new account), `trusted_email`,
    /// `proven` (after the account's own sign-in), `account` (from the account page)).
    IdentityLinked,
    /// A user or operator removed a linked identity.
    IdentityUnlinked,
    /// An administrator's role was given, changed or taken away (details: before and after).
    RoleChanged,
    /// An admin API key was created (details: its name and permissions, never the secret).
    ApiKeyCreated,
    /// An admin API key was revoked.
    ApiKeyRevoked,
    /// The upstream provider ended a user's sessions (OIDC back-channel logout, SAML single
    /// logout; details: how many sessions ended).
    UpstreamLogout,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignOut => "sign_out",
            AuditAction::SessionExpired => "session_expired",
            AuditAction::SessionEnded => "session_ended",
            AuditAction::TenantCreated => "tenant_created",
            AuditAction::TenantUpdated => "tenant_updated",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserUpdated => "user_updated",
            AuditAction::UserPasswordSet => "user_password_set",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::SetupCompleted => "setup_completed",
            AuditAction::ClientCreated => "client_created",
            AuditAction::ClientUpdated => "client_updated",
            AuditAction::ClientSecretRotated => "client_secret_rotated",
            AuditAction::ClientDeleted => "client_deleted",
            AuditAction::KeysRotated => "keys_rotated",
            AuditAction::ConsentGranted => "consent_granted",
            AuditAction::TokenReuseDetected => "token_reuse_detected",
            AuditAction::RequestRefused => "request_refused",
            AuditAction::SecondFactor => "second_factor",
            AuditAction::PasswordConfirmed => "password_confirmed",
            AuditAction::FactorAdded => "factor_added",
            AuditAction::FactorRemoved => "factor_removed",
            AuditAction::FactorRenamed => "factor_renamed",
            AuditAction::RecoveryCodesGenerated => "recovery_codes_generated",
            AuditAction::AccessWithdrawn => "access_withdrawn",
            AuditAction::FactorsReset => "factors_reset",
            AuditAction::EmailVerificationSent => "email_verification_sent",
            AuditAction::EmailVerified => "email_verified",
            AuditAction::PasswordResetRequested => "password_reset_requested",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::EmailCodeSent => "email_code_sent",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::EmailChangeRequested => "email_change_requested",
            AuditAction::EmailChanged => "email_changed",
            AuditAction::RegistrationRequested => "registration_requested",
            AuditAction::RegistrationCompleted => "registration_completed",
            AuditAction::InviteCreated => "invite_created",
            AuditAction::InviteUsed => "invite_used",
            AuditAction::InviteRevoked => "invite_revoked",
            AuditAction::RiskFeedback => "risk_feedback",
            AuditAction::ContextChanged => "context_changed",
            AuditAction::IdpCreated => "idp_created",
            AuditAction::IdpUpdated => "idp_updated",
            AuditAction::IdpDeleted => "idp_deleted",
            AuditAction::FederatedSignInFailed => "federated_sign_in_failed",
            AuditAction::IdentityLinked => "identity_linked",
            AuditAction::IdentityUnlinked => "identity_unlinked",
            AuditAction::UpstreamLogout => "upstream_logout",
            AuditAction::RoleChanged => "role_changed",
            AuditAction::ApiKeyCreated => "api_key_created",
            AuditAction::ApiKeyRevoked => "api_key_revoked",
        }
    }
}

/// Who did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in (or signing-in) user, by id.
    User(String),
    /// Someone not yet identified (e.g. a failed sign-in for an unknown name).
    Anonymous,
    /// The command-line tool run by an operator.
    Cli,
    /// The seed file.
    Seed,
    /// Watchword itself (timeouts, sweeps).
    System,
    /// An admin API key, by id.
    ApiKey(String),
    /// A client acting with an admin-scoped access token (client credentials), by client id.
    Client(String),
}

impl Actor {
    pub fn render(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Anonymous => "anonymous".into(),
            Actor::Cli => "cli".into(),
            Actor::Seed => "seed".into(),
            Actor::System => "system".into(),
            Actor::ApiKey(id) => format!("api_key:{id}"),
            Actor::Client(id) => format!("client:{id}"),
        }
    }
}

/// Where a request came from; absent for CLI and system actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub tenant_id: Option<TenantId>,
    pub occurred_at: DateTime<Utc>,
    pub action: AuditAction,
    /// `success`, `failure`, or a more specific reason such as `invalid_credentials`.
    pub outcome: String,
    pub actor: Actor,
    /// What was acted on, e.g. `user:<id>` or `session:<sid>`.
    pub subject: Option<String>,
    pub origin: Origin,
    pub details: serde_json::Value,
    /// Before/after of an administrative change, secrets redacted (`super::audit_diff`).
    pub diff: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(
        now: DateTime<Utc>,
        tenant_id: Option<TenantId>,
        action: AuditAction,
        outcome: impl Into<String>,
        actor: Actor,
    ) -> Self {
        Self {
            id: AuditEventId::generate(),
            tenant_id,
            occurred_at: now,
            action,
            outcome: outcome.into(),
            actor,
            subject: None,
            origin: Origin::default(),
            details: serde_json::Value::Object(Default::default()),
            diff: None,
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Records what changed from `before` to `after` (`super::audit_diff::diff`: secrets
    /// redacted, bounded); nothing when nothing did.
    pub fn diff(mut self, before: &impl Serialize, after: &impl Serialize) -> Self {
        let d = super::audit_diff::diff(
            &serde_json::to_value(before).unwrap_or_default(),
            &serde_json::to_value(after).unwrap_or_default(),
        );
        self.diff = d.as_object().is_some_and(|m| !m.is_empty()).then_some(d);
        self
    }

    /// Adds the fields of `more` (an object) to the details.
    pub fn details_extend(mut self, more: serde_json::Value) -> Self {
        match (&mut self.details, more) {
            (serde_json::Value::Object(d), serde_json::Value::Object(m)) => d.extend(m),
            (d @ serde_json::Value::Null, m) => *d = m,
            _ => {}
        }
        self
    }
}
