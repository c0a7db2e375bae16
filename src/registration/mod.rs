//! Self-registration: people create their own accounts on the hosted sign-up page, when the
//! tenant's policy allows it (`registration.mode`: `off` (default), `open`, `invite`).
//!
//! **No account before the address is proven.** A sign-up creates no user: it keeps a pending
//! registration (`storage::registrations`: username, address, the password's Argon2id hash, the
//! invitation if any) and mails a single-use link to the address. Only using that link (within
//! [`LINK_HOURS`]) creates the user, already verified, in one transaction that also uses up the
//! link and the invitation; the users table's unique indexes decide between concurrent
//! sign-ups of the same username or address (one user, the others are told). So there is no
//! half-created account that could sign in, be reset or be listed, and the sign-in engine needs
//! no extra rule: a username whose link was not used simply does not exist (the sign-in answer
//! is the ordinary "wrong username or password"). Expired sign-ups are purged by the jobs.
//! The one exception is an invitation Watchword mailed to its address ([`invites`]): using it
//! proves the address, so the account is created at once.
//!
//! **The same answer for every sign-up.** Once the input is well-formed (username shape, address
//! shape, the tenant's password policy, not a breached password (`breach::refusal`), which say
//! nothing about other accounts) and the client
//! address is under its hourly limit, the page always says "check your mail", at once: the
//! lookup, the hashing and the message happen in the background ([`request`]). What the mail
//! says depends on the accounts: a new address and username get the confirmation link; an
//! address that already has an account gets "you already have an account: sign in or reset your
//! password"; a new address with a taken username gets "that username is not available, choose
//! another". Only the owner of the address learns anything, and at most
//! [`MAILS_PER_HOUR_PER_ADDRESS`] such messages go to one address per hour.

mod account;
pub mod invites;

use account::create_now;
pub use account::{Confirmed, confirm};

use std::net::IpAddr;

use crate::admin::AdminError;
use crate::auth::throttle::hourly::{self, Hourly};
use crate::context::Ctx;
use crate::crypto::{hmac_sha256, random};
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::registration::RegistrationMode;
use crate::domain::secret::Secret;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Email, LoginIdentifier, Username};
use crate::mail::{self, Recipient, Rendered, links, message};
use crate::storage::{self, registrations};

pub use invites::Checked as InviteChecked;

/// How long a sign-up's link works.
pub const LINK_HOURS: i64 = 24;
/// Sign-ups accepted per client address (IPv6: /64) per hour and tenant.
pub const REQUESTS_PER_HOUR_PER_ADDRESS: u64 = 10;
/// Sign-up messages (of any kind) sent to one e-mail address per hour and tenant.
pub const MAILS_PER_HOUR_PER_ADDRESS: u64 = 3;

/// What an invitation given with a sign-up is.
#[derive(Debug, PartialEq, Eq)]
pub enum InviteProblem {
    /// Unknown, tampered, or of another tenant.
    Invalid,
    /// Used, expired or revoked.
    Spent,
}

/// What the sign-up page may show.
#[derive(Debug)]
pub enum Form {
    /// Registration is off in this tenant: there is no such page.
    Closed,
    /// By invitation only, and none was given.
    InviteRequired,
    Invite(InviteProblem),
    /// The form; with an invitation bound to an address, that address (fixed).
    Open {
        address: Option<String>,
    },
}

/// What the sign-up page shows for `invite` (looked at, never used).
pub async fn form(ctx: &Ctx, tenant: &Tenant, invite: Option<&str>) -> Result<Form, AdminError> {
    Ok(match invitation(ctx, tenant, invite).await? {
        Err(form) => form,
        Ok(invite) => Form::Open {
            address: invite.and_then(|i| i.address),
        },
    })
}

/// The tenant's mode applied to the invitation given (if any): the usable invitation, or what
/// to show instead of the form.
async fn invitation(
    ctx: &Ctx,
    tenant: &Tenant,
    token: Option<&str>,
) -> Result<Result<Option<invites::Invite>, Form>, AdminError> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let mode = tenant.policy.registration.mode;
    match (mode, token) {
        (RegistrationMode::Off, _) => Ok(Err(Form::Closed)),
        (RegistrationMode::Invite, None) => Ok(Err(Form::InviteRequired)),
        (RegistrationMode::Open, None) => Ok(Ok(None)),
        (_, Some(token)) => Ok(match invites::check(ctx, tenant, token).await? {
            invites::Checked::Valid(i) => Ok(Some(i)),
            invites::Checked::Invalid => Err(Form::Invite(InviteProblem::Invalid)),
            invites::Checked::Spent => Err(Form::Invite(InviteProblem::Spent)),
        }),
    }
}

