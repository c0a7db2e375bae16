//! A user's recent successful sign-ins in brief (stored as one small JSON value per user, so a
//! sign-in never scans history): how many and since when (the learning period), the last one's
//! time, address and place (impossible travel), and the countries, autonomous systems, devices
//! and browser families seen recently, each with when it was last seen. Bounded: at most
//! [`MAX_ENTRIES`] of each, the oldest dropped first, and entries unseen for [`FORGET_DAYS`]
//! no longer count as known.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::network::NetworkKind;
use super::place::{Place, PlaceSource};

/// Most entries kept per kind.
pub const MAX_ENTRIES: usize = 20;
/// An entry not seen for this many days is no longer "known".
pub const FORGET_DAYS: i64 = 180;

/// One known value and when it was last seen (unix seconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub value: String,
    pub at: i64,
}

/// The last successful sign-in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Last {
    pub at: i64,
    pub ip: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub radius_km: Option<u16>,
    /// `internal`, `public`, `anonymizer` or `hosting`.
    #[serde(default)]
    pub network: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub successes: u32,
    pub first_at: Option<i64>,
    pub last: Option<Last>,
    pub countries: Vec<Seen>,
    pub asns: Vec<Seen>,
    pub devices: Vec<Seen>,
    pub agents: Vec<Seen>,
}

/// What a successful sign-in adds.
#[derive(Clone, Debug, Default)]
pub struct Visit {
    pub at: i64,
    pub ip: Option<IpAddr>,
    pub place: Option<Place>,
    pub network: Option<NetworkKind>,
    pub device: Option<String>,
    pub agent: Option<String>,
}

pub fn network_name(kind: NetworkKind) -> &'static str {
    match kind {
        NetworkKind::Internal => "internal",
        NetworkKind::Public => "public",
        NetworkKind::Anonymizer => "anonymizer",
        NetworkKind::Hosting => "hosting",
    }
}

fn network_kind(name: &str) -> NetworkKind {
    match name {
        "internal" => NetworkKind::Internal,
        "anonymizer" => NetworkKind::Anonymizer,
        "hosting" => NetworkKind::Hosting,
        _ => NetworkKind::Public,
    }
}

fn remember(list: &mut Vec<Seen>, value: &str, at: i64) {
    list.retain(|s| s.value != value);
    list.push(Seen {
        value: value.to_owned(),
        at,
    });
    list.sort_by_key(|s| s.at);
    let excess = list.len().saturating_sub(MAX_ENTRIES);
    list.drain(..excess);
}

fn knows(list: &[Seen], value: &str, now: i64) -> bool {
    list.iter()
        .any(|s| s.value == value && now - s.at <= FORGET_DAYS * 86_400)
}

