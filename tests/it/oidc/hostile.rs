//! Hostile and malformed requests at the token, introspection, revocation, userinfo and
//! end-session endpoints: code replay and binding, client authentication, request shape, forged
//! and foreign JWTs. Each asserts the RFC status and error code, and that nothing ends in a 500.

use chrono::Duration;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;
use watchword::crypto::jws;
use watchword::domain::audit::Actor;
use watchword::domain::client::{ClientAuthMethod, ClientKind, GrantType};
use watchword::domain::keys::SigningAlg;

use super::code_flow::jwt_payload;
use super::flow::{code_flow, post, sign_in};
use crate::common::oidc::{
    REDIRECT_URI, Registered, authorize, discover, param, plain_client, register, rp,
};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, test_redis_url};

// ---- authorization codes ----

/// A second redemption is invalid_grant and revokes the first redemption's access and refresh tokens (RFC 6749 4.1.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_fails_and_revokes_what_the_first_redemption_issued() {
    let app = TestApp::start().await;
    app.create_user("default", "ada", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = app.browser();
    let code = get_code(&app, &b, &c, "ada", true).await;

    let (status, first) = redeem(&app, &c, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{first}");
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &c, at).await["active"], true);

    let (status, body) = redeem(&app, &c, &code, Some(VERIFIER)).await;
    assert_error(status, &body, 400, "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    assert_eq!(
        introspect(&app, &c, at).await["active"],
        false,
        "the first access token is revoked"
    );
    assert_eq!(introspect(&app, &c, rt).await["active"], false);
    let (status, body) = refresh(&app, &c, rt).await;
    assert_error(status, &body, 400, "invalid_grant");
    let audit = app.audit("default").await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "token_reuse_detected" && e.outcome == "authorization_code"),
        "the replay is audited"
    );
}

/// A code is good at 59 s and invalid_grant at 61 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_expire_after_60_seconds() {
    let app = TestApp::start().await;
    app.create_user("default", "bo", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = app.browser();

    let code = get_code(&app, &b, &c, "bo", true).await;
    app.clock.advance(Duration::seconds(59));
    let (status, body) = redeem(&app, &c, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "a 59-second-old code is still good: {body}");

    // Codes live in the session store with a TTL. The in-process store reads the injected clock;
    // Redis expires keys on its own (real) clock, which the test cannot move, so the expiry is
    // only observable without Redis (the Redis TTL itself is set from the same CODE_TTL).
    if test_redis_url().is_some() {
        eprintln!(
            "codes_expire_after_60_seconds: Redis expires keys in real time; expiry not asserted"
        );
        return;
    }
    let code = get_code(&app, &b, &c, "bo", true).await;
    app.clock.advance(Duration::seconds(61));
    let (status, body) = redeem(&app, &c, &code, Some(VERIFIER)).await;
    assert_error(status, &body, 400, "invalid_grant");
}

/// A wrong, malformed, plain or missing code_verifier is invalid_grant, and the attempt uses the code up (RFC 7636 4.6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pkce_verifier_must_be_present_and_match() {
    let app = TestApp::start().await;
    app.create_user("default", "cy", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = app.browser();

    let wrong = "x".repeat(43);
    let malformed = format!("{}!", &VERIFIER[..42]);
    let too_long = "a".repeat(129);
    for verifier in [
        Some(wrong.as_str()),
        Some(malformed.as_str()),
        Some(too_long.as_str()),
        // The challenge itself, as a `plain` verifier would be.
        Some(CHALLENGE),
        None,
    ] {
        let code = get_code(&app, &b, &c, "cy", true).await;
        let (status, body) = redeem(&app, &c, &code, verifier).await;
        assert_error(status, &body, 400, "invalid_grant");
        // A failed attempt uses the code up: the right verifier no longer helps.
        let (status, body) = redeem(&app, &c, &code, Some(VERIFIER)).await;
        assert_error(status, &body, 400, "invalid_grant");
    }
}

/// A code issued without a challenge is invalid_grant when redeemed with a code_verifier (RFC 9700 2.1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_without_pkce_cannot_be_redeemed_with_a_verifier() {
    let app = TestApp::start().await;
    app.create_user("default", "di", GOOD_PASSWORD).await;
    let c = register(&app, "default", "legacy", |c| {
        c.settings.require_pkce = false
    })
    .await;
    let b = app.browser();

    let code = get_code(&app, &b, &c, "di", false).await;
    let (status, body) = redeem(&app, &c, &code, Some(VERIFIER)).await;
    assert_error(status, &body, 400, "invalid_grant");

    let code = get_code(&app, &b, &c, "di", false).await;
    let (status, body) = redeem(&app, &c, &code, None).await;
    assert_eq!(status, 200, "without a verifier it works: {body}");
}

