//! Browser sessions in the session store. The cookie carries a 256-bit random token; the store
//! keys the record by the token's SHA-256, so a store dump yields no usable cookie.
//!
//! Keys (all with TTLs):
//! - `sess:<hash>`: the record; `sid:<sid>`: the public id → hash;
//! - `usess:<tenant>:<user>`: the user's sessions (sorted by creation);
//! - `sexp`: every session by deadline, for the expiry sweep;
//! - `sclients:<sid>`: clients that received tokens in the session (back-channel logout);
//! - `gone:<hash>`: why a session ended, so the browser can be told.
//!
//! This module only reads and writes records. Ending a session *everywhere* (refresh tokens,
//! back-channel logout, audit) is `crate::logout`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::crypto::{random, sha256_hex};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::secret::Secret;
use crate::domain::session::{
    AuthMethod, BrowserSession, EXPIRED_GRACE_SECS, OnLimit, SessionPolicy, SessionState,
};
use crate::domain::tenant::Tenant;
use crate::session_store::{Admission, Admitted, SharedStore, StoreError};

/// A session just created: the cookie value (secret) and the record.
#[derive(Debug)]
pub struct NewSession {
    pub token: Secret<String>,
    pub record: BrowserSession,
}

/// Why a session ended (kept for an hour so a returning browser can be told).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub reason: String,
    pub at: i64,
    /// For a session ended by a sign-in elsewhere (the session limit): where that was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Elsewhere>,
}

/// The sign-in that took a session's place: approximate device and address, for the page that
/// tells the evicted browser what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elsewhere {
    pub device: String,
    pub ip: String,
}

/// What creating a session did.
#[derive(Debug)]
pub enum Created {
    /// The session exists; these sessions of the same user were evicted to make room (their
    /// records are already gone; the caller ends them everywhere, see `crate::logout`).
    Admitted {
        session: NewSession,
        evicted: Vec<Found>,
    },
    /// The user is at the tenant's session limit and the policy is `deny_new`: no session was
    /// created. These are the user's live sessions, oldest first.
    Denied { live: Vec<Found> },
}

/// A live session found by cookie or sid.
#[derive(Debug, Clone)]
pub struct Found {
    /// SHA-256 of the cookie token: the store key of the record.
    pub hash: String,
    pub record: BrowserSession,
}

/// What a session cookie turned out to be.
#[derive(Debug)]
pub enum SessionLookup {
    Active(Found),
    /// It exists but has timed out; the caller must end it (see `crate::logout`).
    Expired(Found, SessionState),
    /// It was ended, for the given reason.
    Ended(Ended),
    /// Unknown, forged, or belonging to another tenant.
    Missing,
}

#[derive(Clone)]
pub struct Sessions {
    store: SharedStore,
    clock: SharedClock,
}

const EXPIRY_INDEX: &str = "sexp";

fn record_key(hash: &str) -> String {
    format!("sess:{hash}")
}

fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

fn gone_key(hash: &str) -> String {
    format!("gone:{hash}")
}

fn clients_key(sid: &str) -> String {
    format!("sclients:{sid}")
}

fn user_index(tenant: TenantId, user: UserId) -> String {
    format!("usess:{tenant}:{user}")
}

/// The SHA-256 under which a cookie token's record is stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// User agents are attacker-controlled; keep what we store bounded.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// When a session times out under `policy` (before the grace period).
pub fn deadline(record: &BrowserSession, policy: &SessionPolicy) -> i64 {
    (record.created_at + policy.absolute_timeout_secs)
        .min(record.last_seen + policy.idle_timeout_secs)
}

