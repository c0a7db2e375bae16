//! Short-lived shared state: browser sessions, pending sign-ins, single-use codes, counters (with
//! the all-or-nothing bounded increment that brute-force protection reserves with) and per-user
//! session indexes. One trait, two real implementations: in-process memory (one node)
//! and Redis (replicas share it). Every value carries a TTL. Both pass one contract test suite
//! (tests/it/store_contract.rs).

pub mod memory;
pub mod redis;
mod redis_scripts;
pub mod sentinel;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
}

/// Key-value store with expiry. Keys are plain strings; implementations add their own prefix.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Name for logs and `/readyz`: `memory` or `redis`.
    fn kind(&self) -> &'static str;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`, replacing any previous value and TTL.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;

    /// Replaces the value (and TTL) only if the key exists; returns whether it stored. Records
    /// that something else may delete meanwhile (an evicted session) are rewritten with this.
    async fn set_existing(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Rewrites a record only if it still exists and, in the same atomic step (one round trip on
    /// Redis), puts its member into each of its indexes; returns whether it stored. See
    /// [`Rewrite`].
    async fn set_existing_indexed(&self, rewrite: &Rewrite<'_>) -> Result<bool, StoreError>;

    /// Stores only if the key is absent; returns whether it stored.
    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Atomically reads and deletes (single-use values such as authorization codes).
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes; returns whether the key existed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Several values in one round trip, in the order of `keys` (`None` for an absent key).
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;

    /// Deletes several keys in one round trip.
    async fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.apply(&Writes {
            delete: keys,
            ..Writes::default()
        })
        .await
    }

    /// Applies several writes as one atomic step (one round trip on Redis). See [`Writes`].
    async fn apply(&self, writes: &Writes<'_>) -> Result<(), StoreError>;

    /// Increments a counter, creating it at 1 with `ttl`; the TTL is not extended afterwards
    /// (fixed windows for rate limits).
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;

    /// Increments every counter of `request`, all or none, in one atomic step (a Lua script on
    /// Redis, one lock in memory): nothing changes while a hold is ahead of `now` or a counter is
    /// not below its bound, so any number of concurrent callers on any number of replicas never
    /// take a counter past its bound. See [`BoundedIncr`].
    async fn incr_bounded(&self, request: &BoundedIncr<'_>) -> Result<Incremented, StoreError>;

    /// Decrements each of these counters that exists and is above zero (gives back an increment);
    /// never creates a counter nor changes its TTL.
    async fn decr(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.apply(&Writes {
            decr: keys,
            ..Writes::default()
        })
        .await
    }

    /// Remaining lifetime of a key, or `None` if it does not exist.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError>;

    /// Adds `member` with `score` to a sorted index (e.g. a user's sessions by creation time).
    /// The index lives at least `ttl` from now.
    async fn index_add(
        &self,
        index: &str,
        member: &str,
        score: i64,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Removes a member; returns whether it was there. Removal is atomic, so when several
    /// replicas race to claim a member (e.g. an expired session), exactly one gets `true`.
    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError>;

    /// Members with their scores, lowest score first.
    async fn index_members(&self, index: &str) -> Result<Vec<(String, i64)>, StoreError>;

    /// Up to `limit` members with a score of at most `max`, lowest first.
    async fn index_up_to(
        &self,
        index: &str,
        max: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// How many members have a score of at least `min` (without reading them: `ZCOUNT` on
    /// Redis), e.g. a tenant's sessions whose deadline is still ahead.
    async fn index_count_from(&self, index: &str, min: i64) -> Result<u64, StoreError>;

    /// Counts a new browser session among its user's sessions, enforcing the user's session
    /// limit in one atomic step (a Lua script on Redis, one lock in memory), so concurrent
    /// sign-ins on any number of replicas never leave more than `limit` sessions. See
    /// [`Admission`].
    async fn admit_session(&self, admission: &Admission<'_>) -> Result<Admitted, StoreError>;

    /// Is the store reachable right now?
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A record rewritten where it still exists (`key`, `value`, `ttl`, as `set_existing`), with
/// `member` put into each of `indexes` at `score` (as `index_add`, each index living at least
/// `index_ttl` from now) only if it was. An evicted session, whose record is gone, stays out of
/// the indexes.
#[derive(Debug)]
pub struct Rewrite<'a> {
    pub key: &'a str,
    pub value: &'a [u8],
    pub ttl: Duration,
    pub indexes: &'a [&'a str],
    pub member: &'a str,
    pub score: i64,
    pub index_ttl: Duration,
}

/// A new session asking to join its user's sessions.
///
/// In one atomic step: each member of `user_index` is judged by its record
/// (`record_prefix` + member, a JSON object with `c`, created, and `l`, last seen, in Unix
/// seconds):
/// no record, and it leaves the index; timed out under `idle_secs` / `absolute_secs`, and it does
/// not count (the expiry sweep ends it); otherwise it is live. If `limit` live sessions remain,
/// either the request is refused (`evict_oldest == false`) or the oldest (first admitted) are
/// evicted until there is room: their records are read and deleted and they leave `user_index`
/// and every index of `deadline_indexes`. Finally `member` joins `user_index` with the next sequence number as its
/// score, so "oldest" means "admitted first", exactly, whatever the clocks of the replicas say,
/// and its `record` is stored (under `record_prefix` + `member`, for `record_ttl`) and joins
/// every index of `deadline_indexes` with the score `expires_at`. A refused session leaves
/// nothing behind.
#[derive(Debug)]
pub struct Admission<'a> {
    pub user_index: &'a str,
    /// The indexes of sessions by deadline (the expiry sweep's, the tenant's count).
    pub deadline_indexes: &'a [&'a str],
    pub record_prefix: &'a str,
    pub member: &'a str,
    /// Unix seconds.
    pub now: i64,
    pub idle_secs: i64,
    pub absolute_secs: i64,
    /// `user_index` lives at least this long from now.
    pub index_ttl: Duration,
    /// `None`: unlimited. At least 1.
    pub limit: Option<u32>,
    pub evict_oldest: bool,
    /// The new session's record (JSON with `c` and `l`, as above) and its lifetime.
    pub record: &'a [u8],
    pub record_ttl: Duration,
    /// When the new session times out (its score in `deadline_indexes`, Unix seconds).
    pub expires_at: i64,
    /// Each of `deadline_indexes` lives at least this long from now.
    pub deadline_index_ttl: Duration,
}

impl Admission<'_> {
    /// Whether a session record (JSON) is live at `now`; `None` if it cannot be read.
    pub fn is_live(&self, record: &[u8]) -> Option<bool> {
        #[derive(serde::Deserialize)]
        struct Times {
            c: i64,
            l: i64,
        }
        let t: Times = serde_json::from_slice(record).ok()?;
        Some(self.now < t.c + self.absolute_secs && self.now < t.l + self.idle_secs)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// The session counts now; these were evicted to make room (member, record taken).
    Yes { evicted: Vec<(String, Vec<u8>)> },
    /// Refused: the user's live sessions, oldest first.
    No { live: Vec<String> },
}

/// Writes applied together ([`SessionStore::apply`]), in this order: decrements, deletions,
/// stores.
#[derive(Debug, Default)]
pub struct Writes<'a> {
    /// Counters given back: each that exists and is above zero goes down by one (never created,
    /// TTL unchanged), as [`SessionStore::decr`].
    pub decr: &'a [&'a str],
    /// Keys deleted.
    pub delete: &'a [&'a str],
    /// Values stored, each replacing any previous value and TTL, as [`SessionStore::set`].
    pub set: &'a [(&'a str, &'a [u8], Duration)],
}

/// An all-or-nothing increment of several counters ([`SessionStore::incr_bounded`]).
#[derive(Debug)]
pub struct BoundedIncr<'a> {
    /// Keys holding an end time (Unix seconds in decimal, as written with `set`), checked in
    /// order: while one is after `now`, nothing is incremented.
    pub holds: &'a [&'a str],
    /// Counters with their bounds, checked in order: each must hold less than its bound.
    pub counters: &'a [(&'a str, u64)],
    /// Unix seconds.
    pub now: i64,
    /// The TTL of a counter created by the increment; later increments do not extend it.
    pub ttl: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Incremented {
    /// Every counter was incremented; their new values, in order.
    Yes(Vec<u64>),
    /// Nothing changed: `holds[index]` ends at `until`.
    Held { index: usize, until: i64 },
    /// Nothing changed: `counters[index]` holds `count`, not below its bound.
    Full { index: usize, count: u64 },
}

pub type SharedStore = Arc<dyn SessionStore>;
