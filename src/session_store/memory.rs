//! In-process session store for a single node. Expiry follows the injected clock, so tests move
//! time instead of sleeping. A periodic sweep drops expired entries.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::{Admission, Admitted, SessionStore, StoreError};
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
        let mut entries = self.entries.lock();
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

    async fn index_replace(&self, index: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        Ok(self.with_live(index, |e| match e {
            Some(Entry {
                value: Value::Index(m),
                ..
            }) => match m.remove(old) {
                Some(score) => {
                    m.insert(new.to_owned(), score);
                    true
                }
                None => false,
            },
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
        let mut entries = self.entries.lock();
        let index_of = |entries: &HashMap<String, Entry>, key: &str| match entries.get(key) {
            Some(Entry {
                value: Value::Index(m),
                expires_at,
            }) if *expires_at > now => m.clone(),
            _ => HashMap::new(),
        };
        let live = match entries.get(a.live_index) {
            Some(Entry {
                value: Value::Index(m),
                expires_at,
            }) if *expires_at > now => Some(m),
            _ => None,
        };
        let is_live = |m: &str| live.and_then(|l| l.get(m)).is_some_and(|d| *d > a.now);
        let all = index_of(&entries, a.user_index);
        let order = all.values().max().map_or(1, |o| o + 1);
        let mut mine: Vec<(String, i64)> = all
            .into_iter()
            .filter(|(m, _)| m != a.member && is_live(m))
            .collect();
        mine.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
        let mut evicted = Vec::new();
        if let Some(limit) = a.limit.map(|l| l as usize)
            && mine.len() >= limit
        {
            if !a.evict_oldest {
                return Ok(Admitted::No {
                    live: mine.into_iter().map(|(m, _)| m).collect(),
                });
            }
            for (member, _) in mine.drain(..=mine.len() - limit) {
                let record = match entries.remove(&format!("{}{member}", a.record_prefix)) {
                    Some(Entry {
                        value: Value::Bytes(b),
                        expires_at,
                    }) if expires_at > now => b,
                    _ => Vec::new(),
                };
                if let Some(Entry {
                    value: Value::Index(live),
                    ..
                }) = entries.get_mut(a.live_index)
                {
                    live.remove(&member);
                }
                evicted.push((member, record));
            }
        }
        mine.push((a.member.to_owned(), order));
        let expires_at = entries
            .get(a.user_index)
            .filter(|e| e.expires_at > now)
            .map_or(index_expiry, |e| e.expires_at.max(index_expiry));
        entries.insert(
            a.user_index.to_owned(),
            Entry {
                value: Value::Index(mine.into_iter().collect()),
                expires_at,
            },
        );
        Ok(Admitted::Yes { evicted })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
