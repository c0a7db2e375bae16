//! First federated sign-ins that match an existing account: never taken over by e-mail alone
//! ("nOAuth"); linked after the account is proven (its own sign-in), or at once only when the
//! provider is trusted for e-mail, the upstream verified the address in the provider's domain,
//! and the account's own address is verified (no pre-registered account hijack). Linked
//! identities are listed and unlinked on the account page, never the last way in.

use reqwest::StatusCode;
use watchword::domain::audit::Actor;
use watchword::domain::idp::Linking;
use watchword::domain::secret::Secret;

use super::{PASSWORD, Pair, identities, pair, through, user_named};
use crate::common::browser::location;
use crate::common::{Browser, TestApp, hidden_field};

const START: &str = "/t/default/idp/contoso/start";
const LOCAL_PASSWORD: &str = "a local password that is long enough";

async fn local_alice(app: &TestApp, verified: bool) -> watchword::domain::user::User {
    let tenant = app.tenant("default").await;
    watchword::admin::users::create(
        &app.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: "alice".into(),
            email: Some("alice@contoso.example".into()),
            email_verified: verified,
            display_name: None,
            password: Some(Secret::new(LOCAL_PASSWORD.into())),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap()
}

async fn users(app: &TestApp) -> usize {
    let tenant = app.tenant("default").await;
    watchword::admin::users::list(&app.app.ctx, &tenant)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_matching_account_is_linked_only_after_it_is_proven() {
    let pair = pair(|_| {}).await;
    let alice = local_alice(&pair.down, true).await;
    let before = users(&pair.down).await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(
        to.starts_with("/t/default/login?reason=link&login_hint=alice"),
        "{to}"
    );
    assert!(
        b.cookie("ww-session-default").is_none(),
        "no session: nothing taken over"
    );
    assert_eq!(identities(&pair.down, &alice).await, 0);
    assert_eq!(users(&pair.down).await, before, "no second account either");
    let page = b.get(&to).await.text().await.unwrap();
    assert!(
        page.contains("Sign in to it once to link it"),
        "the page explains"
    );
    // Alice proves the account: the identity is linked, and the next federated sign-in needs
    // nothing more.
    let res = b.sign_in("default", "alice", LOCAL_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(identities(&pair.down, &alice).await, 1);
    let events = pair.down.audit("default").await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "identity_linked" && e.outcome == "proven")
    );
    let later = Browser::new(&pair.down.base);
    let res = through(&later, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(location(&res), "/t/default/");
    assert!(later.cookie("ww-session-default").is_some());
}

#[tokio::test]
async fn proving_another_account_links_nothing() {
    let pair = pair(|_| {}).await;
    let alice = local_alice(&pair.down, true).await;
    pair.down
        .create_user("default", "mallory", LOCAL_PASSWORD)
        .await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert!(location(&res).contains("reason=link"));
    let res = b.sign_in("default", "mallory", LOCAL_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(identities(&pair.down, &alice).await, 0);
    let mallory = user_named(&pair.down, "mallory").await.unwrap();
    assert_eq!(identities(&pair.down, &mallory).await, 0);
}

async fn trusted(pair_tweak: bool) -> Pair {
    pair(move |s| {
        if pair_tweak {
            s.linking = Linking::TrustedEmail;
            s.trust_email = true;
        }
    })
    .await
}

#[tokio::test]
async fn a_trusted_provider_links_a_verified_address_of_its_own_domain_at_once() {
    let pair = trusted(true).await;
    let alice = local_alice(&pair.down, true).await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(location(&res), "/t/default/");
    assert_eq!(identities(&pair.down, &alice).await, 1);
    let events = pair.down.audit("default").await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "identity_linked" && e.outcome == "trusted_email")
    );
}

#[tokio::test]
async fn an_unverified_local_address_is_never_linked_by_trust() {
    // Someone registered alice@contoso.example here without proving it: the provider's trust
    // must not hand them Alice's federated sign-ins (or Alice theirs).
    let pair = trusted(true).await;
    let squatter = local_alice(&pair.down, false).await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert!(location(&res).contains("reason=link"));
    assert_eq!(identities(&pair.down, &squatter).await, 0);
}

#[tokio::test]
async fn an_address_outside_the_providers_domains_is_never_trusted() {
    let pair = pair(|s| {
        s.linking = Linking::TrustedEmail;
        s.trust_email = true;
        s.domains = vec!["fabrikam.example".into()];
    })
    .await;
    let alice = local_alice(&pair.down, true).await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert!(location(&res).contains("reason=link"));
    assert_eq!(identities(&pair.down, &alice).await, 0);
}

#[tokio::test]
async fn linking_never_and_no_jit_refuse_with_an_audited_reason() {
    let pair = pair(|s| {
        s.linking = Linking::Never;
        s.jit = false;
    })
    .await;
    let b = Browser::new(&pair.down.base);
    let res = through(&b, &pair, START, ("alice", PASSWORD)).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "no account, none created"
    );
    local_alice(&pair.down, true).await;
    let res = through(
        &Browser::new(&pair.down.base),
        &pair,
        START,
        ("alice", PASSWORD),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a match is not linked"
    );
    let outcomes: Vec<String> = pair
        .down
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed")
        .map(|e| e.outcome)
        .collect();
    assert!(
        outcomes.contains(&"no_account".into()) && outcomes.contains(&"link_refused".into()),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn identities_are_linked_and_unlinked_from_the_account_page_but_never_the_last_way_in() {
    let pair = pair(|s| s.domains.clear()).await;
    // A local account links the upstream identity from its account page.
    let alice = local_alice(&pair.down, false).await;
    let b = Browser::new(&pair.down.base);
    assert_eq!(
        b.sign_in("default", "alice", LOCAL_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = b
        .get("/t/default/account/identities")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Link Contoso"));
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/account/identities/link",
            &[("csrf_token", &csrf), ("idp", "contoso")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = super::upstream_to_callback(&b, &pair, &location(&res), ("alice", PASSWORD)).await;
    assert_eq!(location(&res), "/t/default/account/identities");
    assert_eq!(identities(&pair.down, &alice).await, 1);
    let page = b
        .get("/t/default/account/identities")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Unlink Contoso"));
    // Unlinked again (the account has a password).
    let subject = hidden_field(&page, "subject").unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = b
        .post_form(
            "/t/default/account/identities/unlink",
            &[
                ("csrf_token", &csrf),
                ("idp", "contoso"),
                ("subject", &subject),
            ],
        )
        .await;
    assert_eq!(
        location(&res),
        "/t/default/account/identities?done=unlinked"
    );
    assert_eq!(identities(&pair.down, &alice).await, 0);

    // A JIT account has no password: its only identity cannot be unlinked.
    let pair2 = super::pair(|_| {}).await;
    let b = Browser::new(&pair2.down.base);
    through(&b, &pair2, START, ("alice", PASSWORD)).await;
    let jit = user_named(&pair2.down, "alice").await.unwrap();
    let page = b
        .get("/t/default/account/identities")
        .await
        .text()
        .await
        .unwrap();
    let (csrf, subject) = (
        hidden_field(&page, "csrf_token").unwrap(),
        hidden_field(&page, "subject").unwrap(),
    );
    let res = b
        .post_form(
            "/t/default/account/identities/unlink",
            &[
                ("csrf_token", &csrf),
                ("idp", "contoso"),
                ("subject", &subject),
            ],
        )
        .await;
    assert_eq!(location(&res), "/t/default/account/identities?done=last");
    assert_eq!(identities(&pair2.down, &jit).await, 1);
}

#[tokio::test]
async fn concurrent_first_sign_ins_of_one_identity_make_one_account() {
    let pair = pair(|_| {}).await;
    // Six browsers signed in upstream at once (the upstream's own session limit allowing it).
    let up_tenant = pair.up.tenant("default").await;
    let mut policy = up_tenant.policy.clone();
    policy.session.max_sessions_per_user = watchword::domain::session::SessionLimit::Max(10);
    watchword::admin::tenants::update(
        &pair.up.app.ctx,
        up_tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    // Each browser gets as far as the callback URL; then all arrive at once.
    let mut arrivals = Vec::new();
    for _ in 0..6 {
        let b = Browser::new(&pair.down.base);
        let res = b.get(START).await;
        let url =
            super::upstream_to_callback_url(&b, &pair, &location(&res), ("alice", PASSWORD)).await;
        arrivals.push((b, url));
    }
    let results = futures_util::future::join_all(
        arrivals
            .iter()
            .map(|(b, url)| async move { b.client.get(url).send().await.unwrap().status() }),
    )
    .await;
    let failed: Vec<String> = pair
        .down
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed")
        .map(|e| format!("{} {}", e.outcome, e.details))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        results.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{results:?}"
    );
    let tenant = pair.down.tenant("default").await;
    let all = watchword::admin::users::list(&pair.down.app.ctx, &tenant)
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .filter(|u| u.username.starts_with("alice"))
            .count(),
        1,
        "{all:?}"
    );
}
