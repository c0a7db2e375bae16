//! Shared test fixtures: the `TestApp` builder, a cookie-carrying browser, a TCP proxy that can
//! simulate outages, the captured server log, and helpers to run the real binary.

pub mod backend;
pub mod binary;
pub mod browser;
pub mod cluster;
pub mod logs;
pub mod oidc;
pub mod proxy;
pub mod redis_server;
pub mod smtp;
pub mod test_app;

pub use browser::Browser;
pub use test_app::TestApp;

/// The PostgreSQL server to test against, if any (`WATCHWORD_TEST_DATABASE_URL`).
///
/// Without an explicit `sslmode` the tests connect in plain text: the test process ends while
/// in-process servers still hold pooled connections on other threads, and libpq's OpenSSL
/// clean-up at exit then races those threads freeing their TLS state ("double free or
/// corruption" after every test had passed). A server process drains before it exits, so this
/// concerns the test harness only; a URL that names `sslmode` is used as given.
pub fn test_database_url() -> Option<String> {
    std::env::var("WATCHWORD_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|url| {
            if url.contains("sslmode=") {
                url
            } else {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}sslmode=disable")
            }
        })
}

/// The Redis server to test against, if any (`WATCHWORD_TEST_REDIS_URL`).
pub fn test_redis_url() -> Option<String> {
    std::env::var("WATCHWORD_TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Asserts a clean "try again later" answer to a request that needed an unavailable store: 503
/// with `Retry-After` (never a 500 or a hang); returns the body.
pub async fn assert_clear_503(res: reqwest::Response, what: &str) -> String {
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "{what}: a clear 503, not a 500"
    );
    assert!(
        res.headers().get("retry-after").is_some(),
        "{what}: Retry-After"
    );
    res.text().await.unwrap()
}

/// The PostgreSQL server of a test that needs one (`needs_pg` modules): panics without it, since
/// `scripts/test` selects such tests only where it is configured.
pub fn required_database_url() -> String {
    test_database_url().expect("this test needs PostgreSQL: set WATCHWORD_TEST_DATABASE_URL")
}

/// The Redis server of a test that needs one (`needs_redis` modules): panics without it.
pub fn required_redis_url() -> String {
    test_redis_url().expect("this test needs Redis: set WATCHWORD_TEST_REDIS_URL")
}

/// A password that passes the default policy.
pub const GOOD_PASSWORD: &str = "correct horse battery staple";

/// Extracts the value of a hidden form field from a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