/// A different or missing redirect_uri at the token endpoint is invalid_grant (RFC 6749 4.1.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_uri_must_be_repeated_exactly_at_the_token_endpoint() {
    let app = TestApp::start().await;
    app.create_user("default", "ed", GOOD_PASSWORD).await;
    let c = register(&app, "default", "app", |c| {
        c.settings
            .redirect_uris
            .push("https://app.example/other".into());
    })
    .await;
    let b = app.browser();
    let secret = c.secret.clone().unwrap();
    for redirect_uri in [
        Some("https://app.example/other"),
        Some("https://app.example/callback/"),
        Some("https://evil.example/callback"),
        None,
    ] {
        let code = get_code(&app, &b, &c, "ed", true).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", VERIFIER),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        let (status, body) = post(&app, "/t/default/token", Some(("app", &secret)), &form).await;
        assert_error(status, &body, 400, "invalid_grant");
    }
}

/// A code issued to client A and redeemed by client B is invalid_grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_cannot_be_redeemed_by_another_client() {
    let app = TestApp::start().await;
    app.create_user("default", "flo", GOOD_PASSWORD).await;
    let a = register(&app, "default", "a", |_| {}).await;
    let thief = register(&app, "default", "b", |_| {}).await;
    let b = app.browser();
    let code = get_code(&app, &b, &a, "flo", true).await;
    let (status, body) = redeem(&app, &thief, &code, Some(VERIFIER)).await;
    assert_error(status, &body, 400, "invalid_grant");
    assert!(body.get("access_token").is_none());
}

/// Client B presenting client A's already-used code is invalid_grant and revokes nothing: only
/// a replay by the client the code was issued to revokes what its first redemption issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_replay_of_a_used_code_revokes_nothing() {
    let app = TestApp::start().await;
    app.create_user("default", "gus", GOOD_PASSWORD).await;
    let a = register(&app, "default", "a", |_| {}).await;
    let thief = register(&app, "default", "b", |_| {}).await;
    let b = app.browser();
    let code = get_code(&app, &b, &a, "gus", true).await;
    let (status, first) = redeem(&app, &a, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{first}");
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"].as_str().unwrap();

    let (status, body) = redeem(&app, &thief, &code, Some(VERIFIER)).await;
    assert_error(status, &body, 400, "invalid_grant");
    assert!(body.get("access_token").is_none());

    assert_eq!(
        introspect(&app, &a, at).await["active"],
        true,
        "A's access token still works"
    );
    let (status, body) = refresh(&app, &a, rt).await;
    assert_eq!(status, 200, "A's refresh token still works: {body}");
    assert!(
        !app.audit("default")
            .await
            .iter()
            .any(|e| e.action == "token_reuse_detected"),
        "no reuse was detected for A's grant"
    );
}

// ---- client authentication ----

/// Missing, wrong, unknown or malformed client credentials at token/introspect/revoke: 401 invalid_client + WWW-Authenticate.
#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client_with_a_challenge() {
    let app = TestApp::start().await;
    // Many failures in a row from one address: keep the throttle out of the way here (it has
    // its own tests in signin::bruteforce).
    crate::sessions::set_throttle_policy(&app, "default", |t| t.free_failures = 100).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let secret = c.secret.clone().unwrap();
    let grant = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    for path in [
        "/t/default/token",
        "/t/default/introspect",
        "/t/default/revoke",
    ] {
        let cases: Vec<(&str, Auth, Form)> = vec![
            ("no credentials at all", Auth::None, vec![]),
            ("client_id only", Auth::None, vec![("client_id", "app")]),
            ("wrong secret", Auth::Basic("app", "wrong"), vec![]),
            ("empty secret", Auth::Basic("app", ""), vec![]),
            ("unknown client", Auth::Basic("ghost", &secret), vec![]),
            (
                "unknown client via post",
                Auth::None,
                vec![("client_id", "ghost"), ("client_secret", "x")],
            ),
            (
                "secret without client_id",
                Auth::None,
                vec![("client_secret", secret.as_str())],
            ),
            ("not base64", Auth::Raw("Basic !!!not-base64!!!"), vec![]),
            ("no colon", Auth::Raw("Basic YXBw"), vec![]),
            (
                "wrong secret, right prefix",
                Auth::Basic("app", &secret[..secret.len() - 1]),
                vec![],
            ),
        ];
        for (what, auth, extra) in cases {
            let mut form: Vec<(&str, &str)> = grant.to_vec();
            form.push(("token", "x"));
            form.extend(extra);
            let res = send(&app, path, &auth, &form).await;
            assert_eq!(res.status, 401, "{path} {what}: {}", res.body);
            assert_eq!(res.body["error"], "invalid_client", "{path} {what}");
            assert!(
                res.www_authenticate.starts_with("Basic realm="),
                "{path} {what}: WWW-Authenticate {:?}",
                res.www_authenticate
            );
            assert_eq!(res.cache_control, "no-store", "{path} {what}");
        }
    }
    // The same client with its real secret gets past authentication.
    let res = send(
        &app,
        "/t/default/token",
        &Auth::Basic("app", &secret),
        &grant,
    )
    .await;
    assert_error(res.status, &res.body, 400, "invalid_grant");
    assert_no_500(&app).await;
}

