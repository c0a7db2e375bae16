//! Step-up through the OpenID Connect flow, driven by the `openidconnect` relying party: an
//! application asking `acr_values=mfa` (or requiring MFA) gets a second-factor prompt inside an
//! existing session, and the ID token's `acr`, `amr` and `auth_time` say what happened.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge,
};
use reqwest::StatusCode;
use watchword::clock::Clock;

use super::{enrol_totp, next_code, second_factor, signed_in};
use crate::common::browser::location;
use crate::common::oidc::{Rp, discover, http, param, plain_client, register, rp};
use crate::common::{Browser, TestApp};

/// Starts an authorization request (optionally asking `acr`) and follows redirects inside
/// Watchword until it leaves for the client or stops at a Watchword page; returns that URL.
pub(super) async fn authorize(
    b: &Browser,
    client: &Rp,
    acr: Option<&str>,
    prompt_none: bool,
) -> (String, PkceVerifierNonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    if let Some(acr) = acr {
        req = req.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
    }
    if prompt_none {
        req = req.add_prompt(openidconnect::core::CoreAuthPrompt::None);
    }
    let (url, _, nonce) = req.url();
    (
        follow(b, url.as_str()).await,
        PkceVerifierNonce { verifier, nonce },
    )
}

pub(super) struct PkceVerifierNonce {
    verifier: openidconnect::PkceCodeVerifier,
    nonce: Nonce,
}

/// Follows 303s while they stay on Watchword and are not a page that needs the user.
pub(super) async fn follow(b: &Browser, start: &str) -> String {
    let mut next = start.to_owned();
    for _ in 0..8 {
        let res = b.client.get(&next).send().await.unwrap();
        if res.status() != StatusCode::SEE_OTHER && res.status() != StatusCode::FOUND {
            return next;
        }
        let to = location(&res);
        if to.starts_with("http") && !to.starts_with(&b.base) {
            return to;
        }
        if to.contains("/login/verify") && !to.contains("step_up") || to.contains("/login/enrol") {
            return b.url(&to);
        }
        next = b.url(to.strip_prefix(&b.base).unwrap_or(&to));
    }
    next
}

