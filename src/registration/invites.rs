//! Invitations to sign up: an operator creates a single-use link
//! (`{public_url}/t/{slug}/register?invite=TOKEN`; only the keyed digest of the token is stored,
//! as a `mail_links` row without a user), optionally bound to an address and optionally mailed
//! to it through the outbox. An invitation works only in its tenant, until it expires, is
//! revoked or is used; it is used up in the same transaction that creates the account. One that
//! Watchword mailed to its address (purpose [`INVITE_MAILED`]) proves that address: the account
//! is created at once, without a confirmation link. Creating, listing and revoking need the
//! administrator's `users:write` / `users:read`.

use crate::admin::AdminError;
use crate::admin::authz::Admin;
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::admin::{Module, Permission};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::tenant::Tenant;
use crate::domain::user::Email;
use crate::mail::{self, Recipient, links, message};
use crate::storage::{self, mail_links};

/// An invitation handed out by the operator (the address, if any, still has to be proven).
pub const INVITE: &str = "invite";
/// An invitation Watchword mailed to its address: using it proves the address.
pub const INVITE_MAILED: &str = "invite_mailed";
pub const PURPOSES: [&str; 2] = [INVITE, INVITE_MAILED];
/// How long an invitation works unless the operator says otherwise (7 days).
pub const DEFAULT_HOURS: i64 = 168;
/// The longest an invitation may work (30 days).
pub const MAX_HOURS: i64 = 720;

/// A new invitation.
#[derive(Debug)]
pub struct Created {
    /// The link to hand out (holds the token: show it once).
    pub link: String,
    /// What `list` and `revoke` call it.
    pub id: String,
    pub address: Option<String>,
    pub mailed: bool,
    pub expires_at: i64,
}

/// Creates an invitation of `tenant`, bound to `email` if given, working `hours`, and with `send`
/// mails it to that address.
pub async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    email: Option<&str>,
    hours: i64,
    send: bool,
    by: &Admin,
) -> Result<Created, AdminError> {
    use crate::domain::user::InvalidInput;
    by.require(tenant.id, Permission::write(Module::Users))?;
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(InvalidInput::new("expires-hours", format!("must be 1 to {MAX_HOURS}")).into());
    }
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(Email::parse)
        .transpose()?;
    let to = match &email {
        Some(e) => Some(
            Recipient::new(e.as_str(), None)
                .ok_or_else(|| InvalidInput::new("email", "is not a valid e-mail address"))?,
        ),
        None => None,
    };
    if send && to.is_none() {
        return Err(
            InvalidInput::new("send", "needs --email (where to send the invitation)").into(),
        );
    }
    let token = random::token();
    let digest = links::digest(ctx, &token);
    let link = format!(
        "{}/t/{}/register?invite={token}",
        ctx.config.public_origin(),
        tenant.slug
    );
    let (now, key, tenant_id) = (ctx.clock.unix(), *ctx.keys.encryption, tenant.id);
    let expires_at = now + hours * 3600;
    let purpose = if send { INVITE_MAILED } else { INVITE };
    let address = email.as_ref().map(|e| e.as_str().to_owned());
    let rendered = send.then(|| {
        message::invite(message::Invite {
            tenant: tenant.display_name.clone(),
            link: link.clone(),
            hours,
        })
    });
    let (row_digest, row_address) = (digest.clone(), address.clone());
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                mail_links::insert_replacing(
                    c,
                    &mail_links::NewLink {
                        digest: &row_digest,
                        tenant: tenant_id,
                        user: None,
                        purpose,
                        address: row_address.as_deref(),
                        previous_address: None,
                        now,
                        expires_at,
                    },
                )?;
                if let (Some(to), Some(rendered)) = (&to, &rendered) {
                    mail::queue(c, &key, now, Some(tenant_id), to, rendered)?;
                }
                Ok(())
            })
        })
        .await?;
    if send {
        ctx.mail.wake();
    }
    let id = digest[..12].to_owned();
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::InviteCreated,
            "success",
            by.actor(),
        )
        .origin(by.origin.clone())
        .subject(format!("invite:{id}"))
        .details(serde_json::json!({
            "address": address,
            "mailed": send,
            "expires_at": expires_at,
        })),
    )
    .await;
    Ok(Created {
        link,
        id,
        address,
        mailed: send,
        expires_at,
    })
}

