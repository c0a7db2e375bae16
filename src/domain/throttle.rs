//! Brute-force protection rules per tenant: how many failed attempts are evaluated, the
//! progressive delay, temporary locks, and the network allow/deny lists. The counting itself is
//! `crate::auth::throttle`.
//!
//! No malicious lockout (ASVS 6.3, OWASP "device cookies"): a browser that signed in to an account
//! before carries a signed known-device cookie, and an address where the account signed in before
//! is a known network. Their attempts are counted apart from everyone else's, so an attacker who
//! exhausts the account's budget for unknown devices does not lock the real user out of theirs.
//! Known networks share one smaller budget per account of their own (a network is many people);
//! only a known device escapes every account-wide cap. An IPv6 address counts as its /64 (one
//! subscriber), an IPv4 address as itself.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Limits on failed sign-in attempts. "Per hour" is a sliding hour (see [`window_wait`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Failed attempts per account per hour evaluated from unknown devices and networks; beyond
    /// it, they are refused without checking the password (default 100, the ASVS maximum).
    pub account_failures_per_hour: u32,
    /// Failed attempts per account and address before each further attempt must wait (default 3).
    pub free_failures: u32,
    /// The longest wait between attempts, in seconds (default 60); waits double from 1 second.
    pub max_delay_secs: u32,
    /// Failed attempts per account and address in an hour that lock that pair (default 20)...
    pub pair_lock_failures: u32,
    /// ...for this many seconds (default 900).
    pub pair_lock_secs: u32,
    /// Failed attempts from one address, over all accounts, per hour (default 300).
    pub ip_failures_per_hour: u32,
    /// Failed attempts per account per hour evaluated from all its known networks together (their
    /// own budget, apart from `account_failures_per_hour`; default 20).
    pub known_network_failures_per_hour: u32,
    /// Failed attempts per known device (browser with a known-device cookie) per hour (default 20).
    pub device_failures_per_hour: u32,
    /// Failed client authentications per client and address per hour at the token,
    /// introspection and revocation endpoints (default 20), with the same progressive delay.
    pub client_failures_per_hour: u32,
    /// How long a browser and a network stay known after a successful sign-in (default 90 days).
    pub known_for_days: u32,
    /// Wrong second-factor codes (TOTP, recovery) per user per hour before they are refused
    /// (default 20), with the same progressive delay per user and address.
    pub second_factor_failures_per_hour: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_failures_per_hour: 100,
            free_failures: 3,
            max_delay_secs: 60,
            pair_lock_failures: 20,
            pair_lock_secs: 900,
            ip_failures_per_hour: 300,
            known_network_failures_per_hour: 20,
            device_failures_per_hour: 20,
            client_failures_per_hour: 20,
            known_for_days: 90,
            second_factor_failures_per_hour: 20,
        }
    }
}

impl ThrottlePolicy {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let checks: [(&str, u32, u32, u32); 11] = [
            (
                "account_failures_per_hour",
                self.account_failures_per_hour,
                1,
                100,
            ),
            ("free_failures", self.free_failures, 0, 100),
            ("max_delay_secs", self.max_delay_secs, 1, 3600),
            ("pair_lock_failures", self.pair_lock_failures, 1, 1000),
            ("pair_lock_secs", self.pair_lock_secs, 1, 86_400),
            (
                "ip_failures_per_hour",
                self.ip_failures_per_hour,
                1,
                1_000_000,
            ),
            (
                "known_network_failures_per_hour",
                self.known_network_failures_per_hour,
                1,
                100,
            ),
            (
                "device_failures_per_hour",
                self.device_failures_per_hour,
                1,
                1000,
            ),
            (
                "client_failures_per_hour",
                self.client_failures_per_hour,
                1,
                100_000,
            ),
            ("known_for_days", self.known_for_days, 1, 400),
            (
                "second_factor_failures_per_hour",
                self.second_factor_failures_per_hour,
                1,
                1000,
            ),
        ];
        for (field, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err((field.into(), format!("must be between {min} and {max}")));
            }
        }
        Ok(())
    }

    /// How long to wait after the `failures`-th failed attempt of a pair before the next one is
    /// evaluated: nothing for the first `free_failures`, then 1, 2, 4, ... up to `max_delay_secs`.
    pub fn delay_after(&self, failures: u64) -> u64 {
        let over = failures.saturating_sub(u64::from(self.free_failures));
        if over == 0 {
            return 0;
        }
        let doubling = 1u64 << (over - 1).min(20);
        doubling.min(u64::from(self.max_delay_secs))
    }
}

/// Length of the counting windows.
pub const WINDOW_SECS: i64 = 3600;

