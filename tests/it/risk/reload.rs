//! Reloading: a replaced database is read again when its modification time changes (the test
//! sets it and calls `reload_if_changed` directly; nothing sleeps), a broken replacement keeps
//! the old data, and the build time is exported as a metric.

use std::net::IpAddr;

use watchword::config::RiskConfig;
use watchword::risk::place::{Locator, Reload};

use super::fixtures::{self, BERLIN, PARIS};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn city_of(l: &Locator, addr: &str) -> Option<String> {
    l.place(ip(addr)).and_then(|p| p.city)
}

const FIRST: u64 = 1_700_000_000;
const SECOND: u64 = 1_710_000_000;

#[test]
fn a_replaced_database_is_reloaded_and_a_broken_one_keeps_the_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.mmdb");
    fixtures::write_city(&path, FIRST, &[("192.0.2.0/24", &PARIS)]);
    fixtures::set_mtime(&path, FIRST);
    let cfg = RiskConfig {
        geoip_database: Some(path.clone()),
        ..RiskConfig::default()
    };
    let l = Locator::from_config(&cfg).unwrap();
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Paris"));
    assert_eq!(
        l.reload_if_changed(),
        vec![("risk.geoip_database", Reload::Unchanged)]
    );

    // A new version: the same range is now Berlin.
    fixtures::replace_with(
        &path,
        |p| fixtures::write_city(p, SECOND, &[("192.0.2.0/24", &BERLIN)]),
        SECOND,
    );
    assert_eq!(
        l.reload_if_changed(),
        vec![("risk.geoip_database", Reload::Reloaded)]
    );
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Berlin"));
    assert_eq!(l.build_epochs().0, Some(SECOND));
    assert_eq!(l.reload_if_changed()[0].1, Reload::Unchanged);

    // A broken replacement (truncated, then garbage): logged, the Berlin data stays, and it is
    // not read again until it changes.
    let good = std::fs::read(&path).unwrap();
    fixtures::replace_with(
        &path,
        |p| std::fs::write(p, &good[..good.len() / 2]).unwrap(),
        SECOND + 10,
    );
    assert_eq!(l.reload_if_changed()[0].1, Reload::Failed);
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Berlin"));
    assert_eq!(l.reload_if_changed()[0].1, Reload::Unchanged);
    fixtures::replace_with(
        &path,
        |p| std::fs::write(p, b"\0garbage\xff").unwrap(),
        SECOND + 20,
    );
    assert_eq!(l.reload_if_changed()[0].1, Reload::Failed);
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Berlin"));
    assert_eq!(l.build_epochs().0, Some(SECOND));

    // The file removed: the data stays too.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(l.reload_if_changed()[0].1, Reload::Failed);
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Berlin"));

    // A good file again is taken.
    fixtures::replace_with(
        &path,
        |p| fixtures::write_city(p, FIRST, &[("192.0.2.0/24", &PARIS)]),
        SECOND + 30,
    );
    assert_eq!(l.reload_if_changed()[0].1, Reload::Reloaded);
    assert_eq!(city_of(&l, "192.0.2.1").as_deref(), Some("Paris"));
}

#[test]
fn the_network_list_is_reloaded_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.txt");
    std::fs::write(&path, "192.0.2.0/24 anonymizer\n").unwrap();
    fixtures::set_mtime(&path, FIRST);
    let l = Locator::from_config(&RiskConfig {
        network_list: Some(path.clone()),
        ..RiskConfig::default()
    })
    .unwrap();
    use watchword::risk::network::NetworkKind;
    assert_eq!(l.network(ip("192.0.2.1")), NetworkKind::Anonymizer);
    fixtures::replace_with(
        &path,
        |p| std::fs::write(p, "192.0.2.0/24 hosting\n").unwrap(),
        SECOND,
    );
    assert_eq!(
        l.reload_if_changed(),
        vec![("risk.network_list", Reload::Reloaded)]
    );
    assert_eq!(l.network(ip("192.0.2.1")), NetworkKind::Hosting);
    fixtures::replace_with(
        &path,
        |p| std::fs::write(p, "192.0.2.0/24 hosting\nnonsense\n").unwrap(),
        SECOND + 1,
    );
    assert_eq!(l.reload_if_changed()[0].1, Reload::Failed);
    assert_eq!(l.network(ip("192.0.2.1")), NetworkKind::Hosting);
}

#[test]
fn build_epochs_are_a_metric() {
    let handle = watchword::observability::metrics();
    let dir = tempfile::tempdir().unwrap();
    let (city, asn) = (dir.path().join("city.mmdb"), dir.path().join("asn.mmdb"));
    fixtures::write_city(&city, FIRST, &fixtures::usual());
    fixtures::set_mtime(&city, FIRST);
    fixtures::write_asn(&asn, 1_650_000_000, &[("192.0.2.0/24", 64496, "X")]);
    let l = Locator::from_config(&RiskConfig {
        geoip_database: Some(city.clone()),
        geoip_asn_database: Some(asn),
        ..RiskConfig::default()
    })
    .unwrap();
    let text = handle.render();
    assert!(
        text.contains("watchword_geoip_build_timestamp_seconds{database=\"city\"} 1700000000"),
        "{text}"
    );
    assert!(
        text.contains("watchword_geoip_build_timestamp_seconds{database=\"asn\"} 1650000000"),
        "{text}"
    );
    fixtures::replace_with(
        &city,
        |p| fixtures::write_city(p, SECOND, &fixtures::usual()),
        SECOND,
    );
    assert_eq!(l.reload_if_changed()[0].1, Reload::Reloaded);
    assert!(
        handle
            .render()
            .contains("watchword_geoip_build_timestamp_seconds{database=\"city\"} 1710000000")
    );
}
