//! Changing a user's second factors from a signed-in session (the account page and its WebAuthn
//! registration): the one rule "may this session make this change now?" and the changes
//! themselves, each audited. Every caller (page, JSON ceremony, later the admin API) goes
//! through `permission`, so no path enforces a different set of rules.
//!
//! The rule:
//! - second factors turned off for the tenant (`mfa.mode = off`): nothing can be added;
//! - a user with a second factor changes factors only with one proven recently
//!   (`mfa.fresh_for_secs`, judged by the session's `mfa_at`);
//! - a user without one adds a first factor only with the password (or, where the tenant allows
//!   it, a code by mail) proven recently (a session alone, however old, may not: a stolen cookie
//!   must not be able to plant a passkey);
//! - where the tenant requires a second factor of this user, the last one cannot be removed.
//!
//! The freshness half of the rule ([`recently_proven`], [`freshness`]) is shared with the other
//! sensitive changes of a signed-in session: the password (`crate::password_change`) and the
//! e-mail address (`crate::auth::email_change`).

use super::{FactorError, factors};
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::session::{Acr, Amr, BrowserSession};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{self, StorageError, factors::Factors};

/// A change to the user's second factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// An authenticator app, a security key or a passkey.
    Add,
    RemoveTotp,
    /// One WebAuthn credential (its row id).
    RemoveKey(&'a str),
    /// A new label for a credential.
    Rename,
    NewRecoveryCodes,
}

/// Whether the session may make the change now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permission {
    Allowed,
    /// Prove a factor (or the password, for a user with none) first, then come back.
    ConfirmFirst,
    /// Not allowed at all; the reason is for the person.
    Refused(&'static str),
}

pub const MFA_OFF: &str = "Second factors are turned off for this organization.";
pub const RISKY_SESSION: &str = "This session was started from an unusual device or place, so it cannot set up a new second factor. Sign in from a device you have used before, or prove a second factor you already have.";
pub const LAST_REQUIRED: &str =
    "Your organization requires a second factor: add another one before removing this one.";

/// Decides whether `session` may make `change` to `user`'s factors now.
pub async fn permission(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    change: Change<'_>,
) -> Result<Permission, FactorError> {
    let have = factors(ctx, tenant, user).await?;
    Ok(decide(
        tenant,
        session,
        user,
        &have,
        change,
        ctx.clock.unix(),
    ))
}

/// The rule itself, on what the user has (pure: see the module's comment).
pub fn decide(
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    have: &Factors,
    change: Change<'_>,
    now: i64,
) -> Permission {
    let policy = &tenant.policy.mfa;
    if !policy.enabled() && matches!(change, Change::Add | Change::NewRecoveryCodes) {
        return Permission::Refused(MFA_OFF);
    }
    let leaves_none = match change {
        Change::RemoveTotp => have.credentials.is_empty(),
        Change::RemoveKey(id) => !have.totp && have.credentials.iter().all(|c| c.id == id),
        _ => false,
    };
    if leaves_none && policy.enabled() && policy.required_for(user.admin_role.is_some()) {
        return Permission::Refused(LAST_REQUIRED);
    }
    if matches!(change, Change::Add | Change::NewRecoveryCodes) && risky_without_factor(session) {
        return Permission::Refused(RISKY_SESSION);
    }
    if recently_proven(tenant, session, has_second_factor(have), now) {
        Permission::Allowed
    } else {
        Permission::ConfirmFirst
    }
}

/// A session whose sign-in risk scoring judged medium or high (and enforced), in which no factor
/// of the user's own (an app, a key, a recovery code; a code by mail does not count) was proven:
/// it never sets up a factor, so a stolen password used from elsewhere cannot plant one.
pub fn risky_without_factor(session: &BrowserSession) -> bool {
    let risky = session
        .risk
        .as_ref()
        .is_some_and(|r| r.enforced && r.level >= crate::domain::risk::Level::Medium);
    let own_factor = session
        .amr
        .iter()
        .any(|m| matches!(m, Amr::Otp | Amr::Rec | Amr::Hwk | Amr::Swk));
    risky && !own_factor
}