impl Sessions {
    pub fn new(store: SharedStore, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Creates a session for a user who has just proven who they are, within the tenant's
    /// session limit: the oldest sessions are evicted (policy `end_oldest`, or `force` when the
    /// user has confirmed ending them) or the sign-in is refused (`deny_new`). Registration and
    /// the choice of whom to evict are one atomic step in the store, across replicas.
    pub async fn create(
        &self,
        tenant: &Tenant,
        user: UserId,
        amr: Vec<AuthMethod>,
        ip: &str,
        user_agent: &str,
        force: bool,
    ) -> Result<Created, StoreError> {
        let now = self.clock.unix();
        let token = random::token();
        let hash = token_hash(&token);
        let record = BrowserSession {
            sid: random::token(),
            tenant_id: tenant.id,
            user_id: user,
            auth_time: now,
            auth_id: random::token()[..16].to_owned(),
            amr,
            ip: clip(ip, 64),
            user_agent: clip(user_agent, 256),
            created_at: now,
            last_seen: now,
        };
        let policy = &tenant.policy.session;
        self.save(&hash, &record, policy).await?;
        let admitted = self
            .store
            .admit_session(&Admission {
                user_index: &user_index(tenant.id, user),
                live_index: EXPIRY_INDEX,
                record_prefix: "sess:",
                member: &hash,
                now,
                index_ttl: Duration::from_secs(
                    (policy.absolute_timeout_secs + EXPIRED_GRACE_SECS) as u64,
                ),
                limit: policy.max_sessions_per_user.max(),
                evict_oldest: force || policy.on_limit == OnLimit::EndOldest,
            })
            .await?;
        match admitted {
            Admitted::Yes { evicted } => Ok(Created::Admitted {
                session: NewSession {
                    token: Secret::new(token),
                    record,
                },
                evicted: evicted
                    .into_iter()
                    .filter_map(|(hash, bytes)| match serde_json::from_slice(&bytes) {
                        Ok(record) => Some(Found { hash, record }),
                        Err(_) => {
                            tracing::warn!("an evicted session had no readable record");
                            None
                        }
                    })
                    .collect(),
            }),
            Admitted::No { live } => {
                self.discard(&hash, &record).await?;
                let mut out = Vec::new();
                for hash in live {
                    if let Some(record) = self.load(&hash).await? {
                        out.push(Found { hash, record });
                    }
                }
                Ok(Created::Denied { live: out })
            }
        }
    }

    /// Deletes a session that was never handed out (refused by the limit).
    async fn discard(&self, hash: &str, record: &BrowserSession) -> Result<(), StoreError> {
        self.store.delete(&record_key(hash)).await?;
        self.store.delete(&sid_key(&record.sid)).await?;
        self.store.index_remove(EXPIRY_INDEX, hash).await?;
        Ok(())
    }

    /// The same user proved who they are again in a browser that has a session: a new cookie
    /// token (no fixation) for the same session (same `sid`, so its clients stay signed in), with
    /// a fresh `auth_time`. The session keeps its place among the user's sessions (one atomic
    /// swap, so it is never counted twice nor missed by a concurrent sign-in). `None` if the
    /// session ended meanwhile (e.g. evicted): the caller creates a new one.
    pub async fn reauthenticate(
        &self,
        tenant: &Tenant,
        old: &Found,
        amr: Vec<AuthMethod>,
        ip: &str,
        user_agent: &str,
    ) -> Result<Option<NewSession>, StoreError> {
        let now = self.clock.unix();
        let token = random::token();
        let hash = token_hash(&token);
        let mut record = old.record.clone();
        record.auth_time = now;
        record.auth_id = random::token()[..16].to_owned();
        record.last_seen = now;
        record.amr = amr;
        record.ip = clip(ip, 64);
        record.user_agent = clip(user_agent, 256);
        let policy = &tenant.policy.session;
        self.save(&hash, &record, policy).await?;
        let index = user_index(tenant.id, record.user_id);
        if !self.store.index_replace(&index, &old.hash, &hash).await? {
            self.discard(&hash, &record).await?;
            return Ok(None);
        }
        self.store.delete(&record_key(&old.hash)).await?;
        self.store.index_remove(EXPIRY_INDEX, &old.hash).await?;
        Ok(Some(NewSession {
            token: Secret::new(token),
            record,
        }))
    }

    /// Writes the record, its sid mapping and its place in the expiry index.
    async fn save(
        &self,
        hash: &str,
        record: &BrowserSession,
        policy: &SessionPolicy,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).expect("session records serialize");
        let ttl = record
            .store_ttl(self.clock.now(), policy)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        self.store.set(&record_key(hash), &bytes, ttl).await?;
        self.store
            .set(&sid_key(&record.sid), hash.as_bytes(), ttl)
            .await?;
        self.store
            .index_add(
                EXPIRY_INDEX,
                hash,
                deadline(record, policy),
                Duration::from_secs(400 * 86_400),
            )
            .await
    }

    async fn load(&self, hash: &str) -> Result<Option<BrowserSession>, StoreError> {
        let Some(bytes) = self.store.get(&record_key(hash)).await? else {
            return Ok(None);
        };
        match serde_json::from_slice::<BrowserSession>(&bytes) {
            Ok(r) => Ok(Some(r)),
            Err(_) => {
                tracing::warn!("discarding an unreadable session record");
                self.store.delete(&record_key(hash)).await?;
                Ok(None)
            }
        }
    }

    /// Checks the session behind a cookie value against the tenant's timeouts; refreshes
    /// `last_seen` when `touch` is set.
    pub async fn lookup(
        &self,
        tenant: &Tenant,
        token: &str,
        touch: bool,
    ) -> Result<SessionLookup, StoreError> {
        self.lookup_hash(tenant, &token_hash(token), touch).await
    }

    /// Like [`Sessions::lookup`], by the session's public id (used by token endpoints).
    pub async fn lookup_sid(
        &self,
        tenant: &Tenant,
        sid: &str,
        touch: bool,
    ) -> Result<SessionLookup, StoreError> {
        match self.store.get(&sid_key(sid)).await? {
            Some(hash) => {
                let hash = String::from_utf8_lossy(&hash).into_owned();
                self.lookup_hash(tenant, &hash, touch).await
            }
            None => Ok(SessionLookup::Missing),
        }
    }

