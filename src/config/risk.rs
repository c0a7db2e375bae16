//! `[risk]`: the data files of risk scoring (GeoIP databases, the anonymiser/hosting network
//! list) and how often they are checked for changes. Documented in docs/configuration.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// A MaxMind-format City or Country database (GeoLite2, DB-IP Lite, ip-location-db).
    /// Unset: country only, from the regional registries' data built into Watchword.
    pub geoip_database: Option<PathBuf>,
    /// A MaxMind-format ASN database (GeoLite2-ASN schema). Unset: no ASN.
    pub geoip_asn_database: Option<PathBuf>,
    /// Anonymiser and hosting ranges, one `CIDR LABEL` per line (`anonymizer` or `hosting`).
    pub network_list: Option<PathBuf>,
    /// Seconds between checks of the files above for a new version (modification time or size).
    pub geoip_reload_secs: u64,
    /// Breached passwords (`[risk.breach]`): the offline filter and the optional range service.
    pub breach: super::BreachConfig,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            geoip_database: None,
            geoip_asn_database: None,
            network_list: None,
            geoip_reload_secs: 60,
            breach: super::BreachConfig::default(),
        }
    }
}

impl RiskConfig {
    /// The configured files with their keys.
    pub fn files(&self) -> [(&'static str, Option<&Path>); 3] {
        [
            ("risk.geoip_database", self.geoip_database.as_deref()),
            (
                "risk.geoip_asn_database",
                self.geoip_asn_database.as_deref(),
            ),
            ("risk.network_list", self.network_list.as_deref()),
        ]
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.breach.validate()?;
        for (key, path) in self.files() {
            let Some(path) = path else { continue };
            if path.as_os_str().is_empty() {
                return Err(ConfigError::invalid(key, "is empty; leave it out instead"));
            }
            std::fs::File::open(path).map_err(|e| {
                ConfigError::invalid(key, format!("cannot read {}: {e}", path.display()))
            })?;
            if !path.is_file() {
                return Err(ConfigError::invalid(
                    key,
                    format!("{} is not a file", path.display()),
                ));
            }
        }
        if !(1..=86_400).contains(&self.geoip_reload_secs) {
            return Err(ConfigError::invalid(
                "risk.geoip_reload_secs",
                "must be between 1 and 86400",
            ));
        }
        Ok(())
    }
}
