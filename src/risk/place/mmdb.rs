//! MaxMind-format databases (`.mmdb`): GeoLite2/GeoIP2 City and Country, the flat schema of
//! DB-IP Lite and ip-location-db (`country_code`, `city`, `latitude`, `longitude`), and
//! GeoLite2-ASN (`autonomous_system_number`, `autonomous_system_organization`). The whole file
//! is read into memory (a file replaced under a memory map would change under the reader).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

/// One loaded database.
pub(super) struct Mmdb {
    reader: Reader<Vec<u8>>,
}

/// What a lookup found; every field may be missing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Found {
    pub country: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_radius_km: Option<u16>,
    pub asn: Option<u32>,
    pub asn_org: Option<String>,
}

/// Both schemas at once: the nested GeoLite2 fields and the flat ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Record {
    country: Option<Country>,
    registered_country: Option<Country>,
    city: Option<CityField>,
    location: Option<Location>,
    country_code: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Country {
    iso_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CityField {
    Flat(String),
    Nested {
        #[serde(default)]
        names: BTreeMap<String, String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u16>,
}

/// Addresses looked up at load time, so a file whose data section is damaged is refused then
/// rather than failing every lookup later.
const PROBES: [&str; 4] = ["1.1.1.1", "8.8.8.8", "192.0.2.1", "2001:db8::1"];

impl Mmdb {
    /// Reads and checks a database; `database` names it in the build-time metric.
    pub(super) fn load(path: &Path, database: &'static str) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let reader =
            Reader::from_source(bytes).map_err(|e| format!("not a MaxMind database: {e}"))?;
        let db = Self { reader };
        let v4_only = db.reader.metadata().ip_version == 4;
        for probe in PROBES {
            let ip: IpAddr = probe.parse().map_err(|_| "bad probe address".to_owned())?;
            if v4_only && ip.is_ipv6() {
                continue;
            }
            db.try_lookup(ip)
                .map_err(|e| format!("damaged MaxMind database: {e}"))?;
        }
        let meta = db.reader.metadata();
        metrics::gauge!("watchword_geoip_build_timestamp_seconds", "database" => database)
            .set(meta.build_epoch as f64);
        tracing::info!(
            database,
            path = %path.display(),
            database_type = %meta.database_type,
            build_epoch = meta.build_epoch,
            "GeoIP database loaded"
        );
        Ok(db)
    }

    /// The database's build time (seconds since the Unix epoch).
    pub(super) fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// What the database knows of `ip`; a damaged record counts as nothing known.
    pub(super) fn lookup(&self, ip: IpAddr) -> Found {
        match self.try_lookup(ip) {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(%ip, error = %e, "GeoIP record unreadable");
                Found::default()
            }
        }
    }

    fn try_lookup(&self, ip: IpAddr) -> Result<Found, maxminddb::MaxMindDbError> {
        let Some(r) = self.reader.lookup(ip)?.decode::<Record>()? else {
            return Ok(Found::default());
        };
        let location = r.location.unwrap_or_default();
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Ok(Found {
            country: nonempty(
                r.country
                    .and_then(|c| c.iso_code)
                    .or(r.country_code)
                    .or(r.registered_country.and_then(|c| c.iso_code)),
            )
            .map(|c| c.to_ascii_uppercase()),
            city: nonempty(r.city.and_then(|c| match c {
                CityField::Flat(name) => Some(name),
                CityField::Nested { mut names } => {
                    names.remove("en").or_else(|| names.into_values().next())
                }
            })),
            latitude: location.latitude.or(r.latitude),
            longitude: location.longitude.or(r.longitude),
            accuracy_radius_km: location.accuracy_radius,
            asn: r.autonomous_system_number.filter(|&n| n != 0),
            asn_org: nonempty(r.autonomous_system_organization),
        })
    }
}
