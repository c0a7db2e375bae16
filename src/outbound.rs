//! Outbound HTTP to addresses that tenants configure (upstream discovery, JWKS, userinfo, token
//! endpoints, Microsoft Graph, SAML metadata): one client with an SSRF guard. Targets resolving
//! to private, loopback, link-local or carrier-NAT addresses are refused after DNS resolution
//! (and literal addresses before), unless the operator sets `outbound.allow_private_networks`;
//! redirects are never followed; every request is time-boxed and every body size-limited.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::OutboundConfig;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0} is not an allowed target (private or local address)")]
    Forbidden(String),
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("{0}: the response is larger than allowed")]
    TooLarge(String),
    #[error("{url}: status {status}")]
    Status { url: String, status: u16 },
}

/// The guarded client (cheap to clone).
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
    max_bytes: usize,
}

/// A response read in full (within the size limit).
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !forbidden(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(OutboundError::Forbidden(host)) as _);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Addresses never contacted unless allowed: internal ranges (`risk::network::is_internal`),
/// multicast and broadcast, and the documentation-free "this network" block.
pub fn forbidden(ip: IpAddr) -> bool {
    let ip = crate::risk::network::canonical(ip);
    crate::risk::network::is_internal(ip)
        || ip.is_multicast()
        || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

impl Outbound {
    pub fn new(config: &OutboundConfig) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: config.allow_private_networks,
            }))
            .user_agent(concat!("Watchword/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the outbound HTTP client builds");
        Self {
            client,
            allow_private: config.allow_private_networks,
            max_bytes: config.max_response_bytes,
        }
    }

    /// Refuses URLs that are not http(s), and literal addresses in forbidden ranges (names are
    /// checked when they are resolved).
    pub fn check_url(&self, url: &str) -> Result<url::Url, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::BadUrl(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(url.to_owned()));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::BadUrl(url.to_owned())),
        };
        if let Some(ip) = literal
            && !self.allow_private
            && forbidden(ip)
        {
            return Err(OutboundError::Forbidden(ip.to_string()));
        }
        Ok(parsed)
    }

    /// Sends `request` (built from [`Outbound::client`]) after checking its URL; reads the body
    /// up to the size limit.
    pub async fn send(&self, request: reqwest::Request) -> Result<Fetched, OutboundError> {
        let url = request.url().to_string();
        self.check_url(&url)?;
        let failed = |e: reqwest::Error| {
            // The resolver's refusal comes back wrapped: report it as what it is.
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(s) = source {
                if let Some(OutboundError::Forbidden(host)) = s.downcast_ref::<OutboundError>() {
                    return OutboundError::Forbidden(host.clone());
                }
                source = s.source();
            }
            OutboundError::Failed {
                url: strip_query(&url),
                reason: e.without_url().to_string(),
            }
        };
        let mut res = self.client.execute(request).await.map_err(failed)?;
        if res
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(OutboundError::TooLarge(strip_query(&url)));
        }
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(OutboundError::TooLarge(strip_query(&url)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body,
        })
    }

    /// GET a JSON document (2xx only).
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, OutboundError> {
        let request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .build()
            .map_err(|_| OutboundError::BadUrl(url.to_owned()))?;
        let fetched = self.send(request).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(OutboundError::Status {
                url: strip_query(url),
                status: fetched.status,
            });
        }
        serde_json::from_slice(&fetched.body).map_err(|e| OutboundError::Failed {
            url: strip_query(url),
            reason: format!("not JSON: {e}"),
        })
    }

    /// The underlying client, to build requests with (send them through [`Outbound::send`]).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The function the `openidconnect` crate calls for its requests.
    pub async fn openidconnect(
        &self,
        req: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, OutboundError> {
        let (parts, body) = req.into_parts();
        let url = parts.uri.to_string();
        let mut rb = self.client.request(parts.method, &url).body(body);
        for (name, value) in &parts.headers {
            rb = rb.header(name, value);
        }
        let request = rb.build().map_err(|_| OutboundError::BadUrl(url.clone()))?;
        let fetched = self.send(request).await?;
        let mut out = openidconnect::http::Response::builder().status(fetched.status);
        for (name, value) in &fetched.headers {
            out = out.header(name, value);
        }
        out.body(fetched.body).map_err(|e| OutboundError::Failed {
            url: strip_query(&url),
            reason: e.to_string(),
        })
    }
}

/// A URL for logs and errors: without its query (which may carry codes or tokens).
fn strip_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded() -> Outbound {
        Outbound::new(&OutboundConfig::default())
    }

    #[test]
    fn literal_internal_addresses_are_refused_unless_allowed() {
        let o = guarded();
        for url in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:192.168.0.1]/",
            "http://100.64.1.1/",
            "http://0.0.0.0/",
        ] {
            assert!(
                matches!(o.check_url(url), Err(OutboundError::Forbidden(_))),
                "{url}"
            );
        }
        assert!(matches!(
            o.check_url("file:///etc/passwd"),
            Err(OutboundError::BadUrl(_))
        ));
        assert!(o.check_url("https://login.example.com/x").is_ok());
        let open = Outbound::new(&OutboundConfig {
            allow_private_networks: true,
            ..OutboundConfig::default()
        });
        assert!(open.check_url("http://127.0.0.1/x").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_after_resolution() {
        let o = guarded();
        let err = o.get_json("http://localhost:9/x").await.unwrap_err();
        assert!(matches!(err, OutboundError::Forbidden(_)), "{err}");
    }
}
