//! The session limit across replicas: real `watchword serve` processes on different ports sharing
//! one PostgreSQL database and one Redis (ignored by default; only in the PostgreSQL + Redis pass). A sign-in on one
//! replica ends the session another replica created, everywhere; concurrent sign-ins spread
//! over the replicas leave exactly the limit, and every loser's tokens are dead.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;

use super::{CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE};
use crate::common::backend::Backend;
use crate::common::binary::watchword;
use crate::common::browser::location;
use crate::common::oidc::{Listener, param, plain_client};
use crate::common::{
    Browser, GOOD_PASSWORD, hidden_field, required_database_url, required_redis_url,
};

const SECRET: &str = "replica-test-secret-0123456789abcdefghij";
const REDIRECT: &str = "https://app.example/callback";

/// A tenant per scenario: (slug, limit, on_limit).
const TENANTS: [(&str, &str, &str); 5] = [
    ("one-oldest", "1", "end_oldest"),
    ("two-oldest", "2", "end_oldest"),
    ("one-deny", "1", "deny_new"),
    ("two-deny", "2", "deny_new"),
    ("race", "2", "end_oldest"),
];

struct Replica {
    base: String,
    child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    backend: Backend,
    dir: tempfile::TempDir,
    master_key: String,
    /// The URL every replica announces (one issuer, as behind a load balancer).
    public_url: String,
    replicas: Vec<Replica>,
}

