//! Self-service password reset by mail. Asking ("Forgot your password?") answers the same,
//! at once, whether or not the account exists: the lookup, the link and the message happen in
//! the background. A link goes only to a verified address, works once within
//! [`LINK_MINUTES`], replaces older ones, and at most [`LINKS_PER_HOUR`] are sent per account
//! (and [`REQUESTS_PER_HOUR_PER_ADDRESS`] requests are accepted per client address). Using the
//! link parks a pending sign-in marked `reset`: a user with a second factor proves it on the
//! ordinary second-factor page (`auth::second_step`, with its throttling), and only then may set
//! a new password, which ends every session and revokes every grant (`admin::access`) and sends
//! a "your password was changed" notice.

use crate::admin::authz::Admin;
use std::net::IpAddr;

use crate::admin::access::OnReset;
use crate::admin::{AdminError, users};
use crate::auth::mfa;
use crate::auth::pending_signin::{self, LevelState, NeedState, PendingSignIn};
use crate::auth::throttle::hourly::{self, Hourly};
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::mail::{self, Recipient, links, message};
use crate::storage::{self, mail_links};

/// What a reset link is for.
pub const RESET_PASSWORD: &str = "reset_password";
pub const LINK_MINUTES: i64 = 30;
/// Reset links sent per account per hour.
pub const LINKS_PER_HOUR: i64 = 3;
/// Reset requests accepted per client address (IPv6: /64) per hour and tenant.
pub const REQUESTS_PER_HOUR_PER_ADDRESS: u64 = 20;

#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    /// Accepted (whatever happens next, the person is told the same).
    Accepted,
    /// Too many requests from this address: try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
}

/// "Forgot your password?" for `identifier` (username or address).
pub async fn request(
    ctx: &Ctx,
    tenant: &Tenant,
    identifier: &str,
    ip: IpAddr,
    origin: Origin,
) -> Result<Requested, AdminError> {
    if let Hourly::Refused { retry_after } = hourly::per_address(
        ctx,
        tenant,
        "reset_address",
        ip,
        REQUESTS_PER_HOUR_PER_ADDRESS,
    )
    .await?
    {
        return Ok(Requested::Throttled { retry_after });
    }
    let (ctx, tenant, identifier) = (ctx.clone(), tenant.clone(), identifier.trim().to_owned());
    tokio::spawn(async move {
        if let Err(e) = send_link(&ctx, &tenant, &identifier, origin).await {
            tracing::error!(error = %e, tenant = %tenant.slug, "could not send a password reset link");
        }
    });
    Ok(Requested::Accepted)
}

/// The background half of [`request`]: a link and its message, if the account exists, is
/// enabled, has a verified address and has not had too many links this hour.
async fn send_link(
    ctx: &Ctx,
    tenant: &Tenant,
    identifier: &str,
    origin: Origin,
) -> Result<(), AdminError> {
    if identifier.is_empty() || identifier.len() > 320 {
        return Ok(());
    }
    let Some(found) = users::find(ctx, tenant, identifier).await? else {
        return Ok(());
    };
    send_link_to(ctx, tenant, &found.user, origin).await?;
    Ok(())
}

/// Mails `user` a reset link (and audits it), if the account is enabled, has a verified address
/// and has not had too many links this hour; whether one was queued. Also used when a user says
/// a sign-in was not theirs (`crate::risk_feedback`).
pub async fn send_link_to(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    origin: Origin,
) -> Result<bool, AdminError> {
    let address = match &user.email {
        Some(a) if user.enabled && user.email_verified => a.clone(),
        _ => return Ok(false),
    };
    let Some(to) = Recipient::new(&address, Some(user.label())) else {
        return Ok(false);
    };
    let token = random::token();
    let rendered = message::password_reset(message::PasswordReset {
        tenant: tenant.display_name.clone(),
        name: user.label().to_owned(),
        link: format!(
            "{}/t/{}/password/reset?token={token}",
            ctx.config.public_origin(),
            tenant.slug
        ),
        minutes: LINK_MINUTES,
    });
    let sent = links::send(
        ctx,
        links::Link {
            tenant: tenant.id,
            user: user.id,
            purpose: RESET_PASSWORD,
            address,
            previous_address: None,
            token,
            lifetime_secs: LINK_MINUTES * 60,
            per_hour: LINKS_PER_HOUR,
            to,
            message: rendered,
        },
    )
    .await?;
    audit(
        ctx,
        tenant,
        user,
        AuditAction::PasswordResetRequested,
        if sent { "success" } else { "throttled" },
        origin,
    )
    .await;
    Ok(sent)
}

/// What using a reset link did.
#[derive(Debug)]
pub enum Started {
    /// A pending reset was parked under `token`; the person proves `need` next
    /// (`SecondFactor`, or `NewPassword` for a user without one).
    Parked { token: String, need: NeedState },
    /// Unknown, tampered, of another tenant or purpose, or its user is gone or disabled.
    Invalid,
    /// Used already, expired, or replaced by a newer link.
    Spent,
}

