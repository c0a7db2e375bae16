//! Faults on real processes: three `watchword serve` replicas sharing one PostgreSQL schema and one
//! Redis prefix behind a readiness-aware load balancer (`common::cluster`), under a steady mixed
//! load (sign-ins, code flows, refreshes, introspection). One replica is SIGKILLed, or all are
//! replaced one by one with SIGTERM (rolling restart); nothing acknowledged is lost and the
//! balancer's clients see no failure beyond the requests in flight on a killed process. Also:
//! readiness goes 503 before the listener closes at SIGTERM (`server.shutdown_delay_ms`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;

use crate::common::backend::Backend;
use crate::common::browser::location;
use crate::common::cluster::{Cluster, status_of};
use crate::common::oidc::{param, plain_client};
use crate::common::redis_server::RedisServer;
use crate::common::{Browser, GOOD_PASSWORD, assert_clear_503};

const SECRET: &str = "replica-fault-secret-0123456789abcdefghij";
const REDIRECT: &str = "https://app.example/callback";
/// Sessions (each with an access and a refresh token) established before the fault.
const SESSIONS: usize = 10;
/// Load tasks, each with at most one request in flight.
const CONCURRENCY: usize = 4;

fn seed() -> String {
    let mut s = format!(
        "[[tenants]]\nslug = \"default\"\n[tenants.policy.session]\nmax_sessions_per_user = \"unlimited\"\n\
         [[tenants.clients]]\nclient_id = \"lms\"\nname = \"LMS\"\nsecret = \"{SECRET}\"\nfirst_party = true\n\
         redirect_uris = [\"{REDIRECT}\"]\nscopes = [\"openid\", \"profile\", \"offline_access\"]\n"
    );
    for name in (0..SESSIONS)
        .map(|i| format!("pre{i}"))
        .chain((0..CONCURRENCY).map(|i| format!("load{i}")))
    {
        s += &format!("[[tenants.users]]\nusername = \"{name}\"\npassword = \"{GOOD_PASSWORD}\"\n");
    }
    s
}

#[derive(Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

/// A request's outcome as the load saw it.
struct Outcome {
    started: Instant,
    ok: bool,
    what: String,
}

#[derive(Clone, Default)]
struct Record(Arc<Mutex<Vec<Outcome>>>);

impl Record {
    fn note(&self, started: Instant, ok: bool, what: impl Into<String>) -> bool {
        self.0.lock().unwrap().push(Outcome {
            started,
            ok,
            what: what.into(),
        });
        ok
    }

    fn total(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// (started, what) of every failed request.
    fn failures(&self) -> Vec<(Instant, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|o| !o.ok)
            .map(|o| (o.started, o.what.clone()))
            .collect()
    }
}

/// A failed answer's status and the start of its body (the balancer says why it gave up).
async fn describe(r: reqwest::Response) -> String {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    format!("{status} {}", body.chars().take(200).collect::<String>())
}

/// Signs `b` in as `user`: the form (200 with a CSRF token), then the post (303 and a session
/// cookie). Every request is recorded.
async fn sign_in(b: &Browser, user: &str, rec: &Record) -> bool {
    let t = Instant::now();
    let page = match b.client.get(b.url("/t/default/login")).send().await {
        Ok(r) if r.status() == StatusCode::OK => r.text().await.ok(),
        Ok(r) => {
            rec.note(t, false, format!("login form: {}", describe(r).await));
            return false;
        }
        Err(e) => {
            rec.note(t, false, format!("login form: {e}"));
            return false;
        }
    };
    let Some(csrf) = page.and_then(|p| crate::common::hidden_field(&p, "csrf_token")) else {
        return rec.note(t, false, "login form without a CSRF token");
    };
    rec.note(t, true, "login form");
    let t = Instant::now();
    let res = b
        .client
        .post(b.url("/t/default/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", user),
            ("password", GOOD_PASSWORD),
            ("return_to", ""),
        ])
        .send()
        .await;
    match res {
        Ok(r)
            if r.status() == StatusCode::SEE_OTHER && b.cookie("ww-session-default").is_some() =>
        {
            rec.note(t, true, "sign-in")
        }
        Ok(r) => rec.note(t, false, format!("sign-in: {}", describe(r).await)),
        Err(e) => rec.note(t, false, format!("sign-in: {e}")),
    }
}

