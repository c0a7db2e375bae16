//! Lookups: each documentation range in the GeoLite2 and flat fixtures, the ASN database, the
//! built-in country data, internal addresses, the network list, files refused at start.

use std::net::IpAddr;
use std::path::PathBuf;

use watchword::config::RiskConfig;
use watchword::risk::Reason;
use watchword::risk::network::NetworkKind;
use watchword::risk::place::{Locator, PlaceSource};
use watchword::risk::travel::{self, End, TravelRules};

use super::fixtures::{self, BERLIN, NEW_YORK, PARIS, SYDNEY};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(dir: &tempfile::TempDir) -> (RiskConfig, PathBuf, PathBuf, PathBuf) {
    let (city, asn, list) = (
        dir.path().join("city.mmdb"),
        dir.path().join("asn.mmdb"),
        dir.path().join("networks.txt"),
    );
    (RiskConfig::default(), city, asn, list)
}

#[test]
fn geolite2_city_places_each_documentation_range() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, ..) = config(&dir);
    fixtures::write_city(&city, 1_700_000_000, &fixtures::usual());
    cfg.geoip_database = Some(city);
    let l = Locator::from_config(&cfg).unwrap();
    for (addr, c) in [
        ("192.0.2.1", &PARIS),
        ("198.51.100.77", &SYDNEY),
        ("203.0.113.254", &BERLIN),
        ("2001:db8::1", &NEW_YORK),
        ("2001:db8:ffff::9", &NEW_YORK),
        ("::ffff:192.0.2.9", &PARIS),
    ] {
        let p = l
            .place(ip(addr))
            .unwrap_or_else(|| panic!("{addr} has a place"));
        assert_eq!(p.country.as_deref(), Some(c.country), "{addr}");
        assert_eq!(p.city.as_deref(), Some(c.name), "{addr}");
        assert_eq!(p.coordinates(), Some((c.lat, c.lon)), "{addr}");
        assert_eq!(p.accuracy_radius_km, Some(c.radius), "{addr}");
        assert_eq!(p.source, PlaceSource::Database);
        assert_eq!(p.asn, None);
    }
    assert_eq!(l.build_epochs(), (Some(1_700_000_000), None));
}

#[test]
fn flat_dbip_schema_is_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, ..) = config(&dir);
    fixtures::write_flat(&city, 1_600_000_000, &fixtures::usual());
    cfg.geoip_database = Some(city);
    let l = Locator::from_config(&cfg).unwrap();
    let p = l.place(ip("198.51.100.1")).unwrap();
    assert_eq!(p.country.as_deref(), Some("AU"));
    assert_eq!(p.city.as_deref(), Some("Sydney"));
    assert_eq!(p.coordinates(), Some((SYDNEY.lat, SYDNEY.lon)));
    assert_eq!(p.accuracy_radius_km, None, "DB-IP has no radius");
    let p = l.place(ip("2001:db8::5")).unwrap();
    assert_eq!(p.city.as_deref(), Some("New York"));
}

#[test]
fn asn_database_adds_the_asn() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, asn, _) = config(&dir);
    fixtures::write_city(&city, 1_700_000_000, &fixtures::usual());
    fixtures::write_asn(
        &asn,
        1_700_000_100,
        &[
            ("192.0.2.0/24", 64496, "Example Paris Net"),
            ("2001:db8::/32", 64511, "Example v6 Net"),
        ],
    );
    cfg.geoip_database = Some(city);
    cfg.geoip_asn_database = Some(asn.clone());
    let l = Locator::from_config(&cfg).unwrap();
    let p = l.place(ip("192.0.2.3")).unwrap();
    assert_eq!(
        (p.asn, p.asn_org.as_deref()),
        (Some(64496), Some("Example Paris Net"))
    );
    assert_eq!(p.city.as_deref(), Some("Paris"));
    assert_eq!(l.place(ip("2001:db8::2")).unwrap().asn, Some(64511));
    assert_eq!(
        l.place(ip("203.0.113.2")).unwrap().asn,
        None,
        "not in the ASN file"
    );
    assert_eq!(l.build_epochs(), (Some(1_700_000_000), Some(1_700_000_100)));

    // An ASN database alone: ASN from it, country from the built-in data.
    let only_asn = RiskConfig {
        geoip_asn_database: Some(asn),
        ..RiskConfig::default()
    };
    let l = Locator::from_config(&only_asn).unwrap();
    let p = l.place(ip("192.0.2.3")).unwrap();
    assert_eq!(p.asn, Some(64496));
    assert_eq!(p.coordinates(), None);
}

