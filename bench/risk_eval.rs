//! Issue 11's in-process benchmark: what risk scoring costs a sign-in, without the hashing.
//!
//! 1. The pure assessment (`risk::assess::before_password` + `after_password`, with the
//!    locator's lookups and the travel check) against a learned profile.
//! 2. The engine's whole share of one password sign-in: `auth::risk::screen` (the spraying
//!    counters in the session store), `judge` (the profile read, the sign-in event written) and
//!    `signed_in` (the event's result, the profile rewritten under its row lock), on the
//!    configured backends.
//! 3. The memory of the built-in country data and breach filter (the process's RSS before and
//!    after loading them).
//!
//!     cargo run --release --example risk_eval -- [DATABASE_URL] [REDIS_URL] [N]
//!
//! With no URLs: SQLite in a temporary directory and the in-process store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use watchword::app::Watchword;
use watchword::auth::mfa::Need;
use watchword::auth::risk::{self as engine, Proven};
use watchword::clock::SystemClock;
use watchword::config::Config;
use watchword::domain::audit::Actor;
use watchword::domain::risk::RiskPolicy;
use watchword::domain::secret::Secret;
use watchword::risk::assess::{self, After, Before};
use watchword::risk::network::NetworkKind;
use watchword::risk::place::Locator;
use watchword::risk::profile::{Profile, Visit};
use watchword::risk::travel::TravelRules;
use watchword::storage::factors::Factors;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name}: n={}, p50 {:.4} ms, p90 {:.4} ms, p99 {:.4} ms, max {:.3} ms",
        v.len(),
        percentile(&v, 0.50),
        percentile(&v, 0.90),
        percentile(&v, 0.99),
        percentile(&v, 1.0)
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let database = args.first().filter(|a| !a.is_empty()).cloned();
    let redis = args.get(1).filter(|a| !a.is_empty()).cloned();
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    println!(
        "== machine: {} cores, {}; backend: {} + {}",
        Config::cores(),
        watchword::clock::Clock::now(&SystemClock).format("%F"),
        if database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if redis.is_some() {
            "Redis"
        } else {
            "in-process store"
        },
    );

    // 3. Memory first, before anything else is loaded.
    let before = rss_kib();
    let locator = Locator::builtin();
    let _ = locator.place("8.8.8.8".parse().unwrap());
    let after_geo = rss_kib();
    let filter = watchword::risk::breach::shipped().unwrap();
    let after_breach = rss_kib();
    println!(
        "memory: built-in country data {} KiB, breach filter {} KiB ({} entries)",
        after_geo.saturating_sub(before),
        after_breach.saturating_sub(after_geo),
        filter.manifest().entries
    );

    // 1. The pure assessment.
    let policy = RiskPolicy::default();
    let mut profile = Profile::default();
    let home = locator.place("81.2.69.142".parse().unwrap());
    for i in 0..10 {
        profile.learn(&Visit {
            at: 1_800_000_000 - 86_400 + i,
            ip: Some("81.2.69.142".parse().unwrap()),
            place: home.clone(),
            network: Some(NetworkKind::Public),
            device: Some(format!("device-{}", i % 3)),
            agent: Some("Firefox on Linux".into()),
        });
    }
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let ips: Vec<std::net::IpAddr> = ["81.2.69.160", "1.1.1.1", "203.0.113.9", "10.1.2.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut times = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        let ip = ips[i % ips.len()];
        let t = Instant::now();
        let network = locator.network(ip);
        let place = locator.place(ip);
        let b = assess::before_password(
            &policy,
            &Before {
                ip,
                network,
                failed_usernames: 0,
            },
        );
        let a = assess::after_password(
            &policy,
            &profile,
            &b,
            &After {
                ip,
                place: place.as_ref(),
                network,
                device: Some("device-1"),
                agent: "Firefox on Linux",
                now,
                account_failures: 0,
                address_failures: 0,
                breached: false,
            },
            &TravelRules::default(),
        );
        std::hint::black_box(a);
        times.push(t.elapsed());
    }
    report("pure assessment (locator lookups, before + after)", times);

    // 2. The engine's share of a sign-in, on real storage.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url =
        Some(Secret::new(database.unwrap_or_else(|| {
            format!("sqlite://{}", dir.path().join("risk.db").display())
        })));
    if let Some(url) = redis {
        config.redis.url = Some(Secret::new(url));
        config.redis.key_prefix = format!("wwrisk{}:", std::process::id());
    }
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
    let name = format!("risk{}", std::process::id());
    let user = watchword::admin::users::create(
        &ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: name,
            email: None,
            email_verified: false,
            display_name: None,
            password: None,
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let factors = Factors::default();
    let mut screen_t = Vec::with_capacity(n);
    let mut judge_t = Vec::with_capacity(n);
    let mut learn_t = Vec::with_capacity(n);
    let mut total_t = Vec::with_capacity(n);
    for i in 0..n {
        let ip = ips[i % 3];
        let t0 = Instant::now();
        let screening = engine::screen(&ctx, &tenant, ip).await.unwrap();
        let t1 = Instant::now();
        let judged = engine::judge(
            &ctx,
            &tenant,
            &screening,
            Proven {
                user: &user,
                factors: &factors,
                need: Need::Nothing,
                device: Some(format!("device-{}", i % 3)),
                device_presented: true,
                user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
                account_failures: 0,
                address_failures: 0,
                breached: false,
                strong: false,
            },
        )
        .await
        .unwrap();
        let t2 = Instant::now();
        engine::signed_in(&ctx, &user, &judged.note).await.unwrap();
        let t3 = Instant::now();
        screen_t.push(t1 - t0);
        judge_t.push(t2 - t1);
        learn_t.push(t3 - t2);
        total_t.push(t3 - t0);
    }
    report("screen (before the password)", screen_t);
    report("judge (profile read, event written)", judge_t);
    report("signed_in (event result, profile rewritten)", learn_t);
    report("risk's whole share of a sign-in", total_t);
}
