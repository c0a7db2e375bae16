//! Continuous evaluation's test: is a browser session or a refresh token being used from both
//! another network and another device than it was issued to? The network changed when the
//! countries differ, or the autonomous systems differ where both are known; internal addresses,
//! unknown places and the same /24 (/48) never count. The device changed when its description
//! ("Firefox on Linux", `crate::domain::device::describe`) differs. A pure function: the engine
//! (`crate::auth::continuous`) looks the places up, and only when [`may_have_changed`] says so.

use std::net::IpAddr;

use serde_json::json;

use super::network::{is_internal, same_network};
use super::place::Place;
use super::{Reason, Signal};

/// The weight of [`Reason::ContextChanged`]: high by itself.
pub const WEIGHT: u8 = 100;

/// Where and on what a session or grant is used (or was issued).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub ip: IpAddr,
    pub place: Option<&'a Place>,
    /// "Firefox on Linux".
    pub device: &'a str,
}

/// How the network changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChange {
    Country,
    Asn,
}

impl NetworkChange {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkChange::Country => "country",
            NetworkChange::Asn => "asn",
        }
    }
}

/// Whether the two uses could differ at all, before any place is looked up: other devices, and
/// two public addresses in different networks.
pub fn may_have_changed(baseline: (IpAddr, &str), current: (IpAddr, &str)) -> bool {
    baseline.1 != current.1 && addresses_may_differ(baseline.0, current.0)
}

fn addresses_may_differ(a: IpAddr, b: IpAddr) -> bool {
    !is_internal(a) && !is_internal(b) && !same_network(a, b)
}

/// How the network of `current` differs from that of `baseline`, if it does.
pub fn network_changed(baseline: &Context<'_>, current: &Context<'_>) -> Option<NetworkChange> {
    if !addresses_may_differ(baseline.ip, current.ip) {
        return None;
    }
    let (from, to) = (baseline.place?, current.place?);
    if let (Some(a), Some(b)) = (&from.country, &to.country)
        && a != b
    {
        return Some(NetworkChange::Country);
    }
    match (from.asn, to.asn) {
        (Some(a), Some(b)) if a != b => Some(NetworkChange::Asn),
        _ => None,
    }
}