impl Profile {
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("profiles serialize")
    }

    /// Adds a successful sign-in.
    pub fn learn(&mut self, visit: &Visit) {
        self.successes = self.successes.saturating_add(1);
        self.first_at.get_or_insert(visit.at);
        let place = visit.place.as_ref();
        if let Some(country) = place.and_then(|p| p.country.as_deref()) {
            remember(&mut self.countries, country, visit.at);
        }
        if let Some(asn) = place.and_then(|p| p.asn) {
            remember(&mut self.asns, &asn.to_string(), visit.at);
        }
        if let Some(device) = &visit.device {
            remember(&mut self.devices, device, visit.at);
        }
        if let Some(agent) = &visit.agent {
            remember(&mut self.agents, agent, visit.at);
        }
        if let Some(ip) = visit.ip {
            self.last = Some(Last {
                at: visit.at,
                ip: ip.to_string(),
                country: place.and_then(|p| p.country.clone()),
                latitude: place.and_then(|p| p.latitude),
                longitude: place.and_then(|p| p.longitude),
                radius_km: place.and_then(|p| p.accuracy_radius_km),
                network: network_name(visit.network.unwrap_or(NetworkKind::Public)).to_owned(),
            });
        }
    }

    /// Marks a device (and the place of the event) as the user's own after "this was me".
    pub fn confirm(&mut self, visit: &Visit) {
        if let Some(device) = &visit.device {
            remember(&mut self.devices, device, visit.at);
        }
        if let Some(country) = visit.place.as_ref().and_then(|p| p.country.as_deref()) {
            remember(&mut self.countries, country, visit.at);
        }
        if let Some(asn) = visit.place.as_ref().and_then(|p| p.asn) {
            remember(&mut self.asns, &asn.to_string(), visit.at);
        }
    }

    /// Forgets a device after "this wasn't me": whoever used it is not the user, and their
    /// next sign-in from it must not count as a known device. (Countries and networks stay: the
    /// user may share them.)
    pub fn disown(&mut self, device: &str) {
        self.devices.retain(|s| s.value != device);
    }

    /// Whether the learning period is over at `now`.
    pub fn learned(&self, sign_ins: u32, days: u32, now: i64) -> bool {
        self.successes >= sign_ins
            || self
                .first_at
                .is_some_and(|first| now - first >= i64::from(days) * 86_400)
    }

    pub fn knows_device(&self, id: &str, now: i64) -> bool {
        knows(&self.devices, id, now)
    }

    pub fn knows_country(&self, cc: &str, now: i64) -> bool {
        knows(&self.countries, cc, now)
    }

    pub fn knows_asn(&self, asn: u32, now: i64) -> bool {
        knows(&self.asns, &asn.to_string(), now)
    }

    pub fn knows_agent(&self, agent: &str, now: i64) -> bool {
        knows(&self.agents, agent, now)
    }

    /// The last sign-in as an end of a hop (`super::travel`): its address, place and kind.
    pub fn last_end(&self) -> Option<(IpAddr, Place, NetworkKind, i64)> {
        let last = self.last.as_ref()?;
        let ip = last.ip.parse().ok()?;
        let place = Place {
            country: last.country.clone(),
            city: None,
            latitude: last.latitude,
            longitude: last.longitude,
            accuracy_radius_km: last.radius_km,
            asn: None,
            asn_org: None,
            source: PlaceSource::Database,
        };
        Some((ip, place, network_kind(&last.network), last.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(at: i64, cc: &str, device: &str) -> Visit {
        Visit {
            at,
            ip: Some("192.0.2.1".parse().unwrap()),
            place: Some(Place {
                country: Some(cc.into()),
                city: None,
                latitude: Some(1.0),
                longitude: Some(2.0),
                accuracy_radius_km: Some(5),
                asn: Some(64500),
                asn_org: None,
                source: PlaceSource::Database,
            }),
            network: Some(NetworkKind::Public),
            device: Some(device.into()),
            agent: Some("Firefox on Linux".into()),
        }
    }

    #[test]
    fn learns_bounded_and_forgets_old_entries() {
        let mut p = Profile::default();
        for i in 0..30 {
            p.learn(&visit(1000 + i, "DE", &format!("d{i}")));
        }
        assert_eq!(p.successes, 30);
        assert_eq!(p.first_at, Some(1000));
        assert_eq!(p.devices.len(), MAX_ENTRIES);
        assert!(!p.knows_device("d0", 1100), "the oldest was dropped");
        assert!(p.knows_device("d29", 1100));
        assert!(p.knows_country("DE", 1100));
        assert!(p.knows_asn(64500, 1100));
        assert!(!p.knows_country("DE", 1100 + (FORGET_DAYS + 1) * 86_400));
        let (ip, place, kind, at) = p.last_end().unwrap();
        assert_eq!(ip.to_string(), "192.0.2.1");
        assert_eq!(place.accuracy_radius_km, Some(5));
        assert_eq!(kind, NetworkKind::Public);
        assert_eq!(at, 1029);
        p.disown("d29");
        assert!(!p.knows_device("d29", 1100));
        assert!(p.knows_device("d28", 1100));
        let round = Profile::parse(&p.to_json());
        assert_eq!(round, p);
        assert_eq!(Profile::parse("not json"), Profile::default());
    }

    #[test]
    fn learning_period_ends_by_count_or_age() {
        let mut p = Profile::default();
        assert!(!p.learned(3, 14, 0));
        p.learn(&visit(0, "DE", "a"));
        assert!(!p.learned(3, 14, 86_400));
        assert!(p.learned(3, 14, 14 * 86_400));
        p.learn(&visit(10, "DE", "a"));
        p.learn(&visit(20, "DE", "a"));
        assert!(p.learned(3, 14, 30));
    }
}
