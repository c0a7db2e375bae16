//! Rotating refresh throughput without wrk's Lua hook in the way: `C` tasks, each holding a
//! share of the refresh tokens printed by `oidc_setup` (one per line) and redeeming them in
//! turn, each answer's successor replacing the token it used, for `S` seconds. Prints the rate,
//! the latency percentiles and the failures.
//!
//!     cargo run --release --example refresh_load -- BASE_URL TOKENS_FILE [CONCURRENCY] [SECONDS]

use std::time::{Duration, Instant};

const BASIC: &str = "bench-web:bench-web-secret-0123456789abcdefghijkl";

#[tokio::main]
async fn main() {
    use base64::Engine;
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: refresh_load BASE_URL TOKENS_FILE [C] [S]");
    let file = args.next().expect("TOKENS_FILE");
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let tokens: Vec<String> = std::fs::read_to_string(&file)
        .expect("tokens file")
        .lines()
        .filter(|l| !l.starts_with("access_token") && !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(tokens.len() >= concurrency, "fewer tokens than tasks");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(BASIC)
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let url = format!("{base}/t/default/token");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let mut mine: Vec<String> = tokens
            .iter()
            .skip(i)
            .step_by(concurrency)
            .cloned()
            .collect();
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
            let mut next = 0;
            while Instant::now() < deadline {
                let token = mine[next].clone();
                let started = Instant::now();
                let res = client
                    .post(&url)
                    .header("Authorization", &auth)
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                    .send()
                    .await;
                let body: Option<serde_json::Value> = match res {
                    Ok(r) if r.status().is_success() => r.json().await.ok(),
                    _ => None,
                };
                match body.and_then(|b| b["refresh_token"].as_str().map(str::to_owned)) {
                    Some(successor) => {
                        latencies.push(started.elapsed());
                        mine[next] = successor;
                        ok += 1;
                    }
                    None => failed += 1,
                }
                next = (next + 1) % mine.len();
            }
            (ok, failed, latencies)
        }));
    }
    let (mut ok, mut failed, mut all) = (0, 0, Vec::new());
    for t in tasks {
        let (o, f, l) = t.await.unwrap();
        ok += o;
        failed += f;
        all.extend(l);
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "refresh_load: {concurrency} tasks, {} lineages, {seconds} s: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, {failed} failed",
        tokens.len(),
        ok as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
}
