//! Who is asking: client IP (believing `X-Forwarded-For` only from configured proxies) and user
//! agent, as an extractor.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;

use super::error::request_id;
use super::state::AppState;
use crate::auth::continuous::Seen;
use crate::domain::audit::Origin;

#[derive(Debug, Clone)]
pub struct Caller {
    pub ip: IpAddr,
    pub user_agent: String,
}

impl Caller {
    /// The caller of `req`, believing `X-Forwarded-For` only from the `trusted` proxies; the
    /// user agent cut to 256 characters.
    pub fn of(req: &HttpRequest, trusted: &[IpNet]) -> Caller {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect();
        Caller {
            ip: client_ip(req, trusted),
            user_agent,
        }
    }

    /// The engine's view of this request (continuous risk evaluation).
    pub fn seen(&self) -> Seen {
        Seen {
            ip: self.ip,
            user_agent: self.user_agent.clone(),
            request_id: Some(request_id()),
        }
    }

    /// The audit origin of this request.
    pub fn origin(&self) -> Origin {
        Origin {
            ip: Some(self.ip.to_string()),
            user_agent: Some(self.user_agent.clone()),
            request_id: Some(request_id()),
        }
    }
}

/// The address of the client: the peer, unless the peer is a trusted proxy, in which case
/// [`forwarded_address`] walks `X-Forwarded-For`.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let headers: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    forwarded_address(peer, &headers, trusted)
}

/// Walks the `X-Forwarded-For` entries (every header, in order) from the right, starting at the
/// peer: each trusted hop passes the walk on to the entry on its left, and the first entry that
/// is not a trusted proxy is the client. An entry that does not parse (`unknown`, an obfuscated
/// identifier, garbage, a header that is not ASCII) ends the walk at the last trusted hop: nothing
/// left of it can be believed. Entries may carry a port (`ip:port`, `[v6]:port`).
pub fn forwarded_address(peer: IpAddr, headers: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut hop = peer;
    if !is_trusted(&hop) {
        return hop;
    }
    for entry in headers.iter().rev().flat_map(|h| h.rsplit(',')) {
        let Some(ip) = parse_entry(entry.trim()) else {
            return hop;
        };
        hop = ip;
        if !is_trusted(&hop) {
            return hop;
        }
    }
    hop
}

/// `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(valid_port);
        return port_ok
            .then(|| inside.parse::<std::net::Ipv6Addr>().ok())
            .flatten()
            .map(IpAddr::V6);
    }
    let (ip, port) = entry.split_once(':')?;
    valid_port(port)
        .then(|| ip.parse::<std::net::Ipv4Addr>().ok())
        .flatten()
        .map(IpAddr::V4)
}

fn valid_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.trusted_proxies.clone())
            .unwrap_or_default();
        ready(Ok(Caller::of(req, &trusted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(peer: &str, headers: &[&str]) -> String {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        forwarded_address(peer.parse().unwrap(), headers, &trusted).to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(walk("198.51.100.1", &["203.0.113.9"]), "198.51.100.1");
    }

    #[test]
    fn the_walk_goes_right_to_left_through_trusted_hops() {
        assert_eq!(walk("10.0.0.1", &["203.0.113.9"]), "203.0.113.9");
        assert_eq!(
            walk("10.0.0.1", &["1.1.1.1, 203.0.113.9, 10.0.0.2"]),
            "203.0.113.9"
        );
        assert_eq!(
            walk("10.0.0.1", &["1.1.1.1", "203.0.113.9, 10.0.0.2"]),
            "203.0.113.9"
        );
        assert_eq!(walk("10.0.0.1", &[]), "10.0.0.1");
        assert_eq!(walk("10.0.0.1", &["10.0.0.3, 10.0.0.2"]), "10.0.0.3");
    }

    #[test]
    fn an_entry_that_does_not_parse_ends_the_walk_at_the_last_trusted_hop() {
        assert_eq!(walk("10.0.0.1", &["203.0.113.9, unknown"]), "10.0.0.1");
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.9, garbage, 10.0.0.2"]),
            "10.0.0.2"
        );
        assert_eq!(walk("10.0.0.1", &["203.0.113.9, "]), "10.0.0.1");
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.9, 1.2.3.4:99999"]),
            "10.0.0.1"
        );
        assert_eq!(walk("10.0.0.1", &["203.0.113.9, [::1]x"]), "10.0.0.1");
        assert_eq!(walk("10.0.0.1", &["203.0.113.9", "\u{0}"]), "10.0.0.1");
    }

    #[test]
    fn ports_are_accepted_in_both_forms() {
        assert_eq!(walk("10.0.0.1", &["198.51.100.7:4711"]), "198.51.100.7");
        assert_eq!(walk("10.0.0.1", &["[2001:db8::1]:443"]), "2001:db8::1");
        assert_eq!(walk("10.0.0.1", &["[2001:db8::1]"]), "2001:db8::1");
        assert_eq!(walk("10.0.0.1", &["2001:db8::1"]), "2001:db8::1");
        assert_eq!(
            walk("fd00::1", &["203.0.113.9, [fd00::2]:80"]),
            "203.0.113.9"
        );
    }
}
