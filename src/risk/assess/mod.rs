//! From signals to a level, at the sign-in's two points: [`before_password`] (blocked and skipped
//! ranges, anonymiser and hosting networks, password spraying: what needs no user, so a block
//! here costs no hashing) and [`after_password`] (device, place, travel, failures on the account,
//! breached password, against the user's [`Profile`]). Pure: the engine (`crate::auth::risk`)
//! gathers the facts. The weights are summed and compared with the tenant's thresholds; decisive
//! signals make the level high by themselves. Every assessment keeps its signals (the reasons).

use std::net::IpAddr;

use serde_json::json;

use super::network::NetworkKind;
use super::place::Place;
use super::profile::Profile;
use super::travel::{self, End, TravelRules};
use super::{Reason, Signal};
use crate::domain::risk::{Level, RiskPolicy};

pub const WEIGHT_NEW_DEVICE: u8 = 20;
pub const WEIGHT_NEW_USER_AGENT: u8 = 5;
pub const WEIGHT_NEW_COUNTRY: u8 = 35;
pub const WEIGHT_NEW_ASN: u8 = 15;
pub const WEIGHT_GEO_UNKNOWN: u8 = 5;
pub const WEIGHT_ACCOUNT_FAILURES: u8 = 20;
pub const WEIGHT_ADDRESS_FAILURES: u8 = 15;
pub const WEIGHT_SPRAYING: u8 = 70;
pub const WEIGHT_BREACHED: u8 = 50;

/// A level and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub level: Level,
    pub score: u32,
    pub signals: Vec<Signal>,
    /// The address is in a blocked range: refused whatever the level's action.
    pub blocked: bool,
    /// The address is in a skipped range: not scored (low).
    pub skipped: bool,
}

impl Assessment {
    pub fn has(&self, reason: Reason) -> bool {
        self.signals.iter().any(|s| s.code == reason)
    }

    pub fn reasons(&self) -> Vec<&'static str> {
        self.signals.iter().map(|s| s.code.as_str()).collect()
    }

    fn add(&mut self, signal: Signal) {
        match self.signals.iter_mut().find(|s| s.code == signal.code) {
            Some(old) if old.weight >= signal.weight => {}
            Some(old) => *old = signal,
            None => self.signals.push(signal),
        }
    }

    fn settle(mut self, policy: &RiskPolicy) -> Self {
        self.score = self.signals.iter().map(|s| u32::from(s.weight)).sum();
        let decisive = self
            .signals
            .iter()
            .any(|s| matches!(s.code, Reason::ImpossibleTravel | Reason::PasswordSpraying));
        let t = &policy.thresholds;
        self.level = if self.blocked || decisive || self.score >= t.high {
            Level::High
        } else if self.skipped {
            Level::Low
        } else if self.score >= t.medium {
            Level::Medium
        } else {
            Level::Low
        };
        self
    }
}

fn signal(code: Reason, weight: u8, details: serde_json::Value) -> Signal {
    Signal {
        code,
        weight,
        details,
    }
}

/// What is known before the password is checked.
#[derive(Clone, Copy, Debug)]
pub struct Before {
    pub ip: IpAddr,
    pub network: NetworkKind,
    /// Distinct usernames that failed from this address in the last hour.
    pub failed_usernames: u64,
}

pub fn before_password(policy: &RiskPolicy, facts: &Before) -> Assessment {
    let mut a = Assessment {
        level: Level::Low,
        score: 0,
        signals: Vec::new(),
        blocked: policy.blocks(facts.ip),
        skipped: false,
    };
    if a.blocked {
        a.add(signal(Reason::BlockedRange, 100, json!({})));
        return a.settle(policy);
    }
    if policy.skips(facts.ip) {
        a.skipped = true;
        a.add(signal(Reason::SkippedRange, 0, json!({})));
        return a.settle(policy);
    }
    match facts.network {
        NetworkKind::Internal => a.add(signal(Reason::InternalAddress, 0, json!({}))),
        NetworkKind::Anonymizer => a.add(signal(
            Reason::AnonymizerIp,
            travel::WEIGHT_ANONYMIZER,
            json!({}),
        )),
        NetworkKind::Hosting => a.add(signal(Reason::HostingIp, travel::WEIGHT_HOSTING, json!({}))),
        NetworkKind::Public => {}
    }
    if facts.failed_usernames >= u64::from(policy.thresholds.spraying_usernames) {
        a.add(signal(
            Reason::PasswordSpraying,
            WEIGHT_SPRAYING,
            json!({ "usernames_failed_last_hour": facts.failed_usernames }),
        ));
    }
    a.settle(policy)
}

