//! Risk scoring of sign-ins (issue 11): each signal is a small module returning [`Signal`]s with
//! a stable reason code. `place` (where an address is: country, city, coordinates, ASN),
//! `network` (internal addresses, same-network test, anonymiser/hosting ranges) and `travel`
//! (impossible travel between two sign-ins), `breach` (breached passwords; refused where a
//! password is chosen), `profile` (a user's recent sign-ins in brief), `assess` (signals to a
//! level) and `drift` (a session or refresh token used from another network and device). The
//! sign-in engine consults them through `crate::auth::risk`, session and refresh-token use
//! through `crate::auth::continuous`.

use serde::Serialize;

pub mod assess;
pub mod breach;
pub mod drift;
pub mod network;
pub mod place;
pub mod profile;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
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
    /// A browser that has not finished a sign-in to this account before.
    NewDevice,
    /// A browser family and system not seen for this user (a weak hint: self-reported).
    NewUserAgent,
    /// Many failed attempts on the account in the last hour.
    AccountFailures,
    /// Many failed attempts from this address (over every account) in the last hour.
    AddressFailures,
    /// Many distinct usernames failed from this address in the last hour.
    PasswordSpraying,
    /// The password is known from breaches.
    BreachedPassword,
    /// The address is in the tenant's blocked ranges.
    BlockedRange,
    /// The address is in the tenant's skipped ranges: not scored.
    SkippedRange,
    /// A session or refresh token used from both another network and another device.
    ContextChanged,
}

impl Reason {
    pub const ALL: [Reason; 16] = [
        Reason::InternalAddress,
        Reason::NewCountry,
        Reason::NewAsn,
        Reason::ImpossibleTravel,
        Reason::AnonymizerIp,
        Reason::HostingIp,
        Reason::GeoUnknown,
        Reason::NewDevice,
        Reason::NewUserAgent,
        Reason::AccountFailures,
        Reason::AddressFailures,
        Reason::PasswordSpraying,
        Reason::BreachedPassword,
        Reason::BlockedRange,
        Reason::SkippedRange,
        Reason::ContextChanged,
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
            Reason::NewDevice => "new_device",
            Reason::NewUserAgent => "new_user_agent",
            Reason::AccountFailures => "account_failures",
            Reason::AddressFailures => "address_failures",
            Reason::PasswordSpraying => "password_spraying",
            Reason::BreachedPassword => "breached_password",
            Reason::BlockedRange => "blocked_range",
            Reason::SkippedRange => "skipped_range",
            Reason::ContextChanged => "context_changed",
        }
    }

    /// What the reason means, for people (account page, notices).
    pub fn describe(self) -> &'static str {
        match self {
            Reason::InternalAddress => "an internal network",
            Reason::NewCountry => "a country you have not signed in from recently",
            Reason::NewAsn => "a network you have not signed in from recently",
            Reason::ImpossibleTravel => "too far from your last sign-in for the time between them",
            Reason::AnonymizerIp => "an anonymising network (VPN, Tor or proxy)",
            Reason::HostingIp => "a data-centre network",
            Reason::GeoUnknown => "an address whose place is unknown",
            Reason::NewDevice => "a browser that has not signed in to your account before",
            Reason::NewUserAgent => "a kind of browser you have not used before",
            Reason::AccountFailures => "many wrong passwords tried on your account",
            Reason::AddressFailures => "an address with many failed sign-ins",
            Reason::PasswordSpraying => "an address trying many accounts",
            Reason::BreachedPassword => "a password known from data breaches",
            Reason::BlockedRange => "a blocked network",
            Reason::SkippedRange => "a trusted network",
            Reason::ContextChanged => "another network and another device than the session's",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
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