    async fn lookup_hash(
        &self,
        tenant: &Tenant,
        hash: &str,
        touch: bool,
    ) -> Result<SessionLookup, StoreError> {
        let Some(mut record) = self.load(hash).await? else {
            return Ok(match self.store.get(&gone_key(hash)).await? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_or(SessionLookup::Missing, SessionLookup::Ended),
                None => SessionLookup::Missing,
            });
        };
        if record.tenant_id != tenant.id {
            return Ok(SessionLookup::Missing);
        }
        let now = self.clock.now();
        let policy = &tenant.policy.session;
        let found = |record| Found {
            hash: hash.to_owned(),
            record,
        };
        match record.state(now, policy) {
            SessionState::Active => {
                if touch && record.needs_touch(now, policy) {
                    record.last_seen = now.timestamp();
                    self.save(hash, &record, policy).await?;
                }
                Ok(SessionLookup::Active(found(record)))
            }
            state => Ok(SessionLookup::Expired(found(record), state)),
        }
    }

    /// Deletes a session's record and every index entry, and remembers why it ended.
    /// Returns whether this call removed it (another replica may have been first).
    pub async fn remove(
        &self,
        hash: &str,
        record: &BrowserSession,
        ended: &Ended,
    ) -> Result<bool, StoreError> {
        let removed = self.store.delete(&record_key(hash)).await?;
        self.forget(hash, record, ended).await?;
        Ok(removed)
    }

    /// Everything of a session but its record (already taken, e.g. by an eviction): the `sid`
    /// mapping, the index entries, and a note of why it ended for the returning browser.
    pub async fn forget(
        &self,
        hash: &str,
        record: &BrowserSession,
        ended: &Ended,
    ) -> Result<(), StoreError> {
        self.store.delete(&sid_key(&record.sid)).await?;
        self.store
            .index_remove(&user_index(record.tenant_id, record.user_id), hash)
            .await?;
        self.store.index_remove(EXPIRY_INDEX, hash).await?;
        let bytes = serde_json::to_vec(ended).expect("serializes");
        self.store
            .set(
                &gone_key(hash),
                &bytes,
                Duration::from_secs(EXPIRED_GRACE_SECS as u64),
            )
            .await
    }

    /// Why the session behind a cookie value ended, if it did within the last hour.
    pub async fn ended(&self, token: &str) -> Result<Option<Ended>, StoreError> {
        Ok(self
            .store
            .get(&gone_key(&token_hash(token)))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// The record of the session with public id `sid`, whatever its timeout state.
    pub async fn find_by_sid(&self, sid: &str) -> Result<Option<Found>, StoreError> {
        let Some(hash) = self.store.get(&sid_key(sid)).await? else {
            return Ok(None);
        };
        let hash = String::from_utf8_lossy(&hash).into_owned();
        Ok(self.load(&hash).await?.map(|record| Found { hash, record }))
    }

    /// The live record behind a cookie value (for ending it), whatever its timeout state.
    pub async fn find_by_token(&self, token: &str) -> Result<Option<Found>, StoreError> {
        let hash = token_hash(token);
        Ok(self.load(&hash).await?.map(|record| Found { hash, record }))
    }

    /// Every session of a user (live or timed out but not yet swept), oldest first.
    pub async fn list_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<Found>, StoreError> {
        let index = user_index(tenant, user);
        let mut out = Vec::new();
        for (hash, _) in self.store.index_members(&index).await? {
            match self.load(&hash).await? {
                Some(record) => out.push(Found { hash, record }),
                None => {
                    self.store.index_remove(&index, &hash).await?;
                }
            }
        }
        Ok(out)
    }

    /// Notes that `client_id` received tokens in session `sid` (for back-channel logout).
    pub async fn add_client(&self, sid: &str, client_id: &str) -> Result<(), StoreError> {
        self.store
            .index_add(
                &clients_key(sid),
                client_id,
                self.clock.unix(),
                Duration::from_secs(400 * 86_400),
            )
            .await
    }

    /// Clients that received tokens in session `sid`.
    pub async fn clients(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .index_members(&clients_key(sid))
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    pub async fn forget_clients(&self, sid: &str) -> Result<(), StoreError> {
        self.store.delete(&clients_key(sid)).await.map(|_| ())
    }

    /// Claims up to `limit` sessions whose deadline has passed. Each is claimed by exactly one
    /// replica; the caller ends it, or puts it back with [`Sessions::reschedule`] if it turns
    /// out to be alive (activity, or a longer policy since).
    pub async fn claim_due(&self, limit: usize) -> Result<Vec<Found>, StoreError> {
        let now = self.clock.unix();
        let mut out = Vec::new();
        for (hash, _) in self.store.index_up_to(EXPIRY_INDEX, now, limit).await? {
            if !self.store.index_remove(EXPIRY_INDEX, &hash).await? {
                continue;
            }
            if let Some(record) = self.load(&hash).await? {
                out.push(Found { hash, record });
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
                &found.hash,
                deadline(&found.record, policy),
                Duration::from_secs(400 * 86_400),
            )
            .await
    }
}
