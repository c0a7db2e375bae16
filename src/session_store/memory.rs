//! In-process session store for a single node. Expiry follows the injected clock, so tests move
//! time instead of sleeping. A periodic sweep drops expired entries.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::{
    Admission, Admitted, BoundedIncr, Incremented, Rewrite, SessionStore, StoreError, Writes,
};
use crate::clock::SharedClock;

enum Value {
    Bytes(Vec<u8>),
    Counter(u64),
    Index(HashMap<String, i64>),
}

struct Entry {
    value: Value,
    expires_at: DateTime<Utc>,
}

pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
    clock: SharedClock,
}

impl MemoryStore {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Removes expired entries; returns how many were removed.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|_, e| e.expires_at > now);
        before - entries.len()
    }

    /// Number of live and not-yet-swept entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn deadline(&self, ttl: Duration) -> DateTime<Utc> {
        self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
    }

    /// Runs `f` on the live entry of `key` (expired entries are removed first).
    fn with_live<T>(&self, key: &str, f: impl FnOnce(Option<&mut Entry>) -> T) -> T {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        if entries.get(key).is_some_and(|e| e.expires_at <= now) {
            entries.remove(key);
        }
        f(entries.get_mut(key))
    }
}

/// Adds `member` with `score` to `index` (a fresh one if absent, expired or not an index), which
/// then lives at least until `expires_at`.
fn index_insert(
    entries: &mut HashMap<String, Entry>,
    index: &str,
    member: &str,
    score: i64,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    let entry = entries.entry(index.to_owned()).or_insert(Entry {
        value: Value::Index(HashMap::new()),
        expires_at,
    });
    if entry.expires_at <= now || !matches!(entry.value, Value::Index(_)) {
        entry.value = Value::Index(HashMap::new());
    }
    entry.expires_at = entry.expires_at.max(expires_at);
    if let Value::Index(members) = &mut entry.value {
        members.insert(member.to_owned(), score);
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.with_live(key, |e| match e.map(|e| &e.value) {
            Some(Value::Bytes(b)) => Some(b.clone()),
            Some(Value::Counter(n)) => Some(n.to_string().into_bytes()),
            _ => None,
        }))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let expires_at = self.deadline(ttl);
        self.entries.lock().insert(
            key.to_owned(),
            Entry {
                value: Value::Bytes(value.to_vec()),
                expires_at,
            },
        );
        Ok(())
    }

    async fn set_existing(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let expires_at = self.deadline(ttl);
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        match entries.get_mut(key) {
            Some(e) if e.expires_at > now => {
                *e = Entry {
                    value: Value::Bytes(value.to_vec()),
                    expires_at,
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_existing_indexed(&self, w: &Rewrite<'_>) -> Result<bool, StoreError> {
        let expires_at = self.deadline(w.ttl);
        let index_expires_at = self.deadline(w.index_ttl);
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        match entries.get_mut(w.key) {
            Some(e) if e.expires_at > now => {
                *e = Entry {
                    value: Value::Bytes(w.value.to_vec()),
                    expires_at,
                };
            }
            _ => return Ok(false),
        }
        for index in w.indexes {
            index_insert(
                &mut entries,
                index,
                w.member,
                w.score,
                index_expires_at,
                now,
            );
        }
        Ok(true)
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let expires_at = self.deadline(ttl);
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        if entries.get(key).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Bytes(value.to_vec()),
                expires_at,
            },
        );
        Ok(true)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let removed = self.entries.lock().remove(key);
        Ok(match removed {
            Some(Entry {
                value: Value::Bytes(b),
                expires_at,
            }) if expires_at > now => Some(b),
            _ => None,
        })
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .lock()
            .remove(key)
            .is_some_and(|e| e.expires_at > now))
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.get(k).await?);
        }
        Ok(out)
    }

    async fn apply(&self, writes: &Writes<'_>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        for key in writes.decr {
            if let Some(Entry {
                value: Value::Counter(n),
                expires_at,
            }) = entries.get_mut(*key)
                && *expires_at > now
            {
                *n = n.saturating_sub(1);
            }
        }
        for key in writes.delete {
            entries.remove(*key);
        }
        for (key, value, ttl) in writes.set {
            let entry = Entry {
                value: Value::Bytes(value.to_vec()),
                expires_at: self.deadline(*ttl),
            };
            entries.insert((*key).to_owned(), entry);
        }
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let expires_at = self.deadline(ttl);
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let entry = entries
            .entry(key.to_owned())
            .and_modify(|e| {
                if e.expires_at <= now {
                    *e = Entry {
                        value: Value::Counter(0),
                        expires_at,
                    };
                }
            })
            .or_insert(Entry {
                value: Value::Counter(0),
                expires_at,
            });
        let next = match entry.value {
            Value::Counter(n) => n + 1,
            _ => 1,
        };
        entry.value = Value::Counter(next);
        Ok(next)
    }

    async fn incr_bounded(&self, r: &BoundedIncr<'_>) -> Result<Incremented, StoreError> {
        let expires_at = self.deadline(r.ttl);
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let number = |key: &str| {
            entries
                .get(key)
                .filter(|e| e.expires_at > now)
                .and_then(|e| match &e.value {
                    Value::Counter(n) => i64::try_from(*n).ok(),
                    Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
                    Value::Index(_) => None,
                })
        };
        for (index, key) in r.holds.iter().enumerate() {
            if let Some(until) = number(key).filter(|until| *until > r.now) {
                return Ok(Incremented::Held { index, until });
            }
        }
        for (index, (key, bound)) in r.counters.iter().enumerate() {
            let count = number(key).map_or(0, |n| n.max(0) as u64);
            if count >= *bound {
                return Ok(Incremented::Full { index, count });
            }
        }
        let mut counts = Vec::with_capacity(r.counters.len());
        for (key, _) in r.counters {
            let next = match entries.get(*key).filter(|e| e.expires_at > now) {
                Some(Entry {
                    value: Value::Counter(n),
                    ..
                }) => n + 1,
                _ => 1,
            };
            let expires_at = entries
                .get(*key)
                .filter(|e| e.expires_at > now)
                .map_or(expires_at, |e| e.expires_at);
            entries.insert(
                (*key).to_owned(),
                Entry {
                    value: Value::Counter(next),
                    expires_at,
                },
            );
            counts.push(next);
        }
        Ok(Incremented::Yes(counts))
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        let now = self.clock.now();
        Ok(self.with_live(key, |e| e.and_then(|e| (e.expires_at - now).to_std().ok())))
    }

    async fn index_add(
        &self,
        index: &str,
        member: &str,
        score: i64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = self.deadline(ttl);
        let now = self.clock.now();
        index_insert(
            &mut self.entries.lock(),
            index,
            member,
            score,
            expires_at,
            now,
        );
        Ok(())
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        Ok(self.with_live(index, |e| match e {
            Some(Entry {
                value: Value::Index(m),
                ..
            }) => m.remove(member).is_some(),
            _ => false,
        }))
    }

    async fn index_up_to(
        &self,
        index: &str,
        max: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut members = self.index_members(index).await?;
        members.retain(|(_, score)| *score <= max);
        members.truncate(limit);
        Ok(members)
    }

    async fn index_count_from(&self, index: &str, min: i64) -> Result<u64, StoreError> {
        Ok(self.with_live(index, |e| match e {
            Some(Entry {
                value: Value::Index(m),
                ..
            }) => m.values().filter(|score| **score >= min).count() as u64,
            _ => 0,
        }))
    }

    async fn index_members(&self, index: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let mut members = self.with_live(index, |e| match e {
            Some(Entry {
                value: Value::Index(m),
                ..
            }) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            _ => Vec::new(),
        });
        members.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(members)
    }

    async fn admit_session(&self, a: &Admission<'_>) -> Result<Admitted, StoreError> {
        let now = self.clock.now();
        let index_expiry = self.deadline(a.index_ttl);
        let record_expiry = self.deadline(a.record_ttl);
        let deadline_index_expiry = self.deadline(a.deadline_index_ttl);
        let mut entries = self.entries.lock();
        let all = match entries.get(a.user_index) {
            Some(Entry {
                value: Value::Index(m),
                expires_at,
            }) if *expires_at > now => m.clone(),
            _ => HashMap::new(),
        };
        let order = all.values().max().map_or(1, |o| o + 1);
        let record_of = |entries: &HashMap<String, Entry>, m: &str| match entries
            .get(&format!("{}{m}", a.record_prefix))
        {
            Some(Entry {
                value: Value::Bytes(b),
                expires_at,
            }) if *expires_at > now => Some(b.clone()),
            _ => None,
        };
        // Members without a record leave the index; timed-out ones stay but do not count.
        let mut kept = Vec::new();
        let mut live = Vec::new();
        for (m, score) in all.into_iter().filter(|(m, _)| m != a.member) {
            match record_of(&entries, &m).map(|r| a.is_live(&r)) {
                None => {}
                Some(Some(true)) => live.push((m, score)),
                Some(_) => kept.push((m, score)),
            }
        }
        live.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
        let mut evicted = Vec::new();
        if let Some(limit) = a.limit.map(|l| l.max(1) as usize)
            && live.len() >= limit
        {
            if !a.evict_oldest {
                return Ok(Admitted::No {
                    live: live.into_iter().map(|(m, _)| m).collect(),
                });
            }
            for (member, _) in live.drain(..=live.len() - limit) {
                let record = record_of(&entries, &member).unwrap_or_default();
                entries.remove(&format!("{}{member}", a.record_prefix));
                for index in a.deadline_indexes {
                    if let Some(Entry {
                        value: Value::Index(by_deadline),
                        ..
                    }) = entries.get_mut(*index)
                    {
                        by_deadline.remove(&member);
                    }
                }
                evicted.push((member, record));
            }
        }
        let expires_at = entries
            .get(a.user_index)
            .filter(|e| e.expires_at > now)
            .map_or(index_expiry, |e| e.expires_at.max(index_expiry));
        let members = kept
            .into_iter()
            .chain(live)
            .chain([(a.member.to_owned(), order)])
            .collect();
        entries.insert(
            a.user_index.to_owned(),
            Entry {
                value: Value::Index(members),
                expires_at,
            },
        );
        entries.insert(
            format!("{}{}", a.record_prefix, a.member),
            Entry {
                value: Value::Bytes(a.record.to_vec()),
                expires_at: record_expiry,
            },
        );
        for index in a.deadline_indexes {
            index_insert(
                &mut entries,
                index,
                a.member,
                a.expires_at,
                deadline_index_expiry,
                now,
            );
        }
        Ok(Admitted::Yes { evicted })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
