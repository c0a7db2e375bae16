//! The Argon2 bound: how many password verifications per second this machine can do with the
//! configured parameters, using Watchword's own hashing pool (one thread per core, as in
//! production). Sign-in throughput is compared against this number.
//!
//!     cargo run --release --example hash_rate -- [SECONDS]

use std::time::{Duration, Instant};

use watchword::config::{Config, HashingConfig};
use watchword::crypto::password::PasswordHasher;

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let config = HashingConfig::default();
    let threads = Config::cores();
    let hasher = PasswordHasher::start(&config).expect("hashing pool starts");
    let hash = hasher.hash("correct horse battery staple").await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Keep every hashing thread busy: twice as many clients as threads.
    for _ in 0..threads * 2 {
        let (hasher, hash) = (hasher.clone(), hash.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let v = hasher
                    .verify("correct horse battery staple", Some(&hash))
                    .await
                    .unwrap();
                assert!(v.ok);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "argon2id m={} t={} p={}: {total} verifications in {elapsed:.1} s on {threads} threads = {:.1}/s ({:.1} ms each per thread)",
        config.memory_kib,
        config.iterations,
        config.parallelism,
        total as f64 / elapsed,
        elapsed * 1000.0 * threads as f64 / total as f64,
    );
}