/// Whether the user has something to prove a second factor with, for the freshness rule: an
/// authenticator app, a security key or passkey, or recovery codes.
pub fn has_second_factor(have: &Factors) -> bool {
    have.any() || have.recovery_left > 0
}

/// The freshness rule of every sensitive change a signed-in session makes (second factors,
/// password, e-mail address): a user with a second factor (`has_factor`) must have proven one
/// within `mfa.fresh_for_secs` (judged by the session's `mfa_at`); a user without one must have
/// proven the password (or signed in at an upstream provider) that recently (`auth_time` of a
/// session whose `amr` has `pwd` or `fed`), or a code by mail (`mfa.email_code`).
pub fn recently_proven(
    tenant: &Tenant,
    session: &BrowserSession,
    has_factor: bool,
    now: i64,
) -> bool {
    let fresh = |at: i64| now - at <= tenant.policy.mfa.fresh_for_secs;
    let second_factor_fresh =
        Acr::of(&session.amr) >= Acr::Mfa && fresh(session.mfa_at.unwrap_or(session.auth_time));
    // A user with no factor of their own: the password, or a code by mail, proven recently.
    second_factor_fresh || (!has_factor && first_factor(session) && fresh(session.auth_time))
}

/// The session's sign-in proved a first factor: the password, or a sign-in at an upstream
/// identity provider (`crate::federation`).
fn first_factor(session: &BrowserSession) -> bool {
    session.amr.contains(&Amr::Pwd) || session.amr.contains(&Amr::Fed)
}

/// What a session must prove before a sensitive change of the account (password, address),
/// under [`recently_proven`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Recent enough: go ahead.
    Fresh,
    /// Prove a second factor again (a step-up), then come back.
    SecondFactor,
    /// Sign in again with the password (a user without a second factor), then come back.
    Password,
}

/// [`Freshness`] of `session` for `user`. Where second factors are turned off for the tenant,
/// factors the user still has do not count (no sign-in asks for them, and no step-up could).
pub async fn freshness(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
) -> Result<Freshness, StorageError> {
    let has = tenant.policy.mfa.enabled() && has_second_factor(&factors(ctx, tenant, user).await?);
    Ok(if recently_proven(tenant, session, has, ctx.clock.unix()) {
        Freshness::Fresh
    } else if has {
        Freshness::SecondFactor
    } else {
        Freshness::Password
    })
}

/// The audit event of a change the user made.
pub fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    action: AuditAction,
    user: &User,
    origin: &Origin,
    details: serde_json::Value,
) -> AuditEvent {
    AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        action,
        "success",
        Actor::User(user.id.to_string()),
    )
    .subject(format!("user:{}", user.id))
    .origin(origin.clone())
    .details(details)
}

/// What a change did, or why it was not made.
pub enum Changed<T> {
    Done(T),
    ConfirmFirst,
    Refused(&'static str),
}

async fn gate(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    change: Change<'_>,
) -> Result<Option<Changed<std::convert::Infallible>>, FactorError> {
    Ok(
        match permission(ctx, tenant, session, user, change).await? {
            Permission::Allowed => None,
            Permission::ConfirmFirst => Some(Changed::ConfirmFirst),
            Permission::Refused(why) => Some(Changed::Refused(why)),
        },
    )
}

fn pass<T>(c: Changed<std::convert::Infallible>) -> Changed<T> {
    match c {
        Changed::ConfirmFirst => Changed::ConfirmFirst,
        Changed::Refused(why) => Changed::Refused(why),
        Changed::Done(never) => match never {},
    }
}

/// Starts (or shows again) setting up an authenticator app.
pub async fn start_totp(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
) -> Result<Changed<Option<super::totp::Enrolment>>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::Add).await? {
        return Ok(pass(no));
    }
    Ok(Changed::Done(super::totp::start(ctx, tenant, user).await?))
}

