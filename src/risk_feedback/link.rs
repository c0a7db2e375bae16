//! The link of a sign-in notice (`{origin}/t/{tenant}/sign-in-check?token=<event id>.<secret>`,
//! sent by `crate::auth::risk_notice`). [`check`] looks it up without using it (mail scanners
//! open links): the event it is for, or why it does not work. [`answer`] uses it once: the link
//! is marked used and the feedback written in one transaction, so of two answers exactly one
//! counts. A link works only in its tenant, for its purpose, for its own event (the digest covers
//! the event id, and the event must be the link's user's).

use super::activity::Activity;
use super::{Value, record, user_of, write_feedback};
use crate::admin::AdminError;
use crate::admin::access::{self, AccessEnded};
use crate::admin::users;
use crate::auth::risk_notice::FEEDBACK;
use crate::context::Ctx;
use crate::domain::audit::{Actor, Origin};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::lifecycle::EndReason;
use crate::mail::links;
use crate::storage::{self, mail_links, risk::SignInEvent};

/// Longest token accepted (`<uuid>.<43 characters>` is 80).
const MAX_TOKEN: usize = 200;

/// What a link is.
#[derive(Debug)]
pub enum Checked {
    /// It works: the event to show (the link is not used yet).
    Open {
        event: Box<Activity>,
        user: Box<User>,
    },
    /// Unknown, tampered with, of another tenant, purpose or event, or its user is gone.
    Invalid,
    /// Used already, expired, replaced by a newer notice, or its event was purged.
    Spent,
}

/// What answering did.
#[derive(Debug)]
pub enum Answered {
    /// "This was me": the device and place are known now.
    Confirmed,
    /// "This wasn't me": the password is gone, every session ended and every grant revoked
    /// (`ended`), and a reset link mailed (`reset_sent`: false when the hourly limit of reset
    /// links was reached).
    Reported {
        ended: AccessEnded,
        reset_sent: bool,
    },
    Invalid,
    Spent,
}

/// A link that resolved to its event and user.
enum Resolved {
    Found {
        digest: String,
        event: Box<SignInEvent>,
        user: User,
    },
    Invalid,
    Spent,
}

async fn resolve(ctx: &Ctx, tenant: &Tenant, token: &str) -> Result<Resolved, AdminError> {
    let token = token.trim();
    let Some((event_id, secret)) = token.split_once('.') else {
        return Ok(Resolved::Invalid);
    };
    if token.len() > MAX_TOKEN || event_id.is_empty() || secret.is_empty() {
        return Ok(Resolved::Invalid);
    }
    let digest = links::digest(ctx, token);
    let lookup = digest.clone();
    let Some(link) = ctx.db.run(move |c| mail_links::find(c, &lookup)).await? else {
        return Ok(Resolved::Invalid);
    };
    if link.tenant_id != tenant.id.to_string() || link.purpose != FEEDBACK {
        return Ok(Resolved::Invalid);
    }
    let Some(user_id) = link.user_id.as_deref().and_then(|u| u.parse().ok()) else {
        return Ok(Resolved::Invalid);
    };
    let Some(user) = users::find_by_id(ctx, tenant, user_id).await? else {
        return Ok(Resolved::Invalid);
    };
    if !user.enabled {
        return Ok(Resolved::Invalid);
    }
    let (tenant_id, id) = (tenant.id, event_id.to_owned());
    let Some(event) = ctx
        .db
        .run(move |c| storage::risk::find(c, tenant_id, &id))
        .await?
    else {
        // The digest matched, so the event was this link's: purged since.
        return Ok(Resolved::Spent);
    };
    if user_of(&event) != Some(user.id) {
        return Ok(Resolved::Invalid);
    }
    if link.spent(ctx.clock.unix()) {
        return Ok(Resolved::Spent);
    }
    Ok(Resolved::Found {
        digest,
        event: Box::new(event),
        user,
    })
}

/// Looks a link up without using it.
pub async fn check(ctx: &Ctx, tenant: &Tenant, token: &str) -> Result<Checked, AdminError> {
    Ok(match resolve(ctx, tenant, token).await? {
        Resolved::Found { event, user, .. } => Checked::Open {
            event: Box::new(Activity::of(&event)),
            user: Box::new(user),
        },
        Resolved::Invalid => Checked::Invalid,
        Resolved::Spent => Checked::Spent,
    })
}

/// Uses a link to answer `value`.
pub async fn answer(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    value: Value,
    origin: Origin,
) -> Result<Answered, AdminError> {
    let (digest, event, user) = match resolve(ctx, tenant, token).await? {
        Resolved::Found {
            digest,
            event,
            user,
        } => (digest, event, user),
        Resolved::Invalid => return Ok(Answered::Invalid),
        Resolved::Spent => return Ok(Answered::Spent),
    };
    let now = ctx.clock.unix();
    let (t, e, user_id) = (tenant.clone(), event.clone(), user.id);
    // One step: the link used, the feedback written and, for "this wasn't me", the password
    // taken away (no new sign-in with it from here on).
    let used = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                if !mail_links::use_once(c, &digest, now)? {
                    return Ok(false);
                }
                write_feedback(c, &t, &e, Some(user_id), value, now)?;
                if value == Value::Invalid {
                    storage::users::clear_password_hash(c, user_id, now)?;
                }
                Ok(true)
            })
        })
        .await?;
    if !used {
        return Ok(Answered::Spent);
    }
    let actor = Actor::User(user.id.to_string());
    if value == Value::Valid {
        let details = serde_json::json!({ "via": "link" });
        record(ctx, tenant, &event, value, actor, origin, details).await;
        return Ok(Answered::Confirmed);
    }
    let ended =
        access::end_all_but(ctx, tenant, user.id, None, EndReason::User, actor.clone()).await;
    let reset_sent = match crate::recovery::send_link_to(ctx, tenant, &user, origin.clone()).await {
        Ok(sent) => sent,
        Err(e) => {
            tracing::error!(error = %e, user = %user.id, "could not send a reset link after \"this wasn't me\"");
            false
        }
    };
    let mut details = serde_json::json!({
        "via": "link",
        "password_removed": true,
        "reset_link_sent": reset_sent,
    });
    match &ended {
        Ok(a) => {
            details["sessions_ended"] = a.sessions.into();
            details["grants_revoked"] = a.grants.into();
        }
        Err(e) => details["ending_access_failed"] = e.to_string().into(),
    }
    record(ctx, tenant, &event, value, actor, origin, details).await;
    Ok(Answered::Reported {
        ended: ended?,
        reset_sent,
    })
}
