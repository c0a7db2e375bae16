//! What a user has given applications: remembered consent and live grants (refresh-token
//! families, offline ones included), per client; and withdrawing it (the consent is forgotten,
//! the grants and their access tokens revoked, the next authorization asks again).

use std::collections::BTreeMap;

use super::revocation::RevokeError;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::storage::{self, grants::GrantRow, grants::Whose};

/// Approved scopes and when they were approved.
pub type Consent = (Vec<String>, i64);

/// One client's access to the user's account.
#[derive(Clone, Debug)]
pub struct AppAccess {
    pub client_id: String,
    /// The client's name (its id if the client no longer exists).
    pub name: String,
    pub first_party: bool,
    /// The scopes the user approved and when (none for first-party clients).
    pub consent: Option<Consent>,
    /// Live grants, newest first.
    pub grants: Vec<GrantRow>,
}

impl AppAccess {
    /// Does any grant outlive the browser session it started in?
    pub fn offline(&self) -> bool {
        self.grants.iter().any(|g| g.offline)
    }

    /// When access was last given: the consent or the newest grant (Unix seconds).
    pub fn last_given(&self) -> i64 {
        let newest = self.grants.iter().map(|g| g.created_at).max().unwrap_or(0);
        newest.max(self.consent.as_ref().map_or(0, |c| c.1))
    }
}

/// The clients that have the user's consent or a live grant, most recent first.
pub async fn of_user(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<AppAccess>, RevokeError> {
    let (tenant_id, now) = (tenant.id, ctx.clock.unix());
    let (consents, grants, clients) = ctx
        .db
        .run(move |c| {
            let consents = storage::consents::of_user(c, tenant_id, user)?;
            let grants = storage::grants::of_user(c, tenant_id, user, now)?;
            let mut clients = BTreeMap::new();
            for id in consents
                .iter()
                .map(|x| &x.0)
                .chain(grants.iter().map(|g| &g.client_id))
            {
                if !clients.contains_key(id) {
                    let found = storage::clients::find(c, tenant_id, id)?.map(|f| f.client);
                    clients.insert(id.clone(), found);
                }
            }
            Ok((consents, grants, clients))
        })
        .await?;
    let mut by_client: BTreeMap<String, (Option<Consent>, Vec<GrantRow>)> = BTreeMap::new();
    for (client_id, scopes, at) in consents {
        by_client.entry(client_id).or_default().0 = Some((scopes, at));
    }
    for g in grants {
        by_client.entry(g.client_id.clone()).or_default().1.push(g);
    }
    let mut out = Vec::with_capacity(by_client.len());
    for (client_id, (consent, grants)) in by_client {
        let client = clients.get(&client_id).and_then(Option::as_ref);
        out.push(AppAccess {
            name: client.map_or_else(|| client_id.clone(), |c| c.name.clone()),
            first_party: client.is_some_and(|c| c.settings.first_party),
            client_id,
            consent,
            grants,
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.last_given()));
    Ok(out)
}

/// What withdrawing a client's access did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdrawn {
    pub consent: bool,
    pub grants: usize,
}

impl Withdrawn {
    pub fn anything(&self) -> bool {
        self.consent || self.grants > 0
    }
}

/// Forgets the user's consent to `client_id` and revokes every grant the client holds from the
/// user (refresh tokens in the database, access tokens by their grant). Audited when anything
/// was withdrawn.
pub async fn withdraw(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    client_id: &str,
    origin: Origin,
) -> Result<Withdrawn, RevokeError> {
    withdraw_by(
        ctx,
        tenant,
        user,
        client_id,
        Actor::User(user.to_string()),
        origin,
    )
    .await
}

/// [`withdraw`], done by `actor` (the user themself, or an administrator).
pub async fn withdraw_by(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    client_id: &str,
    actor: Actor,
    origin: Origin,
) -> Result<Withdrawn, RevokeError> {
    let (tenant_id, now) = (tenant.id, ctx.clock.unix());
    let (user_s, client_s) = (user.to_string(), client_id.to_owned());
    let (consent, families) = ctx
        .db
        .write(move |c| {
            let consent = storage::consents::delete(c, tenant_id, user, &client_s)?;
            let families =
                storage::grants::revoke(c, tenant_id, Whose::UserClient(&user_s, &client_s), now)?;
            Ok((consent, families))
        })
        .await?;
    for family in &families {
        super::revocation::mark_grant(ctx, family).await?;
    }
    let done = Withdrawn {
        consent,
        grants: families.len(),
    };
    if done.anything() {
        storage::audit::record(
            &ctx.db,
            AuditEvent::new(
                ctx.clock.now(),
                Some(tenant.id),
                AuditAction::AccessWithdrawn,
                "success",
                actor,
            )
            .subject(format!("client:{client_id}"))
            .origin(origin)
            .details(serde_json::json!({
                "user": user.to_string(),
                "consent_forgotten": consent,
                "grants_revoked": families.len(),
            })),
        )
        .await;
    }
    Ok(done)
}