/// Confirms the authenticator app being set up with its first code (`WrongCode` otherwise).
pub async fn confirm_totp(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    code: &str,
    origin: &Origin,
) -> Result<Changed<()>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::Add).await? {
        return Ok(pass(no));
    }
    super::totp::verify(ctx, tenant, user, code, super::totp::Purpose::Confirm).await?;
    let event = audit(
        ctx,
        tenant,
        AuditAction::FactorAdded,
        user,
        origin,
        serde_json::json!({ "factor": "totp" }),
    );
    storage::audit::record(&ctx.db, event).await;
    Ok(Changed::Done(()))
}

/// Registers a new security key or passkey from the ceremony `(handle, name)`.
pub async fn register_key(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    (handle, name): (&str, &str),
    credential: &webauthn_rs::prelude::RegisterPublicKeyCredential,
    origin: &Origin,
) -> Result<Changed<storage::factors::CredentialRow>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::Add).await? {
        return Ok(pass(no));
    }
    let row =
        super::webauthn::finish_registration(ctx, tenant, user, handle, name, credential).await?;
    let kind = if row.discoverable {
        "passkey"
    } else {
        "security_key"
    };
    let event = audit(
        ctx,
        tenant,
        AuditAction::FactorAdded,
        user,
        origin,
        serde_json::json!({ "factor": kind, "name": row.name }),
    );
    storage::audit::record(&ctx.db, event).await;
    Ok(Changed::Done(row))
}

/// Removes the authenticator app.
pub async fn remove_totp(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    origin: &Origin,
) -> Result<Changed<()>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::RemoveTotp).await? {
        return Ok(pass(no));
    }
    if super::totp::remove(ctx, user).await? {
        let event = audit(
            ctx,
            tenant,
            AuditAction::FactorRemoved,
            user,
            origin,
            serde_json::json!({ "factor": "totp" }),
        );
        storage::audit::record(&ctx.db, event).await;
    }
    Ok(Changed::Done(()))
}

/// Removes a security key or passkey.
pub async fn remove_key(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    id: &str,
    origin: &Origin,
) -> Result<Changed<()>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::RemoveKey(id)).await? {
        return Ok(pass(no));
    }
    if super::webauthn::remove(ctx, tenant, user, id).await? {
        let event = audit(
            ctx,
            tenant,
            AuditAction::FactorRemoved,
            user,
            origin,
            serde_json::json!({ "factor": "webauthn", "credential": id }),
        );
        storage::audit::record(&ctx.db, event).await;
    }
    Ok(Changed::Done(()))
}

/// Renames a security key or passkey (a label: needs no fresh factor); whether it was renamed.
pub async fn rename_key(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    id: &str,
    name: &str,
    origin: &Origin,
) -> Result<bool, FactorError> {
    let renamed = super::webauthn::rename(ctx, tenant, user, id, name).await?;
    if renamed {
        let event = audit(
            ctx,
            tenant,
            AuditAction::FactorRenamed,
            user,
            origin,
            serde_json::json!({ "factor": "webauthn", "credential": id }),
        );
        storage::audit::record(&ctx.db, event).await;
    }
    Ok(renamed)
}

/// A new set of recovery codes (shown once).
pub async fn new_recovery_codes(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    origin: &Origin,
) -> Result<Changed<Vec<String>>, FactorError> {
    if let Some(no) = gate(ctx, tenant, session, user, Change::NewRecoveryCodes).await? {
        return Ok(pass(no));
    }
    let codes = super::recovery::regenerate(ctx, tenant, user).await?;
    let event = audit(
        ctx,
        tenant,
        AuditAction::RecoveryCodesGenerated,
        user,
        origin,
        serde_json::json!({ "count": codes.len() }),
    );
    storage::audit::record(&ctx.db, event).await;
    Ok(Changed::Done(codes))
}
