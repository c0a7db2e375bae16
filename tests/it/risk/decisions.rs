//! Risk-scored sign-ins through the hosted pages, judged after the password: the learning
//! period and a home profile, each level's action (allow, a second factor, a refusal page, a
//! block answered like a wrong password), audit-only mode, the notice mail, a risky session that
//! may not set up a factor, the session limit still evicting, and the optional `risk` claim.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, TokenResponse};
use reqwest::StatusCode;
use serde_json::json;
use watchword::domain::mfa::EmailCodeMode;
use watchword::domain::session::{OnLimit, SessionLimit};

use super::scored::{self, FIREFOX, IPHONE, PARIS, PARIS_2, SYDNEY, Scored, page_error};
use crate::common::GOOD_PASSWORD;
use crate::common::browser::location;
use crate::common::oidc::{authorize, discover, http, param, plain_client, register, rp};

/// The payload of a JWT (already verified by the RP).
fn jwt_payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// The 8-digit code of the newest sign-in code message to `user`.
async fn code_for(s: &Scored, user: &str, n: usize) -> String {
    let got = s.mail(user, n).await;
    let m = got
        .iter()
        .rev()
        .find(|m| m.subject.ends_with("your sign-in code"))
        .expect("a code message");
    m.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 9 && l.as_bytes()[4] == b' ')
        .expect("a code")
        .replace(' ', "")
}