/// Two auth methods at once are invalid_request; a method other than the registered one (or a public client's secret) is 401.
#[tokio::test]
async fn mixed_or_unregistered_client_auth_methods_are_refused() {
    let app = TestApp::start().await;
    let basic = register(&app, "default", "basic", |_| {}).await;
    let posting = register(&app, "default", "posting", |c| {
        c.auth_method = Some(ClientAuthMethod::ClientSecretPost)
    })
    .await;
    register(&app, "default", "spa", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = Some(ClientAuthMethod::None);
    })
    .await;
    let basic_secret = basic.secret.unwrap();
    let post_secret = posting.secret.unwrap();
    let grant = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f = grant.to_vec();
        f.extend_from_slice(extra);
        f
    };

    // Two methods at once (RFC 6749 2.3: MUST NOT use more than one).
    let mut form = grant.to_vec();
    form.extend([
        ("client_id", "basic"),
        ("client_secret", basic_secret.as_str()),
    ]);
    let res = send(
        &app,
        "/t/default/token",
        &Auth::Basic("basic", &basic_secret),
        &form,
    )
    .await;
    assert_error(res.status, &res.body, 400, "invalid_request");

    // Basic credentials plus a different client_id in the body.
    let res = send(
        &app,
        "/t/default/token",
        &Auth::Basic("basic", &basic_secret),
        &with(&[("client_id", "posting")]),
    )
    .await;
    assert_error(res.status, &res.body, 400, "invalid_request");

    // A client_secret_basic client using client_secret_post.
    let mut form = grant.to_vec();
    form.extend([
        ("client_id", "basic"),
        ("client_secret", basic_secret.as_str()),
    ]);
    let res = send(&app, "/t/default/token", &Auth::None, &form).await;
    assert_error(res.status, &res.body, 401, "invalid_client");

    // A client_secret_post client using Basic, then correctly.
    let res = send(
        &app,
        "/t/default/token",
        &Auth::Basic("posting", &post_secret),
        &grant,
    )
    .await;
    assert_error(res.status, &res.body, 401, "invalid_client");
    let mut form = grant.to_vec();
    form.extend([
        ("client_id", "posting"),
        ("client_secret", post_secret.as_str()),
    ]);
    let res = send(&app, "/t/default/token", &Auth::None, &form).await;
    assert_error(res.status, &res.body, 400, "invalid_grant");

    // A public client presenting a secret, either way.
    let res = send(
        &app,
        "/t/default/token",
        &Auth::Basic("spa", "made-up"),
        &grant,
    )
    .await;
    assert_error(res.status, &res.body, 401, "invalid_client");
    let res = send(
        &app,
        "/t/default/token",
        &Auth::None,
        &with(&[("client_id", "spa"), ("client_secret", "made-up")]),
    )
    .await;
    assert_error(res.status, &res.body, 401, "invalid_client");
    // ... and without one it is identified (the grant itself then fails).
    let res = send(
        &app,
        "/t/default/token",
        &Auth::None,
        &with(&[("client_id", "spa")]),
    )
    .await;
    assert_error(res.status, &res.body, 400, "invalid_grant");
    assert_no_500(&app).await;
}

// ---- request shape ----

