//! Federation: signing in through upstream identity providers. `oidc.rs` uses a second real
//! Watchword as the upstream OpenID Connect provider (its hosted sign-in, its back-channel
//! logout); `certified.rs` a certified one (panva's `oidc-provider`, run with Node); `linking.rs` covers first sign-ins that match existing accounts; `entra.rs` runs
//! against `entra_stub.rs`, an Entra-shaped provider (a `common` discovery document with the
//! literal `{tenantid}` issuer, per-directory tokens, a Graph `getMemberObjects` endpoint);
//! `cli.rs` the `watchword idp` commands and the seed file; `outbound.rs` the SSRF guard;
//! `saml.rs` SAML 2.0: a real identity provider (`saml_idp.py`, Debian's python3-pysaml2 on
//! loopback) through the browser pages and its single logout, and the verification core's attack
//! corpus (`tests/fixtures/saml/`, signed again for the server's addresses by `make.py --target`)
//! POSTed to the ACS.

mod certified;
mod cli;
mod entra;
pub mod entra_stub;
mod linking;
mod oidc;
mod saml;

use reqwest::StatusCode;
use watchword::admin::idps::NewIdp;
use watchword::domain::audit::Actor;
use watchword::domain::idp::{IdpKind, IdpSettings};
use watchword::domain::secret::Secret;

use crate::common::browser::location;
use crate::common::oidc::{Registered, register};
use crate::common::{Browser, TestApp, hidden_field};

pub const PASSWORD: &str = "correct horse battery staple 42";

/// A downstream Watchword (the one under test) and an upstream one it federates to.
pub struct Pair {
    /// The upstream provider, addressed as `localhost` (its cookies stay apart from the
    /// downstream's, which is addressed as `127.0.0.1`).
    pub up: TestApp,
    pub down: TestApp,
    #[allow(dead_code)]
    pub client: Registered,
}

/// The downstream's callback address for provider `slug`.
pub fn callback(down: &TestApp, slug: &str) -> String {
    down.url(&format!("/t/default/idp/{slug}/callback"))
}

/// An upstream with user `alice` (alice@contoso.example, verified) and a registered client, and
/// a downstream with provider `contoso` (`tweak` adjusts its settings) pointing at it.
pub async fn pair(tweak: impl FnOnce(&mut IdpSettings)) -> Pair {
    let up = TestApp::builder().localhost().start().await;
    let down = TestApp::builder()
        .tweak(|c| c.outbound.allow_private_networks = true)
        .start()
        .await;
    let redirect = callback(&down, "contoso");
    let logout = down.url("/t/default/idp/contoso/backchannel-logout");
    let client = register(&up, "default", "downstream", |c| {
        c.settings.redirect_uris = vec![redirect];
        c.settings.backchannel_logout_uri = Some(logout);
    })
    .await;
    upstream_user(&up, "alice", "alice@contoso.example").await;
    let mut settings: IdpSettings = serde_json::from_value(serde_json::json!({
        "domains": ["contoso.example"],
        "oidc": { "issuer": up.url("/t/default"), "client_id": client.client_id },
    }))
    .unwrap();
    tweak(&mut settings);
    create_idp(
        &down,
        "contoso",
        IdpKind::Oidc,
        settings,
        client.secret.clone(),
    )
    .await;
    Pair { up, down, client }
}

pub async fn upstream_user(up: &TestApp, username: &str, email: &str) {
    let tenant = up.tenant("default").await;
    watchword::admin::users::create(
        &up.app.ctx,
        &tenant,
        watchword::admin::users::NewUser {
            username: username.into(),
            email: Some(email.into()),
            email_verified: true,
            display_name: Some(format!("{username} upstream")),
            password: Some(Secret::new(PASSWORD.into())),
            admin_role: None,
            enabled: true,
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
}

pub async fn create_idp(
    app: &TestApp,
    slug: &str,
    kind: IdpKind,
    settings: IdpSettings,
    secret: Option<String>,
) {
    let tenant = app.tenant("default").await;
    watchword::admin::idps::create(
        &app.app.ctx,
        &tenant,
        NewIdp {
            slug: slug.into(),
            kind,
            display_name: "Contoso".into(),
            enabled: true,
            settings,
            client_secret: secret.map(Secret::new),
        },
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
}

/// Follows a federated sign-in from `start` (a downstream path) through the upstream's hosted
/// sign-in (as `login`) back to the downstream callback; returns the callback's response.
pub async fn through(
    b: &Browser,
    pair: &Pair,
    start: &str,
    login: (&str, &str),
) -> reqwest::Response {
    let res = b.get(start).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "start redirects upstream"
    );
    upstream_to_callback(b, pair, &location(&res), login).await
}

/// From an upstream authorization URL to the downstream callback's response.
pub async fn upstream_to_callback(
    b: &Browser,
    pair: &Pair,
    authorize: &str,
    login: (&str, &str),
) -> reqwest::Response {
    let url = upstream_to_callback_url(b, pair, authorize, login).await;
    b.client.get(&url).send().await.unwrap()
}

/// From an upstream authorization URL to the downstream callback URL (not yet visited).
pub async fn upstream_to_callback_url(
    b: &Browser,
    pair: &Pair,
    authorize: &str,
    login: (&str, &str),
) -> String {
    assert!(authorize.starts_with(&pair.up.base), "{authorize}");
    let mut next = authorize.to_owned();
    for _ in 0..10 {
        if next.starts_with(&pair.down.base) {
            return next;
        }
        let res = b.client.get(&next).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "upstream step {next}");
        let loc = location(&res);
        let loc = if loc.starts_with('/') {
            pair.up.url(&loc)
        } else {
            loc
        };
        if loc.contains("/login?") {
            let page = b
                .client
                .get(&loc)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let csrf = hidden_field(&page, "csrf_token").unwrap();
            let return_to = hidden_field(&page, "return_to")
                .unwrap()
                .replace("&amp;", "&");
            let res = b
                .client
                .post(pair.up.url("/t/default/login"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("identifier", login.0),
                    ("password", login.1),
                    ("return_to", return_to.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "upstream sign-in");
            let loc = location(&res);
            next = if loc.starts_with('/') {
                pair.up.url(&loc)
            } else {
                loc
            };
        } else {
            next = loc;
        }
    }
    panic!("the upstream never sent the browser back");
}

/// The downstream user with `username`, if any.
pub async fn user_named(app: &TestApp, username: &str) -> Option<watchword::domain::user::User> {
    let tenant = app.tenant("default").await;
    watchword::admin::users::find(&app.app.ctx, &tenant, username)
        .await
        .unwrap()
        .map(|u| u.user)
}

/// The number of identities linked to a downstream user.
pub async fn identities(app: &TestApp, user: &watchword::domain::user::User) -> usize {
    let u = user.id;
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::idps::of_user(c, u))
        .await
        .unwrap()
        .len()
}
