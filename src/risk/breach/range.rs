//! The optional online check against a Pwned-Passwords-compatible range service (k-anonymity):
//! only the first 5 hex characters of the SHA-1 leave the server, always with `Add-Padding:
//! true` (so the reply's size says nothing about the bucket), count-0 (padding) lines are
//! ignored, redirects are not followed, the call is time-boxed and its reply size capped, and
//! each prefix's answer is kept in memory for [`CACHE_SECS`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::SharedClock;

/// How long a prefix's reply is reused.
pub const CACHE_SECS: i64 = 300;
/// Prefixes kept at most (about 30 KB each with padding); beyond, the cache starts over.
const CACHE_MAX: usize = 4096;
/// Largest reply read (a real padded reply is about 40 KB).
const MAX_REPLY_BYTES: usize = 512 * 1024;

/// Counts by the 35-hex-character suffix, padding left out.
type Bucket = Arc<HashMap<String, u64>>;

/// A range-service client with its per-prefix cache.
pub struct RangeClient {
    base: String,
    http: reqwest::Client,
    clock: SharedClock,
    cache: Mutex<HashMap<String, (i64, Bucket)>>,
}

impl std::fmt::Debug for RangeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The service could not answer (network, timeout, status, redirect, reply too large or
/// malformed).
#[derive(Debug)]
pub struct Unavailable(pub String);

impl RangeClient {
    /// A client of the service at `base` (its `/range/{prefix}` is asked).
    pub fn new(base: &url::Url, timeout: Duration, clock: SharedClock) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Watchword/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            base: base.as_str().trim_end_matches('/').to_owned(),
            http,
            clock,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The breach count of `sha1` (0: not listed).
    pub async fn count(&self, sha1: &[u8; 20]) -> Result<u64, Unavailable> {
        let hex = hex::encode_upper(sha1);
        let (prefix, suffix) = hex.split_at(5);
        let bucket = self.bucket(prefix).await?;
        Ok(bucket.get(suffix).copied().unwrap_or(0))
    }

    async fn bucket(&self, prefix: &str) -> Result<Bucket, Unavailable> {
        let now = self.clock.unix();
        if let Some((until, b)) = self.cache.lock().get(prefix)
            && *until > now
        {
            return Ok(b.clone());
        }
        let bucket = Arc::new(self.fetch(prefix).await?);
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(prefix.to_owned(), (now + CACHE_SECS, bucket.clone()));
        Ok(bucket)
    }

    async fn fetch(&self, prefix: &str) -> Result<HashMap<String, u64>, Unavailable> {
        let url = format!("{}/range/{prefix}", self.base);
        let reply = self
            .http
            .get(&url)
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|e| Unavailable(without_url(e)))?;
        let status = reply.status();
        // Redirects are not followed: a 3xx is an unavailable service like any other non-2xx.
        if !status.is_success() {
            return Err(Unavailable(format!("status {status}")));
        }
        let mut body = Vec::new();
        let mut reply = reply;
        while let Some(chunk) = reply
            .chunk()
            .await
            .map_err(|e| Unavailable(without_url(e)))?
        {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(Unavailable("reply too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|_| Unavailable("reply not UTF-8".into()))?;
        parse(text).ok_or_else(|| Unavailable("malformed reply".into()))
    }
}

/// Parses `SUFFIX:COUNT` lines; count-0 lines (padding) are left out. `None` on a malformed line.
pub fn parse(text: &str) -> Option<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (suffix, count) = line.split_once(':')?;
        if suffix.len() != 35 || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let count: u64 = count.trim().parse().ok()?;
        if count > 0 {
            out.insert(suffix.to_ascii_uppercase(), count);
        }
    }
    Some(out)
}

/// A reqwest error without its URL (which holds the prefix, a part of the password's hash).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirected"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}
