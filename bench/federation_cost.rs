//! Issue 12's benchmark: what a federated sign-in costs on our side.
//!
//! 1. Verification per core (one thread): an upstream ID token (RS256 and ES256) through the
//!    `openidconnect` verifier configured as `federation::oidc` configures it, and a SAML
//!    response through `federation::saml::verify_response` (assertion signed, response signed,
//!    encrypted assertion), from the committed corpus.
//! 2. The latency a federated sign-in adds over a local one, without the upstream's own time:
//!    two Watchword servers in this process (an upstream OIDC provider and the downstream under
//!    test, on loopback), N federated sign-ins, then N local password sign-ins on the
//!    downstream. Server-side durations come from the shared request-duration histogram:
//!    our side = `start` + `callback` − the upstream's `token` (the code exchange inside the
//!    callback); local = `POST /login` (Argon2 included).
//!
//!     cargo run --release --example federation_cost -- [DATABASE_URL] [REDIS_URL] [N]
//!
//! With PostgreSQL, each server uses a schema of its own (`wwfed_up`, `wwfed_down`), emptied
//! first: `bench/run-federation.sh` does that.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openidconnect::core::{CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use watchword::app::Watchword;
use watchword::clock::SystemClock;
use watchword::config::Config;
use watchword::crypto::jws::{self, SigningKey};
use watchword::domain::audit::Actor;
use watchword::domain::keys::SigningAlg;
use watchword::domain::secret::Secret;
use watchword::federation::saml;

const PASSWORD: &str = "correct horse battery staple 42";

fn per_op(name: &str, n: usize, f: impl Fn()) {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let each = t.elapsed() / n as u32;
    println!(
        "{name:<44} {:>9.1} µs/op  {:>8.0} /s per core",
        each.as_secs_f64() * 1e6,
        1.0 / each.as_secs_f64()
    );
}

fn id_tokens() {
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let key = jws::generate(alg, "k1").unwrap();
        let signing = SigningKey::load(alg, &key.pkcs8).unwrap();
        let jwks: CoreJsonWebKeySet =
            serde_json::from_value(serde_json::json!({ "keys": [key.public_jwk] })).unwrap();
        #[allow(clippy::disallowed_methods)] // a benchmark, not server code
        let now = chrono::Utc::now().timestamp();
        let token = jws::sign(
            &signing,
            alg,
            "k1",
            "JWT",
            &serde_json::json!({
                "iss": "https://idp.example", "aud": "client", "sub": "alice", "nonce": "n-1",
                "iat": now, "exp": now + 600, "email": "alice@example.com", "email_verified": true,
            }),
        );
        let id_token: openidconnect::core::CoreIdToken = token.parse().unwrap();
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new("client".into()),
            IssuerUrl::new("https://idp.example".into()).unwrap(),
            jwks,
        )
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ]);
        let nonce = Nonce::new("n-1".into());
        per_op(
            &format!("ID token verification ({})", alg.as_str()),
            2000,
            || {
                id_token.claims(&verifier, &nonce).unwrap();
            },
        );
    }
}

fn saml_responses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");
    let read = |f: &str| std::fs::read(format!("{dir}/{f}")).unwrap();
    let idp = saml::IdpTrust {
        entity_id: "https://idp.example.org/metadata".into(),
        signing_certs: vec![read("idp.crt.der")],
        allow_sha1: false,
    };
    let sp = saml::SpEndpoint {
        entity_id: "https://sp.example.com/saml/metadata".into(),
        acs_url: "https://sp.example.com/saml/acs".into(),
        decryption_key: Some(read("sp.key.pk8.der")),
    };
    let now = chrono::DateTime::parse_from_rfc3339("2030-01-01T10:01:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let expect = saml::Expectation {
        in_response_to: Some("_req-4f1c2a"),
        now,
        skew: Duration::from_secs(60),
    };
    for f in [
        "valid_assertion_signed.xml",
        "valid_response_signed.xml",
        "encrypted_gcm.xml",
    ] {
        let b64 = STANDARD.encode(read(f));
        per_op(&format!("SAML response verification ({f})"), 300, || {
            saml::verify_response(&b64, &idp, &sp, &expect).unwrap();
        });
    }
}