/// Whether another failure may be evaluated under a limit of `limit` failures per hour, given
/// the failures counted in the previous fixed window (`previous`) and the current one
/// (`current`), `into` seconds into the current window. The hour before now is estimated by
/// weighting the previous window by the part of it still inside that hour (a sliding window),
/// so that no hour, however placed, sees more than about `limit` failures evaluated. `None`:
/// allowed; `Some(secs)`: refused for that long.
pub fn window_wait(limit: u32, previous: u64, current: u64, into: i64) -> Option<u64> {
    if under(limit, previous, current, into) {
        return None;
    }
    let (limit, prev, cur) = (f64::from(limit), previous as f64, current as f64);
    let w = WINDOW_SECS as f64;
    let into = (into.clamp(0, WINDOW_SECS - 1)) as f64;
    let wait = if cur < limit {
        // Later in this window, once the previous window's weight has decayed enough.
        (w - into - (limit - cur) * w / prev).floor() + 1.0
    } else {
        // In the next window, once this window's weight has decayed enough.
        (w - into) + (w * (cur - limit) / cur).floor() + 1.0
    };
    Some(wait.max(1.0) as u64)
}

/// Whether the sliding estimate of the last hour stays under `limit` (see [`window_wait`]).
fn under(limit: u32, previous: u64, current: u64, into: i64) -> bool {
    let w = WINDOW_SECS as f64;
    let into = (into.clamp(0, WINDOW_SECS - 1)) as f64;
    previous as f64 * (w - into) / w + (current as f64) < f64::from(limit)
}

/// The bound the current window's count must stay below for one more failure to be evaluated,
/// for an atomic bounded increment: `window_wait(limit, previous, c, into)` is `None` exactly
/// when `c < window_room(limit, previous, into)`.
pub fn window_room(limit: u32, previous: u64, into: i64) -> u64 {
    let w = WINDOW_SECS as f64;
    let weighted = previous as f64 * (w - (into.clamp(0, WINDOW_SECS - 1)) as f64) / w;
    let mut room = (f64::from(limit) - weighted).ceil().max(0.0) as u64;
    // Float rounding: settle on the exact boundary of `under`.
    while room > 0 && !under(limit, previous, room - 1, into) {
        room -= 1;
    }
    while under(limit, previous, room, into) {
        room += 1;
    }
    room
}

/// Which addresses may use a tenant's pages for people (sign-in, authorization, account,
/// sign-out). Application servers' endpoints (token, introspection, revocation, userinfo) are
/// not restricted: client authentication and its throttling protect them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkPolicy {
    /// If not empty, only these addresses or ranges are served.
    #[serde(deserialize_with = "addresses_or_ranges")]
    pub allow: Vec<IpNet>,
    /// These addresses or ranges are refused (checked after `allow`).
    #[serde(deserialize_with = "addresses_or_ranges")]
    pub deny: Vec<IpNet>,
}

impl NetworkPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        (self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip)))
            && !self.deny.iter().any(|n| n.contains(&ip))
    }
}

/// A list of addresses (`192.0.2.7`) or CIDR ranges (`10.0.0.0/8`), as ranges.
pub fn addresses_or_ranges<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!("{s:?} is not an IP address or CIDR range"))
                })
        })
        .collect()
}

/// IPv4-mapped IPv6 addresses as IPv4, so one rule covers both spellings.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What counts as one address for the per-address counters and waits: an IPv4 address itself,
/// an IPv6 address its /64 (what one subscriber or host gets: counting each of its 2^64
/// addresses apart would let one attacker rotate past every per-address limit).
pub fn address_of(ip: IpAddr) -> IpNet {
    let ip = canonical(ip);
    let prefix = if ip.is_ipv4() { 32 } else { 64 };
    IpNet::new(ip, prefix).map_or_else(|_| IpNet::from(ip), |n| n.trunc())
}

