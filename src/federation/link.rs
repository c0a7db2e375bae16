//! Linking an upstream identity to an existing account after that account is proven: the
//! identity parked (ten minutes, the browser holds its token in a cookie) until the account's
//! own sign-in finishes (second factor included), then linked if it is the account it matched;
//! a user's linked identities; unlinking, never the account's last way in.

use std::time::Duration;

use super::FederationError;
use super::identity;
use crate::context::Ctx;
use crate::crypto::sha256_hex;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{self, StorageError, idps::IdentityRow};

/// How long a link waiting for the account's proof lives.
const LINK_TTL: Duration = Duration::from_secs(600);

fn link_key(token: &str) -> String {
    format!("fedlink:{}", sha256_hex(token.as_bytes()))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ParkedLink {
    idp_id: String,
    /// The provider as it was when the identity was parked (for the audit event).
    idp_slug: String,
    idp_kind: crate::domain::idp::IdpKind,
    subject: String,
    tenant_id: String,
    user_id: String,
    email: Option<String>,
}

pub(super) async fn park(
    ctx: &Ctx,
    idp: &crate::domain::idp::IdentityProvider,
    identity: &IdentityRow,
) -> Result<String, FederationError> {
    let token = crate::crypto::random::token();
    let parked = ParkedLink {
        idp_id: identity.idp_id.clone(),
        idp_slug: idp.slug.clone(),
        idp_kind: idp.kind,
        subject: identity.subject.clone(),
        tenant_id: identity.tenant_id.clone(),
        user_id: identity.user_id.clone(),
        email: identity.email.clone(),
    };
    let bytes = serde_json::to_vec(&parked).expect("links serialize");
    ctx.store.set(&link_key(&token), &bytes, LINK_TTL).await?;
    Ok(token)
}

/// After a finished local sign-in of `user` in a browser that holds a link cookie: links the
/// waiting identity if `user` is the account it matched (proven by this sign-in, second factor
/// included). Used up either way. Whether it linked.
pub async fn complete_link(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    user: &User,
    origin: Origin,
) -> Result<bool, FederationError> {
    let Some(bytes) = ctx.store.take(&link_key(token)).await? else {
        return Ok(false);
    };
    let Ok(parked) = serde_json::from_slice::<ParkedLink>(&bytes) else {
        return Ok(false);
    };
    if parked.tenant_id != tenant.id.to_string() || parked.user_id != user.id.to_string() {
        return Ok(false);
    }
    let now = ctx.clock.unix();
    let row = IdentityRow {
        idp_id: parked.idp_id,
        subject: parked.subject,
        tenant_id: parked.tenant_id,
        user_id: parked.user_id,
        email: parked.email,
        created_at: now,
        last_used_at: now,
    };
    if !ctx.db.run(move |c| storage::idps::link(c, &row)).await? {
        return Ok(false);
    }
    identity::audit_link(
        ctx,
        tenant,
        (&parked.idp_slug, parked.idp_kind),
        user.id,
        "proven",
        origin,
    )
    .await;
    Ok(true)
}

/// A user's linked identities: (provider slug, provider name, subject, linked at).
pub async fn linked(
    ctx: &Ctx,
    user: &User,
) -> Result<Vec<(String, String, String, i64)>, FederationError> {
    let u = user.id;
    Ok(ctx
        .db
        .run(move |c| storage::idps::of_user(c, u))
        .await?
        .into_iter()
        .map(|(row, slug, name)| (slug, name, row.subject, row.created_at))
        .collect())
}

/// What unlinking did.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    NotLinked,
    /// The account has no password and no other linked identity: unlinking would lock the
    /// user out, so it was refused.
    LastWayIn,
}

/// Removes one of the user's identities (account page or operator); audited. Refused when it
/// is the account's only way to sign in.
pub async fn unlink(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    slug: &str,
    subject: &str,
    actor: Actor,
    origin: Origin,
) -> Result<Unlinked, StorageError> {
    let (t, u, s, sub) = (tenant.id, user.id, slug.to_owned(), subject.to_owned());
    // The "last way in" check and the delete are one transaction under the user row's lock, so
    // two unlinks of a user's last two identities at once cannot both pass the check.
    let outcome = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                storage::users::lock(c, t, u)?;
                let has_password =
                    storage::users::find_by_id(c, t, u)?.is_some_and(|f| f.password_hash.is_some());
                let identities = storage::idps::of_user(c, u)?;
                if !identities
                    .iter()
                    .any(|(row, slug, _)| *slug == s && row.subject == sub)
                {
                    return Ok(Unlinked::NotLinked);
                }
                if !has_password && identities.len() <= 1 {
                    return Ok(Unlinked::LastWayIn);
                }
                let Some(stored) = storage::idps::find_by_slug(c, t, &s)? else {
                    return Ok(Unlinked::NotLinked);
                };
                Ok(if storage::idps::unlink(c, u, stored.idp.id, &sub)? {
                    Unlinked::Done
                } else {
                    Unlinked::NotLinked
                })
            })
        })
        .await?;
    if outcome != Unlinked::Done {
        return Ok(outcome);
    }
    let event = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::IdentityUnlinked,
        "success",
        actor,
    )
    .origin(origin)
    .subject(format!("user:{}", user.id))
    .details(serde_json::json!({ "idp": slug }));
    storage::audit::record(&ctx.db, event).await;
    Ok(Unlinked::Done)
}
