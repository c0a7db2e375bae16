//! The authorization endpoint under hostile and unusual input: untrusted clients and redirect
//! URIs (error page, never a redirect), errors reported back to a trusted redirect URI with
//! `error`, `state` and `iss`, prompt / max_age / id_token_hint handling, consent, form_post.

use chrono::Duration;
use openidconnect::TokenResponse;
use reqwest::{Response, StatusCode};
use watchword::clock::Clock;
use watchword::domain::audit::Actor;
use watchword::domain::client::{ClientAuthMethod, ClientKind, GrantType};

use super::flow::{code_flow, post, sign_in};
use crate::common::browser::location;
use crate::common::oidc::{REDIRECT_URI, Registered, param, register};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

/// Unknown, missing, other-tenant or non-code clients: a 400 error page, never a redirect (RFC 6749 4.1.2.1).
#[tokio::test]
async fn unknown_missing_or_unfit_clients_get_an_error_page_never_a_redirect() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    register(&app, "default", "machine", |c| {
        c.settings.grant_types = vec![GrantType::ClientCredentials];
    })
    .await;
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let b = app.browser();

    for (what, path) in [
        ("unknown client_id", Authz::new("nobody").path("default")),
        (
            "missing client_id",
            Authz::new("app").without("client_id").path("default"),
        ),
        ("client of another tenant", Authz::new("app").path("other")),
        (
            "client without the authorization_code grant",
            Authz::new("machine").path("default"),
        ),
        (
            "unknown client_id, even with prompt=none",
            Authz::new("nobody").set("prompt", "none").path("default"),
        ),
    ] {
        let res = b.get(&path).await;
        assert_error_page(res, what).await;
    }
    assert_no_500(&app).await;
}

/// Any redirect_uri that is not byte-for-byte a registered one gets the error page (RFC 9700 4.1.3).
#[tokio::test]
async fn unregistered_redirect_uris_get_an_error_page_never_a_redirect() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    register(&app, "default", "two", |c| {
        c.settings
            .redirect_uris
            .push("https://app.example/second".into());
    })
    .await;
    let b = app.browser();
    for uri in [
        "https://app.example/callback/",
        "https://app.example/callbackx",
        "https://app.example/callback.evil.example",
        "https://app.example/call",
        "https://app.example/",
        "https://app.example/callback/../callback",
        "https://app.example/%63allback",
        "https://APP.example/callback",
        "HTTPS://app.example/callback",
        "https://app.example/Callback",
        "https://app.example/callback?x=1",
        "https://app.example/callback?",
        "https://app.example/callback#fragment",
        "https://app.example/callback#",
        "https://app.example:443/callback",
        "https://app.example:8443/callback",
        "http://app.example/callback",
        "https://app.example.evil/callback",
        "https://evil.example/callback",
        "https://app.example@evil.example/callback",
        "//evil.example/callback",
        "/callback",
        " https://app.example/callback",
        "https://app.example/callback ",
    ] {
        let res = b
            .get(&Authz::new("app").set("redirect_uri", uri).path("default"))
            .await;
        assert_error_page(res, uri).await;
    }
    // Several registered URIs: the request must name one.
    let res = b
        .get(&Authz::new("two").without("redirect_uri").path("default"))
        .await;
    assert_error_page(res, "missing redirect_uri with two registered").await;
    assert_no_500(&app).await;
}

