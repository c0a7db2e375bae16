//! Who an upstream identity is here. Identities are keyed by provider and upstream subject,
//! never by e-mail: a linked identity signs in as its user; a new one is linked to the signed-in
//! user who asked (account page), or, when it matches an existing account by e-mail address or
//! username, linked only after that account is proven, unless the provider is trusted for
//! e-mail, the upstream says the address is verified, its domain is the provider's, and the
//! account's own address is verified too (no "nOAuth" takeover, no pre-registered account
//! hijack); otherwise a new account is created (JIT) when the provider allows it.

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::idp::{IdentityProvider, Linking};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::domain::user::{LoginIdentifier, User, Username};
use crate::storage::{self, idps::IdentityRow};

use super::FederationError;
use super::flow::Intent;

/// A person as the upstream provider describes them, after its token or assertion was verified.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// Provider-scoped and stable: OIDC `sub`, Entra `tid:oid`, SAML persistent NameID.
    pub subject: String,
    pub email: Option<String>,
    /// The upstream vouches for the address.
    pub email_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    /// `None` when unknown (an unresolved overage).
    pub groups: Option<Vec<String>>,
    /// The upstream proved multi-factor authentication.
    pub mfa: bool,
    /// The upstream session (OIDC `sid`, SAML `SessionIndex`).
    pub sid: Option<String>,
    /// The upstream's cap on the session (SAML `SessionNotOnOrAfter`), Unix seconds.
    pub until: Option<i64>,
}

impl Person {
    /// The address, if the provider is trusted for e-mail, the upstream verified it, and its
    /// domain is one the provider owns.
    pub fn trusted_email(&self, idp: &IdentityProvider) -> Option<&str> {
        let email = self.email.as_deref()?;
        let domain = email.rsplit_once('@')?.1;
        (idp.settings.trust_email && self.email_verified && idp.owns_domain(domain))
            .then_some(email)
    }
}

/// What resolving found.
pub enum Resolved {
    /// Sign in (or, for a link, go back to the account page) as this user.
    User(Box<User>),
    /// An existing account matches and must be proven first (its own sign-in), then linked.
    NeedsProof {
        user: Box<User>,
        identity: IdentityRow,
    },
}

fn identity_row(idp: &IdentityProvider, person: &Person, user: UserId, now: i64) -> IdentityRow {
    IdentityRow {
        idp_id: idp.id.to_string(),
        subject: person.subject.clone(),
        tenant_id: idp.tenant_id.to_string(),
        user_id: user.to_string(),
        email: person.email.clone(),
        created_at: now,
        last_used_at: now,
    }
}

/// Audits a link: the provider as `(slug, kind)`.
pub async fn audit_link(
    ctx: &Ctx,
    tenant: &Tenant,
    (slug, kind): (&str, crate::domain::idp::IdpKind),
    user: UserId,
    how: &str,
    origin: Origin,
) {
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::IdentityLinked,
        how,
        Actor::User(user.to_string()),
    )
    .origin(origin)
    .subject(format!("user:{user}"))
    .details(serde_json::json!({ "idp": slug, "kind": kind.as_str() }));
    storage::audit::record(&ctx.db, event).await;
}

async fn load_user(ctx: &Ctx, tenant: &Tenant, id: UserId) -> Result<User, FederationError> {
    let t = tenant.id;
    ctx.db
        .run(move |c| storage::users::find_by_id(c, t, id))
        .await?
        .map(|f| f.user)
        .ok_or(FederationError::NoAccount)
}

pub async fn resolve(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    person: &Person,
    intent: &Intent,
    origin: &Origin,
) -> Result<Resolved, FederationError> {
    if person.subject.is_empty() || person.subject.len() > 512 {
        return Err(FederationError::NoSubject);
    }
    let now = ctx.clock.unix();
    let (idp_id, subject) = (idp.id, person.subject.clone());
    let linked = ctx
        .db
        .run(move |c| storage::idps::user_of(c, idp_id, &subject, now))
        .await?;
    if let Intent::Link { user, .. } = intent {
        return match linked {
            Some(owner) if owner == *user => Ok(Resolved::User(Box::new(
                load_user(ctx, tenant, owner).await?,
            ))),
            Some(_) => Err(FederationError::AlreadyLinked),
            None => {
                let row = identity_row(idp, person, *user, now);
                if !ctx.db.run(move |c| storage::idps::link(c, &row)).await? {
                    return Err(FederationError::AlreadyLinked);
                }
                audit_link(
                    ctx,
                    tenant,
                    (&idp.slug, idp.kind),
                    *user,
                    "account",
                    origin.clone(),
                )
                .await;
                Ok(Resolved::User(Box::new(
                    load_user(ctx, tenant, *user).await?,
                )))
            }
        };
    }
    if let Some(owner) = linked {
        return Ok(Resolved::User(Box::new(
            load_user(ctx, tenant, owner).await?,
        )));
    }
    // Not linked yet: does an existing account match?
    let matched = matching_account(ctx, tenant, person).await?;
    if let Some((user, by_email)) = matched {
        let trusted = idp.settings.linking == Linking::TrustedEmail
            && by_email
            && user.email_verified
            && person.trusted_email(idp).is_some();
        return match idp.settings.linking {
            Linking::Never => Err(FederationError::LinkRefused),
            _ if trusted => {
                let row = identity_row(idp, person, user.id, now);
                if !ctx.db.run(move |c| storage::idps::link(c, &row)).await? {
                    return Err(FederationError::AlreadyLinked);
                }
                audit_link(
                    ctx,
                    tenant,
                    (&idp.slug, idp.kind),
                    user.id,
                    "trusted_email",
                    origin.clone(),
                )
                .await;
                Ok(Resolved::User(Box::new(user)))
            }
            _ => {
                let identity = identity_row(idp, person, user.id, now);
                Ok(Resolved::NeedsProof {
                    user: Box::new(user),
                    identity,
                })
            }
        };
    }
    if !idp.settings.jit {
        return Err(FederationError::NoAccount);
    }
    let user = create(ctx, tenant, idp, person, now).await?;
    Ok(Resolved::User(Box::new(user)))
}

