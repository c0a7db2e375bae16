//! Prepares tokens for the OIDC benchmark against a running Watchword (seeded by
//! `bench/run-oidc.sh`): signs in once, then runs the authorization code flow `N` times in that
//! session (no password hashing after the first) and prints one refresh token per line, then a
//! line `access_token <token>` with one access token for introspection.
//!
//!     cargo run --release --example oidc_setup -- BASE_URL N
//!
//! `WW_FORWARDED` (an `X-Forwarded-For` value, for a server that trusts 127.0.0.1 as its proxy)
//! and `WW_USER_AGENT` set where and on what the grants are issued (their risk baseline).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const CLIENT: &str = "bench-web";
const SECRET: &str = "bench-web-secret-0123456789abcdefghijkl";
const REDIRECT: &str = "https://bench.example/cb";

fn field<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    &html[start..start + html[start..].find('"').unwrap()]
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("usage: oidc_setup BASE_URL N");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(ip) = std::env::var("WW_FORWARDED") {
        headers.insert("x-forwarded-for", ip.parse().expect("WW_FORWARDED"));
    }
    if let Ok(ua) = std::env::var("WW_USER_AGENT") {
        headers.insert("user-agent", ua.parse().expect("WW_USER_AGENT"));
    }
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{base}/t/default/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = http
        .post(format!("{base}/t/default/login"))
        .form(&[
            ("csrf_token", field(&page, "csrf_token")),
            ("identifier", "bench"),
            ("password", "correct horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in");

    let mut access = String::new();
    for _ in 0..n {
        let verifier = URL_SAFE_NO_PAD.encode(watchword::crypto::random::bytes::<32>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let res = http
            .get(format!("{base}/t/default/authorize"))
            .query(&[
                ("client_id", CLIENT),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "openid offline_access"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let back = url::Url::parse(&location(&res)).unwrap();
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("code")
            .1
            .into_owned();
        let tokens: serde_json::Value = http
            .post(format!("{base}/t/default/token"))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        println!(
            "{}",
            tokens["refresh_token"].as_str().expect("refresh token")
        );
        access = tokens["access_token"].as_str().unwrap().to_owned();
    }
    println!("access_token {access}");
}
