//! Revocations that failed when a session was evicted, queued in the store (`rvdue`) and
//! retried by the sweep on every replica until they succeed.

use std::time::Duration;

use super::{EndReason, revoke_grants};
use crate::context::Ctx;
use crate::domain::ids::TenantId;
use crate::session_store::StoreError;

/// Sessions whose grants still have to be revoked: `<tenant id> <sid>`, scored by when to try.
const REVOCATIONS_DUE: &str = "rvdue";
/// How long a failed revocation waits before the next attempt.
const REVOCATION_RETRY_SECS: i64 = 15;

fn due_member(tenant: TenantId, sid: &str) -> String {
    format!("{tenant} {sid}")
}

pub(super) async fn queue_revocation(
    ctx: &Ctx,
    tenant: TenantId,
    sid: &str,
) -> Result<(), StoreError> {
    ctx.store
        .index_add(
            REVOCATIONS_DUE,
            &due_member(tenant, sid),
            ctx.clock.unix(),
            Duration::from_secs(400 * 86_400),
        )
        .await
}

/// Retries the revocations [`end_evicted`] could not do (run by the sweep on every replica).
/// Revoking is idempotent, so replicas racing on one entry do no harm; an entry leaves the queue
/// only once its revocation succeeded. Returns how many succeeded.
pub async fn retry_revocations(ctx: &Ctx) -> usize {
    let now = ctx.clock.unix();
    let due = match ctx.store.index_up_to(REVOCATIONS_DUE, now, 200).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "revocation retry: store unavailable");
            return 0;
        }
    };
    let mut done = 0;
    for (member, _) in due {
        let parsed = member
            .split_once(' ')
            .and_then(|(t, sid)| Some((t.parse::<TenantId>().ok()?, sid)));
        let Some((tenant, sid)) = parsed else {
            let _ = ctx.store.index_remove(REVOCATIONS_DUE, &member).await;
            continue;
        };
        let offline = EndReason::Evicted.ends_offline_grants();
        match revoke_grants(ctx, tenant, sid, offline).await {
            Ok(families) => {
                tracing::info!(session = %sid, families = families.len(), "revoked an evicted session's grants on retry");
                let _ = ctx.store.index_remove(REVOCATIONS_DUE, &member).await;
                done += 1;
            }
            Err(e) => {
                tracing::error!(error = %e, session = %sid, "could not revoke an evicted session's grants; retrying later");
                let _ = ctx
                    .store
                    .index_add(
                        REVOCATIONS_DUE,
                        &member,
                        now + REVOCATION_RETRY_SECS,
                        Duration::from_secs(400 * 86_400),
                    )
                    .await;
            }
        }
    }
    done
}
