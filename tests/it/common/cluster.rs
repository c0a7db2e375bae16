//! Several real `watchword serve` processes sharing one PostgreSQL schema and one Redis prefix,
//! behind a small HTTP load balancer in the test process (`Lb`): round robin over the replicas
//! whose `/readyz` answered 200 at the last poll (every 200 ms), a request retried on the next
//! replica only when the connection to a replica cannot be made (nginx's `proxy_next_upstream
//! error`), a new upstream connection per request (nginx's default, no upstream keep-alive).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use super::backend::Backend;
use super::binary::watchword;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `watchword serve` process.
pub struct Replica {
    pub port: u16,
    pub base: String,
    child: Child,
}

impl Replica {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL: no shutdown at all, connections reset by the kernel.
    pub fn kill_dash_nine(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: the graceful shutdown of `src/cli/serve.rs`.
    pub fn sigterm(&self) {
        // SAFETY: plain kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.pid(), libc::SIGTERM) }, 0);
    }

    /// Waits for the process to exit; returns its exit status.
    pub async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "replica {} did not exit within {within:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET {base}{path}`'s status, `None` when the connection fails.
pub async fn status_of(base: &str, path: &str) -> Option<u16> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    client
        .get(format!("{base}{path}"))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

pub struct Cluster {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    master_key: String,
    pub lb: Lb,
    pub replicas: Vec<Replica>,
}

impl Cluster {
    /// `count` replicas on `backend` behind a load balancer; the first applies `seed` (TOML).
    pub async fn start(backend: Backend, seed: &str, count: usize) -> Cluster {
        let mut cluster = Cluster::new(backend).await;
        std::fs::write(cluster.dir.path().join("seed.toml"), seed).unwrap();
        for i in 0..count {
            let r = cluster.spawn(i == 0).await;
            cluster.lb.add(&r.base);
            cluster.replicas.push(r);
        }
        cluster.lb.wait_ready(count).await;
        cluster
    }

    /// The balancer and the configuration, no replica yet.
    pub async fn new(backend: Backend) -> Cluster {
        Cluster {
            backend,
            dir: tempfile::tempdir().unwrap(),
            master_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                watchword::crypto::random::bytes::<32>(),
            ),
            lb: Lb::start().await,
            replicas: Vec::new(),
        }
    }

    /// The master key every replica is given (base64).
    pub fn master_key(&self) -> &str {
        &self.master_key
    }

    /// `watchword` in the cluster's directory, configured like its replicas.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = watchword(self.dir.path());
        self.backend.apply(&mut cmd);
        cmd.env("WATCHWORD__SERVER__PUBLIC_URL", &self.lb.base)
            .env("WATCHWORD__SERVER__CONTROL_SOCKET", "")
            .env("WATCHWORD__SECRETS__MASTER_KEY", &self.master_key);
        cmd
    }

    pub fn log_path(&self, port: u16) -> PathBuf {
        self.dir.path().join(format!("replica-{port}.log"))
    }

