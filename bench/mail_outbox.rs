//! Outbox throughput: queues N messages (in transactions of 500, as flows would queue them one
//! by one, only faster), then delivers them with W concurrent workers (as W replicas would) to
//! the SMTP server of `[mail]`, and prints both rates. Configuration comes from the usual
//! `WATCHWORD__*` environment variables (database, mail, master key).
//!
//!     cargo run --release --example mail_outbox -- N [WORKERS] [--queue-only]

use std::sync::Arc;
use std::time::Instant;

use watchword::app::Watchword;
use watchword::clock::SystemClock;
use watchword::config::Config;
use watchword::mail::{self, Recipient, worker};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let queue_only = args.iter().any(|a| a == "--queue-only");
    let config = Config::load(None).expect("configuration");
    let app = Watchword::init(config, Arc::new(SystemClock))
        .await
        .expect("Watchword starts");
    let ctx = app.ctx.clone();

    let started = Instant::now();
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        left -= batch;
        let (key, now) = (*ctx.keys.encryption, ctx.clock.unix());
        ctx.db
            .write(move |c| {
                for i in 0..batch {
                    let to = Recipient::new(&format!("user{i}@example.com"), None).unwrap();
                    let m = mail::message::test("Bench");
                    mail::queue(c, &key, now, None, &to, &m)?;
                }
                Ok(())
            })
            .await
            .expect("queue");
    }
    let queued = started.elapsed().as_secs_f64();
    println!(
        "queued {n} messages in {queued:.2} s = {:.0}/s ({:?})",
        n as f64 / queued,
        ctx.db.backend()
    );
    if queue_only {
        return;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let round = worker::deliver_due(&ctx).await;
                if round.sent + round.retrying + round.failed == 0 {
                    return sent;
                }
                sent += round.sent;
            }
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "delivered {sent} messages with {workers} worker(s) in {took:.2} s = {:.0}/s",
        sent as f64 / took
    );
}