/// An invitation as operators see it.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub id: String,
    pub address: Option<String>,
    pub mailed: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// `open`, `used` or `expired` (also revoked ones).
    pub state: &'static str,
}

/// The tenant's invitations, newest first.
pub async fn list(ctx: &Ctx, tenant: &Tenant, by: &Admin) -> Result<Vec<Listed>, AdminError> {
    by.require(tenant.id, Permission::read(Module::Users))?;
    let (tenant_id, now) = (tenant.id, ctx.clock.unix());
    let rows = ctx
        .db
        .run(move |c| storage::invites::list(c, tenant_id, &PURPOSES))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Listed {
            id: r.token_digest.chars().take(12).collect(),
            address: r.address,
            mailed: r.purpose == INVITE_MAILED,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            state: if r.used_at.is_some() {
                "used"
            } else if r.expires_at <= now {
                "expired"
            } else {
                "open"
            },
        })
        .collect())
}

/// Revokes the unused invitation `id` (as `list` shows it); whether there was one.
pub async fn revoke(ctx: &Ctx, tenant: &Tenant, id: &str, by: &Admin) -> Result<bool, AdminError> {
    by.require(tenant.id, Permission::write(Module::Users))?;
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(crate::domain::user::InvalidInput::new(
            "id",
            "must be the 12 hex digits `watchword invite list` shows",
        )
        .into());
    }
    let (tenant_id, now, row_id) = (tenant.id, ctx.clock.unix(), id.clone());
    let n = ctx
        .db
        .write(move |c| storage::invites::revoke(c, tenant_id, &PURPOSES, &row_id, now))
        .await?;
    if n > 0 {
        storage::audit::record(
            &ctx.db,
            AuditEvent::new(
                ctx.clock.now(),
                Some(tenant.id),
                AuditAction::InviteRevoked,
                "success",
                by.actor(),
            )
            .origin(by.origin.clone())
            .subject(format!("invite:{id}")),
        )
        .await;
    }
    Ok(n > 0)
}

/// A usable invitation.
#[derive(Clone, Debug)]
pub struct Invite {
    pub digest: String,
    /// The address it is bound to (the sign-up must use it).
    pub address: Option<String>,
    /// Watchword mailed it to `address`, so using it proves the address.
    pub proves_address: bool,
}

/// What an invitation token is.
#[derive(Debug)]
pub enum Checked {
    Valid(Invite),
    /// Unknown, tampered, or of another tenant.
    Invalid,
    /// Used, expired or revoked.
    Spent,
}

/// Looks at (never uses) the invitation behind `token` in `tenant`.
pub async fn check(ctx: &Ctx, tenant: &Tenant, token: &str) -> Result<Checked, AdminError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Checked::Invalid);
    }
    let digest = links::digest(ctx, token);
    let lookup = digest.clone();
    let Some(link) = ctx.db.run(move |c| mail_links::find(c, &lookup)).await? else {
        return Ok(Checked::Invalid);
    };
    if link.tenant_id != tenant.id.to_string()
        || !PURPOSES.contains(&link.purpose.as_str())
        || link.user_id.is_some()
    {
        return Ok(Checked::Invalid);
    }
    if link.used_at.is_some() || link.expires_at <= ctx.clock.unix() {
        return Ok(Checked::Spent);
    }
    Ok(Checked::Valid(Invite {
        digest,
        proves_address: link.purpose == INVITE_MAILED && link.address.is_some(),
        address: link.address,
    }))
}
