//! Where a sign-in came from, coarsely enough to show to someone who may not be the account's
//! owner (the holder of an evicted session's cookie may be the thief): the network, an IPv4 /16
//! ("203.0.x.x") or an IPv6 /32 ("2001:db8::/32"), never the address; and a place in words
//! ("Berlin, DE (AS64500)").

use std::net::{IpAddr, Ipv6Addr};

use super::throttle::canonical;

/// The coarse network of an address as text, or `None` for text that is not an address.
pub fn coarse_network(ip: &str) -> Option<String> {
    let ip: IpAddr = ip.trim().parse().ok()?;
    Some(match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            format!("{a}.{b}.x.x")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], 0, 0, 0, 0, 0, 0);
            format!("{net}/32")
        }
    })
}

/// The approximate place of a sign-in in words: "Berlin, DE (AS64500)", "DE", "unknown".
pub fn words(city: Option<&str>, country: Option<&str>, asn: Option<u32>) -> String {
    let mut words = match (city, country) {
        (Some(city), Some(cc)) => format!("{city}, {cc}"),
        (None, Some(cc)) => cc.to_owned(),
        (Some(city), None) => city.to_owned(),
        (None, None) => "unknown".into(),
    };
    if let Some(asn) = asn {
        words.push_str(&format!(" (AS{asn})"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::{coarse_network, words};

    #[test]
    fn places_in_words() {
        assert_eq!(
            words(Some("Berlin"), Some("DE"), Some(64500)),
            "Berlin, DE (AS64500)"
        );
        assert_eq!(words(None, Some("DE"), None), "DE");
        assert_eq!(words(Some("Berlin"), None, None), "Berlin");
        assert_eq!(words(None, None, Some(1)), "unknown (AS1)");
        assert_eq!(words(None, None, None), "unknown");
    }

    #[test]
    fn keeps_a_slash_16_or_a_slash_32() {
        assert_eq!(coarse_network("203.0.113.77").as_deref(), Some("203.0.x.x"));
        assert_eq!(
            coarse_network("2001:db8:aa:bb::7").as_deref(),
            Some("2001:db8::/32")
        );
        assert_eq!(
            coarse_network("::ffff:198.51.100.9").as_deref(),
            Some("198.51.x.x")
        );
        assert_eq!(coarse_network("not an address"), None);
        assert_eq!(coarse_network(""), None);
    }
}
