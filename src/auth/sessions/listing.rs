//! Sessions read in bulk: every session of a user (its index, pruned of records that are gone)
//! and the expiry sweep's claims on sessions past their deadline (each claimed by one replica)
//! and putting back the ones still alive.

use super::{EXPIRY_INDEX, EXPIRY_INDEX_TTL, Found, Sessions, deadline, user_index};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::session::SessionPolicy;
use crate::session_store::StoreError;

impl Sessions {
    /// Every session of a user (live or timed out but not yet swept), oldest first.
    pub async fn list_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<Found>, StoreError> {
        let index = user_index(tenant, user);
        let mut out = Vec::new();
        for (sid, _) in self.store.index_members(&index).await? {
            match self.load(&sid).await? {
                Some(record) => out.push(Found { record }),
                None => {
                    self.store.index_remove(&index, &sid).await?;
                }
            }
        }
        Ok(out)
    }

    /// Claims up to `limit` sessions whose deadline has passed. Each is claimed by exactly one
    /// replica; the caller ends it, or puts it back with [`Sessions::reschedule`] if it turns
    /// out to be alive (activity, or a longer policy since).
    pub async fn claim_due(&self, limit: usize) -> Result<Vec<Found>, StoreError> {
        let now = self.clock.unix();
        let mut out = Vec::new();
        for (sid, _) in self.store.index_up_to(EXPIRY_INDEX, now, limit).await? {
            if !self.store.index_remove(EXPIRY_INDEX, &sid).await? {
                continue;
            }
            if let Some(record) = self.load(&sid).await? {
                out.push(Found { record });
            }
        }
        Ok(out)
    }

    /// Puts a claimed session back into the expiry index with its current deadline.
    pub async fn reschedule(
        &self,
        found: &Found,
        policy: &SessionPolicy,
    ) -> Result<(), StoreError> {
        self.store
            .index_add(
                EXPIRY_INDEX,
                &found.record.sid,
                deadline(&found.record, policy),
                EXPIRY_INDEX_TTL,
            )
            .await
    }
}
