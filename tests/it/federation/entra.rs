//! Microsoft Entra ID, against the Entra-shaped stub: multi-tenant registrations (the literal
//! `{tenantid}` issuer), the token's issuer checked for its own `tid`, directories allowed by
//! the provider, personal accounts only when configured, `tid:oid` as the subject, e-mail
//! trusted only with `email_verified` or `xms_edov`, a groups overage resolved through Graph
//! (or failing closed), and a signing key rollover.

use reqwest::StatusCode;
use watchword::domain::idp::{IdpKind, IdpSettings, Linking};
use watchword::domain::secret::Secret;

use super::entra_stub::{EntraStub, Key};
use super::{create_idp, identities, user_named};
use crate::common::browser::location;
use crate::common::{Browser, TestApp};

const A: &str = "11111111-1111-1111-1111-111111111111";
const B: &str = "22222222-2222-2222-2222-222222222222";
const START: &str = "/t/default/idp/entra/start";

async fn setup(tenant: &str, tweak: impl FnOnce(&mut IdpSettings)) -> (TestApp, EntraStub) {
    let stub = EntraStub::start().await;
    let down = TestApp::builder()
        .tweak(|c| c.outbound.allow_private_networks = true)
        .start()
        .await;
    let mut settings: IdpSettings = serde_json::from_value(serde_json::json!({
        "domains": ["contoso.example"],
        "entra": {
            "tenant": tenant,
            "client_id": "app-1",
            "allowed_tenants": [A],
            "authority": stub.base,
            "graph": stub.base,
        },
    }))
    .unwrap();
    tweak(&mut settings);
    create_idp(
        &down,
        "entra",
        IdpKind::Entra,
        settings,
        Some("app-secret".into()),
    )
    .await;
    (down, stub)
}

/// A sign-in of whoever `claims` describe; the downstream callback's response.
async fn sign_in(
    down: &TestApp,
    stub: &EntraStub,
    claims: serde_json::Value,
) -> (Browser, reqwest::Response) {
    stub.next(claims);
    let b = Browser::new(&down.base);
    let res = b.get(START).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = location(&res);
    assert!(authorize.starts_with(&stub.base), "{authorize}");
    let res = b.client.get(&authorize).send().await.unwrap();
    let back = location(&res);
    assert!(back.starts_with(&down.base), "{back}");
    let res = b.client.get(&back).send().await.unwrap();
    (b, res)
}

async fn failure(down: &TestApp) -> Vec<String> {
    down.audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed")
        .map(|e| e.outcome)
        .collect()
}

#[tokio::test]
async fn a_user_of_an_allowed_directory_signs_in_keyed_by_tid_and_oid() {
    let (down, stub) = setup("organizations", |_| {}).await;
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "oid": "aaaaaaaa-0000-0000-0000-000000000001" }),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert!(b.cookie("ww-session-default").is_some());
    let user = user_named(&down, "adele")
        .await
        .expect("created from preferred_username");
    let u = user.id;
    let rows = down
        .app
        .ctx
        .db
        .run(move |c| watchword::storage::idps::of_user(c, u))
        .await
        .unwrap();
    assert_eq!(
        rows[0].0.subject,
        format!("{A}:aaaaaaaa-0000-0000-0000-000000000001")
    );
    // The same oid in another directory is another person.
    let (_, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": B, "oid": "aaaaaaaa-0000-0000-0000-000000000001" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        failure(&down)
            .await
            .contains(&"tenant_not_allowed".to_owned())
    );
}

#[tokio::test]
async fn a_token_whose_issuer_is_not_its_own_directory_is_refused() {
    let (down, stub) = setup("organizations", |_| {}).await;
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "iss": format!("{}/{B}/v2.0", stub.base) }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(b.cookie("ww-session-default").is_none());
    assert_eq!(failure(&down).await, vec!["issuer_mismatch"]);
}