/// Loopback IP redirect URIs accept any port (RFC 8252 7.3); `localhost` and everything else match exactly.
#[tokio::test]
async fn loopback_redirect_uris_may_vary_only_their_port() {
    let app = TestApp::start().await;
    register(&app, "default", "native", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = Some(ClientAuthMethod::None);
        c.settings.redirect_uris = vec![
            "http://127.0.0.1:8000/cb".into(),
            "http://[::1]/cb".into(),
            "http://localhost:8000/cb".into(),
        ];
    })
    .await;
    let b = app.browser();
    // Accepted: the answer (login_required, as nobody is signed in) goes to the requested URI.
    for uri in [
        "http://127.0.0.1:8000/cb",
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1/cb",
        "http://[::1]/cb",
        "http://[::1]:4000/cb",
        "http://localhost:8000/cb",
    ] {
        let res = b
            .get(
                &Authz::new("native")
                    .set("redirect_uri", uri)
                    .set("prompt", "none")
                    .path("default"),
            )
            .await;
        let back = assert_error_redirect(&app, res, uri, "login_required", Some(STATE));
        assert_eq!(
            back.port_or_known_default(),
            url::Url::parse(uri).unwrap().port_or_known_default()
        );
    }
    // Refused: anything but the port differs, or the host is a name (RFC 8252 8.3: the port
    // may vary for loopback IP literals; `localhost` is compared exactly).
    for uri in [
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234/cb#f",
        "http://127.0.0.2:8000/cb",
        "https://127.0.0.1:8000/cb",
        "http://user@127.0.0.1:8000/cb",
        "http://[::1]:4000/other",
        "http://[::2]:4000/cb",
        "http://localhost:9000/cb",
        "http://localhost/cb",
        "http://localhost.evil.example:8000/cb",
    ] {
        let res = b
            .get(
                &Authz::new("native")
                    .set("redirect_uri", uri)
                    .set("prompt", "none")
                    .path("default"),
            )
            .await;
        assert_error_page(res, uri).await;
    }
}