/// A sign-up as the form sends it.
pub struct SignUp<'a> {
    pub username: &'a str,
    /// Ignored when the invitation is bound to an address (that address is used).
    pub email: &'a str,
    pub password: &'a Secret<String>,
    pub invite: Option<&'a str>,
    /// The client's address (throttling).
    pub ip: IpAddr,
    pub origin: Origin,
}

/// What a sign-up did.
#[derive(Debug)]
pub enum Requested {
    /// "Check your mail": the same for every well-formed sign-up (see the module docs).
    CheckYourMail,
    /// An invitation mailed to this address proved it: the account exists now.
    Created { username: String },
    /// Input to fix, shown on the form: which field (`username`, `email`, `password`) and why.
    /// Never says anything about other accounts, except after an invitation that proved the
    /// address (whose holder may learn that a username is taken).
    Rejected {
        field: &'static str,
        message: String,
    },
    /// Too many sign-ups from this address: try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
    /// Not possible here: the page's answer instead of the form.
    Refused(Form),
}

pub(super) fn rejected(field: &'static str, message: impl Into<String>) -> Requested {
    Requested::Rejected {
        field,
        message: message.into(),
    }
}

/// Longest password looked at (the policy's own maximum is lower).
const MAX_PASSWORD_BYTES: usize = 4096;

/// Handles a sign-up of `tenant`.
pub async fn request(ctx: &Ctx, tenant: &Tenant, s: SignUp<'_>) -> Result<Requested, AdminError> {
    let invite = match invitation(ctx, tenant, s.invite).await? {
        Ok(invite) => invite,
        Err(form) => return Ok(Requested::Refused(form)),
    };
    let username = match Username::parse(s.username) {
        Ok(u) => u,
        Err(e) => return Ok(rejected("username", format!("The username {}.", e.message))),
    };
    let raw_email = invite
        .as_ref()
        .and_then(|i| i.address.as_deref())
        .unwrap_or(s.email);
    let email = match Email::parse(raw_email) {
        Ok(e) if Recipient::new(e.as_str(), None).is_some() => e,
        _ => return Ok(rejected("email", "Enter a valid e-mail address.")),
    };
    let password = s.password.expose();
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(rejected(
            "password",
            format!(
                "Use at most {} characters.",
                tenant.policy.password.max_length
            ),
        ));
    }
    if let Err(why) = tenant
        .policy
        .password
        .check(password, &[username.as_str(), email.as_str()])
    {
        return Ok(rejected("password", why.to_string()));
    }
    if let Some(why) = crate::risk::breach::refusal(&ctx.breach, password).await {
        return Ok(rejected("password", why));
    }
    if let Hourly::Refused { retry_after } = hourly::per_address(
        ctx,
        tenant,
        "registration_address",
        s.ip,
        REQUESTS_PER_HOUR_PER_ADDRESS,
    )
    .await?
    {
        return Ok(Requested::Throttled { retry_after });
    }
    if let Some(invite) = invite.as_ref().filter(|i| i.proves_address) {
        return create_now(ctx, tenant, &username, &email, s.password, invite, s.origin).await;
    }
    let (ctx, tenant) = (ctx.clone(), tenant.clone());
    let password = zeroize::Zeroizing::new(password.to_owned());
    let invite = invite.map(|i| i.digest);
    let origin = s.origin;
    tokio::spawn(async move {
        let pending = Pending {
            username,
            email,
            password,
            invite,
        };
        if let Err(e) = send(&ctx, &tenant, pending, origin).await {
            tracing::error!(error = %e, tenant = %tenant.slug, "could not handle a sign-up");
        }
    });
    Ok(Requested::CheckYourMail)
}

/// A sign-up handed to the background.
struct Pending {
    username: Username,
    email: Email,
    password: zeroize::Zeroizing<String>,
    invite: Option<String>,
}

/// A keyed tag of an address for the audit log (repeated sign-ups show, the address does not).
fn address_tag(ctx: &Ctx, email: &Email) -> String {
    hex::encode(&hmac_sha256(&ctx.keys.secret_hash, email.normalized().as_bytes())[..8])
}

