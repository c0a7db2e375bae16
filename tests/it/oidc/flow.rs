//! A signed-in user with tokens, ready for the protocol tests.

use openidconnect::core::{CoreAuthenticationFlow, CoreTokenResponse};
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, Scope};

use crate::common::oidc::{
    Registered, Rp, authorize, discover, http, param, plain_client, register, rp,
};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};

pub struct SignedIn {
    pub browser: Browser,
    pub client: Rp,
    pub registered: Registered,
    pub tokens: CoreTokenResponse,
    pub nonce: Nonce,
}

/// Creates `user` (if `create`), registers `client_id` with `tweak`, and runs the code flow
/// asking for `scopes`.
pub async fn sign_in(
    app: &TestApp,
    user: &str,
    client_id: &str,
    scopes: &[&str],
    tweak: impl FnOnce(&mut watchword::admin::clients::NewClient),
) -> SignedIn {
    if watchword::admin::users::find(&app.app.ctx, &app.tenant("default").await, user)
        .await
        .unwrap()
        .is_none()
    {
        app.create_user("default", user, GOOD_PASSWORD).await;
    }
    let registered = register(app, "default", client_id, tweak).await;
    let metadata = discover(app, "default").await;
    let client = rp(&metadata, &registered);
    let browser = app.browser();
    let tokens = code_flow(&client, &browser, user, scopes).await;
    SignedIn {
        browser,
        client,
        registered,
        tokens: tokens.0,
        nonce: tokens.1,
    }
}

/// Runs the code flow for `client` in `browser` (signing in as `user` if needed).
pub async fn code_flow(
    client: &Rp,
    browser: &Browser,
    user: &str,
    scopes: &[&str],
) -> (CoreTokenResponse, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).into()));
    }
    let (url, _, nonce) = req.url();
    let back = authorize(browser, url.as_str(), Some((user, GOOD_PASSWORD))).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let h = plain_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&|r| http(h.clone(), r))
        .await
        .expect("token response");
    (tokens, nonce)
}

/// POSTs a form to a protocol endpoint with HTTP Basic client authentication.
pub async fn post(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut req = plain_client().post(app.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
