//! Small in-process caches for data read on every request and changed rarely (tenants, clients).
//! Entries live a few seconds: writes on this replica invalidate at once, writes on another
//! replica are seen within the TTL.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::storage::clients::ClientWithSecret;

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read();
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.write();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        self.entries.write().remove(key);
    }

    pub fn clear(&self) {
        self.entries.write().clear();
    }
}

/// The caches shared by every request of one process.
pub struct Caches {
    /// Tenants by slug.
    pub tenants: TtlCache<String, Tenant>,
    /// Clients by tenant and client id.
    pub clients: TtlCache<(TenantId, String), ClientWithSecret>,
    /// Serialized discovery documents by tenant.
    pub discovery: TtlCache<(TenantId, String), std::sync::Arc<str>>,
    /// Access tokens whose signature was verified, with their key id (see
    /// `oauth::tokens::verify_access_token_cached`).
    pub verified: TtlCache<String, (String, crate::domain::claims::AccessClaims)>,
    /// CORS origins (of registered redirect URIs) by tenant.
    pub origins: TtlCache<(TenantId, String), std::sync::Arc<std::collections::HashSet<String>>>,
    /// Documents of upstream identity providers (discovery, JWKS) by URL, with when they were
    /// fetched (Unix seconds; see `crate::federation::documents`).
    pub upstream: TtlCache<String, (i64, std::sync::Arc<serde_json::Value>)>,
}

impl Caches {
    pub fn new() -> Self {
        Self {
            tenants: TtlCache::new(Duration::from_secs(5), 10_000),
            clients: TtlCache::new(Duration::from_secs(5), 100_000),
            discovery: TtlCache::new(Duration::from_secs(60), 10_000),
            origins: TtlCache::new(Duration::from_secs(5), 10_000),
            verified: TtlCache::new(Duration::from_secs(30), 20_000),
            upstream: TtlCache::new(Duration::from_secs(3600), 10_000),
        }
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c: TtlCache<u32, u32> = TtlCache::new(Duration::from_millis(0), 2);
        c.insert(1, 1);
        assert_eq!(c.get(&1), None, "a zero TTL expires at once");
        let c: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(60), 2);
        c.insert(1, 1);
        c.insert(2, 2);
        c.insert(3, 3);
        assert!(c.entries.read().len() <= 2);
        assert_eq!(c.get(&3), Some(3));
        c.remove(&3);
        assert_eq!(c.get(&3), None);
    }
}
