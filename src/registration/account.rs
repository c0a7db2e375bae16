//! Creating the account of a sign-up, in one transaction that also uses up its link or
//! invitation: the users table's unique indexes decide between concurrent sign-ups of one
//! username or address (a clash rolls everything back and uses nothing up). [`confirm`] is the
//! confirmation link; [`create_now`] an invitation that was mailed to its address.

use super::{Form, InviteProblem, Requested, invites, rejected};
use crate::admin::AdminError;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::UserId;
use crate::domain::registration::RegistrationMode;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Email, User, Username};
use crate::mail::links;
use crate::storage::{self, StorageError, mail_links, registrations};

/// Why creating the account failed inside its transaction (rolled back: nothing used up).
fn conflict(e: StorageError) -> Result<Clash, AdminError> {
    match e {
        StorageError::Conflict("invite") => Ok(Clash::InviteSpent),
        StorageError::Conflict("email") => Ok(Clash::AddressTaken),
        StorageError::Conflict(_) => Ok(Clash::UsernameTaken),
        other => Err(other.into()),
    }
}

enum Clash {
    InviteSpent,
    AddressTaken,
    UsernameTaken,
}

/// The user a sign-up creates: its address verified (proven by the link or the invitation).
fn new_user(ctx: &Ctx, tenant: &Tenant, username: &str, email: &str) -> User {
    let now = ctx.clock.now();
    User {
        id: UserId::generate(),
        tenant_id: tenant.id,
        username: username.to_owned(),
        email: Some(email.to_owned()),
        email_verified: true,
        display_name: None,
        enabled: true,
        admin_role: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Creates the account of a sign-up whose invitation proved the address, using the invitation
/// up in the same transaction.
pub(super) async fn create_now(
    ctx: &Ctx,
    tenant: &Tenant,
    username: &Username,
    email: &Email,
    password: &Secret<String>,
    invite: &invites::Invite,
    origin: Origin,
) -> Result<Requested, AdminError> {
    let hash = ctx.hasher.hash(password.expose()).await?;
    let user = new_user(ctx, tenant, username.as_str(), email.as_str());
    let (row, digest, now) = (user.clone(), invite.digest.clone(), ctx.clock.unix());
    let created = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                if !mail_links::use_once(c, &digest, now)? {
                    return Err(StorageError::Conflict("invite"));
                }
                storage::users::insert(c, &row, Some(hash))
            })
        })
        .await;
    match created.map_err(conflict) {
        Ok(()) => {}
        Err(Ok(Clash::InviteSpent)) => {
            return Ok(Requested::Refused(Form::Invite(InviteProblem::Spent)));
        }
        Err(Ok(Clash::AddressTaken)) => {
            return Ok(rejected(
                "email",
                "There is already an account with this address. Sign in, or choose \"Forgot your password?\" on the sign-in page.",
            ));
        }
        Err(Ok(Clash::UsernameTaken)) => {
            return Ok(rejected(
                "username",
                "This username is not available; choose another.",
            ));
        }
        Err(Err(e)) => return Err(e),
    }
    completed(ctx, tenant, &user, Some(&invite.digest), origin).await;
    Ok(Requested::Created {
        username: user.username,
    })
}

/// Audits a created account (and the invitation it used).
async fn completed(ctx: &Ctx, tenant: &Tenant, user: &User, invite: Option<&str>, origin: Origin) {
    let event = |action| {
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            action,
            "success",
            Actor::User(user.id.to_string()),
        )
        .subject(format!("user:{}", user.id))
        .origin(origin.clone())
    };
    storage::audit::record(
        &ctx.db,
        event(AuditAction::RegistrationCompleted)
            .details(serde_json::json!({ "invite": invite.map(|d| &d[..12]) })),
    )
    .await;
    if let Some(digest) = invite {
        storage::audit::record(
            &ctx.db,
            event(AuditAction::InviteUsed).details(serde_json::json!({ "invite": &digest[..12] })),
        )
        .await;
    }
}

/// What using a sign-up's link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The account exists now; the person signs in with their password.
    Created { username: String },
    /// Unknown, tampered, replaced by a newer sign-up, or of another tenant.
    Invalid,
    /// Used already, or expired.
    Spent,
    /// Someone else's account got the username first (sign up again with another).
    UsernameTaken,
    /// The address got an account meanwhile (sign in or reset the password).
    AddressTaken,
    /// The invitation it was made with was used, revoked or expired meanwhile.
    InviteSpent,
}

/// Uses a sign-up's link of `tenant`: creates the account, once.
pub async fn confirm(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    origin: Origin,
) -> Result<Confirmed, AdminError> {
    if tenant.policy.registration.mode == RegistrationMode::Off {
        return Ok(Confirmed::Invalid);
    }
    if token.is_empty() || token.len() > 128 {
        return Ok(Confirmed::Invalid);
    }
    let (digest, now, tenant_id) = (links::digest(ctx, token), ctx.clock.unix(), tenant.id);
    // A sign-up made while registration was open needs an invitation once it is not.
    let needs_invite = tenant.policy.registration.mode == RegistrationMode::Invite;
    let draft = new_user(ctx, tenant, "", "");
    let outcome = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                let Some(r) = registrations::find(c, &digest)? else {
                    return Ok((Confirmed::Invalid, None));
                };
                if r.tenant_id != tenant_id.to_string()
                    || (needs_invite && r.invite_digest.is_none())
                {
                    return Ok((Confirmed::Invalid, None));
                }
                if r.used_at.is_some() || r.expires_at <= now {
                    return Ok((Confirmed::Spent, None));
                }
                if !registrations::use_once(c, &digest, now)? {
                    return Ok((Confirmed::Spent, None));
                }
                if let Some(invite) = &r.invite_digest
                    && !mail_links::use_once(c, invite, now)?
                {
                    return Err(StorageError::Conflict("invite"));
                }
                let user = User {
                    username: r.username.clone(),
                    email: Some(r.email.clone()),
                    ..draft
                };
                storage::users::insert(c, &user, Some(r.password_hash))?;
                Ok((
                    Confirmed::Created {
                        username: r.username,
                    },
                    Some((user, r.invite_digest)),
                ))
            })
        })
        .await;
    let (confirmed, created) = match outcome.map_err(conflict) {
        Ok(done) => done,
        Err(Ok(Clash::InviteSpent)) => (Confirmed::InviteSpent, None),
        Err(Ok(Clash::AddressTaken)) => (Confirmed::AddressTaken, None),
        Err(Ok(Clash::UsernameTaken)) => (Confirmed::UsernameTaken, None),
        Err(Err(e)) => return Err(e),
    };
    if let Some((user, invite)) = created {
        completed(ctx, tenant, &user, invite.as_deref(), origin).await;
    }
    Ok(confirmed)
}