/// An account with the person's e-mail address (`true`) or mapped username (`false`).
async fn matching_account(
    ctx: &Ctx,
    tenant: &Tenant,
    person: &Person,
) -> Result<Option<(User, bool)>, FederationError> {
    let t = tenant.id;
    if let Some(email) = person.email.clone() {
        let id = LoginIdentifier::from_input(&email);
        if matches!(id, LoginIdentifier::Email(_))
            && let Some(found) = ctx
                .db
                .run(move |c| storage::users::find_by_identifier(c, t, &id))
                .await?
        {
            return Ok(Some((found.user, true)));
        }
    }
    if let Some(name) = person.username.as_deref().and_then(username_from) {
        let id = LoginIdentifier::Username(crate::domain::user::normalize(&name));
        if let Some(found) = ctx
            .db
            .run(move |c| storage::users::find_by_identifier(c, t, &id))
            .await?
        {
            return Ok(Some((found.user, false)));
        }
    }
    Ok(None)
}

/// A username from an upstream value: the local part of an address-like value, characters we
/// do not allow replaced, at most 64.
fn username_from(raw: &str) -> Option<String> {
    let raw = raw.split('@').next().unwrap_or(raw);
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .take(56)
        .collect();
    Username::parse(&cleaned)
        .ok()
        .map(|u| u.as_str().to_owned())
}

/// JIT: a new account (no password) with the identity linked, in one transaction. Two
/// concurrent first sign-ins of one identity converge on one account; a taken username gets a
/// random suffix.
async fn create(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    person: &Person,
    now: i64,
) -> Result<User, FederationError> {
    let base = person
        .username
        .as_deref()
        .and_then(username_from)
        .or_else(|| person.email.as_deref().and_then(username_from))
        .unwrap_or_else(|| "user".into());
    let email = person
        .email
        .as_deref()
        .and_then(|e| crate::domain::user::Email::parse(e).ok())
        .map(|e| e.as_str().to_owned());
    let verified = person.trusted_email(idp).is_some();
    let name = person
        .name
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(128)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    for attempt in 0..4 {
        let username = if attempt == 0 {
            base.clone()
        } else {
            format!(
                "{base}-{}",
                &crate::crypto::random::token()[..6].to_ascii_lowercase()
            )
        };
        let user = User {
            id: UserId::generate(),
            tenant_id: tenant.id,
            username,
            email: email.clone(),
            email_verified: verified && email.is_some(),
            display_name: name.clone(),
            enabled: true,
            admin_role: None,
            created_at: ctx.clock.now(),
            updated_at: ctx.clock.now(),
            version: 1,
        };
        let row = identity_row(idp, person, user.id, now);
        let u = user.clone();
        match ctx
            .db
            .write(move |c| storage::idps::create_linked(c, &u, &row))
            .await
        {
            Ok(Ok(())) => {
                let event = AuditEvent::new(
                    ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::UserCreated,
                    "success",
                    Actor::System,
                )
                .subject(format!("user:{}", user.id))
                .details(serde_json::json!({ "jit": idp.slug }));
                storage::audit::record(&ctx.db, event).await;
                audit_link(
                    ctx,
                    tenant,
                    (&idp.slug, idp.kind),
                    user.id,
                    "jit",
                    Origin::default(),
                )
                .await;
                return Ok(user);
            }
            Ok(Err(winner)) => return load_user(ctx, tenant, winner).await,
            Err(crate::storage::StorageError::Conflict(what)) => {
                // A concurrent first sign-in of the same identity won (its new account holds
                // the username or address): that account. Otherwise a taken username gets a
                // suffix; an address that an account created meanwhile holds needs its proof.
                let (idp_id, subject) = (idp.id, person.subject.clone());
                if let Some(winner) = ctx
                    .db
                    .run(move |c| storage::idps::user_of(c, idp_id, &subject, now))
                    .await?
                {
                    return load_user(ctx, tenant, winner).await;
                }
                if what == "email" {
                    return Err(FederationError::LinkRefused);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(FederationError::NoAccount)
}
