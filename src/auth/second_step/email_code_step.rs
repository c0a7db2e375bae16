//! Asking for a sign-in code by mail during the second step: whether a code is offered for this
//! pending sign-in, and sending it (audited `email_code_sent`).

use super::super::error::SignInError;
use super::super::mfa::{self, email_code};
use super::super::pending_signin::{LevelState, NeedState, PendingSignIn};
use super::event;
use crate::context::Ctx;
use crate::domain::audit::{AuditAction, Origin};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// Whether this pending sign-in may be finished with a code by mail (never a password reset,
/// whose link proved the mailbox already; never where a security key is required).
pub(super) async fn email_code_offered(
    ctx: &Ctx,
    tenant: &Tenant,
    pending: &PendingSignIn,
    user: &User,
) -> Result<Result<(), &'static str>, SignInError> {
    if pending.need != NeedState::SecondFactor {
        return Ok(Err("A code by mail is not what is asked for here."));
    }
    if pending.reset {
        return Ok(Err(
            "A password reset is confirmed with your other second factor, not with a code by mail.",
        ));
    }
    if pending.level == LevelState::Phr {
        return Ok(Err("This application asks for a security key or passkey."));
    }
    let factors = mfa::factors(ctx, tenant, user).await?;
    Ok(if email_code::available(tenant, user, &factors) {
        Ok(())
    } else {
        Err("Codes by mail are not available for your account.")
    })
}

/// What asking for a code by mail did.
pub enum CodeRequest {
    /// Sent to this (masked) address.
    Sent {
        to: String,
    },
    /// Too many codes this hour.
    Throttled,
    NotOffered(&'static str),
}

/// Sends a sign-in code by mail for the pending sign-in behind `token` (audited
/// `email_code_sent`; the outbox counts it by kind).
pub async fn send_email_code(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    pending: &PendingSignIn,
    user: &User,
    origin: &Origin,
) -> Result<CodeRequest, SignInError> {
    if let Err(why) = email_code_offered(ctx, tenant, pending, user).await? {
        return Ok(CodeRequest::NotOffered(why));
    }
    let device = crate::domain::device::describe(origin.user_agent.as_deref().unwrap_or(""));
    let when = format!("{device}, {}", ctx.clock.now().format("%Y-%m-%d %H:%M UTC"));
    let sent = email_code::send(ctx, tenant, user, token, when).await?;
    let (answer, outcome) = match sent {
        email_code::Sent::Sent { to } => (CodeRequest::Sent { to }, "success"),
        email_code::Sent::Throttled => (CodeRequest::Throttled, "throttled"),
        email_code::Sent::NoAddress => (
            CodeRequest::NotOffered("Codes by mail are not available for your account."),
            "no_address",
        ),
    };
    let sent_event = event(
        ctx,
        tenant,
        AuditAction::EmailCodeSent,
        outcome,
        user,
        origin,
    );
    storage::audit::record(&ctx.db, sent_event).await;
    Ok(answer)
}