/// Wrong content type, repeated, oversized, non-UTF-8 or empty bodies at /token: 400 invalid_request, never a 500.
#[tokio::test]
async fn malformed_token_requests_are_invalid_request_never_500() {
    let app = TestApp::start().await;
    let c = register(&app, "default", "app", |c| {
        c.settings.grant_types.push(GrantType::ClientCredentials);
        c.settings.scopes.push("api".into());
    })
    .await;
    let secret = c.secret.clone().unwrap();
    let h = plain_client();
    let raw = |ct: Option<&str>, body: Vec<u8>| {
        let mut req = h
            .post(app.url("/t/default/token"))
            .basic_auth("app", Some(&secret))
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let form = "application/x-www-form-urlencoded";

    // Control: the well-formed request works, with a charset parameter too.
    let res = raw(
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        b"grant_type=client_credentials&scope=api".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);

    let big_value = format!("grant_type=client_credentials&scope={}", "a".repeat(9000));
    let huge_body = format!(
        "grant_type=client_credentials&scope=api&pad={}",
        "p".repeat(8000)
    )
    .repeat(10);
    let mut raw_invalid = b"grant_type=client_credentials&scope=".to_vec();
    raw_invalid.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "JSON body",
            Some("application/json"),
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        (
            "form body labelled JSON",
            Some("application/json"),
            b"grant_type=client_credentials".to_vec(),
        ),
        ("text/plain", Some("text/plain"), b"grant_type=client_credentials".to_vec()),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n".to_vec(),
        ),
        ("no Content-Type", None, b"grant_type=client_credentials".to_vec()),
        (
            "grant_type twice",
            Some(form),
            b"grant_type=client_credentials&grant_type=authorization_code".to_vec(),
        ),
        (
            "scope twice, once percent-encoded",
            Some(form),
            b"grant_type=client_credentials&scope=api&sc%6Fpe=api".to_vec(),
        ),
        ("a value over 8192 bytes", Some(form), big_value.into_bytes()),
        ("a body over max_body_bytes", Some(form), huge_body.into_bytes()),
        (
            "percent-encoded invalid UTF-8",
            Some(form),
            b"grant_type=client_credentials&scope=%FF%FE".to_vec(),
        ),
        ("raw invalid UTF-8", Some(form), raw_invalid),
        ("an empty body", Some(form), Vec::new()),
        ("garbage", Some(form), b"%%%&&&===".to_vec()),
        ("a NUL in the name", Some(form), b"grant%00_type=client_credentials".to_vec()),
    ];
    for (what, ct, body) in cases {
        let res = raw(ct, body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = res.status().as_u16();
        let cache = res
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_error(status, &body, 400, "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{what}: a useful description: {body}"
        );
        assert_eq!(cache.as_deref(), Some("no-store"), "{what}");
    }
    assert_no_500(&app).await;
}

