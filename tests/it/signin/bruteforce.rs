//! Brute-force protection: a guesser is slowed down, then locked out of the account from its
//! address, then refused everywhere once the account's budget for unknown devices is spent,
//! while the real user, from a browser or network that signed in before, still signs in.
//! Client authentication at the token endpoint is throttled the same way. Bursts of parallel
//! guesses get no more evaluated than the limits (attempts reserve before they are evaluated);
//! known networks have their own budget; IPv6 counts per /64. Time is the injected clock, on both
//! stores.

use chrono::Duration;
use reqwest::{Response, StatusCode};
use watchword::clock::Clock;

use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::oidc::flow::post;
use crate::sessions::{FIREFOX_LINUX, set_throttle_policy};

/// An app behind a trusted proxy on 127.0.0.1, its clock ten minutes into an hourly counter
/// window: the clock starts at the wall-clock time, and waits computed near a window's end are
/// legitimately short (the sliding estimate drops as the window rolls), which would make the
/// waits these tests assert depend on the time of day.
async fn proxied_app() -> TestApp {
    let app = TestApp::builder()
        .tweak(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .start()
        .await;
    let window = watchword::domain::throttle::WINDOW_SECS;
    let into = app.clock.unix().rem_euclid(window);
    app.clock.advance(Duration::seconds(window - into + 600));
    app
}

async fn guess(b: &Browser, user: &str) -> Response {
    b.sign_in("default", user, "wrong guess 123").await
}

/// `watchword_signin_attempts_total{tenant="default",result=…}`.
async fn signin_metric(app: &TestApp, result: &str) -> f64 {
    let metrics = app.browser().get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find(|l| {
            l.starts_with("watchword_signin_attempts_total")
                && l.contains(&format!("result=\"{result}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// `n` wrong passwords for `user`, all at once, the `i`-th from address `ip(i)`; the answers.
async fn burst(
    app: &TestApp,
    user: &str,
    n: usize,
    ip: impl Fn(usize) -> String,
) -> Vec<StatusCode> {
    let b = Browser::with_user_agent(&app.base, "curl/8");
    let csrf = b.csrf("/t/default/login").await;
    let mut tasks = Vec::new();
    for i in 0..n {
        let request = b
            .client
            .post(b.url("/t/default/login"))
            .header("x-forwarded-for", ip(i))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("identifier", user),
                ("password", "wrong guess 123"),
            ]);
        tasks.push(tokio::spawn(async move {
            request.send().await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

fn retry_after(res: &Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_is_slowed_down_then_locked_out_from_its_address() {
    let app = proxied_app().await;
    app.create_user("default", "una", GOOD_PASSWORD).await;
    let attacker = Browser::at(&app.base, "curl/8", "203.0.113.66");
    // Three free attempts, then each failure makes the next attempt wait: 1, 2, 4, ... seconds.
    for _ in 0..4 {
        let res = guess(&attacker, "una").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("incorrect"));
    }
    let res = guess(&attacker, "una").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&res), 1);
    let page = res.text().await.unwrap();
    assert!(page.contains("Too many failed sign-in attempts"), "{page}");
    assert!(page.contains("wait a second"), "{page}");
    assert!(
        page.contains("name=\"password\""),
        "the form is still there"
    );
    let mut waits = Vec::new();
    for _ in 0..20 {
        app.clock.advance(Duration::seconds(60));
        assert_eq!(guess(&attacker, "una").await.status(), StatusCode::OK);
        let res = guess(&attacker, "una").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        waits.push(retry_after(&res));
        if waits.last() > Some(&60) {
            break;
        }
    }
    assert_eq!(&waits[..6], [2, 4, 8, 16, 32, 60], "doubling up to the cap");
    // The 20th failure locks the pair for 15 minutes.
    assert!((880..=900).contains(waits.last().unwrap()), "{waits:?}");
    // Even the right password is not evaluated from there meanwhile...
    let res = attacker.sign_in("default", "una", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...but from anywhere else it is: only the pair is locked.
    let user = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.7");
    assert_eq!(
        user.sign_in("default", "una", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    // After the lock, the pair may try again.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(guess(&attacker, "una").await.status(), StatusCode::OK);

    // Every refusal is counted, and audited (at most once a minute per account and limit).
    let metrics = app.browser().get("/metrics").await.text().await.unwrap();
    for scope in ["pair_wait", "pair_lock"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("watchword_throttle_refusals_total")
                    && l.contains(&format!("scope=\"{scope}\""))),
            "{scope}: {metrics}"
        );
    }
    let audit = app.audit("default").await;
    let throttled: Vec<_> = audit.iter().filter(|e| e.outcome == "throttled").collect();
    assert!(throttled.len() >= 2, "{throttled:?}");
    assert!(throttled.iter().any(|e| e.details.contains("pair_lock")));
    assert!(
        throttled
            .iter()
            .all(|e| e.ip.as_deref() == Some("203.0.113.66"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_cannot_lock_the_real_user_out_of_a_known_device_or_network() {
    let app = proxied_app().await;
    app.create_user("default", "vic", GOOD_PASSWORD).await;
    // The real user signed in before on this browser (known device) at the office network.
    let laptop = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.20");
    assert_eq!(
        laptop
            .sign_in("default", "vic", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(
        laptop.cookie("ww-device-default").is_some(),
        "a known-device cookie"
    );
    let csrf = laptop.csrf("/t/default/logout").await;
    laptop
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;

    // A distributed guesser: 130 addresses, one guess each (no address is slowed down). At most
    // 100 failures an hour are evaluated for unknown devices and networks.
    let mut evaluated = 0;
    let mut refused = 0;
    for i in 0..130 {
        let bot = Browser::at(
            &app.base,
            "curl/8",
            &format!("203.0.{}.{}", i / 200, i % 200 + 1),
        );
        let res = guess(&bot, "vic").await;
        match res.status() {
            StatusCode::OK => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                assert!(
                    retry_after(&res) > 60,
                    "the account budget refills with time"
                );
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!((evaluated, refused), (100, 30));
    assert_eq!(
        signin_metric(&app, "invalid_credentials").await,
        100.0,
        "only evaluated attempts reach the password check"
    );
    assert_eq!(signin_metric(&app, "throttled").await, 30.0);
    // Unknown identifiers are throttled exactly like known ones (no enumeration).
    let bot = Browser::at(&app.base, "curl/8", "203.0.113.200");
    let known = guess(&bot, "vic").await;
    assert_eq!(known.status(), StatusCode::TOO_MANY_REQUESTS);

    // The real user's known device still signs in, and so does a new browser on the office
    // network where the account signed in before.
    assert_eq!(
        laptop
            .sign_in("default", "vic", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let phone = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.77");
    assert_eq!(
        phone
            .sign_in("default", "vic", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A brand-new device on a new network waits, like the attacker.
    let stranger = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.9");
    assert_eq!(
        stranger
            .sign_in("default", "vic", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A forged device cookie is not a known device.
    let forger = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.10");
    forger.set_cookie("ww-device-default", "v1.abc.99999999999.00");
    assert_eq!(
        guess(&forger, "vic").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // The counters expire: two hours later the budget is back.
    app.clock.advance(Duration::hours(2));
    assert_eq!(guess(&bot, "vic").await.status(), StatusCode::OK);
    assert_eq!(
        stranger
            .sign_in("default", "vic", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_failures_are_throttled_with_retry_after() {
    let app = proxied_app().await;
    let c = crate::common::oidc::register(&app, "default", "m2m", |c| {
        c.settings.grant_types = vec![watchword::domain::client::GrantType::ClientCredentials];
        c.settings.redirect_uris = vec![];
    })
    .await;
    let secret = c.secret.unwrap();
    let form = [("grant_type", "client_credentials")];
    // A minute into a clock hour, so that the minutes moved below stay in one counting window.
    app.clock
        .advance(Duration::seconds(3660 - app.clock.unix().rem_euclid(3600)));
    for _ in 0..4 {
        let (status, body) = post(&app, "/t/default/token", Some(("m2m", "wrong")), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    let res = crate::common::oidc::plain_client()
        .post(app.url("/t/default/token"))
        .basic_auth("m2m", Some(&secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    app.clock.advance(Duration::seconds(2));
    let (status, _) = post(&app, "/t/default/token", Some(("m2m", &secret)), &form).await;
    assert_eq!(status, 200, "after the wait, the right secret works");

    // A limit per hour: 20 failures (here spread out past the waits), then refused.
    set_throttle_policy(&app, "default", |t| t.client_failures_per_hour = 6).await;
    for _ in 0..2 {
        app.clock.advance(Duration::seconds(120));
        post(&app, "/t/default/token", Some(("m2m", "wrong")), &form).await;
    }
    app.clock.advance(Duration::seconds(120));
    let (status, body) = post(&app, "/t/default/token", Some(("m2m", &secret)), &form).await;
    assert_eq!(status, 429, "{body}");
    app.clock.advance(Duration::hours(2));
    let (status, _) = post(&app, "/t/default/token", Some(("m2m", &secret)), &form).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_allow_and_deny_lists_restrict_the_pages_people_use() {
    let app = proxied_app().await;
    app.create_user("default", "nia", GOOD_PASSWORD).await;
    // Signed in from the office network before the policy changes.
    let traveller = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.50");
    assert_eq!(
        traveller
            .sign_in("default", "nia", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.network.deny = vec!["192.0.2.0/24".parse().unwrap()];
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    for path in [
        "/t/default/login",
        "/t/default/",
        "/t/default/account",
        "/t/default/authorize",
    ] {
        let res = traveller.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("not allowed from the network")
        );
    }
    // Application servers are not people: their endpoints answer as usual.
    let res = crate::common::oidc::plain_client()
        .post(app.url("/t/default/token"))
        .header("x-forwarded-for", "192.0.2.50")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let ok = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.1");
    assert_eq!(
        ok.sign_in("default", "nia", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "request_refused" && e.outcome == "network")
            .count(),
        1,
        "audited once a minute per address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_parallel_guesses_gets_no_more_evaluated_than_the_limits() {
    let app = proxied_app().await;
    app.create_user("default", "bea", GOOD_PASSWORD).await;
    // 200 at once from one address: the pair's lock threshold (20) bounds them, although no
    // failure has set a wait or lock yet when they arrive.
    let statuses = burst(&app, "bea", 200, |_| "203.0.113.5".into()).await;
    let evaluated = signin_metric(&app, "invalid_credentials").await as usize;
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        (1..=20).contains(&evaluated),
        "{evaluated} of 200 evaluated from one address"
    );
    assert_eq!(evaluated + refused, 200, "{statuses:?}");

    // 200 at once from 200 addresses: the account's budget (100 an hour) bounds them.
    app.clock.advance(Duration::hours(3));
    app.create_user("default", "ben", GOOD_PASSWORD).await;
    let before = signin_metric(&app, "invalid_credentials").await as usize;
    let statuses = burst(&app, "ben", 200, |i| {
        format!("198.18.{}.{}", i / 100, i % 100 + 1)
    })
    .await;
    let evaluated = signin_metric(&app, "invalid_credentials").await as usize - before;
    assert_eq!(evaluated, 100, "{statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        100
    );
    // The refused ones did not count: once the budget refills, guessing may resume.
    app.clock.advance(Duration::hours(2));
    let bot = Browser::at(&app.base, "curl/8", "198.18.9.9");
    assert_eq!(guess(&bot, "ben").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_network_has_its_own_budget_and_only_a_known_device_escapes() {
    let app = proxied_app().await;
    app.create_user("default", "kim", GOOD_PASSWORD).await;
    let laptop = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.20");
    assert_eq!(
        laptop
            .sign_in("default", "kim", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // 150 guesses from other addresses of that /24, one each (no address waits): at most the
    // known networks' budget (20 an hour) is evaluated.
    let mut evaluated = 0;
    for i in 0..150 {
        let neighbour = Browser::at(&app.base, "curl/8", &format!("198.51.100.{}", 100 + i));
        match guess(&neighbour, "kim").await.status() {
            StatusCode::OK => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(evaluated, 20);
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.outcome == "throttled" && e.details.contains("known_network")),
        "refusals name the limit"
    );
    // The known device still signs in; so does the real user from elsewhere: the account's
    // budget for unknown networks is not spent by failures from a known one.
    assert_eq!(
        laptop
            .sign_in("default", "kim", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let traveller = Browser::at(&app.base, FIREFOX_LINUX, "192.0.2.33");
    assert_eq!(
        traveller
            .sign_in("default", "kim", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // ...but a new browser on the known network waits for the budget like the guesser.
    let phone = Browser::at(&app.base, FIREFOX_LINUX, "198.51.100.9");
    assert_eq!(
        phone
            .sign_in("default", "kim", GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_counts_per_slash_64_and_a_known_slash_56_has_its_budget() {
    let app = proxied_app().await;
    app.create_user("default", "ivy", GOOD_PASSWORD).await;
    // A guesser rotating addresses inside one /64 is one address: three free failures, then the
    // pair waits.
    for i in 1..=4 {
        let bot = Browser::at(&app.base, "curl/8", &format!("2001:db8:9:9::{i:x}"));
        assert_eq!(guess(&bot, "ivy").await.status(), StatusCode::OK, "{i}");
    }
    let bot = Browser::at(&app.base, "curl/8", "2001:db8:9:9:abcd::5");
    let res = guess(&bot, "ivy").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&res), 1);

    // Signed in from a /56: guesses from its other /64s share the known networks' budget.
    let home = Browser::at(&app.base, FIREFOX_LINUX, "2001:db8:1:200::1");
    assert_eq!(
        home.sign_in("default", "ivy", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut evaluated = 0;
    for i in 1..=150 {
        let neighbour = Browser::at(&app.base, "curl/8", &format!("2001:db8:1:2{i:02x}::1"));
        if guess(&neighbour, "ivy").await.status() == StatusCode::OK {
            evaluated += 1;
        }
    }
    assert_eq!(evaluated, 20);
}
