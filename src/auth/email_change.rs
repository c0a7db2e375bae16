//! Changing a signed-in user's e-mail address by a single-use link sent to the **new** address
//! (its keyed digest stored with the new address and the one it replaces; 24 hours; the newest
//! link replaces older ones; at most [`LINKS_PER_HOUR`] per user). Asking needs the session to be
//! fresh (`super::mfa::changes::freshness`: a recent second factor, or for a user without one the
//! password); the account keeps its old address until the link is used. An address that belongs
//! to another account of the tenant gets a message saying so instead of a link, and the person
//! asking is told the same as for any other address (no enumeration). Using the link (one write
//! transaction, under the user's row lock) replaces the address and marks it verified, only if
//! the user still has the address they had when asking and no other account has taken the new
//! one meanwhile; a verified old address is told of the change. A used, expired, replaced,
//! tampered or foreign-tenant link changes and consumes nothing.

use super::mfa::changes::{self, Freshness};
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::UserId;
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Email, User, normalize};
use crate::mail::{self, Recipient, links, message};
use crate::storage::{self, StorageError, mail_links};

/// What a change-of-address link is for.
pub const CHANGE_EMAIL: &str = "change_email";
/// How long a change-of-address link works.
pub const LINK_HOURS: i64 = 24;
/// Change-of-address messages a user can cause per hour (each costs a message to an address the
/// user typed, which may be anyone's).
pub const LINKS_PER_HOUR: i64 = 5;

/// What asking for a new address did.
#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    /// A message is on its way to the new address: the link, or, if another account has the
    /// address, a notice that it is in use. The person is told the same either way.
    Sent,
    /// The session must prove a second factor (or the password) again first.
    ConfirmFirst(Freshness),
    /// Not one mailbox address (the person's message).
    Invalid(&'static str),
    /// That is the account's address already.
    Unchanged,
    /// Too many messages this hour; try again later.
    Throttled,
}

/// What using a change-of-address link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The account's address is now `address`, verified.
    Changed { address: String },
    /// Unknown, tampered, of another tenant or purpose, or its user is gone or disabled.
    Invalid,
    /// Expired, replaced by a newer link, or used already.
    Spent,
    /// The account's address changed otherwise since the link was asked for.
    AddressChanged,
    /// Another account of the tenant has the new address now.
    Taken,
}

pub const NOT_AN_ADDRESS: &str = "That is not a valid e-mail address.";

/// May `session` ask for a new address now? ([`Freshness::Fresh`], or what to prove first.)
pub async fn gate(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
) -> Result<Freshness, StorageError> {
    changes::freshness(ctx, tenant, session, user).await
}

/// Asks to change `user`'s address to `new` (as typed).
pub async fn request(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    new: &str,
    origin: Origin,
) -> Result<Requested, StorageError> {
    let fresh = gate(ctx, tenant, session, user).await?;
    if fresh != Freshness::Fresh {
        return Ok(Requested::ConfirmFirst(fresh));
    }
    let Ok(parsed) = Email::parse(new) else {
        return Ok(Requested::Invalid(NOT_AN_ADDRESS));
    };
    let address = parsed.as_str().to_owned();
    if user.email.as_deref().map(normalize).as_deref() == Some(parsed.normalized()) {
        return Ok(Requested::Unchanged);
    }
    let (tenant_id, lookup) = (tenant.id, address.clone());
    let owner = ctx
        .db
        .run(move |c| storage::users::email_owner(c, tenant_id, &lookup))
        .await?;
    let in_use = owner.is_some_and(|o| o != user.id);
    let token = random::token();
    let (to, rendered) = if in_use {
        // The address is someone else's: no name of this user, no link.
        let rendered = message::email_in_use(message::EmailInUse {
            tenant: tenant.display_name.clone(),
            address: address.clone(),
            sign_in: format!("{}/t/{}/login", ctx.config.public_origin(), tenant.slug),
        });
        (Recipient::new(&address, None), rendered)
    } else {
        let rendered = message::change_email(message::ChangeEmail {
            tenant: tenant.display_name.clone(),
            name: user.label().to_owned(),
            address: address.clone(),
            link: format!(
                "{}/t/{}/email/change?token={token}",
                ctx.config.public_origin(),
                tenant.slug
            ),
            hours: LINK_HOURS,
        });
        (Recipient::new(&address, Some(user.label())), rendered)
    };
    let Some(to) = to else {
        return Ok(Requested::Invalid(NOT_AN_ADDRESS));
    };
    // The link row exists in both cases, so the hourly limit counts both alike; the token of an
    // address in use is never sent anywhere.
    let sent = links::send(
        ctx,
        links::Link {
            tenant: tenant.id,
            user: user.id,
            purpose: CHANGE_EMAIL,
            address,
            previous_address: user.email.clone(),
            token,
            lifetime_secs: LINK_HOURS * 3600,
            per_hour: LINKS_PER_HOUR,
            to,
            message: rendered,
        },
    )
    .await?;
    audit(
        ctx,
        tenant,
        user.id,
        AuditAction::EmailChangeRequested,
        if sent { "success" } else { "throttled" },
        origin,
        serde_json::json!({ "address_in_use": in_use }),
    )
    .await;
    Ok(if sent {
        Requested::Sent
    } else {
        Requested::Throttled
    })
}

