//! From signals to a level, at the sign-in's two points: [`before_password`] (blocked and skipped
//! ranges, anonymiser and hosting networks, password spraying: what needs no user, so a block
//! here costs no hashing) and [`after_password`] (device, place, travel, failures on the account,
//! breached password, against the user's [`Profile`]). Pure: the engine (`crate::auth::risk`)
//! gathers the facts. The weights are summed and compared with the tenant's thresholds; decisive
//! signals make the level high by themselves. Every assessment keeps its signals (the reasons).

use std::net::IpAddr;

use serde_json::json;

use super::network::NetworkKind;
use super::place::Place;
use super::profile::Profile;
use super::travel::{self, End, TravelRules};
use super::{Reason, Signal};
use crate::domain::risk::{Level, RiskPolicy};

pub const WEIGHT_NEW_DEVICE: u8 = 20;
pub const WEIGHT_NEW_USER_AGENT: u8 = 5;
pub const WEIGHT_NEW_COUNTRY: u8 = 35;
pub const WEIGHT_NEW_ASN: u8 = 15;
pub const WEIGHT_GEO_UNKNOWN: u8 = 5;
pub const WEIGHT_ACCOUNT_FAILURES: u8 = 20;
pub const WEIGHT_ADDRESS_FAILURES: u8 = 15;
pub const WEIGHT_SPRAYING: u8 = 70;
pub const WEIGHT_BREACHED: u8 = 50;

/// A level and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub level: Level,
    pub score: u32,
    pub signals: Vec<Signal>,
    /// The address is in a blocked range: refused whatever the level's action.
    pub blocked: bool,
    /// The address is in a skipped range: not scored (low).
    pub skipped: bool,
}

impl Assessment {
    pub fn has(&self, reason: Reason) -> bool {
        self.signals.iter().any(|s| s.code == reason)
    }

    pub fn reasons(&self) -> Vec<&'static str> {
        self.signals.iter().map(|s| s.code.as_str()).collect()
    }

    fn add(&mut self, signal: Signal) {
        match self.signals.iter_mut().find(|s| s.code == signal.code) {
            Some(old) if old.weight >= signal.weight => {}
            Some(old) => *old = signal,
            None => self.signals.push(signal),
        }
    }

    fn settle(mut self, policy: &RiskPolicy) -> Self {
        self.score = self.signals.iter().map(|s| u32::from(s.weight)).sum();
        let decisive = self
            .signals
            .iter()
            .any(|s| matches!(s.code, Reason::ImpossibleTravel | Reason::PasswordSpraying));
        let t = &policy.thresholds;
        self.level = if self.blocked || decisive || self.score >= t.high {
            Level::High
        } else if self.skipped {
            Level::Low
        } else if self.score >= t.medium {
            Level::Medium
        } else {
            Level::Low
        };
        self
    }
}

fn signal(code: Reason, weight: u8, details: serde_json::Value) -> Signal {
    Signal {
        code,
        weight,
        details,
    }
}

/// What is known before the password is checked.
#[derive(Clone, Copy, Debug)]
pub struct Before {
    pub ip: IpAddr,
    pub network: NetworkKind,
    /// Distinct usernames that failed from this address in the last hour.
    pub failed_usernames: u64,
}

pub fn before_password(policy: &RiskPolicy, facts: &Before) -> Assessment {
    let mut a = Assessment {
        level: Level::Low,
        score: 0,
        signals: Vec::new(),
        blocked: policy.blocks(facts.ip),
        skipped: false,
    };
    if a.blocked {
        a.add(signal(Reason::BlockedRange, 100, json!({})));
        return a.settle(policy);
    }
    if policy.skips(facts.ip) {
        a.skipped = true;
        a.add(signal(Reason::SkippedRange, 0, json!({})));
        return a.settle(policy);
    }
    match facts.network {
        NetworkKind::Internal => a.add(signal(Reason::InternalAddress, 0, json!({}))),
        NetworkKind::Anonymizer => a.add(signal(
            Reason::AnonymizerIp,
            travel::WEIGHT_ANONYMIZER,
            json!({}),
        )),
        NetworkKind::Hosting => a.add(signal(Reason::HostingIp, travel::WEIGHT_HOSTING, json!({}))),
        NetworkKind::Public => {}
    }
    if facts.failed_usernames >= u64::from(policy.thresholds.spraying_usernames) {
        a.add(signal(
            Reason::PasswordSpraying,
            WEIGHT_SPRAYING,
            json!({ "usernames_failed_last_hour": facts.failed_usernames }),
        ));
    }
    a.settle(policy)
}