/// Uses a reset link (once).
pub async fn start(
    ctx: &Ctx,
    tenant: &Tenant,
    link_token: &str,
    origin: Origin,
) -> Result<Started, AdminError> {
    if link_token.is_empty() || link_token.len() > 128 {
        return Ok(Started::Invalid);
    }
    let digest = links::digest(ctx, link_token);
    let lookup = digest.clone();
    let Some(link) = ctx.db.run(move |c| mail_links::find(c, &lookup)).await? else {
        return Ok(Started::Invalid);
    };
    if link.tenant_id != tenant.id.to_string() || link.purpose != RESET_PASSWORD {
        return Ok(Started::Invalid);
    }
    let Some(user_id) = link.user_id.and_then(|u| u.parse().ok()) else {
        return Ok(Started::Invalid);
    };
    let Some(user) = users::find_by_id(ctx, tenant, user_id).await? else {
        return Ok(Started::Invalid);
    };
    if !user.enabled {
        return Ok(Started::Invalid);
    }
    let now = ctx.clock.unix();
    if !ctx
        .db
        .write(move |c| mail_links::use_once(c, &digest, now))
        .await?
    {
        return Ok(Started::Spent);
    }
    let factors = mfa::factors(ctx, tenant, &user).await?;
    let need = if factors.any() {
        NeedState::SecondFactor
    } else {
        NeedState::NewPassword
    };
    let pending = PendingSignIn {
        tenant_id: tenant.id,
        user_id: user.id,
        amr: Vec::new(),
        need,
        step_up: None,
        level: LevelState::Mfa,
        return_to: String::new(),
        end_other_sessions: false,
        replaces_session: None,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        reauthenticated: false,
        reset: true,
        risk: None,
        password_tag: None,
        via: None,
    };
    let token = pending_signin::begin(ctx, &pending).await?;
    Ok(Started::Parked { token, need })
}

/// What setting the new password did.
#[derive(Debug)]
pub enum Completed {
    /// Set: every session ended and every grant revoked; the notice is queued.
    Done,
    /// The pending reset is gone, or not at its last step.
    Gone,
    /// The password breaks the tenant's policy or is breached (the person's message); try again.
    Rejected(String),
}

/// The pending reset behind `token` (the browser's cookie), if it is at its last step.
pub async fn ready(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<(PendingSignIn, User)>, AdminError> {
    let Some(pending) = pending_signin::load(ctx, tenant, token).await? else {
        return Ok(None);
    };
    if !pending.reset || pending.need != NeedState::NewPassword {
        return Ok(None);
    }
    Ok(users::find_by_id(ctx, tenant, pending.user_id)
        .await?
        .filter(|u| u.enabled)
        .map(|u| (pending, u)))
}

/// Sets the new password of the pending reset behind `token`.
pub async fn complete(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    new_password: &Secret<String>,
    origin: Origin,
) -> Result<Completed, AdminError> {
    let Some((_, user)) = ready(ctx, tenant, token).await? else {
        return Ok(Completed::Gone);
    };
    let identities = [user.username.as_str(), user.email.as_deref().unwrap_or("")];
    if let Err(why) = tenant
        .policy
        .password
        .check(new_password.expose(), &identities)
    {
        return Ok(Completed::Rejected(why.to_string()));
    }
    if let Some(why) = crate::risk::breach::refusal(&ctx.breach, new_password.expose()).await {
        return Ok(Completed::Rejected(why.to_owned()));
    }
    // Single use: of two concurrent submissions, one sets the password.
    if !pending_signin::take(ctx, token).await? {
        return Ok(Completed::Gone);
    }
    let actor = Actor::User(user.id.to_string());
    users::set_password(
        ctx,
        tenant,
        &user,
        new_password,
        OnReset::EndAccess,
        &Admin::operator(actor.clone()),
    )
    .await?;
    notify_changed(ctx, tenant, &user, &origin).await?;
    audit(
        ctx,
        tenant,
        &user,
        AuditAction::PasswordReset,
        "success",
        origin,
    )
    .await;
    Ok(Completed::Done)
}

/// Queues "your password was changed" to the user's verified address, if any.
pub async fn notify_changed(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    origin: &Origin,
) -> Result<(), AdminError> {
    let Some(address) = user.email.as_deref().filter(|_| user.email_verified) else {
        return Ok(());
    };
    let Some(to) = Recipient::new(address, Some(user.label())) else {
        return Ok(());
    };
    let device = crate::domain::device::describe(origin.user_agent.as_deref().unwrap_or(""));
    let rendered = message::password_changed(message::PasswordChanged {
        tenant: tenant.display_name.clone(),
        name: user.label().to_owned(),
        when: format!(
            "{}, {}",
            device,
            ctx.clock.now().format("%Y-%m-%d %H:%M UTC")
        ),
        sign_in: format!("{}/t/{}/login", ctx.config.public_origin(), tenant.slug),
    });
    let (key, now, tenant_id) = (*ctx.keys.encryption, ctx.clock.unix(), tenant.id);
    ctx.db
        .write(move |c| mail::queue(c, &key, now, Some(tenant_id), &to, &rendered))
        .await?;
    ctx.mail.wake();
    Ok(())
}

async fn audit(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    action: AuditAction,
    outcome: &str,
    origin: Origin,
) {
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            action,
            outcome,
            Actor::User(user.id.to_string()),
        )
        .subject(format!("user:{}", user.id))
        .origin(origin),
    )
    .await;
}
