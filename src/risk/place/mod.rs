//! Where a client address is: [`Place`] (country, city, coordinates with their accuracy, ASN)
//! and the [`Locator`] that finds it. With no data file the country comes from the regional
//! registries' allocations built into the binary (`iptocc`); `[risk] geoip_database` and
//! `geoip_asn_database` add city, coordinates and ASN from MaxMind-format files, re-read when
//! they change (`reload_if_changed`, run by a background job every `geoip_reload_secs`).
//! Internal addresses have no place; missing data is `None`, never an error.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::network::{self, NetworkKind, RangeList};
use crate::config::RiskConfig;

mod mmdb;
mod watch;

use mmdb::Mmdb;
pub use watch::Reload;
use watch::Watched;

/// Where the place's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// Country only, from the registries' allocations built into Watchword.
    Registries,
    /// The configured GeoIP database(s).
    Database,
}

/// An approximate place for an address. Every field may be missing.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Place {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// How far from the coordinates the address may really be (GeoLite2 gives it; DB-IP not).
    pub accuracy_radius_km: Option<u16>,
    pub asn: Option<u32>,
    pub asn_org: Option<String>,
    pub source: PlaceSource,
}

impl Place {
    /// The coordinates, when both are present and valid.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon))
                if lat.is_finite()
                    && lon.is_finite()
                    && (-90.0..=90.0).contains(&lat)
                    && (-180.0..=180.0).contains(&lon) =>
            {
                Some((lat, lon))
            }
            _ => None,
        }
    }
}

/// A file of `[risk]` that could not be used at start; names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for `{key}`: {message}")]
pub struct LocatorError {
    pub key: &'static str,
    pub message: String,
}

/// Finds places and network kinds for addresses. Cheap to share (`Arc`); lookups never touch
/// the disk.
pub struct Locator {
    city: Option<Watched<Mmdb>>,
    asn: Option<Watched<Mmdb>>,
    networks: Option<Watched<RangeList>>,
}

impl Locator {
    /// Country from the built-in registry data only; no files.
    pub fn builtin() -> Self {
        Self {
            city: None,
            asn: None,
            networks: None,
        }
    }

    /// Opens the files `[risk]` names; a missing, unreadable or broken file is an error naming
    /// its key.
    pub fn from_config(config: &RiskConfig) -> Result<Self, LocatorError> {
        let mmdb = |key: &'static str, database: &'static str, path: Option<&Path>| {
            path.map(|p| {
                Watched::open(key, p, Box::new(move |p: &Path| Mmdb::load(p, database)))
                    .map_err(|message| LocatorError { key, message })
            })
            .transpose()
        };
        let city = mmdb(
            "risk.geoip_database",
            "city",
            config.geoip_database.as_deref(),
        )?;
        let asn = mmdb(
            "risk.geoip_asn_database",
            "asn",
            config.geoip_asn_database.as_deref(),
        )?;
        let networks = config
            .network_list
            .as_deref()
            .map(|p| {
                Watched::open("risk.network_list", p, Box::new(load_network_list)).map_err(
                    |message| LocatorError {
                        key: "risk.network_list",
                        message,
                    },
                )
            })
            .transpose()?;
        Ok(Self {
            city,
            asn,
            networks,
        })
    }

    /// Whether any file is configured (and so worth checking for changes).
    pub fn has_files(&self) -> bool {
        self.city.is_some() || self.asn.is_some() || self.networks.is_some()
    }

    /// The place of `ip`: `None` for an internal address or when nothing at all is known.
    pub fn place(&self, ip: IpAddr) -> Option<Place> {
        let ip = network::canonical(ip);
        if network::is_internal(ip) {
            return None;
        }
        let mut found = self
            .city
            .as_ref()
            .map(|db| db.get().lookup(ip))
            .unwrap_or_default();
        let mut source = if found == Default::default() {
            PlaceSource::Registries
        } else {
            PlaceSource::Database
        };
        if let Some(db) = &self.asn {
            let asn = db.get().lookup(ip);
            if asn.asn.is_some() {
                found.asn = asn.asn;
                found.asn_org = asn.asn_org;
                source = PlaceSource::Database;
            }
        }
        if found.country.is_none() {
            found.country = iptocc::country_code(ip).map(str::to_owned);
        }
        let place = Place {
            country: found.country,
            city: found.city,
            latitude: found.latitude,
            longitude: found.longitude,
            accuracy_radius_km: found.accuracy_radius_km,
            asn: found.asn,
            asn_org: found.asn_org,
            source,
        };
        let known = place.country.is_some() || place.coordinates().is_some() || place.asn.is_some();
        known.then_some(place)
    }

    /// The kind of network `ip` is in (internal, listed anonymiser or hosting, or public).
    pub fn network(&self, ip: IpAddr) -> NetworkKind {
        let list = self.networks.as_ref().map(|w| w.get());
        network::classify(ip, list.as_deref())
    }

    /// The build time of the loaded databases (seconds since the Unix epoch): city, ASN.
    pub fn build_epochs(&self) -> (Option<u64>, Option<u64>) {
        (
            self.city.as_ref().map(|db| db.get().build_epoch()),
            self.asn.as_ref().map(|db| db.get().build_epoch()),
        )
    }

    /// Reads again each file whose modification time or size changed; a broken new version
    /// is logged at error level and the old data kept. Blocking (file reads): run it off the
    /// async workers. Returns what happened to each configured file, by key.
    pub fn reload_if_changed(&self) -> Vec<(&'static str, Reload)> {
        let mut done = Vec::new();
        if let Some(w) = &self.city {
            done.push(("risk.geoip_database", w.reload_if_changed()));
        }
        if let Some(w) = &self.asn {
            done.push(("risk.geoip_asn_database", w.reload_if_changed()));
        }
        if let Some(w) = &self.networks {
            done.push(("risk.network_list", w.reload_if_changed()));
        }
        done
    }
}

/// Shared handle.
pub type SharedLocator = Arc<Locator>;

fn load_network_list(path: &Path) -> Result<RangeList, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    RangeList::parse(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_gives_countries_and_nothing_for_internal_addresses() {
        let l = Locator::builtin();
        let p = l.place(ip("8.8.8.8")).unwrap();
        assert_eq!(p.country.as_deref(), Some("US"));
        assert_eq!(p.source, PlaceSource::Registries);
        assert_eq!(p.coordinates(), None);
        assert_eq!(l.place(ip("::ffff:8.8.8.8")), Some(p));
        for a in ["10.0.0.1", "192.168.1.1", "100.64.0.1", "::1", "fd00::1"] {
            assert_eq!(l.place(ip(a)), None, "{a}");
        }
        assert_eq!(l.network(ip("10.0.0.1")), NetworkKind::Internal);
        assert_eq!(l.network(ip("8.8.8.8")), NetworkKind::Public);
        assert!(!l.has_files());
        assert!(l.reload_if_changed().is_empty());
    }

    #[test]
    fn invalid_coordinates_are_none() {
        let mut p = Place {
            country: None,
            city: None,
            latitude: Some(48.8),
            longitude: Some(2.3),
            accuracy_radius_km: None,
            asn: None,
            asn_org: None,
            source: PlaceSource::Database,
        };
        assert_eq!(p.coordinates(), Some((48.8, 2.3)));
        p.latitude = Some(91.0);
        assert_eq!(p.coordinates(), None);
        p.latitude = Some(f64::NAN);
        assert_eq!(p.coordinates(), None);
        p.latitude = None;
        assert_eq!(p.coordinates(), None);
    }
}
