//! Proving an e-mail address: a single-use link (random token; only its keyed digest is stored;
//! 24 hours; the newest link replaces older ones; at most [`LINKS_PER_HOUR`] per user) sent
//! through the outbox in the same transaction that records it, and its use, which marks the
//! address verified only if it is still the user's address. A used, expired, replaced, tampered
//! or foreign-tenant link changes nothing.

use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::tenant::Tenant;
use crate::domain::user::{User, normalize};
use crate::mail::{Recipient, links, message};
use crate::storage::{self, StorageError, mail_links};

/// What a link is for (a link for one purpose never works for another).
pub const VERIFY_EMAIL: &str = "verify_email";
/// How long a verification link works.
pub const LINK_HOURS: i64 = 24;
/// Verification links a user can ask for per hour (each also costs a message to the address).
pub const LINKS_PER_HOUR: i64 = 5;

#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// On its way to this address.
    Sent { address: String },
    /// The user has no address, or it is verified already.
    NothingToVerify,
    /// Too many links this hour; try again later.
    Throttled,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    Verified {
        address: String,
    },
    /// Unknown, tampered, or of another tenant or purpose.
    Invalid,
    /// Expired, replaced by a newer link, or used already.
    Spent,
    /// The user's address changed since the link was sent.
    AddressChanged,
}

/// Sends `user` a link that verifies their current address.
pub async fn send_verification(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    origin: Origin,
) -> Result<Sent, StorageError> {
    let Some(address) = user.email.clone().filter(|_| !user.email_verified) else {
        return Ok(Sent::NothingToVerify);
    };
    let Some(to) = Recipient::new(&address, Some(user.label())) else {
        return Ok(Sent::NothingToVerify);
    };
    let token = random::token();
    let link = format!(
        "{}/t/{}/email/verify?token={token}",
        ctx.config.public_origin(),
        tenant.slug
    );
    let rendered = message::verify_email(message::VerifyEmail {
        tenant: tenant.display_name.clone(),
        name: user.label().to_owned(),
        address: address.clone(),
        link,
        hours: LINK_HOURS,
    });
    let sent = links::send(
        ctx,
        links::Link {
            tenant: tenant.id,
            user: user.id,
            purpose: VERIFY_EMAIL,
            address: address.clone(),
            previous_address: None,
            token,
            lifetime_secs: LINK_HOURS * 3600,
            per_hour: LINKS_PER_HOUR,
            to,
            message: rendered,
        },
    )
    .await?;
    if !sent {
        return Ok(Sent::Throttled);
    }
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::EmailVerificationSent,
            "success",
            Actor::User(user.id.to_string()),
        )
        .subject(format!("user:{}", user.id))
        .origin(origin),
    )
    .await;
    Ok(Sent::Sent { address })
}

/// Uses a verification link of `tenant`.
pub async fn verify(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    origin: Origin,
) -> Result<Verified, StorageError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Verified::Invalid);
    }
    let (digest, now, tenant_id) = (links::digest(ctx, token), ctx.clock.unix(), tenant.id);
    let outcome = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                let Some(link) = mail_links::find(c, &digest)? else {
                    return Ok((Verified::Invalid, None));
                };
                if link.tenant_id != tenant_id.to_string() || link.purpose != VERIFY_EMAIL {
                    return Ok((Verified::Invalid, None));
                }
                let (Some(user_id), Some(address)) = (link.user_id, link.address) else {
                    return Ok((Verified::Invalid, None));
                };
                let Ok(user_id) = user_id.parse() else {
                    return Ok((Verified::Invalid, None));
                };
                let Some(found) = storage::users::find_by_id(c, tenant_id, user_id)? else {
                    return Ok((Verified::Invalid, None));
                };
                let current = found.user.email.as_deref().map(normalize);
                if current.as_deref() != Some(normalize(&address).as_str()) {
                    return Ok((Verified::AddressChanged, None));
                }
                if !mail_links::use_once(c, &digest, now)? {
                    return Ok((Verified::Spent, None));
                }
                storage::users::set_email_verified(c, user_id, &address, now)?;
                Ok((Verified::Verified { address }, Some(user_id)))
            })
        })
        .await?;
    if let (Verified::Verified { .. }, Some(user)) = &outcome {
        storage::audit::record(
            &ctx.db,
            AuditEvent::new(
                ctx.clock.now(),
                Some(tenant.id),
                AuditAction::EmailVerified,
                "success",
                Actor::User(user.to_string()),
            )
            .subject(format!("user:{user}"))
            .origin(origin),
        )
        .await;
    }
    Ok(outcome.0)
}