/// A 64 KiB body of thousands of distinct names (quadratic to check for repeats before issue 9)
/// is refused by count at every pre-authentication form parser, pages included; 100 is accepted.
#[tokio::test]
async fn bodies_with_too_many_parameters_are_refused_before_anything_else() {
    let app = TestApp::start().await;
    let c = register(&app, "default", "app", |c| {
        c.settings.grant_types.push(GrantType::ClientCredentials);
        c.settings.scopes.push("api".into());
    })
    .await;
    let secret = c.secret.clone().unwrap();
    let h = plain_client();
    let hostile: String = (0..9362)
        .map(|i| format!("{i:05}"))
        .collect::<Vec<_>>()
        .join("&");
    assert!(hostile.len() <= 64 * 1024);
    let just_over: String = std::iter::once("grant_type=client_credentials".to_owned())
        .chain((1..=100).map(|i| format!("x{i}=1")))
        .collect::<Vec<_>>()
        .join("&");
    for path in [
        "/t/default/token",
        "/t/default/introspect",
        "/t/default/revoke",
    ] {
        for body in [&hostile, &just_over] {
            let res = h
                .post(app.url(path))
                .basic_auth("app", Some(&secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_error(status, &body, 400, "invalid_request");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("at most 100 parameters")),
                "{path}: {body}"
            );
        }
    }
    // Exactly 100 parameters is still an ordinary request (unknown ones are ignored).
    let at_cap: String = [
        "grant_type=client_credentials".to_owned(),
        "scope=api".into(),
    ]
    .into_iter()
    .chain((1..=98).map(|i| format!("x{i}=1")))
    .collect::<Vec<_>>()
    .join("&");
    let res = h
        .post(app.url("/t/default/token"))
        .basic_auth("app", Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(at_cap)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The hosted sign-in form refuses it with a readable page.
    let res = h
        .post(app.url("/t/default/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(hostile)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("too many fields"));
    assert_no_500(&app).await;
}

/// password, implicit and other unknown grant types are unsupported_grant_type; a missing one is invalid_request.
#[tokio::test]
async fn unsupported_grant_types_are_refused() {
    let app = TestApp::start().await;
    let c = register(&app, "default", "app", |_| {}).await;
    let secret = c.secret.clone().unwrap();
    for grant in [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "AUTHORIZATION_CODE",
        "client_credentials ",
    ] {
        let (status, body) = post(
            &app,
            "/t/default/token",
            Some(("app", &secret)),
            &[
                ("grant_type", grant),
                ("username", "admin"),
                ("password", "hunter2"),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_grant_type")),
            "{grant}: {body}"
        );
    }
    let (status, body) = post(
        &app,
        "/t/default/token",
        Some(("app", &secret)),
        &[("code", "x")],
    )
    .await;
    assert_error(status, &body, 400, "invalid_request");
    assert_no_500(&app).await;
}

/// Methods a protocol endpoint does not support get 405 with an Allow header (RFC 9110 15.5.6).
#[tokio::test]
async fn other_methods_on_back_channel_endpoints_are_405() {
    let app = TestApp::start().await;
    let h = plain_client();
    let mut wrong = Vec::new();
    for (path, method) in [
        ("/t/default/token", reqwest::Method::GET),
        ("/t/default/token", reqwest::Method::PUT),
        ("/t/default/introspect", reqwest::Method::GET),
        ("/t/default/revoke", reqwest::Method::GET),
        ("/t/default/userinfo", reqwest::Method::DELETE),
        ("/t/default/authorize", reqwest::Method::PUT),
    ] {
        let res = h
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        // RFC 9110 15.5.6: 405 for a method the resource does not support, with an Allow
        // header listing the ones it does.
        if res.status() != StatusCode::METHOD_NOT_ALLOWED || res.headers().get("allow").is_none() {
            wrong.push(format!(
                "{method} {path} -> {} (Allow: {:?})",
                res.status(),
                res.headers().get("allow")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// GET on /token, /introspect, /revoke is a client error page, never a 500.
#[tokio::test]
async fn other_methods_on_back_channel_endpoints_are_refused_without_a_500() {
    let app = TestApp::start().await;
    let h = plain_client();
    for path in [
        "/t/default/token",
        "/t/default/introspect",
        "/t/default/revoke",
    ] {
        let res = h.get(app.url(path)).send().await.unwrap();
        assert!(
            res.status().is_client_error(),
            "GET {path}: {}",
            res.status()
        );
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "an error page"
        );
    }
    let res = h.get(app.url("/t/default/userinfo")).send().await.unwrap();
    assert_eq!(res.status(), 401, "GET is fine on userinfo");
    let res = h
        .delete(app.url("/t/default/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_no_500(&app).await;
}

// ---- JWTs presented back to us ----

/// Another tenant's access, refresh and machine tokens are rejected here and cannot be revoked from here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_another_tenant_are_rejected() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "gil", "app", &["offline_access"], |_| {}).await;
    let mine = s.registered;

    // Another tenant with a client of the same id and a user of the same name.
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    app.create_user("other", "gil", GOOD_PASSWORD).await;
    let theirs = register(&app, "other", "app", |c| {
        c.settings.grant_types.push(GrantType::ClientCredentials);
        c.settings.scopes.push("api".into());
    })
    .await;
    let client = rp(&discover(&app, "other").await, &theirs);
    let foreign = code_flow(&client, &app.browser(), "gil", &["offline_access"])
        .await
        .0;
    let foreign_at = foreign.access_token().secret().clone();
    let foreign_rt = foreign.refresh_token().unwrap().secret().clone();
    let theirs_secret = theirs.secret.clone().unwrap();
    let (status, body) = post(
        &app,
        "/t/other/token",
        Some(("app", &theirs_secret)),
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let foreign_machine = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        userinfo_at(&app, "other", &foreign_at).await.0,
        200,
        "valid at home"
    );

    // At this tenant: userinfo 401, introspection inactive, refresh and revocation ineffective.
    let (status, challenge) = userinfo_at(&app, "default", &foreign_at).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    for token in [&foreign_at, &foreign_rt, &foreign_machine] {
        assert_eq!(
            introspect(&app, &mine, token).await,
            serde_json::json!({ "active": false })
        );
    }
    let (status, body) = refresh(&app, &mine, &foreign_rt).await;
    assert_error(status, &body, 400, "invalid_grant");
    let secret = mine.secret.clone().unwrap();
    let (status, _) = post(
        &app,
        "/t/default/revoke",
        Some(("app", &secret)),
        &[("token", &foreign_rt)],
    )
    .await;
    assert_eq!(status, 200, "unknown here: answered like any unknown token");
    let (status, body) = post(
        &app,
        "/t/other/introspect",
        Some(("app", &theirs_secret)),
        &[("token", &foreign_rt)],
    )
    .await;
    assert_eq!(
        (status, &body["active"]),
        (200, &Value::Bool(true)),
        "not revoked from outside"
    );
}

/// After its 300 s lifetime an access token gets userinfo 401 invalid_token and introspects inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_access_tokens_are_rejected() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "hal", "app", &[], |_| {}).await;
    let at = s.tokens.access_token().secret().clone();
    app.clock.advance(Duration::seconds(290));
    assert_eq!(
        userinfo_at(&app, "default", &at).await.0,
        200,
        "valid for 300 s"
    );
    app.clock.advance(Duration::seconds(11));
    let (status, challenge) = userinfo_at(&app, "default", &at).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(introspect(&app, &s.registered, &at).await["active"], false);
}

/// Forged payloads, alg none, our own key under a published kid, HS256 keyed with a public key: all rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_foreign_key_jwts_are_rejected() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ian", "app", &[], |_| {}).await;
    let at = s.tokens.access_token().secret().clone();
    assert_eq!(
        userinfo_at(&app, "default", &at).await.0,
        200,
        "the real one works"
    );
    let header: Value = decode_part(&at, 0);
    let claims: Value = jwt_payload(&at);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = at.split('.').collect();

    // 1. Payload changed (another subject, more scope), signature kept.
    let mut forged_claims = claims.clone();
    forged_claims["scope"] = "openid profile email admin".into();
    forged_claims["sub"] = "00000000-0000-0000-0000-000000000000".into();
    let forged = format!("{}.{}.{}", parts[0], enc(&forged_claims), parts[2]);

    // 2. alg "none", no signature (with and without the trailing dot).
    let none_header = serde_json::json!({ "alg": "none", "typ": "at+jwt", "kid": kid });
    let unsigned = format!("{}.{}.", enc(&none_header), enc(&claims));
    let unsigned_no_dot = format!("{}.{}", enc(&none_header), enc(&claims));
    let none_upper = format!(
        "{}.{}.",
        enc(&serde_json::json!({ "alg": "None", "typ": "at+jwt", "kid": kid })),
        enc(&claims)
    );

    // 3. Our own key, a published kid.
    let alg = SigningAlg::parse(header["alg"].as_str().unwrap()).unwrap();
    let generated = jws::generate(alg, &kid).unwrap();
    let key = jws::SigningKey::load(alg, &generated.pkcs8).unwrap();
    let own_key = jws::sign(&key, alg, &kid, "at+jwt", &claims);

    // 4. HS256 keyed with the published public key (algorithm confusion), for every key.
    let jwks: Value = plain_client()
        .get(app.url("/t/default/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut confused = Vec::new();
    for jwk in jwks["keys"].as_array().unwrap() {
        let jwk_kid = jwk["kid"].as_str().unwrap();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(jwk_kid.to_owned());
        h.typ = Some("at+jwt".into());
        for secret in [
            jwk.to_string().into_bytes(),
            jwk["n"]
                .as_str()
                .or(jwk["x"].as_str())
                .unwrap()
                .as_bytes()
                .to_vec(),
        ] {
            confused.push(
                jsonwebtoken::encode(
                    &h,
                    &claims,
                    &jsonwebtoken::EncodingKey::from_secret(&secret),
                )
                .unwrap(),
            );
        }
    }

    // 5. Truncated signature and a kid nobody published.
    let truncated = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() / 2]
    );
    let mut other_kid_header = header.clone();
    other_kid_header["kid"] = "no-such-key".into();
    let unknown_kid = format!("{}.{}.{}", enc(&other_kid_header), parts[1], parts[2]);

    let mut tokens = vec![
        ("forged payload", forged),
        ("alg none", unsigned),
        ("alg none without the last dot", unsigned_no_dot),
        ("alg None", none_upper),
        ("our own key with a known kid", own_key),
        ("truncated signature", truncated),
        ("unknown kid", unknown_kid),
        ("not a JWT", "abc".into()),
        ("four parts", format!("{at}.x")),
    ];
    tokens.extend(
        confused
            .into_iter()
            .map(|t| ("HS256 with the public key", t)),
    );
    for (what, token) in tokens {
        let (status, challenge) = userinfo_at(&app, "default", &token).await;
        assert_eq!(status, 401, "userinfo, {what}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert_eq!(
            introspect(&app, &s.registered, &token).await,
            serde_json::json!({ "active": false }),
            "introspection, {what}"
        );
    }
    assert_no_500(&app).await;
}

/// An ID token presented as a Bearer token is rejected (typ at+jwt is required, RFC 9068 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_is_not_an_access_token() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "jo", "app", &[], |_| {}).await;
    let id_token = s.tokens.id_token().unwrap().to_string();
    let (status, challenge) = userinfo_at(&app, "default", &id_token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(
        introspect(&app, &s.registered, &id_token).await["active"],
        false
    );
}

/// userinfo: bare Bearer challenge without a token, 403 insufficient_scope without openid, 400 for two token locations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_challenges_follow_rfc_6750() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "kim", "app", &[], |c| {
        c.settings.grant_types.push(GrantType::ClientCredentials);
        c.settings.scopes.push("api".into());
    })
    .await;
    let h = plain_client();
    let url = app.url("/t/default/userinfo");

    // No credentials at all: 401 with a bare challenge (RFC 6750 3.1: no error code).
    for req in [
        h.get(&url),
        h.post(&url),
        h.get(&url).header("authorization", "Bearer "),
        h.get(&url).header("authorization", "Basic YXBwOng="),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert_eq!(challenge, "Bearer realm=\"watchword\"");
    }

    // A machine token (no openid scope): 403 insufficient_scope.
    let secret = s.registered.secret.clone().unwrap();
    let (status, body) = post(
        &app,
        "/t/default/token",
        Some(("app", &secret)),
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, challenge) =
        userinfo_at(&app, "default", body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );

    // The token in two places at once: 400 invalid_request (RFC 6750 2, 3.1).
    let at = s.tokens.access_token().secret();
    let res = h
        .post(&url)
        .bearer_auth(at)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
    // The form-body method on its own works (RFC 6750 2.2).
    let res = h
        .post(&url)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_no_500(&app).await;
}

// ---- refresh and revocation across clients ----

/// A refresh token presented by another client is invalid_grant and stays usable by its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_cannot_be_used_by_another_client() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "lou", "app", &["offline_access"], |_| {}).await;
    let other = register(&app, "default", "other", |_| {}).await;
    let rt = s.tokens.refresh_token().unwrap().secret().clone();
    let (status, body) = refresh(&app, &other, &rt).await;
    assert_error(status, &body, 400, "invalid_grant");
    assert!(body.get("access_token").is_none());
    // The owner is unaffected.
    let (status, body) = refresh(&app, &s.registered, &rt).await;
    assert_eq!(status, 200, "{body}");
}

/// A public client revokes its refresh token with its client_id alone; the token and its access token die.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_may_revoke_its_own_refresh_token() {
    let app = TestApp::start().await;
    app.create_user("default", "max", GOOD_PASSWORD).await;
    let spa = register(&app, "default", "spa", |c| {
        c.kind = ClientKind::Public;
        c.auth_method = Some(ClientAuthMethod::None);
    })
    .await;
    // An API that accepts the SPA's access tokens (a public client cannot introspect).
    let rs = register(&app, "default", "rs", |c| {
        c.settings.resource_server = true;
        c.settings.audiences = vec!["spa".into()];
    })
    .await;
    let client = rp(&discover(&app, "default").await, &spa);
    let tokens = code_flow(&client, &app.browser(), "max", &["offline_access"])
        .await
        .0;
    let rt = tokens.refresh_token().unwrap().secret().clone();
    let at = tokens.access_token().secret().clone();
    assert_eq!(introspect(&app, &rs, &at).await["active"], true);

    let (status, body) = post(
        &app,
        "/t/default/revoke",
        None,
        &[("token", &rt), ("client_id", "spa")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(introspect(&app, &rs, &at).await["active"], false);
    let (status, body) = post(
        &app,
        "/t/default/token",
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "spa"),
        ],
    )
    .await;
    assert_error(status, &body, 400, "invalid_grant");
}

// ---- end session ----

/// end-session: garbage/unsigned hints, mismatched client_id, unanchored post-logout URIs get a 400 page; nobody is signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_session_refuses_bad_hints_and_unanchored_redirects() {
    let app = TestApp::start().await;
    let s = sign_in(&app, "ned", "app", &[], |_| {}).await;
    register(&app, "default", "other", |_| {}).await;
    let hint = s.tokens.id_token().unwrap().to_string();
    let mut unsigned_claims = jwt_payload(&hint);
    unsigned_claims["aud"] = "other".into();
    let unsigned = format!(
        "{}.{}.",
        enc(&serde_json::json!({ "alg": "none", "typ": "JWT" })),
        enc(&unsigned_claims)
    );
    let bye = "https://app.example/bye";
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("garbage hint", vec![("id_token_hint", "garbage")]),
        (
            "garbage hint with a registered redirect",
            vec![
                ("id_token_hint", "a.b.c"),
                ("client_id", "app"),
                ("post_logout_redirect_uri", bye),
            ],
        ),
        ("unsigned hint", vec![("id_token_hint", unsigned.as_str())]),
        (
            "an access token as hint",
            vec![("id_token_hint", s.tokens.access_token().secret().as_str())],
        ),
        (
            "client_id not the hint's audience",
            vec![("id_token_hint", hint.as_str()), ("client_id", "other")],
        ),
        (
            "client_id not the hint's audience, with a redirect",
            vec![
                ("id_token_hint", hint.as_str()),
                ("client_id", "other"),
                ("post_logout_redirect_uri", bye),
            ],
        ),
        (
            "post_logout_redirect_uri without hint or client_id",
            vec![("post_logout_redirect_uri", bye), ("state", "x")],
        ),
        (
            "unknown client_id",
            vec![("client_id", "ghost"), ("post_logout_redirect_uri", bye)],
        ),
        (
            "duplicate parameter",
            vec![("client_id", "app"), ("client_id", "other")],
        ),
    ];
    for (what, query) in cases {
        let res = s
            .browser
            .client
            .get(app.url("/t/default/end-session"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{what}");
        assert!(
            res.headers().get("location").is_none(),
            "{what}: no redirect"
        );
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}: an error page"
        );
    }
    assert_eq!(
        s.browser.get("/t/default/").await.status(),
        200,
        "still signed in after all of them"
    );
    assert_no_500(&app).await;
}

