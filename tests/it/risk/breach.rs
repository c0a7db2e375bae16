//! Breached passwords: the range client against a stub Pwned-Passwords-compatible server (padded
//! replies, hits and misses, count-0 padding ignored, the per-prefix cache, a timeout honouring
//! `on_unavailable`, a redirect not followed, only five hex characters sent); the hosted pages
//! (account-page change, reset, sign-up) refusing a breached password from the shipped filter and
//! from the range service; a bad filter stopping the start; the data date as a metric.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use watchword::clock::{ManualClock, SharedClock};
use watchword::config::{BreachConfig, Config, OnUnavailable};
use watchword::domain::audit::Actor;
use watchword::domain::registration::RegistrationMode;
use watchword::risk::breach::{self, BREACHED, Checker, Source, UNCHECKED, Verdict, filter::sha1};

use crate::common::browser::location;
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};
use crate::mail::{mail_to, smtp_to, verify_address};

/// Known only to the stub (count 42): not in the shipped filter.
const RANGE_HIT: &str = "range-only breached passphrase 1";
/// In the stub's reply only as a count-0 padding line.
const PADDED: &str = "range padding passphrase 2";
/// Its prefix is answered after 3 seconds.
const SLOW: &str = "slow range passphrase 3";
/// Its prefix is answered with a redirect to RANGE_HIT's bucket.
const REDIRECTED: &str = "redirected range passphrase 4";
/// In the shipped filter, passes the default policy (not among the 1,000 most common).
const LISTED: &str = "P@ssw0rd";

fn split(password: &str) -> (String, String) {
    let hex = hex::encode_upper(sha1(password));
    (hex[..5].to_owned(), hex[5..].to_owned())
}

/// A padded reply: `real` lines plus 800 count-0 lines (one of them `PADDED`'s suffix).
fn padded(real: &[(String, u64)]) -> String {
    let mut lines: Vec<String> = real.iter().map(|(s, n)| format!("{s}:{n}")).collect();
    lines.push(format!("{}:0", split(PADDED).1));
    for i in 0..800u32 {
        lines.push(format!("{:035X}:0", u128::from(i) * 0x9E37_79B9_7F4A_7C15));
    }
    lines.join("\r\n")
}

/// (path, Add-Padding header) of every request the stub got.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A tiny Pwned-Passwords-compatible server that records what it is asked.
struct Stub {
    base: String,
    seen: Seen,
}