/// Loopback redirect URIs that differ in more than the port (other spellings of 127.0.0.1, dot segments) are refused.
#[tokio::test]
async fn loopback_redirect_uris_are_otherwise_compared_as_exact_strings() {
    let app = TestApp::start().await;
    register(&app, "default", "native", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = Some(ClientAuthMethod::None);
        c.settings.redirect_uris = vec!["http://127.0.0.1:8000/cb".into()];
    })
    .await;
    let b = app.browser();
    // RFC 9700 4.1.3 / 2.1: exact string matching; the only exception is the port of a
    // loopback redirect URI (RFC 8252 7.3). These differ in more than the port.
    let mut accepted = Vec::new();
    for uri in [
        "http://127.1:9000/cb",
        "http://2130706433:9000/cb",
        "http://0x7f.0.0.1:9000/cb",
        "http://127.0.0.1:9000/x/../cb",
        "http://127.0.0.1:9000/./cb",
        "HTTP://127.0.0.1:9000/cb",
    ] {
        let res = b
            .get(
                &Authz::new("native")
                    .set("redirect_uri", uri)
                    .set("prompt", "none")
                    .path("default"),
            )
            .await;
        if res.status() != StatusCode::BAD_REQUEST {
            accepted.push(format!("{uri} -> {} {}", res.status(), location(&res)));
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}

/// Once client and redirect URI are trusted, each invalid parameter is redirected back with its RFC error, state and iss.
#[tokio::test]
async fn request_errors_are_redirected_with_error_state_and_iss() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    let cases: Vec<(&str, Authz, &str)> = vec![
        (
            "response_type=token (implicit)",
            Authz::new("app").set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            "response_type=code id_token (hybrid)",
            Authz::new("app").set("response_type", "code id_token"),
            "unsupported_response_type",
        ),
        (
            "response_type=id_token",
            Authz::new("app").set("response_type", "id_token"),
            "unsupported_response_type",
        ),
        (
            "missing response_type",
            Authz::new("app").without("response_type"),
            "invalid_request",
        ),
        (
            "scope not allowed for the client",
            Authz::new("app").set("scope", "openid admin"),
            "invalid_scope",
        ),
        (
            "scope with invalid characters",
            Authz::new("app").set("scope", "openid \"x\""),
            "invalid_scope",
        ),
        (
            "code_challenge_method=plain",
            Authz::new("app")
                .set("code_challenge", VERIFIER)
                .set("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            "code_challenge without a method (defaults to plain)",
            Authz::new("app").without("code_challenge_method"),
            "invalid_request",
        ),
        (
            "unknown code_challenge_method",
            Authz::new("app").set("code_challenge_method", "S512"),
            "invalid_request",
        ),
        (
            "code_challenge_method without code_challenge",
            Authz::new("app").without("code_challenge"),
            "invalid_request",
        ),
        (
            "code_challenge of 42 characters",
            Authz::new("app").set("code_challenge", &CHALLENGE[..42]),
            "invalid_request",
        ),
        (
            "code_challenge of 44 characters",
            Authz::new("app").set("code_challenge", &format!("{CHALLENGE}A")),
            "invalid_request",
        ),
        (
            "code_challenge that is not base64url",
            Authz::new("app").set("code_challenge", &format!("{}+", &CHALLENGE[..42])),
            "invalid_request",
        ),
        (
            "request object",
            Authz::new("app").set("request", "eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            "request_uri",
            Authz::new("app").set("request_uri", "https://evil.example/request.jwt"),
            "request_uri_not_supported",
        ),
        (
            "registration",
            Authz::new("app").set("registration", "{}"),
            "registration_not_supported",
        ),
        (
            "response_mode=fragment",
            Authz::new("app").set("response_mode", "fragment"),
            "invalid_request",
        ),
        (
            "response_mode=web_message",
            Authz::new("app").set("response_mode", "web_message"),
            "invalid_request",
        ),
        (
            "prompt=none login",
            Authz::new("app").set("prompt", "none login"),
            "invalid_request",
        ),
        (
            "prompt=consent none",
            Authz::new("app").set("prompt", "consent none"),
            "invalid_request",
        ),
        (
            "unknown prompt value",
            Authz::new("app").set("prompt", "bogus"),
            "invalid_request",
        ),
        (
            "negative max_age",
            Authz::new("app").set("max_age", "-1"),
            "invalid_request",
        ),
        (
            "non-numeric max_age",
            Authz::new("app").set("max_age", "an hour"),
            "invalid_request",
        ),
        (
            "overflowing max_age",
            Authz::new("app").set("max_age", "99999999999999999999999"),
            "invalid_request",
        ),
        (
            "nonce over 512 bytes",
            Authz::new("app").set("nonce", &"n".repeat(513)),
            "invalid_request",
        ),
        (
            "login_hint over 254 bytes",
            Authz::new("app").set("login_hint", &"h".repeat(255)),
            "invalid_request",
        ),
        (
            "garbage id_token_hint",
            Authz::new("app").set("id_token_hint", "not.a.jwt"),
            "invalid_request",
        ),
    ];
    for (what, req, error) in cases {
        let res = b.get(&req.path("default")).await;
        let back = assert_error_redirect(&app, res, REDIRECT_URI, error, Some(STATE));
        assert!(
            param(&back, "code").is_none(),
            "{what}: no code with an error"
        );
    }
    assert_no_500(&app).await;
}

/// No code_challenge: invalid_request for a public client and a default confidential client (RFC 9700 2.1.1).
#[tokio::test]
async fn pkce_is_required_for_public_and_default_confidential_clients() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    register(&app, "default", "spa", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = Some(ClientAuthMethod::None);
        // Even if the registration says otherwise, a public client needs PKCE.
        c.settings.require_pkce = false;
    })
    .await;
    let b = app.browser();
    for client in ["app", "spa"] {
        let res = b
            .get(
                &Authz::new(client)
                    .without("code_challenge")
                    .without("code_challenge_method")
                    .path("default"),
            )
            .await;
        let back = assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));
        assert!(
            param(&back, "error_description").unwrap().contains("PKCE"),
            "{client}: {back}"
        );
    }
}

