//! Risk before the password: blocked ranges refused with no hashing spent and one answer for
//! known and unknown users, skipped ranges never scored, password spraying from one address,
//! a spoofed `X-Forwarded-For` from an untrusted peer ignored, no enumeration from a risky
//! address, and a breached password leading to a second factor and a new password before any
//! session.

use reqwest::StatusCode;
use serde_json::json;
use watchword::domain::mfa::EmailCodeMode;

use super::scored::{self, FIREFOX, IPHONE, PARIS, SYDNEY, Scored, VPN, page_error};
use crate::common::GOOD_PASSWORD;
use crate::common::browser::location;

/// `watchword_password_hashing_total{operation="verify"}` as `/metrics` shows it (0 if absent).
async fn hashing_metric(s: &Scored) -> u64 {
    let body = crate::common::oidc::plain_client()
        .get(s.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find(|l| {
            l.starts_with("watchword_password_hashing_total") && l.contains("operation=\"verify\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_range_is_refused_before_hashing_with_one_answer_for_everyone() {
    let s = scored::start(json!({"blocked_ip_ranges": ["198.51.100.0/24"]}), |_| {}).await;
    let user = s.user("pia").await;
    // One sign-in elsewhere so the metric exists.
    let ok = s.browser(FIREFOX, PARIS);
    assert_eq!(
        location(&ok.sign_in("default", "pia", GOOD_PASSWORD).await),
        "/t/default/"
    );
    let (before, metric_before) = (s.hashes(), hashing_metric(&s).await);
    assert_eq!(
        metric_before, before,
        "the metric counts the pool's verifications"
    );

    let b = s.browser(FIREFOX, SYDNEY);
    let known_right = page_error(b.sign_in("default", "pia", GOOD_PASSWORD).await).await;
    let known_wrong = page_error(b.sign_in("default", "pia", "wrong password").await).await;
    let unknown = page_error(b.sign_in("default", "nobody", GOOD_PASSWORD).await).await;
    assert_eq!(known_right, known_wrong);
    assert_eq!(known_right, unknown);
    assert_eq!(known_right.0, StatusCode::OK);
    assert!(b.cookie("ww-session-default").is_none());
    assert_eq!(
        s.hashes(),
        before,
        "no Argon2 time spent on a blocked range"
    );
    assert_eq!(hashing_metric(&s).await, metric_before);

    let events = s.events(&user).await;
    let blocked: Vec<_> = events.iter().filter(|e| e.result == "blocked").collect();
    assert_eq!(
        blocked.len(),
        2,
        "both attempts on the known user are recorded"
    );
    assert!(
        blocked
            .iter()
            .all(|e| Scored::reasons(e) == ["blocked_range"])
    );
    assert!(
        blocked
            .iter()
            .all(|e| e.level == "high" && e.decision == "block")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_ranges_are_never_scored() {
    let s = scored::start(json!({"skipped_ip_ranges": ["198.51.100.0/24"]}), |_| {}).await;
    let user = s.user("quin").await;
    s.at_home("quin").await;
    s.app.clock.advance(chrono::Duration::minutes(10));
    // Impossible travel to a skipped range from a new device: not scored.
    let far = s.browser(IPHONE, SYDNEY);
    assert_eq!(
        location(&far.sign_in("default", "quin", GOOD_PASSWORD).await),
        "/t/default/"
    );
    let event = &s.events(&user).await[0];
    assert_eq!(event.level, "low");
    assert_eq!(Scored::reasons(event), ["skipped_range"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_spraying_makes_the_address_high_and_a_block_there_costs_no_hashing() {
    let s = scored::start(
        json!({"thresholds": {"spraying_usernames": 3}, "actions": {"high": {"action": "block"}}}),
        |_| {},
    )
    .await;
    let user = s.user("rae").await;
    let sprayer = s.browser(FIREFOX, SYDNEY);
    for name in ["alpha", "beta", "gamma"] {
        let res = sprayer.sign_in("default", name, "Summer2026!").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // One name tried many times still counts once: a fourth name is what would be new.
    let before = s.hashes();
    let res = sprayer.sign_in("default", "rae", GOOD_PASSWORD).await;
    let (_, message) = page_error(res).await;
    assert!(message.contains("incorrect"), "{message}");
    assert_eq!(s.hashes(), before, "refused before the password");
    let event = &s.events(&user).await[0];
    assert_eq!(Scored::reasons(event), ["password_spraying"]);
    assert_eq!(event.result, "blocked");
    // Another address is not affected.
    let home = s.browser(FIREFOX, PARIS);
    assert_eq!(
        location(&home.sign_in("default", "rae", GOOD_PASSWORD).await),
        "/t/default/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let s = scored::start_with(
        json!({"blocked_ip_ranges": ["198.51.100.0/24"]}),
        |_| {},
        false,
    )
    .await;
    let user = s.user("sam").await;
    // The header claims a blocked address; the peer (loopback) is not a trusted proxy.
    let b = s.browser(FIREFOX, SYDNEY);
    assert_eq!(
        location(&b.sign_in("default", "sam", GOOD_PASSWORD).await),
        "/t/default/"
    );
    let event = &s.events(&user).await[0];
    assert_eq!(
        event.ip, "127.0.0.1",
        "the peer's address is the one judged"
    );
    assert_eq!(Scored::reasons(event), ["internal_address"]);
    assert_eq!(event.level, "low");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risky_address_cannot_tell_known_users_from_unknown_ones() {
    // An anonymiser: risky for everyone, not blocked.
    let s = scored::start(json!({}), |_| {}).await;
    s.user("tia").await;
    let b = s.browser(FIREFOX, VPN);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..9 {
        let before = s.hashes();
        let t = std::time::Instant::now();
        let a = page_error(b.sign_in("default", "tia", &format!("wrong {i}")).await).await;
        known.push(t.elapsed());
        assert_eq!(
            s.hashes(),
            before + 1,
            "the known user's password is hashed"
        );
        let t = std::time::Instant::now();
        let c = page_error(b.sign_in("default", &format!("ghost{i}"), "wrong").await).await;
        unknown.push(t.elapsed());
        assert_eq!(s.hashes(), before + 2, "and so is the unknown user's");
        assert_eq!(a, c, "one answer");
        // Stay under the throttle's waits.
        s.app.clock.advance(chrono::Duration::minutes(30));
    }
    known.sort();
    unknown.sort();
    // Both are dominated by the one Argon2 verification each; a path that skipped it would be
    // several times faster (no hashing at all: ~10x in a debug build). Other tests share the
    // machine, so the bound is a ratio.
    let (k, u) = (known[4], unknown[4]);
    assert!(
        k.max(u) < k.min(u) * 5 / 2,
        "medians {k:?} (known) and {u:?} (unknown) are too far apart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breached_password_needs_a_second_factor_and_then_a_new_one_before_any_session() {
    let s = scored::start(json!({}), |p| p.mfa.email_code = EmailCodeMode::Allowed).await;
    let breached = "leavemealone";
    let tenant = s.app.tenant("default").await;
    watchword::admin::users::create(
        &s.app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "uma".into(),
            email: Some("uma@example.test".into()),
            email_verified: false,
            display_name: None,
            password: Some(watchword::domain::secret::Secret::new(breached.into())),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    crate::mail::verify_address(&s.app, "uma").await;
    let b = s.browser(FIREFOX, PARIS);
    let res = b.sign_in("default", "uma", breached).await;
    assert_eq!(
        location(&res),
        "/t/default/login/verify",
        "a second factor first"
    );
    let csrf = b.csrf("/t/default/login/verify").await;
    b.post_form(
        "/t/default/login/verify/email-code",
        &[("csrf_token", &csrf)],
    )
    .await;
    let got = s.mail("uma", 1).await;
    let code = got[0]
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 9 && l.as_bytes()[4] == b' ')
        .unwrap()
        .replace(' ', "");
    let res = crate::mfa::second_factor(&b, "email", &code).await;
    assert_eq!(
        location(&res),
        "/t/default/password/new",
        "then a new password"
    );
    assert!(
        b.cookie("ww-session-default").is_none(),
        "no session before it"
    );
    assert_eq!(
        b.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = b.csrf("/t/default/password/forgot").await;
    let new = "a much better passphrase 2026";
    let res = b
        .post_form(
            "/t/default/password/new",
            &[("csrf_token", &csrf), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let again = s.browser(FIREFOX, PARIS);
    assert_eq!(
        location(&again.sign_in("default", "uma", new).await),
        "/t/default/"
    );
    assert_eq!(
        page_error(again.sign_in("default", "uma", breached).await)
            .await
            .1,
        "The username or password is incorrect."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breached_password_without_any_second_factor_is_refused_with_the_way_out() {
    let s = scored::start(json!({}), |_| {}).await;
    let tenant = s.app.tenant("default").await;
    watchword::admin::users::create(
        &s.app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "vic".into(),
            email: Some("vic@example.test".into()),
            email_verified: true,
            display_name: None,
            password: Some(watchword::domain::secret::Secret::new(
                "leavemealone".into(),
            )),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let b = s.browser(FIREFOX, PARIS);
    let (status, message) = page_error(b.sign_in("default", "vic", "leavemealone").await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(message.contains("leaked in data breaches"), "{message}");
    assert!(message.contains("Forgot your password"), "{message}");
    assert!(b.cookie("ww-session-default").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_the_account_are_a_signal_of_the_next_sign_in() {
    let s = scored::start(json!({"thresholds": {"account_failures": 3}}), |_| {}).await;
    let user = s.user("wes").await;
    let attacker = s.browser(IPHONE, SYDNEY);
    for i in 0..3 {
        attacker
            .sign_in("default", "wes", &format!("guess {i}"))
            .await;
        // Past the pair's growing waits.
        s.app.clock.advance(chrono::Duration::minutes(2));
    }
    let owner = s.browser(FIREFOX, PARIS);
    assert_eq!(
        location(&owner.sign_in("default", "wes", GOOD_PASSWORD).await),
        "/t/default/"
    );
    let event = &s.events(&user).await[0];
    let reasons = Scored::reasons(event);
    assert!(reasons.contains(&"account_failures".into()), "{reasons:?}");
    let signals: Vec<serde_json::Value> = serde_json::from_str(&event.reasons).unwrap();
    assert_eq!(signals[0]["details"]["failures_last_hour"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_the_address_are_a_signal_of_its_next_sign_in() {
    let s = scored::start(json!({"thresholds": {"address_failures": 3}}), |_| {}).await;
    let user = s.user("xia").await;
    let shared = s.browser(IPHONE, SYDNEY);
    for name in ["one", "two", "three"] {
        shared.sign_in("default", name, "nope").await;
    }
    s.app.clock.advance(chrono::Duration::minutes(2));
    let res = shared.sign_in("default", "xia", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/");
    let event = &s.events(&user).await[0];
    let reasons = Scored::reasons(event);
    assert!(reasons.contains(&"address_failures".into()), "{reasons:?}");
    assert!(!reasons.contains(&"account_failures".into()), "{reasons:?}");
}