impl Stub {
    async fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let (hit_prefix, hit_suffix) = split(RANGE_HIT);
        let mut buckets: HashMap<String, String> = HashMap::new();
        buckets.insert(hit_prefix.clone(), padded(&[(hit_suffix, 42)]));
        let redirect_to = format!("{base}/range/{hit_prefix}");
        let slow = split(SLOW).0;
        let redirected = split(REDIRECTED).0;
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let (log, buckets) = (log.clone(), buckets.clone());
                let (slow, redirected, redirect_to) =
                    (slow.clone(), redirected.clone(), redirect_to.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16_384 {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    let padding = head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("add-padding")
                            .then(|| v.trim().to_owned())
                    });
                    log.lock().push((path.clone(), padding));
                    let prefix = path.strip_prefix("/range/").unwrap_or("").to_owned();
                    let reply = if prefix == redirected {
                        format!(
                            "HTTP/1.1 302 Found\r\nLocation: {redirect_to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                    } else {
                        if prefix == slow {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        let body = buckets.get(&prefix).cloned().unwrap_or_else(|| padded(&[]));
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Stub { base, seen }
    }

    fn paths(&self) -> Vec<String> {
        self.seen.lock().iter().map(|(p, _)| p.clone()).collect()
    }

    fn config(&self, timeout_ms: u64, on_unavailable: OnUnavailable) -> BreachConfig {
        BreachConfig {
            range_url: Some(self.base.parse().unwrap()),
            range_timeout_ms: timeout_ms,
            on_unavailable,
            ..BreachConfig::default()
        }
    }
}

fn manual_clock() -> (Arc<ManualClock>, SharedClock) {
    let clock = Arc::new(ManualClock::starting_now());
    (clock.clone(), clock)
}

#[tokio::test]
async fn breach_range_hits_misses_padding_and_cache() {
    let stub = Stub::start().await;
    let (clock, shared) = manual_clock();
    let checker = Checker::new(&stub.config(1000, OnUnavailable::Allow), shared).unwrap();

    assert_eq!(
        breach::check(&checker, RANGE_HIT).await,
        Verdict::Breached {
            source: Source::Range,
            count: Some(42)
        }
    );
    assert_eq!(
        breach::check(&checker, PADDED).await,
        Verdict::NotFound,
        "a count-0 (padding) line is not a breach"
    );
    assert_eq!(
        breach::check(&checker, "a passphrase nobody has ever used 5").await,
        Verdict::NotFound
    );
    // The filter answers first: nothing is asked for a listed password.
    assert_eq!(
        breach::check(&checker, LISTED).await,
        Verdict::Breached {
            source: Source::Filter,
            count: None
        }
    );
    assert!(!stub.paths().iter().any(|p| p.ends_with(&split(LISTED).0)));

    // Only five hex characters leave, always with padding asked for.
    let seen = stub.seen.lock().clone();
    assert_eq!(seen.len(), 3);
    for (path, padding) in &seen {
        let prefix = path.strip_prefix("/range/").expect(path);
        assert!(
            prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}"
        );
        assert_eq!(padding.as_deref(), Some("true"));
    }

    // The prefix's answer is cached for a while, then asked again.
    assert_eq!(breach::refusal(&checker, RANGE_HIT).await, Some(BREACHED));
    assert_eq!(stub.paths().len(), 3, "served from the cache");
    clock.advance(chrono::Duration::seconds(
        watchword::risk::breach::range::CACHE_SECS + 1,
    ));
    assert!(matches!(
        breach::check(&checker, RANGE_HIT).await,
        Verdict::Breached { .. }
    ));
    assert_eq!(stub.paths().len(), 4, "asked again after the cache expired");
}

#[tokio::test]
async fn breach_range_timeout_honours_on_unavailable() {
    let stub = Stub::start().await;
    let (_, shared) = manual_clock();
    let allow = Checker::new(&stub.config(200, OnUnavailable::Allow), shared.clone()).unwrap();
    let started = Instant::now();
    assert_eq!(breach::check(&allow, SLOW).await, Verdict::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout cut the call"
    );
    assert_eq!(breach::refusal(&allow, SLOW).await, None, "allow");
    // Still a breach when the filter knows it, whatever the service does.
    assert_eq!(breach::refusal(&allow, LISTED).await, Some(BREACHED));

    let deny = Checker::new(&stub.config(200, OnUnavailable::Deny), shared).unwrap();
    assert_eq!(breach::refusal(&deny, SLOW).await, Some(UNCHECKED), "deny");
    // A service that cannot be reached at all is unavailable too.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (_, shared) = manual_clock();
    let config = BreachConfig {
        range_url: Some(gone.parse().unwrap()),
        on_unavailable: OnUnavailable::Deny,
        ..BreachConfig::default()
    };
    let unreachable = Checker::new(&config, shared).unwrap();
    assert_eq!(
        breach::check(&unreachable, RANGE_HIT).await,
        Verdict::Unavailable
    );
}

#[tokio::test]
async fn breach_range_redirect_is_not_followed() {
    let stub = Stub::start().await;
    let (_, shared) = manual_clock();
    let checker = Checker::new(&stub.config(1000, OnUnavailable::Allow), shared).unwrap();
    assert_eq!(
        breach::check(&checker, REDIRECTED).await,
        Verdict::Unavailable,
        "a 3xx is not an answer"
    );
    assert_eq!(
        stub.paths(),
        vec![format!("/range/{}", split(REDIRECTED).0)],
        "the redirect target was not asked"
    );
}

/// Posts the account page's change-password form.
async fn change_password(b: &Browser, current: &str, new: &str) -> reqwest::Response {
    let csrf = b.csrf("/t/default/account").await;
    b.post_form(
        "/t/default/account/password",
        &[
            ("csrf_token", csrf.as_str()),
            ("current", current),
            ("password", new),
            ("keep", "1"),
        ],
    )
    .await
}

async fn refused_as_breached(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("This password appears in known data breaches; choose another."),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_the_account_page_refuses_a_breached_new_password() {
    let stub = Stub::start().await;
    let base = stub.base.clone();
    let app = TestApp::builder()
        .tweak(move |c: &mut Config| c.risk.breach.range_url = Some(base.parse().unwrap()))
        .start()
        .await;
    app.create_user("default", "wes", GOOD_PASSWORD).await;
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "wes", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    // From the shipped filter (any case), and from the range service.
    refused_as_breached(change_password(&b, GOOD_PASSWORD, LISTED).await).await;
    refused_as_breached(change_password(&b, GOOD_PASSWORD, "QazWsxEdcRfv").await).await;
    refused_as_breached(change_password(&b, GOOD_PASSWORD, RANGE_HIT).await).await;
    // A password nobody has breached is taken (so the refused ones were never set).
    let res = change_password(&b, GOOD_PASSWORD, PADDED).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser()
            .sign_in("default", "wes", PADDED)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_a_reset_refuses_a_breached_new_password() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    app.create_user("default", "ann", GOOD_PASSWORD).await;
    verify_address(&app, "ann").await;
    let b = app.browser();
    let csrf = b.csrf("/t/default/password/forgot").await;
    let res = b
        .post_form(
            "/t/default/password/forgot",
            &[("csrf_token", &csrf), ("identifier", "ann")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = mail_to(&app, &sink, "ann@", 1).await;
    let url = link(&got[0].text).unwrap();
    let path = &url[url.find("/t/").unwrap()..];
    let html = b.get(path).await.text().await.unwrap();
    let token = hidden_field(&html, "token").unwrap();
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/password/reset",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(location(&res), "/t/default/password/new");

    let set_new = |password: &'static str| {
        let b = &b;
        async move {
            let csrf = b.csrf("/t/default/password/forgot").await;
            b.post_form(
                "/t/default/password/new",
                &[
                    ("csrf_token", &csrf),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await
        }
    };
    refused_as_breached(set_new(LISTED).await).await;
    refused_as_breached(set_new("leavemealone").await).await;
    // The reset is still pending: a good password finishes it.
    let res = set_new("a brand new passphrase for ann").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/login?reason=password_reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_a_sign_up_refuses_a_breached_password() {
    let app = TestApp::start().await;
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.registration.mode = RegistrationMode::Open;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let b = app.browser();
    let csrf = b.csrf("/t/default/register").await;
    let res = b
        .post_form(
            "/t/default/register",
            &[
                ("csrf_token", &csrf),
                ("username", "newbie"),
                ("email", "newbie@example.test"),
                ("password", LISTED),
                ("confirm", LISTED),
                ("invite", ""),
            ],
        )
        .await;
    refused_as_breached(res).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_an_operator_may_set_a_breached_password_with_a_warning() {
    let app = TestApp::start().await;
    let user = app.create_user("default", "opal", GOOD_PASSWORD).await;
    let tenant = app.tenant("default").await;
    watchword::admin::users::set_password(
        &app.app.ctx,
        &tenant,
        &user,
        &watchword::domain::secret::Secret::new(LISTED.into()),
        watchword::admin::access::OnReset::KeepAccess,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let audit = app.audit("default").await;
    let set = audit
        .iter()
        .find(|e| e.action == "user_password_set")
        .unwrap();
    assert!(set.details.contains("breached_password"), "{}", set.details);

    // Creating a user with one: the same warning in the audit event, the user created.
    let created = watchword::admin::users::create(
        &app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "pearl".into(),
            email: None,
            email_verified: false,
            display_name: None,
            password: Some(watchword::domain::secret::Secret::new(LISTED.into())),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let audit = app.audit("default").await;
    let event = audit
        .iter()
        .find(|e| {
            e.action == "user_created"
                && e.subject
                    .as_deref()
                    .unwrap_or("")
                    .contains(&created.id.to_string())
        })
        .unwrap();
    assert!(
        event.details.contains("breached_password"),
        "{}",
        event.details
    );
    let plain = audit
        .iter()
        .find(|e| {
            e.action == "user_created"
                && e.subject
                    .as_deref()
                    .unwrap_or("")
                    .contains(&user.id.to_string())
        })
        .unwrap();
    assert!(
        !plain.details.contains("breached_password"),
        "{}",
        plain.details
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_data_date_is_a_metric() {
    let app = TestApp::start().await;
    let body = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected = app.app.ctx.breach.manifest().data_timestamp().unwrap();
    assert!(
        body.contains(&format!(
            "watchword_breach_data_timestamp_seconds {expected}"
        )),
        "{body}"
    );
}

#[tokio::test]
async fn breach_a_bad_filter_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, n) = breach::filter::build(["hunter2"]).unwrap();
    let manifest = breach::filter::manifest_for(&bytes, n, "test", "MIT", "2024-01-02");
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::to_string(&manifest).unwrap(),
    )
    .unwrap();
    let mut tampered = bytes.clone();
    tampered[40] ^= 0xff;
    for (name, contents) in [
        ("missing", None),
        ("tampered", Some(tampered)),
        ("truncated", Some(bytes[..bytes.len() - 2].to_vec())),
    ] {
        let path = dir.path().join("filter.bin");
        match contents {
            Some(c) => std::fs::write(&path, c).unwrap(),
            None => drop(std::fs::remove_file(&path)),
        }
        let mut config = Config::default();
        config.secrets.master_key = Some(watchword::domain::secret::Secret::new(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        ));
        config.database.url = Some(watchword::domain::secret::Secret::new(format!(
            "sqlite://{}",
            dir.path().join("w.db").display()
        )));
        config.risk.breach.filter = Some(path);
        let (_, clock) = manual_clock();
        let err = match watchword::app::Watchword::init(config, clock).await {
            Ok(_) => panic!("{name}: the start went on"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("`risk.breach.filter`"), "{name}: {err}");
    }
}
