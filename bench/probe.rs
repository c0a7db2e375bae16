//! A fixed-rate latency probe: sends GET requests to one URL at a steady rate (open loop, so a
//! slow server cannot slow the probe down and hide its own latency) and reports percentiles.
//! Used to measure `/healthz` latency while sign-ins saturate password hashing.
//!
//!     cargo run --release --example probe -- URL [RATE_PER_SEC] [SECONDS]

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: probe URL [RATE] [SECONDS]");
    let rate: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let interval = Duration::from_micros(1_000_000 / rate);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for _ in 0..rate * seconds {
        tick.tick().await;
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let ok = client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (started.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (d, ok) = t.await.unwrap();
        if !ok {
            errors += 1;
        }
        latencies.push(d);
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{url}: {} requests at {rate}/s, {errors} errors; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap()),
    );
}
