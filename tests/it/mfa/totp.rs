//! TOTP and recovery codes, on the injected clock: set-up, sign-in, skew, replay, throttling,
//! single-use recovery codes, the tenant's policy, and fresh checks before changing factors.

use chrono::Duration;
use reqwest::StatusCode;
use watchword::clock::Clock;
use watchword::domain::mfa::MfaMode;

use super::{enrol_totp, next_code, password, second_factor, session_methods, set_mfa, signed_in};
use crate::common::browser::location;
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_set_up_then_required_at_every_sign_in() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "tia").await;
    let seed = enrol_totp(&app, &b).await;
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "factor_added" && e.details.contains("totp"))
    );
    // The seed is stored sealed, never in clear.
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, "tia")
        .await
        .unwrap()
        .unwrap();
    let (t, u) = (tenant.id, user.user.id);
    let row = app
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::factors::totp_get(c, t, u))
        .await
        .unwrap()
        .unwrap();
    let raw = base32_decode(&seed);
    assert!(
        !row.secret_sealed
            .windows(raw.len())
            .any(|w| w == raw.as_slice())
    );

    // A new browser: the password alone is not enough.
    let b = app.browser();
    assert_eq!(password(&b, "tia").await, "/t/default/login/verify");
    let page = b.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(page.contains("Code from your authenticator app"), "{page}");
    assert_eq!(
        b.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "no session before the second factor"
    );
    // Wrong and malformed codes: refused with a clear message.
    for bad in ["000000", "12345", "abcdef", "1234567"] {
        let res = second_factor(&b, "totp", bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(res.text().await.unwrap().contains("That code is not valid"));
    }
    // Skew: the previous step's code is accepted.
    app.clock.advance(Duration::seconds(60));
    let previous = watchword::auth::mfa::totp::code_at(&seed, app.clock.unix() - 30).unwrap();
    let res = second_factor(&b, "totp", &previous).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "one step of skew");
    assert_eq!(location(&res), "/t/default/");
    assert_eq!(session_methods(&app, &b).await, ["pwd", "otp", "mfa"]);

    // Replay: the same step again, in another browser, is refused.
    let c = app.browser();
    password(&c, "tia").await;
    let res = second_factor(&c, "totp", &previous).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "replayed code"
    );
    // Too old a code (two steps back) is refused too.
    let stale = watchword::auth::mfa::totp::code_at(&seed, app.clock.unix() - 90).unwrap();
    assert_eq!(
        second_factor(&c, "totp", &stale).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let res = second_factor(&c, "totp", &next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "second_factor" && e.outcome == "failure")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "second_factor" && e.outcome == "success")
    );
    // The sign-in that finished with the code is audited with the finishing request's id.
    let signed_in = audit
        .iter()
        .find(|e| e.action == "sign_in" && e.outcome == "success" && e.details.contains("otp"))
        .expect("the sign-in is audited");
    assert!(signed_in.request_id.is_some(), "{signed_in:?}");
    assert!(signed_in.ip.is_some());
}