/// Uses a change-of-address link of `tenant`.
pub async fn confirm(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    origin: Origin,
) -> Result<Confirmed, StorageError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Confirmed::Invalid);
    }
    let digest = links::digest(ctx, token);
    let (now, key) = (ctx.clock.unix(), *ctx.keys.encryption);
    let tenant_c = tenant.clone();
    let sign_in = format!("{}/t/{}/login", ctx.config.public_origin(), tenant.slug);
    let outcome = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| use_link(c, &tenant_c, &digest, now, &key, &sign_in))
        })
        .await;
    let used = match outcome {
        Ok(used) => used,
        // Another account took the address between the checks and the write (PostgreSQL's
        // unique index): everything was rolled back, the link included.
        Err(StorageError::Conflict(_)) => Used::just(Confirmed::Taken),
        Err(e) => return Err(e),
    };
    if used.notice {
        ctx.mail.wake();
    }
    if let Some(user) = used.user {
        let result = match &used.outcome {
            Confirmed::Changed { .. } => "success",
            _ => "address_in_use",
        };
        audit(
            ctx,
            tenant,
            user,
            AuditAction::EmailChanged,
            result,
            origin,
            serde_json::json!({
                "previous_verified": used.previous_verified,
                "previous_notified": used.notice,
            }),
        )
        .await;
    }
    Ok(used.outcome)
}

/// What using a link did inside the transaction: the outcome, the user when the address changed
/// or was refused as in use (for the audit), whether their old address was verified, and
/// whether a notice to it was queued.
struct Used {
    outcome: Confirmed,
    user: Option<UserId>,
    previous_verified: bool,
    notice: bool,
}

impl Used {
    fn just(outcome: Confirmed) -> Self {
        Self {
            outcome,
            user: None,
            previous_verified: false,
            notice: false,
        }
    }
}

/// The link's use, inside the write transaction.
fn use_link(
    c: &mut storage::DbConn,
    tenant: &Tenant,
    digest: &str,
    now: i64,
    key: &[u8; 32],
    sign_in: &str,
) -> Result<Used, StorageError> {
    let invalid = Ok(Used::just(Confirmed::Invalid));
    let Some(link) = mail_links::find(c, digest)? else {
        return invalid;
    };
    if link.tenant_id != tenant.id.to_string() || link.purpose != CHANGE_EMAIL {
        return invalid;
    }
    let (Some(user_id), Some(address)) = (
        link.user_id
            .as_deref()
            .and_then(|u| u.parse::<UserId>().ok()),
        link.address.clone(),
    ) else {
        return invalid;
    };
    // Concurrent uses of this link, and any other write to the user, wait here (PostgreSQL;
    // SQLite's write transaction already excludes other writers). The link is read again under
    // the lock: what was read before it may have been used meanwhile.
    mail_links::lock_user(c, user_id)?;
    let Some(link) = mail_links::find(c, digest)? else {
        return invalid;
    };
    let Some(found) = storage::users::find_by_id(c, tenant.id, user_id)? else {
        return invalid;
    };
    let user = found.user;
    if !user.enabled {
        return invalid;
    }
    if link.spent(now) {
        return Ok(Used::just(Confirmed::Spent));
    }
    let previous = link.previous_address.as_deref();
    if user.email.as_deref().map(normalize) != previous.map(normalize) {
        return Ok(Used::just(Confirmed::AddressChanged));
    }
    let owner = storage::users::email_owner(c, tenant.id, &address)?;
    if owner.is_some_and(|o| o != user.id) {
        return Ok(Used {
            user: Some(user.id),
            previous_verified: user.email_verified,
            ..Used::just(Confirmed::Taken)
        });
    }
    if !mail_links::use_once(c, digest, now)? {
        return Ok(Used::just(Confirmed::Spent));
    }
    if !storage::users::replace_email(c, user.id, previous, &address, now)? {
        // Not reached under the row lock; roll the link's use back all the same.
        return Err(StorageError::Conflict("email"));
    }
    let old = user
        .email
        .as_deref()
        .filter(|_| user.email_verified)
        .and_then(|a| Recipient::new(a, Some(user.label())));
    let notice = match old {
        Some(to) => {
            let rendered = message::email_changed(message::EmailChanged {
                tenant: tenant.display_name.clone(),
                name: user.label().to_owned(),
                new_address: message::masked(&address),
                sign_in: sign_in.to_owned(),
            });
            mail::queue(c, key, now, Some(tenant.id), &to, &rendered)?;
            true
        }
        None => false,
    };
    Ok(Used {
        outcome: Confirmed::Changed { address },
        user: Some(user.id),
        previous_verified: user.email_verified,
        notice,
    })
}

async fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    action: AuditAction,
    outcome: &str,
    origin: Origin,
    details: serde_json::Value,
) {
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            action,
            outcome,
            Actor::User(user.to_string()),
        )
        .subject(format!("user:{user}"))
        .origin(origin)
        .details(details),
    )
    .await;
}
