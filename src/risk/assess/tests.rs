//! Unit tests of the assessment: each signal alone, levels and thresholds, the learning period,
//! internal addresses, missing places, ranges, spraying, travel from an anonymiser.

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

fn after(profile: &Profile, ip: &str, place: Option<&Place>, device: Option<&str>) -> Assessment {
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