/// [`Reason::ContextChanged`] when both the network and the device changed, with what changed
/// (the two addresses, countries, autonomous systems and devices) as its details.
pub fn changed(baseline: &Context<'_>, current: &Context<'_>) -> Option<Signal> {
    if baseline.device == current.device {
        return None;
    }
    let network = network_changed(baseline, current)?;
    let side = |c: &Context<'_>| {
        json!({
            "ip": c.ip.to_string(),
            "country": c.place.and_then(|p| p.country.clone()),
            "asn": c.place.and_then(|p| p.asn),
            "device": c.device,
        })
    };
    Some(Signal {
        code: Reason::ContextChanged,
        weight: WEIGHT,
        details: json!({
            "network": network.as_str(),
            "from": side(baseline),
            "to": side(current),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::place::PlaceSource;

    const FIREFOX: &str = "Firefox on Linux";
    const CHROME: &str = "Chrome on Windows";

    fn place(country: Option<&str>, asn: Option<u32>) -> Place {
        Place {
            country: country.map(str::to_owned),
            city: None,
            latitude: None,
            longitude: None,
            accuracy_radius_km: None,
            asn,
            asn_org: None,
            source: PlaceSource::Database,
        }
    }

    fn at<'a>(ip: &str, place: Option<&'a Place>, device: &'a str) -> Context<'a> {
        Context {
            ip: ip.parse().unwrap(),
            place,
            device,
        }
    }

    #[test]
    fn another_country_and_another_device_is_a_change() {
        let (fr, au) = (place(Some("FR"), None), place(Some("AU"), None));
        let s = changed(
            &at("192.0.2.1", Some(&fr), FIREFOX),
            &at("198.51.100.1", Some(&au), CHROME),
        )
        .expect("changed");
        assert_eq!(s.code, Reason::ContextChanged);
        assert_eq!(s.weight, WEIGHT);
        assert_eq!(s.details["network"], "country");
        assert_eq!(s.details["from"]["country"], "FR");
        assert_eq!(s.details["to"]["device"], CHROME);
        assert_eq!(s.details["to"]["ip"], "198.51.100.1");
    }

    #[test]
    fn another_asn_in_the_same_country_is_a_change_when_both_are_known() {
        let (a, b) = (
            place(Some("US"), Some(64496)),
            place(Some("US"), Some(64511)),
        );
        let s = changed(
            &at("2001:db8:1::1", Some(&a), FIREFOX),
            &at("2001:db8:2::1", Some(&b), CHROME),
        )
        .expect("changed");
        assert_eq!(s.details["network"], "asn");
        assert_eq!(s.details["from"]["asn"], 64496);
        // One side's ASN unknown: only the country counts, and it is the same.
        let unknown = place(Some("US"), None);
        assert!(
            changed(
                &at("2001:db8:1::1", Some(&a), FIREFOX),
                &at("2001:db8:2::1", Some(&unknown), CHROME),
            )
            .is_none()
        );
    }

    #[test]
    fn only_the_network_or_only_the_device_is_no_change() {
        let (fr, au) = (place(Some("FR"), Some(1)), place(Some("AU"), Some(2)));
        let (paris, sydney) = (
            at("192.0.2.1", Some(&fr), FIREFOX),
            at("198.51.100.1", Some(&au), FIREFOX),
        );
        assert!(changed(&paris, &sydney).is_none(), "same device");
        assert_eq!(
            network_changed(&paris, &sydney),
            Some(NetworkChange::Country)
        );
        let paris_chrome = at("192.0.2.200", Some(&fr), CHROME);
        assert!(changed(&paris, &paris_chrome).is_none(), "same network");
    }

    #[test]
    fn the_same_network_never_counts_whatever_the_database_says() {
        // A new GeoIP answer for the same /24 (/48) is not a move.
        let (fr, au) = (place(Some("FR"), Some(1)), place(Some("AU"), Some(2)));
        assert!(
            changed(
                &at("192.0.2.1", Some(&fr), FIREFOX),
                &at("192.0.2.99", Some(&au), CHROME),
            )
            .is_none()
        );
        assert!(
            changed(
                &at("2001:db8:1:1::1", Some(&fr), FIREFOX),
                &at("2001:db8:1:2::9", Some(&au), CHROME),
            )
            .is_none()
        );
        assert!(!may_have_changed(
            ("192.0.2.1".parse().unwrap(), FIREFOX),
            ("192.0.2.99".parse().unwrap(), CHROME)
        ));
    }

    #[test]
    fn internal_addresses_never_count() {
        let au = place(Some("AU"), Some(2));
        // An internal address has no place; even given one, it never counts.
        let fr = place(Some("FR"), Some(1));
        for (a, b) in [
            ("10.0.0.1", "198.51.100.1"),
            ("198.51.100.1", "192.168.1.1"),
            ("127.0.0.1", "198.51.100.1"),
            ("100.64.0.1", "198.51.100.1"),
            ("fd00::1", "198.51.100.1"),
            ("::ffff:10.0.0.1", "198.51.100.1"),
        ] {
            assert!(
                changed(&at(a, Some(&fr), FIREFOX), &at(b, Some(&au), CHROME)).is_none(),
                "{a} -> {b}"
            );
            assert!(!may_have_changed(
                (a.parse().unwrap(), FIREFOX),
                (b.parse().unwrap(), CHROME)
            ));
        }
    }

    #[test]
    fn unknown_places_never_count() {
        let au = place(Some("AU"), Some(2));
        let nothing = place(None, None);
        let paris = at("192.0.2.1", None, FIREFOX);
        let sydney = at("198.51.100.1", Some(&au), CHROME);
        assert!(changed(&paris, &sydney).is_none());
        assert!(changed(&sydney, &paris).is_none());
        assert!(changed(&at("192.0.2.1", Some(&nothing), FIREFOX), &sydney).is_none());
        // Public, different networks, different devices: worth looking the places up.
        assert!(may_have_changed(
            ("192.0.2.1".parse().unwrap(), FIREFOX),
            ("198.51.100.1".parse().unwrap(), CHROME)
        ));
    }
}