/// A state over 2048 bytes is invalid_request and is not reflected back.
#[tokio::test]
async fn an_overlong_state_is_refused_without_being_echoed() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let long = "s".repeat(2049);
    let res = app
        .browser()
        .get(&Authz::new("app").set("state", &long).path("default"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", None);
}

/// prompt=none without a session redirects login_required (OIDC Core 3.1.2.6).
#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let res = app
        .browser()
        .get(&Authz::new("app").set("prompt", "none").path("default"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "login_required", Some(STATE));
}

/// prompt=none, signed in, third-party client never consented: consent_required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_without_consent_is_consent_required() {
    let app = TestApp::start().await;
    app.create_user("default", "cora", GOOD_PASSWORD).await;
    register(&app, "default", "tp", |c| c.settings.first_party = false).await;
    let b = app.browser();
    assert_eq!(
        b.sign_in("default", "cora", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let res = b
        .get(&Authz::new("tp").set("prompt", "none").path("default"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "consent_required", Some(STATE));
}

/// prompt=login with a session shows the sign-in page; the ID token's auth_time is the new sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_forces_a_fresh_sign_in_and_updates_auth_time() {
    let app = TestApp::start().await;
    app.create_user("default", "lena", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    b.sign_in("default", "lena", GOOD_PASSWORD).await;
    let first_sign_in = app.clock.unix();

    // Without prompt=login the session is used as it is.
    let res = b.get(&Authz::new("app").path("default")).await;
    assert_code_redirect(&app, res, REDIRECT_URI);

    app.clock.advance(Duration::seconds(100));
    let res = b
        .get(&Authz::new("app").set("prompt", "login").path("default"))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let login = location(&res);
    assert!(
        login.starts_with("/t/default/login?"),
        "prompt=login shows the sign-in page although a session exists: {login}"
    );
    let res = complete_sign_in(&b, &login, "lena").await;
    let code = assert_code_redirect(&app, res, REDIRECT_URI);
    let tokens = redeem(&app, &c, &code).await;
    let id = super::code_flow::jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"], first_sign_in + 100, "the new sign-in time");
}

/// prompt=login must reauthenticate even when the session was signed in within the same second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_forces_sign_in_even_right_after_a_sign_in() {
    let app = TestApp::start().await;
    app.create_user("default", "lena", GOOD_PASSWORD).await;
    register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    b.sign_in("default", "lena", GOOD_PASSWORD).await;
    // OIDC Core 3.1.2.1: prompt=login — the server SHOULD prompt for reauthentication. The
    // clock has not moved since the sign-in: the request must still go to the sign-in page.
    let res = b
        .get(&Authz::new("app").set("prompt", "login").path("default"))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let target = location(&res);
    assert!(
        target.starts_with("/t/default/login?"),
        "prompt=login issued a code without reauthentication: {target}"
    );
}

/// max_age=60 after 120 s forces a new sign-in (login_required with prompt=none); max_age=600 does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_exceeded_forces_a_fresh_sign_in() {
    let app = TestApp::start().await;
    app.create_user("default", "mia", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    b.sign_in("default", "mia", GOOD_PASSWORD).await;
    let first_sign_in = app.clock.unix();
    app.clock.advance(Duration::seconds(120));

    // A sign-in 120 s ago satisfies max_age=600 ...
    let res = b
        .get(&Authz::new("app").set("max_age", "600").path("default"))
        .await;
    let code = assert_code_redirect(&app, res, REDIRECT_URI);
    let id =
        super::code_flow::jwt_payload(redeem(&app, &c, &code).await["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"], first_sign_in);

    // ... but not max_age=60.
    let res = b
        .get(&Authz::new("app").set("max_age", "60").path("default"))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let login = location(&res);
    assert!(login.starts_with("/t/default/login?"), "{login}");
    let res = complete_sign_in(&b, &login, "mia").await;
    let code = assert_code_redirect(&app, res, REDIRECT_URI);
    let id =
        super::code_flow::jwt_payload(redeem(&app, &c, &code).await["id_token"].as_str().unwrap());
    assert_eq!(
        id["auth_time"],
        first_sign_in + 120,
        "auth_time of the new sign-in"
    );

    // max_age=60 with prompt=none and a stale session: login_required, no page.
    app.clock.advance(Duration::seconds(120));
    let res = b
        .get(
            &Authz::new("app")
                .set("max_age", "60")
                .set("prompt", "none")
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "login_required", Some(STATE));
}

/// Consent lists the scopes, is remembered per user+client, and is asked again for new scopes or prompt=consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_asked_remembered_and_asked_again_for_new_scopes_or_prompt_consent() {
    let app = TestApp::start().await;
    app.create_user("default", "nina", GOOD_PASSWORD).await;
    register(&app, "default", "tp", |c| c.settings.first_party = false).await;
    let b = app.browser();
    b.sign_in("default", "nina", GOOD_PASSWORD).await;
    let profile = Authz::new("tp").set("scope", "openid profile");

    // First time: the consent page lists what the client asks for.
    let (page, id, csrf) = consent_page(&b, &profile).await;
    assert!(page.contains("App tp"), "names the client");
    assert!(page.contains("Know who you are"), "lists openid");
    assert!(page.contains("See your name and username"), "lists profile");
    assert!(!page.contains("e-mail"), "lists only what was asked");

    // Allow: the code comes back with the state.
    let res = answer_consent(&b, &id, &csrf, "allow").await;
    assert_code_redirect(&app, res, REDIRECT_URI);
    // The answered request is gone: answering again is refused.
    let res = answer_consent(&b, &id, &csrf, "allow").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(location(&res).is_empty());

    // Remembered: the same scopes, or fewer, go straight through.
    let res = b.get(&profile.path("default")).await;
    assert_code_redirect(&app, res, REDIRECT_URI);
    let res = b
        .get(&Authz::new("tp").set("scope", "openid").path("default"))
        .await;
    assert_code_redirect(&app, res, REDIRECT_URI);
    let res = b
        .get(&profile.clone().set("prompt", "none").path("default"))
        .await;
    assert_code_redirect(&app, res, REDIRECT_URI);

    // A new scope asks again, for everything requested.
    let (page, _, _) =
        consent_page(&b, &Authz::new("tp").set("scope", "openid profile email")).await;
    assert!(page.contains("See your e-mail address"), "{page}");
    let res = b
        .get(
            &Authz::new("tp")
                .set("scope", "openid email")
                .set("prompt", "none")
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "consent_required", Some(STATE));

    // prompt=consent asks again even for granted scopes.
    let (_, id, csrf) = consent_page(&b, &profile.clone().set("prompt", "consent")).await;
    let res = answer_consent(&b, &id, &csrf, "allow").await;
    assert_code_redirect(&app, res, REDIRECT_URI);
}

/// Deny on the consent page redirects access_denied with state; nothing is remembered; forged answers are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_denied_redirects_access_denied_with_state() {
    let app = TestApp::start().await;
    app.create_user("default", "otto", GOOD_PASSWORD).await;
    register(&app, "default", "tp", |c| c.settings.first_party = false).await;
    let b = app.browser();
    b.sign_in("default", "otto", GOOD_PASSWORD).await;
    let req = Authz::new("tp").set("scope", "openid email");

    let (_, id, csrf) = consent_page(&b, &req).await;
    let res = answer_consent(&b, &id, &csrf, "deny").await;
    assert_error_redirect(&app, res, REDIRECT_URI, "access_denied", Some(STATE));

    // A denial is not remembered as a grant, and a forged answer is refused.
    let (_, id, _) = consent_page(&b, &req).await;
    let res = answer_consent(&b, &id, "forged", "allow").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "CSRF-protected");
    assert!(location(&res).is_empty());
    let res = b
        .get(&req.clone().set("prompt", "none").path("default"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "consent_required", Some(STATE));
}