/// The background half of [`request`]: the message for this address and, for a new address and
/// username, the pending registration with it.
async fn send(ctx: &Ctx, tenant: &Tenant, p: Pending, origin: Origin) -> Result<(), AdminError> {
    let audit = |outcome: &str| {
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::RegistrationRequested,
            outcome,
            Actor::Anonymous,
        )
        .origin(origin.clone())
        .details(serde_json::json!({ "address_hmac": address_tag(ctx, &p.email) }))
    };
    if let Hourly::Refused { .. } = hourly::per_value(
        ctx,
        tenant,
        "registration_mail",
        p.email.normalized(),
        MAILS_PER_HOUR_PER_ADDRESS,
    )
    .await?
    {
        storage::audit::record(&ctx.db, audit("throttled")).await;
        return Ok(());
    }
    let Some(to) = Recipient::new(p.email.as_str(), None) else {
        return Ok(());
    };
    let origin_url = ctx.config.public_origin();
    let tenant_id = tenant.id;
    let (by_email, by_name) = (
        LoginIdentifier::Email(p.email.normalized().to_owned()),
        LoginIdentifier::Username(p.username.normalized().to_owned()),
    );
    let (owner, name_taken) = ctx
        .db
        .run(move |c| {
            let owner = storage::users::find_by_identifier(c, tenant_id, &by_email)?;
            let taken = storage::users::find_by_identifier(c, tenant_id, &by_name)?.is_some();
            Ok((owner.map(|o| (o.user.id, o.user.email)), taken))
        })
        .await?;
    let (outcome, subject) = if let Some((owner, stored)) = owner {
        // To the account's own spelling of the address (the same mailbox).
        let to = stored
            .as_deref()
            .and_then(|a| Recipient::new(a, None))
            .unwrap_or(to);
        let rendered = message::account_exists(message::AccountExists {
            tenant: tenant.display_name.clone(),
            sign_in: format!("{origin_url}/t/{}/login", tenant.slug),
        });
        queue(ctx, tenant, &to, rendered).await?;
        ("address_taken", Some(owner))
    } else if name_taken {
        let rendered = message::username_unavailable(message::UsernameUnavailable {
            tenant: tenant.display_name.clone(),
            username: p.username.as_str().to_owned(),
            register: format!("{origin_url}/t/{}/register", tenant.slug),
        });
        queue(ctx, tenant, &to, rendered).await?;
        ("username_taken", None)
    } else {
        let hash = ctx.hasher.hash(&p.password).await?;
        let token = random::token();
        let rendered = message::confirm_registration(message::ConfirmRegistration {
            tenant: tenant.display_name.clone(),
            username: p.username.as_str().to_owned(),
            link: format!(
                "{origin_url}/t/{}/register/confirm?token={token}",
                tenant.slug
            ),
            hours: LINK_HOURS,
        });
        let (digest, key, now) = (
            links::digest(ctx, &token),
            *ctx.keys.encryption,
            ctx.clock.unix(),
        );
        let (username, email) = (p.username.as_str().to_owned(), p.email.as_str().to_owned());
        let invite = p.invite.clone();
        ctx.db
            .write(move |c| {
                storage::write_transaction(c, |c| {
                    registrations::put(
                        c,
                        &registrations::NewRegistration {
                            digest: &digest,
                            tenant: tenant_id,
                            username: &username,
                            email: &email,
                            password_hash: &hash,
                            invite_digest: invite.as_deref(),
                            now,
                            expires_at: now + LINK_HOURS * 3600,
                        },
                    )?;
                    mail::queue(c, &key, now, Some(tenant_id), &to, &rendered)?;
                    Ok(())
                })
            })
            .await?;
        ctx.mail.wake();
        ("sent", None)
    };
    let mut event = audit(outcome);
    if let Some(owner) = subject {
        event = event.subject(format!("user:{owner}"));
    }
    storage::audit::record(&ctx.db, event).await;
    Ok(())
}

/// Queues one message of the tenant to `to`.
async fn queue(
    ctx: &Ctx,
    tenant: &Tenant,
    to: &Recipient,
    rendered: Rendered,
) -> Result<(), AdminError> {
    let (key, now, tenant_id, to) = (
        *ctx.keys.encryption,
        ctx.clock.unix(),
        tenant.id,
        to.clone(),
    );
    ctx.db
        .write(move |c| mail::queue(c, &key, now, Some(tenant_id), &to, &rendered))
        .await?;
    ctx.mail.wake();
    Ok(())
}