/// What is known once the password is right.
#[derive(Clone, Debug)]
pub struct After<'a> {
    pub ip: IpAddr,
    pub place: Option<&'a Place>,
    pub network: NetworkKind,
    /// The id of this browser's valid known-device cookie for the account, if any.
    pub device: Option<&'a str>,
    /// The browser family and system ("Firefox on Linux").
    pub agent: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Failed attempts on the account in the last hour (the throttle's counters).
    pub account_failures: u64,
    /// Failed attempts from the address in the last hour, over every account.
    pub address_failures: u64,
    pub breached: bool,
}

pub fn after_password(
    policy: &RiskPolicy,
    profile: &Profile,
    before: &Assessment,
    facts: &After<'_>,
    rules: &TravelRules,
) -> Assessment {
    let mut a = before.clone();
    if a.blocked {
        return a;
    }
    if facts.breached {
        a.add(signal(Reason::BreachedPassword, WEIGHT_BREACHED, json!({})));
    }
    if a.skipped {
        return a.settle(policy);
    }
    let now = facts.now.timestamp();
    if facts.account_failures >= u64::from(policy.thresholds.account_failures) {
        a.add(signal(
            Reason::AccountFailures,
            WEIGHT_ACCOUNT_FAILURES,
            json!({ "failures_last_hour": facts.account_failures }),
        ));
    }
    if facts.address_failures >= u64::from(policy.thresholds.address_failures) {
        a.add(signal(
            Reason::AddressFailures,
            WEIGHT_ADDRESS_FAILURES,
            json!({ "failures_last_hour": facts.address_failures }),
        ));
    }
    let internal = facts.network == NetworkKind::Internal;
    if !internal && facts.place.is_none_or(|p| p.country.is_none()) {
        a.add(signal(Reason::GeoUnknown, WEIGHT_GEO_UNKNOWN, json!({})));
    }
    let learned = profile.learned(policy.learning.sign_ins, policy.learning.days, now);
    if learned {
        let known = facts.device.is_some_and(|d| profile.knows_device(d, now));
        if !known {
            a.add(signal(Reason::NewDevice, WEIGHT_NEW_DEVICE, json!({})));
            if !profile.knows_agent(facts.agent, now) {
                a.add(signal(
                    Reason::NewUserAgent,
                    WEIGHT_NEW_USER_AGENT,
                    json!({ "agent": facts.agent }),
                ));
            }
        }
        if !internal && let Some(place) = facts.place {
            if let Some(cc) = place.country.as_deref()
                && !profile.knows_country(cc, now)
            {
                a.add(signal(
                    Reason::NewCountry,
                    WEIGHT_NEW_COUNTRY,
                    json!({ "country": cc }),
                ));
            }
            if let Some(asn) = place.asn
                && !profile.knows_asn(asn, now)
            {
                a.add(signal(
                    Reason::NewAsn,
                    WEIGHT_NEW_ASN,
                    json!({ "asn": asn }),
                ));
            }
        }
        if let Some((ip, place, network, at)) = profile.last_end() {
            let last = End {
                ip,
                place: Some(&place),
                network,
                at: chrono::DateTime::from_timestamp(at, 0).unwrap_or(facts.now),
            };
            let this = End {
                ip: facts.ip,
                place: facts.place,
                network: facts.network,
                at: facts.now,
            };
            if let Some(s) = travel::judge(&last, &this, rules) {
                a.add(s);
            }
        }
    }
    a.settle(policy)
}

#[cfg(test)]
mod tests;