/// response_mode=form_post: a 200 page posting code/state/iss (or the error) to the redirect URI, CSP form-action for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_answers_with_an_auto_posting_form_and_a_matching_csp() {
    let app = TestApp::start().await;
    app.create_user("default", "pia", GOOD_PASSWORD).await;
    register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    b.sign_in("default", "pia", GOOD_PASSWORD).await;
    let state = "form-state.42_~";

    let res = b
        .get(
            &Authz::new("app")
                .set("response_mode", "form_post")
                .set("state", state)
                .path("default"),
        )
        .await;
    let (page, csp) = assert_form_post(res).await;
    assert!(
        csp.contains(&format!("form-action {REDIRECT_URI}")),
        "the CSP lets the form post to the redirect URI: {csp}"
    );
    assert!(!csp.contains('*'), "and nowhere else: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let field = |name: &str| hidden_field(&page, name).map(|v| unescape(&v));
    assert!(field("code").is_some_and(|c| c.len() >= 32), "{page}");
    assert_eq!(field("state").as_deref(), Some(state));
    assert_eq!(field("iss"), Some(issuer(&app)));
    assert!(field("error").is_none());

    // Errors travel the same way once response_mode is known.
    let res = b
        .get(
            &Authz::new("app")
                .set("response_mode", "form_post")
                .set("state", state)
                .set("scope", "openid admin")
                .path("default"),
        )
        .await;
    let (page, _) = assert_form_post(res).await;
    let field = |name: &str| hidden_field(&page, name).map(|v| unescape(&v));
    assert_eq!(field("error").as_deref(), Some("invalid_scope"));
    assert_eq!(field("state").as_deref(), Some(state));
    assert_eq!(field("iss"), Some(issuer(&app)));
    assert!(field("code").is_none());
}

