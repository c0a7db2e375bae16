//! Browser sessions in the session store. The cookie is `<sid>.<secret>`: the public session id
//! and 256 random bits. The record is stored under the sid with only the SHA-256 of the secret,
//! so a store dump yields no usable cookie, and a cookie is accepted only if its secret matches
//! (compared in constant time).
//!
//! Keys (all with TTLs):
//! - `sess:<sid>`: the record;
//! - `usess:<tenant>:<user>`: the user's sessions, in admission order (the session limit);
//! - `sexp`: every session by deadline (the expiry sweep);
//! - `tsess:<tenant>`: the tenant's sessions by deadline (counted for the dashboard, `index.rs`);
//! - `sclients:<sid>`: clients that received tokens in the session (back-channel logout);
//! - `gone:<sid>`: why a session ended, readable only with its cookie, so the browser can be
//!   told.
//!
//! Records are only ever rewritten if they still exist (`set_existing`): a session ended or
//! evicted meanwhile is never brought back by a late write.
//!
//! This module only reads and writes records. Ending a session *everywhere* (refresh tokens,
//! back-channel logout, audit) is `crate::lifecycle`.

use std::time::Duration;

use crate::clock::SharedClock;
use crate::crypto::{constant_time_eq, random, sha256_b64};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::secret::Secret;
use crate::domain::session::{
    Amr, BrowserSession, EXPIRED_GRACE_SECS, OnLimit, SessionPolicy, SessionRisk, SessionState,
    is_new_authentication, proves_second_factor,
};
use crate::domain::tenant::Tenant;
use crate::session_store::{Admission, Admitted, Rewrite, SharedStore, StoreError};

mod clients;
mod ended;

pub use ended::{Elsewhere, Ended};
use index::tenant_index;

/// What a re-authentication of an existing session proved.
#[derive(Clone, Debug)]
pub struct Reauthentication {
    /// The session's methods afterwards.
    pub amr: Vec<Amr>,
    /// The password or a passkey was proven (see `domain::session::is_new_authentication`).
    pub new_authentication: bool,
    /// A second factor was proven.
    pub second_factor: bool,
    /// The risk judgement of a new sign-in continuing this session (`None`: keep the
    /// session's).
    pub risk: Option<SessionRisk>,
}

impl Reauthentication {
    /// A whole new authentication that proved `amr`.
    pub fn fresh(amr: Vec<Amr>) -> Self {
        Self {
            new_authentication: is_new_authentication(&amr),
            second_factor: proves_second_factor(&amr),
            amr,
            risk: None,
        }
    }
}

/// What a new session is made of: the methods proven, the client, whether to evict whatever
/// the limit (`force`), and the sign-in's risk judgement.
pub struct Creation<'a> {
    pub amr: Vec<Amr>,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub force: bool,
    pub risk: Option<SessionRisk>,
    /// Signed in through an upstream identity provider.
    pub via: Option<crate::domain::session::Federated>,
}

/// A session just created (or continued under a new cookie): the cookie value and the record.
#[derive(Debug)]
pub struct NewSession {
    pub token: Secret<String>,
    pub record: BrowserSession,
}

/// What creating a session did.
#[derive(Debug)]
pub enum Created {
    /// The session exists; these sessions of the same user were evicted to make room (their
    /// records are already gone; the caller ends them everywhere, see `crate::lifecycle`).
    Admitted {
        session: Box<NewSession>,
        evicted: Vec<Found>,
    },
    /// The user is at the tenant's session limit and the policy is `deny_new`: no session was
    /// created. These are the user's live sessions, oldest first.
    Denied { live: Vec<Found> },
}

/// A session found by cookie or sid.
#[derive(Debug, Clone)]
pub struct Found {
    pub record: BrowserSession,
}

