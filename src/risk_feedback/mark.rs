//! An operator's feedback on a sign-in event (`watchword risk mark`, the admin API's `POST /events/{id}/mark`). `valid` confirms the
//! event's device and place like "this was me"; `invalid` marks the event and forgets its device,
//! and ends the user's sessions and revokes their grants only when asked (`end_sessions`: the
//! operator may know more, or less, than the user). Needs `events:write` (and `sessions:write` to
//! end sessions); audited with the administrator as actor.

use super::{Value, record, user_of, write_feedback};
use crate::admin::AdminError;
use crate::admin::access::{self, AccessEnded};
use crate::admin::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::tenant::Tenant;
use crate::domain::user::InvalidInput;
use crate::storage::{self, risk::SignInEvent};

/// What marking did.
#[derive(Debug)]
pub struct Marked {
    /// The event as it was before the mark.
    pub event: SignInEvent,
    /// What ending access did (`None` unless asked).
    pub ended: Option<AccessEnded>,
}

/// Marks event `id` of `tenant` with `value`.
pub async fn mark(
    ctx: &Ctx,
    tenant: &Tenant,
    id: &str,
    value: Value,
    end_sessions: bool,
    by: &Admin,
) -> Result<Marked, AdminError> {
    by.require(tenant.id, Permission::write(Module::Events))?;
    if end_sessions {
        by.require(tenant.id, Permission::write(Module::Sessions))?;
    }
    let actor = by.actor();
    if end_sessions && value != Value::Invalid {
        return Err(InvalidInput::new(
            "end_sessions",
            "goes only with an invalid mark (a sign-in that was not the user's)",
        )
        .into());
    }
    let (tenant_id, lookup) = (tenant.id, id.to_owned());
    let event = ctx
        .db
        .run(move |c| storage::risk::find(c, tenant_id, &lookup))
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "sign-in event {id:?} in tenant {:?}",
                tenant.slug.as_str()
            ))
        })?;
    let user = user_of(&event);
    let now = ctx.clock.unix();
    let (t, e) = (tenant.clone(), event.clone());
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| write_feedback(c, &t, &e, user, value, now))
        })
        .await?;
    let ended = match user {
        Some(user) if end_sessions => Some(access::end_all(ctx, tenant, user, actor.clone()).await),
        _ => None,
    };
    let mut details = serde_json::json!({ "via": "operator" });
    match &ended {
        Some(Ok(a)) => {
            details["sessions_ended"] = a.sessions.into();
            details["grants_revoked"] = a.grants.into();
        }
        Some(Err(e)) => details["ending_access_failed"] = e.to_string().into(),
        None => {}
    }
    record(
        ctx,
        tenant,
        &event,
        value,
        actor,
        by.origin.clone(),
        details,
    )
    .await;
    Ok(Marked {
        event,
        ended: ended.transpose()?,
    })
}
