//! Networks of client addresses: whether an address is internal (never placed, never "new
//! country"), whether two addresses share a network (/24 for IPv4, /48 for IPv6, so a new
//! GeoIP answer for the same network is not travel), and the optional list of anonymiser and
//! hosting ranges (`[risk] network_list`).
//!
//! The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are
//! public here on purpose: the tests map them to places.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// What kind of network an address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// Private, loopback, link-local, carrier NAT, unique local or unspecified.
    Internal,
    /// An ordinary public address.
    Public,
    /// Listed as an anonymiser (VPN, Tor exit, open proxy).
    Anonymizer,
    /// Listed as hosting (data centre, cloud provider).
    Hosting,
}

/// The address as IPv4 when it is an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether the address is internal: RFC 1918, loopback, link-local, `100.64.0.0/10` (carrier
/// NAT), `fc00::/7`, unspecified, and the IPv4-mapped forms of these.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_internal(v4),
        IpAddr::V6(v6) => v6_internal(v6),
    }
}

fn v4_internal(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || (a == 100 && (64..128).contains(&b))
        || a == 0
}

fn v6_internal(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
}

/// Whether two addresses are in the same /24 (IPv4) or /48 (IPv6); never across families.
pub fn same_network(a: IpAddr, b: IpAddr) -> bool {
    match (canonical(a), canonical(b)) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets()[..3] == b.octets()[..3],
        (IpAddr::V6(a), IpAddr::V6(b)) => a.segments()[..3] == b.segments()[..3],
        _ => false,
    }
}

/// The label of a range in the network list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeLabel {
    Anonymizer,
    Hosting,
}

/// A line of the network list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ListError {
    pub line: usize,
    pub message: String,
}

/// Anonymiser and hosting ranges, looked up in time proportional to the number of distinct
/// prefix lengths (at most 33 + 129), whatever the number of ranges.
#[derive(Debug, Default)]
pub struct RangeList {
    /// Prefix length → network addresses (IPv4 in the IPv4-mapped IPv6 space) → label.
    by_len: HashMap<u8, HashMap<u128, RangeLabel>>,
    /// The prefix lengths present, longest first (the most specific range wins).
    lengths: Vec<u8>,
    count: usize,
}

impl RangeList {
    /// Parses the list: one `CIDR LABEL` per line (`203.0.113.0/24 anonymizer`, a bare address
    /// is a single host), label `anonymizer` or `hosting`; `#` starts a comment; blank lines
    /// are ignored. The error names the line.
    pub fn parse(text: &str) -> Result<Self, ListError> {
        let mut list = Self::default();
        let mut lengths = HashSet::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let err = |message: String| ListError { line, message };
            let mut words = content.split_whitespace();
            let (Some(range), Some(label), None) = (words.next(), words.next(), words.next())
            else {
                return Err(err(format!(
                    "expected `CIDR LABEL` (label anonymizer or hosting), found `{content}`"
                )));
            };
            let net = parse_range(range)
                .ok_or_else(|| err(format!("`{range}` is not an address or CIDR range")))?;
            let label = match label.to_ascii_lowercase().as_str() {
                "anonymizer" => RangeLabel::Anonymizer,
                "hosting" => RangeLabel::Hosting,
                other => {
                    return Err(err(format!(
                        "unknown label `{other}` (expected anonymizer or hosting)"
                    )));
                }
            };
            let (key, len) = key_of(net);
            lengths.insert(len);
            list.by_len.entry(len).or_default().insert(key, label);
            list.count += 1;
        }
        list.lengths = lengths.into_iter().collect();
        list.lengths.sort_unstable_by(|a, b| b.cmp(a));
        Ok(list)
    }

    /// The label of the most specific listed range holding `ip`.
    pub fn label_of(&self, ip: IpAddr) -> Option<RangeLabel> {
        let addr = as_u128(ip);
        self.lengths.iter().find_map(|&len| {
            let key = mask(addr, len);
            self.by_len.get(&len).and_then(|m| m.get(&key)).copied()
        })
    }

    /// How many ranges were read.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Classifies an address: internal first, then the list (when there is one), else public.