/// `GET /readyz` answers 200.
fn ready(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    s.write_all(request.as_bytes()).is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Panics unless both PostgreSQL and Redis are configured for the tests.
    fn new(listener: &Listener) -> Cluster {
        let backend = Backend::with(Some(required_database_url()), Some(required_redis_url()));
        let dir = tempfile::tempdir().unwrap();
        let mut seed = String::new();
        // Sign-ins in flight hold their place in the throttle's counters until decided; at most 20
        // of one account from one address (or its known networks) are evaluated at once by
        // default, and the race below has 60.
        for (slug, limit, on_limit) in TENANTS {
            seed += &format!(
                "[[tenants]]\nslug = \"{slug}\"\n[tenants.policy.session]\nmax_sessions_per_user = {limit}\non_limit = \"{on_limit}\"\n\
                 [tenants.policy.throttle]\npair_lock_failures = 100\nknown_network_failures_per_hour = 100\n\
                 [[tenants.users]]\nusername = \"pat\"\npassword = \"{GOOD_PASSWORD}\"\n\
                 [[tenants.clients]]\nclient_id = \"lms\"\nname = \"LMS\"\nsecret = \"{SECRET}\"\nfirst_party = true\n\
                 redirect_uris = [\"{REDIRECT}\"]\nscopes = [\"openid\", \"profile\", \"offline_access\"]\n\
                 backchannel_logout_uri = \"{}\"\n\n",
                listener.uri
            );
        }
        std::fs::File::create(dir.path().join("seed.toml"))
            .unwrap()
            .write_all(seed.as_bytes())
            .unwrap();
        let port = free_port();
        let mut cluster = Cluster {
            backend,
            dir,
            master_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                watchword::crypto::random::bytes::<32>(),
            ),
            public_url: format!("http://127.0.0.1:{port}"),
            replicas: Vec::new(),
        };
        cluster.start_replica(port, true);
        cluster
    }

    fn start_replica(&mut self, port: u16, seed: bool) {
        let mut cmd = watchword(self.dir.path());
        self.backend.apply(&mut cmd);
        cmd.arg("serve")
            .env("WATCHWORD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("WATCHWORD__SERVER__PUBLIC_URL", &self.public_url)
            .env("WATCHWORD__SERVER__CONTROL_SOCKET", "")
            .env("WATCHWORD__SECRETS__MASTER_KEY", &self.master_key)
            .env("WATCHWORD__LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if seed {
            cmd.args(["--seed", "seed.toml"]);
        }
        let child = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let replica = Replica { base, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ready(port) {
                break;
            }
            assert!(Instant::now() < deadline, "replica on {port} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        self.replicas.push(replica);
    }

    fn add_replica(&mut self) {
        self.start_replica(free_port(), false);
    }

    fn base(&self, i: usize) -> &str {
        &self.replicas[i % self.replicas.len()].base
    }
}

/// A browser talking to replica `base` (cookies are per host, so it can move between replicas
/// like a browser behind a load balancer).
fn browser(base: &str, user_agent: &str) -> Browser {
    Browser::with_user_agent(base, user_agent)
}

fn on(b: &Browser, base: &str) -> Browser {
    Browser {
        client: b.client.clone(),
        jar: b.jar.clone(),
        base: base.to_owned(),
    }
}

struct Tokens {
    access: String,
    refresh: String,
}

/// The code flow for client `lms` in `b` (signed in already): authorize, code, token exchange.
/// `None` if the browser's session ended on the way.
async fn code_flow(b: &Browser, tenant: &str) -> Option<Tokens> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let res = b
        .client
        .get(b.url(&format!("/t/{tenant}/authorize")))
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
        .await
        .unwrap();
    let to = location(&res);
    if !to.starts_with(REDIRECT) {
        return None; // asked to sign in again
    }
    let code = param(&url::Url::parse(&to).unwrap(), "code")?;
    let res = plain_client()
        .post(b.url(&format!("/t/{tenant}/token")))
        .basic_auth("lms", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::OK {
        return None;
    }
    let body: serde_json::Value = res.json().await.unwrap();
    Some(Tokens {
        access: body["access_token"].as_str()?.to_owned(),
        refresh: body["refresh_token"].as_str()?.to_owned(),
    })
}

/// Signs `b` in as `pat` in `tenant`; returns the status (303 signed in, 409 refused).
async fn sign_in(b: &Browser, tenant: &str) -> StatusCode {
    let res = b.sign_in(tenant, "pat", GOOD_PASSWORD).await;
    res.status()
}

async fn active(b: &Browser, tenant: &str) -> bool {
    let s: serde_json::Value = b
        .get(&format!("/t/{tenant}/session/status"))
        .await
        .json()
        .await
        .unwrap();
    s["active"] == true
}

async fn refresh_works(base: &str, tenant: &str, refresh: &str) -> bool {
    plain_client()
        .post(format!("{base}/t/{tenant}/token"))
        .basic_auth("lms", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::OK
}

async fn introspects_active(base: &str, tenant: &str, token: &str) -> bool {
    let body: serde_json::Value = plain_client()
        .post(format!("{base}/t/{tenant}/introspect"))
        .basic_auth("lms", Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["active"] == true
}

/// The `sid` of the next back-channel logout token the listener receives.
async fn logged_out_sid(listener: &Listener) -> String {
    let token = listener.next().await.expect("a back-channel logout token");
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

async fn sid(b: &Browser, tenant: &str) -> String {
    let s: serde_json::Value = b
        .get(&format!("/t/{tenant}/session/status"))
        .await
        .json()
        .await
        .unwrap();
    s["sid"].as_str().unwrap().to_owned()
}

/// Tests that need PostgreSQL and Redis: ignored by default, selected by `scripts/test` in their
/// pass.
mod needs_pg_and_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL and Redis: scripts/test runs it in their pass (or --run-ignored all with both WATCHWORD_TEST_ variables)"]
    async fn the_session_limit_holds_across_replicas() {
        let listener = Listener::start().await;
        let mut cluster = Cluster::new(&listener);
        cluster.add_replica();

        // Two replicas, limit 1, end_oldest: a sign-in on B ends A's session made on A.
        let t = "one-oldest";
        let a = browser(cluster.base(0), FIREFOX_LINUX);
        assert_eq!(sign_in(&a, t).await, StatusCode::SEE_OTHER);
        let a_tokens = code_flow(&a, t).await.expect("A gets tokens");
        let a_sid = sid(&a, t).await;
        let b = browser(cluster.base(1), CHROME_WINDOWS);
        assert_eq!(sign_in(&b, t).await, StatusCode::SEE_OTHER);
        // A's next page (on the other replica) says where the account signed in.
        let a_elsewhere = on(&a, cluster.base(1));
        let res = a_elsewhere.get(&format!("/t/{t}/")).await;
        let page = a_elsewhere.get(&location(&res)).await.text().await.unwrap();
        assert!(
            page.contains("signed in on another device") && page.contains("Chrome on Windows"),
            "{page}"
        );
        assert!(
            !refresh_works(cluster.base(0), t, &a_tokens.refresh).await,
            "A's refresh token fails"
        );
        assert!(!introspects_active(cluster.base(1), t, &a_tokens.access).await);
        assert_eq!(
            logged_out_sid(&listener).await,
            a_sid,
            "A's application was told"
        );
        assert!(active(&b, t).await);

        // A third replica.
        cluster.add_replica();

        // Limit 2, end_oldest: the third sign-in ends the first.
        let t = "two-oldest";
        let a = browser(cluster.base(0), FIREFOX_LINUX);
        let b = browser(cluster.base(1), CHROME_WINDOWS);
        let c = browser(cluster.base(2), SAFARI_IPHONE);
        assert_eq!(sign_in(&a, t).await, StatusCode::SEE_OTHER);
        let a_tokens = code_flow(&a, t).await.unwrap();
        let a_sid = sid(&a, t).await;
        assert_eq!(sign_in(&b, t).await, StatusCode::SEE_OTHER);
        assert!(
            active(&on(&a, cluster.base(2)), t).await,
            "two sessions are allowed"
        );
        assert_eq!(sign_in(&c, t).await, StatusCode::SEE_OTHER);
        assert!(!active(&on(&a, cluster.base(1)), t).await);
        assert!(active(&on(&b, cluster.base(2)), t).await && active(&c, t).await);
        assert!(!refresh_works(cluster.base(2), t, &a_tokens.refresh).await);
        assert_eq!(logged_out_sid(&listener).await, a_sid);

        // Limit 1, deny_new: B is refused on another replica; confirming with the password ends A.
        let t = "one-deny";
        let a = browser(cluster.base(0), FIREFOX_LINUX);
        assert_eq!(sign_in(&a, t).await, StatusCode::SEE_OTHER);
        let a_tokens = code_flow(&a, t).await.unwrap();
        let a_sid = sid(&a, t).await;
        let b = browser(cluster.base(1), CHROME_WINDOWS);
        let res = b.sign_in(t, "pat", GOOD_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let page = res.text().await.unwrap();
        assert!(page.contains("Firefox on Linux"), "{page}");
        assert!(
            active(&on(&a, cluster.base(2)), t).await,
            "the first session goes on"
        );
        assert!(
            refresh_works(cluster.base(2), t, &a_tokens.refresh).await,
            "A keeps working"
        );
        let res = b
            .post_form(
                &format!("/t/{t}/login"),
                &[
                    ("csrf_token", &hidden_field(&page, "csrf_token").unwrap()),
                    ("identifier", "pat"),
                    ("password", GOOD_PASSWORD),
                    ("end_others", "1"),
                    ("return_to", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(!active(&on(&a, cluster.base(2)), t).await);
        assert_eq!(logged_out_sid(&listener).await, a_sid);

        // Limit 2, deny_new: the third is refused, the two stay.
        let t = "two-deny";
        let a = browser(cluster.base(0), FIREFOX_LINUX);
        let b = browser(cluster.base(1), CHROME_WINDOWS);
        let c = browser(cluster.base(2), SAFARI_IPHONE);
        assert_eq!(sign_in(&a, t).await, StatusCode::SEE_OTHER);
        assert_eq!(sign_in(&b, t).await, StatusCode::SEE_OTHER);
        assert_eq!(sign_in(&c, t).await, StatusCode::CONFLICT);
        assert!(active(&a, t).await && active(&b, t).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL and Redis: scripts/test runs it in their pass (or --run-ignored all with both WATCHWORD_TEST_ variables)"]
    async fn concurrent_sign_ins_over_three_replicas_leave_exactly_the_limit() {
        let listener = Listener::start().await;
        let mut cluster = Cluster::new(&listener);
        cluster.add_replica();
        cluster.add_replica();
        let t = "race"; // limit 2, end_oldest
        let mut tasks = Vec::new();
        for i in 0..60 {
            let base = cluster.base(i).to_owned();
            tasks.push(tokio::spawn(async move {
                let b = browser(&base, FIREFOX_LINUX);
                assert_eq!(sign_in(&b, t).await, StatusCode::SEE_OTHER);
                let tokens = code_flow(&b, t).await;
                (b, tokens)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let mut survivors = 0;
        for (i, (b, tokens)) in results.iter().enumerate() {
            let elsewhere = cluster.base(i + 1).to_owned();
            if active(&on(b, &elsewhere), t).await {
                survivors += 1;
                let tokens = tokens.as_ref().expect("a survivor got its tokens");
                assert!(introspects_active(&elsewhere, t, &tokens.access).await);
            } else if let Some(tokens) = tokens {
                assert!(
                    !introspects_active(&elsewhere, t, &tokens.access).await,
                    "a loser's access token is dead"
                );
                assert!(
                    !refresh_works(&elsewhere, t, &tokens.refresh).await,
                    "a loser's refresh token is dead"
                );
            }
        }
        assert_eq!(survivors, 2, "exactly the limit survives");
    }
}