async fn server(
    localhost: bool,
    db: Option<&str>,
    redis: Option<&str>,
    tag: &str,
) -> (Watchword, String) {
    let dir = tempfile::tempdir().unwrap().keep();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = if localhost { "localhost" } else { "127.0.0.1" };
    let mut config = Config::default();
    config.server.public_url = format!("http://{host}:{port}");
    config.server.bind = format!("127.0.0.1:{port}");
    config.server.control_socket = String::new();
    config.outbound.allow_private_networks = true;
    // PostgreSQL: a schema of its own per server (made empty by the caller).
    config.database.url = Some(Secret::new(match db {
        Some(url) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-csearch_path%3Dwwfed_{tag}")
        }
        None => format!("sqlite://{}", dir.join("fed.db").display()),
    }));
    if let Some(url) = redis {
        config.redis.url = Some(Secret::new(url.to_owned()));
        config.redis.key_prefix = format!("wwfed{}{tag}:", std::process::id());
    }
    config.secrets.master_key = Some(Secret::new(
        STANDARD.encode(watchword::crypto::random::bytes::<32>()),
    ));
    let app = Watchword::init(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let server = app.server(listener).unwrap();
    tokio::spawn(server);
    (app, format!("http://{host}:{port}"))
}

/// Sum and count of the request-duration histogram per (method, route), from /metrics text.
fn durations() -> HashMap<(String, String), (f64, f64)> {
    let text = watchword::observability::metrics().render();
    let mut out: HashMap<(String, String), (f64, f64)> = HashMap::new();
    for line in text.lines() {
        let (kind, rest) = if let Some(r) =
            line.strip_prefix("watchword_http_request_duration_seconds_sum{")
        {
            (0, r)
        } else if let Some(r) = line.strip_prefix("watchword_http_request_duration_seconds_count{")
        {
            (1, r)
        } else {
            continue;
        };
        let (labels, value) = rest.rsplit_once("} ").unwrap();
        let label = |k: &str| {
            labels
                .split("\",")
                .find_map(|p| p.strip_prefix(&format!("{k}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let entry = out.entry((label("method"), label("route"))).or_default();
        let v: f64 = value.parse().unwrap();
        if kind == 0 {
            entry.0 += v;
        } else {
            entry.1 += v;
        }
    }
    out
}

fn mean_ms(
    before: &HashMap<(String, String), (f64, f64)>,
    after: &HashMap<(String, String), (f64, f64)>,
    method: &str,
    route: &str,
) -> f64 {
    let key = (method.to_owned(), route.to_owned());
    let (s0, c0) = before.get(&key).copied().unwrap_or_default();
    let (s1, c1) = after.get(&key).copied().unwrap_or_default();
    if c1 - c0 == 0.0 {
        0.0
    } else {
        (s1 - s0) / (c1 - c0) * 1000.0
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&")
}

async fn end_to_end(db: Option<String>, redis: Option<String>, n: usize) {
    let (up, up_base) = server(true, db.as_deref(), redis.as_deref(), "up").await;
    let (down, down_base) = server(false, db.as_deref(), redis.as_deref(), "down").await;
    let (uctx, dctx) = (&up.ctx, &down.ctx);
    let ut = watchword::admin::tenants::get(uctx, "default")
        .await
        .unwrap();
    let dt = watchword::admin::tenants::get(dctx, "default")
        .await
        .unwrap();
    let mut unlimited = ut.policy.clone();
    unlimited.session.max_sessions_per_user = watchword::domain::session::SessionLimit::Unlimited;
    let ut = watchword::admin::tenants::update(
        uctx,
        ut,
        None,
        Some(unlimited.clone()),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap()
    .0;
    let dt = watchword::admin::tenants::update(
        dctx,
        dt,
        None,
        Some(unlimited),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap()
    .0;
    let suffix = std::process::id();
    let client = watchword::admin::clients::create(
        uctx,
        &ut,
        watchword::admin::clients::NewClient {
            client_id: Some(format!("down{suffix}")),
            name: "downstream".into(),
            kind: watchword::domain::client::ClientKind::Confidential,
            auth_method: None,
            settings: watchword::domain::client::ClientSettings {
                redirect_uris: vec![format!("{down_base}/t/default/idp/up/callback")],
                first_party: true,
                ..Default::default()
            },
            secret: None,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    for (ctx, tenant, name) in [
        (uctx, &ut, format!("alice{suffix}")),
        (dctx, &dt, format!("local{suffix}")),
    ] {
        watchword::admin::users::create(
            ctx,
            tenant,
            watchword::admin::users::NewUser {
                username: name,
                email: None,
                email_verified: false,
                display_name: None,
                password: Some(Secret::new(PASSWORD.into())),
                admin_role: None,
                enabled: true,
            },
            &watchword::admin::authz::Admin::operator(Actor::Cli),
        )
        .await
        .unwrap();
    }
    let settings = serde_json::from_value(serde_json::json!({
        "oidc": { "issuer": format!("{up_base}/t/default"), "client_id": client.client.client_id },
    }))
    .unwrap();
    watchword::admin::idps::create(
        dctx,
        &dt,
        watchword::admin::idps::NewIdp {
            slug: "up".into(),
            kind: watchword::domain::idp::IdpKind::Oidc,
            display_name: "Upstream".into(),
            enabled: true,
            settings,
            client_secret: client.secret.clone(),
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let browser = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    // Federated sign-ins (each a new browser: signs in upstream too).
    let before = durations();
    let t = Instant::now();
    for _ in 0..n {
        let b = browser();
        let res = b
            .get(format!("{down_base}/t/default/idp/up/start"))
            .send()
            .await
            .unwrap();
        let mut next = location(&res);
        loop {
            let res = b.get(&next).send().await.unwrap();
            let loc = location(&res);
            let loc = if loc.starts_with('/') {
                format!("{up_base}{loc}")
            } else {
                loc
            };
            if loc.starts_with(&down_base) {
                let res = b.get(&loc).send().await.unwrap();
                assert_eq!(res.status(), 303, "federated sign-in");
                break;
            }
            if loc.contains("/login?") {
                let page = b.get(&loc).send().await.unwrap().text().await.unwrap();
                let res = b
                    .post(format!("{up_base}/t/default/login"))
                    .form(&[
                        ("csrf_token", hidden(&page, "csrf_token")),
                        ("identifier", format!("alice{suffix}")),
                        ("password", PASSWORD.into()),
                        ("return_to", hidden(&page, "return_to")),
                    ])
                    .send()
                    .await
                    .unwrap();
                next = format!("{up_base}{}", location(&res));
            } else {
                next = loc;
            }
        }
    }
    let federated_wall = t.elapsed();
    let mid = durations();
    for _ in 0..n {
        let b = browser();
        let page = b
            .get(format!("{down_base}/t/default/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let res = b
            .post(format!("{down_base}/t/default/login"))
            .form(&[
                ("csrf_token", hidden(&page, "csrf_token")),
                ("identifier", format!("local{suffix}")),
                ("password", PASSWORD.into()),
                ("return_to", String::new()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "local sign-in");
    }
    let after = durations();
    let start = mean_ms(&before, &mid, "GET", "/t/{tenant}/idp/{idp}/start");
    let callback = mean_ms(&before, &mid, "GET", "/t/{tenant}/idp/{idp}/callback");
    let token = mean_ms(&before, &mid, "POST", "/t/{tenant}/token");
    let local = mean_ms(&mid, &after, "POST", "/t/{tenant}/login");
    println!(
        "{n} federated sign-ins in {:.1} s (whole flow, upstream included)",
        federated_wall.as_secs_f64()
    );
    println!("server time, mean per sign-in (ms):");
    println!(
        "  federated: start {start:.2} + callback {callback:.2} - upstream token {token:.2} = our side {:.2}",
        start + callback - token
    );
    println!("  local password sign-in (POST /login, Argon2 included): {local:.2}");
    println!(
        "  added by federation over a local sign-in: {:.2}",
        start + callback - token - local
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = args.first().filter(|a| !a.is_empty()).cloned();
    let redis = args.get(1).filter(|a| !a.is_empty()).cloned();
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    println!("== verification per core");
    id_tokens();
    saml_responses();
    println!(
        "== end to end ({})",
        if db.is_some() {
            "PostgreSQL + Redis"
        } else {
            "SQLite + in-process store"
        }
    );
    end_to_end(db, redis, n).await;
}