fn base32_decode(s: &str) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(s)
        .unwrap()
        .as_bytes()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_codes_is_throttled() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "gus").await;
    let seed = enrol_totp(&app, &b).await;
    let g = app.browser();
    password(&g, "gus").await;
    for _ in 0..4 {
        assert_eq!(
            second_factor(&g, "totp", "111111").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // Each further failure doubles the wait before the next code is looked at: 1, 2, 4, ... s.
    let res = second_factor(&g, "totp", "111111").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    for wait in [1, 2, 4, 8, 16] {
        app.clock.advance(Duration::seconds(wait));
        assert_eq!(
            second_factor(&g, "totp", "111111").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // Now a 32-second wait: even the right code (30 s later) is not looked at.
    let res = second_factor(&g, "totp", &next_code(&app, &seed)).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("Too many failed codes"));
    // After the wait, the right code works.
    let res = second_factor(&g, "totp", &next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "second_factor" && e.outcome == "throttled")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_parallel_codes_gets_at_most_the_hourly_cap_evaluated() {
    let app = TestApp::builder()
        .tweak(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .start()
        .await;
    let b = signed_in(&app, "bo").await;
    let seed = enrol_totp(&app, &b).await;
    // A minute into a clock hour, so that the next code (30 s later) is in the same window.
    app.clock
        .advance(Duration::seconds(3660 - app.clock.unix().rem_euclid(3600)));
    let g = app.browser();
    password(&g, "bo").await;
    // 200 wrong codes at once, each from its own address (so no address waits): at most the
    // user's 20 an hour are looked at.
    let csrf = g.csrf("/t/default/login/verify").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let request = g
            .client
            .post(g.url("/t/default/login/verify"))
            .header(
                "x-forwarded-for",
                format!("198.18.{}.{}", i / 100, i % 100 + 1),
            )
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("method", "totp"),
                ("code", "111111"),
            ]);
        tasks.push(tokio::spawn(async move {
            request.send().await.unwrap().status()
        }));
    }
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNPROCESSABLE_ENTITY => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}"),
        }
    }
    let evaluated = app
        .audit("default")
        .await
        .iter()
        .filter(|e| e.action == "second_factor" && e.outcome == "failure")
        .count();
    assert_eq!((evaluated, refused), (20, 180));
    // Even the right code is refused now: the cap is spent.
    let res = second_factor(&g, "totp", &next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_codes_are_single_use_and_counted() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "rec").await;
    let _seed = enrol_totp(&app, &b).await;
    // Creating codes needs a fresh second factor: this session has only a password.
    let csrf = b.csrf("/t/default/account/security").await;
    let res = b
        .post_form("/t/default/account/recovery", &[("csrf_token", &csrf)])
        .await;
    assert!(
        location(&res).contains("/login/verify?step_up=mfa"),
        "{}",
        location(&res)
    );
    // Step up with the app, then create them.
    let res = b.get(&location(&res)).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let res = second_factor(&b, "totp", &next_code(&app, &_seed)).await;
    assert_eq!(location(&res), "/t/default/account/security");
    assert!(session_methods(&app, &b).await.contains(&"mfa".to_owned()));
    let csrf = b.csrf("/t/default/account/security").await;
    let res = b
        .post_form("/t/default/account/recovery", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|p| p[..p.find("</code>").unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    // Sign in elsewhere with a recovery code: told how many remain.
    let c = app.browser();
    password(&c, "rec").await;
    let res = second_factor(&c, "recovery", &codes[0].to_uppercase()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let via = location(&res);
    assert!(
        via.starts_with("/t/default/login/recovery-used?left=9"),
        "{via}"
    );
    let page = c.get(&via).await.text().await.unwrap();
    assert!(page.contains("You have 9 recovery codes left"), "{page}");
    assert_eq!(session_methods(&app, &c).await, ["pwd", "otp", "mfa"]);
    // Used once: refused the second time.
    let d = app.browser();
    password(&d, "rec").await;
    let res = second_factor(&d, "recovery", &codes[0]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("already used"));
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "second_factor" && e.details.contains("recovery_codes_left"))
    );
    assert!(audit.iter().any(|e| e.action == "recovery_codes_generated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_policy_makes_users_set_up_a_factor_before_any_token() {
    let app = TestApp::start().await;
    set_mfa(&app, MfaMode::Required).await;
    app.create_user("default", "new", GOOD_PASSWORD).await;
    let b = app.browser();
    assert_eq!(password(&b, "new").await, "/t/default/login/enrol");
    assert_eq!(
        b.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "no session yet"
    );
    let res = b.get("/t/default/login/enrol").await;
    let page = res.text().await.unwrap();
    assert!(page.contains("requires a second factor"), "{page}");
    let seed = super::manual_key(&page);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", &next_code(&app, &seed))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/");
    assert_eq!(session_methods(&app, &b).await, ["pwd", "otp", "mfa"]);

    // required_for_admins: an ordinary user goes straight in.
    set_mfa(&app, MfaMode::RequiredForAdmins).await;
    let plain = super::signed_in(&app, "plain").await;
    assert_eq!(plain.get("/t/default/").await.status(), StatusCode::OK);
    // off: no second factor is asked, even from a user who has one.
    set_mfa(&app, MfaMode::Off).await;
    let c = app.browser();
    assert_eq!(password(&c, "new").await, "/t/default/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_factor_needs_a_fresh_second_factor() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "fay").await;
    let seed = enrol_totp(&app, &b).await;
    // Sign in properly (both factors), then wait past the freshness window (10 minutes).
    let c = app.browser();
    password(&c, "fay").await;
    assert_eq!(
        second_factor(&c, "totp", &next_code(&app, &seed))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let csrf = c.csrf("/t/default/account/security").await;
    app.clock.advance(Duration::minutes(11));
    let res = c
        .post_form("/t/default/account/totp/remove", &[("csrf_token", &csrf)])
        .await;
    assert!(
        location(&res).contains("step_up=mfa"),
        "not fresh: {}",
        location(&res)
    );
    c.get(&location(&res)).await;
    let res = second_factor(&c, "totp", &next_code(&app, &seed)).await;
    assert_eq!(location(&res), "/t/default/account/security");
    let csrf = c.csrf("/t/default/account/security").await;
    let res = c
        .post_form("/t/default/account/totp/remove", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        location(&res),
        "/t/default/account/security?done=totp-removed"
    );
    let audit = app.audit("default").await;
    assert!(audit.iter().any(|e| e.action == "factor_removed"));
    // Without a factor, the password is enough again.
    let d = app.browser();
    assert_eq!(password(&d, "fay").await, "/t/default/");
}

/// Knowing the password is not enough to add a factor during sign-in: a user who has one must
/// prove it; setting one up at sign-in is only for users who have none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_alone_cannot_register_a_new_factor() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "vera").await;
    let _seed = enrol_totp(&app, &b).await;
    let attacker = app.browser();
    assert_eq!(password(&attacker, "vera").await, "/t/default/login/verify");
    let res = attacker.get("/t/default/login/enrol").await;
    assert_eq!(location(&res), "/t/default/login/verify", "no set-up page");
    let csrf = attacker.csrf("/t/default/login/verify").await;
    let res = attacker
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", "123456")],
        )
        .await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let res = attacker
        .client
        .post(attacker.url("/t/default/login/enrol/webauthn/options"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({ "kind": "passkey" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        attacker.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "still not signed in"
    );
    // The same for a step-up of a password-only session: prove the factor, do not add one.
    let res = b
        .get("/t/default/login/verify?step_up=mfa&return_to=/t/default/")
        .await;
    assert_eq!(location(&res), "/t/default/login/verify");
    assert_eq!(
        location(&b.get("/t/default/login/enrol").await),
        "/t/default/login/verify"
    );
}

/// A user who lost their factors: an operator removes them all (`watchword user reset-mfa`),
/// audited; under a policy that requires a second factor, the next sign-in sets up a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_resets_the_factors_of_a_user_who_lost_them() {
    use crate::common::binary::{run, stderr, stdout};
    let app = TestApp::start().await;
    set_mfa(&app, MfaMode::Required).await;
    app.create_user("default", "lou", GOOD_PASSWORD).await;
    let b = app.browser();
    assert_eq!(password(&b, "lou").await, "/t/default/login/enrol");
    let page = b.get("/t/default/login/enrol").await.text().await.unwrap();
    let seed = super::manual_key(&page);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", &next_code(&app, &seed))],
        )
        .await;
    assert_eq!(location(&res), "/t/default/");
    // Lost: the password alone leads to the code prompt, not to a new set-up.
    app.clock.advance(Duration::seconds(60));
    let c = app.browser();
    assert_eq!(password(&c, "lou").await, "/t/default/login/verify");

    let cli = |args: &[&str]| {
        let mut cmd = app.cli();
        cmd.args(args);
        run(cmd, "")
    };
    let out = tokio::task::block_in_place(|| cli(&["user", "reset-mfa", "nobody"]));
    assert!(!out.status.success(), "unknown user: {}", stdout(&out));
    let out = tokio::task::block_in_place(|| cli(&["user", "reset-mfa", "LOU"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("authenticator app: yes"),
        "{}",
        stdout(&out)
    );

    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, "lou")
        .await
        .unwrap()
        .unwrap();
    let (t, u) = (tenant.id, user.user.id);
    let left = app
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::factors::factors(c, t, u))
        .await
        .unwrap();
    assert!(!left.any() && left.recovery_left == 0, "{left:?}");
    let d = app.browser();
    assert_eq!(
        password(&d, "lou").await,
        "/t/default/login/enrol",
        "a new factor is set up at the next sign-in"
    );
    let audit = app.audit("default").await;
    let reset = audit
        .iter()
        .find(|e| e.action == "factors_reset")
        .expect("audited");
    assert_eq!(reset.actor, "cli");
    assert!(reset.details.contains("\"totp\":true"), "{}", reset.details);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_seed_is_not_a_factor() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "una").await;
    // Opening the set-up page stores a seed, never confirmed.
    let page = b.get("/t/default/account/totp").await.text().await.unwrap();
    let seed = super::manual_key(&page);
    // Recovery codes, so that signing in asks for a second factor at all.
    let csrf = b.csrf("/t/default/account/security").await;
    let res = b
        .post_form("/t/default/account/recovery", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let c = app.browser();
    assert_eq!(password(&c, "una").await, "/t/default/login/verify");
    let page = c.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(!page.contains("authenticator app"), "no TOTP offered");
    let res = second_factor(&c, "totp", &next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        c.get("/t/default/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_first_code_shows_the_same_key_until_it_expires() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "mia").await;
    let page = b.get("/t/default/account/totp").await.text().await.unwrap();
    let key = super::manual_key(&page);
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/account/totp",
            &[("csrf_token", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert_eq!(
        super::manual_key(&page),
        key,
        "the app already scanned still matches"
    );
    assert_eq!(
        super::manual_key(&b.get("/t/default/account/totp").await.text().await.unwrap()),
        key
    );

    // An unconfirmed seed expires: its code no longer confirms it.
    let tenant = app.tenant("default").await;
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, "mia")
        .await
        .unwrap()
        .unwrap()
        .user;
    use watchword::auth::mfa::totp::{ENROLMENT_SECS, Purpose, verify};
    app.clock.advance(Duration::seconds(ENROLMENT_SECS + 1));
    let code = watchword::auth::mfa::totp::code_at(&key, app.clock.unix()).unwrap();
    assert!(
        verify(&app.app.ctx, &tenant, &user, &code, Purpose::Confirm)
            .await
            .is_err()
    );
    // A new set-up shows a new key.
    let fresh = watchword::auth::mfa::totp::start(&app.app.ctx, &tenant, &user)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(fresh.manual_key.replace(' ', ""), key);
}