    /// Starts a replica on a fresh port and waits for its `/readyz` (not yet in the balancer).
    pub async fn spawn(&self, seed: bool) -> Replica {
        let port = free_port();
        let log = std::fs::File::create(self.log_path(port)).unwrap();
        // One issuer for all (the balancer's URL).
        let mut cmd = self.command();
        cmd.arg("serve")
            .env("WATCHWORD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("WATCHWORD__SERVER__WORKERS", "2")
            .env("WATCHWORD__DATABASE__POOL_SIZE", "4")
            .env("WATCHWORD__HASHING__THREADS", "1")
            // Cheaper hashes (the minimum memory): sign-in load on two cores.
            .env("WATCHWORD__HASHING__MEMORY_KIB", "7168")
            .env("WATCHWORD__HASHING__ITERATIONS", "1")
            .env("WATCHWORD__LOG__LEVEL", "warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if seed {
            cmd.args(["--seed", "seed.toml"]);
        }
        let replica = Replica {
            port,
            base: format!("http://127.0.0.1:{port}"),
            child: cmd.spawn().unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while status_of(&replica.base, "/readyz").await != Some(200) {
            assert!(
                Instant::now() < deadline,
                "replica on {port} did not become ready: {}",
                std::fs::read_to_string(self.log_path(port)).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        replica
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts a replica (no seed) and puts it into the balancer's rotation.
    pub async fn add_replica(&mut self) {
        let r = self.spawn(false).await;
        self.lb.add(&r.base);
        self.replicas.push(r);
        self.lb.wait_ready(self.replicas.len()).await;
    }
}

struct Upstream {
    base: String,
    ready: AtomicBool,
}

#[derive(Default)]
struct LbState {
    upstreams: RwLock<Vec<Arc<Upstream>>>,
    next: AtomicUsize,
    client: Option<reqwest::Client>,
}

impl LbState {
    /// The next ready upstream after round robin, skipping `tried`.
    fn pick(&self, tried: &[String]) -> Option<Arc<Upstream>> {
        let ups = self.upstreams.read().unwrap();
        let n = ups.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| &ups[(start + k) % n])
            .find(|u| u.ready.load(Ordering::SeqCst) && !tried.contains(&u.base))
            .cloned()
    }
}

/// The load balancer in front of the replicas.
pub struct Lb {
    pub base: String,
    state: Arc<LbState>,
    handle: ServerHandle,
    poller: tokio::task::JoinHandle<()>,
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

async fn forward(req: HttpRequest, body: web::Bytes, lb: web::Data<LbState>) -> HttpResponse {
    let client = lb.client.as_ref().unwrap();
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut tried: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let Some(up) = lb.pick(&tried) else {
            if Instant::now() > deadline {
                return HttpResponse::ServiceUnavailable().body("lb: no ready upstream");
            }
            // Nothing (else) ready: wait for the next poll, like a balancer's queue.
            tried.clear();
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut r = client.request(method.clone(), format!("{}{path}", up.base));
        for (name, value) in req.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                r = r.header(name.as_str(), value.as_bytes());
            }
        }
        match r.body(body.clone()).send().await {
            Ok(res) => {
                let mut out = HttpResponse::build(
                    actix_web::http::StatusCode::from_u16(res.status().as_u16()).unwrap(),
                );
                for (name, value) in res.headers() {
                    if !HOP_BY_HOP.contains(&name.as_str()) {
                        out.append_header((name.as_str(), value.as_bytes()));
                    }
                }
                return match res.bytes().await {
                    Ok(b) => out.body(b),
                    Err(e) => HttpResponse::BadGateway().body(format!("lb: upstream body: {e}")),
                };
            }
            Err(e) if e.is_connect() => {
                // Not sent at all: safe to try the next one (and stop using this one until the
                // next poll says it is ready again).
                up.ready.store(false, Ordering::SeqCst);
                tried.push(up.base.clone());
            }
            Err(e) => return HttpResponse::BadGateway().body(format!("lb: upstream: {e}")),
        }
    }
}

impl Lb {
    pub async fn start() -> Lb {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(LbState {
            client: Some(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_max_idle_per_host(0)
                    .connect_timeout(Duration::from_secs(2))
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            ),
            ..LbState::default()
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(forward))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let polled = state.clone();
        let poller = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(1))
                .build()
                .unwrap();
            loop {
                let ups: Vec<_> = polled.upstreams.read().unwrap().clone();
                let checks = ups.iter().map(|u| {
                    let client = client.clone();
                    async move {
                        let ok = matches!(
                            client.get(format!("{}/readyz", u.base)).send().await,
                            Ok(r) if r.status() == reqwest::StatusCode::OK
                        );
                        u.ready.store(ok, Ordering::SeqCst);
                    }
                });
                futures_util::future::join_all(checks).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Lb {
            base,
            state,
            handle,
            poller,
        }
    }

    /// Adds an upstream (used once a readiness poll says so).
    pub fn add(&self, base: &str) {
        self.state
            .upstreams
            .write()
            .unwrap()
            .push(Arc::new(Upstream {
                base: base.to_owned(),
                ready: AtomicBool::new(false),
            }));
    }

    pub fn remove(&self, base: &str) {
        self.state
            .upstreams
            .write()
            .unwrap()
            .retain(|u| u.base != base);
    }

    /// Upstreams the balancer currently sends to.
    pub fn ready_count(&self) -> usize {
        self.state
            .upstreams
            .read()
            .unwrap()
            .iter()
            .filter(|u| u.ready.load(Ordering::SeqCst))
            .count()
    }

    pub fn is_ready(&self, base: &str) -> bool {
        self.state
            .upstreams
            .read()
            .unwrap()
            .iter()
            .any(|u| u.base == base && u.ready.load(Ordering::SeqCst))
    }

    /// Waits until `n` upstreams are in rotation.
    pub async fn wait_ready(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ready_count() < n {
            assert!(
                Instant::now() < deadline,
                "the balancer never saw {n} ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Lb {
    fn drop(&mut self) {
        self.poller.abort();
        drop(self.handle.stop(false));
    }
}
