//! Relying-party fixtures: the `openidconnect` crate over our reqwest client (the way an
//! application would use Watchword), client registration, a browser driver for the
//! authorization flow, and a listener that receives back-channel logout tokens.

use std::sync::Arc;

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, RedirectUrl,
};
use reqwest::StatusCode;
use tokio::sync::{Mutex, mpsc};
use watchword::admin::clients::NewClient;
use watchword::domain::audit::Actor;
use watchword::domain::client::{ClientKind, ClientSettings};

use super::browser::location;
use super::{Browser, TestApp, hidden_field};

/// The client type `from_provider_metadata` produces.
pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The HTTP function openidconnect calls: no redirects followed, as the crate recommends.
pub async fn http(
    client: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut rb = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (name, value) in &parts.headers {
        rb = rb.header(name, value);
    }
    let res = rb.send().await.map_err(|e| HttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        out = out.header(name, value);
    }
    let bytes = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    out.body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn discover(app: &TestApp, tenant: &str) -> CoreProviderMetadata {
    let client = plain_client();
    let issuer = IssuerUrl::new(format!("{}/t/{tenant}", app.base)).unwrap();
    CoreProviderMetadata::discover_async(issuer, &|r| http(client.clone(), r))
        .await
        .expect("discovery succeeds")
}

/// A registered test client.
pub struct Registered {
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

pub const REDIRECT_URI: &str = "https://app.example/callback";

/// Registers a confidential first-party client with the defaults plus `tweak`.
pub async fn register(
    app: &TestApp,
    tenant: &str,
    client_id: &str,
    tweak: impl FnOnce(&mut NewClient),
) -> Registered {
    let t = app.tenant(tenant).await;
    let mut input = NewClient {
        client_id: Some(client_id.into()),
        name: format!("App {client_id}"),
        kind: ClientKind::Confidential,
        auth_method: None,
        settings: ClientSettings {
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            first_party: true,
            ..Default::default()
        },
        secret: None,
    };
    tweak(&mut input);
    let redirect_uri = input
        .settings
        .redirect_uris
        .first()
        .cloned()
        .unwrap_or_default();
    let registered = watchword::admin::clients::create(
        &app.app.ctx,
        &t,
        input,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .expect("client registers");
    Registered {
        client_id: registered.client.client_id,
        secret: registered.secret.map(|s| s.expose().clone()),
        redirect_uri,
    }
}

/// An openidconnect client for a registered client.
pub fn rp(metadata: &CoreProviderMetadata, c: &Registered) -> Rp {
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(c.client_id.clone()),
        c.secret.clone().map(ClientSecret::new),
    );
    if c.redirect_uri.is_empty() {
        client
    } else {
        client.set_redirect_uri(RedirectUrl::new(c.redirect_uri.clone()).unwrap())
    }
}

/// Drives `browser` from an authorization URL to the redirect back to the client, signing in
/// with `login` and approving consent when asked. Returns the final redirect (the client's URL).
pub async fn authorize(browser: &Browser, url: &str, login: Option<(&str, &str)>) -> url::Url {
    let mut next = url.to_owned();
    for _ in 0..12 {
        let res = browser.client.get(&next).send().await.unwrap();
        match res.status() {
            StatusCode::SEE_OTHER | StatusCode::FOUND => {
                let loc = location(&res);
                if loc.starts_with("http") && !loc.starts_with(&browser.base) {
                    return url::Url::parse(&loc).unwrap();
                }
                let path = loc.strip_prefix(&browser.base).unwrap_or(&loc).to_owned();
                if path.contains("/login?") {
                    let (user, password) = login.expect("the flow asked to sign in");
                    let page = browser.get(&path).await.text().await.unwrap();
                    let csrf = hidden_field(&page, "csrf_token").unwrap();
                    let return_to = hidden_field(&page, "return_to")
                        .unwrap()
                        .replace("&amp;", "&");
                    let res = browser
                        .post_form(
                            path.split('?').next().unwrap(),
                            &[
                                ("csrf_token", &csrf),
                                ("identifier", user),
                                ("password", password),
                                ("return_to", &return_to),
                            ],
                        )
                        .await;
                    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in succeeds");
                    next = browser.url(&location(&res));
                } else if path.contains("/authorize/consent?") {
                    let page = browser.get(&path).await.text().await.unwrap();
                    let csrf = hidden_field(&page, "csrf_token").unwrap();
                    let id = hidden_field(&page, "id").unwrap();
                    let res = browser
                        .post_form(
                            path.split('?').next().unwrap(),
                            &[("csrf_token", &csrf), ("id", &id), ("decision", "allow")],
                        )
                        .await;
                    let loc = location(&res);
                    if loc.starts_with("http") {
                        return url::Url::parse(&loc).unwrap();
                    }
                    next = browser.url(&loc);
                } else {
                    next = browser.url(&path);
                }
            }
            other => panic!(
                "unexpected {other} on the way through {next}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    panic!("too many redirects");
}

/// The value of a query parameter.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What a [`Listener`] does with the first requests it receives (later ones are accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers 500 Internal Server Error.
    Fail,
    /// Never answers (the request is held for longer than any delivery timeout).
    Hang,
}

/// One request the listener received, accepted or not.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: std::time::Instant,
    pub logout_token: String,
}

/// Receives back-channel logout requests (the `logout_token` form field of each POST). Made with
/// [`Listener::faulty`], it refuses or holds its first requests, as a broken client would.
pub struct Listener {
    pub uri: String,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
    attempts: Arc<std::sync::Mutex<Vec<Attempt>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Listener {
    /// A listener that accepts every delivery.
    pub async fn start() -> Listener {
        Self::faulty(Fault::Fail, 0).await
    }

    /// A listener whose first `n` requests meet `fault`; only accepted deliveries are handed to
    /// [`Listener::next`], every request is recorded in [`Listener::attempts`].
    pub async fn faulty(fault: Fault, n: usize) -> Listener {
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        let attempts = Arc::new(std::sync::Mutex::new(Vec::<Attempt>::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = attempts.clone();
        let server = actix_web::HttpServer::new(move || {
            let (tx, seen) = (tx.clone(), seen.clone());
            actix_web::App::new().route(
                "/backchannel",
                actix_web::web::post().to(move |body: actix_web::web::Bytes| {
                    let (tx, seen) = (tx.clone(), seen.clone());
                    async move {
                        let token = url::form_urlencoded::parse(&body)
                            .find(|(k, _)| k == "logout_token")
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        let number = {
                            let mut seen = seen.lock().unwrap();
                            seen.push(Attempt {
                                at: std::time::Instant::now(),
                                logout_token: token.clone(),
                            });
                            seen.len()
                        };
                        if number <= n {
                            match fault {
                                Fault::Fail => {
                                    return actix_web::HttpResponse::InternalServerError().finish();
                                }
                                Fault::Hang => {
                                    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                                    return actix_web::HttpResponse::Ok().finish();
                                }
                            }
                        }
                        let _ = tx.send(token);
                        actix_web::HttpResponse::Ok().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Listener {
            uri: format!("http://127.0.0.1:{port}/backchannel"),
            rx: Arc::new(Mutex::new(rx)),
            attempts,
            handle,
        }
    }

    /// The next accepted logout token, waiting up to 10 seconds (delivery is asynchronous).
    pub async fn next(&self) -> Option<String> {
        self.next_within(std::time::Duration::from_secs(10)).await
    }

    /// The next accepted logout token, waiting up to `limit`.
    pub async fn next_within(&self, limit: std::time::Duration) -> Option<String> {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(limit, rx.recv()).await.ok().flatten()
    }

    /// No logout token is accepted within `ms` milliseconds.
    pub async fn quiet_for(&self, ms: u64) -> bool {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(std::time::Duration::from_millis(ms), rx.recv())
            .await
            .is_err()
    }

    /// Every request received so far, in order, refused, held or accepted.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Held requests end with the server.
        drop(self.handle.stop(false));
    }
}
