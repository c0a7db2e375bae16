//! Browser sessions in the session store. The cookie carries a 256-bit random token; the store
//! keys the record by the token's SHA-256, so a store dump yields no usable cookie. Each user has
//! an index of their sessions so that all of them can be listed or ended.

use std::time::Duration;

use crate::clock::SharedClock;
use crate::crypto::{random, sha256_hex};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::secret::Secret;
use crate::domain::session::{
    AuthMethod, BrowserSession, EXPIRED_GRACE_SECS, SessionPolicy, SessionState,
};
use crate::domain::tenant::Tenant;
use crate::session_store::{SharedStore, StoreError};

/// A session just created: the cookie value (secret) and the record.
#[derive(Debug)]
pub struct NewSession {
    pub token: Secret<String>,
    pub record: BrowserSession,
}

/// What a session cookie turned out to be.
#[derive(Debug)]
pub enum SessionLookup {
    Active(BrowserSession),
    /// It existed but timed out; the record has been deleted.
    Expired(BrowserSession, SessionState),
    /// Unknown, forged, ended or belonging to another tenant.
    Missing,
}

#[derive(Clone)]
pub struct Sessions {
    store: SharedStore,
    clock: SharedClock,
}

fn record_key(token_hash: &str) -> String {
    format!("sess:{token_hash}")
}

fn user_index(tenant: TenantId, user: UserId) -> String {
    format!("usess:{tenant}:{user}")
}

/// User agents are attacker-controlled; keep what we store bounded.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Sessions {
    pub fn new(store: SharedStore, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Creates a session for a user who has just proven who they are.
    pub async fn create(
        &self,
        tenant: &Tenant,
        user: UserId,
        amr: Vec<AuthMethod>,
        ip: &str,
        user_agent: &str,
    ) -> Result<NewSession, StoreError> {
        let now = self.clock.unix();
        let token = random::token();
        let token_hash = sha256_hex(token.as_bytes());
        let record = BrowserSession {
            sid: random::token(),
            tenant_id: tenant.id,
            user_id: user,
            auth_time: now,
            amr,
            ip: clip(ip, 64),
            user_agent: clip(user_agent, 256),
            created_at: now,
            last_seen: now,
        };
        let policy = &tenant.policy.session;
        self.save(&token_hash, &record, policy).await?;
        self.store
            .index_add(
                &user_index(tenant.id, user),
                &token_hash,
                now,
                Duration::from_secs((policy.absolute_timeout_secs + EXPIRED_GRACE_SECS) as u64),
            )
            .await?;
        Ok(NewSession {
            token: Secret::new(token),
            record,
        })
    }

    async fn save(
        &self,
        token_hash: &str,
        record: &BrowserSession,
        policy: &SessionPolicy,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).expect("session records serialize");
        let ttl = record.store_ttl(self.clock.now(), policy);
        self.store
            .set(
                &record_key(token_hash),
                &bytes,
                ttl.to_std().unwrap_or(Duration::from_secs(1)),
            )
            .await
    }

    /// Checks a cookie value against the store and the tenant's timeouts; refreshes `last_seen`.
    pub async fn lookup(&self, tenant: &Tenant, token: &str) -> Result<SessionLookup, StoreError> {
        let token_hash = sha256_hex(token.as_bytes());
        let Some(bytes) = self.store.get(&record_key(&token_hash)).await? else {
            return Ok(SessionLookup::Missing);
        };
        let Ok(mut record) = serde_json::from_slice::<BrowserSession>(&bytes) else {
            tracing::warn!("discarding an unreadable session record");
            self.store.delete(&record_key(&token_hash)).await?;
            return Ok(SessionLookup::Missing);
        };
        if record.tenant_id != tenant.id {
            return Ok(SessionLookup::Missing);
        }
        let now = self.clock.now();
        let policy = &tenant.policy.session;
        match record.state(now, policy) {
            SessionState::Active => {
                if record.needs_touch(now, policy) {
                    record.last_seen = now.timestamp();
                    self.save(&token_hash, &record, policy).await?;
                }
                Ok(SessionLookup::Active(record))
            }
            state => {
                self.remove(&token_hash, &record).await?;
                Ok(SessionLookup::Expired(record, state))
            }
        }
    }

    /// Ends the session behind a cookie value; returns its record if it existed.
    pub async fn end(&self, token: &str) -> Result<Option<BrowserSession>, StoreError> {
        let token_hash = sha256_hex(token.as_bytes());
        let Some(bytes) = self.store.take(&record_key(&token_hash)).await? else {
            return Ok(None);
        };
        let record = serde_json::from_slice::<BrowserSession>(&bytes).ok();
        if let Some(r) = &record {
            self.store
                .index_remove(&user_index(r.tenant_id, r.user_id), &token_hash)
                .await?;
        }
        Ok(record)
    }

    async fn remove(&self, token_hash: &str, record: &BrowserSession) -> Result<(), StoreError> {
        self.store.delete(&record_key(token_hash)).await?;
        self.store
            .index_remove(&user_index(record.tenant_id, record.user_id), token_hash)
            .await
    }

    /// Live sessions of a user, oldest first.
    pub async fn list_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<BrowserSession>, StoreError> {
        let index = user_index(tenant, user);
        let mut out = Vec::new();
        for (token_hash, _) in self.store.index_members(&index).await? {
            match self.store.get(&record_key(&token_hash)).await? {
                Some(bytes) => {
                    if let Ok(r) = serde_json::from_slice::<BrowserSession>(&bytes) {
                        out.push(r);
                    }
                }
                None => self.store.index_remove(&index, &token_hash).await?,
            }
        }
        Ok(out)
    }

    /// Ends every session of a user (account disabled, password reset); returns how many.
    pub async fn end_all_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<usize, StoreError> {
        let index = user_index(tenant, user);
        let mut ended = 0;
        for (token_hash, _) in self.store.index_members(&index).await? {
            if self.store.delete(&record_key(&token_hash)).await? {
                ended += 1;
            }
            self.store.index_remove(&index, &token_hash).await?;
        }
        Ok(ended)
    }
}
