//! Redis session store, shared by every replica. Connects lazily and reconnects by itself
//! (redis-rs ConnectionManager), and bounds every command by `redis.timeout_ms`, so an outage
//! turns into quick "unavailable" errors and recovery needs no restart. With Redis Sentinel the
//! master is found through the sentinels and found again after a failover (`sentinel.rs`). Each
//! thread that uses the store gets its own connection, whose tasks run on that thread's runtime:
//! an HTTP worker's commands never hop to another thread and back (measured: that hop cost more
//! CPU than Redis itself).

use std::cell::RefCell;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError, Script, ToRedisArgs};
use thread_local::ThreadLocal;

use super::redis_scripts::*;
use super::sentinel::Master;
use super::{
    Admission, Admitted, BoundedIncr, Incremented, Rewrite, SessionStore, StoreError, Writes,
};

pub struct RedisStore {
    master: Master,
    config: ConnectionManagerConfig,
    /// One connection per thread that used the store (see the module's doc), with the master
    /// generation it was made for.
    conns: ThreadLocal<RefCell<Option<(u64, ConnectionManager)>>>,
    prefix: String,
    timeout: Duration,
}

impl RedisStore {
    /// Prepares a connection to the master at `url`; nothing is sent until the first command.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        Ok(Self::with_master(Master::fixed(url)?, prefix, timeout))
    }

    /// Prepares a connection to the master that Redis Sentinel names (see [`Master::sentinel`]).
    pub fn with_master(master: Master, prefix: &str, timeout: Duration) -> Self {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        Self {
            master,
            config,
            conns: ThreadLocal::new(),
            prefix: prefix.to_owned(),
            timeout,
        }
    }

    /// This thread's connection to the current master (made on first use, on this thread's
    /// runtime, and again when the master changes), with the master's generation.
    async fn conn(&self) -> Result<(u64, ConnectionManager), StoreError> {
        let generation = self.master.generation();
        if let Some((g, conn)) = &*self.conns.get_or(|| RefCell::new(None)).borrow()
            && *g == generation
            && generation != 0
        {
            return Ok((*g, conn.clone()));
        }
        let (generation, client) = self.master.client().await?;
        let conn = ConnectionManager::new_lazy_with_config(client, self.config.clone())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // Looked up again: the task may be on another thread after the await.
        *self.conns.get_or(|| RefCell::new(None)).borrow_mut() = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.send(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    async fn script<T: FromRedisValue, A: ToRedisArgs>(
        &self,
        script: &str,
        keys: &[String],
        args: &[A],
    ) -> Result<T, StoreError> {
        let script = Script::new(script);
        let mut invocation = script.prepare_invoke();
        for k in keys {
            invocation.key(k);
        }
        for a in args {
            invocation.arg(a);
        }
        let invocation = &invocation;
        self.send(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await
    }

    /// Runs `command` on this thread's connection within the timeout. When it fails because
    /// the master moved (a Sentinel failover: the old master refuses writes or drops its
    /// clients), it is sent once more, to the master the sentinels name now.
    async fn send<T, F, Fut>(&self, command: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let mut retried = false;
        loop {
            let (generation, conn) = self.conn().await?;
            let error = match tokio::time::timeout(self.timeout, command(conn)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => {
                    self.master.after_timeout(generation).await;
                    return Err(StoreError::Unavailable(
                        "Redis did not answer in time".into(),
                    ));
                }
            };
            if self.master.after_error(generation, &error).await && !retried {
                retried = true;
                continue;
            }
            return Err(StoreError::Unavailable(error.to_string()));
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

#[async_trait]
impl SessionStore for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(redis::cmd("GET").arg(self.key(key))).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.query(
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("PX")
                .arg(millis(ttl)),
        )
        .await
    }

    async fn set_existing(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let reply: Option<String> = self
            .query(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(value)
                    .arg("XX")
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await?;
        Ok(reply.is_some())
    }

    async fn set_existing_indexed(&self, w: &Rewrite<'_>) -> Result<bool, StoreError> {
        let keys: Vec<String> = std::iter::once(w.key)
            .chain(w.indexes.iter().copied())
            .map(|k| self.key(k))
            .collect();
        let stored: i64 = self
            .script(
                REWRITE_INDEXED,
                &keys,
                &[
                    w.value.to_vec(),
                    millis(w.ttl).to_string().into_bytes(),
                    w.member.as_bytes().to_vec(),
                    w.score.to_string().into_bytes(),
                    millis(w.index_ttl).to_string().into_bytes(),
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let reply: Option<String> = self
            .query(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(value)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await?;
        Ok(reply.is_some())
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(redis::cmd("GETDEL").arg(self.key(key))).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let n: u64 = self.query(redis::cmd("DEL").arg(self.key(key))).await?;
        Ok(n > 0)
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(self.key(k));
        }
        self.query(&cmd).await
    }

    async fn apply(&self, w: &Writes<'_>) -> Result<(), StoreError> {
        if w.decr.is_empty() && w.set.is_empty() {
            if w.delete.is_empty() {
                return Ok(());
            }
            let mut cmd = redis::cmd("DEL");
            for k in w.delete {
                cmd.arg(self.key(k));
            }
            let _: u64 = self.query(&cmd).await?;
            return Ok(());
        }
        let keys: Vec<String> = (w.decr.iter().chain(w.delete))
            .chain(w.set.iter().map(|(k, _, _)| k))
            .map(|k| self.key(k))
            .collect();
        let mut args: Vec<Vec<u8>> = vec![
            w.decr.len().to_string().into_bytes(),
            w.delete.len().to_string().into_bytes(),
        ];
        for (_, value, ttl) in w.set {
            args.push(value.to_vec());
            args.push(millis(*ttl).to_string().into_bytes());
        }
        let _: i64 = self.script(APPLY, &keys, &args).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.script(INCR_WITH_TTL, &[self.key(key)], &[millis(ttl).to_string()])
            .await
    }

    async fn incr_bounded(&self, r: &BoundedIncr<'_>) -> Result<Incremented, StoreError> {
        let keys: Vec<String> = r
            .holds
            .iter()
            .chain(r.counters.iter().map(|(k, _)| k))
            .map(|k| self.key(k))
            .collect();
        let mut args = vec![
            r.holds.len().to_string(),
            r.now.to_string(),
            millis(r.ttl).to_string(),
        ];
        args.extend(r.counters.iter().map(|(_, bound)| bound.to_string()));
        let reply: Vec<i64> = self.script(INCR_BOUNDED, &keys, &args).await?;
        let at = |i: usize| reply.get(i).copied().unwrap_or(0);
        Ok(match at(0) {
            1 => Incremented::Yes(reply.iter().skip(1).map(|n| (*n).max(0) as u64).collect()),
            2 => Incremented::Held {
                index: at(1) as usize,
                until: at(2),
            },
            _ => Incremented::Full {
                index: at(1) as usize,
                count: at(2).max(0) as u64,
            },
        })
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        let ms: i64 = self.query(redis::cmd("PTTL").arg(self.key(key))).await?;
        Ok((ms >= 0).then(|| Duration::from_millis(ms as u64)))
    }

    async fn index_add(
        &self,
        index: &str,
        member: &str,
        score: i64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: i64 = self
            .script(
                INDEX_ADD,
                &[self.key(index)],
                &[
                    member.to_owned(),
                    score.to_string(),
                    millis(ttl).to_string(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn index_remove(&self, index: &str, member: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .query(redis::cmd("ZREM").arg(self.key(index)).arg(member))
            .await?;
        Ok(n > 0)
    }

    async fn index_up_to(
        &self,
        index: &str,
        max: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let flat: Vec<(String, f64)> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(self.key(index))
                    .arg("-inf")
                    .arg(max)
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit)
                    .arg("WITHSCORES"),
            )
            .await?;
        Ok(flat.into_iter().map(|(m, s)| (m, s as i64)).collect())
    }

    async fn index_count_from(&self, index: &str, min: i64) -> Result<u64, StoreError> {
        self.query(
            redis::cmd("ZCOUNT")
                .arg(self.key(index))
                .arg(min)
                .arg("+inf"),
        )
        .await
    }

    async fn index_members(&self, index: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let flat: Vec<(String, f64)> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(self.key(index))
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES"),
            )
            .await?;
        Ok(flat.into_iter().map(|(m, s)| (m, s as i64)).collect())
    }

    async fn admit_session(&self, a: &Admission<'_>) -> Result<Admitted, StoreError> {
        let (admitted, list): (i64, Vec<Vec<u8>>) = self
            .script(
                ADMIT_SESSION,
                &std::iter::once(a.user_index)
                    .chain(a.deadline_indexes.iter().copied())
                    .map(|k| self.key(k))
                    .collect::<Vec<_>>(),
                &[
                    a.member.as_bytes().to_vec(),
                    self.key(a.record_prefix).into_bytes(),
                    a.now.to_string().into_bytes(),
                    a.idle_secs.to_string().into_bytes(),
                    a.absolute_secs.to_string().into_bytes(),
                    millis(a.index_ttl).to_string().into_bytes(),
                    a.limit.map_or(0, |l| l.max(1)).to_string().into_bytes(),
                    if a.evict_oldest { b"1" } else { b"0" }.to_vec(),
                    a.record.to_vec(),
                    millis(a.record_ttl).to_string().into_bytes(),
                    a.expires_at.to_string().into_bytes(),
                    millis(a.deadline_index_ttl).to_string().into_bytes(),
                ],
            )
            .await?;
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        if admitted == 0 {
            return Ok(Admitted::No {
                live: list.into_iter().map(text).collect(),
            });
        }
        let mut evicted = Vec::new();
        let mut items = list.into_iter();
        while let (Some(member), Some(record)) = (items.next(), items.next()) {
            evicted.push((text(member), record));
        }
        Ok(Admitted::Yes { evicted })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }
}