/// Repeated, non-UTF-8 or oversized parameters (GET or POST) get an error page, never a crash or foreign redirect.
#[tokio::test]
async fn duplicate_or_malformed_parameters_get_an_error_page_never_a_crash() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    let valid = Authz::new("app").set("prompt", "none").query();
    for (what, query) in [
        ("two client_id", format!("{valid}&client_id=evil")),
        (
            "two redirect_uri",
            format!("{valid}&redirect_uri=https%3A%2F%2Fevil.example%2F"),
        ),
        ("invalid UTF-8", format!("{valid}&nonce=%FF%FE")),
        (
            "a value over 8192 bytes",
            format!("{valid}&nonce={}", "n".repeat(9000)),
        ),
    ] {
        let res = b.get(&format!("/t/default/authorize?{query}")).await;
        assert_error_page(res, what).await;
    }
    // A repeated state with a trusted client and redirect URI goes back to the client as
    // invalid_request, without a state (which one would it be?).
    let res = b
        .get(&format!("/t/default/authorize?{valid}&state=again"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", None);
    // A repeated scope with a unique client_id and redirect_uri: whatever the answer, it is a
    // page or a redirect to the registered URI only, never a crash.
    let res = b
        .get(&format!("/t/default/authorize?{valid}&scope=profile"))
        .await;
    match res.status() {
        StatusCode::BAD_REQUEST => assert!(location(&res).is_empty()),
        StatusCode::SEE_OTHER => {
            assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));
        }
        other => panic!("repeated scope: unexpected {other}"),
    }

    // POST works like GET (OIDC Core 3.1.2.1) and is as strict about its body.
    let res = b
        .client
        .post(app.url("/t/default/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_error_redirect(&app, res, REDIRECT_URI, "login_required", Some(STATE));
    let res = b
        .client
        .post(app.url("/t/default/authorize"))
        .header("content-type", "application/json")
        .body("{\"client_id\":\"app\"}")
        .send()
        .await
        .unwrap();
    assert_error_page(res, "JSON body").await;
    let res = b
        .client
        .post(app.url("/t/default/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{valid}&scope=openid"))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == StatusCode::BAD_REQUEST || res.status() == StatusCode::SEE_OTHER,
        "repeated parameter in a POST body"
    );
    assert_no_500(&app).await;
}

/// A repeated scope with a unique, valid client_id and redirect_uri is invalid_request at the redirect URI.
#[tokio::test]
async fn a_repeated_scope_with_a_trusted_client_is_reported_to_the_client() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let valid = Authz::new("app").query();
    // RFC 6749 4.1.2.1: only a missing/invalid client_id or redirect_uri prevents the redirect;
    // "includes a parameter more than once" is an `invalid_request` sent to the client.
    let res = app
        .browser()
        .get(&format!("/t/default/authorize?{valid}&scope=profile"))
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));
}

/// An id_token_hint naming another user than the signed-in one requires sign-in (login_required with prompt=none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_another_user_requires_sign_in() {
    let app = TestApp::start().await;
    let hana = sign_in(&app, "hana", "app", &[], |_| {}).await;
    let hana_hint = hana.tokens.id_token().unwrap().to_string();
    app.create_user("default", "ivan", GOOD_PASSWORD).await;
    let b = app.browser();
    let ivan = code_flow(&hana.client, &b, "ivan", &[]).await.0;
    let ivan_hint = ivan.id_token().unwrap().to_string();

    // Ivan's browser, Hana's hint: no silent answer, and otherwise the sign-in page.
    let res = b
        .get(
            &Authz::new("app")
                .set("prompt", "none")
                .set("id_token_hint", &hana_hint)
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "login_required", Some(STATE));
    let res = b
        .get(
            &Authz::new("app")
                .set("id_token_hint", &hana_hint)
                .path("default"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/t/default/login?"),
        "{}",
        location(&res)
    );

    // His own hint is fine.
    let res = b
        .get(
            &Authz::new("app")
                .set("prompt", "none")
                .set("id_token_hint", &ivan_hint)
                .path("default"),
        )
        .await;
    assert_code_redirect(&app, res, REDIRECT_URI);
}