async fn ask_code(b: &crate::common::Browser) {
    let csrf = b.csrf("/t/default/login/verify").await;
    let res = b
        .post_form(
            "/t/default/login/verify/email-code",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_sign_ins_are_low_recorded_and_learnt() {
    let s = scored::start(json!({}), |_| {}).await;
    let user = s.user("hana").await;
    let b = s.at_home("hana").await;
    // Another address in the same network, the same browser: nothing new.
    let again = s.browser(FIREFOX, PARIS_2);
    for (name, value) in [("ww-device-default", b.cookie("ww-device-default"))] {
        if let Some(v) = value {
            again.set_cookie(name, &v);
        }
    }
    let res = again.sign_in("default", "hana", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/");
    let events = s.events(&user).await;
    assert_eq!(events.len(), 4, "every evaluation is a row");
    let last = &events[0];
    assert_eq!(last.level, "low");
    assert_eq!(last.decision, "allow");
    assert_eq!(last.result, "success");
    assert_eq!(last.country.as_deref(), Some("FR"));
    assert_eq!(last.asn, Some(64501));
    assert!(
        Scored::reasons(last).is_empty(),
        "{:?}",
        Scored::reasons(last)
    );
    assert!(last.enforced);
    // The learning period raised nothing either, though everything was new then.
    assert!(events.iter().all(|e| Scored::reasons(e).is_empty()));
    // The audit log links the sign-in to its event.
    let audit = s.app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|a| a.details.contains(&last.id) || a.details.contains("risk_event")),
        "the audit log refers to sign-in events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_in_a_new_country_is_medium_asks_a_code_by_mail_and_notifies() {
    let s = scored::start(json!({}), |p| p.mfa.email_code = EmailCodeMode::Allowed).await;
    let user = s.user("ines").await;
    s.at_home("ines").await;
    s.app.clock.advance(chrono::Duration::hours(30));
    // A phone in Berlin: new device, new country, new network.
    let phone = s.browser(IPHONE, scored::BERLIN);
    let res = phone.sign_in("default", "ines", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify", "a second factor");
    assert!(
        phone.cookie("ww-session-default").is_none(),
        "no session yet"
    );
    let event = &s.events(&user).await[0];
    assert_eq!(event.level, "medium");
    assert_eq!(event.decision, "second_factor");
    assert_eq!(event.result, "pending");
    let reasons = Scored::reasons(event);
    for r in ["new_device", "new_country", "new_asn"] {
        assert!(reasons.contains(&r.to_owned()), "{reasons:?}");
    }
    assert!(
        !reasons.contains(&"impossible_travel".to_owned()),
        "30 h is enough"
    );

    ask_code(&phone).await;
    let code = code_for(&s, "ines", 1).await;
    let res = crate::mfa::second_factor(&phone, "email", &code).await;
    assert_eq!(location(&res), "/t/default/");
    let methods = crate::mfa::session_methods(&s.app, &phone).await;
    assert!(methods.contains(&"otp".to_owned()), "{methods:?}");
    let event = &s.events(&user).await[0];
    assert_eq!(event.result, "success");

    // Medium notifies by default: a notice with the device, the place and one link.
    let got = s.mail("ines", 2).await;
    let notice = got
        .iter()
        .find(|m| m.subject.ends_with("new sign-in to your account"))
        .expect("a notice");
    assert!(notice.text.contains("Safari on iPhone"), "{}", notice.text);
    assert!(
        notice.text.contains("Berlin, DE (AS64503)"),
        "{}",
        notice.text
    );
    assert!(
        notice
            .text
            .contains(&format!("sign-in-check?token={}.", event.id))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medium_sign_in_without_any_factor_goes_on_but_may_not_set_one_up() {
    let s = scored::start(json!({}), |_| {}).await;
    let user = s.user("jon").await;
    s.at_home("jon").await;
    s.app.clock.advance(chrono::Duration::hours(30));
    let phone = s.browser(IPHONE, scored::BERLIN);
    let res = phone.sign_in("default", "jon", GOOD_PASSWORD).await;
    assert_eq!(
        location(&res),
        "/t/default/",
        "mfa_if_enrolled: nothing to ask"
    );
    assert_eq!(s.events(&user).await[0].level, "medium");
    let res = phone.get("/t/default/account/totp").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("unusual device or place"), "{body}");
    // Back home two hours later (a possible trip), a browser there may.
    s.app.clock.advance(chrono::Duration::hours(2));
    let home = s.browser(FIREFOX, PARIS);
    let res = home.sign_in("default", "jon", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/");
    assert_eq!(
        home.get("/t/default/account/totp").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_travel_is_high_and_without_a_factor_is_refused_with_a_page() {
    let s = scored::start(json!({}), |_| {}).await;
    let user = s.user("kim").await;
    let home = s.at_home("kim").await;
    // Ten minutes later, the same browser (known device) in Sydney.
    s.app.clock.advance(chrono::Duration::minutes(10));
    let far = s.browser(FIREFOX, SYDNEY);
    far.set_cookie(
        "ww-device-default",
        &home.cookie("ww-device-default").expect("a device cookie"),
    );
    let res = far.sign_in("default", "kim", GOOD_PASSWORD).await;
    let (status, message) = page_error(res).await;
    assert_eq!(status, StatusCode::OK);
    assert!(message.contains("needs a second factor"), "{message}");
    let event = &s.events(&user).await[0];
    assert_eq!(event.level, "high");
    assert_eq!(event.decision, "deny");
    assert_eq!(event.result, "denied");
    let reasons = Scored::reasons(event);
    assert!(reasons.contains(&"impossible_travel".into()), "{reasons:?}");
    assert!(!reasons.contains(&"new_device".into()), "{reasons:?}");
    assert!(far.cookie("ww-session-default").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_set_to_block_answers_like_a_wrong_password_and_tells_the_user() {
    let s = scored::start(
        json!({"actions": {"high": {"action": "block", "notify": true}}}),
        |_| {},
    )
    .await;
    let user = s.user("lea").await;
    s.at_home("lea").await;
    s.app.clock.advance(chrono::Duration::minutes(10));
    let far = s.browser(IPHONE, SYDNEY);
    let blocked = page_error(far.sign_in("default", "lea", GOOD_PASSWORD).await).await;
    let wrong = page_error(far.sign_in("default", "lea", "not the password").await).await;
    assert_eq!(
        blocked, wrong,
        "the attacker cannot tell a block from a wrong password"
    );
    assert!(far.cookie("ww-session-default").is_none());
    let event = s
        .events(&user)
        .await
        .into_iter()
        .find(|e| e.decision == "block")
        .expect("the blocked sign-in's event");
    assert_eq!(event.result, "blocked");
    let got = s.mail("lea", 1).await;
    let notice = got
        .iter()
        .find(|m| m.subject.ends_with("a sign-in to your account was blocked"))
        .expect("the user is told");
    assert!(notice.text.contains("Sydney, AU"), "{}", notice.text);
    assert!(notice.text.contains(&event.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_only_records_every_decision_and_enforces_none() {
    let s = scored::start(
        json!({"audit_only": true, "actions": {"high": {"action": "block"}}}),
        |_| {},
    )
    .await;
    let user = s.user("max").await;
    s.at_home("max").await;
    s.app.clock.advance(chrono::Duration::minutes(10));
    let far = s.browser(IPHONE, SYDNEY);
    let res = far.sign_in("default", "max", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/", "signed in anyway");
    let event = &s.events(&user).await[0];
    assert_eq!(event.level, "high");
    assert_eq!(event.decision, "block", "what would have happened");
    assert!(!event.enforced);
    assert_eq!(event.result, "success");
    // Not enforced: the session is not treated as risky either.
    assert_eq!(
        far.get("/t/default/account/totp").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risky_sign_in_on_a_one_session_tenant_still_evicts_the_old_session() {
    let s = scored::start(json!({}), |p| {
        p.mfa.email_code = EmailCodeMode::Allowed;
        p.session.max_sessions_per_user = SessionLimit::Max(1);
        p.session.on_limit = OnLimit::EndOldest;
    })
    .await;
    let user = s.user("noa").await;
    let home = s.at_home("noa").await;
    assert_eq!(
        home.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    s.app.clock.advance(chrono::Duration::minutes(10));
    let phone = s.browser(IPHONE, scored::BERLIN);
    let res = phone.sign_in("default", "noa", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    ask_code(&phone).await;
    let code = code_for(&s, "noa", 1).await;
    let res = crate::mfa::second_factor(&phone, "email", &code).await;
    assert_eq!(location(&res), "/t/default/");
    assert_eq!(
        phone.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    let res = home.get("/t/default/account").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the home session was evicted"
    );
    assert_eq!(s.events(&user).await[0].result, "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_claim_shows_applications_the_sign_in_judgement() {
    let s = scored::start(json!({"claim": true}), |p| {
        p.mfa.email_code = EmailCodeMode::Allowed;
    })
    .await;
    s.user("ola").await;
    s.at_home("ola").await;
    s.app.clock.advance(chrono::Duration::hours(30));
    let phone = s.browser(IPHONE, scored::BERLIN);
    let res = phone.sign_in("default", "ola", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    ask_code(&phone).await;
    let code = code_for(&s, "ola", 1).await;
    crate::mfa::second_factor(&phone, "email", &code).await;

    let registered = register(&s.app, "default", "riskapp", |_| {}).await;
    let metadata = discover(&s.app, "default").await;
    let client = rp(&metadata, &registered);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let back = authorize(&phone, url.as_str(), None).await;
    let code = param(&back, "code").expect("a code");
    let http_client = plain_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&|r| http(http_client.clone(), r))
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the RP accepts an ID token with the extra claim");
    let raw = jwt_payload(&id_token.to_string());
    assert_eq!(raw["risk"]["level"], "medium");
    assert_eq!(raw["risk"]["decision"], "second_factor");
    assert!(
        raw["risk"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("new_country"))
    );
    assert_eq!(raw["acr"], "mfa", "forced through a second factor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_waiting_for_its_second_factor_dies_when_the_password_changes() {
    let s = scored::start(json!({}), |p| p.mfa.email_code = EmailCodeMode::Allowed).await;
    let user = s.user("pat").await;
    s.at_home("pat").await;
    s.app.clock.advance(chrono::Duration::hours(30));
    // Someone with the password, from elsewhere, reaches the second-factor step.
    let thief = s.browser(IPHONE, scored::BERLIN);
    let res = thief.sign_in("default", "pat", GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/verify");
    ask_code(&thief).await;
    let code = code_for(&s, "pat", 1).await;
    // Meanwhile the password is changed (a reset, "this wasn't me", an operator).
    let tenant = s.app.tenant("default").await;
    watchword::admin::users::set_password(
        &s.app.app.ctx,
        &tenant,
        &user,
        &watchword::domain::secret::Secret::new("an entirely new passphrase".into()),
        watchword::admin::access::OnReset::KeepAccess,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let res = crate::mfa::second_factor(&thief, "email", &code).await;
    assert_eq!(location(&res), "/t/default/login?reason=expired");
    assert!(thief.cookie("ww-session-default").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ins_of_one_user_each_reach_the_profile() {
    let s = scored::start(json!({}), |_| {}).await;
    let user = s.user("quincy").await;
    // Eight browsers at once: each sign-in's device must be learnt (the profile is rewritten
    // under its row lock, not last-writer-wins).
    let browsers: Vec<_> = (0..8).map(|_| s.browser(FIREFOX, PARIS)).collect();
    let answers = futures_util::future::join_all(
        browsers
            .iter()
            .map(|b| b.sign_in("default", "quincy", GOOD_PASSWORD)),
    )
    .await;
    assert!(answers.iter().all(|r| location(r) == "/t/default/"));
    let id = user.id;
    let profile = s
        .app
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::risk::profile(c, id))
        .await
        .unwrap()
        .expect("a profile");
    assert_eq!(profile.successes, 8);
    assert_eq!(profile.devices.len(), 8, "every device learnt");
}
