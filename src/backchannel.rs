//! Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 section 2.5): signed
//! logout tokens are POSTed to clients in the background, each attempt with a timeout, retried
//! with back-off on network errors and 5xx answers. Failures are logged and counted; they never
//! block the person signing out. Redirects are not followed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

/// One logout token for one client.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub tenant: String,
    pub client_id: String,
    pub uri: String,
    pub logout_token: String,
    /// When the session ended (for the delivery-delay metric).
    pub queued: Instant,
}

/// Sends deliveries to the background worker.
#[derive(Clone)]
pub struct Backchannel {
    tx: Option<mpsc::Sender<Delivery>>,
    /// Deliveries queued or in progress (waited for before a command-line tool exits).
    pending: Arc<AtomicUsize>,
}

/// Retry schedule after the first attempt.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const QUEUE: usize = 10_000;
const CONCURRENCY: usize = 64;

impl Backchannel {
    /// Starts the worker on the current tokio runtime (a no-op sender outside one).
    pub fn start() -> Self {
        let pending = Arc::new(AtomicUsize::new(0));
        if tokio::runtime::Handle::try_current().is_err() {
            return Self { tx: None, pending };
        }
        let (tx, mut rx) = mpsc::channel::<Delivery>(QUEUE);
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Watchword/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client builds");
        let limit = Arc::new(Semaphore::new(CONCURRENCY));
        let counter = pending.clone();
        tokio::spawn(async move {
            while let Some(delivery) = rx.recv().await {
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    break;
                };
                let (http, counter) = (http.clone(), counter.clone());
                tokio::spawn(async move {
                    deliver(&http, delivery).await;
                    counter.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                });
            }
        });
        Self {
            tx: Some(tx),
            pending,
        }
    }

    /// Queues a delivery; if the queue is full it is dropped and logged.
    pub fn send(&self, delivery: Delivery) {
        let Some(tx) = &self.tx else {
            tracing::warn!(client = %delivery.client_id, "back-channel logout not sent: no worker running");
            return;
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = tx.try_send(delivery) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            let d = match e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d,
            };
            metrics::counter!("watchword_backchannel_logout_total", "result" => "dropped")
                .increment(1);
            tracing::error!(client = %d.client_id, tenant = %d.tenant, "back-channel logout queue full; delivery dropped");
        }
    }

    /// Waits (up to `limit`) until every queued delivery has been attempted to the end; returns
    /// how many were still pending. Command-line tools call it before exiting.
    pub async fn flush(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let left = self.pending.load(Ordering::SeqCst);
            if left == 0 || Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn deliver(http: &reqwest::Client, d: Delivery) {
    let mut attempt = 0;
    loop {
        let result = http
            .post(&d.uri)
            .header("Cache-Control", "no-store")
            .form(&[("logout_token", d.logout_token.as_str())])
            .send()
            .await;
        let retry = match &result {
            Ok(res) if res.status().is_success() => {
                metrics::counter!("watchword_backchannel_logout_total", "result" => "delivered")
                    .increment(1);
                metrics::histogram!("watchword_backchannel_logout_delay_seconds")
                    .record(d.queued.elapsed().as_secs_f64());
                tracing::info!(client = %d.client_id, tenant = %d.tenant, attempt, "back-channel logout delivered");
                return;
            }
            Ok(res) => {
                tracing::warn!(client = %d.client_id, tenant = %d.tenant, status = res.status().as_u16(), attempt, "back-channel logout refused");
                res.status().is_server_error()
            }
            Err(e) => {
                tracing::warn!(client = %d.client_id, tenant = %d.tenant, error = %e, attempt, "back-channel logout failed");
                true
            }
        };
        if !retry || attempt >= BACKOFF.len() {
            metrics::counter!("watchword_backchannel_logout_total", "result" => "failed")
                .increment(1);
            tracing::error!(client = %d.client_id, tenant = %d.tenant, "back-channel logout not delivered; giving up");
            return;
        }
        tokio::time::sleep(BACKOFF[attempt]).await;
        attempt += 1;
    }
}
