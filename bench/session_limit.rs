//! Issue 4's benchmark, in process against the real stores (Redis, and PostgreSQL or SQLite):
//!
//! 1. Redis memory per browser session: 100,000 users with one session each (the one-session
//!    setup), `INFO memory` before and after, and `MEMORY USAGE` of each kind of key.
//! 2. Latency the session limit adds to a sign-in: `Sessions::create` for new users (no one to
//!    evict) against `create` at the limit plus `logout::end_evicted` (what the sign-in request
//!    waits for: the atomic eviction and the evicted browser's note; revoking its grants,
//!    back-channel logout and audit then run in the background).
//! 3. Eviction to back-channel delivery: from the start of the evicting sign-in's session step to
//!    the moment a local client endpoint receives the logout token.
//!
//!     cargo run --release --example session_limit -- REDIS_URL [DATABASE_URL] [SESSIONS]
//!
//! Use a Redis database of its own (e.g. `redis://127.0.0.1:6379/9`): the keys get the default
//! production prefix `ww:` (key length is part of the memory per session), the program refuses to
//! start if any exist, and deletes them at the end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use watchword::app::Watchword;
use watchword::auth::sessions::{Created, Creation, Sessions};
use watchword::clock::SystemClock;
use watchword::config::Config;
use watchword::domain::audit::{Actor, Origin};
use watchword::domain::ids::UserId;
use watchword::domain::secret::Secret;
use watchword::domain::session::{Amr, SessionLimit};

/// Sign-ins of the measured loops are paced (one every 10 ms), as sign-ins of one user are, so
/// that one eviction's background work does not queue behind the next on 2 cores.
const PACE: Duration = Duration::from_millis(10);

/// A real browser's User-Agent header (the record keeps only "Chrome on Windows").
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let (p50, p99) = (percentile(&v, 0.50), percentile(&v, 0.99));
    println!(
        "{name}: n={}, p50 {p50:.3} ms, p90 {:.3} ms, p99 {p99:.3} ms, max {:.3} ms",
        v.len(),
        percentile(&v, 0.90),
        percentile(&v, 1.0)
    );
    (p50, p99)
}

/// A client endpoint that answers 200 to every POST and notes when each logout token (by its
/// `sid`) arrived.
async fn listener(arrivals: Arc<Mutex<HashMap<String, Instant>>>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/backchannel", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len: usize = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + len {
                            let at = Instant::now();
                            let body = &text[head_end + 4..];
                            if let Some(token) = form_urlencoded::parse(body.as_bytes())
                                .find(|(k, _)| k == "logout_token")
                                .map(|(_, v)| v.into_owned())
                            {
                                let payload = token.split('.').nth(1).unwrap_or("");
                                let claims: serde_json::Value = base64::Engine::decode(
                                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                                    payload,
                                )
                                .ok()
                                .and_then(|b| serde_json::from_slice(&b).ok())
                                .unwrap_or_default();
                                if let Some(sid) = claims["sid"].as_str() {
                                    arrivals.lock().await.insert(sid.to_owned(), at);
                                }
                            }
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            break;
                        }
                    }
                }
            });
        }
    });
    uri
}

