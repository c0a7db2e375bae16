//! A generic OpenID Connect upstream (a second Watchword): JIT accounts, sessions through the
//! engine (session limit, second factor, disabled users), the state bound to the browser and
//! used once, RFC 9207 `iss`, the upstream's back-channel logout, audit and metrics.

use reqwest::StatusCode;

use super::{PASSWORD, Pair, identities, pair, through, upstream_to_callback, user_named};
use crate::common::Browser;
use crate::common::browser::location;

const START: &str = "/t/default/idp/contoso/start";

async fn signed_in(pair: &Pair) -> Browser {
    let b = Browser::new(&pair.down.base);
    let res = through(&b, pair, START, ("alice", PASSWORD)).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(location(&res), "/t/default/");
    b
}

#[tokio::test]
async fn a_first_federated_sign_in_creates_the_account_and_later_ones_reuse_it() {
    let pair = pair(|_| {}).await;
    let b = signed_in(&pair).await;
    assert!(
        b.cookie("ww-session-default").is_some(),
        "a downstream session"
    );
    let user = user_named(&pair.down, "alice")
        .await
        .expect("created just in time");
    assert_eq!(user.email.as_deref(), Some("alice@contoso.example"));
    assert!(
        !user.email_verified,
        "the provider is not trusted for e-mail"
    );
    assert_eq!(user.display_name.as_deref(), Some("alice upstream"));
    let page = b.get("/t/default/account").await.text().await.unwrap();
    assert!(page.contains("alice"), "signed in as alice");

    // Another browser, another federated sign-in: the same account, one identity.
    let again = Browser::new(&pair.down.base);
    let res = through(&again, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(identities(&pair.down, &user).await, 1);
    let events = pair.down.audit("default").await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "identity_linked" && e.outcome == "jit"),
        "{events:?}"
    );
    let signed = events
        .iter()
        .filter(|e| e.action == "sign_in" && e.outcome == "success")
        .collect::<Vec<_>>();
    assert_eq!(signed.len(), 2);
    assert!(
        signed[0].details.contains("\"via\":\"contoso\""),
        "{}",
        signed[0].details
    );
    assert!(
        signed[0].details.contains("\"fed\""),
        "amr fed: {}",
        signed[0].details
    );
}