/// What a session cookie turned out to be.
#[derive(Debug)]
pub enum SessionLookup {
    Active(Found),
    /// It exists but has timed out; the caller must end it (see `crate::lifecycle`).
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
/// How long the expiry index lives after its last addition (it is never empty for long).
const EXPIRY_INDEX_TTL: Duration = Duration::from_secs(400 * 86_400);
const RECORD_PREFIX: &str = "sess:";

fn record_key(sid: &str) -> String {
    format!("{RECORD_PREFIX}{sid}")
}

pub(super) fn gone_key(sid: &str) -> String {
    format!("gone:{sid}")
}

fn user_index(tenant: TenantId, user: UserId) -> String {
    format!("usess:{tenant}:{user}")
}

/// Splits a cookie value into the session id and the secret's hash.
pub fn parse_cookie(token: &str) -> Option<(&str, String)> {
    let (sid, secret) = token.split_once('.')?;
    let ok = |s: &str| {
        (20..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(sid) && ok(secret)).then(|| (sid, sha256_b64(secret.as_bytes())))
}

/// A new cookie secret for `sid`: the cookie value and the hash to store.
fn new_cookie(sid: &str) -> (String, String) {
    let secret = random::token();
    let hash = sha256_b64(secret.as_bytes());
    (format!("{sid}.{secret}"), hash)
}

/// Addresses come from headers (via trusted proxies); keep what we store bounded.
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
        creation: Creation<'_>,
    ) -> Result<Created, StoreError> {
        let Creation {
            amr,
            ip,
            user_agent,
            force,
            risk,
            via,
        } = creation;
        let now = self.clock.unix();
        let sid = random::token();
        let (token, secret_hash) = new_cookie(&sid);
        let record = BrowserSession {
            sid,
            secret_hash,
            tenant_id: tenant.id,
            user_id: user,
            auth_time: now,
            auth_id: random::token()[..16].to_owned(),
            mfa_at: proves_second_factor(&amr).then_some(now),
            amr,
            ip: clip(ip, 64),
            device: crate::domain::device::describe(user_agent),
            created_at: now,
            last_seen: now,
            risk,
            via,
        };
        let policy = &tenant.policy.session;
        let (bytes, ttl) = self.serialize(&record, policy);
        // The new session joins (and evicted ones leave) the sweep's index and the tenant's in
        // the same atomic admission.
        let tenant_sessions = tenant_index(tenant.id);
        let admitted = self
            .store
            .admit_session(&Admission {
                user_index: &user_index(tenant.id, user),
                deadline_indexes: &[EXPIRY_INDEX, &tenant_sessions],
                record_prefix: RECORD_PREFIX,
                member: &record.sid,
                now,
                idle_secs: policy.idle_timeout_secs,
                absolute_secs: policy.absolute_timeout_secs,
                index_ttl: Duration::from_secs(
                    (policy.absolute_timeout_secs + EXPIRED_GRACE_SECS) as u64,
                ),
                limit: policy.max_sessions_per_user.max(),
                evict_oldest: force || policy.on_limit == OnLimit::EndOldest,
                record: &bytes,
                record_ttl: ttl,
                expires_at: deadline(&record, policy),
                deadline_index_ttl: EXPIRY_INDEX_TTL,
            })
            .await?;
        match admitted {
            Admitted::Yes { evicted } => Ok(Created::Admitted {
                session: Box::new(NewSession {
                    token: Secret::new(token),
                    record,
                }),
                evicted: evicted
                    .into_iter()
                    .filter_map(|(_, bytes)| match serde_json::from_slice(&bytes) {
                        Ok(record) => Some(Found { record }),
                        Err(_) => {
                            tracing::warn!("an evicted session had no readable record");
                            None
                        }
                    })
                    .collect(),
            }),
            Admitted::No { live } => {
                let mut out = Vec::new();
                for sid in live {
                    if let Some(record) = self.load(&sid).await? {
                        out.push(Found { record });
                    }
                }
                Ok(Created::Denied { live: out })
            }
        }
    }

    /// The same user proved who they are again in a browser that has a session: a new cookie
    /// secret (no fixation: the old cookie stops working) for the same session (same `sid`, so
    /// its clients stay signed in and it keeps its place among the user's sessions). A new
    /// authentication (password or passkey) moves `auth_time` and `auth_id`; a second factor
    /// alone (a step-up) only adds to `amr` and moves `mfa_at`. `None` if the session ended
    /// meanwhile (e.g. evicted): the caller creates a new one.
    pub async fn reauthenticate(
        &self,
        tenant: &Tenant,
        old: &Found,
        proof: Reauthentication,
        ip: &str,
        user_agent: &str,
    ) -> Result<Option<NewSession>, StoreError> {
        let now = self.clock.unix();
        let mut record = old.record.clone();
        let (token, secret_hash) = new_cookie(&record.sid);
        record.secret_hash = secret_hash;
        if proof.new_authentication {
            record.auth_time = now;
            record.auth_id = random::token()[..16].to_owned();
        }
        if proof.second_factor {
            record.mfa_at = Some(now);
        }
        record.last_seen = now;
        record.amr = proof.amr;
        if proof.risk.is_some() {
            record.risk = proof.risk;
        }
        record.ip = clip(ip, 64);
        record.device = crate::domain::device::describe(user_agent);
        if !self.rewrite(&record, &tenant.policy.session).await? {
            return Ok(None);
        }
        Ok(Some(NewSession {
            token: Secret::new(token),
            record,
        }))
    }

    /// A record as stored, and how long the store keeps it.
    fn serialize(&self, record: &BrowserSession, policy: &SessionPolicy) -> (Vec<u8>, Duration) {
        let bytes = serde_json::to_vec(record).expect("session records serialize");
        let ttl = record
            .store_ttl(self.clock.now(), policy)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        (bytes, ttl)
    }

