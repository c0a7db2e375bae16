//! Impossible travel: the hop between the user's last successful sign-in and this one, judged
//! by speed. The distance is the great-circle distance minus both accuracy radii (at least 0);
//! hops shorter than a minimum distance, within one network (same address, /24 or /48), or
//! with an end lacking coordinates are never travel. When an end is an anonymiser or hosting
//! network, a hop that would be impossible is reported as `anonymizer_ip` / `hosting_ip`
//! instead (VPNs and cloud egress fake travel). A pure function: no clock, no data files.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::network::{NetworkKind, same_network};
use super::place::Place;
use super::{Reason, Signal};

/// Mean Earth radius (km), as in the haversine formula's usual use.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Weights of what this module raises (provisional, until the decision module sums them).
pub const WEIGHT_IMPOSSIBLE: u8 = 60;
pub const WEIGHT_ANONYMIZER: u8 = 40;
pub const WEIGHT_HOSTING: u8 = 20;

/// One end of the hop: a sign-in's address, its place (if any), network kind and time.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    pub ip: IpAddr,
    pub place: Option<&'a Place>,
    pub network: NetworkKind,
    pub at: DateTime<Utc>,
}

/// The thresholds (per tenant later; these defaults until then).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TravelRules {
    /// Hops shorter than this (after the radii) are never travel.
    pub min_distance_km: f64,
    /// Faster than this is impossible (a plane is ~900 km/h).
    pub max_speed_kmh: f64,
    /// The elapsed time is at least this many seconds (no division by zero, and two sign-ins a
    /// second apart are not "infinitely fast").
    pub min_elapsed_secs: i64,
}

impl Default for TravelRules {
    fn default() -> Self {
        Self {
            min_distance_km: 500.0,
            max_speed_kmh: 1000.0,
            min_elapsed_secs: 60,
        }
    }
}