/// The network an address belongs to for "known network" purposes: its /24 (IPv4) or /56 (IPv6).
pub fn network_of(ip: IpAddr) -> IpNet {
    let ip = canonical(ip);
    let prefix = if ip.is_ipv4() { 24 } else { 56 };
    IpNet::new(ip, prefix).map_or_else(|_| IpNet::from(ip), |n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_after_the_free_attempts_up_to_the_cap() {
        let p = ThrottlePolicy::default();
        let delays: Vec<u64> = (1..=12).map(|n| p.delay_after(n)).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.delay_after(10_000), 60);
    }

    #[test]
    fn sliding_windows_cap_any_hour() {
        // Nothing yet, or below the limit: allowed.
        assert_eq!(window_wait(100, 0, 0, 0), None);
        assert_eq!(window_wait(100, 0, 99, 10), None);
        // The limit reached in this window: refused until the next window has let enough of
        // this one's weight go (here: all of it, as 100 of 100 leaves no room).
        assert_eq!(window_wait(100, 0, 100, 600), Some(3000 + 1));
        // 150 failures last window, 0 now, 30 min in: estimated 75 -> allowed.
        assert_eq!(window_wait(100, 150, 0, 1800), None);
        // 100 last window, 50 now, 30 min in: estimated 100 -> refused until the previous
        // window weighs less than 50, a second later.
        assert_eq!(window_wait(100, 100, 50, 1800), Some(1));
        // 200 last window, 80 now, 10 min in: estimated 246 -> the previous window must weigh
        // less than 20, i.e. 54 min in.
        assert_eq!(window_wait(100, 200, 80, 600), Some(2641));
        // An attacker at the limit in the previous window just before the boundary gets one
        // more right after it (the estimate rounds down), then nothing.
        assert!(window_wait(100, 100, 1, 5).is_some());
        // Every hour-long span sees at most the limit: simulate one failure a minute for 5
        // hours whenever allowed, and count failures in every 60-minute span.
        let mut evaluated: Vec<i64> = Vec::new();
        for t in (0..5 * 3600).step_by(20) {
            let w = t / WINDOW_SECS;
            let count = |win: i64| {
                evaluated
                    .iter()
                    .filter(|&&e| e / WINDOW_SECS == win)
                    .count() as u64
            };
            if window_wait(100, count(w - 1), count(w), t % WINDOW_SECS).is_none() {
                evaluated.push(t);
            }
        }
        for start in (0..4 * 3600).step_by(60) {
            let n = evaluated
                .iter()
                .filter(|&&e| e >= start && e < start + 3600)
                .count();
            assert!(
                n <= 101,
                "{n} failures between {start} and {}",
                start + 3600
            );
        }
        assert!(
            evaluated.len() >= 400,
            "and the limit is usable: {}",
            evaluated.len()
        );
    }

    #[test]
    fn allow_and_deny_lists() {
        let open = NetworkPolicy::default();
        assert!(open.permits("203.0.113.9".parse().unwrap()));
        let p = NetworkPolicy {
            allow: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            deny: vec!["10.6.6.0/24".parse().unwrap()],
        };
        assert!(p.permits("10.1.2.3".parse().unwrap()));
        assert!(p.permits("::ffff:10.1.2.3".parse().unwrap()), "mapped IPv4");
        assert!(p.permits("2001:db8::1".parse().unwrap()));
        assert!(
            !p.permits("10.6.6.6".parse().unwrap()),
            "denied inside the allowed range"
        );
        assert!(
            !p.permits("192.0.2.1".parse().unwrap()),
            "outside the allow list"
        );
        let p: NetworkPolicy =
            serde_json::from_str(r#"{"deny":["192.0.2.7","198.51.100.0/24"]}"#).unwrap();
        assert!(!p.permits("192.0.2.7".parse().unwrap()));
        assert!(p.permits("192.0.2.8".parse().unwrap()));
        assert!(serde_json::from_str::<NetworkPolicy>(r#"{"deny":["nope"]}"#).is_err());
    }

    #[test]
    fn networks_are_slash_24_and_slash_56() {
        assert_eq!(
            network_of("192.0.2.77".parse().unwrap()).to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            network_of("2001:db8:1:2ff::9".parse().unwrap()).to_string(),
            "2001:db8:1:200::/56"
        );
    }

    #[test]
    fn window_room_is_the_bound_of_window_wait() {
        for limit in [1, 3, 20, 100, 300] {
            for previous in [0, 1, 7, 19, 20, 50, 99, 100, 150, 1000] {
                for into in [0, 1, 5, 600, 1799, 1800, 2641, 3599, 3600, -5] {
                    let room = window_room(limit, previous, into);
                    for current in 0..=u64::from(limit) + 3 {
                        assert_eq!(
                            window_wait(limit, previous, current, into).is_none(),
                            current < room,
                            "limit {limit}, previous {previous}, current {current}, into {into}"
                        );
                    }
                }
            }
        }
        assert_eq!(window_room(100, 0, 0), 100);
        assert_eq!(window_room(100, 100, 1800), 50);
        assert_eq!(window_room(100, 1000, 0), 0);
    }

    #[test]
    fn addresses_are_ipv4_or_ipv6_slash_64() {
        assert_eq!(
            address_of("192.0.2.77".parse().unwrap()).to_string(),
            "192.0.2.77/32"
        );
        assert_eq!(
            address_of("::ffff:192.0.2.77".parse().unwrap()).to_string(),
            "192.0.2.77/32"
        );
        assert_eq!(
            address_of("2001:db8:1:2ff:aaaa::9".parse().unwrap()).to_string(),
            "2001:db8:1:2ff::/64"
        );
    }

    #[test]
    fn bounds() {
        assert!(ThrottlePolicy::default().validate().is_ok());
        let p = ThrottlePolicy {
            account_failures_per_hour: 101,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().0, "account_failures_per_hour");
    }
}