pub fn classify(ip: IpAddr, list: Option<&RangeList>) -> NetworkKind {
    if is_internal(ip) {
        return NetworkKind::Internal;
    }
    match list.and_then(|l| l.label_of(ip)) {
        Some(RangeLabel::Anonymizer) => NetworkKind::Anonymizer,
        Some(RangeLabel::Hosting) => NetworkKind::Hosting,
        None => NetworkKind::Public,
    }
}

fn parse_range(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

/// The range's key: its network address in the IPv6 space (IPv4 mapped) and its prefix length
/// there.
fn key_of(net: IpNet) -> (u128, u8) {
    let (addr, len) = match net {
        IpNet::V4(v4) => (IpAddr::V4(v4.network()), v4.prefix_len() + 96),
        IpNet::V6(v6) => (IpAddr::V6(v6.network()), v6.prefix_len()),
    };
    (mask(as_u128(addr), len), len)
}

fn as_u128(ip: IpAddr) -> u128 {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn mask(addr: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => addr,
        l => addr & (u128::MAX << (128 - u32::from(l))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classification_table() {
        let internal = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.10.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:192.168.0.1",
            "::ffff:127.0.0.1",
            "::ffff:100.64.1.1",
        ];
        for a in internal {
            assert!(is_internal(ip(a)), "{a} is internal");
            assert_eq!(classify(ip(a), None), NetworkKind::Internal, "{a}");
        }
        let public = [
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.200",
            "2001:db8::1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2a00:1450::1",
            "::ffff:192.0.2.1",
            "::ffff:8.8.8.8",
        ];
        for a in public {
            assert!(!is_internal(ip(a)), "{a} is public");
            assert_eq!(classify(ip(a), None), NetworkKind::Public, "{a}");
        }
    }

    #[test]
    fn same_network_is_slash_24_and_slash_48() {
        assert!(same_network(ip("192.0.2.1"), ip("192.0.2.254")));
        assert!(same_network(ip("::ffff:192.0.2.1"), ip("192.0.2.9")));
        assert!(!same_network(ip("192.0.2.1"), ip("192.0.3.1")));
        assert!(same_network(ip("2001:db8:1::1"), ip("2001:db8:1:ffff::2")));
        assert!(!same_network(ip("2001:db8:1::1"), ip("2001:db8:2::1")));
        assert!(!same_network(ip("192.0.2.1"), ip("2001:db8::1")));
    }

    #[test]
    fn the_list_is_parsed_and_looked_up() {
        let list = RangeList::parse(
            "# anonymisers\n203.0.113.0/24 anonymizer\n\n203.0.113.128/25 hosting  # more specific\n2001:db8:ff::/48 Hosting\n198.51.100.7 anonymizer\n",
        )
        .unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.label_of(ip("203.0.113.1")),
            Some(RangeLabel::Anonymizer)
        );
        assert_eq!(
            list.label_of(ip("203.0.113.200")),
            Some(RangeLabel::Hosting)
        );
        assert_eq!(
            list.label_of(ip("::ffff:203.0.113.1")),
            Some(RangeLabel::Anonymizer)
        );
        assert_eq!(
            list.label_of(ip("2001:db8:ff:1::1")),
            Some(RangeLabel::Hosting)
        );
        assert_eq!(
            list.label_of(ip("198.51.100.7")),
            Some(RangeLabel::Anonymizer)
        );
        assert_eq!(list.label_of(ip("198.51.100.8")), None);
        assert_eq!(
            classify(ip("203.0.113.1"), Some(&list)),
            NetworkKind::Anonymizer
        );
        assert_eq!(classify(ip("10.0.0.1"), Some(&list)), NetworkKind::Internal);
    }

    #[test]
    fn list_errors_name_the_line() {
        for (text, line, needle) in [
            (
                "192.0.2.0/24 anonymizer\n192.0.2.0/33 hosting",
                2,
                "not an address",
            ),
            ("# c\n\n192.0.2.0/24", 3, "expected `CIDR LABEL`"),
            ("192.0.2.0/24 tor", 1, "unknown label `tor`"),
            ("192.0.2.0/24 hosting extra", 1, "expected"),
        ] {
            let e = RangeList::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(e.to_string().contains(needle), "{e}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
        }
    }
}
