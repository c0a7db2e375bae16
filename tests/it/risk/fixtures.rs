//! Tiny `.mmdb` files for the risk tests, written by MaxMind's own writer (Perl,
//! `tests/it/risk/write_mmdb.pl`, Debian `libmaxmind-db-writer-perl`). Only documentation
//! ranges are mapped. A missing writer fails the test that needs it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// A city in a fixture: name, country, coordinates, accuracy radius (km).
pub struct City {
    pub name: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub radius: u16,
}

pub const PARIS: City = City {
    name: "Paris",
    country: "FR",
    lat: 48.8566,
    lon: 2.3522,
    radius: 20,
};
pub const SYDNEY: City = City {
    name: "Sydney",
    country: "AU",
    lat: -33.8688,
    lon: 151.2093,
    radius: 50,
};
pub const BERLIN: City = City {
    name: "Berlin",
    country: "DE",
    lat: 52.52,
    lon: 13.405,
    radius: 10,
};
pub const NEW_YORK: City = City {
    name: "New York",
    country: "US",
    lat: 40.7128,
    lon: -74.006,
    radius: 100,
};

/// The usual map: 192.0.2.0/24 Paris, 198.51.100.0/24 Sydney, 203.0.113.0/24 Berlin,
/// 2001:db8::/32 New York.
pub fn usual() -> Vec<(&'static str, &'static City)> {
    vec![
        ("192.0.2.0/24", &PARIS),
        ("198.51.100.0/24", &SYDNEY),
        ("203.0.113.0/24", &BERLIN),
        ("2001:db8::/32", &NEW_YORK),
    ]
}

/// A GeoLite2-City database (nested schema with accuracy radius).
pub fn write_city(path: &Path, epoch: u64, map: &[(&str, &City)]) {
    let networks: Vec<Value> = map
        .iter()
        .map(|(net, c)| {
            json!({"network": net, "data": {
                "city": {"names": {"en": c.name}},
                "country": {"iso_code": c.country},
                "location": {"latitude": c.lat, "longitude": c.lon, "accuracy_radius": c.radius},
            }})
        })
        .collect();
    write(
        path,
        json!({
            "database_type": "GeoLite2-City",
            "build_epoch": epoch,
            "types": {"city": "map", "names": "map", "en": "utf8_string", "country": "map",
                      "iso_code": "utf8_string", "location": "map", "latitude": "double",
                      "longitude": "double", "accuracy_radius": "uint16"},
            "networks": networks,
        }),
    );
}

/// A DB-IP Lite database as repackaged by ip-location-db (flat schema, no radius).
pub fn write_flat(path: &Path, epoch: u64, map: &[(&str, &City)]) {
    let networks: Vec<Value> = map
        .iter()
        .map(|(net, c)| {
            json!({"network": net, "data": {
                "city": c.name, "country_code": c.country, "latitude": c.lat, "longitude": c.lon,
            }})
        })
        .collect();
    write(
        path,
        json!({
            "database_type": "dbip-city",
            "build_epoch": epoch,
            "types": {"city": "utf8_string", "country_code": "utf8_string",
                      "latitude": "double", "longitude": "double"},
            "networks": networks,
        }),
    );
}

/// A GeoLite2-ASN database.
pub fn write_asn(path: &Path, epoch: u64, map: &[(&str, u32, &str)]) {
    let networks: Vec<Value> = map
        .iter()
        .map(|(net, asn, org)| {
            json!({"network": net, "data": {
                "autonomous_system_number": asn, "autonomous_system_organization": org,
            }})
        })
        .collect();
    write(
        path,
        json!({
            "database_type": "GeoLite2-ASN",
            "build_epoch": epoch,
            "types": {"autonomous_system_number": "uint32",
                      "autonomous_system_organization": "utf8_string"},
            "networks": networks,
        }),
    );
}

/// Replaces `path` the way an updater does (write beside it, rename over it) and gives the
/// new file a chosen modification time, so a reload check sees a change without waiting.
pub fn replace_with(path: &Path, write: impl FnOnce(&Path), mtime_secs: u64) {
    let tmp = path.with_extension("new");
    write(&tmp);
    set_mtime(&tmp, mtime_secs);
    std::fs::rename(&tmp, path).unwrap();
}

pub fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(at(secs)).unwrap();
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn write(path: &Path, spec: Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/risk/write_mmdb.pl");
    let mut child = Command::new("perl")
        .arg(&script)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("perl is needed to write the .mmdb fixtures");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "writing the .mmdb fixture failed (install Debian libmaxmind-db-writer-perl, see README): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
