//! A certified OpenID Connect provider as the upstream: panva's `oidc-provider` (npm, run with
//! the machine's Node from `tests/e2e/node_modules`), its development sign-in and consent
//! pages, PKCE, RFC 9207 `iss` in the answer, RS256 ID tokens: a federated sign-in end to end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use watchword::domain::idp::{IdpKind, IdpSettings};

use super::{create_idp, identities, user_named};
use crate::common::browser::location;
use crate::common::{Browser, TestApp};

const SECRET: &str = "a client secret for the certified provider 0123456789";

struct Provider {
    child: Child,
    issuer: String,
    /// Kept open: the provider dies of a closed pipe if it writes again.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts the provider for a client whose redirect URI is `redirect_uri`.
    fn start(redirect_uri: &str) -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e");
        assert!(
            std::path::Path::new(&format!("{dir}/node_modules/oidc-provider")).exists(),
            "oidc-provider is not installed: run `npm ci --prefix tests/e2e` (CI does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg(format!("{dir}/oidc_provider.mjs"))
            .args([&port.to_string(), redirect_uri, SECRET])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (install Node.js)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        Self {
            child,
            issuer,
            _stdout: stdout,
        }
    }
}

/// `location` resolved against the address it answered.
fn absolute(from: &str, location: &str) -> String {
    url::Url::parse(from)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// The hidden `prompt` of an interaction page and its form's action.
fn interaction(page: &str) -> (String, String) {
    let prompt = crate::common::hidden_field(page, "prompt").expect("an interaction form");
    let start = page.find("action=\"").unwrap() + "action=\"".len();
    let action = page[start..start + page[start..].find('"').unwrap()].to_owned();
    (prompt, action)
}

#[tokio::test]
async fn a_certified_provider_signs_people_in() {
    let down = TestApp::builder()
        .tweak(|c| c.outbound.allow_private_networks = true)
        .start()
        .await;
    let provider = Provider::start(&down.url("/t/default/idp/certified/callback"));
    let settings: IdpSettings = serde_json::from_value(serde_json::json!({
        // The provider puts profile and e-mail claims in userinfo only (as the specification
        // prefers): read it.
        "oidc": { "issuer": provider.issuer, "client_id": "watchword", "userinfo": true },
    }))
    .unwrap();
    create_idp(
        &down,
        "certified",
        IdpKind::Oidc,
        settings,
        Some(SECRET.into()),
    )
    .await;

    let b = Browser::new(&down.base);
    let res = b.get("/t/default/idp/certified/start").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut next = location(&res);
    assert!(next.starts_with(&provider.issuer), "{next}");
    let mut back = None;
    for _ in 0..12 {
        if next.starts_with(&down.base) {
            back = Some(next.clone());
            break;
        }
        let res = b.client.get(&next).send().await.unwrap();
        if res.status().is_redirection() {
            next = absolute(&next, &location(&res));
            continue;
        }
        assert_eq!(res.status(), StatusCode::OK, "{next}");
        let page = res.text().await.unwrap();
        let (prompt, action) = interaction(&page);
        let fields: Vec<(&str, &str)> = match prompt.as_str() {
            "login" => vec![("prompt", "login"), ("login", "carol"), ("password", "x")],
            _ => vec![("prompt", prompt.as_str())],
        };
        let res = b.client.post(&action).form(&fields).send().await.unwrap();
        assert!(res.status().is_redirection(), "{prompt}: {}", res.status());
        next = absolute(&action, &location(&res));
    }
    let back = back.expect("the provider sent the browser back");
    assert!(back.contains("iss="), "RFC 9207 iss in the answer: {back}");
    let res = b.client.get(&back).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(location(&res), "/t/default/");
    assert!(b.cookie("ww-session-default").is_some());
    let carol = user_named(&down, "carol")
        .await
        .expect("created just in time");
    assert_eq!(carol.email.as_deref(), Some("carol@certified.example"));
    assert_eq!(identities(&down, &carol).await, 1);
}
