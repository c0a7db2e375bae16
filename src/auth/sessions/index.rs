//! The session indexes: a user's sessions listed (`usess:<tenant>:<user>`, pruned of records
//! that are gone), a tenant's live sessions counted without a scan (the dashboard;
//! `tsess:<tenant>`) and the expiry sweep claiming sessions whose deadline has passed (`sexp`).

use super::*;

/// A tenant's sessions scored by their deadline, for counting them without a scan (the
/// dashboard). Kept like the expiry index: joined (and left by evicted sessions) inside the
/// atomic admission, moved on activity, left when a session ends; an entry a crash leaves behind
/// stops counting at its deadline.
pub(super) fn tenant_index(tenant: TenantId) -> String {
    format!("tsess:{tenant}")
}

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

    /// How many sessions of the tenant are live (their idle and absolute deadlines ahead), in
    /// one `ZCOUNT`-like read of the tenant's index: never a scan.
    pub async fn count_live(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let now = self.clock.unix();
        self.store
            .index_count_from(&tenant_index(tenant), now + 1)
            .await
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
        let (sid, due) = (&found.record.sid, deadline(&found.record, policy));
        let tenant = tenant_index(found.record.tenant_id);
        self.store
            .index_add(&tenant, sid, due, EXPIRY_INDEX_TTL)
            .await?;
        self.store
            .index_add(EXPIRY_INDEX, sid, due, EXPIRY_INDEX_TTL)
            .await
    }
}