#[test]
fn without_files_the_country_comes_from_the_registries() {
    let l = Locator::from_config(&RiskConfig::default()).unwrap();
    assert!(!l.has_files());
    for (addr, country) in [("8.8.8.8", "US"), ("2a00:1450:4001::1", "IE")] {
        let p = l.place(ip(addr)).unwrap();
        assert_eq!(p.source, PlaceSource::Registries);
        assert_eq!(p.country.as_deref(), Some(country), "{addr}");
        assert_eq!(
            (p.city.as_deref(), p.coordinates(), p.asn),
            (None, None, None)
        );
    }
    // A database that does not know an address still gets the country from the registries.
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, ..) = config(&dir);
    fixtures::write_city(&city, 1, &fixtures::usual());
    cfg.geoip_database = Some(city);
    let l = Locator::from_config(&cfg).unwrap();
    let p = l.place(ip("8.8.8.8")).unwrap();
    assert_eq!(
        (p.country.as_deref(), p.source),
        (Some("US"), PlaceSource::Registries)
    );
}

#[test]
fn internal_addresses_have_no_place_even_when_the_file_maps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, ..) = config(&dir);
    let mut map = fixtures::usual();
    map.push(("10.0.0.0/8", &BERLIN));
    map.push(("100.64.0.0/10", &SYDNEY));
    map.push(("fc00::/7", &PARIS));
    fixtures::write_city(&city, 1, &map);
    cfg.geoip_database = Some(city);
    let l = Locator::from_config(&cfg).unwrap();
    for addr in [
        "10.1.2.3",
        "100.64.0.9",
        "fd00::1",
        "::ffff:10.0.0.1",
        "127.0.0.1",
        "::1",
    ] {
        assert_eq!(l.place(ip(addr)), None, "{addr}");
        assert_eq!(l.network(ip(addr)), NetworkKind::Internal, "{addr}");
    }
}

#[test]
fn network_list_marks_anonymisers_and_travel_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, city, _, list) = config(&dir);
    fixtures::write_city(&city, 1, &fixtures::usual());
    std::fs::write(
        &list,
        "# test list\n198.51.100.0/24 anonymizer\n2001:db8::/32 hosting\n",
    )
    .unwrap();
    cfg.geoip_database = Some(city);
    cfg.network_list = Some(list);
    let l = Locator::from_config(&cfg).unwrap();
    assert_eq!(l.network(ip("198.51.100.9")), NetworkKind::Anonymizer);
    assert_eq!(l.network(ip("2001:db8::9")), NetworkKind::Hosting);
    assert_eq!(l.network(ip("192.0.2.9")), NetworkKind::Public);

    // Paris, then "Sydney" ten minutes later: through the VPN, reported as such.
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let end = |addr: &str, minutes: i64, place| End {
        ip: ip(addr),
        place,
        network: l.network(ip(addr)),
        at: t0 + chrono::Duration::minutes(minutes),
    };
    let (paris, sydney, berlin) = (
        l.place(ip("192.0.2.1")).unwrap(),
        l.place(ip("198.51.100.1")).unwrap(),
        l.place(ip("203.0.113.1")).unwrap(),
    );
    let rules = TravelRules::default();
    let vpn = travel::judge(
        &end("192.0.2.1", 0, Some(&paris)),
        &end("198.51.100.1", 10, Some(&sydney)),
        &rules,
    );
    assert_eq!(vpn.unwrap().code, Reason::AnonymizerIp);
    let real = travel::judge(
        &end("192.0.2.1", 0, Some(&paris)),
        &end("203.0.113.1", 10, Some(&berlin)),
        &rules,
    );
    assert_eq!(real.unwrap().code, Reason::ImpossibleTravel);
}

#[test]
fn files_refused_at_start_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_, city, asn, list) = config(&dir);
    std::fs::write(&city, b"not a database at all").unwrap();
    std::fs::write(&list, "192.0.2.0/24 anonymizer\n192.0.2.0/24 tor\n").unwrap();
    fixtures::write_asn(&asn, 1, &[("192.0.2.0/24", 64496, "X")]);
    let cases = [
        (
            RiskConfig {
                geoip_database: Some(city),
                ..RiskConfig::default()
            },
            "risk.geoip_database",
            "not a MaxMind database",
        ),
        (
            RiskConfig {
                geoip_asn_database: Some(dir.path().join("missing.mmdb")),
                ..RiskConfig::default()
            },
            "risk.geoip_asn_database",
            "missing.mmdb",
        ),
        (
            RiskConfig {
                network_list: Some(list),
                ..RiskConfig::default()
            },
            "risk.network_list",
            "line 2: unknown label `tor`",
        ),
    ];
    for (cfg, key, needle) in cases {
        let Err(e) = Locator::from_config(&cfg) else {
            panic!("{key} accepted")
        };
        assert_eq!(e.key, key);
        assert!(
            e.to_string().contains(key) && e.to_string().contains(needle),
            "{e}"
        );
    }
}