/// What is known once the password is right.
#[derive(Clone, Debug)]
pub struct After<'a> {
    pub ip: IpAddr,
    pub place: Option<&'a Place>,
    pub network: NetworkKind,
    /// The id of this browser's valid known-device cookie for the account, if any.
    pub device: Option<&'a str>,
    /// The browser family and system ("Firefox on Linux").
    pub agent: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Failed attempts on the account in the last hour (the throttle's counters).
    pub account_failures: u64,
    /// Failed attempts from the address in the last hour, over every account.
    pub address_failures: u64,
    pub breached: bool,
}

pub fn after_password(
    policy: &RiskPolicy,
    profile: &Profile,
    before: &Assessment,
    facts: &After<'_>,
    rules: &TravelRules,
) -> Assessment {
    let mut a = before.clone();
    if a.blocked {
        return a;
    }
    if facts.breached {
        a.add(signal(Reason::BreachedPassword, WEIGHT_BREACHED, json!({})));
    }
    if a.skipped {
        return a.settle(policy);
    }
    let now = facts.now.timestamp();
    if facts.account_failures >= u64::from(policy.thresholds.account_failures) {
        a.add(signal(
            Reason::AccountFailures,
            WEIGHT_ACCOUNT_FAILURES,
            json!({ "failures_last_hour": facts.account_failures }),
        ));
    }
    if facts.address_failures >= u64::from(policy.thresholds.address_failures) {
        a.add(signal(
            Reason::AddressFailures,
            WEIGHT_ADDRESS_FAILURES,
            json!({ "failures_last_hour": facts.address_failures }),
        ));
    }
    let internal = facts.network == NetworkKind::Internal;
    if !internal && facts.place.is_none_or(|p| p.country.is_none()) {
        a.add(signal(Reason::GeoUnknown, WEIGHT_GEO_UNKNOWN, json!({})));
    }
    let learned = profile.learned(policy.learning.sign_ins, policy.learning.days, now);
    if learned {
        let known = facts.device.is_some_and(|d| profile.knows_device(d, now));
        if !known {
            a.add(signal(Reason::NewDevice, WEIGHT_NEW_DEVICE, json!({})));
            if !profile.knows_agent(facts.agent, now) {
                a.add(signal(
                    Reason::NewUserAgent,
                    WEIGHT_NEW_USER_AGENT,
                    json!({ "agent": facts.agent }),
                ));
            }
        }
        if !internal && let Some(place) = facts.place {
            if let Some(cc) = place.country.as_deref()
                && !profile.knows_country(cc, now)
            {
                a.add(signal(
                    Reason::NewCountry,
                    WEIGHT_NEW_COUNTRY,
                    json!({ "country": cc }),
                ));
            }
            if let Some(asn) = place.asn
                && !profile.knows_asn(asn, now)
            {
                a.add(signal(
                    Reason::NewAsn,
                    WEIGHT_NEW_ASN,
                    json!({ "asn": asn }),
                ));
            }
        }
        if let Some((ip, place, network, at)) = profile.last_end() {
            let last = End {
                ip,
                place: Some(&place),
                network,
                at: chrono::DateTime::from_timestamp(at, 0).unwrap_or(facts.now),
            };
            let this = End {
                ip: facts.ip,
                place: facts.place,
                network: facts.network,
                at: facts.now,
            };
            if let Some(s) = travel::judge(&last, &this, rules) {
                a.add(s);
            }
        }
    }
    a.settle(policy)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::risk::Thresholds;
    use crate::risk::place::PlaceSource;
    use crate::risk::profile::Visit;

    fn place(cc: &str, lat: f64, lon: f64, asn: u32) -> Place {
        Place {
            country: Some(cc.into()),
            city: None,
            latitude: Some(lat),
            longitude: Some(lon),
            accuracy_radius_km: Some(10),
            asn: Some(asn),
            asn_org: None,
            source: PlaceSource::Database,
        }
    }

    fn berlin() -> Place {
        place("DE", 52.52, 13.40, 64500)
    }

    fn sydney() -> Place {
        place("AU", -33.87, 151.21, 64501)
    }

    fn before(ip: &str) -> Assessment {
        before_password(
            &RiskPolicy::default(),
            &Before {
                ip: ip.parse().unwrap(),
                network: NetworkKind::Public,
                failed_usernames: 0,
            },
        )
    }

    fn profile_at_home(now: i64) -> Profile {
        let mut p = Profile::default();
        for i in 0..3 {
            p.learn(&Visit {
                at: now - 7200 + i,
                ip: Some("192.0.2.10".parse().unwrap()),
                place: Some(berlin()),
                network: Some(NetworkKind::Public),
                device: Some("dev-home".into()),
                agent: Some("Firefox on Linux".into()),
            });
        }
        p
    }

    fn after(
        profile: &Profile,
        ip: &str,
        place: Option<&Place>,
        device: Option<&str>,
    ) -> Assessment {
        let now = chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        after_password(
            &RiskPolicy::default(),
            profile,
            &before(ip),
            &After {
                ip: ip.parse().unwrap(),
                place,
                network: NetworkKind::Public,
                device,
                agent: "Firefox on Linux",
                now,
                account_failures: 0,
                address_failures: 0,
                breached: false,
            },
            &TravelRules::default(),
        )
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_known_device_at_home_is_low_with_no_reasons() {
        let p = profile_at_home(NOW);
        let a = after(&p, "192.0.2.11", Some(&berlin()), Some("dev-home"));
        assert_eq!(a.level, Level::Low);
        assert!(a.signals.is_empty(), "{:?}", a.signals);
    }

    #[test]
    fn a_new_device_alone_is_low_but_explained() {
        let p = profile_at_home(NOW);
        let a = after(&p, "192.0.2.11", Some(&berlin()), None);
        assert_eq!(a.level, Level::Low);
        assert_eq!(a.reasons(), ["new_device"]);
    }

    #[test]
    fn a_new_device_in_a_new_country_is_medium() {
        let mut p = profile_at_home(NOW);
        // Long enough ago that the hop is possible.
        p.last.as_mut().unwrap().at = NOW - 40 * 3600;
        let a = after(&p, "203.0.113.5", Some(&sydney()), None);
        assert_eq!(a.level, Level::Medium, "{:?}", a.signals);
        assert!(a.has(Reason::NewCountry) && a.has(Reason::NewAsn) && a.has(Reason::NewDevice));
        assert!(!a.has(Reason::ImpossibleTravel));
    }

    #[test]
    fn impossible_travel_is_high_by_itself() {
        let p = profile_at_home(NOW);
        let a = after(&p, "203.0.113.5", Some(&sydney()), Some("dev-home"));
        assert!(a.has(Reason::ImpossibleTravel));
        assert_eq!(a.level, Level::High);
    }

    #[test]
    fn nothing_is_new_during_the_learning_period() {
        let mut p = Profile::default();
        p.learn(&Visit {
            at: NOW - 60,
            ip: Some("192.0.2.10".parse().unwrap()),
            place: Some(berlin()),
            network: Some(NetworkKind::Public),
            device: Some("dev-home".into()),
            agent: None,
        });
        let a = after(&p, "203.0.113.5", Some(&sydney()), None);
        assert_eq!(a.level, Level::Low);
        assert!(a.signals.is_empty(), "{:?}", a.signals);
    }

    #[test]
    fn internal_addresses_are_never_a_new_place() {
        let p = profile_at_home(NOW);
        let now = chrono::Utc.timestamp_opt(NOW, 0).unwrap();
        let a = after_password(
            &RiskPolicy::default(),
            &p,
            &before_password(
                &RiskPolicy::default(),
                &Before {
                    ip: "10.1.2.3".parse().unwrap(),
                    network: NetworkKind::Internal,
                    failed_usernames: 0,
                },
            ),
            &After {
                ip: "10.1.2.3".parse().unwrap(),
                place: None,
                network: NetworkKind::Internal,
                device: Some("dev-home"),
                agent: "Firefox on Linux",
                now,
                account_failures: 0,
                address_failures: 0,
                breached: false,
            },
            &TravelRules::default(),
        );
        assert_eq!(a.level, Level::Low);
        assert_eq!(a.reasons(), ["internal_address"]);
    }

    #[test]
    fn missing_place_never_blocks_by_itself() {
        let p = profile_at_home(NOW);
        let a = after(&p, "203.0.113.5", None, Some("dev-home"));
        assert_eq!(a.reasons(), ["geo_unknown"]);
        assert_eq!(a.level, Level::Low);
    }

    #[test]
    fn each_after_password_signal_alone() {
        let p = profile_at_home(NOW);
        let now = chrono::Utc.timestamp_opt(NOW, 0).unwrap();
        let home = berlin();
        let base = After {
            ip: "192.0.2.11".parse().unwrap(),
            place: Some(&home),
            network: NetworkKind::Public,
            device: Some("dev-home"),
            agent: "Firefox on Linux",
            now,
            account_failures: 0,
            address_failures: 0,
            breached: false,
        };
        let judge = |facts: &After<'_>| {
            after_password(
                &RiskPolicy::default(),
                &p,
                &before("192.0.2.11"),
                facts,
                &TravelRules::default(),
            )
        };
        assert!(judge(&base).signals.is_empty());
        let a = judge(&After {
            breached: true,
            ..base.clone()
        });
        assert_eq!(a.reasons(), ["breached_password"]);
        assert_eq!(a.level, Level::Medium, "50 is medium");
        let a = judge(&After {
            account_failures: 5,
            ..base.clone()
        });
        assert_eq!(a.reasons(), ["account_failures"]);
        assert_eq!(a.level, Level::Low);
        let a = judge(&After {
            address_failures: 20,
            ..base.clone()
        });
        assert_eq!(a.reasons(), ["address_failures"]);
        let a = judge(&After {
            device: None,
            agent: "Safari on iPhone",
            ..base.clone()
        });
        assert_eq!(a.reasons(), ["new_device", "new_user_agent"]);
        let a = judge(&After {
            device: Some("someone else's"),
            ..base.clone()
        });
        assert_eq!(
            a.reasons(),
            ["new_device"],
            "an unknown device id is a new device"
        );
        let other_asn = place("DE", 52.52, 13.40, 64999);
        let a = judge(&After {
            place: Some(&other_asn),
            ..base.clone()
        });
        assert_eq!(a.reasons(), ["new_asn"]);
        let hosting = before_password(
            &RiskPolicy::default(),
            &Before {
                ip: "192.0.2.11".parse().unwrap(),
                network: NetworkKind::Hosting,
                failed_usernames: 0,
            },
        );
        assert_eq!(hosting.reasons(), ["hosting_ip"]);
        assert_eq!(hosting.level, Level::Low);
    }

    #[test]
    fn travel_from_an_anonymiser_is_reported_as_such_not_as_travel() {
        let p = profile_at_home(NOW);
        let now = chrono::Utc.timestamp_opt(NOW, 0).unwrap();
        let far = sydney();
        let b = before_password(
            &RiskPolicy::default(),
            &Before {
                ip: "203.0.113.5".parse().unwrap(),
                network: NetworkKind::Anonymizer,
                failed_usernames: 0,
            },
        );
        let a = after_password(
            &RiskPolicy::default(),
            &p,
            &b,
            &After {
                ip: "203.0.113.5".parse().unwrap(),
                place: Some(&far),
                network: NetworkKind::Anonymizer,
                device: Some("dev-home"),
                agent: "Firefox on Linux",
                now,
                account_failures: 0,
                address_failures: 0,
                breached: false,
            },
            &TravelRules::default(),
        );
        assert!(!a.has(Reason::ImpossibleTravel));
        assert!(a.has(Reason::AnonymizerIp));
        assert_eq!(
            a.signals
                .iter()
                .filter(|s| s.code == Reason::AnonymizerIp)
                .count(),
            1,
            "one anonymiser signal, not two"
        );
    }

    #[test]
    fn blocked_and_skipped_ranges() {
        let policy: RiskPolicy = serde_json::from_str(
            r#"{"blocked_ip_ranges":["198.51.100.0/24"],"skipped_ip_ranges":["198.51.100.0/24","203.0.113.0/24"]}"#,
        )
        .unwrap();
        let b = |ip: &str| {
            before_password(
                &policy,
                &Before {
                    ip: ip.parse().unwrap(),
                    network: NetworkKind::Anonymizer,
                    failed_usernames: 1000,
                },
            )
        };
        let blocked = b("198.51.100.1");
        assert!(blocked.blocked && blocked.level == Level::High);
        let skipped = b("203.0.113.1");
        assert!(skipped.skipped && skipped.level == Level::Low);
        assert_eq!(skipped.reasons(), ["skipped_range"]);
    }

    #[test]
    fn spraying_is_decisive_and_anonymisers_weigh() {
        let policy = RiskPolicy {
            thresholds: Thresholds {
                spraying_usernames: 5,
                ..Thresholds::default()
            },
            ..RiskPolicy::default()
        };
        let a = before_password(
            &policy,
            &Before {
                ip: "192.0.2.1".parse().unwrap(),
                network: NetworkKind::Public,
                failed_usernames: 5,
            },
        );
        assert_eq!(a.level, Level::High);
        assert!(a.has(Reason::PasswordSpraying));
        let a = before_password(
            &policy,
            &Before {
                ip: "192.0.2.1".parse().unwrap(),
                network: NetworkKind::Anonymizer,
                failed_usernames: 4,
            },
        );
        assert_eq!(a.level, Level::Medium);
        assert_eq!(a.reasons(), ["anonymizer_ip"]);
    }
}