// ---- helpers ----

/// RFC 7636 appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Runs the authorization request for `c` in `b` (signing in as `user` when asked), with the
/// RFC 7636 challenge when `pkce`, and returns the code.
async fn get_code(app: &TestApp, b: &Browser, c: &Registered, user: &str, pkce: bool) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", &c.client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "s");
    if pkce {
        q.append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
    }
    let url = app.url(&format!("/t/default/authorize?{}", q.finish()));
    let back = authorize(b, &url, Some((user, GOOD_PASSWORD))).await;
    param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

/// Redeems `code` as client `c` with the registered redirect URI.
async fn redeem(app: &TestApp, c: &Registered, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let secret = c.secret.clone().unwrap();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    post(
        app,
        "/t/default/token",
        Some((&c.client_id, &secret)),
        &form,
    )
    .await
}

async fn refresh(app: &TestApp, c: &Registered, rt: &str) -> (u16, Value) {
    let secret = c.secret.clone().unwrap();
    post(
        app,
        "/t/default/token",
        Some((&c.client_id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// Introspects `token` at the default tenant as confidential client `c`.
async fn introspect(app: &TestApp, c: &Registered, token: &str) -> Value {
    let secret = c.secret.clone().unwrap();
    let (status, body) = post(
        app,
        "/t/default/introspect",
        Some((&c.client_id, &secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// GET userinfo of `tenant` with a Bearer token: status and `WWW-Authenticate`.
async fn userinfo_at(app: &TestApp, tenant: &str, token: &str) -> (u16, String) {
    let res = plain_client()
        .get(app.url(&format!("/t/{tenant}/userinfo")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), challenge)
}

#[track_caller]
fn assert_error(status: u16, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(
        (status, body["error"].as_str()),
        (want_status, Some(want_error)),
        "{body}"
    );
}

/// Form fields of a request.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// How a back-channel request authenticates.
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Raw(&'a str),
}

struct Answer {
    status: u16,
    body: Value,
    www_authenticate: String,
    cache_control: String,
}

async fn send(app: &TestApp, path: &str, auth: &Auth<'_>, form: &[(&str, &str)]) -> Answer {
    let mut req = plain_client().post(app.url(path)).form(form);
    match auth {
        Auth::None => {}
        Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
        Auth::Raw(v) => req = req.header("authorization", *v),
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (www_authenticate, cache_control) = (header("www-authenticate"), header("cache-control"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        www_authenticate,
        cache_control,
    }
}

fn enc(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn decode_part(token: &str, n: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(n).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
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