#[tokio::test]
async fn personal_accounts_and_other_directories_need_their_own_configuration() {
    let consumers = watchword::domain::idp::ENTRA_CONSUMERS_TID;
    let (down, stub) = setup("organizations", |_| {}).await;
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": consumers })).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "organizations admits no personal account"
    );
    let (down, stub) = setup("common", |s| {
        s.entra.as_mut().unwrap().personal_accounts = true
    })
    .await;
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": consumers })).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "common with personal accounts on"
    );
    // A single-tenant registration: only its own directory.
    let (down, stub) = setup(A, |s| s.entra.as_mut().unwrap().allowed_tenants.clear()).await;
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": A })).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": B })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unverified_entra_address_never_takes_over_an_account() {
    let (down, stub) = setup("organizations", |s| {
        s.linking = Linking::TrustedEmail;
        s.trust_email = true;
    })
    .await;
    let tenant = down.tenant("default").await;
    let victim = watchword::admin::users::create(
        &down.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "victim".into(),
            email: Some("victim@contoso.example".into()),
            email_verified: true,
            display_name: None,
            password: Some(Secret::new("the victim's own password 1".into())),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    // nOAuth: an attacker's directory sets the victim's address as their (unverified) e-mail.
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "oid": "aaaaaaaa-0000-0000-0000-00000000beef", "email": "victim@contoso.example" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).contains("reason=link"),
        "proof of the account is needed"
    );
    assert!(b.cookie("ww-session-default").is_none());
    assert_eq!(identities(&down, &victim).await, 0);
    // The directory vouches for the domain (`xms_edov`): linked.
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "oid": "aaaaaaaa-0000-0000-0000-000000000002", "email": "victim@contoso.example", "xms_edov": true }),
    )
    .await;
    assert_eq!(location(&res), "/t/default/");
    assert!(b.cookie("ww-session-default").is_some());
    assert_eq!(identities(&down, &victim).await, 1);
}

#[tokio::test]
async fn a_groups_overage_is_resolved_through_graph_or_fails_closed() {
    let overage = serde_json::json!({
        "tid": A,
        "_claim_names": { "groups": "src1" },
        "_claim_sources": { "src1": { "endpoint": "http://127.0.0.1:9/retired-aad-graph" } },
    });
    let (down, stub) = setup("organizations", |s| {
        s.entra.as_mut().unwrap().require_groups = true
    })
    .await;
    stub.state.lock().unwrap().graph_groups = vec!["g-1".into(), "g-2".into()];
    let (_, res) = sign_in(&down, &stub, overage.clone()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        stub.state.lock().unwrap().graph_calls,
        1,
        "asked Graph, not _claim_sources"
    );
    stub.state.lock().unwrap().graph_fails = true;
    let (b, res) = sign_in(&down, &stub, overage).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "groups unknown: refused"
    );
    assert!(b.cookie("ww-session-default").is_none());
    assert!(
        failure(&down)
            .await
            .contains(&"groups_unavailable".to_owned())
    );
}

#[tokio::test]
async fn a_key_rollover_is_followed_and_unknown_keys_do_not_hammer_the_provider() {
    let (down, stub) = setup("organizations", |_| {}).await;
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": A })).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(stub.state.lock().unwrap().jwks_fetches, 1);
    assert_eq!(
        stub.state.lock().unwrap().discovery_queries,
        vec!["appid=app-1".to_owned()],
        "discovery asks for the application's own keys"
    );
    // Some time later the provider publishes a new key and signs with it: refetched once,
    // accepted.
    down.clock.advance(chrono::Duration::minutes(5));
    {
        let mut s = stub.state.lock().unwrap();
        s.keys.push(Key::new("key-2"));
        s.signer = 1;
    }
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": A })).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(stub.state.lock().unwrap().jwks_fetches, 2);
    // A token signed with a key nobody published: refused, and within the minute the keys are
    // not fetched again.
    stub.state.lock().unwrap().rogue = Some(Key::new("key-3"));
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": A })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (_, res) = sign_in(&down, &stub, serde_json::json!({ "tid": A })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        stub.state.lock().unwrap().jwks_fetches,
        2,
        "rate-limited refetch"
    );
}