#[tokio::test]
async fn an_address_of_the_providers_domain_goes_to_the_provider_not_the_password() {
    let pair = pair(|_| {}).await;
    let b = Browser::new(&pair.down.base);
    let csrf = b.csrf("/t/default/login").await;
    let page = b.get("/t/default/login").await.text().await.unwrap();
    assert!(page.contains("Sign in with Contoso"), "a button");
    assert!(page.contains("Continue with single sign-on"));
    let res = b
        .post_form(
            "/t/default/login",
            &[
                ("csrf_token", &csrf),
                ("identifier", "Alice@Contoso.example"),
                ("password", "anything"),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with(&pair.up.base), "{to}");
    assert!(to.contains("login_hint=Alice%40Contoso.example"), "{to}");
    // The same through the single sign-on button (no password at all), and on to a session.
    let res = b
        .post_form(
            "/t/default/login/sso",
            &[
                ("csrf_token", &csrf),
                ("identifier", "alice@contoso.example"),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = upstream_to_callback(&b, &pair, &location(&res), ("alice", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(b.cookie("ww-session-default").is_some());
    // An address no provider owns: the password page says so.
    let csrf = b.csrf("/t/default/login?local=1").await;
    let res = b
        .post_form(
            "/t/default/login/sso",
            &[
                ("csrf_token", &csrf),
                ("identifier", "bob@elsewhere.example"),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("No single sign-on is set up")
    );
}

#[tokio::test]
async fn a_default_provider_skips_the_password_page_unless_asked_for_it() {
    let pair = pair(|s| s.default = true).await;
    let b = Browser::new(&pair.down.base);
    let res = b
        .get("/t/default/login?return_to=%2Ft%2Fdefault%2Faccount")
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = upstream_to_callback(&b, &pair, &location(&res), ("alice", PASSWORD)).await;
    assert_eq!(
        location(&res),
        "/t/default/account",
        "back where the sign-in started"
    );
    let local = Browser::new(&pair.down.base);
    assert_eq!(
        local.get("/t/default/login?local=1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_answer_must_come_back_to_the_browser_that_left_and_only_once() {
    let pair = pair(|_| {}).await;
    let b = Browser::new(&pair.down.base);
    let res = b.get(START).await;
    let authorize = location(&res);
    // Another browser presenting the answer (a login CSRF): refused.
    let thief = Browser::new(&pair.down.base);
    let mut next = authorize.clone();
    // Sign in upstream with the first browser, but keep the final callback URL.
    let callback_url = loop {
        let res = b.client.get(&next).send().await.unwrap();
        let loc = location(&res);
        let loc = if loc.starts_with('/') {
            pair.up.url(&loc)
        } else {
            loc
        };
        if loc.starts_with(&pair.down.base) {
            break loc;
        }
        if loc.contains("/login?") {
            let res = through_login(&b, &pair, &loc).await;
            next = res;
        } else {
            next = loc;
        }
    };
    let res = thief.client.get(&callback_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(thief.cookie("ww-session-default").is_none());
    // The right browser: signed in; the same answer again: refused.
    let res = b.client.get(&callback_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let replay = Browser::new(&pair.down.base);
    replay.set_cookie("ww-fed-default", &param(&callback_url, "state"));
    let res = replay.client.get(&callback_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a flow is used once");
    let failures = pair
        .down
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed" && e.outcome == "state_mismatch")
        .count();
    assert_eq!(failures, 2);
}

fn param(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
        .into_owned()
}

async fn through_login(b: &Browser, pair: &Pair, login_url: &str) -> String {
    let page = b
        .client
        .get(login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let return_to = crate::common::hidden_field(&page, "return_to")
        .unwrap()
        .replace("&amp;", "&");
    let res = b
        .client
        .post(pair.up.url("/t/default/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", "alice"),
            ("password", PASSWORD),
            ("return_to", return_to.as_str()),
        ])
        .send()
        .await
        .unwrap();
    pair.up.url(&location(&res))
}

#[tokio::test]
async fn a_forged_issuer_in_the_authorization_response_is_refused() {
    let pair = pair(|_| {}).await;
    let b = Browser::new(&pair.down.base);
    let res = b.get(START).await;
    let state = param(&location(&res), "state");
    let forged = format!(
        "/t/default/idp/contoso/callback?state={state}&code=whatever&iss=https%3A%2F%2Fevil.example"
    );
    let res = b.get(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let events = pair.down.audit("default").await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "federated_sign_in_failed" && e.outcome == "issuer_mismatch"),
        "{events:?}"
    );
    assert!(b.cookie("ww-session-default").is_none());
}

#[tokio::test]
async fn an_upstream_error_or_a_disabled_account_or_provider_ends_without_a_session() {
    let pair = pair(|_| {}).await;
    // The upstream says no.
    let b = Browser::new(&pair.down.base);
    let state = param(&location(&b.get(START).await), "state");
    let res = b
        .get(&format!(
            "/t/default/idp/contoso/callback?state={state}&error=access_denied"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A disabled account: refused after the upstream proved who it is.
    let _ = signed_in(&pair).await;
    let tenant = pair.down.tenant("default").await;
    let alice = user_named(&pair.down, "alice").await.unwrap();
    watchword::admin::users::set_enabled(
        &pair.down.app.ctx,
        &tenant,
        alice,
        false,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This account is disabled")
    );
    assert!(b.cookie("ww-session-default").is_none());
    // A disabled provider: no way in.
    let mut idp = watchword::admin::idps::get(&pair.down.app.ctx, &tenant, "contoso")
        .await
        .unwrap()
        .idp;
    idp.enabled = false;
    watchword::admin::idps::update(
        &pair.down.app.ctx,
        &tenant,
        idp,
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let res = Browser::new(&pair.down.base).get(START).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_federated_sign_in_evicts_like_any_other_under_a_one_session_limit() {
    let pair = pair(|_| {}).await;
    let tenant = pair.down.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.session.max_sessions_per_user = watchword::domain::session::SessionLimit::Max(1);
    watchword::admin::tenants::update(
        &pair.down.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    let first = signed_in(&pair).await;
    let _second = signed_in(&pair).await;
    let res = first.get("/t/default/account").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the first session was evicted"
    );
}

#[tokio::test]
async fn our_second_factor_is_asked_when_the_providers_does_not_count() {
    let pair = pair(|_| {}).await;
    let b = signed_in(&pair).await;
    // Alice sets up an authenticator app here; the next federated sign-in asks for it.
    let _seed = crate::mfa::enrol_totp(&pair.down, &b).await;
    let again = Browser::new(&pair.down.base);
    let res = through(&again, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/login/verify");
    assert!(
        again.cookie("ww-session-default").is_none(),
        "no session before the factor"
    );
}

#[tokio::test]
async fn signing_out_upstream_ends_the_federated_session_here() {
    let pair = pair(|_| {}).await;
    let b = signed_in(&pair).await;
    assert_eq!(b.get("/t/default/account").await.status(), StatusCode::OK);
    // Alice signs out at the upstream: it sends its back-channel logout token here.
    let csrf = {
        let page = b
            .client
            .get(pair.up.url("/t/default/logout"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        crate::common::hidden_field(&page, "csrf_token").unwrap()
    };
    let res = b
        .client
        .post(pair.up.url("/t/default/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success());
    crate::sessions::eventually_audited(&pair.down, |e| e.action == "upstream_logout").await;
    let res = b.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out here too");
    // A forged or replayed token ends nothing and is answered 400.
    let res = b
        .client
        .post(pair.down.url("/t/default/idp/contoso/backchannel-logout"))
        .form(&[("logout_token", "eyJhbGciOiJub25lIn0.e30.")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_burst_of_one_answer_signs_in_exactly_once() {
    let pair = pair(|_| {}).await;
    let b = Browser::new(&pair.down.base);
    let res = b.get(START).await;
    let url =
        super::upstream_to_callback_url(&b, &pair, &location(&res), ("alice", PASSWORD)).await;
    let statuses = futures_util::future::join_all(
        (0..8).map(|_| async { b.client.get(&url).send().await.unwrap().status() }),
    )
    .await;
    let signed_in = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(signed_in, 1, "{statuses:?}");
    let refused = pair
        .down
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed" && e.outcome == "state_mismatch")
        .count();
    assert_eq!(refused, 7);
}