/// The code flow for `lms` in signed-in `b`: authorize (a redirect with a code), then the token
/// exchange (200 with both tokens).
async fn code_flow(b: &Browser, rec: &Record) -> Option<Tokens> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let t = Instant::now();
    let res = b
        .client
        .get(b.url("/t/default/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "lms"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await;
    let code = match res {
        Ok(r) => {
            let to = location(&r);
            let code = url::Url::parse(&to)
                .ok()
                .filter(|_| to.starts_with(REDIRECT))
                .and_then(|u| param(&u, "code"));
            if code.is_none() {
                rec.note(t, false, format!("authorize: {to} {}", describe(r).await));
                return None;
            }
            code
        }
        Err(e) => {
            rec.note(t, false, format!("authorize: {e}"));
            return None;
        }
    }?;
    rec.note(t, true, "authorize");
    let t = Instant::now();
    let res = plain_client()
        .post(b.url("/t/default/token"))
        .basic_auth("lms", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await;
    token_response(res, t, "code exchange", rec).await
}

async fn token_response(
    res: reqwest::Result<reqwest::Response>,
    t: Instant,
    what: &str,
    rec: &Record,
) -> Option<Tokens> {
    match res {
        Ok(r) if r.status() == StatusCode::OK => {
            let body: Option<serde_json::Value> = r.json().await.ok();
            let tokens = body.and_then(|b| {
                Some(Tokens {
                    access: b["access_token"].as_str()?.to_owned(),
                    refresh: b["refresh_token"].as_str()?.to_owned(),
                })
            });
            rec.note(t, tokens.is_some(), what);
            tokens
        }
        Ok(r) => {
            rec.note(t, false, format!("{what}: {}", describe(r).await));
            None
        }
        Err(e) => {
            rec.note(t, false, format!("{what}: {e}"));
            None
        }
    }
}

async fn refresh(base: &str, refresh: &str, rec: &Record) -> Option<Tokens> {
    let t = Instant::now();
    let res = plain_client()
        .post(format!("{base}/t/default/token"))
        .basic_auth("lms", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await;
    token_response(res, t, "refresh", rec).await
}

/// Introspection answers 200 with `active: true`.
async fn introspect_active(base: &str, token: &str, rec: &Record) -> bool {
    let t = Instant::now();
    let res = plain_client()
        .post(format!("{base}/t/default/introspect"))
        .basic_auth("lms", Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await;
    match res {
        Ok(r) if r.status() == StatusCode::OK => {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            rec.note(t, body["active"] == true, format!("introspection: {body}"))
        }
        Ok(r) => rec.note(t, false, format!("introspection: {}", describe(r).await)),
        Err(e) => rec.note(t, false, format!("introspection: {e}")),
    }
}

/// The account page answers 200 for `user` (the session cookie works).
async fn signed_in(b: &Browser, user: &str, rec: &Record) -> bool {
    let t = Instant::now();
    match b.client.get(b.url("/t/default/")).send().await {
        Ok(r) if r.status() == StatusCode::OK => {
            let page = r.text().await.unwrap_or_default();
            rec.note(t, page.contains(user), format!("account page of {user}"))
        }
        Ok(r) => rec.note(t, false, format!("account page of {user}: {}", r.status())),
        Err(e) => rec.note(t, false, format!("account page of {user}: {e}")),
    }
}

struct Established {
    user: String,
    browser: Browser,
    tokens: Tokens,
}

/// `SESSIONS` sign-ins through the balancer, each with a code flow.
async fn establish(lb: &str) -> Vec<Established> {
    let rec = Record::default();
    let mut out = Vec::new();
    for i in 0..SESSIONS {
        let user = format!("pre{i}");
        let browser = Browser::new(lb);
        assert!(sign_in(&browser, &user, &rec).await, "{:?}", rec.failures());
        let tokens = code_flow(&browser, &rec)
            .await
            .unwrap_or_else(|| panic!("{:?}", rec.failures()));
        out.push(Established {
            user,
            browser,
            tokens,
        });
    }
    out
}

/// After the fault: every session still signed in, every access token active, every refresh
/// token refreshes; all through the balancer.
async fn assert_nothing_lost(lb: &str, established: &[Established]) {
    let rec = Record::default();
    for e in established {
        assert!(
            signed_in(&e.browser, &e.user, &rec).await,
            "session of {} lost: {:?}",
            e.user,
            rec.failures()
        );
        assert!(
            introspect_active(lb, &e.tokens.access, &rec).await,
            "access token of {} lost: {:?}",
            e.user,
            rec.failures()
        );
        assert!(
            refresh(lb, &e.tokens.refresh, &rec).await.is_some(),
            "refresh token of {} lost: {:?}",
            e.user,
            rec.failures()
        );
    }
}

/// A steady mixed load on the balancer from `CONCURRENCY` tasks, each with one request at a time.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    rec: Record,
}

impl Load {
    fn start(lb: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let rec = Record::default();
        let tasks = (0..CONCURRENCY)
            .map(|i| {
                let (stop, rec, lb) = (stop.clone(), rec.clone(), lb.to_owned());
                tokio::spawn(async move {
                    let user = format!("load{i}");
                    let mut session: Option<Browser> = None;
                    let mut tokens: Option<Tokens> = None;
                    let mut step = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        step += 1;
                        match (step % 4, &session, &tokens) {
                            // A new sign-in; this browser now holds the task's session.
                            (0, _, _) | (_, None, _) => {
                                let b = Browser::new(&lb);
                                if sign_in(&b, &user, &rec).await {
                                    session = Some(b);
                                }
                            }
                            (1, Some(b), _) | (_, Some(b), None) => {
                                tokens = code_flow(b, &rec).await;
                            }
                            (2, _, Some(t)) => {
                                // A refresh lost in flight may have rotated the token: start a
                                // new chain rather than count the reuse as a failure.
                                tokens = refresh(&lb, &t.refresh, &rec).await;
                            }
                            (_, _, Some(t)) => {
                                introspect_active(&lb, &t.access, &rec).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Load { stop, tasks, rec }
    }

    async fn stop(self) -> Record {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.rec
    }
}

fn cluster_backend() -> Backend {
    Backend::with(
        Some(crate::common::required_database_url()),
        Some(crate::common::required_redis_url()),
    )
}

/// Tests that need PostgreSQL and Redis: ignored by default, selected by `scripts/test` in their
/// pass.
mod needs_pg_and_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL and Redis: scripts/test runs it in their pass (or --run-ignored all with both WATCHWORD_TEST_ variables)"]
    async fn kill_dash_nine_one_replica_loses_no_session_and_no_token() {
        let mut cluster = Cluster::start(cluster_backend(), &seed(), 3).await;
        let lb = cluster.lb.base.clone();
        let established = establish(&lb).await;

        let load = Load::start(&lb);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = load.rec.total();
        assert!(load.rec.failures().is_empty(), "{:?}", load.rec.failures());
        // SIGKILL, then reaped: from `dead_at` on the replica's sockets are closed. Requests sent
        // before that may have reached it (its listener accepts into the backlog until the
        // kernel tears the process down) and are lost with it: those are the ones in flight.
        cluster.replicas[1].kill_dash_nine();
        let dead_at = Instant::now();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let rec = load.stop().await;

        let failures = rec.failures();
        assert!(
            failures.iter().all(|(started, _)| *started < dead_at),
            "a request sent after the replica died failed: {failures:?}"
        );
        assert!(
            failures.len() <= CONCURRENCY,
            "more failures than requests in flight: {failures:?}"
        );
        let after = rec.total() - before;
        eprintln!(
            "load: {} requests, {after} after the kill, failed (in flight): {failures:?}",
            rec.total()
        );
        assert!(after >= 20, "the survivors kept serving ({after} requests)");
        assert_eq!(cluster.lb.ready_count(), 2);
        assert_nothing_lost(&lb, &established).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL and Redis: scripts/test runs it in their pass (or --run-ignored all with both WATCHWORD_TEST_ variables)"]
    async fn rolling_restart_fails_no_request_and_loses_no_session() {
        let mut cluster = Cluster::start(cluster_backend(), &seed(), 3).await;
        let lb = cluster.lb.base.clone();
        let established = establish(&lb).await;

        let load = Load::start(&lb);
        tokio::time::sleep(Duration::from_secs(1)).await;
        for _ in 0..3 {
            let fresh = cluster.spawn(false).await;
            cluster.lb.add(&fresh.base);
            let deadline = Instant::now() + Duration::from_secs(5);
            while !cluster.lb.is_ready(&fresh.base) {
                assert!(Instant::now() < deadline, "the balancer never took it");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut old = cluster.replicas.remove(0);
            old.sigterm();
            // Draining: not ready, but still serving until `shutdown_delay_ms` has passed.
            let drain = Instant::now();
            let mut seen_draining = false;
            while drain.elapsed() < Duration::from_millis(1000) {
                if status_of(&old.base, "/readyz").await == Some(503) {
                    assert_eq!(status_of(&old.base, "/healthz").await, Some(200));
                    seen_draining = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(seen_draining, "readiness did not go 503 while serving");
            // The balancer takes it out of rotation while its listener is still open: no
            // request of ours depends on the connect-error retry.
            while cluster.lb.is_ready(&old.base) {
                assert!(
                    drain.elapsed() < Duration::from_secs(1),
                    "still in rotation"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(
                status_of(&old.base, "/healthz").await,
                Some(200),
                "out of rotation before the listener closed"
            );
            let status = old.exited(Duration::from_secs(15)).await;
            assert!(status.success(), "graceful exit: {status:?}");
            cluster.lb.remove(&old.base);
            cluster.replicas.push(fresh);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rec = load.stop().await;
        eprintln!("load: {} requests during the rolling restart", rec.total());
        assert!(
            rec.failures().is_empty(),
            "failed through the balancer: {:?}",
            rec.failures()
        );
        assert!(rec.total() >= 50, "load ran ({} requests)", rec.total());
        assert_nothing_lost(&lb, &established).await;
    }
}

/// The server change behind the rolling restart, on SQLite (every pass): at SIGTERM `/readyz`
/// answers 503 `draining` while the listener still serves, for `server.shutdown_delay_ms`, then
/// the listener closes and the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readiness_off_before_the_listener_closes() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::cluster::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = crate::common::binary::watchword(dir.path());
    cmd.arg("serve")
        .env("WATCHWORD__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("WATCHWORD__SERVER__PUBLIC_URL", &base)
        .env("WATCHWORD__SERVER__SHUTDOWN_DELAY_MS", "1500")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(&base, "/readyz").await != Some(200) {
        assert!(Instant::now() < deadline, "did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: kill(2) on our child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "draining");
    let page = reqwest::get(format!("{base}/t/default/login"))
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "still serving while draining"
    );
    // Then the listener closes and the process exits.
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "no exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "the listener stayed open for the delay"
    );
    assert_eq!(status_of(&base, "/healthz").await, None, "listener closed");
}

/// Polls `{base}/readyz` until it answers `want`; returns its body.
async fn wait_readyz(base: &str, want: StatusCode, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await {
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            if status == want {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "readyz never became {want}: {body}"
            );
        } else {
            assert!(Instant::now() < deadline, "readyz never answered");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A `TestApp` on `database_url`/`redis_url` with the `lms` client and users `pre0..` seeded.
async fn seeded_app(
    database_url: Option<String>,
    redis_url: Option<String>,
) -> crate::common::TestApp {
    let app = crate::common::TestApp::builder()
        .database_url(database_url)
        .redis_url(redis_url)
        .tweak(|c| {
            c.redis.timeout_ms = 500;
            c.database.connect_timeout_secs = 1;
        })
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    std::fs::write(&path, seed()).unwrap();
    app.app.seed(&path).await.unwrap();
    app
}

/// Tests that need Redis (`redis-server` on PATH, as in the pass with `WATCHWORD_TEST_REDIS_URL`):
/// ignored by default.
mod needs_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_REDIS_URL)"]
    async fn redis_restart_with_persistence_keeps_acknowledged_state() {
        // Gated like the other Redis tests, but on its own redis-server.
        let _ = crate::common::required_redis_url();
        let mut redis = RedisServer::start();
        let app = seeded_app(crate::common::test_database_url(), Some(redis.url())).await;
        let rec = Record::default();
        let mut sessions = Vec::new();
        for i in 0..3 {
            let b = app.browser();
            assert!(
                sign_in(&b, &format!("pre{i}"), &rec).await,
                "{:?}",
                rec.failures()
            );
            sessions.push(b);
        }
        let tokens = code_flow(&sessions[0], &rec).await.expect("tokens");
        wait_readyz(&app.base, StatusCode::OK, Duration::from_secs(5)).await;

        redis.kill();
        let body = wait_readyz(
            &app.base,
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(body["checks"]["session_store"]["status"], "unreachable");
        assert_clear_503(sessions[0].get("/t/default/").await, "account page").await;
        let fresh = app.browser();
        assert_clear_503(
            fresh.sign_in("default", "pre3", GOOD_PASSWORD).await,
            "sign-in",
        )
        .await;

        redis.restart();
        wait_readyz(&app.base, StatusCode::OK, Duration::from_secs(15)).await;
        for (i, b) in sessions.iter().enumerate() {
            assert!(
                signed_in(b, &format!("pre{i}"), &rec).await,
                "session {i} survived the restart: {:?}",
                rec.failures()
            );
        }
        assert!(sign_in(&fresh, "pre3", &rec).await, "{:?}", rec.failures());
        // The refresh token from before still refreshes (its revocation markers live in Redis).
        assert!(refresh(&app.base, &tokens.refresh, &rec).await.is_some());
    }
}

/// A PostgreSQL cluster of its own (initdb into a temporary directory), owned by the `postgres`
/// user when the tests run as root.
struct PgServer {
    port: u16,
    dir: tempfile::TempDir,
}

fn as_postgres(program: &str) -> std::process::Command {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|d| {
            let mut v: Vec<_> = d.filter_map(Result::ok).map(|e| e.path()).collect();
            v.sort();
            v.pop()
        })
        .map(|p| p.join("bin").join(program))
        .filter(|p| p.exists())
        .unwrap_or_else(|| program.into());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    }
}

fn run_ok(mut cmd: std::process::Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgServer {
    fn start() -> PgServer {
        let dir = tempfile::Builder::new().prefix("ww-pg-").tempdir().unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            run_ok({
                let mut c = std::process::Command::new("chown");
                c.arg("postgres:postgres").arg(dir.path());
                c
            });
        }
        let mut initdb = as_postgres("initdb");
        initdb
            .args(["-A", "trust", "-U", "postgres", "-N", "-E", "UTF8", "-D"])
            .arg(dir.path().join("data"));
        run_ok(initdb);
        let pg = PgServer {
            port: crate::common::cluster::free_port(),
            dir,
        };
        pg.ctl("start");
        pg
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn ctl(&self, action: &str) {
        let mut c = as_postgres("pg_ctl");
        c.args([action, "-w", "-m", "fast", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
                self.port,
                self.dir.path().display()
            ));
        run_ok(c);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let mut c = as_postgres("pg_ctl");
        c.args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"));
        let _ = c.output();
    }
}

/// Tests that need PostgreSQL (its binaries, as in the pass with `WATCHWORD_TEST_DATABASE_URL`):
/// ignored by default.
mod needs_pg {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_DATABASE_URL)"]
    async fn postgres_restart_keeps_acknowledged_state() {
        // Gated like the other PostgreSQL tests, but on its own cluster.
        let _ = crate::common::required_database_url();
        let pg = PgServer::start();
        let app = seeded_app(Some(pg.url()), crate::common::test_redis_url()).await;
        let rec = Record::default();
        let b = app.browser();
        assert!(sign_in(&b, "pre0", &rec).await, "{:?}", rec.failures());
        let tokens = code_flow(&b, &rec).await.expect("tokens");
        wait_readyz(&app.base, StatusCode::OK, Duration::from_secs(5)).await;
        let csrf = b.csrf("/t/default/login").await;

        pg.ctl("stop");
        let body = wait_readyz(
            &app.base,
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(body["checks"]["database"]["status"], "unreachable");
        let form = [
            ("csrf_token", csrf.as_str()),
            ("identifier", "pre1"),
            ("password", GOOD_PASSWORD),
        ];
        assert_clear_503(b.post_form("/t/default/login", &form).await, "sign-in").await;
        let res = plain_client()
            .post(format!("{}/t/default/token", app.base))
            .basic_auth("lms", Some(SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.refresh.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "refresh");

        pg.ctl("start");
        wait_readyz(&app.base, StatusCode::OK, Duration::from_secs(15)).await;
        // Users, the client and the grant written before are there; the session too.
        assert!(signed_in(&b, "pre0", &rec).await, "{:?}", rec.failures());
        let other = app.browser();
        assert!(sign_in(&other, "pre1", &rec).await, "{:?}", rec.failures());
        assert!(
            refresh(&app.base, &tokens.refresh, &rec).await.is_some(),
            "{:?}",
            rec.failures()
        );
        assert!(
            code_flow(&other, &rec).await.is_some(),
            "{:?}",
            rec.failures()
        );
        drop(app);
    }
}
