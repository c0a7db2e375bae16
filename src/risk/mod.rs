//! Risk scoring of sign-ins (issue 11): each signal is a small module returning [`Signal`]s with
//! a stable reason code. `place` (where an address is: country, city, coordinates, ASN),
//! `network` (internal addresses, same-network test, anonymiser/hosting ranges) and `travel`
//! (impossible travel between two sign-ins), `breach` (breached passwords; refused where a
//! password is chosen). Place, network and travel are not yet consulted by the sign-in.

use serde::Serialize;

pub mod breach;
pub mod network;
pub mod place;
pub mod travel;

/// One finding about a sign-in: why (a closed set of codes), how much it weighs, and the
/// numbers behind it (shown to operators and stored with the event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub code: Reason,
    pub weight: u8,
    pub details: serde_json::Value,
}

/// Why a signal was raised. The codes (`as_str`, also the serde form) are stable: they are
/// stored with sign-in events and used as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The address is private, loopback, link-local or carrier NAT (never "new country").
    InternalAddress,
    /// A country not among the user's recent successful sign-ins.
    NewCountry,
    /// An autonomous system not among the user's recent successful sign-ins.
    NewAsn,
    /// Faster than a plane between the last successful sign-in and this one.
    ImpossibleTravel,
    /// One end is in an anonymiser range (VPN, Tor, open proxy) of the network list.
    AnonymizerIp,
    /// One end is in a hosting range (data centre, cloud) of the network list.
    HostingIp,
    /// No place is known for a public address.
    GeoUnknown,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::InternalAddress,
        Reason::NewCountry,
        Reason::NewAsn,
        Reason::ImpossibleTravel,
        Reason::AnonymizerIp,
        Reason::HostingIp,
        Reason::GeoUnknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InternalAddress => "internal_address",
            Reason::NewCountry => "new_country",
            Reason::NewAsn => "new_asn",
            Reason::ImpossibleTravel => "impossible_travel",
            Reason::AnonymizerIp => "anonymizer_ip",
            Reason::HostingIp => "hosting_ip",
            Reason::GeoUnknown => "geo_unknown",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_match_serde() {
        for r in Reason::ALL {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, serde_json::Value::from(r.as_str()));
        }
        assert_eq!(Reason::ImpossibleTravel.as_str(), "impossible_travel");
    }
}