/// Great-circle distance in km between two (latitude, longitude) points in degrees.
pub fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Judges the hop from `last` to `now`; `None` when it is possible or not judgeable.
pub fn judge(last: &End<'_>, now: &End<'_>, rules: &TravelRules) -> Option<Signal> {
    if last.ip == now.ip || same_network(last.ip, now.ip) {
        return None;
    }
    if last.network == NetworkKind::Internal || now.network == NetworkKind::Internal {
        return None;
    }
    let (from, to) = (last.place?, now.place?);
    let (a, b) = (from.coordinates()?, to.coordinates()?);
    let radii = f64::from(from.accuracy_radius_km.unwrap_or(0))
        + f64::from(to.accuracy_radius_km.unwrap_or(0));
    let km = (haversine_km(a, b) - radii).max(0.0);
    if km < rules.min_distance_km {
        return None;
    }
    let secs = (now.at - last.at)
        .num_seconds()
        .max(rules.min_elapsed_secs)
        .max(1);
    let hours = secs as f64 / 3600.0;
    let speed = km / hours;
    if speed <= rules.max_speed_kmh {
        return None;
    }
    let mut details = json!({
        "km": (km * 10.0).round() / 10.0,
        "hours": (hours * 100.0).round() / 100.0,
        "km_per_hour": speed.round(),
        "from_country": from.country,
        "to_country": to.country,
    });
    let listed = [now.network, last.network];
    let (code, weight) = if listed.contains(&NetworkKind::Anonymizer) {
        (Reason::AnonymizerIp, WEIGHT_ANONYMIZER)
    } else if listed.contains(&NetworkKind::Hosting) {
        (Reason::HostingIp, WEIGHT_HOSTING)
    } else {
        (Reason::ImpossibleTravel, WEIGHT_IMPOSSIBLE)
    };
    if code != Reason::ImpossibleTravel {
        details["instead_of"] = json!(Reason::ImpossibleTravel.as_str());
    }
    Some(Signal {
        code,
        weight,
        details,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::risk::place::PlaceSource;

    const PARIS: (f64, f64) = (48.8566, 2.3522);
    const BERLIN: (f64, f64) = (52.52, 13.405);
    const SYDNEY: (f64, f64) = (-33.8688, 151.2093);
    const LYON: (f64, f64) = (45.764, 4.8357);

    fn place((lat, lon): (f64, f64), radius: Option<u16>) -> Place {
        Place {
            country: Some("XX".into()),
            city: None,
            latitude: Some(lat),
            longitude: Some(lon),
            accuracy_radius_km: radius,
            asn: None,
            asn_org: None,
            source: PlaceSource::Database,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    fn end<'a>(ip: &str, place: Option<&'a Place>, minutes: i64) -> End<'a> {
        End {
            ip: ip.parse().unwrap(),
            place,
            network: NetworkKind::Public,
            at: t0() + Duration::minutes(minutes),
        }
    }

    #[test]
    fn haversine_matches_known_distances() {
        let pb = haversine_km(PARIS, BERLIN);
        assert!((pb - 878.0).abs() < 5.0, "{pb}");
        let ps = haversine_km(PARIS, SYDNEY);
        assert!((ps - 16_960.0).abs() < 50.0, "{ps}");
        assert_eq!(haversine_km(PARIS, PARIS), 0.0);
    }

    #[test]
    fn paris_to_sydney_in_an_hour_is_impossible() {
        let (p, s) = (place(PARIS, Some(20)), place(SYDNEY, Some(50)));
        let sig = judge(
            &end("192.0.2.1", Some(&p), 0),
            &end("198.51.100.1", Some(&s), 60),
            &TravelRules::default(),
        )
        .unwrap();
        assert_eq!(sig.code, Reason::ImpossibleTravel);
        assert_eq!(sig.weight, WEIGHT_IMPOSSIBLE);
        let km = sig.details["km"].as_f64().unwrap();
        assert!(
            (km - (haversine_km(PARIS, SYDNEY) - 70.0)).abs() < 0.1,
            "{km}"
        );
        assert_eq!(sig.details["hours"], 1.0);
        assert!(sig.details["km_per_hour"].as_f64().unwrap() > 16_000.0);
    }

    #[test]
    fn a_long_enough_time_is_possible() {
        let (p, s) = (place(PARIS, None), place(SYDNEY, None));
        let last = end("192.0.2.1", Some(&p), 0);
        // 16,960 km at 1000 km/h takes ~17 h.
        assert!(
            judge(
                &last,
                &end("198.51.100.1", Some(&s), 18 * 60),
                &Default::default()
            )
            .is_none()
        );
        assert!(
            judge(
                &last,
                &end("198.51.100.1", Some(&s), 16 * 60),
                &Default::default()
            )
            .is_some()
        );
    }

    #[test]
    fn same_address_or_network_is_never_travel() {
        let (p, s) = (place(PARIS, None), place(SYDNEY, None));
        let rules = TravelRules::default();
        for (a, b) in [
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1", "192.0.2.200"),
            ("::ffff:192.0.2.1", "192.0.2.7"),
            ("2001:db8:1::1", "2001:db8:1:2::1"),
        ] {
            assert!(
                judge(&end(a, Some(&p), 0), &end(b, Some(&s), 1), &rules).is_none(),
                "{a} {b}"
            );
        }
        assert!(
            judge(
                &end("2001:db8:1::1", Some(&p), 0),
                &end("2001:db8:2::1", Some(&s), 1),
                &rules
            )
            .is_some()
        );
    }

    #[test]
    fn accuracy_radii_are_subtracted_before_the_minimum_distance() {
        // Paris–Berlin ~878 km: travel in 10 minutes without radii...
        let (p, b) = (place(PARIS, None), place(BERLIN, None));
        let rules = TravelRules::default();
        assert!(
            judge(
                &end("192.0.2.1", Some(&p), 0),
                &end("203.0.113.1", Some(&b), 10),
                &rules
            )
            .is_some()
        );
        // ...but radii of 200 km each leave ~478 km, under the 500 km minimum.
        let (p, b) = (place(PARIS, Some(200)), place(BERLIN, Some(200)));
        assert!(
            judge(
                &end("192.0.2.1", Some(&p), 0),
                &end("203.0.113.1", Some(&b), 10),
                &rules
            )
            .is_none()
        );
        // Radii larger than the distance: 0 km, not negative.
        let (p, b) = (place(PARIS, Some(1000)), place(BERLIN, Some(1000)));
        let zero = TravelRules {
            min_distance_km: 0.0,
            ..rules
        };
        assert!(
            judge(
                &end("192.0.2.1", Some(&p), 0),
                &end("203.0.113.1", Some(&b), 1),
                &zero
            )
            .is_none()
        );
    }

    #[test]
    fn short_hops_are_ignored_whatever_the_speed() {
        let (p, l) = (place(PARIS, None), place(LYON, None));
        // ~392 km in one second.
        let rules = TravelRules::default();
        let mut now = end("203.0.113.1", Some(&l), 0);
        now.at += Duration::seconds(1);
        assert!(judge(&end("192.0.2.1", Some(&p), 0), &now, &rules).is_none());
        let low = TravelRules {
            min_distance_km: 100.0,
            ..rules
        };
        assert!(judge(&end("192.0.2.1", Some(&p), 0), &now, &low).is_some());
    }

    #[test]
    fn speed_threshold_and_elapsed_floor() {
        let (p, b) = (place(PARIS, None), place(BERLIN, None));
        let last = end("192.0.2.1", Some(&p), 0);
        // 878 km in 1 h: 878 km/h, under 1000.
        assert!(
            judge(
                &last,
                &end("203.0.113.1", Some(&b), 60),
                &Default::default()
            )
            .is_none()
        );
        let strict = TravelRules {
            max_speed_kmh: 800.0,
            ..Default::default()
        };
        assert!(judge(&last, &end("203.0.113.1", Some(&b), 60), &strict).is_some());
        // Same instant, or this sign-in before the last (clock skew): the floor, no panic.
        let same = judge(&last, &end("203.0.113.1", Some(&b), 0), &Default::default()).unwrap();
        assert_eq!(same.details["hours"], 0.02);
        let floor0 = TravelRules {
            min_elapsed_secs: 0,
            ..Default::default()
        };
        let before = judge(&last, &end("203.0.113.1", Some(&b), -5), &floor0).unwrap();
        assert!(before.details["km_per_hour"].as_f64().unwrap().is_finite());
    }

    #[test]
    fn missing_coordinates_or_place_is_not_travel() {
        let p = place(PARIS, None);
        let mut country_only = place(SYDNEY, None);
        country_only.latitude = None;
        let rules = TravelRules::default();
        assert!(
            judge(
                &end("192.0.2.1", Some(&p), 0),
                &end("198.51.100.1", Some(&country_only), 1),
                &rules
            )
            .is_none()
        );
        assert!(
            judge(
                &end("192.0.2.1", None, 0),
                &end("198.51.100.1", Some(&p), 1),
                &rules
            )
            .is_none()
        );
        assert!(
            judge(
                &end("192.0.2.1", Some(&p), 0),
                &end("198.51.100.1", None, 1),
                &rules
            )
            .is_none()
        );
    }

    #[test]
    fn anonymiser_or_hosting_end_is_reported_instead_of_travel() {
        let (p, s) = (place(PARIS, None), place(SYDNEY, None));
        let rules = TravelRules::default();
        let last = end("192.0.2.1", Some(&p), 0);
        let mut now = end("198.51.100.1", Some(&s), 30);
        now.network = NetworkKind::Anonymizer;
        let sig = judge(&last, &now, &rules).unwrap();
        assert_eq!(sig.code, Reason::AnonymizerIp);
        assert_eq!(sig.details["instead_of"], "impossible_travel");
        let mut hosted_last = last;
        hosted_last.network = NetworkKind::Hosting;
        let sig = judge(&hosted_last, &end("198.51.100.1", Some(&s), 30), &rules).unwrap();
        assert_eq!(sig.code, Reason::HostingIp);
        // Anonymiser wins over hosting when both.
        assert_eq!(
            judge(&hosted_last, &now, &rules).unwrap().code,
            Reason::AnonymizerIp
        );
        // A possible hop through a VPN raises nothing here.
        let mut slow = end("198.51.100.1", Some(&s), 48 * 60);
        slow.network = NetworkKind::Anonymizer;
        assert!(judge(&last, &slow, &rules).is_none());
    }

    #[test]
    fn internal_ends_are_never_travel() {
        let (p, s) = (place(PARIS, None), place(SYDNEY, None));
        let mut now = end("10.0.0.1", Some(&s), 1);
        now.network = NetworkKind::Internal;
        assert!(judge(&end("192.0.2.1", Some(&p), 0), &now, &Default::default()).is_none());
    }
}