    /// Rewrites the record of a session that is still there, and its place in the expiry
    /// sweep's and the tenant's indexes, in one atomic step; returns whether it wrote.
    async fn rewrite(
        &self,
        record: &BrowserSession,
        policy: &SessionPolicy,
    ) -> Result<bool, StoreError> {
        let (bytes, ttl) = self.serialize(record, policy);
        self.store
            .set_existing_indexed(&Rewrite {
                key: &record_key(&record.sid),
                value: &bytes,
                ttl,
                indexes: &[EXPIRY_INDEX, &tenant_index(record.tenant_id)],
                member: &record.sid,
                score: deadline(record, policy),
                index_ttl: EXPIRY_INDEX_TTL,
            })
            .await
    }

    async fn load(&self, sid: &str) -> Result<Option<BrowserSession>, StoreError> {
        let Some(bytes) = self.store.get(&record_key(sid)).await? else {
            return Ok(None);
        };
        match serde_json::from_slice::<BrowserSession>(&bytes) {
            Ok(r) => Ok(Some(r)),
            Err(_) => {
                tracing::warn!("discarding an unreadable session record");
                self.store.delete(&record_key(sid)).await?;
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
        let Some((sid, hash)) = parse_cookie(token) else {
            return Ok(SessionLookup::Missing);
        };
        match self.load(sid).await? {
            Some(record) if constant_time_eq(record.secret_hash.as_bytes(), hash.as_bytes()) => {
                self.check(tenant, record, touch).await
            }
            Some(_) => Ok(SessionLookup::Missing),
            None => Ok(self
                .ended_note(sid, &hash)
                .await?
                .map_or(SessionLookup::Missing, SessionLookup::Ended)),
        }
    }

    /// Like [`Sessions::lookup`], by the session's public id (token endpoints; no cookie).
    pub async fn lookup_sid(
        &self,
        tenant: &Tenant,
        sid: &str,
        touch: bool,
    ) -> Result<SessionLookup, StoreError> {
        match self.load(sid).await? {
            Some(record) => self.check(tenant, record, touch).await,
            None => Ok(SessionLookup::Missing),
        }
    }

    async fn check(
        &self,
        tenant: &Tenant,
        mut record: BrowserSession,
        touch: bool,
    ) -> Result<SessionLookup, StoreError> {
        if record.tenant_id != tenant.id {
            return Ok(SessionLookup::Missing);
        }
        let now = self.clock.now();
        let policy = &tenant.policy.session;
        match record.state(now, policy) {
            SessionState::Active => {
                if touch && record.needs_touch(now, policy) {
                    record.last_seen = now.timestamp();
                    if !self.rewrite(&record, policy).await? {
                        return Ok(SessionLookup::Missing); // ended meanwhile
                    }
                }
                Ok(SessionLookup::Active(Found { record }))
            }
            state => Ok(SessionLookup::Expired(Found { record }, state)),
        }
    }

    /// Deletes a session's record and every index entry, and remembers why it ended.
    /// Returns whether this call removed it (another replica may have been first).
    pub async fn remove(&self, record: &BrowserSession, ended: &Ended) -> Result<bool, StoreError> {
        let removed = self.store.delete(&record_key(&record.sid)).await?;
        self.forget(record, ended).await?;
        Ok(removed)
    }

    /// Everything of a session but its record: the index entries, and a note of why it ended
    /// for the returning browser.
    async fn forget(&self, record: &BrowserSession, ended: &Ended) -> Result<(), StoreError> {
        self.store
            .index_remove(&user_index(record.tenant_id, record.user_id), &record.sid)
            .await?;
        self.store.index_remove(EXPIRY_INDEX, &record.sid).await?;
        self.store
            .index_remove(&tenant_index(record.tenant_id), &record.sid)
            .await?;
        self.note_ended(record, ended).await
    }

    /// The record of the session with public id `sid`, whatever its timeout state.
    pub async fn find_by_sid(&self, sid: &str) -> Result<Option<Found>, StoreError> {
        Ok(self.load(sid).await?.map(|record| Found { record }))
    }

    /// The record behind a cookie value (for ending it), whatever its timeout state.
    pub async fn find_by_token(&self, token: &str) -> Result<Option<Found>, StoreError> {
        let Some((sid, hash)) = parse_cookie(token) else {
            return Ok(None);
        };
        Ok(self
            .load(sid)
            .await?
            .filter(|r| constant_time_eq(r.secret_hash.as_bytes(), hash.as_bytes()))
            .map(|record| Found { record }))
    }
}

mod index;

#[cfg(test)]
mod tests;