/// id_token_hint issued to another client, forged, or an access token: invalid_request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hints_must_be_ours_and_for_this_client() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "jan", "app", &[], |_| {}).await;
    let hint = s.tokens.id_token().unwrap().to_string();
    register(&app, "default", "other", |_| {}).await;

    // Issued to another client.
    let res = s
        .browser
        .get(
            &Authz::new("other")
                .set("prompt", "none")
                .set("id_token_hint", &hint)
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));

    // Payload changed, signature kept.
    let mut parts: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut claims = super::code_flow::jwt_payload(&hint);
    claims["sub"] = "someone-else".into();
    parts[1] = b64(&serde_json::to_vec(&claims).unwrap());
    let res = s
        .browser
        .get(
            &Authz::new("app")
                .set("prompt", "none")
                .set("id_token_hint", &parts.join("."))
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));

    // The access token is not an ID token.
    let res = s
        .browser
        .get(
            &Authz::new("app")
                .set("prompt", "none")
                .set(
                    "id_token_hint",
                    openidconnect::OAuth2TokenResponse::access_token(&s.tokens).secret(),
                )
                .path("default"),
        )
        .await;
    assert_error_redirect(&app, res, REDIRECT_URI, "invalid_request", Some(STATE));
}

/// `login_hint` pre-fills the identifier field of the sign-in page the request is sent to
/// (escaped like any other value); without it the field is empty.
#[tokio::test]
async fn login_hint_prefills_the_sign_in_page() {
    let app = TestApp::start().await;
    register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    let identifier_on = |hint: Option<&str>| {
        let b = &b;
        let path = match hint {
            Some(h) => Authz::new("app").set("login_hint", h).path("default"),
            None => Authz::new("app").path("default"),
        };
        async move {
            let res = b.get(&path).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let login = location(&res);
            assert!(login.starts_with("/t/default/login?"), "{login}");
            let page = b.get(&login).await.text().await.unwrap();
            let field = page
                .split("<input ")
                .find(|tag| tag.contains("name=\"identifier\""))
                .expect("the sign-in form has an identifier field")
                .split('>')
                .next()
                .unwrap()
                .to_owned();
            (field, page)
        }
    };
    let (field, _) = identifier_on(Some("someone@example.test")).await;
    assert!(
        field.contains("value=\"someone@example.test\""),
        "pre-filled: {field}"
    );
    let (field, _) = identifier_on(None).await;
    assert!(
        field.contains("value=\"\""),
        "empty without a hint: {field}"
    );
    let (field, page) = identifier_on(Some("x\"><script>alert(1)</script>")).await;
    assert!(
        !page.contains("<script>alert(1)") && field.contains("value=\"x&"),
        "the hint is escaped: {field}"
    );
}

// ---- helpers ----

/// RFC 7636 appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A state with characters that need encoding, to check it comes back byte for byte.
const STATE: &str = "st ate/é&x=1+%2F~";

