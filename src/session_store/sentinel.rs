//! Where the Redis master is: a fixed address (`redis.url`), or the node that Redis Sentinel
//! names for `redis.sentinel.master_name`, asked again when the node in use fails or turns out
//! to be a replica (after a failover). Each answer has a generation, so every thread's
//! connection notices a new master on its next command.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisError, TlsMode};

use super::StoreError;

/// Sentinels are asked at most this often (a failing master makes every request ask).
const ASK_AT_MOST_EVERY: Duration = Duration::from_millis(200);

pub struct Master {
    /// The client for the current master, once known.
    current: RwLock<Option<redis::Client>>,
    /// Bumped whenever `current` changes.
    generation: AtomicU64,
    sentinel: Option<Discovery>,
}

struct Discovery {
    master_name: String,
    node: SentinelNodeConnectionInfo,
    /// The sentinels and when they were last asked.
    state: tokio::sync::Mutex<(Sentinel, Option<Instant>)>,
    timeout: Duration,
}

impl Master {
    /// The master at `url`, always.
    pub fn fixed(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid Redis URL: {e}")))?;
        Ok(Self {
            current: RwLock::new(Some(client)),
            generation: AtomicU64::new(1),
            sentinel: None,
        })
    }

    /// The master that the sentinels at `nodes` name `master_name`; `url` gives the database,
    /// credentials and TLS used with it (its host is not used). Nothing is sent yet.
    pub fn sentinel(
        url: &str,
        master_name: &str,
        nodes: &[String],
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let template = url
            .into_connection_info()
            .map_err(|e| StoreError::Unavailable(format!("invalid Redis URL: {e}")))?;
        let mut node = SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(template.redis_settings().clone());
        if let ConnectionAddr::TcpTls { insecure, .. } = template.addr() {
            node = node.set_tls_mode(if *insecure {
                TlsMode::Insecure
            } else {
                TlsMode::Secure
            });
        }
        let sentinels = Sentinel::build(nodes.iter().map(String::as_str).collect())
            .map_err(|e| StoreError::Unavailable(format!("invalid Redis Sentinel address: {e}")))?;
        Ok(Self {
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
            sentinel: Some(Discovery {
                master_name: master_name.to_owned(),
                node,
                state: tokio::sync::Mutex::new((sentinels, None)),
                timeout,
            }),
        })
    }

    /// The generation of the current master (0: none known yet).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current master's client and its generation, asking the sentinels first if none is
    /// known yet.
    pub async fn client(&self) -> Result<(u64, redis::Client), StoreError> {
        if self.generation() == 0 {
            self.rediscover(0).await;
        }
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        match &*current {
            Some(client) => Ok((self.generation(), client.clone())),
            None => Err(StoreError::Unavailable(
                "no Redis master known: the sentinels did not name one".into(),
            )),
        }
    }

    /// After `error` from the master of generation `seen`: if the master may have moved, the
    /// sentinels are asked again; returns whether they name another master now. Whatever the
    /// command did on the old master does not count then (a demoted master resyncs from the new
    /// one), so it can be sent to the new master.
    pub async fn after_error(&self, seen: u64, error: &RedisError) -> bool {
        if self.sentinel.is_none() || !may_have_moved(error) {
            return false;
        }
        self.rediscover(seen).await;
        self.generation() != seen
    }

    /// As [`Self::after_error`], for a command that did not answer in time.
    pub async fn after_timeout(&self, seen: u64) {
        if self.sentinel.is_some() {
            self.rediscover(seen).await;
        }
    }

    async fn rediscover(&self, seen: u64) {
        let Some(d) = &self.sentinel else { return };
        let mut state = d.state.lock().await;
        if self.generation() != seen {
            return; // another caller already found the new master
        }
        if state.1.is_some_and(|at| at.elapsed() < ASK_AT_MOST_EVERY) {
            return; // asked just now (also while no master is known: the sentinels may be down)
        }
        state.1 = Some(Instant::now());
        let asked = tokio::time::timeout(
            d.timeout,
            state.0.async_master_for(&d.master_name, Some(&d.node)),
        )
        .await;
        let client = match asked {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, master = %d.master_name, "Redis Sentinel did not name a master");
                return;
            }
            Err(_) => {
                tracing::warn!(master = %d.master_name, "Redis Sentinel did not answer in time");
                return;
            }
        };
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        let same = current
            .as_ref()
            .is_some_and(|c| c.get_connection_info().addr() == client.get_connection_info().addr());
        if !same {
            tracing::info!(master = %d.master_name, address = %client.get_connection_info().addr(), "Redis master (from Sentinel)");
            *current = Some(client);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Errors after which the master may be another node: the connection failed, or the node
/// refused a write as a replica (a failover demoted it).
fn may_have_moved(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || is_read_only(e)
}

/// The node is a replica now (a failover demoted it).
fn is_read_only(e: &RedisError) -> bool {
    e.to_string().contains("READONLY")
}
