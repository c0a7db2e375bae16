//! Redis Sentinel: Watchword finds the master through the sentinels (the host in `redis.url` is
//! never used) and, after a failover, writes to the promoted replica without a restart: no
//! session is lost and the session limit still holds under a burst of sign-ins.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use watchword::config::SentinelConfig;
use watchword::domain::session::{OnLimit, SessionLimit};

use crate::common::redis_server::{RedisServer, Sentinel};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::sessions::{FIREFOX_LINUX, set_session_policy, status};

const NAME: &str = "watchword";

fn role(server: &RedisServer) -> String {
    server
        .query::<Vec<redis::Value>>(&redis::cmd("ROLE"))
        .ok()
        .and_then(|v| match v.first() {
            Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `user` in with a new browser, retrying while the store is unavailable (a 503 during
/// a master's outage) for up to `within`.
async fn sign_in_within(base: &str, user: &str, within: Duration) -> Browser {
    let deadline = Instant::now() + within;
    loop {
        let b = Browser::with_user_agent(base, FIREFOX_LINUX);
        let res = b.sign_in("default", user, GOOD_PASSWORD).await;
        if res.status() == StatusCode::SEE_OTHER {
            return b;
        }
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "only a clean 503 while the master is away"
        );
        assert!(Instant::now() < deadline, "{user} could not sign in again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `n` sign-ins of `user` at once; how many of their sessions are active afterwards.
async fn burst(base: &str, user: &str, n: usize) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let base = base.to_owned();
            let user = user.to_owned();
            tokio::spawn(async move { sign_in_within(&base, &user, Duration::from_secs(5)).await })
        })
        .collect();
    let mut browsers = Vec::new();
    for t in tasks {
        browsers.push(t.await.unwrap());
    }
    let mut active = 0;
    for b in &browsers {
        if status(b).await["active"] == true {
            active += 1;
        }
    }
    active
}

mod needs_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_REDIS_URL)"]
    async fn a_sentinel_failover_loses_no_session_and_the_limit_still_holds() {
        // Gated like the other Redis tests, but on redis-servers of its own.
        let _ = crate::common::required_redis_url();
        let first = RedisServer::start();
        let second =
            RedisServer::start_with(&["--replicaof", "127.0.0.1", &first.port.to_string()]);
        until("the replica syncs", Duration::from_secs(10), || {
            role(&second) == "slave"
                && second
                    .query::<String>(redis::cmd("INFO").arg("replication"))
                    .is_ok_and(|i| i.contains("master_link_status:up"))
        })
        .await;
        let sentinel = Sentinel::start(NAME, first.port);
        until(
            "the sentinel sees the replica",
            Duration::from_secs(15),
            || sentinel.replica_count(NAME) == 1,
        )
        .await;

        let sentinels = vec![sentinel.url()];
        let app = TestApp::builder()
            // Only the database, credentials and TLS of this URL are used: port 1 has no Redis.
            .redis_url(Some("redis://127.0.0.1:1/0".into()))
            .tweak(move |c| {
                c.redis.timeout_ms = 500;
                c.redis.sentinel = Some(SentinelConfig {
                    master_name: NAME.into(),
                    nodes: sentinels,
                });
            })
            .start()
            .await;
        app.create_user("default", "ana", GOOD_PASSWORD).await;
        for u in ["b0", "b1", "b2", "b3", "b4", "b5"] {
            app.create_user("default", u, GOOD_PASSWORD).await;
        }
        set_session_policy(&app, "default", |p| {
            p.max_sessions_per_user = SessionLimit::Max(2);
            p.on_limit = OnLimit::EndOldest;
        })
        .await;
        let a = sign_in_within(&app.base, "ana", Duration::ZERO).await;
        let b = sign_in_within(&app.base, "ana", Duration::ZERO).await;
        assert_eq!(status(&a).await["active"], true);
        assert_eq!(status(&b).await["active"], true);
        assert_eq!(
            burst(&app.base, "b2", 6).await,
            2,
            "a burst leaves the limit"
        );
        let on_first: u64 = first.query(&redis::cmd("DBSIZE")).unwrap();
        assert!(
            on_first > 0,
            "the sessions are on the master the sentinel named"
        );

        // A planned failover: the replica is promoted, the old master follows it.
        sentinel.failover(NAME);
        until(
            "the sentinel names the replica",
            Duration::from_secs(20),
            || sentinel.master_port(NAME) == Some(second.port),
        )
        .await;
        until("the old master follows", Duration::from_secs(20), || {
            role(&first) == "slave"
        })
        .await;
        assert_eq!(status(&a).await["active"], true, "no session lost");
        assert_eq!(status(&b).await["active"], true, "no session lost");
        // The next sign-in is admitted on the new master (the old one refuses writes now), and
        // the limit holds: the oldest session ends.
        let c = sign_in_within(&app.base, "ana", Duration::from_secs(5)).await;
        assert_eq!(status(&c).await["active"], true);
        assert_eq!(
            status(&a).await["active"],
            false,
            "the limit holds after a failover"
        );
        assert_eq!(status(&b).await["active"], true);
        assert_eq!(
            burst(&app.base, "b0", 6).await,
            2,
            "a burst leaves the limit"
        );

        // The new master dies: the sentinel promotes the old one, Watchword follows by itself.
        let mut second = second;
        // Asynchronous replication: what the new master acknowledged reaches the old one once
        // it has synced (`WAIT` would make a write wait for it; Watchword does not).
        until(
            "the old master has caught up",
            Duration::from_secs(20),
            || {
                let offset = |server: &RedisServer, field: &str| {
                    server
                        .query::<String>(redis::cmd("INFO").arg("replication"))
                        .ok()
                        .and_then(|i| {
                            i.lines()
                                .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
                        })
                };
                offset(&first, "master_link_status:").as_deref() == Some("up")
                    && offset(&first, "slave_repl_offset:")
                        == offset(&second, "master_repl_offset:")
            },
        )
        .await;
        second.kill();
        until(
            "the sentinel fails over back",
            Duration::from_secs(30),
            || sentinel.master_port(NAME) == Some(first.port) && role(&first) == "master",
        )
        .await;
        let d = sign_in_within(&app.base, "ana", Duration::from_secs(10)).await;
        assert_eq!(status(&d).await["active"], true);
        assert_eq!(
            status(&b).await["active"],
            false,
            "evicted: the limit holds"
        );
        assert_eq!(
            status(&c).await["active"],
            true,
            "replicated before the crash"
        );
        assert_eq!(
            burst(&app.base, "b1", 6).await,
            2,
            "a burst leaves the limit"
        );
    }
}