/// Exchanges the code at `back` and returns the verified ID token claims as JSON.
pub(super) async fn id_claims(client: &Rp, back: &str, p: PkceVerifierNonce) -> serde_json::Value {
    let url = url::Url::parse(back).unwrap();
    let code = param(&url, "code").unwrap_or_else(|| panic!("no code: {back}"));
    let h = plain_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(p.verifier)
        .request_async(&|r| http(h.clone(), r))
        .await
        .expect("token response");
    use openidconnect::TokenResponse;
    let id = tokens.id_token().unwrap();
    id.claims(&client.id_token_verifier(), &p.nonce)
        .expect("the ID token verifies");
    serde_json::to_value(id.claims(&client.id_token_verifier(), &p.nonce).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_values_mfa_steps_up_an_existing_session() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "sue").await; // password only
    let seed = enrol_totp(&app, &b).await;
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);

    // Without acr_values: the password session is enough; the ID token says so.
    let (back, p) = authorize(&b, &client, None, false).await;
    let claims = id_claims(&client, &back, p).await;
    assert_eq!(claims["acr"], "pwd");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    let first_auth = claims["auth_time"].as_i64().unwrap();

    // acr_values=mfa: a second-factor prompt inside the session, then the code.
    app.clock.advance(chrono::Duration::minutes(2));
    let (at, p) = authorize(&b, &client, Some("mfa"), false).await;
    assert!(at.ends_with("/t/default/login/verify"), "{at}");
    let res = second_factor(&b, "totp", &next_code(&app, &seed)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = follow(&b, &b.url(&location(&res))).await;
    let claims = id_claims(&client, &back, p).await;
    assert_eq!(claims["acr"], "mfa");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(
        claims["auth_time"].as_i64().unwrap(),
        first_auth,
        "a code adds a factor; only the password or a passkey moves auth_time"
    );

    // Asked again: the session already has it.
    let (back, p) = authorize(&b, &client, Some("mfa"), false).await;
    assert_eq!(id_claims(&client, &back, p).await["acr"], "mfa");
    // phr cannot be reached with an app code: the code is issued with what the session has.
    let (back, p) = authorize(&b, &client, Some("phr"), false).await;
    assert_eq!(id_claims(&client, &back, p).await["acr"], "mfa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_requires_mfa_gets_it_or_an_error() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "rob").await; // no second factor at all
    let registered = register(&app, "default", "bank", |c| c.settings.require_mfa = true).await;
    let client = rp(&discover(&app, "default").await, &registered);

    // prompt=none cannot ask: interaction_required.
    let (back, _) = authorize(&b, &client, None, true).await;
    let url = url::Url::parse(&back).unwrap();
    assert_eq!(
        param(&url, "error").as_deref(),
        Some("interaction_required")
    );

    // Otherwise: set one up now (the user has none), then the code.
    let (at, p) = authorize(&b, &client, None, false).await;
    assert!(at.ends_with("/t/default/login/enrol"), "{at}");
    let page = b.get("/t/default/login/enrol").await.text().await.unwrap();
    let seed = super::manual_key(&page);
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", &next_code(&app, &seed))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = follow(&b, &b.url(&location(&res))).await;
    let claims = id_claims(&client, &back, p).await;
    assert_eq!(claims["acr"], "mfa");
    assert!(claims["amr"].as_array().unwrap().contains(&"otp".into()));

    // With second factors turned off for the tenant, the requirement fails closed: a session
    // with a password alone gets access_denied, never a code.
    super::set_mfa(&app, watchword::domain::mfa::MfaMode::Off).await;
    let c = signed_in(&app, "ron").await;
    let (back, _) = authorize(&c, &client, None, false).await;
    let url = url::Url::parse(&back).unwrap();
    assert_eq!(
        param(&url, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert!(param(&url, "code").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_asks_for_both_factors_again() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "pam").await;
    let seed = enrol_totp(&app, &b).await;
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let before = app.clock.unix();
    app.clock.advance(chrono::Duration::minutes(5));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .add_prompt(openidconnect::core::CoreAuthPrompt::Login)
        .url();
    let res = b.client.get(url.as_str()).send().await.unwrap();
    let login = location(&res);
    assert!(
        login.starts_with("/t/default/login?return_to="),
        "prompt=login asks for the password: {login}"
    );
    let return_to = url::Url::parse(&b.url(&login))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    let res = b
        .sign_in_to("default", "pam", crate::common::GOOD_PASSWORD, &return_to)
        .await;
    assert_eq!(
        location(&res),
        "/t/default/login/verify",
        "then the second factor"
    );
    let res = second_factor(&b, "totp", &next_code(&app, &seed)).await;
    let back = follow(&b, &b.url(&location(&res))).await;
    let claims = id_claims(&client, &back, PkceVerifierNonce { verifier, nonce }).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert!(claims["auth_time"].as_i64().unwrap() > before);
}

/// The first redirect of an authorization request, and the id of the request it parked.
async fn park(b: &Browser, client: &Rp, prompt_login: bool) -> (String, String) {
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    if prompt_login {
        req = req.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    let (url, _, _) = req.url();
    let res = b.client.get(url.as_str()).send().await.unwrap();
    let to = location(&res);
    let full = url::Url::parse(&b.url(&to)).unwrap();
    let inner = param(&full, "return_to").unwrap_or_else(|| to.clone());
    let id = inner
        .split("id=")
        .nth(1)
        .expect("a parked request")
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    (to, id)
}

/// Answers the consent page for request `id` directly (as an attacker would).
async fn consent_directly(b: &Browser, id: &str) -> (StatusCode, reqwest::Response) {
    let page = b
        .get(&format!("/t/default/authorize/consent?id={id}"))
        .await;
    let csrf = b.csrf("/t/default/account").await;
    let res = b
        .post_form(
            "/t/default/authorize/consent",
            &[("csrf_token", &csrf), ("id", id), ("decision", "allow")],
        )
        .await;
    (page.status(), res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_page_cannot_skip_a_step_up() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "cora").await; // password only
    for (name, first_party) in [("third", false), ("first", true)] {
        let registered = register(&app, "default", name, |c| {
            c.settings.require_mfa = true;
            c.settings.first_party = first_party;
        })
        .await;
        let client = rp(&discover(&app, "default").await, &registered);
        let (to, id) = park(&b, &client, false).await;
        assert!(to.contains("step_up=mfa"), "{to}");
        let (page, answer) = consent_directly(&b, &id).await;
        assert_eq!(page, StatusCode::BAD_REQUEST, "{name}: no consent page");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(
            !location(&answer).contains("code="),
            "{name}: no code without the second factor"
        );
        // The request still waits for its step-up.
        let res = b
            .get(&format!("/t/default/authorize/continue?id={id}"))
            .await;
        assert!(location(&res).contains("step_up=mfa"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_answer_runs_every_check_again() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "cody").await; // password only
    let registered = register(&app, "default", "tp", |c| c.settings.first_party = false).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let (to, id) = park(&b, &client, false).await;
    assert!(to.contains("/authorize/consent?"), "{to}");
    // While the consent page is open, the tenant starts requiring a second factor.
    super::set_mfa(&app, watchword::domain::mfa::MfaMode::Required).await;
    let (_, answer) = consent_directly(&b, &id).await;
    let next = location(&answer);
    assert!(
        next.contains("step_up=mfa") && !next.contains("code="),
        "the code waits for the second factor: {next}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_in_a_step_up_is_not_a_new_authentication() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "erin").await; // password only, no factor
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    // prompt=login: the password is asked for.
    let (to, id) = park(&b, &client, true).await;
    assert!(to.starts_with("/t/default/login?"), "{to}");
    // With only the cookie, set up a factor through a step-up aimed at the parked request.
    let back = format!("/t/default/authorize/continue?id={id}");
    let res = b
        .get(&format!(
            "/t/default/login/verify?step_up=mfa&return_to={}",
            urlencode(&back)
        ))
        .await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    let page = b.get("/t/default/login/enrol").await.text().await.unwrap();
    let seed = super::manual_key(&page);
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/login/enrol/totp",
            &[("csrf_token", &csrf), ("code", &next_code(&app, &seed))],
        )
        .await;
    assert_eq!(location(&res), back);
    // The parked prompt=login request still wants the password.
    let res = b.get(&back).await;
    assert!(
        location(&res).starts_with("/t/default/login?"),
        "enrolment is not a sign-in: {}",
        location(&res)
    );

    // Later, with a stale password: a step-up asks for the password before any set-up.
    let c = signed_in(&app, "eddy").await;
    app.clock.advance(chrono::Duration::minutes(11));
    let res = c
        .get("/t/default/login/verify?step_up=mfa&return_to=/t/default/")
        .await;
    assert_eq!(location(&res), "/t/default/login/verify");
    let page = c.get("/t/default/login/verify").await.text().await.unwrap();
    assert!(page.contains("current-password"), "{page}");
    assert_eq!(
        c.get("/t/default/login/enrol").await.status(),
        StatusCode::SEE_OTHER,
        "no set-up before the password"
    );
    let res = second_factor(&c, "totp", "123456").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = second_factor(&c, "password", "not the password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = second_factor(&c, "password", crate::common::GOOD_PASSWORD).await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "password_confirmed" && e.outcome == "failure")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "password_confirmed" && e.outcome == "success")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_from_before_mfa_became_required_step_up() {
    let app = TestApp::start().await;
    let b = signed_in(&app, "reno").await; // password only
    let seed = enrol_totp(&app, &b).await;
    let registered = register(&app, "default", "lms", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let (back, p) = authorize(&b, &client, None, false).await;
    assert_eq!(id_claims(&client, &back, p).await["acr"], "pwd");
    super::set_mfa(&app, watchword::domain::mfa::MfaMode::Required).await;
    let (at, p) = authorize(&b, &client, None, false).await;
    assert!(at.ends_with("/t/default/login/verify"), "{at}");
    let res = second_factor(&b, "totp", &next_code(&app, &seed)).await;
    let back = follow(&b, &b.url(&location(&res))).await;
    let claims = id_claims(&client, &back, p).await;
    assert_eq!(claims["acr"], "mfa");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