#[tokio::test]
async fn the_providers_multi_factor_counts_only_when_configured_and_proven() {
    // The tenant requires a second factor; a JIT account has none.
    let (down, stub) = setup("organizations", |s| s.mfa.counts = true).await;
    crate::mfa::set_mfa(&down, watchword::domain::mfa::MfaMode::Required).await;
    // A single-factor upstream sign-in: our own factor must be set up first, no session yet.
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "amr": ["pwd"] }),
    )
    .await;
    assert_eq!(location(&res), "/t/default/login/enrol");
    assert!(b.cookie("ww-session-default").is_none());
    // An upstream multi-factor sign-in, counted: a session at once, `amr` `fed` + `mfa`.
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "amr": ["pwd", "mfa"] }),
    )
    .await;
    assert_eq!(location(&res), "/t/default/");
    assert!(b.cookie("ww-session-default").is_some());
    let events = down.audit("default").await;
    let success = events
        .iter()
        .find(|e| e.action == "sign_in" && e.outcome == "success")
        .unwrap();
    assert!(
        success.details.contains(r#""amr":["fed","mfa"]"#),
        "{}",
        success.details
    );
    // The same upstream claims from a provider whose multi-factor does not count.
    let (down, stub) = setup("organizations", |_| {}).await;
    crate::mfa::set_mfa(&down, watchword::domain::mfa::MfaMode::Required).await;
    let (_, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "amr": ["pwd", "mfa"] }),
    )
    .await;
    assert_eq!(location(&res), "/t/default/login/enrol");
}

#[tokio::test]
async fn risk_scoring_applies_to_federated_sign_ins() {
    let stub = EntraStub::start().await;
    let down = TestApp::builder()
        .tweak(|c| {
            c.outbound.allow_private_networks = true;
            c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        })
        .start()
        .await;
    let settings: IdpSettings = serde_json::from_value(serde_json::json!({
        "entra": { "tenant": "organizations", "client_id": "app-1", "allowed_tenants": [A],
                   "authority": stub.base, "graph": stub.base },
    }))
    .unwrap();
    create_idp(&down, "entra", IdpKind::Entra, settings, Some("s".into())).await;
    crate::risk::notices::set_risk_policy(&down, "default", |p| {
        p.blocked_ip_ranges = vec!["203.0.113.0/24".parse().unwrap()];
    })
    .await;
    stub.next(serde_json::json!({ "tid": A }));
    let b = Browser::at(
        &down.base,
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        "203.0.113.9",
    );
    let res = b.get(START).await;
    let res = b.client.get(location(&res)).send().await.unwrap();
    let res = b.client.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.cookie("ww-session-default").is_none());
    let events = down.audit("default").await;
    let blocked = events
        .iter()
        .find(|e| e.action == "sign_in" && e.outcome == "risk_blocked")
        .expect("audited");
    assert!(
        blocked.details.contains("\"via\":\"Contoso (entra)\""),
        "{}",
        blocked.details
    );
}

#[tokio::test]
async fn upstream_groups_reach_the_id_tokens_of_applications_that_ask_for_them() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, Scope};

    use crate::common::oidc::{authorize, discover, http, param, plain_client, register, rp};

    let (down, stub) = setup("organizations", |s| s.emit_groups = true).await;
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "groups": ["g-staff", "g-admins"] }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let app = register(&down, "default", "webapp", |c| {
        c.settings.scopes.push("groups".into());
    })
    .await;
    let metadata = discover(&down, "default").await;
    let client = rp(&metadata, &app);
    let http_client = plain_client();
    let http = |r| http(http_client.clone(), r);
    let exchange = async |scopes: &[&str]| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes {
            request = request.add_scope(Scope::new((*s).into()));
        }
        let (url, _, _) = request.url();
        let back = authorize(&b, url.as_str(), None).await;
        let code = param(&back, "code").expect("a code");
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        use openidconnect::TokenResponse;
        crate::oidc::code_flow::jwt_payload(&tokens.id_token().unwrap().to_string())
    };
    let with = exchange(&["groups"]).await;
    assert_eq!(with["groups"], serde_json::json!(["g-staff", "g-admins"]));
    let without = exchange(&[]).await;
    assert!(
        without.get("groups").is_none(),
        "only when asked for: {without}"
    );
    // More groups than a session keeps: refused whole, never cut short.
    let many: Vec<String> = (0..201).map(|i| format!("g-{i}")).collect();
    let (b, res) = sign_in(
        &down,
        &stub,
        serde_json::json!({ "tid": A, "groups": many }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(b.cookie("ww-session-default").is_none());
}