fn issuer(app: &TestApp) -> String {
    format!("{}/t/default", app.base)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An authorization request under construction: valid (code, PKCE S256, state, nonce) unless
/// changed.
#[derive(Clone)]
struct Authz(Vec<(String, String)>);

impl Authz {
    fn new(client_id: &str) -> Self {
        Self(
            [
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid"),
                ("state", STATE),
                ("nonce", "n-0S6_WzA2Mj"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
    }

    fn set(mut self, name: &str, value: &str) -> Self {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(pair) => pair.1 = value.to_owned(),
            None => self.0.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }

    fn query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.0)
            .finish()
    }

    fn path(&self, tenant: &str) -> String {
        format!("/t/{tenant}/authorize?{}", self.query())
    }
}

/// An error page: 400, HTML, and no redirect at all.
async fn assert_error_page(res: Response, what: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(
        res.headers().get("location").is_none(),
        "{what}: never a redirect, got {}",
        location(&res)
    );
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{what}: {ct}");
    let page = res.text().await.unwrap();
    assert!(page.contains("Invalid sign-in request"), "{what}: {page}");
}

/// A 303 to `redirect_uri` carrying `error`, an `error_description`, `iss` and exactly
/// `state` (or none). Returns the URL the browser is sent to.
#[track_caller]
fn assert_error_redirect(
    app: &TestApp,
    res: Response,
    redirect_uri: &str,
    error: &str,
    state: Option<&str>,
) -> url::Url {
    let target = location(&res);
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expected {error} at the client, got {} {target}",
        res.status()
    );
    assert!(
        target.starts_with(&format!("{redirect_uri}?")),
        "back to {redirect_uri}: {target}"
    );
    let back = url::Url::parse(&target).unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some(error), "{target}");
    assert!(
        param(&back, "error_description").is_some_and(|d| !d.is_empty()),
        "{target}"
    );
    assert_eq!(
        param(&back, "state").as_deref(),
        state,
        "state untouched: {target}"
    );
    assert_eq!(
        param(&back, "iss"),
        Some(issuer(app)),
        "RFC 9207 iss: {target}"
    );
    back
}

/// A 303 to `redirect_uri` with a code, the request's state and `iss`. Returns the code.
#[track_caller]
fn assert_code_redirect(app: &TestApp, res: Response, redirect_uri: &str) -> String {
    let target = location(&res);
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{target}");
    assert!(target.starts_with(&format!("{redirect_uri}?")), "{target}");
    let back = url::Url::parse(&target).unwrap();
    assert!(param(&back, "error").is_none(), "{target}");
    assert_eq!(param(&back, "state").as_deref(), Some(STATE), "{target}");
    assert_eq!(param(&back, "iss"), Some(issuer(app)));
    param(&back, "code").expect("a code")
}

/// A form_post answer: 200 HTML with a form posting to the redirect URI. Returns the page and
/// its Content-Security-Policy.
async fn assert_form_post(res: Response) -> (String, String) {
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("method=\"post\" action=\"{REDIRECT_URI}\"")),
        "{page}"
    );
    (page, csp)
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Starts `req` in a signed-in browser and expects the consent page. Returns the page, the
/// pending request id and the CSRF token.
async fn consent_page(b: &Browser, req: &Authz) -> (String, String, String) {
    let res = b.get(&req.path("default")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let target = location(&res);
    assert!(
        target.starts_with("/t/default/authorize/consent?id="),
        "the consent page: {target}"
    );
    let res = b.get(&target).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let id = hidden_field(&page, "id").unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    (page, id, csrf)
}

async fn answer_consent(b: &Browser, id: &str, csrf: &str, decision: &str) -> Response {
    b.post_form(
        "/t/default/authorize/consent",
        &[("csrf_token", csrf), ("id", id), ("decision", decision)],
    )
    .await
}

/// From a redirect to the sign-in page, signs in as `user` and follows the way back to the
/// authorization endpoint; returns its answer.
async fn complete_sign_in(b: &Browser, login: &str, user: &str) -> Response {
    let page = b.get(login).await.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let return_to = hidden_field(&page, "return_to")
        .unwrap()
        .replace("&amp;", "&");
    assert!(return_to.starts_with("/t/default/authorize/continue?id="));
    let res = b
        .post_form(
            "/t/default/login",
            &[
                ("csrf_token", &csrf),
                ("identifier", user),
                ("password", GOOD_PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
    b.get(&location(&res)).await
}

/// Redeems a code issued for the standard request (RFC 7636 verifier).
async fn redeem(app: &TestApp, c: &Registered, code: &str) -> serde_json::Value {
    let secret = c.secret.clone().unwrap();
    let (status, body) = post(
        app,
        "/t/default/token",
        Some((&c.client_id, &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// No request of this test ended in a 500.
async fn assert_no_500(app: &TestApp) {
    let metrics = app.browser().get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("watchword_http_request_duration_seconds_count{"),
        "requests are counted by status: {metrics}"
    );
    assert!(
        !metrics.contains("status=\"500\""),
        "no request ended in a 500:\n{metrics}"
    );
}
