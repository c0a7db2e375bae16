//! A browser stand-in: keeps cookies, never follows redirects (tests look at them), and knows how
//! to fill in Watchword's forms.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};

use super::hidden_field;

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::with_user_agent(
            base,
            "watchword-tests/1.0 (X11; Linux x86_64) Firefox/140.0",
        )
    }

    /// A browser that introduces itself as `user_agent` (a device, for session lists).
    pub fn with_user_agent(base: &str, user_agent: &str) -> Self {
        Self::build(base, user_agent, None)
    }

    /// A browser at address `ip`, as a trusted proxy in front of Watchword reports it
    /// (`X-Forwarded-For`; the server must trust 127.0.0.1 as a proxy).
    pub fn at(base: &str, user_agent: &str, ip: &str) -> Self {
        Self::build(base, user_agent, Some(ip))
    }

    fn build(base: &str, user_agent: &str, ip: Option<&str>) -> Self {
        let jar = Arc::new(Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(ip) = ip {
            headers.insert("x-forwarded-for", ip.parse().unwrap());
        }
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent.to_owned())
            .default_headers(headers)
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base: base.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Loads a page and returns the CSRF token of its form.
    pub async fn csrf(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        let html = res.text().await.unwrap();
        hidden_field(&html, "csrf_token").expect("page has a CSRF token")
    }

    /// Fills in and submits the sign-in form of `tenant`.
    pub async fn sign_in(&self, tenant: &str, identifier: &str, password: &str) -> Response {
        self.sign_in_to(tenant, identifier, password, "").await
    }

    pub async fn sign_in_to(
        &self,
        tenant: &str,
        identifier: &str,
        password: &str,
        return_to: &str,
    ) -> Response {
        let path = format!("/t/{tenant}/login");
        let csrf = self.csrf(&path).await;
        self.post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("identifier", identifier),
                ("password", password),
                ("return_to", return_to),
            ],
        )
        .await
    }

    /// The value of a cookie this browser holds, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Puts a cookie into this browser (e.g. a stolen or forged one).
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.base.parse().unwrap();
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }
}

/// The `Location` header of a redirect.
pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