async fn redis_used_memory(url: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut c)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn memory_usage(url: &str, key: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query_async::<Option<i64>>(&mut c)
        .await
        .unwrap()
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let redis_url = args.get(1).expect("REDIS_URL").clone();
    let dir = tempfile::tempdir().unwrap();
    let database = args
        .get(2)
        .cloned()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let sessions_n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let prefix = "ww:".to_owned();
    {
        let client = redis::Client::open(redis_url.as_str()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let (_, existing): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg("ww:*")
            .arg("COUNT")
            .arg(100_000)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(
            existing.is_empty(),
            "{redis_url} already has ww:* keys: use a database of its own"
        );
    }

    let mut config = Config::default();
    config.database.url = Some(Secret::new(database));
    config.redis.url = Some(Secret::new(redis_url.clone()));
    config.redis.key_prefix = prefix.clone();
    config.server.control_socket = String::new();
    config.secrets.master_key = Some(Secret::new(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        watchword::crypto::random::bytes::<32>(),
    )));
    let app = Watchword::init(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let ctx = app.ctx.clone();
    let tenant = watchword::admin::tenants::get(&ctx, "default")
        .await
        .unwrap();
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    println!(
        "== machine: {} cores, {}",
        Config::cores(),
        watchword::clock::Clock::now(&SystemClock).format("%F")
    );

    // 1. Memory per session.
    let before = redis_used_memory(&redis_url).await;
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let (sessions, tenant) = (sessions.clone(), tenant.clone());
            tokio::spawn(async move {
                let mut sample = None;
                for _ in (t..sessions_n).step_by(16) {
                    let created = sessions
                        .create(
                            &tenant,
                            UserId::generate(),
                            Creation {
                                amr: vec![Amr::Pwd],
                                ip: "203.0.113.7",
                                user_agent: UA,
                                force: false,
                                risk: None,
                                via: None,
                            },
                        )
                        .await
                        .unwrap();
                    if let Created::Admitted { session, .. } = created {
                        sample = Some(*session);
                    }
                }
                sample
            })
        })
        .collect();
    let mut sample = None;
    for t in tasks {
        sample = t.await.unwrap().or(sample);
    }
    let after = redis_used_memory(&redis_url).await;
    let per = (after - before) as f64 / sessions_n as f64;
    println!("== 1. Redis memory: {sessions_n} users with one session each");
    println!(
        "used_memory grew by {} bytes = {per:.0} bytes per session",
        after - before
    );
    let s = sample.unwrap();
    for (what, key) in [
        (
            "record   sess:<sid>",
            format!("{prefix}sess:{}", s.record.sid),
        ),
        (
            "user idx usess:<tenant>:<user>",
            format!("{prefix}usess:{}:{}", tenant.id, s.record.user_id),
        ),
    ] {
        println!(
            "MEMORY USAGE {what}: {} bytes",
            memory_usage(&redis_url, &key).await
        );
    }
    println!(
        "MEMORY USAGE sexp (all sessions, one sorted set): {} bytes = {:.0} per session",
        memory_usage(&redis_url, &format!("{prefix}sexp")).await,
        memory_usage(&redis_url, &format!("{prefix}sexp")).await as f64 / sessions_n as f64
    );

    // 2. Latency added by the limit.
    let mut policy = tenant.policy.clone();
    policy.session.max_sessions_per_user = SessionLimit::Max(1);
    let (tenant, _) = watchword::admin::tenants::update(
        &ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let arrivals = Arc::new(Mutex::new(HashMap::new()));
    let uri = listener(arrivals.clone()).await;
    let mut client = watchword::admin::clients::NewClient {
        client_id: Some("bench-app".into()),
        name: "Bench".into(),
        kind: watchword::domain::client::ClientKind::Confidential,
        auth_method: None,
        settings: Default::default(),
        secret: None,
    };
    client.settings.redirect_uris = vec!["https://bench.example/cb".into()];
    client.settings.backchannel_logout_uri = Some(uri);
    watchword::admin::clients::create(
        &ctx,
        &tenant,
        client,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let origin = Origin {
        ip: Some("198.51.100.9".into()),
        user_agent: Some(UA.into()),
        request_id: None,
    };
    // Interleaved, so both kinds of sign-in see the same machine conditions.
    let rounds = 3000;
    let user = UserId::generate();
    let (mut free, mut enforced) = (Vec::new(), Vec::new());
    let mut evicted_at = HashMap::new();
    for i in 0..rounds {
        let t = Instant::now();
        sessions
            .create(
                &tenant,
                UserId::generate(),
                Creation {
                    amr: vec![Amr::Pwd],
                    ip: "198.51.100.9",
                    user_agent: UA,
                    force: false,
                    risk: None,
                    via: None,
                },
            )
            .await
            .unwrap();
        free.push(t.elapsed());
        tokio::time::sleep(PACE).await;

        let t = Instant::now();
        let created = sessions
            .create(
                &tenant,
                user,
                Creation {
                    amr: vec![Amr::Pwd],
                    ip: "198.51.100.9",
                    user_agent: UA,
                    force: false,
                    risk: None,
                    via: None,
                },
            )
            .await
            .unwrap();
        let Created::Admitted { session, evicted } = created else {
            panic!("end_oldest admits")
        };
        for e in &evicted {
            evicted_at.insert(e.record.sid.clone(), t);
        }
        watchword::lifecycle::end_evicted(
            &ctx,
            &tenant,
            evicted,
            origin.clone(),
            &session.record.sid,
        )
        .await;
        enforced.push(t.elapsed());
        // The application got tokens in the new session: it will be told when that one ends.
        if i % 4 == 0 {
            sessions
                .add_client(&session.record.sid, "bench-app")
                .await
                .unwrap();
        }
        tokio::time::sleep(PACE).await;
    }
    println!("== 2. Session step of a sign-in, {rounds} each (Redis + database)");
    let (p50_free, p99_free) = report("create, nobody to evict (limit not reached)", free);
    let (p50_enf, p99_enf) = report(
        "create at the limit, evicting (what the sign-in waits for; the rest is in the background)",
        enforced,
    );
    println!(
        "added by the limit: p50 {:.3} ms, p99 {:.3} ms",
        p50_enf - p50_free,
        p99_enf - p99_free
    );

    // 3. Eviction to back-channel delivery.
    ctx.backchannel.flush(Duration::from_secs(30)).await;
    let arrivals = arrivals.lock().await;
    let delays: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(sid, at)| evicted_at.get(sid).map(|t| at.duration_since(*t)))
        .collect();
    println!("== 3. Eviction to back-channel logout delivery (local client endpoint)");
    report("delay", delays);

    // Clean up the bench's keys.
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut c)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut c)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}
